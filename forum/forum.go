// Package forum owns the Q&A board: sections, threads, posts, askers and
// their receipts, staff answers and moderation. It holds the rules; storage
// sits behind Repository and HTTP is the site's business.
//
// It must never import echo, bine or Badger, never keep a receipt in
// plaintext beyond the call that handles it, and never record an exact time
// for a post: posts carry the hour only.
package forum

import (
	"context"
	"html/template"
	"time"
)

// Page sizes.
const (
	SectionPageSize = 20
	ThreadPageSize  = 50
	// MyQuestionsMax caps the threads "my questions" lists.
	MyQuestionsMax = 100
)

// Clock tells the time; tests inject their own.
type Clock func() time.Time

// Hour is a coarse time: Unix time divided by 3600. It is the only time the
// forum keeps for a post.
type Hour int64

// HourOf truncates t to its hour.
func HourOf(t time.Time) Hour {
	s := t.Unix()
	if s < 0 {
		return Hour((s - 3599) / 3600)
	}
	return Hour(s / 3600)
}

// Time returns the start of the hour, in UTC.
func (h Hour) Time() time.Time { return time.Unix(int64(h)*3600, 0).UTC() }

// IDs. They are opaque to the site except as URL parts.
type (
	SectionID uint64
	ThreadID  uint64
	AskerID   uint64
	ReportID  uint64
)

// L10n is a text in both languages of the portal.
type L10n struct {
	RU string
	EN string
}

// In returns the text in lang ("ru" or "en"), falling back to Russian.
func (l L10n) In(lang string) string {
	if lang == "en" && l.EN != "" {
		return l.EN
	}
	return l.RU
}

// Section is a board section (a subforum).
type Section struct {
	ID          SectionID
	Slug        string // stable, used in URLs
	Order       int    // position in the list of sections
	Title       L10n
	Description L10n
	// Threads counts the public threads (the ones the section page lists);
	// PrivateThreads the private ones: for staff, zero in visitors' pages
	// (Sections, for the staff side, has it).
	Threads        int
	PrivateThreads int
}

// Thread is a question and its replies.
type Thread struct {
	ID      ThreadID
	Section SectionID
	Title   string // plain text; the template escapes it
	Private bool   // visible only to staff and the asker
	Pinned  bool
	Locked  bool
	// Answered is true once a staff member has replied.
	Answered bool
	// Awaiting is true while the thread waits for staff (the unanswered
	// queue): set by the question and by the asker's follow-ups, cleared by a
	// staff reply.
	Awaiting bool
	// Posts counts post slots, the question included; deleted posts keep
	// their slot so post numbers and pages stay stable.
	Posts int
	// Replies counts the posts after the question that are not deleted.
	Replies    int
	Created    Hour
	LastActive Hour
	// Asker identifies who asked; zero for threads staff started, and zero
	// in every view given to a visitor (it would link an asker's threads).
	Asker AskerID
}

// Pages is the number of thread pages.
func (t *Thread) Pages() int { return pages(t.Posts, ThreadPageSize) }

// AuthorKind says who wrote a post.
type AuthorKind uint8

const (
	Anonymous   AuthorKind = iota // a visitor
	AskerAuthor                   // the asker: the question and their follow-ups
	Staff                         // a staff member, with a display name
)

func (k AuthorKind) String() string {
	switch k {
	case Anonymous:
		return "anonymous"
	case AskerAuthor:
		return "asker"
	case Staff:
		return "staff"
	}
	return "unknown"
}

// Author of a post.
type Author struct {
	Kind AuthorKind
	// Name is the staff display name (e.g. «Команда фонда»); empty otherwise.
	Name string
	// StaffID is the staff member's internal identifier; empty for visitors'
	// posts and in every view given to a visitor.
	StaffID string
}

// PostRef names a post: its thread and its number (1 is the question).
type PostRef struct {
	Thread ThreadID
	N      int
}

// Post is one message in a thread.
type Post struct {
	Thread ThreadID
	N      int // 1 is the question
	Author Author
	Hour   Hour
	// Source is the Markdown as written; HTML is its sanitised rendering,
	// made once when the post was written. Both are empty for a deleted
	// post, and for a hidden post in a visitor's view.
	Source  string
	HTML    template.HTML
	Hidden  bool
	Deleted bool
}

// Ref returns the post's reference.
func (p *Post) Ref() PostRef { return PostRef{Thread: p.Thread, N: p.N} }

// ReportReason is one of a fixed list of reasons to report a post.
type ReportReason string

// Report reasons. The site shows them translated under "report.reason.<r>".
const (
	ReasonSpam         ReportReason = "spam"          // advertising, flood
	ReasonPersonalData ReportReason = "personal-data" // names, phones, faces, receipts: deanonymisation
	ReasonDangerous    ReportReason = "dangerous"     // dangerous or false health advice
	ReasonSelling      ReportReason = "selling"       // selling or buying drugs
	ReasonAbuse        ReportReason = "abuse"         // insults, threats
	ReasonOther        ReportReason = "other"
)

// ReportReasons lists the reasons in the order a form shows them.
var ReportReasons = []ReportReason{ReasonSpam, ReasonPersonalData, ReasonDangerous, ReasonSelling, ReasonAbuse, ReasonOther}

func validReason(r ReportReason) bool {
	for _, x := range ReportReasons {
		if r == x {
			return true
		}
	}
	return false
}

// Report is a visitor's report of a post, queued for staff.
type Report struct {
	ID         ReportID
	Post       PostRef
	Reason     ReportReason
	Note       string // optional short text, plain
	Hour       Hour
	Resolved   bool
	ResolvedBy string // staff ID
}

// NewThread is what CreateThread stores: the thread, its first post and,
// for a new asker, the hash their receipt is found by.
type NewThread struct {
	Thread   Thread
	Question Post
	// ReceiptHash, when not nil and Thread.Asker is zero, creates a new
	// asker reachable by this lookup hash (ECONFLICT if the hash exists).
	ReceiptHash []byte
	// KDF identifies the parameter set that produced ReceiptHash.
	KDF uint8
}

// Repository is the storage the forum needs. Implementations keep every
// write method atomic and durable before it returns; the functions passed
// to them run inside the write transaction, must not block, and may run
// more than once (on a retry), so they must only read their arguments and
// set their results.
//
// Not-found conditions are *Error values with code ENOTFOUND, never nil
// results.
type Repository interface {
	// UpdateMeta replaces the metadata value name with fn(old) atomically;
	// old is nil when absent. It returns the stored value.
	UpdateMeta(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) ([]byte, error)

	Sections(ctx context.Context) ([]Section, error)
	Section(ctx context.Context, id SectionID) (*Section, error)
	SectionBySlug(ctx context.Context, slug string) (*Section, error)
	// CreateSection stores a section and its opening thread together
	// (ECONFLICT if the slug exists). The IDs are assigned by the store.
	CreateSection(ctx context.Context, s Section, opening *NewThread) (*Section, error)

	Thread(ctx context.Context, id ThreadID) (*Thread, error)
	// Threads lists a section's public (or private) threads: pinned first,
	// then most recent activity first. It walks offset index keys first:
	// for exports and tools; pages use ThreadSlice.
	Threads(ctx context.Context, section SectionID, private bool, offset, limit int) ([]Thread, error)
	// ThreadSlice lists a slice of a section's thread list (the same order
	// as Threads) around a position, at a cost that does not depend on how
	// deep in the list the position is: see ListQuery.
	ThreadSlice(ctx context.Context, q ListQuery) (*ThreadSlice, error)
	// Posts lists a thread's posts from number from (1-based), in order.
	Posts(ctx context.Context, thread ThreadID, from, limit int) ([]Post, error)
	// Unanswered lists threads awaiting staff, oldest wait first.
	Unanswered(ctx context.Context, offset, limit int) ([]Thread, error)
	// AskerThreads lists an asker's threads, newest first.
	AskerThreads(ctx context.Context, asker AskerID, limit int) ([]Thread, error)
	// AskerByReceiptHash finds the asker a receipt hash belongs to.
	AskerByReceiptHash(ctx context.Context, hash []byte) (AskerID, error)
	// RekeyReceipt moves an asker's lookup from oldHash to newHash (after
	// the hash parameters were raised).
	RekeyReceipt(ctx context.Context, oldHash, newHash []byte, kdf uint8) error

	// CreateThread stores a new thread with its question. The store assigns
	// the thread ID, post number 1 and, for a new asker, the asker ID.
	CreateThread(ctx context.Context, nt NewThread) (*Thread, error)
	// AddPost appends a post: fn sees the thread as it is, may change it
	// (flags, counters, times) and returns the post to append, or an error
	// to refuse. The store numbers the post and bumps the thread's activity.
	AddPost(ctx context.Context, id ThreadID, fn func(t *Thread) (*Post, error)) (*Thread, *Post, error)
	// UpdateThread changes a thread with fn; moving it (a new Section),
	// pinning, locking and visibility keep the indexes and counters right.
	UpdateThread(ctx context.Context, id ThreadID, fn func(t *Thread) error) (*Thread, error)
	// UpdatePost changes a post (and its thread) with fn.
	UpdatePost(ctx context.Context, ref PostRef, fn func(t *Thread, p *Post) error) (*Post, error)
	// DeleteThread removes a thread, its posts and its index entries.
	DeleteThread(ctx context.Context, id ThreadID) error

	// AddReport stores a report after check accepts the reported post.
	AddReport(ctx context.Context, r Report, check func(t *Thread, p *Post) error) (*Report, error)
	// Reports lists reports: the open ones oldest first, or all newest first.
	Reports(ctx context.Context, open bool, offset, limit int) ([]Report, error)
	UpdateReport(ctx context.Context, id ReportID, fn func(r *Report) error) (*Report, error)
}

func pages(n, size int) int {
	if n <= 0 {
		return 1
	}
	return (n + size - 1) / size
}
