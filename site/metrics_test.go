package site_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tropa/metrics"
)

// TestMetricsScriptedRun drives twelve weeks of visits, questions and
// answers through the real handlers, then checks that the weekly totals add
// up, that the staff page draws them, and that the store holds nothing but
// daily totals and weekly answer-delay counts: no per-visitor record, no
// identifier, no time of a single event.
func TestMetricsScriptedRun(t *testing.T) {
	now := time.Now().In(msk)
	monday := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, msk).AddDate(0, 0, -(int(now.Weekday())+6)%7)
	first := monday.AddDate(0, 0, -7*11)
	ts := newToolsSite(t, first, false)
	olga := ts.staff(t, "olga")
	var sessions []string
	remember := func(v *visitor) {
		for _, c := range v.c.Jar.Cookies(mustURL(ts.pub.URL)) {
			sessions = append(sessions, c.Value)
		}
	}
	ask := func(title string, private bool) string {
		a := ts.visitor(t)
		vis := "public"
		if private {
			vis = "private"
		}
		if st, _, _ := a.post("/ru/ask", a.fill("/ru/ask", url.Values{"section": {"hiv"}, "title": {title},
			"body": {"Вопрос для проверки статистики."}, "visibility": {vis}})); st != http.StatusSeeOther {
			t.Fatalf("ask %q: %d", title, st)
		}
		remember(a)
		_, queue := olga.get("/ru/staff/")
		m := regexp.MustCompile(`href="(/ru/staff/t/\d+)">` + regexp.QuoteMeta(title) + `<`).FindStringSubmatch(queue)
		if m == nil {
			t.Fatalf("%q is not in the queue", title)
		}
		return m[1]
	}

	for i := 0; i < 12; i++ {
		ts.clock.set(first.AddDate(0, 0, 7*i))
		v := ts.visitor(t)
		for j := 0; j <= i; j++ {
			v.get("/ru/")
		}
		v.get("/ru/hiv")
		v.get("/en/hiv")
		v.get("/ru/board")
		v.get("/ru/services/schedule")
		v.get("/ru/ask")          // a form, not a view
		v.get("/ru/no-such-page") // 404: not a view
		remember(v)
		thread := ask("Вопрос недели "+strconv.Itoa(i), false)
		if i%2 == 0 {
			ask("Приватный вопрос недели "+strconv.Itoa(i), true)
		}
		ts.clock.set(first.AddDate(0, 0, 7*i).Add(time.Duration(i) * time.Hour))
		for _, body := range []string{"Первый ответ сотрудника.", "Второй ответ: не первый, не считается."} {
			if st, _ := olga.send(thread, thread+"/reply", url.Values{"body": {body}}); st != http.StatusSeeOther {
				t.Fatalf("staff reply: %d", st)
			}
		}
		if i == 5 {
			if err := ts.rec.Flush(context.Background()); err != nil { // half stored, half in memory
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	ts.clock.set(monday.AddDate(0, 0, 2))
	weeks, err := ts.rec.Weeks(ctx, 12)
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		weeks, err := ts.rec.Weeks(ctx, 12)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range weeks {
			want := map[metrics.Counter]uint64{metrics.ViewsHome: uint64(i + 1), metrics.ViewsHIV: 2, metrics.ViewsBoard: 1,
				metrics.ViewsServices: 1, metrics.QuestionsPublic: 1, metrics.Answered: 1}
			if i%2 == 0 {
				want[metrics.QuestionsPrivate] = 1
			}
			for c := metrics.Counter(0); c < metrics.NumCounters; c++ {
				if w.Counts[c] != want[c] {
					t.Errorf("%s: week %d (%s) %s = %d, want %d", stage, i, w.Start.Format(time.DateOnly), c.Name(), w.Counts[c], want[c])
				}
			}
			if !w.HasMedian || w.MedianLo != i || w.MedianHi != i {
				t.Errorf("%s: week %d median %v %d–%d, want %d h", stage, i, w.HasMedian, w.MedianLo, w.MedianHi, i)
			}
		}
	}
	check("before the flush")
	if weeks[11].Start.Format(time.DateOnly) != monday.Format(time.DateOnly) {
		t.Errorf("the last week starts %s, want %s", weeks[11].Start, monday)
	}
	if err := ts.rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the flush")

	// The staff page draws the twelve weeks.
	_, page := olga.get("/ru/staff/metrics")
	views := between(page, `id="chart-views"`, "</section>")
	if rows := strings.Count(views, `<th scope="row">`); rows != 12 {
		t.Errorf("the views chart has %d rows, want 12", rows)
	}
	if !strings.Contains(views, `class="bar a w100"`) || !strings.Contains(views, `<span class="num">16</span>`) {
		t.Errorf("the views chart lacks its longest bar or its number:\n%s", views)
	}
	median := between(page, `id="chart-median"`, "</section>")
	if !strings.Contains(median, "11 ч") || !strings.Contains(median, "0 ч") {
		t.Errorf("the median chart lacks its hours:\n%s", median)
	}
	// Bars of the median are relative to at least a day: 11 hours is not
	// a full bar, and "0 h" is the shortest one.
	if strings.Contains(median, "w100") || !strings.Contains(median, `class="bar a w5"`) {
		t.Errorf("the median chart's bars are not scaled to a day:\n%s", median)
	}
	if regexp.MustCompile(`(?i)\sstyle\s*=|<script`).MatchString(page) {
		t.Error("the metrics page has an inline style or a script")
	}

	// The store: only daily totals and weekly delay counts, whose number
	// grows with days and counters, never with visitors.
	metricKeys := func() (int, map[string]uint64) {
		n, vals := 0, map[string]uint64{}
		err := ts.db.ForEach(nil, func(k, v []byte) error {
			for _, s := range sessions {
				if bytes.Contains(k, []byte(s)) || bytes.Contains(v, []byte(s)) {
					t.Errorf("a visitor's session %q is in the store under %q", s, k)
				}
			}
			if !bytes.HasPrefix(k, []byte("x/")) {
				return nil
			}
			n++
			switch {
			case bytes.HasPrefix(k, []byte("x/d/")) && len(k) > 8:
				if _, ok := metrics.CounterNamed(string(k[8:])); !ok {
					t.Errorf("unknown daily counter %q", k)
				}
			case bytes.HasPrefix(k, []byte("x/h/")) && len(k) == 9:
			default:
				t.Errorf("a metrics key of another shape: %q", k)
			}
			if len(v) != 9 {
				t.Errorf("metrics value %q under %q is not a count", v, k)
			}
			vals[string(k)] = uint64(v[1])<<56 | uint64(v[2])<<48 | uint64(v[3])<<40 | uint64(v[4])<<32 |
				uint64(v[5])<<24 | uint64(v[6])<<16 | uint64(v[7])<<8 | uint64(v[8])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, vals
	}
	n, _ := metricKeys()
	// Per week: home, hiv, board, services, public questions, answered
	// (+ private questions every other week), and one delay bucket.
	if want := 12*6 + 6 + 12; n != want {
		t.Errorf("%d metrics keys, want %d", n, want)
	}
	for i := 0; i < 40; i++ {
		v := ts.visitor(t)
		v.get("/ru/hiv")
		remember(v)
	}
	if err := ts.rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n2, vals := metricKeys()
	if n2 != n+1 { // the day of the 40 visits had no views.hiv yet
		t.Errorf("40 more visitors made %d new metrics keys, want 1", n2-n)
	}
	var hiv uint64
	for k, v := range vals {
		if strings.HasSuffix(k, "views.hiv") {
			hiv += v
		}
	}
	if hiv != 12*2+40 {
		t.Errorf("views.hiv totals %d, want %d", hiv, 12*2+40)
	}
}
