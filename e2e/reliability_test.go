package e2e

// The reliability suite (issue 9, "Reliability suite"): durability under
// kill -9, no logs, no outbound connections, bad state on disk and at
// start, and slow clients. Every test runs the built binary as a local
// preview (--tor=false) on 127.0.0.1; none needs the private Tor network.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tropa/internal/store"
)

var (
	relCSRF  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	relPages = regexp.MustCompile(`[?&]page=(\d+)`)
)

// relStart runs `tropa serve` as a local preview on data and returns it
// with the preview's base URL.
func relStart(t *testing.T, data string, env []string) (*proc, string) {
	t.Helper()
	p := startTropa(t, env, "serve", "--tor=false", "--http", "127.0.0.1:0", "--captcha=false", "--data", data)
	return p, p.WaitLine(t, previewLine, 30*time.Second)[1]
}

// relClient is one visitor: its own cookies, no redirects followed.
func relClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func relGet(c *http.Client, u, ua string) (int, string, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return 0, "", err
	}
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// relReply opens thread 1's reply form and posts body (with any extra
// form fields); it returns the POST's status.
func relReply(c *http.Client, base, body, ua string, extra url.Values) (int, error) {
	code, page, err := relGet(c, base+"/ru/t/1/reply", ua)
	if err != nil {
		return 0, err
	}
	m := relCSRF.FindStringSubmatch(page)
	if code != 200 || m == nil {
		return code, fmt.Errorf("reply form: %d, csrf found: %v", code, m != nil)
	}
	form := url.Values{"csrf": {m[1]}, "body": {body}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest("POST", base+"/ru/t/1/reply", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// relThread returns the text of every page of thread 1.
func relThread(t *testing.T, base string) string {
	t.Helper()
	c := relClient()
	var all strings.Builder
	last := 1
	for pg := 1; pg <= last; pg++ {
		code, page, err := relGet(c, base+"/ru/t/1?page="+strconv.Itoa(pg), "")
		if err != nil || code != 200 {
			t.Fatalf("thread page %d: %d %v", pg, code, err)
		}
		for _, m := range relPages.FindAllStringSubmatch(page, -1) {
			if n, _ := strconv.Atoi(m[1]); n > last {
				last = n
			}
		}
		all.WriteString(page)
	}
	return all.String()
}

func relToken() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// waitExit waits for p to exit by itself.
func waitExit(t *testing.T, p *proc, within time.Duration) {
	t.Helper()
	select {
	case <-p.Done:
	case <-time.After(within):
		t.Fatalf("tropa did not exit within %s\nstderr:\n%s", within, p.ErrOut())
	}
}

// oneLineError checks that p failed with a single plain line on stderr.
func oneLineError(t *testing.T, p *proc) string {
	t.Helper()
	if p.Err == nil {
		t.Fatalf("exit status 0\nstdout:\n%s", p.Out())
	}
	msg := p.ErrOut()
	if strings.Count(strings.TrimRight(msg, "\n"), "\n") != 0 || strings.TrimSpace(msg) == "" {
		t.Errorf("stderr is not one line: %q", msg)
	}
	if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
		t.Errorf("stack trace on stderr: %s", msg)
	}
	return strings.TrimSpace(msg)
}

// relStartedOrExited waits for p's preview line (returning the base URL)
// or for p to exit (returning "").
func relStartedOrExited(t *testing.T, p *proc) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line := <-p.Lines():
			if m := previewLine.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case <-p.Done:
			return ""
		case <-deadline:
			t.Fatalf("tropa neither served nor exited within 30 s\nstderr:\n%s", p.ErrOut())
		}
	}
}

// copyDir copies a data directory (Badger's files are sparse: keep them so).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", "--sparse=always", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp %s %s: %v %s", from, to, err, out)
	}
}

// TestReliabilityDurability (R1): posts that got their redirect survive a
// kill -9 of tropa mid-flight, and the store opens after every kill. Ten
// rounds of 500 concurrent posters, as the issue asks.
func TestReliabilityDurability(t *testing.T) {
	const rounds, posters, perPoster = 10, 500, 20
	data := filepath.Join(t.TempDir(), "data")
	var (
		mu   sync.Mutex
		kept []string // bodies whose POST got its 303
	)
	check := func(base string, round int) {
		text := relThread(t, base)
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		for _, b := range kept {
			if !strings.Contains(text, b) {
				if missing < 5 {
					t.Errorf("round %d: acknowledged post %q lost", round, b)
				}
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("round %d: %d of %d acknowledged posts lost", round, missing, len(kept))
		}
	}
	for round := 0; round < rounds; round++ {
		p, base := relStart(t, data, nil)
		check(base, round)
		var (
			wg      sync.WaitGroup
			okRound atomic.Int64
			others  atomic.Int64
		)
		for w := 0; w < posters; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := relClient()
				for i := 0; i < perPoster; i++ {
					body := fmt.Sprintf("durable round %d poster %d post %d %s", round, w, i, relToken())
					code, err := relReply(c, base, body, "", nil)
					if err != nil {
						return // tropa was killed
					}
					if code != http.StatusSeeOther {
						others.Add(1)
						continue
					}
					mu.Lock()
					kept = append(kept, body)
					mu.Unlock()
					okRound.Add(1)
				}
			}()
		}
		// Kill once posting is well under way, at a random moment.
		deadline := time.Now().Add(20 * time.Second)
		for okRound.Load() < 20 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(mrand.IntN(400)) * time.Millisecond)
		p.Cmd.Process.Signal(syscall.SIGKILL)
		<-p.Done
		wg.Wait()
		if okRound.Load() == 0 {
			t.Fatalf("round %d: no post succeeded", round)
		}
		if others.Load() > 0 {
			t.Errorf("round %d: %d posts answered with something other than 303", round, others.Load())
		}
		t.Logf("round %d: %d posts acknowledged before kill -9", round, okRound.Load())
	}
	p, base := relStart(t, data, nil)
	check(base, rounds)
	p.Stop(t, 20*time.Second)
	t.Logf("%d acknowledged posts all present after %d kills", len(kept), rounds)
}

// TestReliabilityNoLogs (R5): ten thousand mixed requests leave no trace in
// tropa's output or on its disk except the posted content itself. The
// store is opened unencrypted (a test-build hook) so its files can be
// searched.
func TestReliabilityNoLogs(t *testing.T) {
	const total, workers = 10000, 16
	data := filepath.Join(t.TempDir(), "data")
	p, base := relStart(t, data, []string{"TROPA_TEST_PLAIN_STORE=1"})
	// The start-up lines: the preview address, and the warning about the
	// unprotected store key (printed before the preview line).
	outBefore, errBefore := p.Out(), p.ErrOut()

	// Each marker is part of every string of its kind that is sent, so
	// finding the marker finds any of them.
	markers := map[string]string{
		"user agent":        "UaMarkQz7",
		"404 path":          "PathMarkQz7",
		"query string":      "QueryMarkQz7",
		"unposted field":    "FieldMarkQz7",
		"refused post body": "RefusedMarkQz7",
		"referer":           "RefererMarkQz7",
		"cookie":            "CookieMarkQz7",
	}
	const postedMark = "PostedOkQz7"
	pages := []string{"/ru/", "/en/", "/ru/board", "/en/board/hiv", "/ru/t/1", "/ru/ask", "/en/overdose", "/ru/services/schedule"}
	var (
		next    atomic.Int64
		posted  atomic.Int64
		mu      sync.Mutex
		failure []string
	)
	fail := func(f string, a ...any) {
		mu.Lock()
		if len(failure) < 10 {
			failure = append(failure, fmt.Sprintf(f, a...))
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := relClient()
			for {
				i := int(next.Add(1))
				if i > total {
					return
				}
				ua := fmt.Sprintf("Mozilla/5.0 (%s-%d)", markers["user agent"], i)
				switch i % 10 {
				case 0, 1, 2, 3: // pages, with a referer and a stray cookie
					req, _ := http.NewRequest("GET", base+pages[i%len(pages)], nil)
					req.Header.Set("User-Agent", ua)
					req.Header.Set("Referer", "http://example.onion/"+markers["referer"]+strconv.Itoa(i))
					req.AddCookie(&http.Cookie{Name: "stray", Value: markers["cookie"] + strconv.Itoa(i)})
					resp, err := c.Do(req)
					if err != nil {
						fail("GET %s: %v", req.URL, err)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						fail("GET %s: %d", req.URL, resp.StatusCode)
					}
				case 4, 5: // 404s
					code, _, err := relGet(c, fmt.Sprintf("%s/ru/%s-%d/x", base, markers["404 path"], i), ua)
					if err != nil || code != 404 {
						fail("404 path: %d %v", code, err)
					}
				case 6, 7: // query strings on real pages
					code, _, err := relGet(c, fmt.Sprintf("%s%s?q=%s-%d&from=%s", base, pages[i%len(pages)], markers["query string"], i, markers["query string"]), ua)
					if err != nil || code != 200 {
						fail("query: %d %v", code, err)
					}
				case 8: // a reply with a field the form does not have
					body := fmt.Sprintf("posted content %s number %d", postedMark, i)
					code, err := relReply(c, base, body, ua, url.Values{"nickname": {markers["unposted field"] + strconv.Itoa(i)}})
					if err != nil || code != http.StatusSeeOther {
						fail("post: %d %v", code, err)
					} else {
						posted.Add(1)
					}
				case 9: // a refused reply (no valid token): its text is not kept
					form := url.Values{"csrf": {"stale" + strconv.Itoa(i)}, "body": {fmt.Sprintf("refused text %s %d", markers["refused post body"], i)}}
					req, _ := http.NewRequest("POST", base+"/ru/t/1/reply", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("User-Agent", ua)
					resp, err := c.Do(req)
					if err != nil {
						fail("refused post: %v", err)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode < 400 || resp.StatusCode >= 500 {
						fail("refused post: %d", resp.StatusCode)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, f := range failure {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}
	if p.Out() != outBefore || p.ErrOut() != errBefore {
		t.Errorf("serving requests wrote output:\nstdout: %q\nstderr: %q",
			strings.TrimPrefix(p.Out(), outBefore), strings.TrimPrefix(p.ErrOut(), errBefore))
	}
	// The posted replies are on the disk once tropa has stopped (Badger
	// flushes its memtable), proving the search can see the store's text.
	p.Stop(t, 20*time.Second)
	for _, s := range []string{p.Out(), p.ErrOut()} {
		for kind, m := range markers {
			if strings.Contains(s, m) {
				t.Errorf("tropa's output holds a %s: %q", kind, s)
			}
		}
	}
	found := map[string][]string{}
	postedSeen := false
	filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("read %s: %v", path, err)
			return nil
		}
		rel, _ := filepath.Rel(data, path)
		for kind, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				found[kind] = append(found[kind], rel)
			}
		}
		if bytes.Contains(b, []byte(postedMark)) {
			postedSeen = true
		}
		return nil
	})
	if !postedSeen {
		t.Fatal("the posted replies are not found in the data directory: is the store really unencrypted? (TROPA_TEST_PLAIN_STORE)")
	}
	for kind, files := range found {
		sort.Strings(files)
		t.Errorf("a %s (%q) is stored in %v", kind, markers[kind], files)
	}
	t.Logf("%d requests (%d posts) left no trace", total, posted.Load())
}

// TestReliabilityNoOutbound (R6): while serving, tropa holds no socket to
// anything but 127.0.0.1 (its listeners and their peers) and its own Unix
// admin socket.
func TestReliabilityNoOutbound(t *testing.T) {
	// Under `make test` the suite runs in a network namespace with only
	// loopback; there every socket in the namespace must be on 127.0.0.1
	// too. Elsewhere only tropa's own sockets are checked.
	onlyLo := false
	if ifs, err := net.Interfaces(); err == nil {
		var names []string
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		onlyLo = len(names) == 1 && names[0] == "lo"
		t.Logf("network interfaces: %v (loopback-only namespace: %v)", names, onlyLo)
	}
	data := filepath.Join(t.TempDir(), "data")
	p, base := relStart(t, data, nil)
	pid := p.Cmd.Process.Pid
	stopTraffic := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := relClient()
			for i := 0; ; i++ {
				select {
				case <-stopTraffic:
					return
				default:
				}
				if i%5 == 0 {
					relReply(c, base, fmt.Sprintf("outbound check post %d %s", i, relToken()), "", nil)
				} else {
					relGet(c, base+"/ru/", "")
				}
			}
		}()
	}
	checked := 0
	for k := 0; k < 20; k++ {
		time.Sleep(100 * time.Millisecond)
		checked += relCheckSockets(t, pid, onlyLo)
	}
	close(stopTraffic)
	wg.Wait()
	if checked == 0 {
		t.Fatal("found none of tropa's TCP sockets: the check saw nothing")
	}
	p.Stop(t, 20*time.Second)
	t.Logf("checked %d TCP sockets of tropa in 20 samples: all on 127.0.0.1", checked)
}

// relCheckSockets checks every socket fd of pid and returns how many TCP
// sockets it saw.
func relCheckSockets(t *testing.T, pid int, wholeNamespace bool) int {
	t.Helper()
	type entry struct{ local, remote, file string }
	inodes := map[string]entry{}
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 {
				continue
			}
			e := entry{fs[1], fs[2], f}
			// Every socket in the namespace, tropa's or not, is loopback.
			for _, a := range []string{e.local, e.remote} {
				if wholeNamespace && !relLoopbackOrAny(a) {
					t.Errorf("/proc/%d/net/%s has a socket to %s: %s", pid, f, a, line)
				}
			}
			inodes[fs[9]] = e
		}
	}
	unix := map[string]bool{}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fs := strings.Fields(line); len(fs) >= 7 {
				unix[fs[6]] = true
			}
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("tropa's fds: %v", err)
	}
	n := 0
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		ino := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
		if e, ok := inodes[ino]; ok {
			if !strings.HasPrefix(e.file, "tcp") {
				t.Errorf("tropa has a %s socket: %s -> %s", e.file, e.local, e.remote)
			}
			if relHexAddr(e.local) == "0" || !relLoopbackOrAny(e.local) || !relLoopbackOrAny(e.remote) {
				t.Errorf("tropa's TCP socket %s -> %s is not on loopback", e.local, e.remote)
			}
			n++
			continue
		}
		if unix[ino] {
			continue
		}
		// A socket closed between the two reads, or one of another family
		// (netlink, packet): look again before calling it a failure.
		if again, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && again == link {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/netlink", pid)); bytes.Contains(b, []byte(" "+ino+" ")) || bytes.HasSuffix(bytes.TrimSpace(b), []byte(" "+ino)) {
				t.Errorf("tropa has a netlink socket (inode %s)", ino)
			}
		}
	}
	return n
}

// relHexAddr returns the address part of a /proc/net hex "ADDR:PORT".
func relHexAddr(a string) string {
	h, _, _ := strings.Cut(a, ":")
	if strings.Trim(h, "0") == "" {
		return "0"
	}
	return h
}

// relLoopbackOrAny: 127.0.0.0/8, ::1, ::ffff:127.x, or the unspecified
// address (a listener's or an unconnected socket's peer).
func relLoopbackOrAny(a string) bool {
	h := relHexAddr(a)
	switch {
	case h == "0":
		return true
	case len(h) == 8: // IPv4, little-endian: the last byte is the first octet
		return strings.HasSuffix(h, "7F")
	case len(h) == 32:
		if h == "00000000000000000000000001000000" { // ::1
			return true
		}
		// ::ffff:127.x.x.x
		return strings.HasPrefix(h, "0000000000000000FFFF0000") && strings.HasSuffix(h, "7F")
	}
	return false
}

// TestReliabilityBadState (R8): a damaged store, a missing tor, a wrong
// passphrase and a full disk each give a clear error and lose nothing
// already stored.
func TestReliabilityBadState(t *testing.T) {
	const pass = "TROPA_PASSPHRASE=correct horse battery staple"
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	// Some content, stopped cleanly so Badger has its tables on disk.
	p, base := relStart(t, good, []string{pass})
	var bodies []string
	c := relClient()
	for i := 0; i < 20; i++ {
		b := fmt.Sprintf("bad state keeps post %d %s", i, relToken())
		if code, err := relReply(c, base, b, "", nil); err != nil || code != http.StatusSeeOther {
			t.Fatalf("post: %d %v", code, err)
		}
		bodies = append(bodies, b)
	}
	p.Stop(t, 20*time.Second)
	backup := filepath.Join(dir, "backup")
	copyDir(t, good, backup)
	before := snapshot(t, good)
	hasAll := func(t *testing.T, data string) {
		t.Helper()
		p, base := relStart(t, data, []string{pass})
		text := relThread(t, base)
		for _, b := range bodies {
			if !strings.Contains(text, b) {
				t.Errorf("post %q lost", b)
			}
		}
		p.Stop(t, 20*time.Second)
	}

	t.Run("corrupt store", func(t *testing.T) {
		newest := func(ext string) string {
			files, _ := filepath.Glob(filepath.Join(good, "store", "*"+ext))
			sort.Strings(files)
			if len(files) == 0 {
				t.Fatalf("no %s file in the store: %v", ext, files)
			}
			return files[len(files)-1]
		}
		damage := map[string]func(t *testing.T, data string){
			"truncated sst": func(t *testing.T, data string) {
				f := filepath.Join(data, "store", filepath.Base(newest(".sst")))
				fi, _ := os.Stat(f)
				if err := os.Truncate(f, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
			},
			"truncated vlog": func(t *testing.T, data string) {
				f := filepath.Join(data, "store", filepath.Base(newest(".vlog")))
				fi, _ := os.Stat(f)
				if err := os.Truncate(f, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
			},
			"corrupt manifest": func(t *testing.T, data string) {
				f := filepath.Join(data, "store", "MANIFEST")
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for i := len(b) / 3; i < 2*len(b)/3; i++ {
					b[i] ^= 0xA5
				}
				os.WriteFile(f, b, 0o600)
			},
		}
		names := make([]string, 0, len(damage))
		for n := range damage {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				bad := filepath.Join(t.TempDir(), "data")
				copyDir(t, backup, bad)
				damage[name](t, bad)
				damaged := snapshot(t, bad)
				p := startTropa(t, []string{pass}, "serve", "--tor=false", "--http", "127.0.0.1:0", "--captcha=false", "--data", bad)
				if base := relStartedOrExited(t, p); base != "" {
					// Badger can live with some damage (a value log cut
					// short past its last entry): then nothing may be lost.
					if name == "truncated sst" {
						t.Error("tropa opened a store whose newest table is cut in half")
					}
					text := relThread(t, base)
					for _, b := range bodies {
						if !strings.Contains(text, b) {
							t.Errorf("tropa serves the damaged store without post %q", b)
						}
					}
					p.Stop(t, 20*time.Second)
					t.Logf("tropa opened the damaged store and serves all %d posts", len(bodies))
					return
				}
				if p.Err == nil {
					t.Fatal("tropa exited with status 0 on a damaged store")
				}
				msg := oneLineError(t, p)
				t.Logf("tropa says: %s", msg)
				// Refusing changed nothing: the damaged store is as it was,
				// for whoever tries to rescue it.
				if after := snapshot(t, bad); after != damaged {
					t.Errorf("refusing the damaged store changed the data directory:\nbefore:\n%s\nafter:\n%s", damaged, after)
				}
				if name != "truncated vlog" {
					// The line names the file and the way out.
					file := "MANIFEST"
					if name == "truncated sst" {
						file = filepath.Base(newest(".sst"))
					}
					for _, want := range []string{"damaged", file, "tropa restore", "README"} {
						if !strings.Contains(msg, want) {
							t.Errorf("the error does not say %q: %s", want, msg)
						}
					}
				}
				// Restored from the copy, everything is there.
				restored := filepath.Join(t.TempDir(), "data")
				copyDir(t, backup, restored)
				hasAll(t, restored)
			})
		}
	})

	t.Run("full disk", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to mount a small tmpfs")
		}
		// tropa refuses writes while less than its reserve is free on the
		// store's disk (store.DefaultMinFree), so that Badger, which
		// writes through memory maps, never meets a full disk (a SIGBUS).
		// The tmpfs leaves room for that reserve; a ballast file, as
		// another program would, fills the rest.
		reserve := store.DefaultMinFree()
		small := filepath.Join(t.TempDir(), "small")
		os.Mkdir(small, 0o700)
		size := fmt.Sprintf("size=%dm", (reserve>>20)+64)
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", size, "tmpfs", small).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", small).Run() })
		d := filepath.Join(small, "data")
		p, base := relStart(t, d, []string{pass})
		defer func() {
			if p.Running() {
				p.Cmd.Process.Signal(syscall.SIGKILL)
				<-p.Done
			}
		}()
		errStart := p.ErrOut()
		c := relClient()
		var kept []string
		filler := strings.Repeat("x", 9000)
		post := func(i int) (string, int, error) {
			b := fmt.Sprintf("full disk post %d %s %s", i, relToken(), filler)
			code, err := relReply(c, base, b, "", nil)
			if err == nil && code == http.StatusSeeOther {
				kept = append(kept, b)
			}
			return b, code, err
		}
		for i := 0; i < 5; i++ {
			if _, code, err := post(i); err != nil || code != http.StatusSeeOther {
				t.Fatalf("post on an empty disk: %d %v", code, err)
			}
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(small, &st); err != nil {
			t.Fatal(err)
		}
		free := int64(st.Bavail) * int64(st.Bsize)
		ballast := filepath.Join(small, "ballast")
		bf, err := os.Create(ballast)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Fallocate(int(bf.Fd()), 0, 0, free-reserve-2<<20); err != nil {
			t.Fatalf("ballast: %v", err)
		}
		bf.Close()
		// Post until tropa refuses: about 2 MiB of 9 KB posts.
		var refusedCode int
		var refusedErr error
		before := len(kept)
		for i := 5; i < 2000 && refusedCode == 0; i++ {
			_, code, err := post(i)
			switch {
			case err != nil:
				refusedErr = err
				refusedCode = -1
			case code != http.StatusSeeOther:
				refusedCode = code
			}
		}
		t.Logf("%d posts of 9 KB, %d of them after the ballast; then %d %v", len(kept), len(kept)-before, refusedCode, refusedErr)
		if refusedErr != nil || !p.Running() {
			first, _, _ := strings.Cut(strings.TrimPrefix(p.ErrOut(), errStart), "\n")
			t.Fatalf("the poster got no answer on a full disk (%v); tropa running: %v; stderr: %s", refusedErr, p.Running(), first)
		}
		if refusedCode == 0 {
			t.Fatal("tropa accepted 2000 posts with the disk nearly full")
		}
		if len(kept) == before {
			t.Error("no post was accepted between the ballast and the reserve")
		}
		// The visitor: 503, the reply form again with a localised "nothing
		// was saved" and the text still in it.
		checkRefused := func(what string) {
			t.Helper()
			code, page, err := relGet(c, base+"/ru/t/1/reply", "")
			m := relCSRF.FindStringSubmatch(page)
			if err != nil || code != 200 || m == nil {
				t.Fatalf("%s: reply form: %d %v", what, code, err)
			}
			text := "refused on a full disk " + relToken()
			form := url.Values{"csrf": {m[1]}, "body": {text}}
			resp, err := c.PostForm(base+"/ru/t/1/reply", form)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "Ничего не сохранено: сервер сейчас не может сохранять") ||
				!strings.Contains(string(body), ">"+text+"</textarea>") {
				t.Errorf("%s: %d, want 503 with the form, \"nothing was saved\" and the text:\n%.300s", what, resp.StatusCode, body)
			}
		}
		checkRefused("a post on a full disk")
		checkRefused("another post on a full disk")
		// Reading goes on.
		if text := relThread(t, base); !strings.Contains(text, kept[len(kept)-1][:40]) {
			t.Error("the last accepted post is not served while the disk is full")
		}
		// The operator: one line, no stack trace.
		msg := strings.TrimPrefix(p.ErrOut(), errStart)
		if strings.Count(strings.TrimRight(msg, "\n"), "\n") != 0 || !strings.Contains(msg, "disk full") {
			t.Errorf("stderr on a full disk is not one line about the disk: %q", msg)
		}
		if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
			t.Errorf("stack trace on stderr: %s", msg)
		}
		t.Logf("tropa says: %s", strings.TrimSpace(msg))
		// Stopped and started again while the disk is full (a reboot, a
		// restart by systemd): tropa stops cleanly (Badger's last flush
		// fits in the reserve), starts, serves every accepted post and
		// refuses new ones.
		p.Stop(t, 20*time.Second)
		if err := syscall.Statfs(small, &st); err != nil {
			t.Fatal(err)
		}
		free = int64(st.Bavail) * int64(st.Bsize)
		ballast2 := filepath.Join(small, "ballast2")
		bf, err = os.Create(ballast2)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Fallocate(int(bf.Fd()), 0, 0, free-reserve/2); err != nil {
			t.Fatalf("ballast: %v", err)
		}
		bf.Close()
		p, base = relStart(t, d, []string{pass})
		if text := relThread(t, base); !strings.Contains(text, kept[len(kept)-1][:40]) {
			t.Error("after a restart on a full disk the last accepted post is not served")
		}
		checkRefused("a post after a restart on a full disk")
		// Space freed: writes work again.
		if err := os.Remove(ballast); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(ballast2); err != nil {
			t.Fatal(err)
		}
		if _, code, err := post(9999); err != nil || code != http.StatusSeeOther {
			t.Fatalf("post after space was freed: %d %v", code, err)
		}
		// (tropa writes the line before it answers; the test reads its
		// stdout in another goroutine.)
		for wait := time.Now().Add(5 * time.Second); !strings.Contains(p.Out(), "disk space back") && time.Now().Before(wait); {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(p.Out(), "disk space back") {
			t.Errorf("stdout does not say the disk has space again:\n%s", p.Out())
		}
		// A clean stop (Badger flushes its memtable), then every accepted
		// post is there.
		p.Stop(t, 20*time.Second)
		p, base = relStart(t, d, []string{pass})
		text := relThread(t, base)
		for _, b := range kept {
			if !strings.Contains(text, b[:40]) {
				t.Errorf("post %q lost", b[:40])
			}
		}
		p.Stop(t, 20*time.Second)
	})

	t.Run("missing tor", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "data")
		copyDir(t, backup, d)
		snap := snapshot(t, d)
		p := startTropa(t, []string{pass}, "serve", "--tor-bin", "/nonexistent/tor", "--data", d)
		waitExit(t, p, 20*time.Second)
		msg := oneLineError(t, p)
		if !strings.Contains(msg, "tor") {
			t.Errorf("the error does not name tor: %q", msg)
		}
		if snapshot(t, d) != snap {
			t.Error("the data directory changed")
		}
	})

	t.Run("wrong passphrase", func(t *testing.T) {
		p := startTropa(t, []string{"TROPA_PASSPHRASE=wrong"}, "serve", "--tor=false", "--http", "127.0.0.1:0", "--captcha=false", "--data", good)
		waitExit(t, p, 30*time.Second)
		msg := oneLineError(t, p)
		if !strings.Contains(strings.ToLower(msg), "passphrase") {
			t.Errorf("the error does not mention the passphrase: %q", msg)
		}
		if after := snapshot(t, good); after != before {
			t.Errorf("the data directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		hasAll(t, good)
	})
}

// TestReliabilitySlowClients: 200 connections dribbling their headers a
// byte a second and 50 that never finish their bodies do not stop another
// visitor being served.
func TestReliabilitySlowClients(t *testing.T) {
	const dribblers, stallers = 200, 50
	data := filepath.Join(t.TempDir(), "data")
	p, base := relStart(t, data, nil)
	addr := strings.TrimPrefix(base, "http://")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var closedByServer, dialed atomic.Int64
	for i := 0; i < dribblers+stallers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			dialed.Add(1)
			defer conn.Close()
			var head string
			if i < dribblers {
				head = "GET /ru/ HTTP/1.1\r\nHost: " + addr + "\r\n"
				conn.Write([]byte(head))
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					case <-time.After(time.Second):
					}
					if _, err := conn.Write([]byte{"X-Slow: abcdefghijklmnop\r\n"[k%26]}); err != nil {
						closedByServer.Add(1)
						return
					}
				}
			}
			head = "POST /ru/t/1/reply HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ncsrf=x&body=never"
			conn.Write([]byte(head))
			done := make(chan struct{})
			go func() { io.Copy(io.Discard, conn); close(done) }()
			select {
			case <-stop:
			case <-done:
				closedByServer.Add(1)
			}
		}()
	}
	// Let the slow connections open, then keep visiting for 15 s: past
	// the server's 10 s ReadHeaderTimeout.
	time.Sleep(500 * time.Millisecond)
	c := &http.Client{Timeout: 10 * time.Second}
	var served int
	var slowest time.Duration
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) {
		start := time.Now()
		resp, err := c.Get(base + "/ru/")
		if err != nil {
			t.Fatalf("a visitor was not served within 10 s while %d slow connections were open: %v", dialed.Load(), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/ru/: %d", resp.StatusCode)
		}
		if d := time.Since(start); d > slowest {
			slowest = d
		}
		served++
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if dialed.Load() < dribblers+stallers {
		t.Errorf("only %d of %d slow connections opened", dialed.Load(), dribblers+stallers)
	}
	t.Logf("%d slow connections: %d visits served meanwhile, slowest %v; the server closed %d slow connections within 15 s",
		dialed.Load(), served, slowest.Round(time.Millisecond), closedByServer.Load())
	p.Stop(t, 20*time.Second)
}
