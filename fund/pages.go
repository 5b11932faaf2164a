package fund

import (
	"context"
	"time"
)

// Info pages as staff edit them. The portal's pages ship as Markdown in the
// binary; staff edit any of them, per language, and every save is a new
// revision (who, and the hour): the newest revision is the page, the
// shipped text stays the fallback while a page has none, and restoring an
// old revision saves a copy of it as the newest. Revisions are never
// changed or deleted.

// PageRevision is one saved version of a page in one language.
type PageRevision struct {
	Lang        string `json:"lang"`
	Slug        string `json:"slug"`
	N           int    `json:"n"` // 1, 2, … per page and language
	Title       string `json:"title"`
	Nav         string `json:"nav,omitempty"`
	Description string `json:"description,omitempty"`
	Reviewed    string `json:"reviewed,omitempty"` // YYYY-MM-DD, medical pages
	Body        string `json:"body"`               // Markdown, without raw HTML
	Staff       string `json:"staff"`              // the account that saved it
	Hour        Hour   `json:"hour"`
	// Restores is the revision this one copies back (0: an edit).
	Restores int `json:"restores,omitempty"`
}

// Limits of a page, in characters.
const (
	MaxPageTitle       = 150
	MaxPageNav         = 40
	MaxPageDescription = 300
	MaxPageBody        = 100_000
	maxSlug            = 40
	// HistoryLen is how many revisions a page's history shows.
	HistoryLen = 50
)

// Normalize tidies a revision from a form.
func (r *PageRevision) Normalize() {
	r.Title, r.Nav, r.Description, r.Reviewed = clean(r.Title), clean(r.Nav), clean(r.Description), clean(r.Reviewed)
	r.Body = cleanBody(r.Body)
}

// Validate checks a normalized revision: a language, a page name
// ([a-z0-9-]), a title, a body, the optional fields' limits and a real date
// in Reviewed.
func (r *PageRevision) Validate() error {
	var c checker
	if !validLang(r.Lang) {
		c.add("lang", KeyLang)
	}
	if !ValidSlug(r.Slug) {
		c.add("slug", KeySlug)
	}
	c.text("title", r.Title, true, MaxPageTitle)
	c.text("nav", r.Nav, false, MaxPageNav)
	c.text("description", r.Description, false, MaxPageDescription)
	if r.Reviewed != "" {
		if _, err := time.Parse(time.DateOnly, r.Reviewed); err != nil {
			c.add("reviewed", KeyDate)
		}
	}
	c.body("body", r.Body, true, MaxPageBody)
	return c.err()
}

// ValidSlug reports whether s can name a page.
func ValidSlug(s string) bool {
	if s == "" || len(s) > maxSlug {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// PageRepository stores page revisions.
type PageRepository interface {
	// PagesVersion changes after every write; it is cheap (no I/O).
	PagesVersion() uint64
	// AddRevision stores r as its page's newest revision and sets r.N.
	AddRevision(ctx context.Context, r *PageRevision) error
	// Revision returns revision n of a page (ENOTFOUND).
	Revision(ctx context.Context, lang, slug string, n int) (*PageRevision, error)
	// Revisions lists up to limit revisions of a page, newest first.
	Revisions(ctx context.Context, lang, slug string, limit int) ([]PageRevision, error)
	// LatestRevisions returns the newest revision of every page that has
	// one.
	LatestRevisions(ctx context.Context) ([]PageRevision, error)
}

// PageEditor holds the page editing rules.
type PageEditor struct {
	repo PageRepository
	now  Clock
}

// NewPageEditor returns the page rules over repo; a nil clock is time.Now.
func NewPageEditor(repo PageRepository, now Clock) *PageEditor {
	if now == nil {
		now = time.Now
	}
	return &PageEditor{repo: repo, now: now}
}

// Version changes whenever a page does.
func (e *PageEditor) Version() uint64 { return e.repo.PagesVersion() }

// Save stores r as a page's newest revision, saved by staff account name.
// Errors: Errors (EINVALID) on "lang", "slug", "title", "nav",
// "description", "reviewed", "body".
func (e *PageEditor) Save(ctx context.Context, r *PageRevision, staff string) error {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return err
	}
	r.N, r.Restores, r.Staff, r.Hour = 0, 0, staff, HourOf(e.now())
	return e.repo.AddRevision(ctx, r)
}

// Restore saves a copy of revision n of a page as its newest revision.
// Errors: ENOTFOUND.
func (e *PageEditor) Restore(ctx context.Context, lang, slug string, n int, staff string) (*PageRevision, error) {
	old, err := e.repo.Revision(ctx, lang, slug, n)
	if err != nil {
		return nil, err
	}
	r := *old
	r.N, r.Restores, r.Staff, r.Hour = 0, n, staff, HourOf(e.now())
	if err := e.repo.AddRevision(ctx, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Revision returns revision n of a page (ENOTFOUND).
func (e *PageEditor) Revision(ctx context.Context, lang, slug string, n int) (*PageRevision, error) {
	return e.repo.Revision(ctx, lang, slug, n)
}

// History lists a page's newest HistoryLen revisions, newest first.
func (e *PageEditor) History(ctx context.Context, lang, slug string) ([]PageRevision, error) {
	return e.repo.Revisions(ctx, lang, slug, HistoryLen)
}

// Current returns the newest revision of every edited page.
func (e *PageEditor) Current(ctx context.Context) ([]PageRevision, error) {
	return e.repo.LatestRevisions(ctx)
}
