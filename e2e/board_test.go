package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tropa/forum"
	"tropa/internal/browser"
)

// captchaAnswer asks a test build for the digits of the challenge on the
// current form (a production build has no such route: see
// TestNoTestHookInProduction).
func captchaAnswer(t *testing.T, base, page string) (id, digits string) {
	t.Helper()
	m := regexp.MustCompile(`name="captcha_id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return "", ""
	}
	resp, err := http.Get(base + "/__test/captcha/" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("captcha hook: %d", resp.StatusCode)
	}
	return m[1], string(b)
}

func pageSource(t *testing.T, b *browser.Browser) string {
	t.Helper()
	var html string
	if err := b.Eval(`document.documentElement.outerHTML`, &html); err != nil {
		t.Fatal(err)
	}
	return html
}

// TestBrowserAskFlow: in Chromium with JavaScript off, a visitor asks a
// public question (solving the captcha), keeps the receipt by typing it
// back, opens "my questions" with it and reads the thread on the board.
func TestBrowserAskFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser.RequireLoopbackOnly(t)
	shots := screenshotDir(t)
	p := startTropa(t, nil, "serve", "--tor=false", "--http", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"))
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	b := browser.New(t)

	if _, err := b.Open(base + "/ru/ask?section=overdose"); err != nil {
		t.Fatal(err)
	}
	src := pageSource(t, b)
	if !strings.Contains(src, `<img src="data:image/png;base64,`) {
		t.Fatal("no captcha image on the ask form")
	}
	_, digits := captchaAnswer(t, base, src)
	title := "Что делать, если друг не просыпается?"
	for sel, text := range map[string]string{"#title": title, "#body": "Он дышит очень редко. Что делать до приезда скорой?", "#captcha": digits} {
		if err := b.SendKeys(sel, text); err != nil {
			t.Fatalf("type into %s: %v", sel, err)
		}
	}
	b.Screenshot(filepath.Join(shots, "flow-ask-filled-400.png"), 400, 800)
	pg, err := b.ClickNavigate("#send")
	if err != nil {
		t.Fatal(err)
	}
	if pg.Status != 200 || !strings.HasSuffix(pg.URL, "/ru/receipt") {
		t.Fatalf("after sending: %d %s\n%.1500s", pg.Status, pg.URL, pageSource(t, b))
	}
	receipt, err := b.Text("#receipt")
	if err != nil || !regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4}$`).MatchString(strings.TrimSpace(receipt)) {
		t.Fatalf("receipt shown: %q %v", receipt, err)
	}
	receipt = strings.TrimSpace(receipt)
	b.Screenshot(filepath.Join(shots, "flow-receipt-1000.png"), 1000, 900)
	if err := b.SendKeys("#receipt-back", receipt); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ClickNavigate("#confirm"); err != nil {
		t.Fatal(err)
	}
	if res, _ := b.Text("#result"); !strings.Contains(res, "Всё верно") {
		t.Fatalf("typing the receipt back: %q", res)
	}

	// A new browser (no cookies) comes back with the receipt.
	b2 := browser.New(t)
	if _, err := b2.Open(base + "/ru/mine"); err != nil {
		t.Fatal(err)
	}
	b2.SendKeys("#receipt", receipt)
	if _, err := b2.ClickNavigate("#open"); err != nil {
		t.Fatal(err)
	}
	mine := pageSource(t, b2)
	if !strings.Contains(mine, title) {
		t.Fatalf("my questions does not show the question:\n%.2000s", mine)
	}
	b2.Screenshot(filepath.Join(shots, "flow-mine-400.png"), 400, 800)

	// The public thread is on the board and reads the same.
	if _, err := b2.Open(base + "/ru/board/overdose"); err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`href="(/ru/t/\d+)">` + regexp.QuoteMeta(title)).FindStringSubmatch(pageSource(t, b2))
	if link == nil {
		t.Fatal("the question is not listed in its section")
	}
	pg, err = b2.Open(base + link[1])
	if err != nil || pg.Status != 200 || len(pg.Requests) > 2 {
		t.Fatalf("thread page: %+v %v", pg, err)
	}
	if h1, _ := b2.Text("h1"); h1 != title {
		t.Errorf("thread heading %q", h1)
	}
	b2.Screenshot(filepath.Join(shots, "flow-thread-1000.png"), 1000, 900)
}

// TestBrowserSectionPaging: in Chromium with JavaScript off, a section of
// three pages is read older and newer by its links (cursors, one request a
// page), the newer link of page 2 is the section's plain address, and an
// old numbered address lands on the page it names.
func TestBrowserSectionPaging(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser.RequireLoopbackOnly(t)
	shots := screenshotDir(t)
	data := filepath.Join(t.TempDir(), "data")
	// 45 questions, imported into a new data dir (so the section has no
	// opening thread) before tropa starts: pages of 20, 20 and 5.
	now := forum.HourOf(time.Now())
	exp := forum.Export{Format: forum.ExportFormat, Version: forum.ExportVersion, ExportedHour: now,
		Sections: []forum.ExportSection{{Slug: "overdose", Order: 3, Title: forum.ExportL10n{RU: "Передозировка"}}}}
	for i := 1; i <= 45; i++ {
		h := now - forum.Hour(i)
		exp.Threads = append(exp.Threads, forum.ExportThread{Section: "overdose", Title: fmt.Sprintf("Вопрос о помощи номер %02d", i),
			Created: h, LastActive: h, Posts: []forum.ExportPost{{N: 1, Author: "asker", Hour: h, Source: "Текст вопроса."}}})
	}
	file := filepath.Join(t.TempDir(), "board.json")
	js, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, js, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tropaBin, "forum", "import", file, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	p := startTropa(t, nil, "serve", "--tor=false", "--http", "127.0.0.1:0", "--data", data)
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	b := browser.New(t)
	section := base + "/ru/board/overdose"
	titleRe := regexp.MustCompile(`>(Вопрос о помощи номер \d+)<`)
	titles := func() string {
		var out []string
		for _, m := range titleRe.FindAllStringSubmatch(pageSource(t, b), -1) {
			out = append(out, m[1])
		}
		return strings.Join(out, "|")
	}
	step := func(pg browser.Page, err error) browser.Page {
		t.Helper()
		if err != nil || pg.Status != 200 || len(pg.Requests) > 2 {
			t.Fatalf("%s: %v, status %d, requests %v", pg.URL, err, pg.Status, pg.Requests)
		}
		return pg
	}
	step(b.Open(section))
	page1 := titles()
	if strings.Count(page1, "|") != 19 {
		t.Fatalf("page 1 lists %s", page1)
	}
	pg := step(b.ClickNavigate(`a[rel="next"]`))
	page2, page2URL := titles(), pg.URL
	if !strings.Contains(page2URL, "/ru/board/overdose?older=") || strings.Count(page2, "|") != 19 {
		t.Fatalf("page 2 at %s lists %s", page2URL, page2)
	}
	pg = step(b.ClickNavigate(`a[rel="next"]`))
	page3 := titles()
	if strings.Count(page3, "|") != 4 || strings.Contains(pageSource(t, b), `rel="next"`) {
		t.Fatalf("page 3 at %s lists %s", pg.URL, page3)
	}
	if first, _ := b.Text(`nav.pager a:not([rel])`); first != "Первая страница" {
		t.Errorf("page 3's link to the first page: %q", first)
	}
	b.Screenshot(filepath.Join(shots, "section-page3-400.png"), 400, 800)
	for _, ti := range strings.Split(page1+"|"+page2, "|") {
		if strings.Contains("|"+page3+"|", "|"+ti+"|") {
			t.Errorf("%s on page 3 and before", ti)
		}
	}
	pg = step(b.ClickNavigate(`a[rel="prev"]`))
	if titles() != page2 || !strings.Contains(pg.URL, "?newer=") {
		t.Fatalf("newer than page 3 (%s): %s\nwant %s", pg.URL, titles(), page2)
	}
	pg = step(b.ClickNavigate(`a[rel="prev"]`))
	if titles() != page1 || pg.URL != section {
		t.Fatalf("newer than page 2: %s lists %s", pg.URL, titles())
	}
	// An old numbered address: one redirect, to page 2's address.
	step(b.Open(section + "?page=2"))
	if loc, _ := b.Location(); loc != page2URL || titles() != page2 {
		t.Errorf("?page=2 led to %s, listing %s", loc, titles())
	}
}

// TestNoTestHookInProduction: the captcha hook exists only in test builds.
func TestNoTestHookInProduction(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "tropa-prod")
	if out, err := exec.Command("go", "build", "-o", bin, "tropa/cmd/tropa").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	saved := tropaBin
	tropaBin = bin
	defer func() { tropaBin = saved }()
	p := startTropa(t, nil, "serve", "--tor=false", "--http", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"))
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	resp, err := http.Get(base + "/ru/ask")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="captcha_id" value="([^"]+)"`).FindStringSubmatch(string(body))
	if m == nil {
		t.Fatal("no captcha on the production ask form")
	}
	resp, err = http.Get(base + "/__test/captcha/" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("production build answers the test hook: %d", resp.StatusCode)
	}
	p.Stop(t, 20*time.Second)
}
