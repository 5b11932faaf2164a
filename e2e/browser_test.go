package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tropa/internal/browser"
)

// Viewports every page is looked at in: a laptop and a phone.
var viewports = []struct{ w, h int }{{1000, 900}, {400, 800}}

const (
	minPages    = 24  // the info pages in both languages, at least
	maxPages    = 400 // a bound on the crawl, should links multiply
	maxRequests = 2   // a page over Tor must not need more round trips than this
	phoneWidth  = 400
)

// TestBrowserCrawl visits, in Chromium with JavaScript off, every page that
// links lead to from /ru/ and /en/, as a Tor Browser visitor at "Safest"
// would, and checks that each one loads (200) in at most two requests, fits
// a phone's width, has no serious or critical accessibility violation
// (axe-core), and leaves screenshots at both sizes for a person to look at.
func TestBrowserCrawl(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser.RequireLoopbackOnly(t)
	shots := screenshotDir(t)
	began := time.Now()

	p := startTropa(t, nil, "serve", "--tor=false", "--http", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"))
	base := p.WaitLine(t, previewLine, 30*time.Second)[1]
	b := browser.New(t)

	type result struct {
		path     string
		requests []string
		took     time.Duration
		minor    []string // axe findings below "serious", printed but allowed
	}
	var results []result
	queue := []string{"/ru/", "/en/"}
	seen := map[string]bool{"/ru/": true, "/en/": true}
	for len(queue) > 0 {
		if len(results) == maxPages {
			t.Fatalf("more than %d pages: stopped the crawl; next: %v", maxPages, queue[:min(10, len(queue))])
		}
		path := queue[0]
		queue = queue[1:]
		r := result{path: path}
		t.Run(pageName(path), func(t *testing.T) {
			start := time.Now()
			links, minor := checkPage(t, b, base, path, shots)
			r = result{path: path, requests: b.Requests(), took: time.Since(start), minor: minor}
			for _, l := range links {
				if !seen[l] {
					seen[l] = true
					queue = append(queue, l)
				}
			}
		})
		results = append(results, r)
	}

	// One summary: requests and time per page, then each allowed axe
	// finding once with the pages it is on (most are in the shared layout).
	var sb strings.Builder
	fmt.Fprintf(&sb, "crawled %d pages in %.1fs (screenshots in %s):\n", len(results), time.Since(began).Seconds(), shots)
	onPages := map[string][]string{}
	var findings []string
	for _, r := range results {
		fmt.Fprintf(&sb, "  %-28s %d request(s)  %4dms\n", r.path, len(r.requests), r.took.Milliseconds())
		for _, m := range r.minor {
			if onPages[m] == nil {
				findings = append(findings, m)
			}
			onPages[m] = append(onPages[m], r.path)
		}
	}
	for _, m := range findings {
		pages := onPages[m]
		where := strings.Join(pages, " ")
		if len(pages) > 3 {
			where = fmt.Sprintf("%d pages (%s …)", len(pages), strings.Join(pages[:3], " "))
		}
		fmt.Fprintf(&sb, "  axe, allowed: %s\n      on %s\n", m, where)
	}
	t.Log(sb.String())
	if len(results) < minPages {
		t.Errorf("the crawl found %d pages, want at least %d: %v", len(results), minPages, keys(seen))
	}
}

// checkPage opens one page and checks it at both viewports. It returns the
// same-site links on the page and the axe findings that do not fail it.
func checkPage(t *testing.T, b *browser.Browser, base, path, shots string) (links, minor []string) {
	pg, err := b.Open(base + path)
	if err != nil {
		t.Fatal(err)
	}
	if pg.Status != 200 {
		t.Errorf("status %d", pg.Status)
	}
	// A page's links, read through the DevTools protocol with scripting off.
	var hrefs []string
	if err := b.Eval(`Array.from(document.querySelectorAll("a[href]"), a => a.getAttribute("href"))`, &hrefs); err != nil {
		t.Fatal(err)
	}
	links = sameSite(hrefs)

	found := map[string]bool{}
	for _, vp := range viewports {
		file := filepath.Join(shots, fmt.Sprintf("%s-%dx%d.png", pageName(path), vp.w, vp.h))
		if err := b.Screenshot(file, vp.w, vp.h); err != nil {
			t.Fatal(err)
		}
		if vp.w == phoneWidth {
			checkNoOverflow(t, b)
		}
		vs, err := b.Axe()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			for _, n := range v.Nodes {
				line := fmt.Sprintf("%s (%s) at %s: %s  %s", v.ID, v.Impact, strings.Join(n.Target, " "), n.HTML, strings.ReplaceAll(n.Summary, "\n", " "))
				if found[line] {
					continue // seen at the other width
				}
				found[line] = true
				if v.Serious() {
					t.Errorf("axe at %dpx: %s", vp.w, line)
				} else {
					minor = append(minor, line) // printed in the summary
				}
			}
		}
	}

	// Counted after everything else, so a late request is caught too.
	reqs := b.Requests()
	if len(reqs) > maxRequests {
		t.Errorf("%d network requests, want at most %d:\n  %s", len(reqs), maxRequests, strings.Join(reqs, "\n  "))
	}
	for _, r := range reqs {
		if _, url, _ := strings.Cut(r, " "); !strings.HasPrefix(url, base+"/") {
			t.Errorf("request to another site: %s", r)
		}
	}
	return links, minor
}

// checkNoOverflow: at a phone's width nothing sticks out sideways, by the
// layout and by the DOM.
func checkNoOverflow(t *testing.T, b *browser.Browser) {
	t.Helper()
	w, _, err := b.ContentSize()
	if err != nil {
		t.Fatal(err)
	}
	var sw int
	if err := b.Eval(`document.documentElement.scrollWidth`, &sw); err != nil {
		t.Fatal(err)
	}
	if w > phoneWidth || sw > phoneWidth {
		var wide []string
		b.Eval(`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > `+fmt.Sprint(phoneWidth)+`).slice(0, 5).map(e => `+
			`"<" + e.tagName.toLowerCase() + "> " + Math.round(e.getBoundingClientRect().right) + "px: " + e.textContent.slice(0, 80))`, &wide)
		t.Errorf("at %dpx the page is %.0fpx wide (scrollWidth %d); elements reaching past %dpx:\n  %s", phoneWidth, w, sw, phoneWidth, strings.Join(wide, "\n  "))
	}
}

// sameSite keeps the links that stay on the site ("/..." but not "//..."),
// without their #fragment; tel:, mailto: and other schemes are dropped, and
// so are links to files that are not pages (the captcha's spoken digits:
// every form makes a new one; the news feeds, Atom XML for feed readers,
// which TestBrowserFundTools and the site's tests check).
func sameSite(hrefs []string) []string {
	var out []string
	for _, h := range hrefs {
		h, _, _ = strings.Cut(h, "#")
		if !strings.HasPrefix(h, "/") || strings.HasPrefix(h, "//") || strings.HasSuffix(h, ".wav") || strings.HasSuffix(h, ".atom") {
			continue
		}
		out = append(out, h)
	}
	return out
}

// pageName turns a path into a file and subtest name: "/ru/" → "ru",
// "/en/services/schedule" → "en-services-schedule".
func pageName(path string) string {
	name := strings.Trim(path, "/")
	if name == "" {
		return "root"
	}
	r := strings.NewReplacer("/", "-", "?", "_", "&", "_", "=", "_", "%", "_")
	return r.Replace(name)
}

// screenshotDir is $TROPA_TESTOUT/screenshots, or testout/screenshots at the
// repository root; old screenshots are removed first.
var clearShots sync.Once

func screenshotDir(t *testing.T) string {
	t.Helper()
	out := os.Getenv("TROPA_TESTOUT")
	if out == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Fatal("no go.mod above the working directory; set TROPA_TESTOUT")
			}
			dir = parent
		}
		out = filepath.Join(dir, "testout")
	}
	shots := filepath.Join(out, "screenshots")
	// Clear the previous run's pictures once per run, not per test: every
	// browser test of this run adds its own.
	clearShots.Do(func() {
		old, _ := filepath.Glob(filepath.Join(shots, "*.png"))
		for _, f := range old {
			os.Remove(f)
		}
	})
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
