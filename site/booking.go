package site

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"tropa/fund"
	"tropa/metrics"
)

// Anonymous test booking. The schedule page (cached, the same for
// everyone) carries a GET form: pick a stop on a date and a test. It leads
// to /<lang>/book, the same choice with the board's CSRF token and captcha
// (per visitor, so not cached); its POST books through fund.Bookings under
// the per-circuit write limit and answers with a 303 to /<lang>/booked,
// which shows the code to this session for a while, and to no one else.
// Nothing about the visitor is asked or kept.

func init() {
	kinds = append(kinds, "book", "booked", "staff_bookings")
}

// bookedShown is how long the page with the code can be opened again (by
// the same browser session).
const bookedShown = 30 * time.Minute

type bookState struct {
	mu      sync.Mutex
	pending map[string]*bookedCode // session → the booking just made
}

type bookedCode struct {
	booking fund.Booking
	stop    fund.Stop
	expires time.Time
}

func (s *Site) registerBooking(e *echo.Echo) {
	if s.opts.Bookings == nil || s.opts.Fund == nil {
		return
	}
	s.book = &bookState{pending: map[string]*bookedCode{}}
	get := []string{http.MethodGet, http.MethodHead}
	limit := middleware.BodyLimit(maxFormBody)
	for _, lang := range Languages {
		e.Match(get, "/"+lang+"/book", s.bookForm)
		e.POST("/"+lang+"/book", s.bookPost, limit)
		e.Match(get, "/"+lang+"/booked", s.bookedView)
	}
}

// ---- the choice, on the schedule page and the form ---------------------------------

// bookChoice is the stops and dates a visitor can pick, grouped by date,
// and the tests.
type bookChoice struct {
	Action string
	Groups []bookGroup
	Tests  []check
}

type bookGroup struct {
	Label   string
	Options []check
}

// bookChoice lists the options of the next fund.BookDays days; chosen is
// the selected option's value and test the selected test.
func (v views) bookChoice(stops []fund.Stop, now time.Time, chosen, test string) *bookChoice {
	b := &bookChoice{Action: "/" + v.lang + "/book"}
	today := fund.DateOf(now)
	for _, o := range fund.BookOptions(stops, now) {
		label := upperFirst(v.t("fund.weekday."+strconv.Itoa(int(o.Date.Weekday())))) + ", " + v.date(o.Date)
		switch {
		case o.Date.Equal(today):
			label = v.t("fund.today", map[string]any{"Day": v.t("fund.weekday." + strconv.Itoa(int(o.Date.Weekday())))}) + ", " + v.date(o.Date)
		case o.Date.Equal(today.AddDate(0, 0, 1)):
			label = v.t("fund.tomorrow", map[string]any{"Day": v.t("fund.weekday." + strconv.Itoa(int(o.Date.Weekday())))}) + ", " + v.date(o.Date)
		}
		if len(b.Groups) == 0 || b.Groups[len(b.Groups)-1].Label != label {
			b.Groups = append(b.Groups, bookGroup{Label: label})
		}
		var tests []string
		for _, t := range fund.Tests {
			if o.Stop.Services.Has(t.Service()) {
				tests = append(tests, v.t("book.test.short."+string(t)))
			}
		}
		// The option names its day too: a closed select shows the option,
		// not its group.
		g := &b.Groups[len(b.Groups)-1]
		g.Options = append(g.Options, check{Value: o.Value(), Checked: o.Value() == chosen,
			Label: v.t("fund.weekday.short."+strconv.Itoa(int(o.Date.Weekday()))) + " " + v.date(o.Date) + ", " +
				o.Stop.From + "–" + o.Stop.To + " · " + o.Stop.Name.In(v.lang) + " (" + strings.Join(tests, ", ") + ")"})
	}
	for _, t := range fund.Tests {
		b.Tests = append(b.Tests, check{Value: string(t), Label: v.t("book.test." + string(t)), ID: "test-" + string(t),
			Checked: string(t) == test || test == "" && t == fund.TestHIV})
	}
	return b
}

// parseSlot reads "<stop ID>/<date>".
func parseSlot(v string) (fund.ID, string) {
	id, date, _ := strings.Cut(v, "/")
	n, _ := strconv.ParseUint(id, 10, 64)
	return fund.ID(n), date
}

// ---- the form --------------------------------------------------------------------------

type bookData struct {
	formData
	Choice *bookChoice
}

func (s *Site) bookFrame(lang string, f *formData) {
	f.layout = s.frame(lang, "services", s.cat.T(lang, "book.title"), "")
	f.OtherURL = "/" + otherLang(lang) + "/book"
}

func (s *Site) bookPage(c echo.Context, lang string, f formData, slot, test string) (bookData, error) {
	data, err := s.opts.Fund.Load(c.Request().Context())
	if err != nil {
		return bookData{}, err
	}
	v := views{s: s, lang: lang}
	return bookData{formData: f, Choice: v.bookChoice(data.Stops, s.opts.Now(), slot, test)}, nil
}

func (s *Site) bookForm(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	f := s.newForm(c, lang, "/book", s.cat.T(lang, "book.title"))
	s.bookFrame(lang, &f)
	d, err := s.bookPage(c, lang, f, c.QueryParam("slot"), c.QueryParam("test"))
	if err != nil {
		return err
	}
	return s.renderForm(c, "book", http.StatusOK, d)
}

func (s *Site) bookPost(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	f := formData{Action: "/" + lang + "/book", Errors: map[string]string{}, Values: map[string]string{}}
	s.bookFrame(lang, &f)
	fail := func() error {
		s.refill(c, lang, &f)
		d, err := s.bookPage(c, lang, f, c.FormValue("slot"), c.FormValue("test"))
		if err != nil {
			return err
		}
		return s.renderForm(c, "book", http.StatusUnprocessableEntity, d)
	}
	sess, ok, err := s.checkPost(c, lang, &f)
	if err != nil {
		return err
	}
	if !ok {
		return fail()
	}
	stop, date := parseSlot(c.FormValue("slot"))
	b, err := s.opts.Bookings.Book(c.Request().Context(), fund.BookInput{Stop: stop, Date: date, Test: fund.Test(c.FormValue("test"))})
	if err != nil {
		if fund.ErrorCode(err) == fund.EINVALID {
			for k, v := range s.fundErrors(lang, err) {
				f.Errors[k] = v
			}
			return fail()
		}
		return err
	}
	s.opts.Metrics.Inc(metrics.BookingsMade)
	st, err := s.opts.Fund.Stop(c.Request().Context(), b.Stop)
	if err != nil {
		return err
	}
	now := time.Now()
	s.book.mu.Lock()
	if len(s.book.pending) >= maxFormEntries {
		for k, p := range s.book.pending {
			if now.After(p.expires) || len(s.book.pending) >= maxFormEntries {
				delete(s.book.pending, k)
			}
		}
	}
	s.book.pending[sess] = &bookedCode{booking: *b, stop: *st, expires: now.Add(bookedShown)}
	s.book.mu.Unlock()
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/booked")
}

type bookedData struct {
	layout
	Code, Test, Date, DateISO string
	Stop                      stopView
	Again                     string
}

// bookedView shows the code of the booking this session just made.
func (s *Site) bookedView(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	sess := s.session(c)
	s.book.mu.Lock()
	p := s.book.pending[sess]
	if p != nil && time.Now().After(p.expires) {
		delete(s.book.pending, sess)
		p = nil
	}
	s.book.mu.Unlock()
	if p == nil {
		return c.Redirect(http.StatusSeeOther, "/"+lang+"/book")
	}
	v := views{s: s, lang: lang}
	date, _ := time.ParseInLocation(fund.DateLayout, p.booking.Date, fund.Zone)
	d := bookedData{layout: s.frame(lang, "services", s.cat.T(lang, "booked.title"), ""), Code: p.booking.Code,
		Test: v.t("book.test." + string(p.booking.Test)), DateISO: p.booking.Date,
		Date: upperFirst(v.t("fund.weekday."+strconv.Itoa(int(date.Weekday())))) + ", " + v.date(date),
		Stop: v.stop(p.stop), Again: "/" + lang + "/services/schedule"}
	d.OtherURL = "/" + otherLang(lang) + "/booked"
	return s.renderForm(c, "booked", http.StatusOK, d)
}

// ---- staff ---------------------------------------------------------------------------------

func (s *Site) registerStaffBookings(g *echo.Group) {
	if s.opts.Bookings == nil || s.opts.Fund == nil {
		return
	}
	g.Match([]string{http.MethodGet, http.MethodHead}, "/bookings", s.staffBookings)
	g.POST("/bookings/done", s.staffBookingDone, middleware.BodyLimit(maxFormBody))
}

type staffBookingsData struct {
	staffLayout
	Stops  []staffBookStop
	Code   string // ?code=: only this code is shown
	Total  int
	Action string
}

type staffBookStop struct {
	Anchor, Name, Address string
	Days                  []staffBookDay
}

type staffBookDay struct {
	Date, DateText string
	Past           bool
	Rows           []staffBookRow
}

type staffBookRow struct {
	Stop, Date, Code, Test string
	Done                   bool
}

func (s *Site) staffBookings(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	ctx := c.Request().Context()
	d := staffBookingsData{staffLayout: s.staffFrame(c, "/bookings", s.cat.T(lang, "staff.bookings.title")),
		Action: "/" + lang + "/staff/bookings"}
	if code := fund.NormalizeCode(c.QueryParam("code")); code != "" {
		d.Code = code
		d.Values["code"] = c.QueryParam("code")
	}
	list, err := s.opts.Bookings.List(ctx, 0)
	if err != nil {
		return err
	}
	data, err := s.opts.Fund.Load(ctx)
	if err != nil {
		return err
	}
	stops := map[fund.ID]fund.Stop{}
	for _, st := range data.Stops {
		stops[st.ID] = st
	}
	v := views{s: s, lang: lang}
	today := fund.DateOf(s.opts.Now())
	for _, b := range list {
		if d.Code != "" && b.Code != d.Code {
			continue
		}
		d.Total++
		if len(d.Stops) == 0 || d.Stops[len(d.Stops)-1].Anchor != "stop-"+idStr(b.Stop) {
			st := staffBookStop{Anchor: "stop-" + idStr(b.Stop), Name: "#" + idStr(b.Stop)}
			if x, ok := stops[b.Stop]; ok {
				st.Name, st.Address = x.Name.In(lang), x.Address.In(lang)
			}
			d.Stops = append(d.Stops, st)
		}
		st := &d.Stops[len(d.Stops)-1]
		if len(st.Days) == 0 || st.Days[len(st.Days)-1].Date != b.Date {
			date, _ := time.ParseInLocation(fund.DateLayout, b.Date, fund.Zone)
			st.Days = append(st.Days, staffBookDay{Date: b.Date, Past: date.Before(today),
				DateText: upperFirst(v.t("fund.weekday."+strconv.Itoa(int(date.Weekday())))) + ", " + v.date(date)})
		}
		day := &st.Days[len(st.Days)-1]
		day.Rows = append(day.Rows, staffBookRow{Stop: idStr(b.Stop), Date: b.Date, Code: b.Code,
			Test: v.t("book.test." + string(b.Test)), Done: b.Done})
	}
	return s.renderForm(c, "staff_bookings", http.StatusOK, d)
}

// staffBookingDone marks a booking done: the visitor came and was tested.
func (s *Site) staffBookingDone(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	if !canEdit(staffOf(c)) {
		return echo.NewHTTPError(http.StatusForbidden)
	}
	stop, _ := strconv.ParseUint(c.FormValue("stop"), 10, 64)
	changed, err := s.opts.Bookings.MarkDone(c.Request().Context(), fund.ID(stop), c.FormValue("date"), fund.NormalizeCode(c.FormValue("code")))
	if err != nil {
		switch fund.ErrorCode(err) {
		case fund.ENOTFOUND, fund.EINVALID:
			return echo.ErrNotFound
		}
		return err
	}
	if changed {
		s.opts.Metrics.Inc(metrics.BookingsAttended)
	}
	return c.Redirect(http.StatusSeeOther, "/"+lang+"/staff/bookings?done=1#stop-"+strconv.FormatUint(stop, 10))
}
