package site

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"tropa/fund"
)

// The services sub-pages (schedule, doctors, contact) show the fund's data
// from Options.Fund under the Markdown intro of content/<lang>/services-*.md.
// Like every page they are served from pre-rendered bytes: all six (three
// pages, two languages) are rendered together when the data's version or
// Saint Petersburg's date changes (the schedule's "today" moves), by the
// first request that notices, never per request. Without Options.Fund the
// Markdown-only pages stay.

func init() {
	kinds = append(kinds, "services_schedule", "services_doctors", "services_contact")
}

// serviceKinds maps each sub-page's content slug to its template.
var serviceKinds = map[string]string{
	"services-schedule": "services_schedule",
	"services-doctors":  "services_doctors",
	"services-contact":  "services_contact",
}

// servicesPages holds the current render of the services sub-pages.
type servicesPages struct {
	s   *Site
	src fund.Repository
	mu  sync.Mutex // one render at a time
	cur atomic.Pointer[servicesRender]
}

type servicesKey struct {
	date    string // YYYY-MM-DD in Saint Petersburg
	version uint64 // fund.Repository.Version
	pages   uint64 // the info pages' version: their intros are staff-edited
}

type servicesRender struct {
	key   servicesKey
	pages map[string]*cached // path → page
}

// registerServices routes the services sub-pages to their data-driven
// versions. These routes replace the Markdown-only ones newEcho registered
// for the same paths (echo keeps the last handler of a route).
func (s *Site) registerServices(e *echo.Echo) {
	if s.opts.Fund == nil {
		return
	}
	sp := &servicesPages{s: s, src: s.opts.Fund}
	get := []string{http.MethodGet, http.MethodHead}
	for _, lang := range Languages {
		for slug := range serviceKinds {
			e.Match(get, urlOf(lang, slug), sp.serve)
		}
	}
}

func (sp *servicesPages) serve(c echo.Context) error {
	pages, err := sp.current(c.Request().Context())
	if err != nil {
		return err
	}
	p := pages[c.Path()]
	if p == nil {
		return echo.ErrNotFound
	}
	return writeCached(c, p)
}

// current returns the render for now, making it if the date or the data
// changed since the last one.
func (sp *servicesPages) current(ctx context.Context) (map[string]*cached, error) {
	now := sp.s.opts.Now()
	// The version is read before the data, so a write racing with a
	// render leaves a key older than the data: the next request renders
	// again rather than keeping stale pages.
	key := servicesKey{date: fund.DateOf(now).Format(time.DateOnly), version: sp.src.Version(), pages: sp.s.live.version.Load()}
	if r := sp.cur.Load(); r != nil && r.key == key {
		return r.pages, nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if r := sp.cur.Load(); r != nil && r.key == key {
		return r.pages, nil
	}
	// The render is shared: a visitor who leaves must not cancel it.
	pages, err := sp.render(context.WithoutCancel(ctx), now)
	if err != nil {
		// Yesterday's schedule is more use than an error page to someone
		// looking for the bus; the next request tries again.
		if r := sp.cur.Load(); r != nil {
			return r.pages, nil
		}
		return nil, err
	}
	sp.cur.Store(&servicesRender{key: key, pages: pages})
	return pages, nil
}

func (sp *servicesPages) render(ctx context.Context, now time.Time) (map[string]*cached, error) {
	d, err := sp.src.Load(ctx)
	if err != nil {
		return nil, err
	}
	s := sp.s
	week := fund.WeekFrom(d.Stops, now)
	pages := map[string]*cached{}
	for _, lang := range Languages {
		v := views{s: s, lang: lang}
		for slug, kind := range serviceKinds {
			var data any
			switch slug {
			case "services-schedule":
				sd := v.schedule(slug, week, d.Stops)
				if s.opts.Bookings != nil {
					sd.Book = v.bookChoice(d.Stops, now, "", "")
				}
				data = sd
			case "services-doctors":
				data = v.doctors(slug, d.Doctors)
			case "services-contact":
				data = v.contacts(slug, d.Contacts)
			}
			c, err := s.render(lang, kind, http.StatusOK, data)
			if err != nil {
				return nil, err
			}
			pages[urlOf(lang, slug)] = c
		}
	}
	return pages, nil
}

// ---- page structs -----------------------------------------------------------

type servicesIntro struct {
	layout
	Intro template.HTML // the Markdown page's body
}

type scheduleData struct {
	servicesIntro
	Today      dayView
	Later      []dayView // the six days after today
	Table      []tableDay
	AnyExample bool
	Book       *bookChoice // the test booking's first step (nil: no booking)
}

type dayView struct {
	Heading  string // "Сегодня, суббота", "Завтра, воскресенье", "Понедельник"
	Date     string // YYYY-MM-DD
	DateText string // "15 марта"
	Stops    []stopView
}

type tableDay struct {
	Short, Long string // "Пн", "Понедельник"
	Stops       []stopView
}

type stopView struct {
	Name, Address, Note string
	From, To            string
	Services            string // "Тест на ВИЧ, обмен шприцев"
	Example             bool
}

type doctorsData struct {
	servicesIntro
	Doctors []doctorView
}

type doctorView struct {
	Name, Specialty, Where, Booking, Note string
	Hours                                 []slotView
	Example                               bool
}

type contactData struct {
	servicesIntro
	Contacts []contactView
}

type contactView struct {
	Kind, Label, Value, Note string
	Tel                      template.URL // a tel: link for a phone number
	Hours                    []slotView
	Example                  bool
}

type slotView struct{ Days, From, To string }

// views builds the page structs of one language.
type views struct {
	s    *Site
	lang string
}

func (v views) t(key string, data ...any) string { return v.s.cat.T(v.lang, key, data...) }

func (v views) intro(slug string) servicesIntro {
	p := v.s.page(v.lang, slug)
	if p == nil {
		return servicesIntro{layout: v.s.frame(v.lang, slug, "", "")}
	}
	return servicesIntro{layout: v.s.frame(v.lang, slug, p.Title, p.Description), Intro: p.Body}
}

func (v views) schedule(slug string, week []fund.Day, stops []fund.Stop) scheduleData {
	d := scheduleData{servicesIntro: v.intro(slug)}
	for i, day := range week {
		dv := dayView{Date: day.Date.Format(time.DateOnly), DateText: v.date(day.Date)}
		name := v.t("fund.weekday." + strconv.Itoa(int(day.Date.Weekday())))
		switch i {
		case 0:
			dv.Heading = v.t("fund.today", map[string]any{"Day": name})
		case 1:
			dv.Heading = v.t("fund.tomorrow", map[string]any{"Day": name})
		default:
			dv.Heading = upperFirst(name)
		}
		for _, st := range day.Stops {
			dv.Stops = append(dv.Stops, v.stop(st))
		}
		if i == 0 {
			d.Today = dv
		} else {
			d.Later = append(d.Later, dv)
		}
	}
	for _, w := range fund.Week {
		td := tableDay{
			Short: v.t("fund.weekday.short." + strconv.Itoa(int(w))),
			Long:  upperFirst(v.t("fund.weekday." + strconv.Itoa(int(w)))),
		}
		for _, st := range fund.StopsOn(stops, w) {
			td.Stops = append(td.Stops, v.stop(st))
			d.AnyExample = d.AnyExample || st.Example
		}
		d.Table = append(d.Table, td)
	}
	return d
}

func (v views) stop(st fund.Stop) stopView {
	sv := stopView{Name: st.Name.In(v.lang), Address: st.Address.In(v.lang), Note: st.Note.In(v.lang),
		From: st.From, To: st.To, Example: st.Example}
	var names []string
	for i, x := range st.Services.List() {
		name := v.t("fund.service." + x.Name())
		if i > 0 {
			name = lowerFirst(name)
		}
		names = append(names, name)
	}
	sv.Services = strings.Join(names, ", ")
	return sv
}

func (v views) doctors(slug string, ds []fund.Doctor) doctorsData {
	d := doctorsData{servicesIntro: v.intro(slug)}
	for _, x := range ds {
		d.Doctors = append(d.Doctors, doctorView{
			Name: x.Name.In(v.lang), Specialty: x.Specialty.In(v.lang), Where: x.Where.In(v.lang),
			Booking: x.Booking.In(v.lang), Note: x.Note.In(v.lang), Hours: v.slots(x.Hours), Example: x.Example,
		})
	}
	return d
}

func (v views) contacts(slug string, cs []fund.Contact) contactData {
	d := contactData{servicesIntro: v.intro(slug)}
	for _, x := range cs {
		cv := contactView{Kind: v.t("fund.kind." + string(x.Kind)), Label: x.Label.In(v.lang),
			Value: x.Value.In(v.lang), Note: x.Note.In(v.lang), Hours: v.slots(x.Hours), Example: x.Example}
		if x.Kind == fund.KindPhone {
			cv.Tel = telURL(cv.Value)
		}
		d.Contacts = append(d.Contacts, cv)
	}
	return d
}

func (v views) slots(ss []fund.Slot) []slotView {
	var out []slotView
	for _, x := range ss {
		out = append(out, slotView{Days: v.days(x.Days), From: x.From, To: x.To})
	}
	return out
}

// days writes a set of weekdays shortly, Monday first: "ежедневно",
// "Пн–Пт", "Пн, Ср, Пт", "Пн–Ср, Сб".
func (v views) days(d fund.Days) string {
	if d&fund.EveryDay == fund.EveryDay {
		return upperFirst(v.t("fund.days.every"))
	}
	short := func(i int) string { return v.t("fund.weekday.short." + strconv.Itoa(int(fund.Week[i]))) }
	var parts []string
	for i := 0; i < len(fund.Week); {
		if !d.Has(fund.Week[i]) {
			i++
			continue
		}
		j := i
		for j+1 < len(fund.Week) && d.Has(fund.Week[j+1]) {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, short(i)+"–"+short(j))
		case j > i:
			parts = append(parts, short(i), short(j))
		default:
			parts = append(parts, short(i))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func (v views) date(t time.Time) string {
	return v.t("fund.date", map[string]any{"Day": t.Day(), "Month": v.t("fund.month." + strconv.Itoa(int(t.Month())))})
}

// telURL makes a tel: link of a validated phone number (digits and a
// leading +), so it is safe to mark as a URL.
func telURL(phone string) template.URL {
	var b strings.Builder
	b.WriteString("tel:")
	for i, r := range phone {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return template.URL(b.String())
}

// lowerFirst lowers the first letter of a label that goes on after a
// comma, unless it starts an acronym ("HIV test" stays).
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r2, _ := utf8.DecodeRuneInString(s[n:]); n == 0 || unicode.IsUpper(r2) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
