package tornet_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tropa/internal/tornet"
)

// TestNetwork starts a network, puts an onion service on it and fetches
// the service through the client, as the project's end-to-end tests will.
func TestNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starting a private Tor network takes ~20 s; skipped in -short mode")
	}
	torBin, err := tornet.FindTor("")
	if errors.Is(err, tornet.ErrNoTor) {
		t.Skipf("tor is not installed (apt-get install tor): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	token := rand.Text()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tornet-ok %s", token)
	}))
	defer web.Close()

	t0 := time.Now()
	n, err := tornet.Start(ctx, tornet.Options{})
	if errors.Is(err, tornet.ErrNoTor) {
		t.Skipf("tor is not installed (apt-get install tor): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			n.Close()
		}
	}()
	t.Logf("Start: %s (socks %s, control %s, dir %s)", time.Since(t0).Round(time.Millisecond), n.SocksAddr, n.ClientControlAddr, n.Dir)

	// The service tor, as a service under test would run one.
	sdir := t.TempDir()
	hsdir := filepath.Join(sdir, "hs")
	if err := os.Mkdir(hsdir, 0o700); err != nil {
		t.Fatal(err)
	}
	include := filepath.Join(sdir, "tornet.torrc")
	if err := n.WriteServiceTorrc(include); err != nil {
		t.Fatal(err)
	}
	torrc := filepath.Join(sdir, "torrc")
	empty := filepath.Join(sdir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if err := os.WriteFile(torrc, []byte(fmt.Sprintf(`%%include %s
DataDirectory %[2]s/data
Log notice file %[2]s/notice.log
SocksPort 0
HiddenServiceDir %[3]s
HiddenServicePort 80 %[4]s
`, include, sdir, hsdir, web.Listener.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := exec.Command(torBin, "--defaults-torrc", empty, "-f", torrc,
		"--__OwningControllerProcess", strconv.Itoa(os.Getpid()))
	svc.Env = append(os.Environ(), "MALLOC_ARENA_MAX=1")
	svc.SysProcAttr = tornet.SysProcAttr()
	out, err := os.Create(filepath.Join(sdir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	svc.Stdout, svc.Stderr = out, out
	t1 := time.Now()
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	svcDone := make(chan struct{})
	go func() { svc.Wait(); close(svcDone) }()
	defer func() {
		svc.Process.Signal(syscall.SIGTERM)
		select {
		case <-svcDone:
		case <-time.After(10 * time.Second):
			svc.Process.Kill()
			<-svcDone
		}
	}()
	svcLog := func() string {
		b, _ := os.ReadFile(filepath.Join(sdir, "notice.log"))
		o, _ := os.ReadFile(filepath.Join(sdir, "stdout.log"))
		return string(b) + string(o)
	}

	var onion string
	for onion == "" {
		b, _ := os.ReadFile(filepath.Join(hsdir, "hostname"))
		onion = strings.TrimSpace(string(b))
		select {
		case <-svcDone:
			t.Fatalf("service tor exited:\n%s", svcLog())
		case <-ctx.Done():
			t.Fatalf("no hostname file: %v\n%s", ctx.Err(), svcLog())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("onion %s after %s", onion, time.Since(t1).Round(time.Millisecond))

	get := func(c *http.Client, who string) {
		t.Helper()
		s := time.Now()
		var resp *http.Response
		var err error
		if c == nil {
			resp, err = n.Get(ctx, "http://"+onion+"/")
		} else {
			var req *http.Request
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+onion+"/", nil)
			if err == nil {
				resp, err = c.Do(req)
			}
		}
		if err != nil {
			t.Fatalf("%s: %v\nservice log:\n%s", who, err, svcLog())
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != "tornet-ok "+token {
			t.Fatalf("%s: status %d body %q err %v", who, resp.StatusCode, body, err)
		}
		t.Logf("%s: ok in %s", who, time.Since(s).Round(time.Millisecond))
	}
	get(nil, "first fetch (Get, with retries)")
	get(n.HTTPClient(), "warm fetch (HTTPClient)")
	get(n.IsolatedClient("visitor2"), "fetch on a new circuit (IsolatedClient)")

	code, reply, err := n.ClientControl("GETINFO version")
	if err != nil || code != 250 || !strings.Contains(reply, "version=") {
		t.Fatalf("ClientControl GETINFO version = %d %q, %v", code, reply, err)
	}
	code, reply, err = n.ClientControl("GETINFO onions/nosuchkey")
	if err != nil || code/100 != 5 {
		t.Fatalf("ClientControl bad GETINFO = %d %q, %v; want a 5xx reply", code, reply, err)
	}

	// What a client-authorization test will do; 252 is a success too.
	key := make([]byte, 32)
	rand.Read(key)
	addr := strings.TrimSuffix(onion, ".onion")
	code, reply, err = n.ClientControl("ONION_CLIENT_AUTH_ADD " + addr + " x25519:" + base64.StdEncoding.EncodeToString(key))
	if err != nil || (code != 250 && code != 251 && code != 252) {
		t.Fatalf("ONION_CLIENT_AUTH_ADD = %d %q, %v", code, reply, err)
	}
	t.Logf("ONION_CLIENT_AUTH_ADD: %d %s", code, reply)
	if code, reply, err = n.ClientControl("ONION_CLIENT_AUTH_REMOVE " + addr); err != nil || code != 250 {
		t.Fatalf("ONION_CLIENT_AUTH_REMOVE = %d %q, %v", code, reply, err)
	}

	pids := n.PIDs()
	var total int
	var rss []string
	for name, pid := range pids {
		kb := vmRSS(pid)
		total += kb
		rss = append(rss, fmt.Sprintf("%s %d", name, kb/1024))
	}
	svcKB := vmRSS(svc.Process.Pid)
	t.Logf("RSS MiB: %s, service %d; network total %d MiB (+service %d)",
		strings.Join(rss, ", "), svcKB/1024, total/1024, (total+svcKB)/1024)

	dir := n.Dir
	t2 := time.Now()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	t.Logf("Close: %s", time.Since(t2).Round(time.Millisecond))
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still there after Close: kill 0 = %v", name, pid, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary Dir %s not removed: %v", dir, err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// vmRSS returns a process's resident set in KiB, 0 if unknown.
func vmRSS(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	return 0
}

// TestClientsSendNamesToProxy checks, against a fake SOCKS5 proxy, that
// the HTTP clients hand the host name to the proxy unresolved (a .onion
// name cannot be resolved locally, and trying would leak it to DNS), and
// that IsolatedClient sends its tag as the SOCKS username.
func TestClientsSendNamesToProxy(t *testing.T) {
	type seen struct{ host, user string }
	got := make(chan seen, 10)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := fakeSocks(c)
				if err != nil {
					t.Error(err)
					return
				}
				got <- seen{s[0], s[1]}
			}()
		}
	}()

	n := tornet.NewForSocks(l.Addr().String())
	const onion = "tornetfaketornetfaketornetfaketornetfaketornetfaketorn.onion"
	for _, tc := range []struct {
		c         *http.Client
		host      string
		wantUser  string
		usesRetry bool
	}{
		{n.HTTPClient(), onion, "", true},
		{n.HTTPClient(), "tornet.invalid", "", false},
		{n.IsolatedClient("visitor2"), onion, "visitor2", false},
	} {
		url := "http://" + tc.host + "/"
		var resp *http.Response
		if tc.usesRetry {
			resp, err = n.Get(context.Background(), url)
		} else {
			resp, err = tc.c.Get(url)
		}
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Errorf("GET %s: body %q", url, body)
		}
		s := <-got
		if s.host != tc.host+":80" || s.user != tc.wantUser {
			t.Errorf("GET %s: proxy saw CONNECT %q as user %q; want %q as %q", url, s.host, s.user, tc.host+":80", tc.wantUser)
		}
	}
}

// fakeSocks serves one SOCKS5 CONNECT and one HTTP request on c. It
// accepts only a domain-name CONNECT, and returns the "host:port" and
// username it received.
func fakeSocks(c net.Conn) ([2]string, error) {
	var res [2]string
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil || hdr[0] != 5 {
		return res, fmt.Errorf("socks greeting %v: %v", hdr, err)
	}
	methods := make([]byte, hdr[1])
	io.ReadFull(r, methods)
	if strings.IndexByte(string(methods), 2) >= 0 {
		c.Write([]byte{5, 2})
		b := make([]byte, 2)
		io.ReadFull(r, b)
		user := make([]byte, b[1])
		io.ReadFull(r, user)
		io.ReadFull(r, b[:1])
		pass := make([]byte, b[0])
		io.ReadFull(r, pass)
		res[1] = string(user)
		c.Write([]byte{1, 0})
	} else {
		c.Write([]byte{5, 0})
	}
	req := make([]byte, 5)
	if _, err := io.ReadFull(r, req); err != nil {
		return res, err
	}
	if req[1] != 1 || req[3] != 3 {
		c.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
		return res, fmt.Errorf("socks request %v: want CONNECT to a domain name (atyp 3)", req[:4])
	}
	host := make([]byte, int(req[4])+2)
	io.ReadFull(r, host)
	port := binary.BigEndian.Uint16(host[len(host)-2:])
	res[0] = net.JoinHostPort(string(host[:len(host)-2]), strconv.Itoa(int(port)))
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 80})
	if _, err := http.ReadRequest(r); err != nil {
		return res, err
	}
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	return res, nil
}
