package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tropa/internal/gecko"
)

// The portal in Tor Browser's own engine: Debian's firefox-esr with a
// profile that approximates Tor Browser at "Safest" (internal/gecko),
// reaching a real `tropa serve` through its public onion on the private
// Tor network — the Tor client's SOCKS port is Firefox's proxy. One
// tropa and one Firefox serve all of TestGecko's parts, in order: the
// later parts use up the session's captcha budget and the circuit's post
// budget on purpose. The staff onion has a test of its own, with its own
// tropa, in gecko_staff_test.go.

var geckoViewports = []geckoViewport{{1000, 900}, {400, 800}}

type geckoViewport struct{ w, h int }

const (
	geckoPhoneWidth = 400
	geckoMinPages   = 24 // the info pages in both languages, at least
	geckoMaxPages   = 400
	// geckoTooLarge is more than the site's 64 KiB form limit.
	geckoTooLarge = 70 << 10
)

// geckoRun is what TestGecko's parts share.
type geckoRun struct {
	b     *gecko.Browser
	base  string // http://<address>.onion
	shots string // $TROPA_TESTOUT/gecko
	cat   map[string]map[string]string
	vp    geckoViewport // the viewport now
}

// TestGecko: every public page in both languages, the board's forms, the
// captcha and the error pages, in firefox-esr with JavaScript off, over
// the onion.
func TestGecko(t *testing.T) {
	needTor(t)
	gecko.RequireLoopbackOnly(t)
	if _, err := gecko.ExecPath(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	g := &geckoRun{shots: geckoOutDir(t), cat: geckoCatalogue(t)}

	p := startTropa(t, nil, "serve", "--data", filepath.Join(t.TempDir(), "data"), "--torrc", svcTorrc)
	addr := p.WaitLine(t, onionLine, 2*time.Minute)[1]
	g.base = "http://" + addr + ".onion"
	// The first fetches right after the descriptor upload may fail; Get
	// retries them, so Firefox's first page finds the onion reachable.
	if resp, _ := geckoGet(t, g.base+"/ru/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ru/ through the onion: %d", resp.StatusCode)
	}
	published := time.Now()

	g.b = gecko.New(t, gecko.Options{SocksAddr: net0.SocksAddr})
	started := time.Now()
	geckoRequireNoJS(t, g.b)
	g.vp = g.setViewport(t, geckoViewports[0])
	t.Logf("tropa published in %.1fs, Firefox started in %.1fs",
		published.Sub(began).Seconds(), started.Sub(published).Seconds())

	steps := []struct {
		name string
		fn   func(*testing.T)
	}{{"pages", g.pages}, {"captcha", g.captcha}, {"board", g.board}, {"errors", g.errors}}
	for _, s := range steps {
		start := time.Now()
		t.Run(s.name, s.fn)
		t.Logf("%s: %.1fs", s.name, time.Since(start).Seconds())
	}
	t.Logf("TestGecko: %.1fs in all; screenshots in %s", time.Since(began).Seconds(), g.shots)
}

// ---- pages ------------------------------------------------------------------

// pages visits every page that links lead to from /ru/ and /en/, and
// checks that each loads, is in its language, shows its main heading, is
// not an error page, fits a phone's width, and leaves screenshots at both
// sizes. Links to files (a last path segment with a dot: feeds, audio)
// are not pages: Firefox would offer them as downloads, and Marionette's
// navigation never completes. They are fetched through the onion with Go
// instead (but the captcha's audio, checked in "captcha").
func (g *geckoRun) pages(t *testing.T) {
	began := time.Now()
	type result struct {
		path string
		took time.Duration
	}
	var results []result
	queue := []string{"/ru/", "/en/"}
	seen := map[string]bool{"/ru/": true, "/en/": true}
	var files []string
	for len(queue) > 0 {
		if len(results) == geckoMaxPages {
			t.Fatalf("more than %d pages: stopped the crawl; next: %v", geckoMaxPages, queue[:min(10, len(queue))])
		}
		path := queue[0]
		queue = queue[1:]
		start := time.Now()
		t.Run(geckoName(path), func(t *testing.T) {
			for _, l := range g.checkPage(t, path) {
				if seen[l] {
					continue
				}
				seen[l] = true
				switch last := l[strings.LastIndexByte(l, '/')+1:]; {
				case strings.HasSuffix(last, ".wav"):
				case strings.Contains(last, "."):
					files = append(files, l)
				default:
					queue = append(queue, l)
				}
			}
		})
		results = append(results, result{path, time.Since(start)})
	}

	// The files, on a circuit of their own (Firefox's keeps its budget).
	c := net0.IsolatedClient("gecko-files")
	for _, f := range files {
		resp, body := geckoClientGet(t, c, g.base+f)
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != http.StatusOK || len(body) == 0 || strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: %d, %s, %d bytes", f, resp.StatusCode, ct, len(body))
		}
	}

	// A page printed as a visitor would save it.
	for _, lang := range []string{"ru", "en"} {
		if err := g.b.Navigate(g.base + "/" + lang + "/overdose"); err != nil {
			t.Fatal(err)
		}
		pdf, err := g.b.Print()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(g.shots, lang+"-overdose.pdf"), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "Gecko: %d pages in %.1fs (screenshots in %s):\n", len(results), time.Since(began).Seconds(), g.shots)
	for _, r := range results {
		fmt.Fprintf(&sb, "  %-28s %5dms\n", r.path, r.took.Milliseconds())
	}
	fmt.Fprintf(&sb, "  files, fetched with Go: %s\n", strings.Join(files, " "))
	t.Log(sb.String())
	if len(results) < geckoMinPages || !seen["/ru/board"] || !seen["/en/board"] {
		t.Errorf("the crawl found %d pages (want at least %d, the boards included)", len(results), geckoMinPages)
	}
}

// checkPage opens one page and checks it at both viewports, the current
// one first (so each page costs one resize). It returns the page's
// same-site links.
func (g *geckoRun) checkPage(t *testing.T, path string) []string {
	if err := g.b.Navigate(g.base + path); err != nil {
		t.Fatal(err) // Firefox's own error page: the onion did not answer
	}
	if u, err := g.b.URL(); err != nil || u != g.base+path {
		t.Errorf("ended at %q (%v), not %s", u, err, g.base+path)
	}
	lang := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
	g.checkLang(t, lang)
	h1 := g.heading(t)
	for k, v := range g.cat[lang] {
		if strings.HasPrefix(k, "error.") && strings.HasSuffix(k, ".title") && v == h1 {
			t.Errorf("an error page (%s): %q", k, h1)
		}
	}

	var hrefs []string
	if err := g.b.ExecuteScript(`return Array.from(document.querySelectorAll("a[href]"), a => a.getAttribute("href"))`, nil, &hrefs); err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, h := range hrefs {
		h, _, _ = strings.Cut(h, "#")
		if !strings.HasPrefix(h, "/") || strings.HasPrefix(h, "//") {
			continue
		}
		links = append(links, h)
	}

	order := geckoViewports
	if g.vp != geckoViewports[0] {
		order = []geckoViewport{geckoViewports[1], geckoViewports[0]}
	}
	for _, vp := range order {
		g.vp = g.setViewport(t, vp)
		g.shot(t, fmt.Sprintf("%s-%dx%d", geckoName(path), vp.w, vp.h))
		if vp.w == geckoPhoneWidth {
			g.checkNoOverflow(t)
		}
	}
	return links
}

// checkLang: the document is in lang.
func (g *geckoRun) checkLang(t *testing.T, lang string) {
	t.Helper()
	root, err := g.b.Find("html")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := root.Attribute("lang"); got != lang {
		t.Errorf(`<html lang=%q>, want %q`, got, lang)
	}
}

// heading returns the text of the page's main heading, which must be
// shown.
func (g *geckoRun) heading(t *testing.T) string {
	t.Helper()
	h1, err := g.b.Find("main h1")
	if err != nil {
		t.Fatalf("no <h1> in <main>: %v", err)
	}
	text, err := h1.Text()
	if err != nil {
		t.Fatal(err)
	}
	shown, err := h1.Displayed()
	if err != nil {
		t.Fatal(err)
	}
	r, err := h1.Rect()
	if err != nil {
		t.Fatal(err)
	}
	if !shown || strings.TrimSpace(text) == "" || r.Width <= 0 || r.Height <= 0 {
		t.Errorf("main heading not shown: %q, displayed %v, %+v", text, shown, r)
	}
	return strings.TrimSpace(text)
}

// checkNoOverflow: nothing sticks out sideways. Firefox draws classic
// scrollbars on Linux, so the page must fit the viewport less the
// scrollbar.
func (g *geckoRun) checkNoOverflow(t *testing.T) {
	t.Helper()
	scroll, client, err := g.b.PageWidth()
	if err != nil {
		t.Fatal(err)
	}
	if scroll <= client {
		return
	}
	var wide []string
	g.b.ExecuteScript(`const w = arguments[0]; return Array.from(document.querySelectorAll("body *"))
		.filter(e => e.getBoundingClientRect().right > w).slice(0, 5)
		.map(e => "<" + e.tagName.toLowerCase() + "> " + Math.round(e.getBoundingClientRect().right) + "px: " + e.textContent.trim().slice(0, 80))`,
		[]any{client}, &wide)
	t.Errorf("at %dpx the page is %dpx wide (room: %dpx); elements reaching past it:\n  %s", g.vp.w, scroll, client, strings.Join(wide, "\n  "))
}

// ---- the captcha --------------------------------------------------------------

// captcha: on a fresh session's ask form the captcha image is shown — it
// decodes, has its natural size, and the screenshot shows its pixels —
// and its audio link serves a WAV.
func (g *geckoRun) captcha(t *testing.T) {
	g.vp = g.setViewport(t, geckoViewports[0])
	if err := g.b.Navigate(g.base + "/ru/ask"); err != nil {
		t.Fatal(err)
	}
	img, err := g.b.Find("fieldset.captcha img")
	if err != nil {
		t.Fatalf("no captcha on a fresh session's form: %v", err)
	}
	if shown, err := img.Displayed(); err != nil || !shown {
		t.Errorf("captcha image displayed: %v, %v", shown, err)
	}
	var nw, nh int
	if err := img.Property("naturalWidth", &nw); err != nil {
		t.Fatal(err)
	}
	if err := img.Property("naturalHeight", &nh); err != nil {
		t.Fatal(err)
	}
	r, err := img.Rect()
	if err != nil {
		t.Fatal(err)
	}
	if nw == 0 || nh == 0 || r.Width == 0 || r.Height == 0 {
		t.Fatalf("captcha image not decoded: natural %dx%d, box %+v", nw, nh, r)
	}

	// The image as served (a data: URI in the page source) against what
	// Firefox drew: every opaque pixel of the image must be on screen.
	src, err := img.Attribute("src")
	if err != nil {
		t.Fatal(err)
	}
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		t.Fatalf("captcha src is not a data: PNG: %.60s", src)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	want, err := gecko.DecodePNG(raw)
	if err != nil {
		t.Fatal(err)
	}
	if sz := want.Bounds().Size(); sz.X != nw || sz.Y != nh {
		t.Errorf("naturalWidth/Height %dx%d, the PNG is %v", nw, nh, sz)
	}
	// Drawn at its natural size: a captcha scaled even by 1% is resampled
	// and blurred (the box has a border, outside the image's size).
	var cw, ch int
	img.Property("clientWidth", &cw)
	img.Property("clientHeight", &ch)
	if cw != nw || ch != nh {
		t.Errorf("captcha image drawn at %dx%d, its natural size is %dx%d (box %+v)", cw, ch, nw, nh, r)
	}
	shot, err := img.Screenshot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := gecko.DecodePNG(shot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(g.shots, "captcha-ru-img.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	same, opaque := geckoSamePixels(want, got)
	if opaque < 100 || same < opaque*9/10 {
		t.Errorf("captcha on screen: %d of %d opaque image pixels drawn as served (screenshot %v, image %v)",
			same, opaque, got.Bounds().Size(), want.Bounds().Size())
	}
	t.Logf("captcha: %dx%d, %d of %d opaque pixels on screen as served", nw, nh, same, opaque)
	g.shot(t, "captcha-ru-ask")

	// The audio captcha: a WAV (RIFF…WAVE) through the onion. (Firefox
	// opens it as a media document whose load never completes for
	// Marionette while autoplay is blocked, so it is fetched with Go.)
	a, err := g.b.Find(`fieldset.captcha a[href$=".wav"]`)
	if err != nil {
		t.Fatal(err)
	}
	href, err := a.Attribute("href")
	if err != nil || !strings.HasPrefix(href, "/ru/captcha/") {
		t.Fatalf("audio link %q, %v", href, err)
	}
	if shown, _ := a.Displayed(); !shown {
		t.Errorf("the audio link is not shown")
	}
	resp, body := geckoGet(t, g.base+href)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/wav" ||
		len(body) < 44 || string(body[:4]) != "RIFF" || string(body[8:12]) != "WAVE" {
		t.Errorf("GET %s: %d %s, %d bytes starting %q", href, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), body[:min(12, len(body))])
	}
}

// geckoSamePixels counts the opaque pixels of want and how many of them
// got shows in about the same colour, at the same scale, with got shifted
// by up to 2 px each way (the element's box has a border and may sit at a
// fractional position): the best alignment counts.
func geckoSamePixels(want, got image.Image) (same, opaque int) {
	wb, gb := want.Bounds(), got.Bounds()
	for dy := -2; dy <= 2; dy++ {
		for dx := -2; dx <= 2; dx++ {
			s, o := 0, 0
			for y := 0; y < wb.Dy(); y++ {
				for x := 0; x < wb.Dx(); x++ {
					wr, wg, wbl, wa := want.At(wb.Min.X+x, wb.Min.Y+y).RGBA()
					if wa < 0xff00 {
						continue
					}
					o++
					p := image.Pt(gb.Min.X+x+dx, gb.Min.Y+y+dy)
					if !p.In(gb) {
						continue
					}
					gr, gg, gbl, _ := got.At(p.X, p.Y).RGBA()
					if near(wr, gr) && near(wg, gg) && near(wbl, gbl) {
						s++
					}
				}
			}
			if s > same {
				same = s
			}
			opaque = o
		}
	}
	return same, opaque
}

func near(a, b uint32) bool {
	d := int(a) - int(b)
	return d > -0x1800 && d < 0x1800
}

// ---- the board ----------------------------------------------------------------

// board: ask a question (with the captcha), keep the receipt (typed back),
// find the question under "my questions", leave and come back with the
// receipt, then reply on a public thread in English — all with scripting
// off.
func (g *geckoRun) board(t *testing.T) {
	stamp := time.Now().Format("150405")
	title := "Где сдать тест на ВИЧ в выходные? (проверка " + stamp + ")"
	question := "Подскажите, пожалуйста, где в Петербурге можно анонимно сдать тест на ВИЧ в субботу. Пишу из Firefox без JavaScript."

	g.open(t, "/ru/ask")
	g.typeInto(t, "#title", title)
	g.typeInto(t, "#body", question)
	g.solveCaptcha(t)
	g.shot(t, "board-1-ask")
	g.submit(t, "#send", "/ru/receipt")

	receiptEl, err := g.b.Find("p#receipt")
	if err != nil {
		t.Fatal(err)
	}
	receipt, _ := receiptEl.Text()
	if !regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4}$`).MatchString(receipt) {
		t.Fatalf("receipt %q", receipt)
	}
	g.shot(t, "board-2-receipt")
	g.typeInto(t, "#receipt-back", receipt)
	g.submit(t, "#confirm", "/ru/receipt")
	if _, err := g.b.Find("#result"); err != nil {
		t.Fatalf("receipt typed back, not confirmed: %v", err)
	}

	g.submit(t, `main a[href="/ru/mine"]`, "/ru/mine")
	g.checkMine(t, title, question)
	g.shot(t, "board-3-mine")

	// Someone coming back later: leave, then open with the receipt.
	g.submit(t, `form[action="/ru/mine/leave"] button`, "/ru/mine")
	if _, err := g.b.Find("section.mine"); err == nil {
		t.Fatal("still showing the questions after leaving")
	}
	g.typeInto(t, "input#receipt", receipt)
	g.submit(t, "#open", "/ru/mine")
	g.checkMine(t, title, question)
	g.shot(t, "board-4-mine-reopened")

	// A reply on a public thread: the first thread of the first section.
	reply := "Thank you, this helped. (Firefox, no JavaScript, " + stamp + ")"
	g.open(t, "/en/board")
	g.submit(t, `main a[href^="/en/board/"]`, "")
	g.submit(t, `main a[href^="/en/t/"]`, "")
	thread, _ := g.b.URL()
	g.submit(t, `main a.button[href$="/reply"]`, "")
	g.typeInto(t, "#body", reply)
	g.solveCaptcha(t)
	g.submit(t, "#send", strings.TrimPrefix(thread, g.base))
	u, _ := g.b.URL()
	_, anchor, _ := strings.Cut(u, "#")
	post, err := g.b.Find("article#" + anchor + " .body")
	if err != nil {
		t.Fatalf("after replying at %s: no post #%s: %v", u, anchor, err)
	}
	if text, _ := post.Text(); !strings.Contains(text, reply) {
		t.Errorf("post %s says %q, want %q", anchor, text, reply)
	}
	g.shot(t, "board-5-reply")
}

// checkMine: "my questions" shows the question.
func (g *geckoRun) checkMine(t *testing.T, title, question string) {
	t.Helper()
	h, err := g.b.Find("section.mine h2")
	if err != nil {
		t.Fatalf("no question under my questions: %v", err)
	}
	if got, _ := h.Text(); got != title {
		t.Errorf("my question is titled %q, want %q", got, title)
	}
	body, err := g.b.Find("section.mine article .body")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := body.Text(); !strings.Contains(got, question) {
		t.Errorf("my question says %q", got)
	}
}

// open loads a page of the site.
func (g *geckoRun) open(t *testing.T, path string) {
	t.Helper()
	if err := g.b.Navigate(g.base + path); err != nil {
		t.Fatal(err)
	}
}

// typeInto types text into the element.
func (g *geckoRun) typeInto(t *testing.T, css, text string) {
	t.Helper()
	el, err := g.b.Find(css)
	if err != nil {
		t.Fatal(err)
	}
	if err := el.SendKeys(text); err != nil {
		t.Fatal(err)
	}
}

// submit clicks a button or link and checks where it led (the path,
// without the #fragment; "" to skip). A form that comes back with errors
// fails the test with them.
func (g *geckoRun) submit(t *testing.T, css, wantPath string) {
	t.Helper()
	el, err := g.b.Find(css)
	if err != nil {
		t.Fatal(err)
	}
	if err := el.Click(); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
	if wantPath == "" {
		return
	}
	u, err := g.b.URL()
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := strings.Cut(strings.TrimPrefix(u, g.base), "#")
	if got != wantPath {
		var errs []string
		if els, err := g.b.FindAll(".err"); err == nil {
			for _, e := range els {
				s, _ := e.Text()
				errs = append(errs, s)
			}
		}
		h1, _ := g.b.Find("h1")
		head := ""
		if h1.ID != "" {
			head, _ = h1.Text()
		}
		t.Fatalf("after %s: at %s, want %s (heading %q, errors %q)", css, got, wantPath, head, errs)
	}
}

// solveCaptcha fills the form's captcha, when it has one, with the digits
// that the test build tells through the onion.
func (g *geckoRun) solveCaptcha(t *testing.T) {
	t.Helper()
	idEl, err := g.b.Find(`input[name="captcha_id"]`)
	if gecko.IsNoSuchElement(err) {
		return // the session still has budget from a solved captcha
	}
	if err != nil {
		t.Fatal(err)
	}
	id, err := idEl.Attribute("value")
	if err != nil || id == "" {
		t.Fatalf("captcha id %q, %v", id, err)
	}
	resp, digits := geckoGet(t, g.base+"/__test/captcha/"+id)
	if resp.StatusCode != http.StatusOK || len(digits) == 0 {
		t.Fatalf("GET /__test/captcha/%s: %d %q", id, resp.StatusCode, digits)
	}
	g.typeInto(t, "#captcha", string(digits))
}

// ---- error pages --------------------------------------------------------------

// errors: a missing page, a form post over the size limit and a circuit
// past its limits get the site's localised error page in Firefox, not
// Firefox's own.
func (g *geckoRun) errors(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		g.open(t, "/"+lang+"/no-such-page")
		g.checkError(t, lang, 404)
		g.shot(t, "error-404-"+lang)

		// 413: a question longer than the form limit. The textarea's
		// maxlength stops typing, so the test sets the value directly.
		g.open(t, "/"+lang+"/ask")
		g.typeInto(t, "#title", "Too long")
		var n int
		if err := g.b.ExecuteScript(`const b = document.getElementById("body"); b.value = "а".repeat(arguments[0]); return b.value.length`,
			[]any{geckoTooLarge}, &n); err != nil || n != geckoTooLarge {
			t.Fatalf("setting the body: %d, %v", n, err)
		}
		if _, err := g.b.Find("#captcha"); err == nil {
			g.typeInto(t, "#captcha", "000000") // required; the limit is checked first
		}
		g.submit(t, "#send", "/"+lang+"/ask")
		g.checkError(t, lang, 413)
		g.shot(t, "error-413-"+lang)
	}

	// 429 in Firefox: its circuit may write 5 times in a burst (then one
	// a minute); the board part spent some. Open "my questions" with a
	// wrong receipt until the site refuses.
	g.open(t, "/ru/mine")
	if _, err := g.b.Find(`form[action="/ru/mine/leave"] button`); err == nil {
		g.submit(t, `form[action="/ru/mine/leave"] button`, "/ru/mine")
	}
	refused := false
	for try := 1; try <= 8 && !refused; try++ {
		g.typeInto(t, "input#receipt", "0000 0000 0000 0000")
		g.submit(t, "#open", "/ru/mine")
		h1, _ := g.b.Find("main h1")
		if text, _ := h1.Text(); text == g.cat["ru"]["error.429.title"] {
			refused = true
			t.Logf("429 after %d wrong receipts", try)
		}
	}
	if !refused {
		t.Fatal("8 posts in a row were not refused")
	}
	g.checkError(t, "ru", 429)
	g.shot(t, "error-429-ru")

	// 429 for reading too fast, through Go on a circuit of its own (a
	// different circuit from Firefox's, so Firefox is not slowed down):
	// 120 requests a minute with a burst of 60.
	c := net0.IsolatedClient("gecko-429")
	for _, lang := range []string{"en", "ru"} {
		var resp *http.Response
		var body []byte
		for i := 0; i < 150; i++ {
			resp, body = geckoClientGet(t, c, g.base+"/"+lang+"/")
			if resp.StatusCode == http.StatusTooManyRequests {
				break
			}
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("150 quick requests on one circuit were not refused: %d", resp.StatusCode)
		}
		page := string(body)
		for _, want := range []string{`<html lang="` + lang + `">`, geckoHTML(g.cat[lang]["error.429.title"]), geckoHTML(g.cat[lang]["error.429.text"])} {
			if !strings.Contains(page, want) {
				t.Errorf("429 page (%s) lacks %q:\n%.600s", lang, want, page)
			}
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
}

// checkError: the page is the site's error page for status, in lang.
func (g *geckoRun) checkError(t *testing.T, lang string, status int) {
	t.Helper()
	g.checkLang(t, lang)
	key := fmt.Sprintf("error.%d.", status)
	if h1 := g.heading(t); h1 != g.cat[lang][key+"title"] {
		t.Errorf("%d page heading %q, want %q", status, h1, g.cat[lang][key+"title"])
	}
	main, err := g.b.Find("main")
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := main.Text(); !strings.Contains(text, g.cat[lang][key+"text"]) {
		t.Errorf("%d page says %q, want %q", status, text, g.cat[lang][key+"text"])
	}
	if title, _ := g.b.Title(); !strings.HasPrefix(title, g.cat[lang][key+"title"]) {
		t.Errorf("%d page title %q", status, title)
	}
}

// ---- helpers ------------------------------------------------------------------

// setViewport resizes Firefox so the page area is vp.
func (g *geckoRun) setViewport(t *testing.T, vp geckoViewport) geckoViewport {
	t.Helper()
	if err := g.b.SetViewport(vp.w, vp.h); err != nil {
		t.Fatal(err)
	}
	return vp
}

// shot saves a full-page screenshot as name.png.
func (g *geckoRun) shot(t *testing.T, name string) {
	t.Helper()
	if _, _, err := g.b.SaveScreenshot(filepath.Join(g.shots, name+".png")); err != nil {
		t.Fatal(err)
	}
}

// geckoGet fetches url through the private network's Tor client (the
// circuit Firefox uses too: neither sends SOCKS credentials).
func geckoGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := net0.Get(ctx, url)
	if err != nil {
		t.Fatalf("GET %s through Tor: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// geckoClientGet fetches url with c, retrying failures before a response
// for a little while (a new circuit to the onion may fail at first).
func geckoClientGet(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	var last error
	for try := 0; try < 10; try++ {
		resp, err := c.Get(url)
		if err == nil {
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp, b
		}
		last = err
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("GET %s through Tor: %v", url, last)
	return nil, nil
}

// geckoHTML escapes text as html/template does in element content.
func geckoHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// geckoName turns a path into a file and subtest name, as the Chromium
// crawl names its screenshots: "/ru/" → "ru", "/en/services/schedule" →
// "en-services-schedule".
func geckoName(path string) string {
	name := strings.Trim(path, "/")
	if name == "" {
		return "root"
	}
	return strings.NewReplacer("/", "-", "?", "_", "&", "_", "=", "_", "%", "_").Replace(name)
}

// geckoRoot is the repository root, found from the working directory.
func geckoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// geckoOutDir is $TROPA_TESTOUT/gecko, or testout/gecko at the repository
// root; old screenshots and PDFs are removed first.
func geckoOutDir(t *testing.T) string {
	t.Helper()
	dir := geckoOutBase(t)
	for _, pat := range []string{"*.png", "*.pdf"} {
		old, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range old {
			os.Remove(f)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// geckoOutBase is $TROPA_TESTOUT/gecko, or testout/gecko at the
// repository root, as it is.
func geckoOutBase(t *testing.T) string {
	t.Helper()
	out := os.Getenv("TROPA_TESTOUT")
	if out == "" {
		out = filepath.Join(geckoRoot(t), "testout")
	}
	return filepath.Join(out, "gecko")
}

// geckoCatalogue reads the site's interface strings (site/i18n/*.json):
// the error pages must say exactly these.
func geckoCatalogue(t *testing.T) map[string]map[string]string {
	t.Helper()
	cat := map[string]map[string]string{}
	for _, lang := range []string{"ru", "en"} {
		raw, err := os.ReadFile(filepath.Join(geckoRoot(t), "site", "i18n", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var all map[string]any
		if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&all); err != nil {
			t.Fatalf("site/i18n/%s.json: %v", lang, err)
		}
		cat[lang] = map[string]string{}
		for k, v := range all {
			if s, ok := v.(string); ok {
				cat[lang][k] = s
			}
		}
		for _, st := range []int{404, 413, 429} {
			if cat[lang][fmt.Sprintf("error.%d.title", st)] == "" {
				t.Fatalf("site/i18n/%s.json has no error.%d.title", lang, st)
			}
		}
	}
	return cat
}
