package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tropa/internal/browser"
	"tropa/internal/store"
	keyring "tropa/keys"
	"tropa/metrics"
)

// seedMetricsHistory writes eleven past weeks of outreach totals into the
// store of data (before tropa serves it), as tropa would have: daily
// totals and weekly answer-delay counts.
func seedMetricsHistory(t *testing.T, data string) {
	t.Helper()
	ring, err := keyring.Open(filepath.Join(data, "keys"), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(store.Options{Dir: filepath.Join(data, "store"), Key: ring.StoreKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := metrics.Counts{Days: map[metrics.DayCounter]uint64{}, Hist: map[metrics.WeekBucket]uint64{}}
	this := metrics.WeekOf(time.Now())
	for i := 1; i <= 11; i++ {
		w := this - metrics.Week(i)
		n := uint64(12 - i) // rising towards this week
		for d := 0; d < 7; d++ {
			day := w.First() + metrics.Day(d)
			c.Days[metrics.DayCounter{Day: day, Counter: "views.home"}] = 20 + 4*n + uint64(d)
			c.Days[metrics.DayCounter{Day: day, Counter: "views.services"}] = 8 + n
			c.Days[metrics.DayCounter{Day: day, Counter: "views.hiv"}] = 5 + n
			c.Days[metrics.DayCounter{Day: day, Counter: "views.board"}] = 6 + uint64(d)
		}
		first := w.First()
		c.Days[metrics.DayCounter{Day: first + 1, Counter: "questions.public"}] = 3 + n/2
		c.Days[metrics.DayCounter{Day: first + 2, Counter: "questions.private"}] = 1 + n/3
		c.Days[metrics.DayCounter{Day: first + 3, Counter: "answered"}] = 3 + n/2
		c.Days[metrics.DayCounter{Day: first + 4, Counter: "bookings.made"}] = 2 + n
		c.Days[metrics.DayCounter{Day: first + 5, Counter: "bookings.attended"}] = 1 + n/2
		c.Hist[metrics.WeekBucket{Week: w, Bucket: metrics.BucketOf(int64(30 - 2*n))}] = 2
		c.Hist[metrics.WeekBucket{Week: w, Bucket: metrics.BucketOf(4)}] = 1
	}
	if err := store.NewMetricsRepo(db).AddCounts(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// freeLoopback returns a loopback address with a port free a moment ago.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestBrowserFundTools, in Chromium with JavaScript off: staff publish
// news, which visitors read (and screenshots are left of the news page); a
// visitor books a test from the schedule page, solving the captcha, and
// gets a code; staff find the booking and mark it done; the metrics page
// draws twelve weeks, eleven seeded in the store before tropa started and
// this one counted by the running tropa.
func TestBrowserFundTools(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser.RequireLoopbackOnly(t)
	shots := screenshotDir(t)
	data := filepath.Join(t.TempDir(), "data")
	add := exec.Command(tropaBin, "staff", "add", "olga", "--role", "outreach", "--display-name", "Ольга, аутрич", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("a long staff password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("staff add: %v\n%s", err, out)
	}
	seedMetricsHistory(t, data)
	// Two addresses: serve refuses the same one (even :0) for both.
	p := startTropa(t, nil, "serve", "--tor=false", "--http", "127.0.0.1:0", "--staff-http", freeLoopback(t), "--data", data)
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	staffBase := p.WaitLine(t, staffLine, 30*time.Second)[1]

	// Staff log in and publish news.
	sb := browser.New(t)
	if _, err := sb.Open(staffBase + "/ru/staff/login"); err != nil {
		t.Fatal(err)
	}
	sb.SendKeys("#name", "olga")
	sb.SendKeys("#password", "a long staff password")
	if _, err := sb.ClickNavigate("#login"); err != nil {
		t.Fatal(err)
	}
	posts := []struct{ title, body string }{
		{"Бесплатный тест на гепатит C в субботу", "В субботу в автобусе у площади — **тест на гепатит C**, бесплатно и анонимно.\n\nМожно записаться заранее на странице расписания."},
		{"Новый адрес остановки «Юг»", "Со вторника автобус стоит у торгового центра, с другой стороны проспекта."},
		{"Как понять результат экспресс-теста", "Реактивный экспресс-тест — ещё не диагноз: нужен подтверждающий анализ крови.\n\n- одна полоска — результат отрицательный\n- две — нужен анализ"},
	}
	for _, n := range posts {
		if _, err := sb.Open(staffBase + "/ru/staff/news"); err != nil {
			t.Fatal(err)
		}
		sb.SendKeys("#title", n.title)
		sb.SendKeys("#body", n.body)
		if pg, err := sb.ClickNavigate("#publish"); err != nil || !strings.Contains(pg.URL, "/ru/staff/news?done=1") {
			t.Fatalf("publish: %+v %v", pg, err)
		}
	}
	sb.Screenshot(filepath.Join(shots, "tools-staff-news-1000.png"), 1000, 900)

	// A page edit previewed (a round trip, no script), and the schedule form.
	if _, err := sb.Open(staffBase + "/ru/staff/pages/ru/overdose"); err != nil {
		t.Fatal(err)
	}
	sb.SendKeys("#body", "## Проверка предпросмотра\n\nЭтот абзац **ещё не сохранён**.\n\n") // typed where the caret is: at the start
	if pg, err := sb.ClickNavigate("#preview-page"); err != nil || pg.Status != 200 {
		t.Fatalf("preview: %+v %v", pg, err)
	}
	if !strings.Contains(pageSource(t, sb), "<strong>ещё не сохранён</strong>") {
		t.Error("the preview does not show the rendered text")
	}
	sb.Screenshot(filepath.Join(shots, "tools-staff-page-preview-1000.png"), 1000, 900)
	if _, err := sb.Open(staffBase + "/ru/staff/schedule?edit=1"); err != nil {
		t.Fatal(err)
	}
	sb.Screenshot(filepath.Join(shots, "tools-staff-schedule-1000.png"), 1000, 900)

	// Visitors read them; the feed is Atom.
	b := browser.New(t)
	pg, err := b.Open(base + "/ru/news")
	if err != nil || pg.Status != 200 {
		t.Fatalf("/ru/news: %+v %v", pg, err)
	}
	news := pageSource(t, b)
	for _, n := range posts {
		if !strings.Contains(news, n.title) {
			t.Errorf("/ru/news lacks %q", n.title)
		}
	}
	if !strings.Contains(news, "<strong>тест на гепатит C</strong>") {
		t.Error("/ru/news does not render the Markdown")
	}
	b.Screenshot(filepath.Join(shots, "tools-news-1000.png"), 1000, 900)
	b.Screenshot(filepath.Join(shots, "tools-news-400.png"), 400, 800)
	checkNoOverflow(t, b)
	axeClean(t, b, "/ru/news")
	b.Open(base + "/ru/")
	if home := pageSource(t, b); !strings.Contains(home, "Новости фонда") || !strings.Contains(home, posts[2].title) {
		t.Error("the home page lacks the latest news")
	}
	b.Screenshot(filepath.Join(shots, "tools-home-news-400.png"), 400, 800)
	resp, err := http.Get(base + "/ru/news.atom")
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" || strings.Count(string(feed), "<entry>") != 3 {
		t.Errorf("the feed: %s\n%s", resp.Header.Get("Content-Type"), feed)
	}

	// A visitor books a test from the schedule page.
	if _, err := b.Open(base + "/ru/services/schedule"); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(filepath.Join(shots, "tools-book-1-schedule-400.png"), 400, 800)
	pg, err = b.ClickNavigate("#book-next")
	if err != nil || pg.Status != 200 || !strings.Contains(pg.URL, "/ru/book?slot=") {
		t.Fatalf("to the booking form: %+v %v", pg, err)
	}
	form := pageSource(t, b)
	_, digits := captchaAnswer(t, base, form)
	if digits == "" {
		t.Fatal("no captcha on the booking form")
	}
	b.SendKeys("#captcha", digits)
	b.Screenshot(filepath.Join(shots, "tools-book-2-form-400.png"), 400, 800)
	checkNoOverflow(t, b)
	axeClean(t, b, "/ru/book")
	pg, err = b.ClickNavigate("#send")
	if err != nil || pg.Status != 200 || !strings.HasSuffix(pg.URL, "/ru/booked") {
		t.Fatalf("book: %+v %v\n%.2000s", pg, err, pageSource(t, b))
	}
	code, _ := b.Text("#code")
	code = strings.TrimSpace(code)
	if !regexp.MustCompile(`^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$`).MatchString(code) {
		t.Fatalf("booking code %q", code)
	}
	b.Screenshot(filepath.Join(shots, "tools-book-3-code-1000.png"), 1000, 900)
	b.Screenshot(filepath.Join(shots, "tools-book-3-code-400.png"), 400, 800)
	checkNoOverflow(t, b)
	axeClean(t, b, "/ru/booked")

	// Staff find it and mark it done.
	if _, err := sb.Open(staffBase + "/ru/staff/bookings"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pageSource(t, sb), code) {
		t.Fatalf("staff do not see booking %s", code)
	}
	if _, err := sb.ClickNavigate("#done-" + code); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pageSource(t, sb), "тест сделан") {
		t.Error("the booking is not marked done")
	}
	sb.Screenshot(filepath.Join(shots, "tools-staff-bookings-1000.png"), 1000, 900)

	// The metrics page: twelve weeks, the last one counted live.
	if _, err := sb.Open(staffBase + "/ru/staff/metrics"); err != nil {
		t.Fatal(err)
	}
	m := pageSource(t, sb)
	views := m[strings.Index(m, `id="chart-views"`):]
	views = views[:strings.Index(views, "</section>")]
	if rows := strings.Count(views, `<th scope="row">`); rows != 12 {
		t.Errorf("the views chart has %d rows, want 12", rows)
	}
	bookings := m[strings.Index(m, `id="chart-bookings"`):]
	bookings = bookings[:strings.Index(bookings, "</section>")]
	lastRow := bookings[strings.LastIndex(bookings, `<th scope="row">`):]
	if !strings.Contains(lastRow, ">1</span>") {
		t.Errorf("this week's booking is not on the chart:\n%s", lastRow)
	}
	sb.Screenshot(filepath.Join(shots, "tools-metrics-1000.png"), 1000, 900)
	sb.Screenshot(filepath.Join(shots, "tools-metrics-400.png"), 400, 800)
	axeClean(t, sb, "the metrics page")
	p.Stop(t, 20*time.Second)
}

// axeClean fails the test on a serious or critical axe finding on the
// browser's page.
func axeClean(t *testing.T, b *browser.Browser, name string) {
	t.Helper()
	vs, err := b.Axe()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Serious() {
			t.Errorf("axe on %s: %s", name, v)
		}
	}
}
