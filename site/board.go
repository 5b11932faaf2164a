package site

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"tropa/forum"
)

// The Q&A board's pages. Read pages (sections, threads) are rendered on
// first view and cached until something in them changes or the hour turns
// (their times are relative). Form pages carry a per-visitor CSRF token and
// captcha, so they are rendered per request.

func init() {
	kinds = append(kinds, "board", "section", "thread", "ask", "receipt", "mine", "reply", "report", "reported")
}

// maxFormBody bounds a form submission; more gets the 413 page.
const maxFormBody = "64K"

// boardCache holds rendered board pages with the versions they show.
type boardCache struct {
	mu       sync.Mutex
	global   uint64            // bumped by any write (section lists)
	threads  map[uint64]uint64 // per-thread version
	pages    map[string]*boardEntry
	bytes    int                        // of the cached pages, plain and gzip'd
	deep     int                        // cached pages with deep set
	receipts map[string]*pendingReceipt // session → receipt to show once
	askers   map[string]*askerSession   // session → opened receipt
}

type boardEntry struct {
	version uint64
	hour    forum.Hour
	page    *cached
	size    int
	deep    bool // a section page found by cursor (see maxDeepPages)
}

type pendingReceipt struct {
	receipt string
	thread  forum.ThreadID
	shown   bool
	expires time.Time
}

type askerSession struct {
	asker *forum.Asker
	seen  time.Time
}

// The cache holds at most maxBoardCache pages and maxBoardCacheBytes of
// them: a 50-post thread page is ~60 KB plain + ~12 KB gzip'd, so a crawl
// of a large board would otherwise keep ~300 MB (bench/, P4).
//
// Section pages after the first are addressed by cursor, and anyone can make
// up cursors: those pages share a bucket of their own, at most maxDeepPages
// of them, so a flood of cursors can only evict other cursor pages.
const (
	maxBoardCache      = 4000
	maxBoardCacheBytes = 16 << 20
	maxDeepPages       = 256
)

func newBoardCache() *boardCache {
	return &boardCache{threads: map[uint64]uint64{}, pages: map[string]*boardEntry{},
		receipts: map[string]*pendingReceipt{}, askers: map[string]*askerSession{}}
}

// changed invalidates the pages that show thread id (0: only the lists).
func (b *boardCache) changed(id forum.ThreadID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.global++
	if id != 0 {
		b.threads[uint64(id)]++
	}
}

// Changed tells the site that the board changed outside its own handlers
// (staff tools, imports), so cached pages are rendered again.
func (s *Site) Changed(id forum.ThreadID) {
	if s.board != nil {
		s.board.changed(id)
	}
}

// drop removes a cached page; b.mu is held.
func (b *boardCache) drop(k string, e *boardEntry) {
	delete(b.pages, k)
	b.bytes -= e.size
	if e.deep {
		b.deep--
	}
}

// cachedPage returns the cached page for key if it is still current, else
// renders it with fn and caches the result.
func (s *Site) cachedPage(key string, thread forum.ThreadID, fn func() (*cached, error)) (*cached, error) {
	return s.cachePage(key, thread, false, fn)
}

// cachePage is cachedPage; deep pages go in the bucket of cursor pages.
func (s *Site) cachePage(key string, thread forum.ThreadID, deep bool, fn func() (*cached, error)) (*cached, error) {
	b := s.board
	hour := forum.HourOf(s.opts.Now())
	b.mu.Lock()
	ver := b.global
	if thread != 0 {
		ver = b.threads[uint64(thread)]
	}
	if e := b.pages[key]; e != nil && e.version == ver && e.hour == hour {
		b.mu.Unlock()
		return e.page, nil
	}
	b.mu.Unlock()
	p, err := fn()
	if err != nil {
		return nil, err
	}
	size := len(p.raw) + len(p.gz)
	b.mu.Lock()
	if old := b.pages[key]; old != nil {
		b.drop(key, old)
	}
	if deep && b.deep >= maxDeepPages {
		for k, e := range b.pages { // drop about half of them, arbitrarily
			if e.deep {
				b.drop(k, e)
				if b.deep < maxDeepPages/2 {
					break
				}
			}
		}
	}
	if len(b.pages) >= maxBoardCache || b.bytes+size > maxBoardCacheBytes {
		for k, e := range b.pages { // drop about half, arbitrarily
			b.drop(k, e)
			if len(b.pages) < maxBoardCache/2 && b.bytes+size <= maxBoardCacheBytes/2 {
				break
			}
		}
	}
	b.pages[key] = &boardEntry{version: ver, hour: hour, page: p, size: size, deep: deep}
	b.bytes += size
	if deep {
		b.deep++
	}
	b.mu.Unlock()
	return p, nil
}

func (s *Site) registerBoard(e *echo.Echo) {
	if s.opts.Forum == nil {
		return
	}
	s.board = newBoardCache()
	get := []string{http.MethodGet, http.MethodHead}
	limit := middleware.BodyLimit(maxFormBody)
	for _, lang := range Languages {
		g := e.Group("/" + lang)
		g.Match(get, "/board", s.boardIndex)
		g.Match(get, "/board/:slug", s.sectionView)
		g.Match(get, "/t/:id", s.threadView)
		g.Match(get, "/ask", s.askForm)
		g.POST("/ask", s.askPost, limit)
		g.Match(get, "/receipt", s.receiptView)
		g.POST("/receipt", s.receiptConfirm, limit)
		g.Match(get, "/mine", s.mineView)
		g.POST("/mine", s.mineOpen, limit)
		g.POST("/mine/leave", s.mineLeave, limit)
		g.Match(get, "/t/:id/reply", s.replyForm)
		g.POST("/t/:id/reply", s.replyPost, limit)
		g.Match(get, "/t/:id/report/:n", s.reportForm)
		g.POST("/t/:id/report/:n", s.reportPost, limit)
		g.Match(get, "/reported", s.reportedView)
		g.GET("/captcha/:file", s.captchaAudio)
	}
}

// ---- read pages -------------------------------------------------------------

type boardIndexData struct {
	layout
	Sections []sectionItem
}

type sectionItem struct {
	URL, Title, Description string
	Threads                 int
}

func (s *Site) boardIndex(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	p, err := s.cachedPage(lang+"/board", 0, func() (*cached, error) {
		secs, err := s.opts.Forum.Sections(c.Request().Context())
		if err != nil {
			return nil, err
		}
		d := boardIndexData{layout: s.boardFrame(lang, "/board", s.cat.T(lang, "board.title"))}
		for _, sec := range secs {
			d.Sections = append(d.Sections, sectionItem{URL: "/" + lang + "/board/" + sec.Slug, Title: sec.Title.In(lang),
				Description: sec.Description.In(lang), Threads: sec.Threads})
		}
		return s.render(lang, "board", http.StatusOK, d)
	})
	if err != nil {
		return err
	}
	return writeCached(c, p)
}

// boardFrame is the layout of a board page at path (without the language).
func (s *Site) boardFrame(lang, path, title string) layout {
	l := s.frame(lang, "board", title, "")
	l.OtherURL = "/" + otherLang(lang) + path
	return l
}

type threadItem struct {
	URL, Title, Active string
	Replies            int
	Pinned, Locked     bool
	Answered, Awaiting bool
}

type sectionData struct {
	layout
	Slug        string
	Description string
	Threads     []threadItem
	Paging      *sectionNav // nil when the section has one page
}

// sectionNav links a section page to its neighbours: Newer (the previous
// page, the section's plain address when that is the first page), Older
// (the next page) and, deeper than page 2, First.
type sectionNav struct {
	First, Newer, Older string
}

type pager struct {
	Page, Pages int
	Prev, Next  string
}

func makePager(base string, page, pages int) pager {
	p := pager{Page: page, Pages: pages}
	if page > 1 {
		p.Prev = base
		if page > 2 {
			p.Prev += "?page=" + strconv.Itoa(page-1)
		}
	}
	if page < pages {
		p.Next = base + "?page=" + strconv.Itoa(page+1)
	}
	return p
}

// pageParam reads ?page=N; anything else is page 1, a bad value is 404.
func pageParam(c echo.Context) (int, error) {
	v := c.QueryParam("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, echo.ErrNotFound
	}
	return n, nil
}

// Section pages are addressed by cursor: /ru/board/hiv is the first page,
// ?older=C the page after the thread whose position C seals, ?newer=C the
// page before it (see forum.SectionPageAt). Each is a seek in the store, so
// every page costs the same. The numbered addresses of old (?page=N) are
// redirected: page 1 to the plain address, pages up to maxNumberedPage to
// the cursor that shows that page now, deeper ones to the first page.
const maxNumberedPage = 50

// errFirstPage is a ?newer= page that turned out to be the first.
var errFirstPage = errors.New("site: the first page")

func (s *Site) sectionView(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	slug := c.Param("slug")
	base := "/" + lang + "/board/" + slug
	q := c.QueryParams()
	at := forum.PageAt{Older: q.Get("older"), Newer: q.Get("newer")}
	if v := q.Get("page"); v != "" {
		if at != (forum.PageAt{}) {
			return echo.ErrNotFound
		}
		return s.numberedSection(c, base, slug, v)
	}
	key, deep := lang+"/board/"+slug, true
	switch {
	case at.Older != "" && at.Newer != "":
		return echo.ErrNotFound
	case at.Older != "":
		key += "?older=" + at.Older
	case at.Newer != "":
		key += "?newer=" + at.Newer
	default:
		deep = false
	}
	p, err := s.cachePage(key, 0, deep, func() (*cached, error) {
		sp, err := s.opts.Forum.SectionPageAt(c.Request().Context(), slug, at)
		if err != nil {
			return nil, err
		}
		if at.Newer != "" && sp.Top {
			return nil, errFirstPage
		}
		d := sectionData{layout: s.boardFrame(lang, "/board/"+slug, sp.Section.Title.In(lang)), Slug: slug,
			Description: sp.Section.Description.In(lang)}
		if i := strings.IndexByte(key, '?'); i >= 0 {
			d.OtherURL += key[i:]
		}
		if sp.HasNewer || sp.Older != "" {
			d.Paging = &sectionNav{}
			if sp.HasNewer {
				d.Paging.Newer = base
				if sp.Newer != "" {
					d.Paging.Newer += "?newer=" + sp.Newer
					d.Paging.First = base
				}
			}
			if sp.Older != "" {
				d.Paging.Older = base + "?older=" + sp.Older
			}
		}
		now := forum.HourOf(s.opts.Now())
		for _, t := range sp.Threads {
			d.Threads = append(d.Threads, threadItem{URL: "/" + lang + "/t/" + strconv.FormatUint(uint64(t.ID), 10),
				Title: t.Title, Active: s.ago(lang, now, t.LastActive), Replies: t.Replies,
				Pinned: t.Pinned, Locked: t.Locked, Answered: t.Answered, Awaiting: t.Awaiting})
		}
		return s.render(lang, "section", http.StatusOK, d)
	})
	if errors.Is(err, errFirstPage) {
		return c.Redirect(http.StatusFound, base)
	}
	if err != nil {
		return boardErr(err)
	}
	return writeCached(c, p)
}

// numberedSection redirects an old numbered section address (?page=N).
func (s *Site) numberedSection(c echo.Context, base, slug, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return echo.ErrNotFound
	}
	if n == 1 {
		return c.Redirect(http.StatusMovedPermanently, base)
	}
	if n > maxNumberedPage {
		return c.Redirect(http.StatusFound, base)
	}
	cur, err := s.opts.Forum.SectionCursor(c.Request().Context(), slug, n)
	if err != nil {
		return boardErr(err)
	}
	return c.Redirect(http.StatusFound, base+"?older="+cur)
}

type postView struct {
	N                int
	Anchor           string
	Author           string
	IsStaff, IsAsker bool
	When             string
	HTML             template.HTML
	Hidden, Deleted  bool
	ReportURL        string
}

type threadData struct {
	layout
	SectionURL, SectionTitle string
	Private, Locked, Pinned  bool
	Answered, Awaiting       bool
	Posts                    []postView
	Pager                    pager
	ReplyURL                 string
}

func threadID(c echo.Context) (forum.ThreadID, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, echo.ErrNotFound
	}
	return forum.ThreadID(id), nil
}

func (s *Site) threadView(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := threadID(c)
	if err != nil {
		return err
	}
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	key := lang + "/t/" + strconv.FormatUint(uint64(id), 10) + "?" + strconv.Itoa(page)
	p, err := s.cachedPage(key, id, func() (*cached, error) {
		tp, err := s.opts.Forum.ThreadPage(c.Request().Context(), id, page, forum.Viewer{})
		if err != nil {
			return nil, err
		}
		return s.render(lang, "thread", http.StatusOK, s.threadData(lang, tp))
	})
	if err != nil {
		return boardErr(err)
	}
	return writeCached(c, p)
}

func (s *Site) threadData(lang string, tp *forum.ThreadPage) threadData {
	idStr := strconv.FormatUint(uint64(tp.Thread.ID), 10)
	d := threadData{layout: s.boardFrame(lang, "/t/"+idStr, tp.Thread.Title),
		SectionURL: "/" + lang + "/board/" + tp.Section.Slug, SectionTitle: tp.Section.Title.In(lang),
		Private: tp.Thread.Private, Locked: tp.Thread.Locked, Pinned: tp.Thread.Pinned, Answered: tp.Thread.Answered, Awaiting: tp.Thread.Awaiting}
	d.Pager = makePager("/"+lang+"/t/"+idStr, tp.Page, tp.Pages)
	if tp.Page > 1 {
		d.OtherURL += "?page=" + strconv.Itoa(tp.Page)
	}
	if !tp.Thread.Locked {
		d.ReplyURL = "/" + lang + "/t/" + idStr + "/reply"
	}
	d.Posts = s.postViews(lang, tp.Posts, !tp.Thread.Private)
	return d
}

func (s *Site) postViews(lang string, posts []forum.Post, reportable bool) []postView {
	now := forum.HourOf(s.opts.Now())
	out := make([]postView, 0, len(posts))
	for _, p := range posts {
		v := postView{N: p.N, Anchor: "p" + strconv.Itoa(p.N), When: s.ago(lang, now, p.Hour), HTML: p.HTML,
			Hidden: p.Hidden, Deleted: p.Deleted}
		switch p.Author.Kind {
		case forum.Staff:
			v.Author, v.IsStaff = p.Author.Name, true
		case forum.AskerAuthor:
			v.Author, v.IsAsker = s.cat.T(lang, "board.author.asker"), true
		default:
			v.Author = s.cat.T(lang, "board.author.anonymous")
		}
		if reportable && !p.Deleted && !p.Hidden {
			v.ReportURL = "/" + lang + "/t/" + strconv.FormatUint(uint64(p.Thread), 10) + "/report/" + strconv.Itoa(p.N)
		}
		out = append(out, v)
	}
	return out
}

// ago shows an hour relative to now: "this hour", "3 hours ago",
// "yesterday", "4 days ago", then a date.
func (s *Site) ago(lang string, now, h forum.Hour) string {
	d := int(now - h)
	switch {
	case d <= 0:
		return s.cat.T(lang, "time.this_hour")
	case d < 24:
		return s.cat.N(lang, "time.hours_ago", d)
	case d < 48:
		return s.cat.T(lang, "time.yesterday")
	case d < 24*30:
		return s.cat.N(lang, "time.days_ago", d/24)
	}
	t := h.Time().In(time.FixedZone("MSK", 3*3600))
	if lang == "ru" {
		return t.Format("02.01.2006")
	}
	return t.Format("2 Jan 2006")
}

// boardErr maps the forum's errors to pages: not found is 404, busy is
// 503-as-500, everything else 500 (never with its text).
func boardErr(err error) error {
	switch forum.ErrorCode(err) {
	case forum.ENOTFOUND:
		return echo.ErrNotFound
	case forum.EFORBIDDEN:
		return echo.ErrNotFound
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he
	}
	return echo.NewHTTPError(http.StatusInternalServerError).SetInternal(err)
}

// ---- forms ------------------------------------------------------------------

// formData is what every form page carries.
type formData struct {
	layout
	Action  string
	CSRF    string
	Captcha *captchaView
	Errors  map[string]string // field → message
	Values  map[string]string
}

func (s *Site) newForm(c echo.Context, lang, path, title string) formData {
	sess := s.session(c)
	f := formData{layout: s.boardFrame(lang, path, title), Action: "/" + lang + path, CSRF: s.forms.csrfToken(sess),
		Errors: map[string]string{}, Values: map[string]string{}}
	if s.needCaptcha(sess) {
		f.Captcha = s.newCaptcha(sess, lang)
	}
	return f
}

// renderForm sends a form page (per request, never cached).
func (s *Site) renderForm(c echo.Context, kind string, status int, data any) error {
	lang := langOf(c.Request().URL.Path)
	p, err := s.render(lang, kind, status, data)
	if err != nil {
		return err
	}
	return writeCached(c, p)
}

// checkPost runs the checks every writing form shares: CSRF, the captcha
// (or the session's budget), the per-circuit limit. It returns the session,
// and false with the form's errors filled when the post must not go on.
func (s *Site) checkPost(c echo.Context, lang string, f *formData) (string, bool, error) {
	sess, ok := s.checkCSRF(c)
	if !ok {
		f.Errors["form"] = s.cat.T(lang, "form.err.expired")
		return sess, false, nil
	}
	if !s.allowPost(c) {
		c.Response().Header().Set("Retry-After", "60")
		return sess, false, echo.NewHTTPError(http.StatusTooManyRequests)
	}
	if s.needCaptcha(sess) {
		if !s.solveCaptcha(sess, c.FormValue("captcha_id"), c.FormValue("captcha")) {
			f.Errors["captcha"] = s.cat.T(lang, "form.err.captcha")
			return sess, false, nil
		}
	}
	if !s.spend(sess) {
		f.Errors["captcha"] = s.cat.T(lang, "form.err.captcha")
		return sess, false, nil
	}
	return sess, true, nil
}

// refill prepares a refused form to be shown again: a fresh token and
// captcha, and the visitor's text kept.
func (s *Site) refill(c echo.Context, lang string, f *formData, fields ...string) {
	sess := s.session(c)
	f.CSRF = s.forms.csrfToken(sess)
	f.Captcha = nil
	if s.needCaptcha(sess) {
		f.Captcha = s.newCaptcha(sess, lang)
	}
	for _, k := range fields {
		f.Values[k] = c.FormValue(k)
	}
}

// fieldErrors turns the forum's errors into messages next to the fields.
func (s *Site) fieldErrors(lang string, err error, f *formData) bool {
	fe := forum.FieldErrors(err)
	if len(fe) == 0 {
		return false
	}
	for field, e := range fe {
		if field == "" {
			field = "form"
		}
		f.Errors[field] = s.cat.T(lang, e.Key)
	}
	return true
}

type askData struct {
	formData
	Sections []sectionOption
	Private  bool
}

type sectionOption struct {
	Slug, Title string
	Selected    bool
}

func (s *Site) askData(c echo.Context, lang string, f formData, selected string) (askData, error) {
	secs, err := s.opts.Forum.Sections(c.Request().Context())
	if err != nil {
		return askData{}, err
	}
	d := askData{formData: f}
	for _, sec := range secs {
		d.Sections = append(d.Sections, sectionOption{Slug: sec.Slug, Title: sec.Title.In(lang), Selected: sec.Slug == selected})
	}
	return d, nil
}

func (s *Site) askForm(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	f := s.newForm(c, lang, "/ask", s.cat.T(lang, "ask.title"))
	d, err := s.askData(c, lang, f, c.QueryParam("section"))
	if err != nil {
		return boardErr(err)
	}
	return s.renderForm(c, "ask", http.StatusOK, d)
}

func (s *Site) askPost(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	f := formData{layout: s.boardFrame(lang, "/ask", s.cat.T(lang, "ask.title")), Action: "/" + lang + "/ask",
		Errors: map[string]string{}, Values: map[string]string{}}
	fail := func(status int) error {
		s.refill(c, lang, &f, "title", "body")
		d, err := s.askData(c, lang, f, c.FormValue("section"))
		if err != nil {
			return boardErr(err)
		}
		d.Private = c.FormValue("visibility") == "private"
		return s.renderForm(c, "ask", status, d)
	}
	sess, ok, err := s.checkPost(c, lang, &f)
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusUnprocessableEntity)
	}
	in := forum.AskInput{Section: c.FormValue("section"), Title: c.FormValue("title"), Body: c.FormValue("body"),
		Private: c.FormValue("visibility") == "private", Asker: s.askerOf(sess)}
	res, err := s.opts.Forum.Ask(c.Request().Context(), in)
	if err != nil {
		if isDiskFull(err) {
			// Nothing was saved: the form again, with the text.
			f.Errors["form"] = s.cat.T(lang, "error.503.form")
			return fail(http.StatusServiceUnavailable)
		}
		if s.fieldErrors(lang, err, &f) {
			return fail(http.StatusUnprocessableEntity)
		}
		return boardErr(err)
	}
	s.board.changed(res.Thread.ID)
	s.rememberAsker(sess, res.Asker)
	if !res.Receipt.IsZero() {
		s.board.mu.Lock()
		s.board.receipts[sess] = &pendingReceipt{receipt: res.Receipt.Format(), thread: res.Thread.ID, expires: time.Now().Add(30 * time.Minute)}
		s.board.mu.Unlock()
		return c.Redirect(http.StatusSeeOther, "/"+lang+"/receipt")
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/mine")
}

func (s *Site) askerOf(sess string) *forum.Asker {
	if sess == "" || s.board == nil {
		return nil
	}
	s.board.mu.Lock()
	defer s.board.mu.Unlock()
	a := s.board.askers[sess]
	if a == nil || time.Since(a.seen) > sessionIdle {
		delete(s.board.askers, sess)
		return nil
	}
	a.seen = time.Now()
	return a.asker
}

func (s *Site) rememberAsker(sess string, a *forum.Asker) {
	if a == nil {
		return
	}
	s.board.mu.Lock()
	defer s.board.mu.Unlock()
	now := time.Now()
	if len(s.board.askers) >= maxFormEntries {
		for k, v := range s.board.askers {
			if now.Sub(v.seen) > sessionIdle || len(s.board.askers) >= maxFormEntries {
				delete(s.board.askers, k)
			}
		}
	}
	s.board.askers[sess] = &askerSession{asker: a, seen: now}
}

type receiptData struct {
	formData
	Receipt   string
	ThreadURL string
	Confirmed bool
}

// receiptView shows the new receipt, once, and asks the asker to type it
// back (SecureDrop #1437: people who never typed it lose it).
func (s *Site) receiptView(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	sess := s.session(c)
	s.board.mu.Lock()
	pr := s.board.receipts[sess]
	if pr != nil && time.Now().After(pr.expires) {
		delete(s.board.receipts, sess)
		pr = nil
	}
	s.board.mu.Unlock()
	if pr == nil {
		return c.Redirect(http.StatusSeeOther, "/"+lang+"/mine")
	}
	d := receiptData{formData: formData{layout: s.boardFrame(lang, "/receipt", s.cat.T(lang, "receipt.title")),
		Action: "/" + lang + "/receipt", CSRF: s.forms.csrfToken(sess), Errors: map[string]string{}, Values: map[string]string{}},
		Receipt: pr.receipt, ThreadURL: "/" + lang + "/mine"}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.renderForm(c, "receipt", http.StatusOK, d)
}

func (s *Site) receiptConfirm(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	sess, ok := s.checkCSRF(c)
	s.board.mu.Lock()
	pr := s.board.receipts[sess]
	s.board.mu.Unlock()
	if pr == nil {
		return c.Redirect(http.StatusSeeOther, "/"+lang+"/mine")
	}
	d := receiptData{formData: formData{layout: s.boardFrame(lang, "/receipt", s.cat.T(lang, "receipt.title")),
		Action: "/" + lang + "/receipt", CSRF: s.forms.csrfToken(s.session(c)), Errors: map[string]string{}, Values: map[string]string{}},
		Receipt: pr.receipt, ThreadURL: "/" + lang + "/mine"}
	typed, err := forum.ParseReceipt(c.FormValue("receipt"))
	if !ok || err != nil || typed.Format() != pr.receipt {
		d.Errors["receipt"] = s.cat.T(lang, "receipt.err.mismatch")
		d.Values["receipt"] = c.FormValue("receipt")
		return s.renderForm(c, "receipt", http.StatusUnprocessableEntity, d)
	}
	s.board.mu.Lock()
	delete(s.board.receipts, sess) // typed back: forget it
	s.board.mu.Unlock()
	d.Confirmed, d.Receipt = true, ""
	return s.renderForm(c, "receipt", http.StatusOK, d)
}

type mineData struct {
	formData
	Open    bool
	Threads []mineThread
}

type mineThread struct {
	Title, SectionTitle string
	Private, Locked     bool
	Answered, Awaiting  bool
	URL                 string
	Posts               []postView
	ReplyURL            string
}

func (s *Site) mineView(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	sess := s.session(c)
	d := mineData{formData: formData{layout: s.boardFrame(lang, "/mine", s.cat.T(lang, "mine.title")),
		Action: "/" + lang + "/mine", CSRF: s.forms.csrfToken(sess), Errors: map[string]string{}, Values: map[string]string{}}}
	a := s.askerOf(sess)
	if a == nil {
		return s.renderForm(c, "mine", http.StatusOK, d)
	}
	return s.renderMine(c, lang, a, d)
}

func (s *Site) renderMine(c echo.Context, lang string, a *forum.Asker, d mineData) error {
	tps, err := s.opts.Forum.MyQuestions(c.Request().Context(), a)
	if err != nil {
		return boardErr(err)
	}
	d.Open = true
	for i := range tps {
		tp := &tps[i]
		idStr := strconv.FormatUint(uint64(tp.Thread.ID), 10)
		mt := mineThread{Title: tp.Thread.Title, SectionTitle: tp.Section.Title.In(lang), Private: tp.Thread.Private,
			Locked: tp.Thread.Locked, Answered: tp.Thread.Answered, Awaiting: tp.Thread.Awaiting, Posts: s.postViews(lang, tp.Posts, false)}
		if !tp.Thread.Private {
			mt.URL = "/" + lang + "/t/" + idStr
		}
		if tp.CanReply {
			mt.ReplyURL = "/" + lang + "/t/" + idStr + "/reply"
		}
		d.Threads = append(d.Threads, mt)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.renderForm(c, "mine", http.StatusOK, d)
}

func (s *Site) mineOpen(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	d := mineData{formData: formData{layout: s.boardFrame(lang, "/mine", s.cat.T(lang, "mine.title")),
		Action: "/" + lang + "/mine", Errors: map[string]string{}, Values: map[string]string{}}}
	sess, ok := s.checkCSRF(c)
	d.CSRF = s.forms.csrfToken(s.session(c))
	if !ok {
		d.Errors["form"] = s.cat.T(lang, "form.err.expired")
		return s.renderForm(c, "mine", http.StatusUnprocessableEntity, d)
	}
	if !s.allowPost(c) {
		return echo.NewHTTPError(http.StatusTooManyRequests)
	}
	a, err := s.opts.Forum.OpenReceipt(c.Request().Context(), c.FormValue("receipt"))
	if err != nil {
		if forum.ErrorCode(err) == forum.EINVALID || forum.ErrorCode(err) == forum.ENOTFOUND {
			d.Errors["receipt"] = s.cat.T(lang, forum.ErrorKey(err))
			return s.renderForm(c, "mine", http.StatusUnprocessableEntity, d)
		}
		return boardErr(err)
	}
	s.rememberAsker(sess, a)
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/mine")
}

func (s *Site) mineLeave(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	if sess, ok := s.checkCSRF(c); ok {
		s.board.mu.Lock()
		delete(s.board.askers, sess)
		delete(s.board.receipts, sess)
		s.board.mu.Unlock()
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/mine")
}

type replyData struct {
	formData
	ThreadTitle, ThreadURL string
	AsAsker                bool
}

func (s *Site) replyPage(c echo.Context, lang string, id forum.ThreadID, f formData) (replyData, error) {
	sess := s.session(c)
	tp, err := s.opts.Forum.ThreadPage(c.Request().Context(), id, 1, forum.Viewer{Asker: s.askerOf(sess)})
	if err != nil {
		return replyData{}, boardErr(err)
	}
	if !tp.CanReply {
		return replyData{}, echo.ErrNotFound
	}
	d := replyData{formData: f, ThreadTitle: tp.Thread.Title, AsAsker: tp.ViewerIsAsker}
	if tp.Thread.Private {
		d.ThreadURL = "/" + lang + "/mine"
	} else {
		d.ThreadURL = "/" + lang + "/t/" + strconv.FormatUint(uint64(id), 10)
	}
	return d, nil
}

func (s *Site) replyForm(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := threadID(c)
	if err != nil {
		return err
	}
	path := "/t/" + strconv.FormatUint(uint64(id), 10) + "/reply"
	d, err := s.replyPage(c, lang, id, s.newForm(c, lang, path, s.cat.T(lang, "reply.title")))
	if err != nil {
		return err
	}
	return s.renderForm(c, "reply", http.StatusOK, d)
}

func (s *Site) replyPost(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := threadID(c)
	if err != nil {
		return err
	}
	path := "/t/" + strconv.FormatUint(uint64(id), 10) + "/reply"
	f := formData{layout: s.boardFrame(lang, path, s.cat.T(lang, "reply.title")), Action: "/" + lang + path,
		Errors: map[string]string{}, Values: map[string]string{}}
	fail := func(status int) error {
		s.refill(c, lang, &f, "body")
		d, err := s.replyPage(c, lang, id, f)
		if err != nil {
			return err
		}
		return s.renderForm(c, "reply", status, d)
	}
	sess, ok, err := s.checkPost(c, lang, &f)
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusUnprocessableEntity)
	}
	post, err := s.opts.Forum.Reply(c.Request().Context(), forum.ReplyInput{Thread: id, Body: c.FormValue("body"), Asker: s.askerOf(sess)})
	if err != nil {
		if isDiskFull(err) {
			f.Errors["form"] = s.cat.T(lang, "error.503.form")
			return fail(http.StatusServiceUnavailable)
		}
		if forum.ErrorCode(err) == forum.EFORBIDDEN {
			f.Errors["form"] = s.cat.T(lang, forum.ErrorKey(err))
			return fail(http.StatusUnprocessableEntity)
		}
		if s.fieldErrors(lang, err, &f) {
			return fail(http.StatusUnprocessableEntity)
		}
		return boardErr(err)
	}
	s.board.changed(id)
	// Only its asker may reply to a private thread, so for anyone else the
	// thread is public: no need to read it (and a page of posts) again.
	if a := s.askerOf(sess); a != nil {
		tp, err := s.opts.Forum.ThreadPage(c.Request().Context(), id, 1, forum.Viewer{Asker: a})
		if err != nil || tp.Thread.Private {
			return c.Redirect(http.StatusSeeOther, "/"+lang+"/mine")
		}
	}
	target := "/" + lang + "/t/" + strconv.FormatUint(uint64(id), 10)
	if pg := (post.N-1)/forum.ThreadPageSize + 1; pg > 1 {
		target += "?page=" + strconv.Itoa(pg)
	}
	return c.Redirect(http.StatusSeeOther, target+"#p"+strconv.Itoa(post.N))
}

type reportData struct {
	formData
	ThreadTitle, ThreadURL string
	Excerpt                string
	Reasons                []reasonOption
}

type reasonOption struct {
	Value, Label string
	Checked      bool
}

func (s *Site) reportPage(c echo.Context, lang string, f formData) (reportData, forum.PostRef, error) {
	id, err := threadID(c)
	if err != nil {
		return reportData{}, forum.PostRef{}, err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return reportData{}, forum.PostRef{}, echo.ErrNotFound
	}
	page := (n-1)/forum.ThreadPageSize + 1
	tp, err := s.opts.Forum.ThreadPage(c.Request().Context(), id, page, forum.Viewer{})
	if err != nil {
		return reportData{}, forum.PostRef{}, boardErr(err)
	}
	var post *forum.Post
	for i := range tp.Posts {
		if tp.Posts[i].N == n {
			post = &tp.Posts[i]
		}
	}
	if post == nil || post.Deleted || post.Hidden {
		return reportData{}, forum.PostRef{}, echo.ErrNotFound
	}
	d := reportData{formData: f, ThreadTitle: tp.Thread.Title,
		ThreadURL: "/" + lang + "/t/" + strconv.FormatUint(uint64(id), 10) + "#p" + strconv.Itoa(n), Excerpt: excerpt(post.Source, 300)}
	chosen := f.Values["reason"]
	for _, r := range forum.ReportReasons {
		d.Reasons = append(d.Reasons, reasonOption{Value: string(r), Label: s.cat.T(lang, "report.reason."+string(r)), Checked: string(r) == chosen})
	}
	return d, forum.PostRef{Thread: id, N: n}, nil
}

func excerpt(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "…"
}

func (s *Site) reportForm(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	path := strings.TrimPrefix(c.Request().URL.Path, "/"+lang)
	d, _, err := s.reportPage(c, lang, s.newForm(c, lang, path, s.cat.T(lang, "report.title")))
	if err != nil {
		return err
	}
	return s.renderForm(c, "report", http.StatusOK, d)
}

func (s *Site) reportPost(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	path := strings.TrimPrefix(c.Request().URL.Path, "/"+lang)
	f := formData{layout: s.boardFrame(lang, path, s.cat.T(lang, "report.title")), Action: "/" + lang + path,
		Errors: map[string]string{}, Values: map[string]string{}}
	fail := func() error {
		s.refill(c, lang, &f, "reason", "note")
		d, _, err := s.reportPage(c, lang, f)
		if err != nil {
			return err
		}
		return s.renderForm(c, "report", http.StatusUnprocessableEntity, d)
	}
	_, ok, err := s.checkPost(c, lang, &f)
	if err != nil {
		return err
	}
	if !ok {
		return fail()
	}
	_, ref, err := s.reportPage(c, lang, f)
	if err != nil {
		return err
	}
	err = s.opts.Forum.Report(c.Request().Context(), forum.ReportInput{Post: ref, Reason: forum.ReportReason(c.FormValue("reason")),
		Note: c.FormValue("note")}, forum.Viewer{})
	if err != nil {
		if s.fieldErrors(lang, err, &f) {
			return fail()
		}
		return boardErr(err)
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/reported?t="+strconv.FormatUint(uint64(ref.Thread), 10))
}

type reportedData struct {
	layout
	ThreadURL string
}

// reportedView thanks the visitor for a report.
func (s *Site) reportedView(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	d := reportedData{layout: s.boardFrame(lang, "/reported", s.cat.T(lang, "report.thanks.title")), ThreadURL: "/" + lang + "/board"}
	if id, err := strconv.ParseUint(c.QueryParam("t"), 10, 64); err == nil && id > 0 {
		d.ThreadURL = "/" + lang + "/t/" + strconv.FormatUint(id, 10)
		d.OtherURL += "?t=" + strconv.FormatUint(id, 10)
	}
	return s.renderForm(c, "reported", http.StatusOK, d)
}
