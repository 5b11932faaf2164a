package site

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"tropa/forum"
	"tropa/staff"
)

// The staff interface. It is served only by StaffHandler: on the staff onion
// (v3 client authorization: only devices holding a staff key reach it) and
// on the loopback --staff-http address, never on the public onion. Every
// route but the login form needs a staff session; every POST a CSRF token
// bound to that session. Nothing here is cached.

const staffCookie = "tropa_staff"

// HealthView is tor's health as the staff health page shows it (the
// command wires it from the onion package, which the site does not import).
type HealthView struct {
	TorVersion   string
	Running      bool
	Bootstrap    int
	Summary      string
	Restarts     int
	ClosedToday  int
	PoWAvailable bool
	Services     []HealthService
	// Balance is set when the public onion is served by several tors
	// behind Onionbalance (tropa serve --tor-instances N).
	Balance *HealthBalance
}

// HealthBalance is the Onionbalance frontend and its instances.
type HealthBalance struct {
	Address        string // the frontend: the public address
	Running        bool
	Waiting        string // why onionbalance is not running (English, for the operator)
	Restarts       int
	LastUpload     time.Time // the last frontend descriptor an HSDir accepted
	LastAttempt    time.Time // onionbalance's last publication attempt
	UploadFailures int
	Instances      []HealthInstance
	// RemoteConnections counts connections that came from remote instances.
	RemoteConnections int64
}

// HealthInstance is one instance behind the frontend.
type HealthInstance struct {
	Name, Address string
	Remote        bool
	Running       bool // its tor (local instances)
	Restarts      int
	HasDescriptor bool
	LastUpload    time.Time
	Connections   int64
	// Frontend is what the published frontend descriptor holds for it:
	// listed, pending, stale, absent or unknown.
	Frontend string
}

// HealthService is one onion service on the health page.
type HealthService struct {
	Name, Address  string
	LastUpload     time.Time
	UploadFailures int
	IntroPoints    int
	HasDescriptor  bool
	PoW            bool
	Clients        int
	Withdrawn      bool
}

func init() {
	kinds = append(kinds, "staff_login", "staff_queue", "staff_thread", "staff_reports", "staff_saved",
		"staff_mirror", "staff_health", "staff_history", "staff_accounts")
}

// StaffHandler is the staff interface's http.Handler.
func (s *Site) StaffHandler() http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard)
	e.StdLogger = log.New(io.Discard, "", 0)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.headers)
	s.registerStaff(e)
	return e
}

func (s *Site) registerStaff(e *echo.Echo) {
	get := []string{http.MethodGet, http.MethodHead}
	e.Match(get, "/", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, "/"+Languages[0]+"/staff/")
	})
	if s.opts.Forum == nil || s.opts.Staff == nil {
		return
	}
	limit := middleware.BodyLimit(maxFormBody)
	for _, lang := range Languages {
		g := e.Group("/" + lang + "/staff")
		g.Match(get, "/login", s.staffLoginForm)
		g.POST("/login", s.staffLogin, limit)
		a := g.Group("", s.requireStaff)
		a.POST("/logout", s.staffLogout, limit)
		a.Match(get, "/", s.staffQueue)
		a.Match(get, "/t/:id", s.staffThread)
		a.POST("/t/:id/reply", s.staffReply, limit)
		a.POST("/t/:id/mod", s.staffThreadMod, limit)
		a.POST("/t/:id/p/:n/mod", s.staffPostMod, limit)
		a.Match(get, "/reports", s.staffReports)
		a.POST("/reports/:id/resolve", s.staffResolve, limit)
		a.Match(get, "/saved", s.staffSaved)
		a.POST("/saved", s.staffSavedPost, limit)
		a.Match(get, "/mirror", s.staffMirrorForm)
		a.POST("/mirror", s.staffMirror, limit)
		a.Match(get, "/health", s.staffHealth)
		a.Match(get, "/history", s.staffHistory)
		a.Match(get, "/accounts", s.staffAccounts)
		s.registerStaffTools(a)
	}
}

// ---- sessions ---------------------------------------------------------------

type staffCtxKey struct{}

func (s *Site) staffCSRF(token string) string {
	m := hmac.New(sha256.New, s.forms.csrfKey)
	m.Write([]byte("staff\x00" + token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// requireStaff lets only requests with a live staff session through; POSTs
// must also carry the session's CSRF token.
func (s *Site) requireStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lang := langOf(c.Request().URL.Path)
		c.Response().Header().Set("Cache-Control", "no-store")
		ck, err := c.Cookie(staffCookie)
		var acct *staff.Account
		if err == nil {
			acct, err = s.opts.Staff.Session(c.Request().Context(), ck.Value)
		}
		if err != nil || acct == nil {
			return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/login")
		}
		if c.Request().Method == http.MethodPost {
			want := s.staffCSRF(ck.Value)
			if subtle.ConstantTimeCompare([]byte(want), []byte(c.FormValue("csrf"))) != 1 {
				return echo.NewHTTPError(http.StatusForbidden)
			}
		}
		c.Set("staff", acct)
		c.Set("staffToken", ck.Value)
		return next(c)
	}
}

func staffOf(c echo.Context) *staff.Account {
	a, _ := c.Get("staff").(*staff.Account)
	return a
}

// staffFrame is the layout of a staff page, with the staff navigation.
type staffLayout struct {
	layout
	Me      *staff.Account
	CSRF    string
	Admin   bool
	Flash   string
	Errors  map[string]string
	Values  map[string]string
	BaseURL string
}

func (s *Site) staffFrame(c echo.Context, path, title string) staffLayout {
	lang := langOf(c.Request().URL.Path)
	l := s.frame(lang, "staff", title, "")
	l.OtherURL = "/" + otherLang(lang) + "/staff" + path
	l.Nav = []navItem{
		{URL: "/" + lang + "/staff/", Label: s.cat.T(lang, "staff.nav.queue"), Current: path == "/"},
		{URL: "/" + lang + "/staff/reports", Label: s.cat.T(lang, "staff.nav.reports"), Current: path == "/reports"},
		{URL: "/" + lang + "/staff/saved", Label: s.cat.T(lang, "staff.nav.saved"), Current: path == "/saved"},
		{URL: "/" + lang + "/staff/mirror", Label: s.cat.T(lang, "staff.nav.mirror"), Current: path == "/mirror"},
		{URL: "/" + lang + "/staff/health", Label: s.cat.T(lang, "staff.nav.health"), Current: path == "/health"},
	}
	l.Nav = append(l.Nav, s.staffToolsNav(lang, path)...)
	me := staffOf(c)
	sl := staffLayout{layout: l, Me: me, Admin: me.Can(staff.ActionManageStaff), BaseURL: "/" + lang + "/staff",
		Errors: map[string]string{}, Values: map[string]string{}}
	if sl.Admin {
		sl.Nav = append(sl.Nav, navItem{URL: "/" + lang + "/staff/accounts", Label: s.cat.T(lang, "staff.nav.accounts"), Current: path == "/accounts"})
	}
	if tok, ok := c.Get("staffToken").(string); ok {
		sl.CSRF = s.staffCSRF(tok)
	}
	switch c.QueryParam("done") {
	case "1":
		sl.Flash = s.cat.T(lang, "staff.flash.done")
	}
	return sl
}

type staffLoginData struct {
	formData
}

func (s *Site) staffLoginForm(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	sess := s.session(c)
	d := staffLoginData{formData{layout: s.frame(lang, "staff", s.cat.T(lang, "staff.login.title"), ""),
		Action: "/" + lang + "/staff/login", CSRF: s.forms.csrfToken(sess), Errors: map[string]string{}, Values: map[string]string{}}}
	d.OtherURL = "/" + otherLang(lang) + "/staff/login"
	d.Nav = nil
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.renderForm(c, "staff_login", http.StatusOK, d)
}

func (s *Site) staffLogin(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	d := staffLoginData{formData{layout: s.frame(lang, "staff", s.cat.T(lang, "staff.login.title"), ""),
		Action: "/" + lang + "/staff/login", Errors: map[string]string{}, Values: map[string]string{"name": c.FormValue("name")}}}
	d.Nav = nil
	c.Response().Header().Set("Cache-Control", "no-store")
	if _, ok := s.checkCSRF(c); !ok {
		d.CSRF = s.forms.csrfToken(s.session(c))
		d.Errors["form"] = s.cat.T(lang, "form.err.expired")
		return s.renderForm(c, "staff_login", http.StatusUnprocessableEntity, d)
	}
	d.CSRF = s.forms.csrfToken(s.session(c))
	token, _, err := s.opts.Staff.Login(c.Request().Context(), c.FormValue("name"), c.FormValue("password"))
	if err != nil {
		d.Errors["form"] = s.cat.T(lang, staff.ErrorKey(err))
		return s.renderForm(c, "staff_login", http.StatusUnprocessableEntity, d)
	}
	c.SetCookie(&http.Cookie{Name: staffCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/")
}

func (s *Site) staffLogout(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	if tok, ok := c.Get("staffToken").(string); ok {
		_ = s.opts.Staff.Logout(c.Request().Context(), tok)
	}
	c.SetCookie(&http.Cookie{Name: staffCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/login")
}

// ---- the unanswered queue ---------------------------------------------------

type staffQueueData struct {
	staffLayout
	Threads []staffThreadItem
	Pager   pager
}

type staffThreadItem struct {
	URL, Title, Section, Waiting string
	Private                      bool
	Replies                      int
}

func (s *Site) staffQueue(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	q, err := s.opts.Forum.UnansweredQueue(c.Request().Context(), page)
	if err != nil {
		return boardErr(err)
	}
	secs, err := s.opts.Forum.Sections(c.Request().Context())
	if err != nil {
		return boardErr(err)
	}
	names := map[forum.SectionID]string{}
	for _, sec := range secs {
		names[sec.ID] = sec.Title.In(lang)
	}
	d := staffQueueData{staffLayout: s.staffFrame(c, "/", s.cat.T(lang, "staff.queue.title"))}
	now := forum.HourOf(s.opts.Now())
	for _, t := range q.Threads {
		d.Threads = append(d.Threads, staffThreadItem{URL: "/" + lang + "/staff/t/" + strconv.FormatUint(uint64(t.ID), 10),
			Title: t.Title, Section: names[t.Section], Waiting: s.ago(lang, now, t.LastActive), Private: t.Private, Replies: t.Replies})
	}
	d.Pager = pager{Page: q.Page, Pages: q.Page}
	if q.Page > 1 {
		d.Pager.Prev = "/" + lang + "/staff/?page=" + strconv.Itoa(q.Page-1)
	}
	if q.More {
		d.Pager.Pages = q.Page + 1
		d.Pager.Next = "/" + lang + "/staff/?page=" + strconv.Itoa(q.Page+1)
	}
	return s.renderForm(c, "staff_queue", http.StatusOK, d)
}

// ---- a thread, with reply box and moderation --------------------------------

type staffThreadData struct {
	staffLayout
	ID                      string
	SectionTitle, PublicURL string
	Private, Locked, Pinned bool
	Posts                   []staffPostView
	Pager                   pager
	Sections                []sectionOption
	Saved                   []staff.SavedReply
	Body                    string
}

type staffPostView struct {
	postView
	ModURL     string
	HistoryURL string
	Source     string
}

func (s *Site) staffThread(c echo.Context) error {
	return s.renderStaffThread(c, http.StatusOK, "", nil)
}

func (s *Site) renderStaffThread(c echo.Context, status int, body string, errs map[string]string) error {
	lang := langOf(c.Request().URL.Path)
	id, err := threadID(c)
	if err != nil {
		return err
	}
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	tp, err := s.opts.Forum.ThreadPage(c.Request().Context(), id, page, forum.Viewer{Staff: true})
	if err != nil {
		return boardErr(err)
	}
	idStr := strconv.FormatUint(uint64(id), 10)
	d := staffThreadData{staffLayout: s.staffFrame(c, "/t/"+idStr, tp.Thread.Title), ID: idStr,
		SectionTitle: tp.Section.Title.In(lang), Private: tp.Thread.Private, Locked: tp.Thread.Locked, Pinned: tp.Thread.Pinned, Body: body}
	if errs != nil {
		d.Errors = errs
	}
	if !tp.Thread.Private {
		d.PublicURL = "/" + lang + "/t/" + idStr
	}
	d.Pager = makePager("/"+lang+"/staff/t/"+idStr, tp.Page, tp.Pages)
	base := "/" + lang + "/staff/t/" + idStr
	for i, pv := range s.postViews(lang, tp.Posts, false) {
		p := tp.Posts[i]
		v := staffPostView{postView: pv, Source: p.Source, ModURL: base + "/p/" + strconv.Itoa(p.N) + "/mod"}
		if p.Hidden && !p.Deleted {
			v.HTML, v.Hidden = p.HTML, true // staff still read hidden posts
		}
		if d.Admin {
			v.HistoryURL = "/" + lang + "/staff/history?target=post:" + idStr + ":" + strconv.Itoa(p.N)
		}
		d.Posts = append(d.Posts, v)
	}
	secs, err := s.opts.Forum.Sections(c.Request().Context())
	if err != nil {
		return boardErr(err)
	}
	for _, sec := range secs {
		d.Sections = append(d.Sections, sectionOption{Slug: sec.Slug, Title: sec.Title.In(lang), Selected: sec.ID == tp.Section.ID})
	}
	if d.Saved, err = s.opts.Staff.Replies(c.Request().Context()); err != nil {
		return err
	}
	// Inserting a saved reply works without JavaScript: the picker is a GET
	// form that comes back here with ?saved=ID and the text in the box.
	if sid, err := strconv.ParseUint(c.QueryParam("saved"), 10, 64); err == nil && body == "" {
		if r, err := s.opts.Staff.Reply(c.Request().Context(), staff.ReplyID(sid)); err == nil {
			d.Body = r.Body
		}
	}
	return s.renderForm(c, "staff_thread", status, d)
}

func (s *Site) staffReply(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := threadID(c)
	if err != nil {
		return err
	}
	me := staffOf(c)
	if !me.Can(staff.ActionAnswer) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	_, err = s.opts.Forum.StaffReply(c.Request().Context(), id, me.Name, me.DisplayName, c.FormValue("body"))
	if err != nil {
		if fe := forum.FieldErrors(err); len(fe) > 0 {
			errs := map[string]string{}
			for f, e := range fe {
				errs[f] = s.cat.T(lang, e.Key)
			}
			return s.renderStaffThread(c, http.StatusUnprocessableEntity, c.FormValue("body"), errs)
		}
		if isDiskFull(err) {
			return s.renderStaffThread(c, http.StatusServiceUnavailable, c.FormValue("body"),
				map[string]string{"body": s.cat.T(lang, "error.503.form")})
		}
		return boardErr(err)
	}
	s.Changed(id)
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/t/"+strconv.FormatUint(uint64(id), 10)+"?done=1")
}

func (s *Site) logMod(c echo.Context, target string, action staff.ModAction, detail string) {
	_ = s.opts.Staff.Log(c.Request().Context(), staff.ModEntry{Target: target, Staff: staffOf(c).Name, Action: action, Detail: detail})
}

func (s *Site) staffThreadMod(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := threadID(c)
	if err != nil {
		return err
	}
	if !staffOf(c).Can(staff.ActionModerate) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	ctx := c.Request().Context()
	target := "thread:" + strconv.FormatUint(uint64(id), 10)
	action := c.FormValue("action")
	var detail string
	switch staff.ModAction(action) {
	case staff.ModLock, staff.ModUnlock:
		err = s.opts.Forum.LockThread(ctx, id, action == string(staff.ModLock))
	case staff.ModPin, staff.ModUnpin:
		err = s.opts.Forum.PinThread(ctx, id, action == string(staff.ModPin))
	case staff.ModMove:
		detail = "to " + c.FormValue("section")
		err = s.opts.Forum.MoveThread(ctx, id, c.FormValue("section"))
	case staff.ModDelete:
		if c.FormValue("confirm") != "yes" {
			return s.renderStaffThread(c, http.StatusUnprocessableEntity, "", map[string]string{"delete": s.cat.T(lang, "staff.err.confirm")})
		}
		err = s.opts.Forum.DeleteThread(ctx, id)
		if err == nil {
			s.logMod(c, target, staff.ModDelete, "")
			s.Changed(id)
			return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/?done=1")
		}
	default:
		return echo.ErrNotFound
	}
	if err != nil {
		return boardErr(err)
	}
	s.logMod(c, target, staff.ModAction(action), detail)
	s.Changed(id)
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/t/"+strconv.FormatUint(uint64(id), 10)+"?done=1")
}

func (s *Site) staffPostMod(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := threadID(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return echo.ErrNotFound
	}
	if !staffOf(c).Can(staff.ActionModerate) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	ref := forum.PostRef{Thread: id, N: n}
	action := staff.ModAction(c.FormValue("action"))
	switch action {
	case staff.ModHide, staff.ModUnhide:
		err = s.opts.Forum.HidePost(c.Request().Context(), ref, action == staff.ModHide)
	case staff.ModDelete:
		err = s.opts.Forum.DeletePost(c.Request().Context(), ref)
	default:
		return echo.ErrNotFound
	}
	if err != nil {
		if forum.ErrorCode(err) == forum.EINVALID {
			return s.renderStaffThread(c, http.StatusUnprocessableEntity, "", map[string]string{"form": s.cat.T(lang, forum.ErrorKey(err))})
		}
		return boardErr(err)
	}
	s.logMod(c, "post:"+strconv.FormatUint(uint64(id), 10)+":"+strconv.Itoa(n), action, "")
	s.Changed(id)
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/t/"+strconv.FormatUint(uint64(id), 10)+"?done=1#p"+strconv.Itoa(n))
}

// ---- reports ----------------------------------------------------------------

type staffReportsData struct {
	staffLayout
	Reports []staffReportItem
}

type staffReportItem struct {
	ID, ThreadURL, Reason, Note, When, Excerpt string
	N                                          int
}

func (s *Site) staffReports(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	ctx := c.Request().Context()
	reps, _, err := s.opts.Forum.ReportQueue(ctx, 1)
	if err != nil {
		return boardErr(err)
	}
	d := staffReportsData{staffLayout: s.staffFrame(c, "/reports", s.cat.T(lang, "staff.reports.title"))}
	now := forum.HourOf(s.opts.Now())
	for _, r := range reps {
		item := staffReportItem{ID: strconv.FormatUint(uint64(r.ID), 10), N: r.Post.N,
			ThreadURL: "/" + lang + "/staff/t/" + strconv.FormatUint(uint64(r.Post.Thread), 10) + "#p" + strconv.Itoa(r.Post.N),
			Reason:    s.cat.T(lang, "report.reason."+string(r.Reason)), Note: r.Note, When: s.ago(lang, now, r.Hour)}
		if tp, err := s.opts.Forum.ThreadPage(ctx, r.Post.Thread, (r.Post.N-1)/forum.ThreadPageSize+1, forum.Viewer{Staff: true}); err == nil {
			for _, p := range tp.Posts {
				if p.N == r.Post.N {
					item.Excerpt = excerpt(p.Source, 300)
				}
			}
		}
		d.Reports = append(d.Reports, item)
	}
	return s.renderForm(c, "staff_reports", http.StatusOK, d)
}

func (s *Site) staffResolve(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	if !staffOf(c).Can(staff.ActionModerate) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	if err := s.opts.Forum.ResolveReport(c.Request().Context(), forum.ReportID(id), staffOf(c).Name); err != nil {
		return boardErr(err)
	}
	s.logMod(c, "report:"+c.Param("id"), staff.ModResolveReport, "")
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/reports?done=1")
}

// ---- saved replies ----------------------------------------------------------

type staffSavedData struct {
	staffLayout
	Replies []staff.SavedReply
	Edit    staff.SavedReply
}

func (s *Site) staffSaved(c echo.Context) error {
	return s.renderSaved(c, http.StatusOK, nil, nil)
}

func (s *Site) renderSaved(c echo.Context, status int, edit *staff.SavedReply, errs map[string]string) error {
	lang := langOf(c.Request().URL.Path)
	rs, err := s.opts.Staff.Replies(c.Request().Context())
	if err != nil {
		return err
	}
	d := staffSavedData{staffLayout: s.staffFrame(c, "/saved", s.cat.T(lang, "staff.saved.title")), Replies: rs, Edit: staff.SavedReply{Lang: lang}}
	if errs != nil {
		d.Errors = errs
	}
	if edit != nil {
		d.Edit = *edit
	} else if id, err := strconv.ParseUint(c.QueryParam("edit"), 10, 64); err == nil {
		if r, err := s.opts.Staff.Reply(c.Request().Context(), staff.ReplyID(id)); err == nil {
			d.Edit = *r
		}
	}
	return s.renderForm(c, "staff_saved", status, d)
}

func (s *Site) staffSavedPost(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	if !staffOf(c).Can(staff.ActionAnswer) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	ctx := c.Request().Context()
	id, _ := strconv.ParseUint(c.FormValue("id"), 10, 64)
	if c.FormValue("delete") != "" {
		if err := s.opts.Staff.DeleteReply(ctx, staff.ReplyID(id)); err != nil {
			return s.renderSaved(c, http.StatusUnprocessableEntity, nil, map[string]string{"form": s.cat.T(lang, staff.ErrorKey(err))})
		}
		return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/saved?done=1")
	}
	order, _ := strconv.Atoi(c.FormValue("order"))
	r := &staff.SavedReply{ID: staff.ReplyID(id), Title: c.FormValue("title"), Body: c.FormValue("body"), Lang: c.FormValue("lang"), Order: order}
	if err := s.opts.Staff.SaveReply(ctx, r); err != nil {
		errs := map[string]string{}
		for f, e := range staff.FieldErrors(err) {
			if f == "" {
				f = "form"
			}
			errs[f] = s.cat.T(lang, e.Key)
		}
		if len(errs) == 0 {
			errs["form"] = s.cat.T(lang, staff.ErrorKey(err))
		}
		return s.renderSaved(c, http.StatusUnprocessableEntity, r, errs)
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/saved?done=1")
}

// ---- mirrored topics --------------------------------------------------------

type staffMirrorData struct {
	staffLayout
	Sections []sectionOption
}

func (s *Site) staffMirrorForm(c echo.Context) error {
	return s.renderMirror(c, http.StatusOK, nil)
}

func (s *Site) renderMirror(c echo.Context, status int, errs map[string]string) error {
	lang := langOf(c.Request().URL.Path)
	d := staffMirrorData{staffLayout: s.staffFrame(c, "/mirror", s.cat.T(lang, "staff.mirror.title"))}
	if errs != nil {
		d.Errors = errs
		for _, k := range []string{"title", "forum", "url", "body"} {
			d.Values[k] = c.FormValue(k)
		}
	}
	secs, err := s.opts.Forum.Sections(c.Request().Context())
	if err != nil {
		return boardErr(err)
	}
	for _, sec := range secs {
		d.Sections = append(d.Sections, sectionOption{Slug: sec.Slug, Title: sec.Title.In(lang), Selected: sec.Slug == c.FormValue("section")})
	}
	return s.renderForm(c, "staff_mirror", status, d)
}

// staffMirror starts a thread that mirrors a topic from another forum. The
// source address is shown as text, never as a link.
func (s *Site) staffMirror(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	me := staffOf(c)
	if !me.Can(staff.ActionAnswer) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	src := strings.TrimSpace(c.FormValue("forum"))
	u := strings.TrimSpace(c.FormValue("url"))
	errs := map[string]string{}
	if src == "" || len([]rune(src)) > 100 || strings.ContainsAny(src, "`\n") {
		errs["forum"] = s.cat.T(lang, "staff.err.mirror.forum")
	}
	if u == "" || len(u) > 300 || strings.ContainsAny(u, "` \n\t") {
		errs["url"] = s.cat.T(lang, "staff.err.mirror.url")
	}
	if len(errs) > 0 {
		return s.renderMirror(c, http.StatusUnprocessableEntity, errs)
	}
	body := s.cat.T(lang, "staff.mirror.from") + " «" + src + "»: `" + u + "`\n\n" + c.FormValue("body")
	t, err := s.opts.Forum.StaffThread(c.Request().Context(), c.FormValue("section"), me.Name, me.DisplayName, c.FormValue("title"), body, false)
	if err != nil {
		for f, e := range forum.FieldErrors(err) {
			if f == "" || f == "name" {
				f = "form"
			}
			errs[f] = s.cat.T(lang, e.Key)
		}
		if len(errs) == 0 {
			return boardErr(err)
		}
		return s.renderMirror(c, http.StatusUnprocessableEntity, errs)
	}
	s.Changed(t.ID)
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/t/"+strconv.FormatUint(uint64(t.ID), 10)+"?done=1")
}

// ---- tor health, history, accounts -----------------------------------------

type staffHealthData struct {
	staffLayout
	Health *HealthView
}

func (s *Site) staffHealth(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	d := staffHealthData{staffLayout: s.staffFrame(c, "/health", s.cat.T(lang, "staff.health.title"))}
	if s.opts.Health != nil {
		h := s.opts.Health()
		d.Health = &h
	}
	return s.renderForm(c, "staff_health", http.StatusOK, d)
}

type staffHistoryData struct {
	staffLayout
	Target  string
	Entries []staffHistoryItem
}

type staffHistoryItem struct {
	Staff, Action, Detail, When string
}

func (s *Site) staffHistory(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	if !staffOf(c).Can(staff.ActionManageStaff) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	target := c.QueryParam("target")
	es, err := s.opts.Staff.History(c.Request().Context(), target)
	if err != nil {
		var se *staff.Error
		if errors.As(err, &se) {
			return echo.ErrNotFound
		}
		return err
	}
	d := staffHistoryData{staffLayout: s.staffFrame(c, "/history", s.cat.T(lang, "staff.history.title")), Target: target}
	now := forum.HourOf(s.opts.Now())
	for _, e := range es {
		d.Entries = append(d.Entries, staffHistoryItem{Staff: e.Staff, Action: s.cat.T(lang, "staff.mod."+string(e.Action)),
			Detail: e.Detail, When: s.ago(lang, now, forum.Hour(e.Hour))})
	}
	return s.renderForm(c, "staff_history", http.StatusOK, d)
}

type staffAccountsData struct {
	staffLayout
	Accounts []staff.Account
}

func (s *Site) staffAccounts(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	if !staffOf(c).Can(staff.ActionManageStaff) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	as, err := s.opts.Staff.Accounts(c.Request().Context())
	if err != nil {
		return err
	}
	d := staffAccountsData{staffLayout: s.staffFrame(c, "/accounts", s.cat.T(lang, "staff.accounts.title")), Accounts: as}
	return s.renderForm(c, "staff_accounts", http.StatusOK, d)
}
