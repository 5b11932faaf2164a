package main

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/net/html"
)

// P5: every public page reachable from /ru/ and /en/ by links, with its
// bytes, gzip'd bytes and the requests a browser makes to show it (the
// page plus every subresource it would load: stylesheets, icons, images,
// scripts, frames, media, CSS url()s — data: URIs cost no request).

type pageWeight struct {
	path        string
	status      int
	raw, gz     int
	subSame     []string // same-site subresources a browser would load
	subExternal []string // anything from elsewhere (the CSP forbids it)
	dataURIs    int
}

func (p pageWeight) requests() int { return 1 + len(p.subSame) + len(p.subExternal) }

var reReport = regexp.MustCompile(`/report/\d+$`)

func (b *bench) phasePages() error {
	if err := b.ensureBoard(); err != nil {
		return err
	}
	tp, base, _, err := b.startTropa(b.boardDir) // captcha on, as in production
	if err != nil {
		return err
	}
	defer b.procs.stopOne(tp)
	seen := map[string]bool{}
	queue := []string{"/ru/", "/en/", "/ru/no-such-page"}
	reports := 0
	var out []pageWeight
	for len(queue) > 0 && len(out) < 400 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		if reReport.MatchString(path) {
			if reports >= 2 { // one report form stands for all
				continue
			}
			reports++
		}
		raw, err := fetch(base+path, false)
		if err != nil {
			return err
		}
		if raw.status >= 300 && raw.status < 400 {
			if loc := raw.header.Get("Location"); strings.HasPrefix(loc, "/") {
				queue = append(queue, loc)
			}
			continue
		}
		if !strings.HasPrefix(raw.header.Get("Content-Type"), "text/html") {
			continue // e.g. the captcha's audio, a link the visitor may follow
		}
		gz, err := fetch(base+path, true)
		if err != nil {
			return err
		}
		pw := pageWeight{path: path, status: raw.status, raw: len(raw.body), gz: len(gz.body)}
		links := inspect(raw.body, &pw)
		out = append(out, pw)
		for _, l := range links {
			if !seen[l] {
				queue = append(queue, l)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].path < out[j].path })
	b.rep.pages = out
	return nil
}

// inspect fills pw's subresources from page and returns the same-site
// paths it links to (<a href>).
func inspect(page []byte, pw *pageWeight) []string {
	var links []string
	res := func(ref string) {
		ref = strings.TrimSpace(ref)
		switch {
		case ref == "" || strings.HasPrefix(ref, "#"):
		case strings.HasPrefix(strings.ToLower(ref), "data:"):
			pw.dataURIs++
		case sameSite(ref):
			pw.subSame = append(pw.subSame, ref)
		default:
			pw.subExternal = append(pw.subExternal, ref)
		}
	}
	srcset := func(v string) {
		for _, part := range strings.Split(v, ",") {
			if f := strings.Fields(part); len(f) > 0 {
				res(f[0])
			}
		}
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	inStyle := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return links
		case html.TextToken:
			if inStyle {
				for _, u := range cssURLs(string(z.Text())) {
					res(u)
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "style" {
				inStyle = false
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if tag == "style" && tt == html.StartTagToken {
				inStyle = true
			}
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			if st, ok := attrs["style"]; ok {
				for _, u := range cssURLs(st) {
					res(u)
				}
			}
			switch tag {
			case "a":
				if h, ok := attrs["href"]; ok && sameSite(h) {
					if u, err := url.Parse(h); err == nil && strings.HasPrefix(u.Path, "/") {
						p := u.Path
						if u.RawQuery != "" {
							p += "?" + u.RawQuery
						}
						links = append(links, p)
					}
				}
			case "link":
				rel := strings.ToLower(attrs["rel"])
				for _, r := range strings.Fields(rel) {
					switch r {
					case "stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "prefetch", "modulepreload", "manifest", "mask-icon":
						if h, ok := attrs["href"]; ok {
							res(h)
						}
					}
				}
			case "img", "script", "iframe", "frame", "embed", "source", "track", "audio", "video":
				if v, ok := attrs["src"]; ok {
					res(v)
				}
				if v, ok := attrs["srcset"]; ok {
					srcset(v)
				}
				if v, ok := attrs["poster"]; ok {
					res(v)
				}
			case "object":
				if v, ok := attrs["data"]; ok {
					res(v)
				}
			case "input":
				if strings.EqualFold(attrs["type"], "image") {
					res(attrs["src"])
				}
			}
		}
	}
}

var reCSSURL = regexp.MustCompile(`url\(\s*['"]?([^'")]+)['"]?\s*\)`)

func cssURLs(css string) []string {
	var out []string
	for _, m := range reCSSURL.FindAllStringSubmatch(css, -1) {
		out = append(out, m[1])
	}
	return out
}

// sameSite: a path-relative or root-relative reference.
func sameSite(ref string) bool {
	u, err := url.Parse(ref)
	if err != nil {
		return false
	}
	return u.Scheme == "" && u.Host == "" && !strings.HasPrefix(ref, "//")
}

func kib(n int) string { return fmt.Sprintf("%.1f", float64(n)/1024) }
