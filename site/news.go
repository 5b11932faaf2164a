package site

import (
	"bytes"
	"context"
	"encoding/xml"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"tropa/fund"
	"tropa/staff"
)

// The fund's news: a page per language with pagination (/ru/news), a page
// per post (/ru/news/12), an Atom feed per language (/ru/news.atom) and the
// latest three on the home page. Like every read page they are rendered
// once and cached until the news (or the info pages, whose titles are in
// the navigation) change. Staff publish, edit and delete posts on
// /<lang>/staff/news.

func init() {
	kinds = append(kinds, "news", "news_post", "staff_news")
}

const (
	homeNewsCount = 3
	feedEntries   = 20
	maxNewsCache  = 256
	// feedEpoch is the date in the feeds' tag: URIs (RFC 4151): a day the
	// portal's onion address was the fund's. The feed of a language
	// without posts says it was updated then.
	feedEpoch = "2025-01-01"
)

var atomType = fixedHeader("Content-Type", "application/atom+xml; charset=utf-8")

// newsCache holds rendered news pages and feeds with the versions they
// show.
type newsCache struct {
	mu    sync.Mutex
	key   [2]uint64 // news version, info pages version
	pages map[string]*cached
}

func (s *Site) registerNews(e *echo.Echo) {
	if s.opts.News == nil {
		return
	}
	s.news = &newsCache{pages: map[string]*cached{}}
	get := []string{http.MethodGet, http.MethodHead}
	for _, lang := range Languages {
		e.Match(get, "/"+lang+"/news", s.newsIndex)
		e.Match(get, "/"+lang+"/news/:id", s.newsPost)
		e.Match(get, "/"+lang+"/news.atom", s.newsFeed)
	}
}

// newsPage returns the cached page under key, or renders it with fn.
func (s *Site) newsPage(key string, fn func() (*cached, error)) (*cached, error) {
	nc := s.news
	ver := [2]uint64{s.opts.News.Version(), s.live.version.Load()}
	nc.mu.Lock()
	if nc.key != ver {
		nc.key, nc.pages = ver, map[string]*cached{}
	}
	if p := nc.pages[key]; p != nil {
		nc.mu.Unlock()
		return p, nil
	}
	nc.mu.Unlock()
	p, err := fn()
	if err != nil {
		return nil, err
	}
	nc.mu.Lock()
	if nc.key == ver {
		if len(nc.pages) >= maxNewsCache {
			clear(nc.pages)
		}
		nc.pages[key] = p
	}
	nc.mu.Unlock()
	return p, nil
}

// newsErr: an unknown post or page is 404; the rest 500.
func newsErr(err error) error {
	if fund.ErrorCode(err) == fund.ENOTFOUND {
		return echo.ErrNotFound
	}
	return err
}

// ---- page structs -------------------------------------------------------------

type newsView struct {
	URL, Title, Date, DateISO string
	HTML                      template.HTML
}

type newsListData struct {
	layout
	Posts   []newsView
	Pager   pager
	FeedURL string
}

type newsPostData struct {
	layout
	Post             newsView
	ListURL, FeedURL string
}

func (s *Site) newsView(lang string, n fund.News) newsView {
	t := n.Published.Time().In(fund.Zone)
	return newsView{URL: "/" + lang + "/news/" + strconv.FormatUint(uint64(n.ID), 10), Title: n.Title,
		Date: s.longDate(lang, t), DateISO: t.Format(time.DateOnly), HTML: renderMarkdown(n.Body)}
}

// longDate writes a day with its year: "15 марта 2025", "15 March 2025".
func (s *Site) longDate(lang string, t time.Time) string {
	return s.cat.T(lang, "news.date", map[string]any{"Day": t.Day(), "Month": s.cat.T(lang, "fund.month."+strconv.Itoa(int(t.Month()))), "Year": t.Year()})
}

// homeNews is the latest posts for the home page (none when there is no
// news service or it fails: the home page must render anyway).
func (s *Site) homeNews(lang string) []newsView {
	if s.opts.News == nil {
		return nil
	}
	posts, err := s.opts.News.Latest(context.Background(), lang, homeNewsCount)
	if err != nil {
		return nil
	}
	var out []newsView
	for _, n := range posts {
		out = append(out, s.newsView(lang, n))
	}
	return out
}

// newsChanged renders the home pages again (they show the latest posts);
// news pages and feeds see the new version themselves.
func (s *Site) newsChanged() error {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	for _, lang := range Languages {
		c, err := s.renderInfo(lang, "home")
		if err != nil {
			return err
		}
		s.setPage(urlOf(lang, "home"), c)
	}
	return nil
}

// ---- public pages --------------------------------------------------------------

func (s *Site) newsIndex(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	p, err := s.newsPage(lang+"/news?"+strconv.Itoa(page), func() (*cached, error) {
		np, err := s.opts.News.Page(c.Request().Context(), lang, page)
		if err != nil {
			return nil, err
		}
		d := newsListData{layout: s.frame(lang, "news", s.cat.T(lang, "news.title"), s.cat.T(lang, "news.description")),
			FeedURL: "/" + lang + "/news.atom"}
		d.Pager = makePager("/"+lang+"/news", np.Page, np.Pages)
		for _, n := range np.Posts {
			d.Posts = append(d.Posts, s.newsView(lang, n))
		}
		return s.render(lang, "news", http.StatusOK, d)
	})
	if err != nil {
		return newsErr(err)
	}
	return writeCached(c, p)
}

func (s *Site) newsPost(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return echo.ErrNotFound
	}
	p, err := s.newsPage(lang+"/news/"+strconv.FormatUint(id, 10), func() (*cached, error) {
		n, err := s.opts.News.Post(c.Request().Context(), fund.NewsID(id))
		if err != nil {
			return nil, err
		}
		if n.Lang != lang {
			return nil, fund.NotFound(nil) // a post lives in its own language
		}
		d := newsPostData{layout: s.frame(lang, "news", n.Title, ""), Post: s.newsView(lang, *n),
			ListURL: "/" + lang + "/news", FeedURL: "/" + lang + "/news.atom"}
		return s.render(lang, "news_post", http.StatusOK, d)
	})
	if err != nil {
		return newsErr(err)
	}
	return writeCached(c, p)
}

// ---- the Atom feed ------------------------------------------------------------------

type atomFeed struct {
	XMLName  xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID       string      `xml:"id"`
	Title    string      `xml:"title"`
	Subtitle string      `xml:"subtitle,omitempty"`
	Updated  string      `xml:"updated"`
	Author   atomPerson  `xml:"author"`
	Links    []atomLink  `xml:"link"`
	Entries  []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Published string   `xml:"published"`
	Updated   string   `xml:"updated"`
	Link      atomLink `xml:"link"`
	Content   atomText `xml:"content"`
}

// feedHost is the request's host, to make the feed's URLs absolute: the
// onion address over tor, 127.0.0.1:port on the preview. It must look like
// a host name (letters, digits, '.', '-', an optional port); the feed is
// cached per host, and anything else gets 404 rather than a cache entry.
func feedHost(h string) (host, authority string, ok bool) {
	h = strings.ToLower(h)
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || len(h) > 255 || hasPort && (port == "" || !digitsOnly(port)) {
		return "", "", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return "", "", false
		}
	}
	return h, name, true
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atomTime is an hour in RFC 3339: news keep no finer time.
func atomTime(h fund.Hour) string { return h.Time().Format(time.RFC3339) }

func (s *Site) newsFeed(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	host, authority, ok := feedHost(c.Request().Host)
	if !ok {
		return echo.ErrNotFound
	}
	p, err := s.newsPage(lang+"/atom@"+host, func() (*cached, error) {
		posts, err := s.opts.News.Latest(c.Request().Context(), lang, feedEntries)
		if err != nil {
			return nil, err
		}
		base := "http://" + host
		f := atomFeed{ID: "tag:" + authority + "," + feedEpoch + ":news/" + lang, Title: s.cat.T(lang, "site.name") + " · " + s.cat.T(lang, "news.title"),
			Subtitle: s.cat.T(lang, "news.description"), Updated: feedEpoch + "T00:00:00Z",
			Author: atomPerson{Name: s.cat.T(lang, "news.author")},
			Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: base + "/" + lang + "/news.atom"},
				{Rel: "alternate", Type: "text/html", Href: base + "/" + lang + "/news"}}}
		var newest fund.Hour
		for _, n := range posts {
			id := strconv.FormatUint(uint64(n.ID), 10)
			f.Entries = append(f.Entries, atomEntry{
				ID:        "tag:" + authority + "," + n.Published.Time().In(fund.Zone).Format(time.DateOnly) + ":news/" + id,
				Title:     n.Title,
				Published: atomTime(n.Published), Updated: atomTime(n.Updated),
				Link:    atomLink{Rel: "alternate", Type: "text/html", Href: base + "/" + lang + "/news/" + id},
				Content: atomText{Type: "html", Body: string(renderMarkdown(n.Body))},
			})
			newest = max(newest, n.Updated)
		}
		if newest > 0 {
			f.Updated = atomTime(newest)
		}
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		enc := xml.NewEncoder(&buf)
		enc.Indent("", " ")
		if err := enc.Encode(f); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		out := compress(http.StatusOK, buf.Bytes())
		out.typ = atomType.val
		return out, nil
	})
	if err != nil {
		return newsErr(err)
	}
	return writeCached(c, p)
}

// ---- staff ------------------------------------------------------------------------

func (s *Site) registerStaffNews(g *echo.Group) {
	if s.opts.News == nil {
		return
	}
	get := []string{http.MethodGet, http.MethodHead}
	g.Match(get, "/news", s.staffNews)
	g.POST("/news", s.staffNewsSave, middleware.BodyLimit(maxFormBody))
}

type staffNewsData struct {
	staffLayout
	Langs []staffNewsLang
	Edit  fund.News
}

type staffNewsLang struct {
	Lang  string
	Posts []staffNewsItem
	More  int
}

type staffNewsItem struct {
	ID                 fund.NewsID
	Title, When, Staff string
	EditURL, PublicURL string
}

const staffNewsList = 30

func (s *Site) staffNews(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	edit := fund.News{Lang: lang}
	if id, err := strconv.ParseUint(c.QueryParam("edit"), 10, 64); err == nil {
		n, err := s.opts.News.Post(c.Request().Context(), fund.NewsID(id))
		if err != nil {
			return newsErr(err)
		}
		edit = *n
	}
	return s.renderStaffNews(c, http.StatusOK, edit, nil)
}

func (s *Site) renderStaffNews(c echo.Context, status int, edit fund.News, errs map[string]string) error {
	lang := langOf(c.Request().URL.Path)
	d := staffNewsData{staffLayout: s.staffFrame(c, "/news", s.cat.T(lang, "staff.news.title")), Edit: edit}
	if errs != nil {
		d.Errors = errs
	}
	for _, pl := range Languages {
		l := staffNewsLang{Lang: pl}
		list, n, err := s.staffNewsPosts(c.Request().Context(), pl)
		if err != nil {
			return err
		}
		for _, p := range list {
			l.Posts = append(l.Posts, staffNewsItem{ID: p.ID, Title: p.Title, Staff: p.Staff,
				When:    s.longDate(lang, p.Published.Time().In(fund.Zone)),
				EditURL: "/" + lang + "/staff/news?edit=" + strconv.FormatUint(uint64(p.ID), 10), PublicURL: "/" + pl + "/news/" + strconv.FormatUint(uint64(p.ID), 10)})
		}
		l.More = n - len(list)
		d.Langs = append(d.Langs, l)
	}
	return s.renderForm(c, "staff_news", status, d)
}

func (s *Site) staffNewsPosts(ctx context.Context, lang string) ([]fund.News, int, error) {
	np, err := s.opts.News.Page(ctx, lang, 1)
	if err != nil {
		return nil, 0, err
	}
	posts := np.Posts
	for page := 2; len(posts) < staffNewsList && page <= np.Pages; page++ {
		more, err := s.opts.News.Page(ctx, lang, page)
		if err != nil {
			return nil, 0, err
		}
		posts = append(posts, more.Posts...)
	}
	return posts, np.Total, nil
}

func (s *Site) staffNewsSave(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	me := staffOf(c)
	if !canEdit(me) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	ctx := c.Request().Context()
	id, _ := strconv.ParseUint(c.FormValue("id"), 10, 64)
	n := fund.News{ID: fund.NewsID(id), Lang: c.FormValue("lang"), Title: c.FormValue("title"), Body: c.FormValue("body")}
	if c.FormValue("delete") != "" {
		if c.FormValue("confirm") != "yes" {
			return s.renderStaffNews(c, http.StatusUnprocessableEntity, n, map[string]string{"delete": s.cat.T(lang, "staff.err.confirm")})
		}
		if err := s.opts.News.Delete(ctx, n.ID); err != nil {
			return newsErr(err)
		}
		s.logMod(c, "news:"+strconv.FormatUint(id, 10), staff.ModDelete, "")
	} else if err := s.opts.News.Publish(ctx, &n, me.Name); err != nil {
		if fund.ErrorCode(err) == fund.EINVALID {
			return s.renderStaffNews(c, http.StatusUnprocessableEntity, n, s.fundErrors(lang, err))
		}
		return newsErr(err)
	}
	if err := s.newsChanged(); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/news?done=1")
}
