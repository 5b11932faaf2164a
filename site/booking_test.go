package site_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"tropa/fund"
	"tropa/internal/circuit"
	"tropa/metrics"
	"tropa/site"
)

var (
	bookOptionRe = regexp.MustCompile(`<option value="(\d+/\d{4}-\d{2}-\d{2})">([^<]*)</option>`)
	bookedCodeRe = regexp.MustCompile(`id="code">([23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6})<`)
)

// option returns the first choice on the schedule page whose label
// contains want.
func option(t *testing.T, schedule, want string) string {
	t.Helper()
	for _, m := range bookOptionRe.FindAllStringSubmatch(schedule, -1) {
		if strings.Contains(m[2], want) {
			return m[1]
		}
	}
	t.Fatalf("no booking option with %q on the schedule", want)
	return ""
}

func TestBookingFlow(t *testing.T) {
	ts := newToolsSite(t, time.Now(), true)
	v := ts.visitor(t)
	schedule := ts.publicPage(t, "/ru/services/schedule")
	form := between(schedule, `<form method="get" action="/ru/book"`, "</form>")
	if form == "" || strings.Contains(form, "csrf") {
		t.Fatalf("the schedule's booking step is not a plain GET form:\n%s", form)
	}
	hep := option(t, schedule, "(ВИЧ, гепатиты)")
	hivOnly := option(t, schedule, "(ВИЧ)")

	// The chosen slot comes to the form, with a captcha and nothing else to fill.
	st, page := v.get("/ru/book?slot=" + url.QueryEscape(hep) + "&test=hepatitis")
	if st != http.StatusOK || !strings.Contains(page, `value="`+hep+`" selected`) || !strings.Contains(page, `id="test-hepatitis" name="test" value="hepatitis" checked`) {
		t.Fatalf("the booking form does not carry the choice: %d\n%.3000s", st, page)
	}
	if !strings.Contains(page, `name="captcha_id"`) {
		t.Fatal("no captcha on the booking form")
	}
	if n := len(regexp.MustCompile(`<(input|select|textarea)[^>]*name="`).FindAllString(page, -1)); n != 6 { // csrf, slot, 2 tests, captcha id and answer
		t.Errorf("the form has %d fields, want 6 (nothing about the visitor)", n)
	}

	// Refused: a wrong captcha, a missing token, a past day, a test the stop lacks, too far ahead.
	bad := v.fillFrom(page, url.Values{"slot": {hep}, "test": {"hepatitis"}})
	bad.Set("captcha", "000000x")
	if st, _, _ := v.post("/ru/book", bad); st != http.StatusUnprocessableEntity || !strings.Contains(v.lp, `class="err"`) {
		t.Errorf("wrong captcha: %d", st)
	}
	if st, _, _ := v.post("/ru/book", url.Values{"slot": {hep}, "test": {"hiv"}}); st != http.StatusUnprocessableEntity || !strings.Contains(v.lp, "Форма устарела") {
		t.Errorf("no CSRF token: %d", st)
	}
	today := fund.DateOf(ts.clock.now())
	stop := strings.Split(hep, "/")[0]
	for name, c := range map[string]struct{ slot, test, want string }{
		"past":    {stop + "/" + today.AddDate(0, 0, -1).Format(fund.DateLayout), "hiv", "уже прошёл"},
		"far":     {stop + "/" + today.AddDate(0, 0, 20).Format(fund.DateLayout), "hiv", "две недели"},
		"no test": {hivOnly, "hepatitis", "такой тест не делают"},
		"no stop": {"999/" + today.Format(fund.DateLayout), "hiv", "из списка"},
		"garbage": {"abc", "hiv", "из списка"},
	} {
		v.get("/ru/book")
		if st, _, _ := v.post("/ru/book", v.fillFrom(v.lp, url.Values{"slot": {c.slot}, "test": {c.test}})); st != http.StatusUnprocessableEntity || !strings.Contains(v.lp, c.want) {
			t.Errorf("%s: %d, want 422 with %q\n%s", name, st, c.want, between(v.lp, "<main", "</main>"))
		}
	}

	// Booked: the code, to this browser only.
	v.get("/ru/book?slot=" + url.QueryEscape(hep) + "&test=hepatitis")
	st, loc, _ := v.post("/ru/book", v.fillFrom(v.lp, url.Values{"slot": {hep}, "test": {"hepatitis"}}))
	if st != http.StatusSeeOther || loc != "/ru/booked" {
		t.Fatalf("book: %d %q\n%s", st, loc, between(v.lp, "<main", "</main>"))
	}
	_, booked := v.get("/ru/booked")
	m := bookedCodeRe.FindStringSubmatch(booked)
	if m == nil || !strings.Contains(booked, "Тест на гепатиты B и C") {
		t.Fatalf("no code shown:\n%s", between(booked, "<main", "</main>"))
	}
	code := m[1]
	if scriptRe.MatchString(booked) {
		t.Error("script on /ru/booked")
	}
	if st, _ := ts.visitor(t).get("/ru/booked"); st != http.StatusSeeOther {
		t.Errorf("another browser opens /ru/booked: %d", st)
	}

	// Staff see it under its stop and date, and mark it done.
	olga := ts.staff(t, "olga")
	_, list := olga.get("/ru/staff/bookings")
	if !strings.Contains(list, `<code class="code">`+code+`</code>`) || !strings.Contains(list, "Тест на гепатиты B и C") {
		t.Fatalf("staff do not see the booking:\n%.3000s", list)
	}
	if _, found := olga.get("/ru/staff/bookings?code=" + strings.ToLower(code)); !strings.Contains(found, code) {
		t.Error("finding the code (typed in lower case) fails")
	}
	if _, found := olga.get("/ru/staff/bookings?code=ZZZZZZ"); strings.Contains(found, code) || !strings.Contains(found, "Такого кода нет") {
		t.Error("finding another code shows this one")
	}
	slotStop, slotDate, _ := strings.Cut(hep, "/")
	done := url.Values{"stop": {slotStop}, "date": {slotDate}, "code": {code}}
	if st, _, _ := olga.post("/ru/staff/bookings/done", done); st != http.StatusForbidden {
		t.Errorf("mark done without CSRF: %d", st)
	}
	if st, _ := olga.send("/ru/staff/bookings", "/ru/staff/bookings/done", done); st != http.StatusSeeOther {
		t.Fatalf("mark done: %d", st)
	}
	olga.send("/ru/staff/bookings", "/ru/staff/bookings/done", done) // twice: counted once
	if _, list := olga.get("/ru/staff/bookings"); !strings.Contains(list, "тест сделан") {
		t.Error("the booking is not marked done")
	}
	weeks, err := ts.rec.Weeks(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if c := weeks[0].Counts; c[metrics.BookingsMade] != 1 || c[metrics.BookingsAttended] != 1 {
		t.Errorf("bookings made %d, attended %d; want 1, 1", c[metrics.BookingsMade], c[metrics.BookingsAttended])
	}

	// A day after its date it is gone.
	date, _ := time.ParseInLocation(fund.DateLayout, slotDate, fund.Zone)
	ts.clock.set(date.AddDate(0, 0, 2).Add(time.Minute))
	if _, list := olga.get("/ru/staff/bookings"); strings.Contains(list, code) {
		t.Error("the booking outlived the day after its date")
	}
}

// circConn is a connection that came in on a Tor circuit.
type circConn struct {
	net.Conn
	key circuit.Key
}

func (c circConn) Circuit() (circuit.Key, bool) { return c.key, true }

// The per-circuit write limit guards the booking form as it guards the
// board's: past the burst, a circuit's bookings get 429.
func TestBookingPerCircuitLimit(t *testing.T) {
	ts := newToolsSite(t, time.Now(), false)
	h := ts.s.Handler()
	do := func(method, path string, form url.Values, cookie string) *httptest.ResponseRecorder {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req := httptest.NewRequest(method, path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		req = req.WithContext(circuit.ConnContext(req.Context(), circConn{key: circuit.Key{ID: 7}}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := do(http.MethodGet, "/ru/book", nil, "")
	cookie := strings.Split(rec.Header().Get("Set-Cookie"), ";")[0]
	csrf := csrfRe.FindStringSubmatch(rec.Body.String())[1]
	var codes []int
	for i := 0; i < fundDefaultBurst+1; i++ {
		codes = append(codes, do(http.MethodPost, "/ru/book", url.Values{"csrf": {csrf}, "slot": {"1/2000-01-01"}, "test": {"hiv"}}, cookie).Code)
	}
	if last := codes[len(codes)-1]; last != http.StatusTooManyRequests || codes[0] != http.StatusUnprocessableEntity {
		t.Errorf("bookings on one circuit: %v, want 422s then 429", codes)
	}
}

// fundDefaultBurst is site.DefaultLimits.PostBurst.
var fundDefaultBurst = site.DefaultLimits.PostBurst
