package forum

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"sync"
)

// Section pages are paged with cursors ("older than this thread", "newer
// than this thread"), not page numbers: a page is a seek to a position in
// the section's index, so page 500 costs what page 1 costs. A numbered page
// has to walk every index key before it.

// Position is where a thread sits in its section's list: pinned threads
// first, then by the store's activity sequence, newest first, then by ID.
// The store assigns it; visitors only ever see it sealed in a cursor.
type Position struct {
	Pinned bool
	Seq    uint64 // the store's activity sequence of the thread's last post
	Thread ThreadID
}

// ListQuery asks the store for a slice of one section's thread list.
type ListQuery struct {
	Section SectionID
	Private bool
	// After starts the slice just after this position (nil: at the top of
	// the list). The position need not hold a thread any more: a thread
	// bumped or deleted since keeps its old place as a bookmark.
	After *Position
	// Before, when set, asks instead for the Limit threads just before this
	// position (the newer page), still listed in list order.
	Before *Position
	// Skip skips this many threads from the top first (only with After and
	// Before nil). It walks index keys: callers bound it.
	Skip  int
	Limit int
	// CountNewer asks for ThreadSlice.Newer after an After position: a
	// second walk, from the top of the list (at most Limit+1 keys).
	CountNewer bool
}

// ThreadSlice is a slice of a section's thread list, in list order.
type ThreadSlice struct {
	Threads []Thread
	Pos     []Position // Pos[i] is where Threads[i] sits
	// Newer counts the threads before the first one listed, but only up to
	// Limit+1 (enough to tell whether the previous page is the first). It
	// is counted from the top and with Skip, before a Before position, and
	// after an After position only with CountNewer (otherwise 0).
	Newer int
	// Older says whether a thread follows the last one listed.
	Older bool
}

// PageAt picks a section page by cursor: the page after (older than) the
// position sealed in Older, or the page before (newer than) the one in
// Newer. Both empty is the first page; both set is not a page.
type PageAt struct {
	Older string
	Newer string
}

// cursorLen is the length of a cursor in a URL: one AES block, base64url.
const cursorLen = 22

// cursorMagic opens every sealed cursor; with the flags and the section it
// is what tells a forged cursor from a real one.
const cursorMagic = 0xc5

// Cursor flags.
const (
	cursorPinned  = 1 // the position is among the pinned threads
	cursorPrivate = 2 // a position in the private list
	// cursorSecond marks the Older cursor of the first page: the page it
	// leads to has the first page before it, so that page's Newer link is
	// the plain address, with no count of the threads above it.
	cursorSecond = 4
)

// Cursors are sealed (one AES block under a key derived from this
// installation's receipt salt) because the activity sequence in a position
// counts every post on the board, private ones included: in the clear it
// would date a post finer than the hour the forum keeps, and count private
// activity. Sealing also validates them: a forged or damaged cursor opens
// to garbage and is refused before the store is asked.
type cursorCipher struct {
	mu    sync.Mutex
	block cipher.Block
}

func (s *Service) cursorBlock(ctx context.Context) (cipher.Block, error) {
	s.cursors.mu.Lock()
	defer s.cursors.mu.Unlock()
	if s.cursors.block != nil {
		return s.cursors.block, nil
	}
	ks, err := s.kdfSets(ctx)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte("tropa section cursor v1\x00"))
	h.Write(ks[0].salt)
	b, err := aes.NewCipher(h.Sum(nil)[:16])
	if err != nil {
		return nil, Internal(err)
	}
	s.cursors.block = b
	return b, nil
}

// sealCursor turns a position in a section's list into a cursor for a
// URL: magic, flags, section, sequence and thread, 16 bytes sealed into 22
// characters. second marks the Older cursor of the first page. A position
// too large to seal (2^48 posts) gives "" (no link).
func sealCursor(b cipher.Block, sec SectionID, private, second bool, p Position) string {
	if p.Seq >= 1<<48 || uint64(p.Thread) >= 1<<48 {
		return ""
	}
	var pt [16]byte
	pt[0] = cursorMagic
	if p.Pinned {
		pt[1] |= cursorPinned
	}
	if private {
		pt[1] |= cursorPrivate
	}
	if second {
		pt[1] |= cursorSecond
	}
	pt[2], pt[3] = byte(uint64(sec)>>8), byte(sec)
	put48(pt[4:10], p.Seq)
	put48(pt[10:16], uint64(p.Thread))
	var ct [16]byte
	b.Encrypt(ct[:], pt[:])
	return base64.RawURLEncoding.EncodeToString(ct[:])
}

// openCursor reads a cursor made by sealCursor for the same section and
// list; anything else is refused. older says whether it is an Older cursor
// (only those may carry cursorSecond); second reports that flag.
func openCursor(b cipher.Block, sec SectionID, private, older bool, c string) (p Position, second, ok bool) {
	if len(c) != cursorLen {
		return Position{}, false, false
	}
	ct, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil || len(ct) != 16 {
		return Position{}, false, false
	}
	var pt [16]byte
	b.Decrypt(pt[:], ct)
	want, mask := byte(0), byte(cursorPinned)
	if private {
		want = cursorPrivate
	}
	if older {
		mask |= cursorSecond
	}
	if pt[0] != cursorMagic || pt[1]&^mask != want || pt[2] != byte(uint64(sec)>>8) || pt[3] != byte(sec) {
		return Position{}, false, false
	}
	p = Position{Pinned: pt[1]&cursorPinned != 0, Seq: get48(pt[4:10]), Thread: ThreadID(get48(pt[10:16]))}
	if p.Seq == 0 || p.Thread == 0 {
		return Position{}, false, false
	}
	return p, pt[1]&cursorSecond != 0, true
}

func put48(b []byte, v uint64) {
	for i := 5; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func get48(b []byte) uint64 {
	var v uint64
	for _, c := range b[:6] {
		v = v<<8 | uint64(c)
	}
	return v
}

// sectionMeta returns the section named by slug without its counters,
// which the section pages do not need. A section's ID, slug, order, title
// and description never change once it exists, so they are kept in memory:
// a section page then reads nothing but its slice of the index, and costs
// the same whatever the size of the store. Unknown slugs are not kept.
func (s *Service) sectionMeta(ctx context.Context, slug string) (Section, error) {
	s.secMu.RLock()
	sec, ok := s.secs[slug]
	s.secMu.RUnlock()
	if ok {
		return sec, nil
	}
	p, err := s.repo.SectionBySlug(ctx, slug)
	if err != nil {
		return Section{}, err
	}
	return s.rememberSection(*p), nil
}

// rememberSection keeps sec for sectionMeta, without its counters.
func (s *Service) rememberSection(sec Section) Section {
	sec.Threads, sec.PrivateThreads = 0, 0
	s.secMu.Lock()
	if s.secs == nil {
		s.secs = map[string]Section{}
	}
	s.secs[sec.Slug] = sec
	s.secMu.Unlock()
	return sec
}

// SectionPageAt lists a page of a section's public threads by cursor (see
// PageAt); private threads never appear. Its Older and Newer fields carry
// the cursors of the pages around it. A page reached by a Newer cursor that
// turns out to be the first page has Top set: show it at the section's
// plain address instead. Errors: ENOTFOUND "err.section.not_found",
// ENOTFOUND "err.page.not_found" for a cursor that is not this section's
// (forged, damaged, from another section) or past the end of the list.
func (s *Service) SectionPageAt(ctx context.Context, slug string, at PageAt) (*SectionPage, error) {
	return s.sectionPageAt(ctx, slug, at, false)
}

// PrivatePageAt is SectionPageAt over a section's private threads, for
// staff.
func (s *Service) PrivatePageAt(ctx context.Context, slug string, at PageAt) (*SectionPage, error) {
	return s.sectionPageAt(ctx, slug, at, true)
}

func (s *Service) sectionPageAt(ctx context.Context, slug string, at PageAt, private bool) (*SectionPage, error) {
	sec, err := s.sectionMeta(ctx, slug)
	if err != nil {
		return nil, err
	}
	b, err := s.cursorBlock(ctx)
	if err != nil {
		return nil, err
	}
	q := ListQuery{Section: sec.ID, Private: private, Limit: SectionPageSize}
	badPage := newErr(ENOTFOUND, "page", KeyPageNotFound)
	second := false
	switch {
	case at.Older != "" && at.Newer != "":
		return nil, badPage
	case at.Older != "":
		p, snd, ok := openCursor(b, sec.ID, private, true, at.Older)
		if !ok {
			return nil, badPage
		}
		q.After, second = &p, snd
	case at.Newer != "":
		p, _, ok := openCursor(b, sec.ID, private, false, at.Newer)
		if !ok {
			return nil, badPage
		}
		q.Before = &p
	}
	sl, err := s.repo.ThreadSlice(ctx, q)
	if err != nil {
		return nil, err
	}
	sp := &SectionPage{Section: sec, Threads: sl.Threads}
	n := len(sl.Pos)
	switch {
	case q.After != nil:
		// An Older cursor leads past the first page: the page before is the
		// first one if the cursor was made there, else a Newer cursor's.
		// Should the board have changed so that the page before is the
		// first after all, that page says so (Top) and the site redirects.
		if n == 0 {
			return nil, badPage // past the end: nothing is older
		}
		sp.HasNewer = true
		if !second {
			sp.Newer = sealCursor(b, sec.ID, private, false, sl.Pos[0])
		}
	default:
		sp.Top = sl.Newer == 0
		sp.HasNewer = sl.Newer > 0 && n > 0
		if sl.Newer > SectionPageSize && n > 0 {
			sp.Newer = sealCursor(b, sec.ID, private, false, sl.Pos[0])
		}
		if q.Before == nil {
			sp.Page = 1
		}
	}
	if sl.Older && n > 0 {
		sp.Older = sealCursor(b, sec.ID, private, sp.Top, sl.Pos[n-1])
	}
	if !private {
		sp.Section.PrivateThreads = 0
		for i := range sp.Threads {
			sp.Threads[i].Asker = 0
		}
	}
	return sp, nil
}

// SectionCursor returns the cursor that shows numbered page page of a
// section (the Older cursor of page page-1), for old ?page=N addresses; ""
// for page 1. It walks (page-1)×SectionPageSize index keys, so callers
// bound page. Errors: ENOTFOUND "err.section.not_found", ENOTFOUND
// "err.page.not_found" past the last page.
func (s *Service) SectionCursor(ctx context.Context, slug string, page int) (string, error) {
	if page <= 1 {
		return "", nil
	}
	sec, err := s.sectionMeta(ctx, slug)
	if err != nil {
		return "", err
	}
	b, err := s.cursorBlock(ctx)
	if err != nil {
		return "", err
	}
	sl, err := s.repo.ThreadSlice(ctx, ListQuery{Section: sec.ID, Skip: (page-1)*SectionPageSize - 1, Limit: 1})
	if err != nil {
		return "", err
	}
	if len(sl.Pos) == 0 || !sl.Older {
		return "", newErr(ENOTFOUND, "page", KeyPageNotFound)
	}
	c := sealCursor(b, sec.ID, false, page == 2, sl.Pos[0])
	if c == "" {
		return "", newErr(ENOTFOUND, "page", KeyPageNotFound)
	}
	return c, nil
}
