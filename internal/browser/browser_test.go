package browser_test

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"tropa/internal/browser"
)

// start skips outside a loopback-only namespace and starts a browser.
func start(t *testing.T) *browser.Browser {
	t.Helper()
	browser.RequireLoopbackOnly(t)
	return browser.New(t)
}

func dataURL(html string) string {
	return "data:text/html;charset=utf-8," + url.PathEscape(html)
}

// serve answers each path with its HTML; anything else is a 404.
func serve(t *testing.T, pages map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		switch {
		case r.URL.Path == "/form" && r.Method == http.MethodPost:
			r.ParseForm()
			http.Redirect(w, r, "/result?q="+url.QueryEscape(r.PostForm.Get("q")), http.StatusSeeOther)
			return
		case r.URL.Path == "/result":
			fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><title>result</title><p id="out">%s</p>`, r.URL.Query().Get("q"))
			return
		case !ok:
			http.NotFound(w, r)
			return
		case strings.HasSuffix(r.URL.Path, ".css"):
			w.Header().Set("Content-Type", "text/css")
		case strings.HasSuffix(r.URL.Path, ".svg"):
			w.Header().Set("Content-Type", "image/svg+xml")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const scriptPage = `<!DOCTYPE html><html lang="en"><head><title>before</title>
<script>document.title = "after"; document.documentElement.className = "js";</script></head>
<body><p id="p">text</p><noscript><p id="ns">scripting is off</p></noscript></body></html>`

// TestJavaScriptOff: an inline script does not run, <noscript> shows, and
// scripting stays off across navigations and after Axe.
func TestJavaScriptOff(t *testing.T) {
	b := start(t)
	check := func(when string) {
		t.Helper()
		if _, err := b.Open(dataURL(scriptPage)); err != nil {
			t.Fatal(err)
		}
		title, err := b.Title()
		if err != nil {
			t.Fatal(err)
		}
		if title != "before" {
			t.Errorf("%s: title = %q: the page's script ran", when, title)
		}
		// Through the protocol, not a waiting query: with scripting on,
		// <noscript> holds text, not a #ns element.
		var ns string
		err = b.Eval(`(document.getElementById("ns") || {}).textContent || ""`, &ns)
		if err != nil || ns != "scripting is off" {
			t.Errorf("%s: <noscript> text = %q, %v", when, ns, err)
		}
	}
	check("first load")
	base := serve(t, map[string]string{"/s": scriptPage})
	p, err := b.Open(base + "/s")
	if err != nil {
		t.Fatal(err)
	}
	if title, _ := b.Title(); p.Status != 200 || title != "before" {
		t.Errorf("over http: status %d, title %q", p.Status, title)
	}
	if _, err := b.Axe(); err != nil {
		t.Fatal(err)
	}
	check("after Axe")
}

// TestOpen: the status comes from the document after redirects, and every
// request the page makes is counted, data: URLs excepted.
func TestOpen(t *testing.T) {
	b := start(t)
	base := serve(t, map[string]string{
		"/one": `<!DOCTYPE html><html lang="en"><title>one</title><link rel="icon" href="data:,"><p>one request</p>`,
		"/three": `<!DOCTYPE html><html lang="en"><title>three</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/s.css"><img src="/i.svg" alt="x"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="y">`,
		"/s.css": `body{color:#111}`,
		"/i.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>`,
	})
	cases := []struct {
		path     string
		status   int
		requests int
	}{
		{"/one", 200, 1},
		{"/three", 200, 3},
		{"/missing", 404, 1},
	}
	for _, c := range cases {
		p, err := b.Open(base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != c.status || len(p.Requests) != c.requests {
			t.Errorf("%s: status %d, %d requests %q; want %d, %d", c.path, p.Status, len(p.Requests), p.Requests, c.status, c.requests)
		}
		if len(p.Requests) > 0 && p.Requests[0] != "GET "+base+c.path {
			t.Errorf("%s: first request %q", c.path, p.Requests[0])
		}
	}
}

// TestScreenshot: a full-page PNG as wide as the viewport, or wider when
// the page overflows, and as tall as the page.
func TestScreenshot(t *testing.T) {
	b := start(t)
	dir := t.TempDir()
	cases := []struct {
		name          string
		html          string
		width, height int
		wantW         int
		minH          int
	}{
		{"short", `<p>short</p>`, 400, 800, 400, 800},
		{"long", `<div style="height:3000px">long</div>`, 1000, 900, 1000, 3000},
		{"wide", `<div style="width:650px">wide</div>`, 400, 800, 650, 800},
	}
	for _, c := range cases {
		if _, err := b.Open(dataURL(`<!DOCTYPE html><html lang="en"><title>s</title><body style="margin:0">` + c.html)); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, c.name+".png")
		if err := b.Screenshot(path, c.width, c.height); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		size := img.Bounds().Size()
		if size.X != c.wantW || size.Y < c.minH {
			t.Errorf("%s: %dx%d, want width %d and height ≥ %d", c.name, size.X, size.Y, c.wantW, c.minH)
		}
		w, _, err := b.ContentSize()
		if err != nil {
			t.Fatal(err)
		}
		var sw int
		if err := b.Eval(`document.documentElement.scrollWidth`, &sw); err != nil {
			t.Fatal(err)
		}
		if int(w) != c.wantW || sw != c.wantW {
			t.Errorf("%s: content width %v, scrollWidth %d; want %d", c.name, w, sw, c.wantW)
		}
	}
}

// TestAxe: axe-core finds what a broken page gets wrong, and nothing on a
// clean one.
func TestAxe(t *testing.T) {
	b := start(t)
	broken := `<!DOCTYPE html><html lang="en"><head><title>broken</title></head><body><main>
<h1>Broken</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<p style="color:#aaa;background:#fff">too faint to read</p>
<form><input type="text" name="q"></form></main></body></html>`
	clean := `<!DOCTYPE html><html lang="en"><head><title>clean</title></head><body><main>
<h1>Clean</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="a dot">
<p style="color:#222;background:#fff">easy to read</p>
<form><label for="q">Query</label> <input id="q" type="text" name="q"></form></main></body></html>`

	if _, err := b.Open(dataURL(broken)); err != nil {
		t.Fatal(err)
	}
	vs, err := b.Axe()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vs {
		got[v.ID] = v.Impact
		if len(v.Nodes) == 0 || len(v.Nodes[0].Target) == 0 {
			t.Errorf("%s: no element named", v.ID)
		}
	}
	for id, impact := range map[string]string{"image-alt": "critical", "label": "critical", "color-contrast": "serious"} {
		if got[id] != impact {
			t.Errorf("broken page: %s = %q, want %q; all: %v", id, got[id], impact, vs)
		}
	}

	if _, err := b.Open(dataURL(clean)); err != nil {
		t.Fatal(err)
	}
	vs, err = b.Axe()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("clean page: %s", v)
	}
}

// TestForm: typing, clicking and reading work with JavaScript off, and a
// POST that answers 303 leads to the page it names.
func TestForm(t *testing.T) {
	b := start(t)
	base := serve(t, map[string]string{
		"/ask": `<!DOCTYPE html><html lang="en"><title>ask</title>
<form method="post" action="/form"><label for="q">Q</label><input id="q" name="q"><button id="send">Send</button></form>`,
	})
	if _, err := b.Open(base + "/ask"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click("#q"); err != nil {
		t.Fatal(err)
	}
	if err := b.SendKeys("#q", "привет"); err != nil {
		t.Fatal(err)
	}
	p, err := b.ClickNavigate("#send")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != 200 || !strings.HasPrefix(p.URL, base+"/result?") || !slices.Contains(p.Requests, "POST "+base+"/form") {
		t.Errorf("after submit: %+v", p)
	}
	out, err := b.Text("#out")
	if err != nil || out != "привет" {
		t.Errorf("result = %q, %v", out, err)
	}
}

// TestClose: Close kills Chromium and removes its directories.
func TestClose(t *testing.T) {
	browser.RequireLoopbackOnly(t)
	b, err := browser.Start()
	if err != nil {
		t.Fatal(err)
	}
	pid := b.PID()
	if pid == 0 {
		t.Fatal("no PID")
	}
	dir := b.Dir()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("Chromium (PID %d) still runs after Close", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after Close (%v)", dir, err)
	}
}
