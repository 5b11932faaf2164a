package site

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"tropa/metrics"
)

// Outreach metrics: page views are counted per section in the request path
// (an atomic add in metrics.Recorder, nothing else: no path, no time, no
// visitor), questions and answers by the forum's storage
// (store.CountedForumRepo), bookings by booking.go. The staff page draws the last
// 12 weeks as bar charts in HTML and CSS: each bar is a <span> whose width
// is a CSS class in 5% steps (the CSP forbids style attributes), next to
// its number, so the chart reads the same without CSS or with a screen
// reader.

func init() {
	kinds = append(kinds, "staff_metrics")
}

// metricsWeeks is how many weeks the staff page shows.
const metricsWeeks = 12

// countViews counts a successful GET of a public page in its section.
func (s *Site) countViews(next echo.HandlerFunc) echo.HandlerFunc {
	rec := s.opts.Metrics
	if rec == nil {
		return next
	}
	return func(c echo.Context) error {
		err := next(c)
		if err == nil && c.Request().Method == http.MethodGet && c.Response().Status == http.StatusOK {
			if ctr, ok := viewCounter(c.Path()); ok {
				rec.Inc(ctr)
			}
		}
		return err
	}
}

// viewCounter maps a route ("/ru/board/:slug") to its section's counter.
// Forms (ask, book, mine, …) are not views: they are counted as what they
// do, if at all.
func viewCounter(route string) (metrics.Counter, bool) {
	if len(route) < 4 || route[0] != '/' || route[3] != '/' {
		return 0, false
	}
	first, _, _ := strings.Cut(route[4:], "/")
	switch first {
	case "":
		return metrics.ViewsHome, true
	case "overdose":
		return metrics.ViewsOverdose, true
	case "services":
		return metrics.ViewsServices, true
	case "hiv":
		return metrics.ViewsHIV, true
	case "hepatitis":
		return metrics.ViewsHepatitis, true
	case "injecting":
		return metrics.ViewsInjecting, true
	case "harm-reduction":
		return metrics.ViewsHarmReduction, true
	case "about", "privacy", "sources":
		return metrics.ViewsAbout, true
	case "board", "t":
		return metrics.ViewsBoard, true
	case "news", "news.atom":
		return metrics.ViewsNews, true
	}
	return 0, false
}

// ---- the staff page --------------------------------------------------------------

func (s *Site) registerStaffMetrics(g *echo.Group) {
	if s.opts.Metrics == nil {
		return
	}
	g.Match([]string{http.MethodGet, http.MethodHead}, "/metrics", s.staffMetrics)
}

type staffMetricsData struct {
	staffLayout
	Charts []chart
}

// chart is one bar chart: a row per week (or section), one or two bars per
// row.
type chart struct {
	ID, Title, Note string
	RowHead         string
	Legend          []legendItem
	Rows            []chartRow
}

type legendItem struct{ Label, Class string }

type chartRow struct {
	Label string
	Bars  []chartBar
}

type chartBar struct {
	Class string // the series' colour and the width: "a w35"
	Text  string
	Label string // the series, for screen readers
}

// barWidth is value's share of max as a CSS class, in 5% steps; a value
// above zero is never drawn as nothing.
func barWidth(value, top uint64) string {
	if top == 0 || value == 0 {
		return "w0"
	}
	w := int((value*40 + top) / (2 * top) * 5) // value/top in twentieths, rounded
	return "w" + strconv.Itoa(min(100, max(w, 5)))
}

func (s *Site) staffMetrics(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	rows, err := s.opts.Metrics.Weeks(c.Request().Context(), metricsWeeks)
	if err != nil {
		return err
	}
	t := func(key string) string { return s.cat.T(lang, key) }
	v := views{s: s, lang: lang}
	d := staffMetricsData{staffLayout: s.staffFrame(c, "/metrics", t("staff.metrics.title"))}
	weekLabel := func(r metrics.WeekRow) string { return v.date(r.Start) }

	// series draws one chart of one or two series over the weeks, bars
	// relative to the largest value or to floor, whichever is larger.
	series := func(id, title, note string, names []string, floor uint64, val func(r metrics.WeekRow, i int) uint64, text func(r metrics.WeekRow, i int) string) {
		ch := chart{ID: id, Title: title, Note: note, RowHead: t("staff.metrics.week")}
		top := floor
		for _, r := range rows {
			for i := range names {
				top = max(top, val(r, i))
			}
		}
		classes := []string{"a", "b"}
		if len(names) > 1 {
			for i, n := range names {
				ch.Legend = append(ch.Legend, legendItem{Label: n, Class: classes[i]})
			}
		}
		for _, r := range rows {
			row := chartRow{Label: weekLabel(r)}
			for i, n := range names {
				x := val(r, i)
				txt := strconv.FormatUint(x, 10)
				if text != nil {
					txt = text(r, i)
				}
				row.Bars = append(row.Bars, chartBar{Class: classes[i] + " " + barWidth(x, top), Text: txt, Label: n})
			}
			ch.Rows = append(ch.Rows, row)
		}
		d.Charts = append(d.Charts, ch)
	}
	series("views", t("staff.metrics.views"), t("staff.metrics.views_note"), []string{t("staff.metrics.views")}, 0,
		func(r metrics.WeekRow, _ int) uint64 { return r.Views() }, nil)
	series("questions", t("staff.metrics.questions"), "", []string{t("staff.metrics.public"), t("staff.metrics.private")}, 0,
		func(r metrics.WeekRow, i int) uint64 {
			if i == 0 {
				return r.Counts[metrics.QuestionsPublic]
			}
			return r.Counts[metrics.QuestionsPrivate]
		}, nil)
	series("answered", t("staff.metrics.answered"), t("staff.metrics.answered_note"), []string{t("staff.metrics.answered")}, 0,
		func(r metrics.WeekRow, _ int) uint64 { return r.Counts[metrics.Answered] }, nil)
	series("median", t("staff.metrics.median"), t("staff.metrics.median_note"), []string{t("staff.metrics.median")},
		// A day is the shortest full bar: a week whose answers all came
		// within the hour is not drawn as long as a slow one.
		25,
		func(r metrics.WeekRow, _ int) uint64 {
			if !r.HasMedian {
				return 0
			}
			return uint64(r.MedianLo) + 1 // an answer within the hour still shows
		},
		func(r metrics.WeekRow, _ int) string { return s.medianText(lang, r) })
	series("bookings", t("staff.metrics.bookings"), "", []string{t("staff.metrics.made"), t("staff.metrics.attended")}, 0,
		func(r metrics.WeekRow, i int) uint64 {
			if i == 0 {
				return r.Counts[metrics.BookingsMade]
			}
			return r.Counts[metrics.BookingsAttended]
		}, nil)

	// Views by section over the 12 weeks.
	sec := chart{ID: "sections", Title: t("staff.metrics.sections"), RowHead: t("staff.metrics.section")}
	var top uint64
	totals := make([]uint64, len(metrics.Views))
	for i, ctr := range metrics.Views {
		for _, r := range rows {
			totals[i] += r.Counts[ctr]
		}
		top = max(top, totals[i])
	}
	for i, ctr := range metrics.Views {
		sec.Rows = append(sec.Rows, chartRow{Label: t("staff.metrics." + ctr.Name()),
			Bars: []chartBar{{Class: "a " + barWidth(totals[i], top), Text: strconv.FormatUint(totals[i], 10), Label: t("staff.metrics.views")}}})
	}
	d.Charts = append(d.Charts, sec)
	return s.renderForm(c, "staff_metrics", http.StatusOK, d)
}

// medianText writes a week's median delay: "5 h", "48–71 h", "336+ h", or
// a dash for a week without answers.
func (s *Site) medianText(lang string, r metrics.WeekRow) string {
	switch {
	case !r.HasMedian:
		return "—"
	case r.MedianHi < 0:
		return s.cat.T(lang, "staff.metrics.hours_more", map[string]any{"N": r.MedianLo})
	case r.MedianHi == r.MedianLo:
		return s.cat.T(lang, "staff.metrics.hours", map[string]any{"N": r.MedianLo})
	}
	return s.cat.T(lang, "staff.metrics.hours_range", map[string]any{"Lo": r.MedianLo, "Hi": r.MedianHi})
}
