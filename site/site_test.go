package site_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tropa/site"
)

func newSite(t *testing.T) http.Handler {
	t.Helper()
	s, err := site.New(site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	scriptRe  = regexp.MustCompile(`(?i)<script|\son[a-z]+\s*=|javascript:`)
	foreignRe = regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`)
)

// checkPage asserts what every page must carry.
func checkPage(t *testing.T, path string, resp *http.Response, body string) {
	t.Helper()
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP allows scripts or inline: %q", path, csp)
	}
	if h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: missing Referrer-Policy/nosniff: %v", path, h)
	}
	if h.Get("Server") != "" || h.Get("ETag") != "" {
		t.Errorf("%s: Server or ETag header present", path)
	}
	if scriptRe.MatchString(body) {
		t.Errorf("%s: script in page: %q", path, scriptRe.FindString(body))
	}
	if m := foreignRe.FindString(body); m != "" {
		t.Errorf("%s: URL to another host: %q", path, m)
	}
}

func TestHomeAndRedirects(t *testing.T) {
	h := newSite(t)
	resp, _ := get(t, h, "GET", "/")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ru/" {
		t.Fatalf("/ → %d %q, want redirect to /ru/", resp.StatusCode, resp.Header.Get("Location"))
	}
	for lang, want := range map[string]string{"ru": "Передозировка? Звоните 112 или 103", "en": "Overdose? Call 112 or 103"} {
		resp, body := get(t, h, "GET", "/"+lang+"/")
		if resp.StatusCode != 200 {
			t.Fatalf("/%s/: %d", lang, resp.StatusCode)
		}
		checkPage(t, "/"+lang+"/", resp, body)
		if !strings.Contains(body, `<html lang="`+lang+`">`) || !strings.Contains(body, want) {
			t.Errorf("/%s/ lacks its language or the overdose banner", lang)
		}
		if len(body) > 32<<10 {
			t.Errorf("/%s/ is %d bytes, over 32 KiB", lang, len(body))
		}
	}
	// The language switch keeps the visitor on the same page.
	_, body := get(t, h, "GET", "/ru/hiv")
	if !strings.Contains(body, `href="/en/hiv"`) {
		t.Error("/ru/hiv has no switch to /en/hiv")
	}
}

func TestGzip(t *testing.T) {
	h := newSite(t)
	_, plain := get(t, h, "GET", "/ru/")
	resp, zipped := get(t, h, "GET", "/ru/", "Accept-Encoding", "gzip, deflate, br")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("no gzip for a client that accepts it")
	}
	zr, err := gzip.NewReader(strings.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != plain {
		t.Error("gzip'd page differs from the plain one")
	}
	if len(zipped) >= len(plain) {
		t.Errorf("gzip'd %d >= plain %d", len(zipped), len(plain))
	}
	resp, _ = get(t, h, "GET", "/ru/", "Accept-Encoding", "gzip;q=0")
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
}

func TestErrorPages(t *testing.T) {
	h := newSite(t)
	cases := []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/ru/no-such-page", 404, "Страница не найдена"},
		{"GET", "/en/no-such-page", 404, "Page not found"},
		{"GET", "/zz/", 404, "Страница не найдена"},
		{"DELETE", "/en/", 405, "Not allowed"},
		{"PUT", "/ru/", 405, "Так нельзя"},
	}
	for _, c := range cases {
		resp, body := get(t, h, c.method, c.path)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d, want %d with %q", c.method, c.path, resp.StatusCode, c.status, c.want)
		}
		checkPage(t, c.path, resp, body)
		if !strings.Contains(body, "112") {
			t.Errorf("%s: error page without the overdose banner", c.path)
		}
	}
}

func TestHead(t *testing.T) {
	h := newSite(t)
	resp, body := get(t, h, "HEAD", "/en/")
	if resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /en/: %d with %d body bytes", resp.StatusCode, len(body))
	}
}

func TestCatalogueComplete(t *testing.T) {
	keys, err := site.CatalogueKeys()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]map[string]bool{}
	for lang, ks := range keys {
		have[lang] = map[string]bool{}
		for _, k := range ks {
			have[lang][k] = true
		}
	}
	for lang, ks := range keys {
		for _, k := range ks {
			for other := range keys {
				if !have[other][k] {
					t.Errorf("key %q is in %s but not in %s", k, lang, other)
				}
			}
		}
	}
	if len(keys) != len(site.Languages) {
		t.Errorf("catalogue has %d languages, site speaks %d", len(keys), len(site.Languages))
	}
}

// TestEveryInfoPage: every info page (one per content file) renders in both
// languages with the security headers, no script and no URL to another host;
// medical pages carry their review date.
func TestEveryInfoPage(t *testing.T) {
	h := newSite(t)
	files, err := filepath.Glob("content/ru/*.md")
	if err != nil || len(files) < 12 {
		t.Fatalf("content files: %v %v", files, err)
	}
	medical := map[string]bool{"overdose": true, "hiv": true, "hepatitis": true, "injecting": true}
	for _, lang := range site.Languages {
		for _, f := range files {
			slug := strings.TrimSuffix(filepath.Base(f), ".md")
			path := "/" + lang + "/" + slug
			switch {
			case slug == "home":
				path = "/" + lang + "/"
			case strings.HasPrefix(slug, "services-"):
				path = "/" + lang + "/services/" + strings.TrimPrefix(slug, "services-")
			}
			resp, body := get(t, h, "GET", path)
			if resp.StatusCode != 200 {
				t.Errorf("%s: %d", path, resp.StatusCode)
				continue
			}
			checkPage(t, path, resp, body)
			if !strings.Contains(body, "<h1>") || !strings.Contains(body, `<html lang="`+lang+`">`) {
				t.Errorf("%s: no heading or wrong language", path)
			}
			if medical[slug] && !strings.Contains(body, `class="reviewed"`) {
				t.Errorf("%s: medical page without its review date", path)
			}
		}
	}
}
