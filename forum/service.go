package forum

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"time"
)

// metaKDF names the metadata record holding the receipt hash parameters and
// this installation's salt.
const metaKDF = "forum.receipt-kdf"

// Options tune a Service. The zero value is the production setting.
type Options struct {
	// KDF is the Argon2id parameter set for new receipt hashes (zero:
	// DefaultKDF). Raising it later keeps old receipts working: they are
	// found with their old set and moved to the new one.
	KDF KDFParams
	// HashConcurrency bounds the receipt hashes computed at once (zero: 2).
	HashConcurrency int
	// ForeignReceiptChecks is how many receipt-shaped numbers in a post are
	// looked up to refuse someone's receipt being published (zero: 2;
	// negative: none). Each costs one hash.
	ForeignReceiptChecks int
	// Rand is the source of receipts and salts (nil: crypto/rand).
	Rand io.Reader
}

// Service holds the forum's rules. It is safe for concurrent use.
type Service struct {
	repo Repository
	now  Clock
	opts Options
	sem  chan struct{}

	kdfMu sync.Mutex
	kdfs  []kdf // oldest first; the last one hashes new receipts

	cursors cursorCipher
	secMu   sync.RWMutex
	secs    map[string]Section // by slug, without counters (sectionMeta)
}

// NewService returns the forum service over repo. A nil clock is time.Now.
func NewService(repo Repository, clock Clock, opts Options) *Service {
	if clock == nil {
		clock = time.Now
	}
	if opts.KDF == (KDFParams{}) {
		opts.KDF = DefaultKDF
	}
	if opts.HashConcurrency <= 0 {
		opts.HashConcurrency = 2
	}
	if opts.ForeignReceiptChecks == 0 {
		opts.ForeignReceiptChecks = 2
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &Service{repo: repo, now: clock, opts: opts, sem: make(chan struct{}, opts.HashConcurrency)}
}

// Viewer is who looks at a page or acts: a visitor, optionally an asker who
// opened their receipt, or staff. The site sets Staff only on the staff
// onion.
type Viewer struct {
	Staff bool
	Asker *Asker
}

// Asker is an asker who proved their receipt. The site may keep it in its
// in-memory session; it cannot be made from an ID, only by OpenReceipt or
// Ask.
type Asker struct {
	id      AskerID
	receipt Receipt
}

// ID returns the asker's internal ID (never show it to visitors).
func (a *Asker) ID() AskerID {
	if a == nil {
		return 0
	}
	return a.id
}

func (v Viewer) isAsker(t *Thread) bool {
	return v.Asker != nil && t.Asker != 0 && v.Asker.id == t.Asker
}

func (v Viewer) canSee(t *Thread) bool { return !t.Private || v.Staff || v.isAsker(t) }

func (s *Service) hour() Hour { return HourOf(s.now()) }

// ---- receipts -------------------------------------------------------------

// kdfSets loads (creating or extending on first use) the hash parameter
// sets.
func (s *Service) kdfSets(ctx context.Context) ([]kdf, error) {
	s.kdfMu.Lock()
	defer s.kdfMu.Unlock()
	if s.kdfs != nil {
		return s.kdfs, nil
	}
	want := s.opts.KDF
	stored, err := s.repo.UpdateMeta(ctx, metaKDF, func(old []byte) ([]byte, error) {
		var ks []kdf
		if len(bytes.TrimSpace(old)) > 0 {
			var err error
			if ks, err = decodeKDFs(old); err != nil {
				return nil, err
			}
			if ks[len(ks)-1].p == want {
				return old, nil
			}
			if len(ks) == 256 {
				return nil, errors.New("forum: too many kdf sets")
			}
		}
		salt := make([]byte, 16)
		if _, err := io.ReadFull(s.opts.Rand, salt); err != nil {
			return nil, err
		}
		ks = append(ks, kdf{id: uint8(len(ks)), p: want, salt: salt})
		return encodeKDFs(ks), nil
	})
	if err != nil {
		return nil, Internal(err)
	}
	ks, err := decodeKDFs(stored)
	if err != nil {
		return nil, Internal(err)
	}
	s.kdfs = ks
	return ks, nil
}

func (s *Service) currentKDF(ctx context.Context) (kdf, error) {
	ks, err := s.kdfSets(ctx)
	if err != nil {
		return kdf{}, err
	}
	return ks[len(ks)-1], nil
}

// lookup finds the asker holding r, trying the newest parameter set first;
// a hit under an older set moves the lookup to the newest.
func (s *Service) lookup(ctx context.Context, r Receipt) (AskerID, error) {
	ks, err := s.kdfSets(ctx)
	if err != nil {
		return 0, err
	}
	for i := len(ks) - 1; i >= 0; i-- {
		h, err := s.hash(ctx, ks[i], r)
		if err != nil {
			return 0, err
		}
		id, err := s.repo.AskerByReceiptHash(ctx, h)
		if ErrorCode(err) == ENOTFOUND {
			continue
		}
		if err != nil {
			return 0, err
		}
		if i != len(ks)-1 {
			cur := ks[len(ks)-1]
			nh, err := s.hash(ctx, cur, r)
			if err != nil {
				return 0, err
			}
			if err := s.repo.RekeyReceipt(ctx, h, nh, cur.id); err != nil {
				return 0, err
			}
		}
		return id, nil
	}
	return 0, newErr(ENOTFOUND, "receipt", KeyReceiptUnknown)
}

// OpenReceipt proves a receipt typed by a visitor (any grouping) and returns
// the asker. Errors: EINVALID "err.receipt.invalid", ENOTFOUND
// "err.receipt.unknown", EUNAVAILABLE "err.busy" when ctx ends while waiting
// for a hash slot.
func (s *Service) OpenReceipt(ctx context.Context, receipt string) (*Asker, error) {
	r, err := ParseReceipt(receipt)
	if err != nil {
		return nil, err
	}
	id, err := s.lookup(ctx, r)
	if err != nil {
		return nil, err
	}
	return &Asker{id: id, receipt: r}, nil
}

// checkLeak refuses texts that hold own (the poster's receipt, if known) or
// any other existing receipt.
func (s *Service) checkLeak(ctx context.Context, own Receipt, fields ...string) error {
	// fields are name, text pairs.
	for i := 0; i+1 < len(fields); i += 2 {
		if containsReceipt(own, fields[i+1]) {
			return newErr(EINVALID, fields[i], KeyContainsReceipt)
		}
	}
	if s.opts.ForeignReceiptChecks < 0 {
		return nil
	}
	budget := s.opts.ForeignReceiptChecks
	for i := 0; i+1 < len(fields) && budget > 0; i += 2 {
		for _, c := range receiptCandidates(budget, fields[i+1]) {
			budget--
			if c == own {
				continue
			}
			cur, err := s.currentKDF(ctx)
			if err != nil {
				return err
			}
			h, err := s.hash(ctx, cur, c)
			if err != nil {
				return err
			}
			_, err = s.repo.AskerByReceiptHash(ctx, h)
			if err == nil {
				return newErr(EINVALID, fields[i], KeyContainsReceipt)
			}
			if ErrorCode(err) != ENOTFOUND {
				return err
			}
		}
	}
	return nil
}

// ---- reading --------------------------------------------------------------

// Sections lists the sections in their order.
func (s *Service) Sections(ctx context.Context) ([]Section, error) {
	return s.repo.Sections(ctx)
}

// SectionPage is one page of a section's thread list.
type SectionPage struct {
	Section Section
	Threads []Thread // pinned first, then newest activity first
	// Page and Pages number the pages of SectionPage and PrivatePage; a page
	// found by cursor (SectionPageAt) has Page 1 on the first page and 0
	// elsewhere, and Pages 0: it does not count the list.
	Page  int
	Pages int
	// Cursors of the pages around a page found by cursor: Older is the next,
	// older page's ("" on the last page); Newer the previous, newer page's,
	// "" with HasNewer set when that page is the first (the section's plain
	// address). Top is set on the first page.
	Older, Newer string
	HasNewer     bool
	Top          bool
}

func pageBounds(page, total, size int) (int, int, error) {
	if page < 1 {
		page = 1
	}
	n := pages(total, size)
	if page > n {
		return 0, 0, newErr(ENOTFOUND, "page", KeyPageNotFound)
	}
	return page, n, nil
}

// SectionPage lists a numbered page of a section's public threads. Private
// threads never appear. Page numbers below 1 mean 1. A numbered page walks
// every index key before it, so its cost grows with its number: the site
// pages by cursor (SectionPageAt). Errors: ENOTFOUND
// "err.section.not_found", ENOTFOUND "err.page.not_found" past the last
// page.
func (s *Service) SectionPage(ctx context.Context, slug string, page int) (*SectionPage, error) {
	return s.sectionPage(ctx, slug, page, false)
}

// PrivatePage lists a page of a section's private threads, for staff.
func (s *Service) PrivatePage(ctx context.Context, slug string, page int) (*SectionPage, error) {
	return s.sectionPage(ctx, slug, page, true)
}

func (s *Service) sectionPage(ctx context.Context, slug string, page int, private bool) (*SectionPage, error) {
	sec, err := s.repo.SectionBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	total := sec.Threads
	if private {
		total = sec.PrivateThreads
	}
	page, n, err := pageBounds(page, total, SectionPageSize)
	if err != nil {
		return nil, err
	}
	ts, err := s.repo.Threads(ctx, sec.ID, private, (page-1)*SectionPageSize, SectionPageSize)
	if err != nil {
		return nil, err
	}
	if !private {
		sec.PrivateThreads = 0
		for i := range ts {
			ts[i].Asker = 0
		}
	}
	return &SectionPage{Section: *sec, Threads: ts, Page: page, Pages: n}, nil
}

// ThreadPage is one page of a thread.
type ThreadPage struct {
	Section Section
	Thread  Thread
	Posts   []Post
	Page    int
	Pages   int
	// ViewerIsAsker is true when the viewer asked this question: their
	// replies are labelled as the asker's.
	ViewerIsAsker bool
	// CanReply says whether the viewer may reply here.
	CanReply bool
}

// ThreadPage shows a page of a thread to v. A private thread is visible
// only to staff and its asker; to anyone else it does not exist. Hidden
// posts keep their place but lose their text in a visitor's view. Errors:
// ENOTFOUND "err.thread.not_found", ENOTFOUND "err.page.not_found".
func (s *Service) ThreadPage(ctx context.Context, id ThreadID, page int, v Viewer) (*ThreadPage, error) {
	t, err := s.repo.Thread(ctx, id)
	if err != nil {
		return nil, err
	}
	if !v.canSee(t) {
		return nil, newErr(ENOTFOUND, "", KeyThreadNotFound)
	}
	page, n, err := pageBounds(page, t.Posts, ThreadPageSize)
	if err != nil {
		return nil, err
	}
	sec, err := s.repo.Section(ctx, t.Section)
	if err != nil {
		return nil, err
	}
	ps, err := s.repo.Posts(ctx, id, (page-1)*ThreadPageSize+1, ThreadPageSize)
	if err != nil {
		return nil, err
	}
	tp := &ThreadPage{
		Section:       *sec,
		Thread:        *t,
		Posts:         ps,
		Page:          page,
		Pages:         n,
		ViewerIsAsker: v.isAsker(t),
		CanReply:      v.Staff || !t.Locked,
	}
	s.forViewer(tp, v)
	return tp, nil
}

// forViewer strips what a visitor must not see.
func (s *Service) forViewer(tp *ThreadPage, v Viewer) {
	if v.Staff {
		return
	}
	tp.Thread.Asker = 0
	tp.Section.PrivateThreads = 0
	for i := range tp.Posts {
		viewPost(&tp.Posts[i], v)
	}
}

func viewPost(p *Post, v Viewer) {
	if v.Staff {
		return
	}
	p.Author.StaffID = ""
	if p.Hidden {
		p.Source, p.HTML = "", ""
	}
}

// MyQuestions lists the asker's threads, public and private, newest first
// (at most MyQuestionsMax), each with its first page of posts; Pages tells
// whether ThreadPage is needed for more.
func (s *Service) MyQuestions(ctx context.Context, a *Asker) ([]ThreadPage, error) {
	if a == nil {
		return nil, newErr(ENOTFOUND, "receipt", KeyReceiptUnknown)
	}
	ts, err := s.repo.AskerThreads(ctx, a.id, MyQuestionsMax)
	if err != nil {
		return nil, err
	}
	v := Viewer{Asker: a}
	out := make([]ThreadPage, 0, len(ts))
	for _, t := range ts {
		tp, err := s.ThreadPage(ctx, t.ID, 1, v)
		if ErrorCode(err) == ENOTFOUND {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *tp)
	}
	return out, nil
}

// ---- writing --------------------------------------------------------------

// AskInput is a new question.
type AskInput struct {
	Section string // slug
	Title   string
	Body    string // Markdown subset
	Private bool
	// Asker, when set, files the question under the asker's existing
	// receipt; otherwise a new receipt is made.
	Asker *Asker
}

// AskResult is what Ask returns.
type AskResult struct {
	Thread Thread
	// Receipt is the new receipt to show once (zero when AskInput.Asker was
	// set). It is not kept anywhere.
	Receipt Receipt
	Asker   *Asker
}

// Ask files a question. Errors: Errors (EINVALID, one per field: title,
// body), EINVALID "err.text.contains_receipt" on the field holding a
// receipt, ENOTFOUND "err.section.not_found" (field "section"),
// EUNAVAILABLE "err.busy".
func (s *Service) Ask(ctx context.Context, in AskInput) (*AskResult, error) {
	var errs Errors
	title, err := CleanTitle(in.Title)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	body, err := CleanBody(in.Body)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sec, err := s.repo.SectionBySlug(ctx, in.Section)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, newErr(ENOTFOUND, "section", KeySectionNotFound)
		}
		return nil, err
	}
	html := Render(body)
	h := s.hour()
	nt := NewThread{
		Thread: Thread{Section: sec.ID, Title: title, Private: in.Private, Awaiting: true,
			Created: h, LastActive: h, Asker: in.Asker.ID()},
		Question: Post{N: 1, Author: Author{Kind: AskerAuthor}, Hour: h, Source: body, HTML: html},
	}
	if in.Asker != nil {
		if err := s.checkLeak(ctx, in.Asker.receipt, "title", title, "body", body); err != nil {
			return nil, err
		}
		t, err := s.repo.CreateThread(ctx, nt)
		if err != nil {
			return nil, err
		}
		t.Asker = 0
		return &AskResult{Thread: *t, Asker: in.Asker}, nil
	}
	if err := s.checkLeak(ctx, Receipt{}, "title", title, "body", body); err != nil {
		return nil, err
	}
	cur, err := s.currentKDF(ctx)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		r, err := newReceipt(s.opts.Rand)
		if err != nil {
			return nil, Internal(err)
		}
		if containsReceipt(r, title, body) {
			continue
		}
		if nt.ReceiptHash, err = s.hash(ctx, cur, r); err != nil {
			return nil, err
		}
		nt.KDF = cur.id
		t, err := s.repo.CreateThread(ctx, nt)
		if ErrorCode(err) == ECONFLICT && try < 3 {
			continue // two receipts with one hash: draw again
		}
		if err != nil {
			return nil, err
		}
		a := &Asker{id: t.Asker, receipt: r}
		t.Asker = 0
		return &AskResult{Thread: *t, Receipt: r, Asker: a}, nil
	}
}

// ReplyInput is a visitor's reply.
type ReplyInput struct {
	Thread ThreadID
	Body   string
	// Asker, when set and the thread is theirs, makes the reply the asker's
	// follow-up; in anyone else's thread the reply is anonymous as usual.
	Asker *Asker
}

// Reply adds a visitor's reply. Public threads take anonymous replies unless
// locked; private threads only the asker's. Errors: EINVALID on "body",
// EINVALID "err.text.contains_receipt", ENOTFOUND "err.thread.not_found"
// (also for a private thread that is not the viewer's), EFORBIDDEN
// "err.thread.locked".
func (s *Service) Reply(ctx context.Context, in ReplyInput) (*Post, error) {
	body, err := CleanBody(in.Body)
	if err != nil {
		return nil, err
	}
	var own Receipt
	if in.Asker != nil {
		own = in.Asker.receipt
	}
	if err := s.checkLeak(ctx, own, "body", body); err != nil {
		return nil, err
	}
	html := Render(body)
	h := s.hour()
	v := Viewer{Asker: in.Asker}
	_, p, err := s.repo.AddPost(ctx, in.Thread, func(t *Thread) (*Post, error) {
		if !v.canSee(t) {
			return nil, newErr(ENOTFOUND, "", KeyThreadNotFound)
		}
		if t.Locked {
			return nil, newErr(EFORBIDDEN, "", KeyThreadLocked)
		}
		kind := Anonymous
		if v.isAsker(t) {
			kind = AskerAuthor
			t.Awaiting = true
		}
		t.Replies++
		t.LastActive = h
		return &Post{Author: Author{Kind: kind}, Hour: h, Source: body, HTML: html}, nil
	})
	if err != nil {
		return nil, err
	}
	viewPost(p, v)
	return p, nil
}

// StaffReply answers a thread as staff, under displayName (e.g. «Команда
// фонда»). It marks the thread answered and takes it off the unanswered
// queue; locked and private threads accept it. Errors: EINVALID on "name"
// or "body", ENOTFOUND "err.thread.not_found".
func (s *Service) StaffReply(ctx context.Context, id ThreadID, staffID, displayName, text string) (*Post, error) {
	var errs Errors
	name, e := cleanStaffName(displayName)
	if e != nil {
		errs = append(errs, e)
	}
	body, err := CleanBody(text)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	html := Render(body)
	h := s.hour()
	_, p, err := s.repo.AddPost(ctx, id, func(t *Thread) (*Post, error) {
		t.Answered = true
		t.Awaiting = false
		t.Replies++
		t.LastActive = h
		return &Post{Author: Author{Kind: Staff, Name: name, StaffID: staffID}, Hour: h, Source: body, HTML: html}, nil
	})
	return p, err
}

// StaffThread starts a public thread as staff (an announcement or a guide),
// optionally pinned. Errors: EINVALID on "name", "title", "body"; ENOTFOUND
// "err.section.not_found".
func (s *Service) StaffThread(ctx context.Context, slug, staffID, displayName, title, text string, pinned bool) (*Thread, error) {
	var errs Errors
	name, e := cleanStaffName(displayName)
	if e != nil {
		errs = append(errs, e)
	}
	title, err := CleanTitle(title)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	body, err := CleanBody(text)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sec, err := s.repo.SectionBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	return s.repo.CreateThread(ctx, s.staffThread(sec.ID, staffID, name, title, body, pinned))
}

func (s *Service) staffThread(sec SectionID, staffID, name, title, body string, pinned bool) NewThread {
	h := s.hour()
	return NewThread{
		Thread: Thread{Section: sec, Title: title, Pinned: pinned, Created: h, LastActive: h},
		Question: Post{N: 1, Author: Author{Kind: Staff, Name: name, StaffID: staffID}, Hour: h,
			Source: body, HTML: Render(body)},
	}
}

// HidePost hides or shows a post. A hidden post keeps its place; visitors
// see that it was hidden, not its text. Errors: ENOTFOUND.
func (s *Service) HidePost(ctx context.Context, ref PostRef, hidden bool) error {
	_, err := s.repo.UpdatePost(ctx, ref, func(t *Thread, p *Post) error {
		if p.Deleted {
			return newErr(ENOTFOUND, "", KeyPostNotFound)
		}
		p.Hidden = hidden
		return nil
	})
	return err
}

// DeletePost erases a reply's text for good; the post keeps its number as
// "deleted". The question cannot be deleted alone: delete the thread.
// Errors: ENOTFOUND, EINVALID "err.post.is_question".
func (s *Service) DeletePost(ctx context.Context, ref PostRef) error {
	if ref.N == 1 {
		return newErr(EINVALID, "", KeyPostIsQuestion)
	}
	_, err := s.repo.UpdatePost(ctx, ref, func(t *Thread, p *Post) error {
		if p.Deleted {
			return nil
		}
		p.Deleted = true
		p.Hidden = false
		p.Source, p.HTML = "", ""
		p.Author.Name, p.Author.StaffID = "", ""
		t.Replies--
		return nil
	})
	return err
}

// DeleteThread removes a thread and all its posts. Errors: ENOTFOUND.
func (s *Service) DeleteThread(ctx context.Context, id ThreadID) error {
	return s.repo.DeleteThread(ctx, id)
}

// LockThread locks or unlocks a thread: a locked thread takes replies from
// staff only. Errors: ENOTFOUND.
func (s *Service) LockThread(ctx context.Context, id ThreadID, locked bool) error {
	_, err := s.repo.UpdateThread(ctx, id, func(t *Thread) error { t.Locked = locked; return nil })
	return err
}

// PinThread pins or unpins a thread: pinned threads head their section.
// Errors: ENOTFOUND.
func (s *Service) PinThread(ctx context.Context, id ThreadID, pinned bool) error {
	_, err := s.repo.UpdateThread(ctx, id, func(t *Thread) error { t.Pinned = pinned; return nil })
	return err
}

// MoveThread moves a thread to another section. Errors: ENOTFOUND
// "err.thread.not_found", ENOTFOUND "err.section.not_found".
func (s *Service) MoveThread(ctx context.Context, id ThreadID, toSlug string) error {
	sec, err := s.repo.SectionBySlug(ctx, toSlug)
	if err != nil {
		return err
	}
	_, err = s.repo.UpdateThread(ctx, id, func(t *Thread) error { t.Section = sec.ID; return nil })
	return err
}

// QueuePage is a page of the unanswered queue.
type QueuePage struct {
	Threads []Thread // oldest wait first; Private marks private threads
	Page    int
	More    bool // another page follows
}

// UnansweredQueue lists, for staff, the threads waiting for a staff reply,
// oldest wait first, public and private together, 50 a page.
func (s *Service) UnansweredQueue(ctx context.Context, page int) (*QueuePage, error) {
	if page < 1 {
		page = 1
	}
	ts, err := s.repo.Unanswered(ctx, (page-1)*ThreadPageSize, ThreadPageSize+1)
	if err != nil {
		return nil, err
	}
	more := len(ts) > ThreadPageSize
	if more {
		ts = ts[:ThreadPageSize]
	}
	return &QueuePage{Threads: ts, Page: page, More: more}, nil
}

// ReportInput is a visitor's report of a post.
type ReportInput struct {
	Post   PostRef
	Reason ReportReason
	Note   string // optional, at most NoteMax runes
}

// Report files a report about a post the viewer can see. Errors: EINVALID
// "err.report.reason" (field "reason"), EINVALID on "note", ENOTFOUND.
func (s *Service) Report(ctx context.Context, in ReportInput, v Viewer) error {
	if !validReason(in.Reason) {
		return newErr(EINVALID, "reason", KeyReportReason)
	}
	note, e := cleanNote(in.Note)
	if e != nil {
		return e
	}
	_, err := s.repo.AddReport(ctx, Report{Post: in.Post, Reason: in.Reason, Note: note, Hour: s.hour()},
		func(t *Thread, p *Post) error {
			if !v.canSee(t) {
				return newErr(ENOTFOUND, "", KeyThreadNotFound)
			}
			if p.Deleted {
				return newErr(ENOTFOUND, "", KeyPostNotFound)
			}
			return nil
		})
	return err
}

// ReportQueue lists open reports for staff, oldest first, 50 a page; More
// says whether another page follows.
func (s *Service) ReportQueue(ctx context.Context, page int) (reports []Report, more bool, err error) {
	if page < 1 {
		page = 1
	}
	rs, err := s.repo.Reports(ctx, true, (page-1)*ThreadPageSize, ThreadPageSize+1)
	if err != nil {
		return nil, false, err
	}
	if len(rs) > ThreadPageSize {
		return rs[:ThreadPageSize], true, nil
	}
	return rs, false, nil
}

// ResolveReport closes a report. Errors: ENOTFOUND "err.report.not_found".
func (s *Service) ResolveReport(ctx context.Context, id ReportID, staffID string) error {
	_, err := s.repo.UpdateReport(ctx, id, func(r *Report) error {
		r.Resolved = true
		r.ResolvedBy = staffID
		return nil
	})
	return err
}
