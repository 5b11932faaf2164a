package e2e

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tropa/internal/gecko"
)

// TestGeckoStaffOnion is the staff onion (v3 client authorization) in
// Firefox with JavaScript off: a visitor's Firefox, whose Tor client has
// no key, asks a public question and cannot open the staff onion (it
// shows Firefox's own error page, never the staff login); a staff
// member's Firefox, whose Tor client holds the key `tropa staff
// client-key` printed, logs in, answers the question from the queue and
// visits every staff page; the visitor then reads the answer, marked as
// the fund's, on the public onion. Screenshots go to
// $TROPA_TESTOUT/gecko/staff.
func TestGeckoStaffOnion(t *testing.T) {
	needTor(t)
	gecko.RequireLoopbackOnly(t)
	if _, err := gecko.ExecPath(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	shots := geckoShotsDir(t, "staff")
	cat := geckoCatalogue(t)
	const (
		staffName     = "olga"
		staffPassword = "a long staff password over tor"
		staffShown    = "Ольга, аутрич"
	)

	data := filepath.Join(t.TempDir(), "data")
	p := startTropa(t, nil, "serve", "--data", data, "--torrc", svcTorrc)
	visitor := &geckoRun{shots: shots, cat: cat}
	visitor.base = "http://" + p.WaitLine(t, onionLine, 2*time.Minute)[1] + ".onion"
	if resp, _ := geckoGet(t, visitor.base+"/ru/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ru/ through the onion: %d", resp.StatusCode)
	}

	// A staff device key; its Tor client starts now and bootstraps while
	// the visitor asks.
	out, err := exec.Command(tropaBin, "staff", "client-key", "laptop", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("staff client-key: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^([a-z2-7]{56}):descriptor:x25519:([A-Z2-7]{52})$`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no key line in:\n%s", out)
	}
	keyLine, staffAddr := m[0], m[1]
	keyedSocks := keyedTor(t, keyLine)
	add := exec.Command(tropaBin, "staff", "add", staffName, "--role", "admin", "--display-name", staffShown, "--password-stdin", "--data", data)
	add.Stdin = strings.NewReader(staffPassword + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("staff add: %v\n%s", err, out)
	}

	// The visitor's Firefox, on the network's ordinary Tor client.
	visitor.b = gecko.New(t, gecko.Options{SocksAddr: net0.SocksAddr})
	geckoRequireNoJS(t, visitor.b)
	visitor.vp = visitor.setViewport(t, geckoViewports[0])
	t.Logf("tropa published and visitor's Firefox started in %.1fs", time.Since(began).Seconds())

	// The visitor asks a public question and opens its thread.
	stamp := time.Now().Format("150405")
	title := "Можно ли колоть налоксон, если человек просто крепко спит? (" + stamp + ")"
	visitor.open(t, "/ru/ask?section=overdose")
	visitor.typeInto(t, "#title", title)
	visitor.typeInto(t, "#body", "Боюсь навредить, если это не передозировка. Пишу из Firefox без JavaScript.")
	visitor.solveCaptcha(t)
	visitor.submit(t, "#send", "/ru/receipt")
	receiptEl, err := visitor.b.Find("p#receipt")
	if err != nil {
		t.Fatal(err)
	}
	receipt, _ := receiptEl.Text()
	visitor.typeInto(t, "#receipt-back", receipt)
	visitor.submit(t, "#confirm", "/ru/receipt")
	visitor.submit(t, `main a[href="/ru/mine"]`, "/ru/mine")
	visitor.submit(t, "section.mine h2 a", "")
	threadURL, _ := visitor.b.URL()
	threadPath := strings.TrimPrefix(threadURL, visitor.base)
	if !regexp.MustCompile(`^/ru/t/\d+$`).MatchString(threadPath) {
		t.Fatalf("the question's link led to %s", threadURL)
	}
	threadID := strings.TrimPrefix(threadPath, "/ru/t/")

	// The staff onion is up: published by tropa and reachable with the
	// key (Go, through the keyed client, which also waits out its
	// bootstrap). So the refusal below is the missing key's doing.
	p.WaitLine(t, regexp.MustCompile(`^staff onion: 1 client key\(s\) registered; tor reloaded$`), 30*time.Second)
	p.WaitLine(t, regexp.MustCompile(`^staff onion: http://`+staffAddr+`\.onion$`), 2*time.Minute)
	staff := &geckoRun{shots: shots, cat: cat, base: "http://" + staffAddr + ".onion"}
	geckoWaitReachable(t, socksClient(keyedSocks), staff.base+"/ru/staff/login")
	t.Logf("staff onion reachable with the key after %.1fs", time.Since(began).Seconds())

	t.Run("without key", func(t *testing.T) {
		start := time.Now()
		err := visitor.b.Navigate(staff.base + "/ru/staff/")
		took := time.Since(start)
		var uri string
		if e := visitor.b.ExecuteScript(`return document.documentURI`, nil, &uri); e != nil {
			t.Fatal(e)
		}
		t.Logf("without the key, after %.1fs Firefox shows %s", took.Seconds(), uri)
		if err == nil {
			t.Errorf("Firefox loaded the staff onion without the key: %s", uri)
		}
		if !strings.HasPrefix(uri, "about:neterror") {
			t.Errorf("not Firefox's own error page: %s", uri)
		}
		if _, err := visitor.b.Find(`input[type="password"]`); !gecko.IsNoSuchElement(err) {
			t.Errorf("a password field on the page without the key (%v)", err)
		}
		if src, _ := visitor.b.PageSource(); strings.Contains(src, cat["ru"]["staff.login.title"]) || strings.Contains(src, cat["en"]["staff.login.title"]) {
			t.Errorf("the staff login is shown without the key")
		}
		visitor.shot(t, "nokey-1000x900")
	})

	// The staff member's Firefox, on the keyed Tor client.
	staff.b = gecko.New(t, gecko.Options{SocksAddr: keyedSocks})
	geckoRequireNoJS(t, staff.b)
	staff.vp = staff.setViewport(t, geckoViewports[0])

	reply := "Да, налоксон безопасен: если это не опиоидная передозировка, он ничего не сделает. Звоните 103. (" + stamp + ")"
	t.Run("login and reply", func(t *testing.T) {
		// Without a session: the login page.
		staff.open(t, "/ru/staff/")
		if u, _ := staff.b.URL(); u != staff.base+"/ru/staff/login" {
			t.Fatalf("without a session at %s, not the login page", u)
		}
		staff.checkPage(t, "/ru/staff/login")
		if h1 := staff.heading(t); h1 != cat["ru"]["staff.login.title"] {
			t.Errorf("login page heading %q", h1)
		}
		staff.typeInto(t, "#name", staffName)
		staff.typeInto(t, "#password", staffPassword)
		staff.submit(t, "#login", "/ru/staff/")

		// The question in the queue, marked public.
		staff.checkPage(t, "/ru/staff/")
		items, err := staff.b.FindAll("ul.threads li")
		if err != nil {
			t.Fatal(err)
		}
		href := "/ru/staff/t/" + threadID
		found := false
		for _, li := range items {
			if text, _ := li.Text(); strings.Contains(text, title) {
				found = true
				if !strings.Contains(text, cat["ru"]["staff.public"]) {
					t.Errorf("the question is not marked public in the queue: %q", text)
				}
			}
		}
		if !found {
			t.Fatalf("the question %q is not in the queue (%d items)", title, len(items))
		}
		a, err := staff.b.Find(`ul.threads a[href="` + href + `"]`)
		if err != nil {
			t.Fatalf("no link to %s in the queue: %v", href, err)
		}
		if s, _ := a.Text(); s != title {
			t.Errorf("the queue links %s as %q", href, s)
		}
		staff.submit(t, `ul.threads a[href="`+href+`"]`, href)
		staff.checkPage(t, href)
		if code, err := staff.b.Find(".crumbs code"); err != nil {
			t.Errorf("the staff thread does not say where it is public: %v", err)
		} else if s, _ := code.Text(); s != threadPath {
			t.Errorf("the staff thread says it is public at %q, want %q", s, threadPath)
		}

		staff.typeInto(t, "#body", reply)
		staff.submit(t, "#send", href+"?done=1")
		if flash, err := staff.b.Find(`main p.ok[role="status"]`); err != nil {
			t.Errorf("no confirmation after answering: %v", err)
		} else if s, _ := flash.Text(); s != cat["ru"]["staff.flash.done"] {
			t.Errorf("after answering: %q", s)
		}
		staff.checkStaffPost(t, "ru", reply, staffShown)
		staff.checkPage(t, href+"?done=1")
	})
	if t.Failed() {
		return
	}

	// Every page of the staff navigation: loads, has its heading, fits a
	// phone, screenshots at both sizes.
	t.Run("pages", func(t *testing.T) {
		start := time.Now()
		staff.open(t, "/ru/staff/")
		var navs []string
		if err := staff.b.ExecuteScript(`return Array.from(document.querySelectorAll("nav a[href]"), a => a.getAttribute("href"))`, nil, &navs); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range navs {
			if !strings.HasPrefix(h, "/ru/staff/") || h == "/ru/staff/" {
				continue
			}
			t.Run(geckoName(h), func(t *testing.T) { staff.checkPage(t, h) })
			n++
		}
		if n < 5 {
			t.Errorf("only %d staff pages in the navigation: %q", n, navs)
		}
		t.Logf("%d staff pages in %.1fs", n, time.Since(start).Seconds())
	})

	// The visitor sees the answer on the public onion, with the badge.
	t.Run("public", func(t *testing.T) {
		visitor.checkPage(t, threadPath)
		visitor.checkStaffPost(t, "ru", reply, staffShown)
		if b, err := visitor.b.Find("main p.meta .badge.ok"); err != nil {
			t.Errorf("the thread is not marked answered: %v", err)
		} else if s, _ := b.Text(); s != cat["ru"]["board.answered"] {
			t.Errorf("thread badge %q, want %q", s, cat["ru"]["board.answered"])
		}
	})
	t.Logf("TestGeckoStaffOnion: %.1fs in all; screenshots in %s", time.Since(began).Seconds(), shots)
}

// checkStaffPost: the page's last post is reply, shown as the fund's:
// the staff member's display name who and the staff badge (in lang),
// both visible.
func (g *geckoRun) checkStaffPost(t *testing.T, lang, reply, who string) {
	t.Helper()
	posts, err := g.b.FindAll("article.post")
	if err != nil || len(posts) < 2 {
		t.Fatalf("%d posts (%v)", len(posts), err)
	}
	var last struct {
		Staff bool   `json:"staff"`
		Who   string `json:"who"`
		Badge string `json:"badge"`
		Body  string `json:"body"`
	}
	if err := g.b.ExecuteScript(`const ps = document.querySelectorAll("article.post"); const p = ps[ps.length - 1];
		const q = s => { const e = p.querySelector(s); return e ? e.textContent.trim() : ""; };
		return {staff: p.classList.contains("staff"), who: q(".who"), badge: q("header .badge"), body: q(".body")}`, nil, &last); err != nil {
		t.Fatal(err)
	}
	if !last.Staff || last.Who != who || last.Badge != g.cat[lang]["board.badge.staff"] || last.Body != reply {
		t.Errorf("the last post: %+v; want the staff post %q by %q with the badge %q", last, reply, who, g.cat[lang]["board.badge.staff"])
	}
	badge, err := g.b.Find("article.post.staff:last-of-type header .badge")
	if err != nil {
		t.Fatal(err)
	}
	if shown, _ := badge.Displayed(); !shown {
		t.Errorf("the staff badge is not shown")
	}
}

// geckoRequireNoJS: the browser's JavaScript is off, as at Safest. The
// parser makes <noscript> content elements only then. (A data: page, so
// no network is involved.)
func geckoRequireNoJS(t *testing.T, b *gecko.Browser) {
	t.Helper()
	if err := b.Navigate("data:text/html;charset=utf-8,<title>js</title><noscript><p id=nojs>off</p></noscript>"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Find("#nojs"); err != nil {
		t.Fatalf("JavaScript is on in the profile: %v", err)
	}
}

// geckoWaitReachable fetches url with c until it answers 200, for up to
// two minutes (a Tor client still bootstrapping, a descriptor just
// uploaded).
func geckoWaitReachable(t *testing.T, c *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := c.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not reachable within 2 minutes: %v", url, err)
		}
		time.Sleep(time.Second)
	}
}

// geckoShotsDir is $TROPA_TESTOUT/gecko/name (testout/gecko/name at the
// repository root), emptied of old screenshots.
func geckoShotsDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(geckoOutBase(t), name)
	old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
