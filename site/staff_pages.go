package site

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"tropa/forum"
	"tropa/fund"
	"tropa/staff"
)

// The fund's tools in the staff interface: editing the info pages (this
// file), the services data (staff_fund.go), news (news.go), bookings
// (booking.go) and the outreach metrics (metrics.go).
//
// Who may do what. The roles are the staff package's; this is where they
// meet the tools, in one place:
//
//   - Outreach workers (ActionAnswer) edit the info pages, the mobile
//     units' schedule and the news, and see and close bookings. They are
//     on the bus and in the channel: "testing today" or a page's wrong
//     phrase is fixed by whoever sees it, at once, and every page edit is a
//     revision with their name.
//   - Admins (ActionSettings) also restore old revisions of a page and edit
//     the doctors and the contacts. Restoring puts back a whole old text at
//     once, medical facts and "reviewed" date included, over whatever was
//     corrected since: a decision for whoever answers for the content, not
//     a fix in passing (an outreach worker can still correct any text by
//     hand, as one more revision). A doctor or a contact sends visitors to
//     a person or a phone number: a wrong or planted entry is the most
//     direct way to harm a visitor, so it takes an admin, as
//     staff.ActionSettings ("the services data") says.
//
// The outreach metrics are aggregate numbers for reports: every staff
// member may read them.
func canEdit(a *staff.Account) bool      { return a.Can(staff.ActionAnswer) }
func canRestore(a *staff.Account) bool   { return a.Can(staff.ActionSettings) }
func canDirectory(a *staff.Account) bool { return a.Can(staff.ActionSettings) }

func init() {
	kinds = append(kinds, "staff_pages", "staff_page")
}

// registerStaffTools adds the tools' staff routes to a language's staff
// group (registerStaff calls it; g already requires a staff session).
func (s *Site) registerStaffTools(g *echo.Group) {
	get := []string{http.MethodGet, http.MethodHead}
	limit := middleware.BodyLimit(maxPageBody)
	if s.opts.Pages != nil {
		g.Match(get, "/pages", s.staffPages)
		g.Match(get, "/pages/:plang/:slug", s.staffPageForm)
		g.POST("/pages/:plang/:slug", s.staffPageSave, limit)
		g.POST("/pages/:plang/:slug/restore", s.staffPageRestore, limit)
	}
	s.registerStaffFund(g)
	s.registerStaffNews(g)
	s.registerStaffBookings(g)
	s.registerStaffMetrics(g)
}

// staffToolsNav is the tools' part of the staff navigation.
func (s *Site) staffToolsNav(lang, path string) []navItem {
	var out []navItem
	add := func(p, key string, on bool, also ...string) {
		if on {
			out = append(out, navItem{URL: "/" + lang + "/staff" + p, Label: s.cat.T(lang, key),
				Current: path == p || slices.ContainsFunc(also, func(x string) bool { return strings.HasPrefix(path, x) })})
		}
	}
	add("/pages", "staff.nav.pages", s.opts.Pages != nil, "/pages/")
	add("/schedule", "staff.nav.services", s.opts.Fund != nil, "/doctors", "/contacts")
	add("/news", "staff.nav.news", s.opts.News != nil)
	add("/bookings", "staff.nav.bookings", s.opts.Bookings != nil)
	add("/metrics", "staff.nav.metrics", s.opts.Metrics != nil)
	return out
}

// maxPageBody bounds a page form: a page's Markdown may be long.
const maxPageBody = "256K"

// ---- the live info pages ---------------------------------------------------

// livePages is the info pages as visitors see them: the shipped ones with
// staff's newest revisions over them. A save swaps the whole map and
// renders the pages again; requests only ever load the pointer.
type livePages struct {
	mu      sync.Mutex // one reload and render at a time
	cur     atomic.Pointer[map[string]map[string]*infoPage]
	version atomic.Uint64 // changes with every reload (the services pages key on it)
}

// page returns an info page as visitors see it now (nil: no such page).
func (s *Site) page(lang, slug string) *infoPage {
	if m := s.live.cur.Load(); m != nil {
		return (*m)[lang][slug]
	}
	return s.content[lang][slug]
}

// loadPageEdits puts staff's newest revisions over the shipped pages. A
// revision of a page tropa no longer ships is ignored.
func (s *Site) loadPageEdits(ctx context.Context) error {
	m := map[string]map[string]*infoPage{}
	for lang, pages := range s.content {
		m[lang] = maps.Clone(pages)
	}
	if s.opts.Pages != nil {
		revs, err := s.opts.Pages.Current(ctx)
		if err != nil {
			return err
		}
		for _, r := range revs {
			if s.content[r.Lang][r.Slug] != nil {
				m[r.Lang][r.Slug] = revisionPage(r)
			}
		}
	}
	s.live.cur.Store(&m)
	s.live.version.Add(1)
	return nil
}

func revisionPage(r fund.PageRevision) *infoPage {
	return &infoPage{Slug: r.Slug, Lang: r.Lang, Title: r.Title, Nav: r.Nav, Description: r.Description,
		Reviewed: r.Reviewed, Body: renderMarkdown(r.Body)}
}

// renderMarkdown renders staff's Markdown (pages, news) as content.go
// renders the shipped pages: goldmark without raw HTML, whose links with
// javascript: or other dangerous schemes are dropped. Staff are trusted
// more than visitors, but a stolen staff session must not plant a script.
func renderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return ""
	}
	return template.HTML(buf.String())
}

// pagesChanged reloads the edits and renders the info pages again, every
// one: a page's title or navigation label shows on all of them. The board
// keeps its cached pages until they change or the hour turns.
func (s *Site) pagesChanged(ctx context.Context) error {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if err := s.loadPageEdits(ctx); err != nil {
		return err
	}
	if err := s.renderInfoPages(); err != nil {
		return err
	}
	s.Changed(0)
	return nil
}

// shippedRevision is a shipped page as the editor shows it, before any
// edit: its front matter and its Markdown.
func shippedRevision(lang, slug string) (fund.PageRevision, bool) {
	raw, err := contentFS.ReadFile(path.Join("content", lang, slug+".md"))
	if err != nil {
		return fund.PageRevision{}, false
	}
	p, err := parsePage(raw)
	if err != nil {
		return fund.PageRevision{}, false
	}
	src := strings.ReplaceAll(string(raw), "\r\n", "\n")
	_, body, _ := strings.Cut(strings.TrimPrefix(src, "---\n"), "\n---\n")
	return fund.PageRevision{Lang: lang, Slug: slug, Title: p.Title, Nav: p.Nav, Description: p.Description,
		Reviewed: p.Reviewed, Body: strings.Trim(body, "\n")}, true
}

// ---- staff: the list of pages -----------------------------------------------

type staffPagesData struct {
	staffLayout
	Pages []staffPageItem
}

type staffPageItem struct {
	Slug, PublicURL string
	Langs           []staffPageLang
}

type staffPageLang struct {
	Lang, Title, EditURL, Edited string
	Revision                     int
}

// editableSlugs lists the pages in the order of the navigation, then the
// rest by name.
func (s *Site) editableSlugs() []string {
	var out []string
	seen := map[string]bool{}
	for _, slug := range append([]string{"home"}, navSlugs...) {
		if s.content[Languages[0]][slug] != nil && !seen[slug] {
			out = append(out, slug)
			seen[slug] = true
		}
	}
	var rest []string
	for slug := range s.content[Languages[0]] {
		if !seen[slug] {
			rest = append(rest, slug)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

func (s *Site) staffPages(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	revs, err := s.opts.Pages.Current(c.Request().Context())
	if err != nil {
		return err
	}
	latest := map[string]fund.PageRevision{}
	for _, r := range revs {
		latest[r.Lang+"/"+r.Slug] = r
	}
	d := staffPagesData{staffLayout: s.staffFrame(c, "/pages", s.cat.T(lang, "staff.pages.title"))}
	now := forum.HourOf(s.opts.Now())
	for _, slug := range s.editableSlugs() {
		item := staffPageItem{Slug: slug, PublicURL: urlOf(lang, slug)}
		for _, pl := range Languages {
			p := s.page(pl, slug)
			if p == nil {
				continue
			}
			pv := staffPageLang{Lang: pl, Title: p.Title, EditURL: "/" + lang + "/staff/pages/" + pl + "/" + slug}
			if r, ok := latest[pl+"/"+slug]; ok {
				pv.Revision = r.N
				pv.Edited = r.Staff + ", " + s.ago(lang, now, forum.Hour(r.Hour))
			}
			item.Langs = append(item.Langs, pv)
		}
		d.Pages = append(d.Pages, item)
	}
	return s.renderForm(c, "staff_pages", http.StatusOK, d)
}

// ---- staff: editing one page --------------------------------------------------

type staffPageData struct {
	staffLayout
	PageLang, Slug, PublicURL, Action string
	Edit                              fund.PageRevision
	Preview                           template.HTML
	Viewing                           *fund.PageRevision // ?rev=N: an old revision, read-only
	Revisions                         []staffRevision
	CanRestore                        bool
}

type staffRevision struct {
	N, Restores int
	Staff, When string
	ViewURL     string
	Current     bool
}

// pageTarget reads :plang and :slug; an unknown page is 404.
func (s *Site) pageTarget(c echo.Context) (string, string, error) {
	pl, slug := c.Param("plang"), c.Param("slug")
	if s.content[pl][slug] == nil {
		return "", "", echo.ErrNotFound
	}
	return pl, slug, nil
}

func (s *Site) staffPageForm(c echo.Context) error {
	pl, slug, err := s.pageTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	edit, ok := shippedRevision(pl, slug)
	if !ok {
		return echo.ErrNotFound
	}
	if revs, err := s.opts.Pages.History(ctx, pl, slug); err != nil {
		return err
	} else if len(revs) > 0 {
		edit = revs[0]
	}
	var viewing *fund.PageRevision
	if n, err := strconv.Atoi(c.QueryParam("rev")); err == nil {
		if viewing, err = s.opts.Pages.Revision(ctx, pl, slug, n); err != nil {
			return echo.ErrNotFound
		}
	}
	return s.renderPageForm(c, http.StatusOK, pl, slug, edit, "", viewing, nil)
}

func (s *Site) renderPageForm(c echo.Context, status int, pl, slug string, edit fund.PageRevision, preview template.HTML,
	viewing *fund.PageRevision, errs map[string]string) error {
	lang := langOf(c.Request().URL.Path)
	p := "/pages/" + pl + "/" + slug
	title := s.cat.T(lang, "staff.page.title", map[string]any{"Page": s.page(pl, slug).Title, "Lang": pl})
	d := staffPageData{staffLayout: s.staffFrame(c, p, title), PageLang: pl, Slug: slug, PublicURL: urlOf(pl, slug),
		Action: "/" + lang + "/staff" + p, Edit: edit, Preview: preview, Viewing: viewing}
	if errs != nil {
		d.Errors = errs
	}
	d.CanRestore = canRestore(d.Me)
	revs, err := s.opts.Pages.History(c.Request().Context(), pl, slug)
	if err != nil {
		return err
	}
	now := forum.HourOf(s.opts.Now())
	for i, r := range revs {
		d.Revisions = append(d.Revisions, staffRevision{N: r.N, Restores: r.Restores, Staff: r.Staff,
			When: s.ago(lang, now, forum.Hour(r.Hour)), ViewURL: d.Action + "?rev=" + strconv.Itoa(r.N), Current: i == 0})
	}
	if viewing != nil {
		d.Preview = renderMarkdown(viewing.Body)
	}
	return s.renderForm(c, "staff_page", status, d)
}

// staffPageSave saves a page, or with action=preview shows it rendered
// without saving: the preview works without JavaScript because it is a
// round trip.
func (s *Site) staffPageSave(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	pl, slug, err := s.pageTarget(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	if !canEdit(me) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	r := fund.PageRevision{Lang: pl, Slug: slug, Title: c.FormValue("title"), Nav: c.FormValue("nav"),
		Description: c.FormValue("description"), Reviewed: c.FormValue("reviewed"), Body: c.FormValue("body")}
	if c.FormValue("action") == "preview" {
		r.Normalize()
		var errs map[string]string
		if err := r.Validate(); err != nil {
			errs = s.fundErrors(lang, err)
		}
		return s.renderPageForm(c, http.StatusOK, pl, slug, r, renderMarkdown(r.Body), nil, errs)
	}
	if err := s.opts.Pages.Save(c.Request().Context(), &r, me.Name); err != nil {
		if errs := s.fundErrors(lang, err); len(errs) > 0 && fund.ErrorCode(err) == fund.EINVALID {
			return s.renderPageForm(c, http.StatusUnprocessableEntity, pl, slug, r, "", nil, errs)
		}
		return err
	}
	if err := s.pagesChanged(context.WithoutCancel(c.Request().Context())); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/pages/"+pl+"/"+slug+"?done=1")
}

func (s *Site) staffPageRestore(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	pl, slug, err := s.pageTarget(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	if !canRestore(me) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	n, err := strconv.Atoi(c.FormValue("rev"))
	if err != nil {
		return echo.ErrNotFound
	}
	if _, err := s.opts.Pages.Restore(c.Request().Context(), pl, slug, n, me.Name); err != nil {
		if fund.ErrorCode(err) == fund.ENOTFOUND {
			return echo.ErrNotFound
		}
		return err
	}
	if err := s.pagesChanged(context.WithoutCancel(c.Request().Context())); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/pages/"+pl+"/"+slug+"?done=1")
}

// fundErrors turns the fund's field errors into messages next to the
// fields ("form" for the others).
func (s *Site) fundErrors(lang string, err error) map[string]string {
	errs := map[string]string{}
	for f, e := range fund.FieldErrors(err) {
		errs[f] = s.cat.T(lang, e.Key)
	}
	if len(errs) == 0 && err != nil {
		key := fund.KeyInternal
		if fe := (*fund.Error)(nil); errors.As(err, &fe) && fe.Key != "" {
			key = fe.Key
		}
		errs["form"] = s.cat.T(lang, key)
	}
	return errs
}
