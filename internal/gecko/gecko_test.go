package gecko_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tropa/internal/gecko"
)

// The harness's own tests: Firefox reaches a local server only through a
// fake SOCKS5 proxy that answers for one made-up onion name, as it reaches
// tropa through the Tor client in e2e.
const testHost = "geckotestxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"

// socks is a minimal SOCKS5 server (no authentication, CONNECT only) that
// sends connections for testHost:80 to target and refuses everything else.
// It records every CONNECT it was asked for, as "host:port", with the
// address type: a name must arrive unresolved (remote DNS).
type socks struct {
	l      net.Listener
	target string

	mu       sync.Mutex
	connects []string
}

func startSocks(t *testing.T, target string) *socks {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socks{l: l, target: target}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return s
}

func (s *socks) Connects() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.connects...)
}

func (s *socks) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(c, hdr); err != nil || hdr[0] != 5 {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil || !bytes.Contains(methods, []byte{0}) {
		c.Write([]byte{5, 0xff})
		return
	}
	c.Write([]byte{5, 0})
	req := make([]byte, 4)
	if _, err := io.ReadFull(c, req); err != nil || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 3:
		n := make([]byte, 1)
		io.ReadFull(c, n)
		name := make([]byte, n[0])
		io.ReadFull(c, name)
		host = string(name)
	case 1:
		ip := make([]byte, 4)
		io.ReadFull(c, ip)
		host = "ip:" + net.IP(ip).String()
	case 4:
		ip := make([]byte, 16)
		io.ReadFull(c, ip)
		host = "ip:" + net.IP(ip).String()
	default:
		return
	}
	pb := make([]byte, 2)
	io.ReadFull(c, pb)
	dest := fmt.Sprintf("%s:%d", host, binary.BigEndian.Uint16(pb))
	s.mu.Lock()
	s.connects = append(s.connects, dest)
	s.mu.Unlock()
	if dest != testHost+":80" {
		c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) // host unreachable
		return
	}
	up, err := net.Dial("tcp4", s.target)
	if err != nil {
		c.Write([]byte{5, 1, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	c.SetDeadline(time.Time{})
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// dotPNG is a 24×12 PNG, half black, half white.
func dotPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 24, 12))
	for y := 0; y < 12; y++ {
		for x := 0; x < 24; x++ {
			c := color.RGBA{255, 255, 255, 255}
			if x < 12 {
				c = color.RGBA{0, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func site(t *testing.T) string {
	t.Helper()
	img := "data:image/png;base64," + base64.StdEncoding.EncodeToString(dotPNG())
	pages := map[string]string{
		"/": `<!DOCTYPE html><html lang="en"><head><title>home</title><link rel="icon" href="data:,"></head><body>
<h1>Hello, Gecko</h1>
<script>document.title = "scripts ran"; document.body.insertAdjacentHTML("beforeend", "<p id=js>js</p>")</script>
<noscript><p id="nojs">scripting is off</p></noscript>
<p><img id="dot" src="` + img + `" width="24" height="12" alt="a dot"></p>
<p><a id="next" href="/form">to the form</a></p></body></html>`,
		"/form": `<!DOCTYPE html><html lang="en"><title>form</title><link rel="icon" href="data:,"><body>
<form method="post" action="/post"><label for="q">Q</label><textarea id="q" name="q"></textarea>
<button id="send">Send</button></form></body></html>`,
		"/wide": `<!DOCTYPE html><html lang="en"><title>wide</title><link rel="icon" href="data:,"><body style="margin:0"><div style="width:650px;height:10px"></div>
<div style="height:2000px">long</div></body></html>`,
		"/narrow": `<!DOCTYPE html><html lang="en"><title>narrow</title><link rel="icon" href="data:,"><body style="margin:0"><p>fits</p></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/post" && r.Method == http.MethodPost:
			r.ParseForm()
			http.Redirect(w, r, "/result?q="+url.QueryEscape(r.PostForm.Get("q")), http.StatusSeeOther)
		case r.URL.Path == "/result":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><title>result</title><link rel="icon" href="data:,"><p id="out">%s</p>`, r.URL.Query().Get("q"))
		case pages[r.URL.Path] != "":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, pages[r.URL.Path])
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `<!DOCTYPE html><html lang="en"><title>missing</title><link rel="icon" href="data:,"><h1>Not here</h1>`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestBrowser drives one Firefox through the fake proxy: pages, scripting
// off, elements, a form, screenshots at set viewports, printing, an error
// page, and no connection but to the one host.
func TestBrowser(t *testing.T) {
	gecko.RequireLoopbackOnly(t)
	if _, err := gecko.ExecPath(); err != nil {
		t.Fatal(err)
	}
	px := startSocks(t, site(t))
	start := time.Now()
	b := gecko.New(t, gecko.Options{SocksAddr: px.l.Addr().String()})
	t.Logf("Firefox started in %.1fs (pid %d)", time.Since(start).Seconds(), b.PID())
	base := "http://" + testHost

	t.Run("page", func(t *testing.T) {
		if err := b.Navigate(base + "/"); err != nil {
			t.Fatal(err)
		}
		if title, err := b.Title(); err != nil || title != "home" {
			t.Errorf("title %q, %v: want %q (scripts must not run)", title, err, "home")
		}
		h1, err := b.Find("h1")
		if err != nil {
			t.Fatal(err)
		}
		if txt, err := h1.Text(); err != nil || txt != "Hello, Gecko" {
			t.Errorf("h1 %q, %v", txt, err)
		}
		if ok, err := h1.Displayed(); err != nil || !ok {
			t.Errorf("h1 displayed: %v, %v", ok, err)
		}
		// The parser makes <noscript> content elements only when
		// scripting is off.
		if _, err := b.Find("#nojs"); err != nil {
			t.Errorf("<noscript> content is not in the DOM: scripting is on? %v", err)
		}
		if _, err := b.Find("#js"); !gecko.IsNoSuchElement(err) {
			t.Errorf("the page's script ran (or the lookup failed): %v", err)
		}
		dot, err := b.Find("#dot")
		if err != nil {
			t.Fatal(err)
		}
		var nw, nh int
		if err := dot.Property("naturalWidth", &nw); err != nil {
			t.Fatal(err)
		}
		dot.Property("naturalHeight", &nh)
		if nw != 24 || nh != 12 {
			t.Errorf("image natural size %dx%d, want 24x12", nw, nh)
		}
		shot, err := dot.Screenshot()
		if err != nil {
			t.Fatal(err)
		}
		img, err := gecko.DecodePNG(shot)
		if err != nil {
			t.Fatal(err)
		}
		if sz := img.Bounds().Size(); sz.X != 24 || sz.Y != 12 {
			t.Errorf("element screenshot %v, want 24x12", sz)
		} else if r, _, _, _ := img.At(2, 6).RGBA(); r > 0x2000 {
			t.Errorf("the image's black half is not black in the screenshot")
		} else if r, _, _, _ := img.At(21, 6).RGBA(); r < 0xd000 {
			t.Errorf("the image's white half is not white in the screenshot")
		}
		src, err := b.PageSource()
		if err != nil || !strings.Contains(src, "Hello, Gecko") {
			t.Errorf("page source: %v\n%.300s", err, src)
		}
		links, err := b.FindAll("a[href]")
		if err != nil || len(links) != 1 {
			t.Fatalf("links: %d, %v", len(links), err)
		}
		if href, _ := links[0].Attribute("href"); href != "/form" {
			t.Errorf("href %q", href)
		}
	})

	t.Run("form", func(t *testing.T) {
		if err := b.Navigate(base + "/form"); err != nil {
			t.Fatal(err)
		}
		q, err := b.Find("#q")
		if err != nil {
			t.Fatal(err)
		}
		if err := q.SendKeys("привет, Gecko"); err != nil {
			t.Fatal(err)
		}
		send, err := b.Find("#send")
		if err != nil {
			t.Fatal(err)
		}
		if err := send.Click(); err != nil {
			t.Fatal(err)
		}
		u, err := b.URL()
		if err != nil || !strings.HasPrefix(u, base+"/result?") {
			t.Fatalf("after submit: %q, %v", u, err)
		}
		out, err := b.Find("#out")
		if err != nil {
			t.Fatal(err)
		}
		if txt, _ := out.Text(); txt != "привет, Gecko" {
			t.Errorf("result %q", txt)
		}
	})

	t.Run("viewport", func(t *testing.T) {
		for _, vp := range []struct{ w, h int }{{1000, 900}, {400, 800}, {1000, 900}, {400, 800}} {
			start := time.Now()
			if err := b.SetViewport(vp.w, vp.h); err != nil {
				t.Fatal(err)
			}
			t.Logf("viewport %dx%d in %dms", vp.w, vp.h, time.Since(start).Milliseconds())
			for _, path := range []string{"/narrow", "/wide"} {
				if err := b.Navigate(base + path); err != nil {
					t.Fatal(err)
				}
				if w, h, err := b.Viewport(); err != nil || w != vp.w || h != vp.h {
					t.Errorf("%s: viewport %dx%d after navigating, want %dx%d (%v)", path, w, h, vp.w, vp.h, err)
				}
				raw, err := b.Screenshot()
				if err != nil {
					t.Fatal(err)
				}
				w, h, err := gecko.PNGSize(raw)
				if err != nil {
					t.Fatal(err)
				}
				scroll, client, err := b.PageWidth()
				if err != nil {
					t.Fatal(err)
				}
				// The short page has no vertical scrollbar and fits; the
				// long one has a scrollbar (classic on Linux) and is 650 px
				// wide.
				wantScroll, wantOverflow := vp.w, false
				if path == "/wide" {
					wantScroll, wantOverflow = max(client, 650), client < 650
				} else if client != vp.w {
					t.Errorf("%s at %dx%d: clientWidth %d", path, vp.w, vp.h, client)
				}
				if client > vp.w || client < vp.w-20 || scroll != wantScroll || (scroll > client) != wantOverflow {
					t.Errorf("%s at %dx%d: scrollWidth %d, clientWidth %d; want scrollWidth %d", path, vp.w, vp.h, scroll, client, wantScroll)
				}
				if w != scroll || h < vp.h {
					t.Errorf("%s at %dx%d: screenshot %dx%d, want %d wide (the page), at least %d tall", path, vp.w, vp.h, w, h, scroll, vp.h)
				}
			}
		}
	})

	t.Run("script", func(t *testing.T) {
		// The test's own script runs (the page's do not) and can set a
		// field past its maxlength.
		if err := b.Navigate(base + "/form"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := b.ExecuteScript(`const q = document.getElementById("q"); q.value = "x".repeat(arguments[0]); return q.value.length`, []any{70000}, &n); err != nil || n != 70000 {
			t.Errorf("script: %d, %v", n, err)
		}
	})

	t.Run("print", func(t *testing.T) {
		if err := b.Navigate(base + "/"); err != nil {
			t.Fatal(err)
		}
		pdf, err := b.Print()
		if err != nil {
			t.Fatal(err)
		}
		if len(pdf) < 500 {
			t.Errorf("PDF of %d bytes", len(pdf))
		}
	})

	t.Run("errors", func(t *testing.T) {
		// An HTTP error is the server's page, not an error.
		if err := b.Navigate(base + "/nope"); err != nil {
			t.Fatalf("a 404 page: %v", err)
		}
		if title, _ := b.Title(); title != "missing" {
			t.Errorf("404 page title %q", title)
		}
		// A host the proxy refuses: Firefox's own error page, reported.
		err := b.Navigate("http://unreachablexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion/")
		if err == nil || !strings.Contains(err.Error(), "about:neterror") {
			t.Errorf("navigating to a refused host: %v, want an about:neterror error", err)
		}
	})

	// Everything Firefox asked the proxy for: our host on port 80 (by name,
	// never an address: DNS stays remote) and the refused one, nothing
	// else — no update checks, remote settings, telemetry or safe-browsing
	// lists. (A page without an icon link makes Firefox fetch
	// /favicon.ico, upgraded to https on an onion: the test pages carry
	// an empty data: icon, as tropa's do.)
	for _, c := range px.Connects() {
		if c != testHost+":80" && !strings.HasPrefix(c, "unreachable") {
			t.Errorf("Firefox asked the proxy for %s", c)
		}
	}
}

// TestClose: Close kills Firefox and its helpers and removes its
// directories.
func TestClose(t *testing.T) {
	gecko.RequireLoopbackOnly(t)
	px := startSocks(t, site(t))
	b, err := gecko.Start(gecko.Options{SocksAddr: px.l.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	pid := b.PID()
	if pid == 0 {
		t.Fatal("no PID")
	}
	if err := b.Navigate("http://" + testHost + "/"); err != nil {
		t.Fatal(err)
	}
	dir := b.Dir()
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %dms", time.Since(start).Milliseconds())
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("Firefox (PID %d) still runs after Close", pid)
	}
	// Helpers that outlived the main process are reaped by init; they
	// may linger as zombies for a moment, but none may still run.
	if left := groupMembers(pid); len(left) > 0 {
		t.Errorf("processes of Firefox's group %d still run after Close: %v", pid, left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after Close (%v)", dir, err)
	}
}

// TestProfile: the placeholders are all replaced, and the settings that
// make this Tor Browser at "Safest" are there.
func TestProfile(t *testing.T) {
	p := gecko.Profile(9050, 2828)
	if strings.Contains(p, "@") {
		t.Errorf("a placeholder is left in the profile")
	}
	for _, want := range []string{
		`user_pref("network.proxy.socks_port", 9050);`,
		`user_pref("marionette.port", 2828);`,
		`user_pref("javascript.enabled", false);`,
		`user_pref("network.proxy.socks_remote_dns", true);`,
		`user_pref("privacy.resistFingerprinting", true);`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("profile lacks %s", want)
		}
	}
}

// groupMembers lists the processes of process group pgid that are not
// zombies, as "pid comm".
func groupMembers(pgid int) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:]) // state ppid pgrp ...
		if i < 0 || len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		out = append(out, e.Name()+" "+s[strings.IndexByte(s, '(')+1:i])
	}
	return out
}
