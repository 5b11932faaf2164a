package fund

import (
	"context"
	"time"
)

// News: short posts staff publish in one language (the fund's Telegram
// channel, for onion visitors), shown newest first and in an Atom feed.
// A post keeps the hours it was published and last edited, and the staff
// account that last wrote it (for staff; the site shows the fund as the
// author).

// NewsID identifies a news post.
type NewsID uint64

// News is one news post.
type News struct {
	ID        NewsID `json:"id"`
	Lang      string `json:"lang"`
	Title     string `json:"title"` // plain text, one line
	Body      string `json:"body"`  // Markdown, without raw HTML
	Published Hour   `json:"published"`
	Updated   Hour   `json:"updated"`
	Staff     string `json:"staff"`
}

// Limits of a news post, in characters: short, like a channel's post.
const (
	MaxNewsTitle = 150
	MaxNewsBody  = 5000
	// NewsPageSize is how many posts a news page shows.
	NewsPageSize = 10
)

// Normalize tidies a post from a form.
func (n *News) Normalize() {
	n.Title = clean(n.Title)
	n.Body = cleanBody(n.Body)
}

// Validate checks a normalized post: a language of the portal, a title and
// a text within their limits.
func (n *News) Validate() error {
	var c checker
	if !validLang(n.Lang) {
		c.add("lang", KeyLang)
	}
	c.text("title", n.Title, true, MaxNewsTitle)
	c.body("body", n.Body, true, MaxNewsBody)
	return c.err()
}

// NewsRepository stores news posts.
type NewsRepository interface {
	// NewsVersion changes after every write; it is cheap (no I/O).
	NewsVersion() uint64
	// NewsPost returns one post (ENOTFOUND).
	NewsPost(ctx context.Context, id NewsID) (*News, error)
	// SaveNews stores n: a new one (ID 0) gets the next ID, set in n; an
	// existing one is replaced (ENOTFOUND if it does not exist).
	SaveNews(ctx context.Context, n *News) error
	// DeleteNews removes a post (ENOTFOUND).
	DeleteNews(ctx context.Context, id NewsID) error
	// ListNews returns up to limit posts in lang, newest first, after
	// skipping offset, and how many posts lang has.
	ListNews(ctx context.Context, lang string, offset, limit int) ([]News, int, error)
}

// NewsDesk holds the news rules.
type NewsDesk struct {
	repo NewsRepository
	now  Clock
}

// NewNewsDesk returns the news rules over repo; a nil clock is time.Now.
func NewNewsDesk(repo NewsRepository, now Clock) *NewsDesk {
	if now == nil {
		now = time.Now
	}
	return &NewsDesk{repo: repo, now: now}
}

// Version changes whenever a post does.
func (d *NewsDesk) Version() uint64 { return d.repo.NewsVersion() }

// Publish stores a new post (ID 0) or an edit of one, written by staff
// account name. Errors: Errors (EINVALID) on "lang", "title", "body";
// ENOTFOUND.
func (d *NewsDesk) Publish(ctx context.Context, n *News, staff string) error {
	n.Normalize()
	if err := n.Validate(); err != nil {
		return err
	}
	h := HourOf(d.now())
	n.Published, n.Updated, n.Staff = h, h, staff
	if n.ID != 0 {
		old, err := d.repo.NewsPost(ctx, n.ID)
		if err != nil {
			return err
		}
		n.Published = old.Published
	}
	return d.repo.SaveNews(ctx, n)
}

// Delete removes a post (ENOTFOUND).
func (d *NewsDesk) Delete(ctx context.Context, id NewsID) error { return d.repo.DeleteNews(ctx, id) }

// Post returns one post (ENOTFOUND).
func (d *NewsDesk) Post(ctx context.Context, id NewsID) (*News, error) {
	return d.repo.NewsPost(ctx, id)
}

// NewsPage is one page of a language's news.
type NewsPage struct {
	Posts       []News
	Page, Pages int
	Total       int
}

// Page returns page (1-based) of lang's news, newest first. A page past the
// last is ENOTFOUND (page 1 always exists, maybe empty).
func (d *NewsDesk) Page(ctx context.Context, lang string, page int) (*NewsPage, error) {
	if page < 1 {
		return nil, NotFound(nil)
	}
	posts, total, err := d.repo.ListNews(ctx, lang, (page-1)*NewsPageSize, NewsPageSize)
	if err != nil {
		return nil, err
	}
	pages := max(1, (total+NewsPageSize-1)/NewsPageSize)
	if page > pages {
		return nil, NotFound(nil)
	}
	return &NewsPage{Posts: posts, Page: page, Pages: pages, Total: total}, nil
}

// Latest returns lang's n newest posts.
func (d *NewsDesk) Latest(ctx context.Context, lang string, n int) ([]News, error) {
	posts, _, err := d.repo.ListNews(ctx, lang, 0, n)
	return posts, err
}
