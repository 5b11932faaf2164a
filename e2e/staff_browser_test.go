package e2e

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tropa/internal/browser"
)

var staffLine = regexp.MustCompile(`^local staff interface: (http://127\.0\.0\.1:\d+)/ru/staff/$`)

// TestBrowserStaffAnswersPrivateQuestion, in Chromium with JavaScript off:
// a visitor asks a private question; a staff member (added with `tropa
// staff add` while tropa runs) logs in, finds it in the unanswered queue and
// answers; the visitor reads the answer with the receipt; the public board
// never shows the thread.
func TestBrowserStaffAnswersPrivateQuestion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser.RequireLoopbackOnly(t)
	shots := screenshotDir(t)
	data := filepath.Join(t.TempDir(), "data")
	p := startTropa(t, nil, "serve", "--tor=false", "--http", "127.0.0.1:0", "--staff-http", "127.0.0.1:0", "--data", data)
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	staffBase := p.WaitLine(t, staffLine, 30*time.Second)[1]
	add := exec.Command(tropaBin, "staff", "add", "olga", "--role", "outreach", "--display-name", "Ольга, аутрич", "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader("a long staff password\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("staff add: %v\n%s", err, out)
	}

	// The visitor asks privately.
	b := browser.New(t)
	if _, err := b.Open(base + "/ru/ask?section=hepatitis"); err != nil {
		t.Fatal(err)
	}
	_, digits := captchaAnswer(t, base, pageSource(t, b))
	title := "Можно ли вылечить гепатит C?"
	b.SendKeys("#title", title)
	b.SendKeys("#body", "Мне сказали, что анализ на антитела положительный.")
	b.Click("#vis-private")
	b.SendKeys("#captcha", digits)
	if pg, err := b.ClickNavigate("#send"); err != nil || !strings.HasSuffix(pg.URL, "/ru/receipt") {
		t.Fatalf("ask: %+v %v", pg, err)
	}
	receipt, _ := b.Text("#receipt")
	receipt = strings.TrimSpace(receipt)

	// Staff log in and answer from the queue.
	sb := browser.New(t)
	if _, err := sb.Open(staffBase + "/ru/staff/"); err != nil {
		t.Fatal(err)
	}
	if loc, _ := sb.Location(); !strings.HasSuffix(loc, "/ru/staff/login") {
		t.Fatalf("no login page without a session: %s", loc)
	}
	sb.SendKeys("#name", "olga")
	sb.SendKeys("#password", "a long staff password")
	if _, err := sb.ClickNavigate("#login"); err != nil {
		t.Fatal(err)
	}
	queue := pageSource(t, sb)
	m := regexp.MustCompile(`href="(/ru/staff/t/\d+)">` + regexp.QuoteMeta(title)).FindStringSubmatch(queue)
	if m == nil {
		t.Fatalf("the question is not in the queue:\n%.2000s", queue)
	}
	sb.Screenshot(filepath.Join(shots, "staff-queue-1000.png"), 1000, 900)
	if _, err := sb.Open(staffBase + m[1]); err != nil {
		t.Fatal(err)
	}
	sb.SendKeys("#body", "Да: современные препараты излечивают более 95% людей за 8–12 недель.")
	if _, err := sb.ClickNavigate("#send"); err != nil {
		t.Fatal(err)
	}
	sb.Screenshot(filepath.Join(shots, "staff-thread-400.png"), 400, 800)

	// The visitor reads the answer with the receipt.
	b2 := browser.New(t)
	b2.Open(base + "/en/mine")
	b2.SendKeys("#receipt", receipt)
	if _, err := b2.ClickNavigate("#open"); err != nil {
		t.Fatal(err)
	}
	mine := pageSource(t, b2)
	if !strings.Contains(mine, "излечивают более 95%") || !strings.Contains(mine, "Ольга, аутрич") || !strings.Contains(mine, "fund staff") {
		t.Fatalf("the visitor does not see the staff answer:\n%.3000s", mine)
	}
	b2.Screenshot(filepath.Join(shots, "staff-answer-mine-400.png"), 400, 800)

	// Not on the public board.
	b2.Open(base + "/ru/board/hepatitis")
	if strings.Contains(pageSource(t, b2), title) {
		t.Error("the private question is on the public board")
	}
}
