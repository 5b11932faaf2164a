package e2e

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// torControl opens an authenticated control connection to the tor that
// tropa runs with data directory data.
func torControl(t *testing.T, data string) *textproto.Conn {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "tor", "control-port-*"))
	var port string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if p, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "PORT="); ok {
			port = p
		}
	}
	if port == "" {
		t.Fatalf("no control port file under %s/tor", data)
	}
	cookie, err := os.ReadFile(filepath.Join(data, "tor", "control_auth_cookie"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := textproto.Dial("tcp", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Cmd("AUTHENTICATE %s", hex.EncodeToString(cookie)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadResponse(250); err != nil {
		t.Fatalf("AUTHENTICATE: %v", err)
	}
	return c
}

func controlCmd(t *testing.T, c *textproto.Conn, cmd string) string {
	t.Helper()
	if _, err := c.Cmd("%s", cmd); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.ReadResponse(250)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return msg
}

func status(t *testing.T, data string) map[string]any {
	t.Helper()
	out, err := exec.Command(tropaBin, "status", "--json", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("tropa status: %v\n%s", err, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return m
}

// TestOnionHardening: PoW and circuit-ID export are on, connections
// without tor's PROXY header are refused, a circuit that floods is limited
// and closed while another keeps being served, and a killed tor comes back
// by itself with the same address.
func TestOnionHardening(t *testing.T) {
	needTor(t)
	data := filepath.Join(t.TempDir(), "data")
	p := startTropa(t, nil, "serve", "--data", data, "--torrc", svcTorrc)
	addr := p.WaitLine(t, onionLine, 2*time.Minute)[1]
	base := "http://" + addr + ".onion"
	if resp, _ := fetchOnion(t, base+"/ru/"); resp.StatusCode != 200 {
		t.Fatalf("first fetch: %d", resp.StatusCode)
	}

	// tor's own configuration shows the defenses on the public onion.
	ctl := torControl(t, data)
	conf := controlCmd(t, ctl, "GETCONF HiddenServiceExportCircuitID HiddenServicePoWDefensesEnabled HiddenServiceMaxStreamsCloseCircuit")
	for _, want := range []string{"HiddenServiceExportCircuitID=haproxy", "HiddenServicePoWDefensesEnabled=1", "HiddenServiceMaxStreamsCloseCircuit=1"} {
		if !strings.Contains(conf, want) {
			t.Errorf("GETCONF: %q lacks %q", conf, want)
		}
	}

	// A connection that does not come from tor (no PROXY header) is refused.
	socks, _ := filepath.Glob(fmt.Sprintf("/dev/shm/tropa-%d-*/public.sock", p.Cmd.Process.Pid))
	if len(socks) != 1 {
		t.Fatalf("public socket not found: %v", socks)
	}
	raw, err := net.Dial("unix", socks[0])
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(raw, "GET /ru/ HTTP/1.1\r\nHost: x\r\n\r\n")
	if line, err := bufio.NewReader(raw).ReadString('\n'); err == nil || strings.HasPrefix(line, "HTTP/") {
		t.Errorf("a connection without PROXY header was answered: %q %v", line, err)
	}
	raw.Close()

	// One circuit floods: it gets 429 pages, then tropa closes it. Another
	// circuit keeps being served meanwhile.
	flood := net0.IsolatedClient("flood")
	other := net0.IsolatedClient("calm")
	got429, errs := 0, 0
	var page429 string
	for i := 0; i < 400 && (got429 == 0 || errs == 0); i++ {
		resp, err := flood.Get(base + "/en/")
		if err != nil {
			errs++ // the circuit was closed under the request
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			got429++
			page429 = string(b)
		}
		if i%50 == 0 {
			if r, err := other.Get(base + "/ru/"); err != nil || r.StatusCode != 200 {
				t.Errorf("a calm circuit was refused during the flood: %v", err)
			} else {
				r.Body.Close()
			}
		}
	}
	if got429 == 0 {
		t.Fatal("a flooding circuit was never limited")
	}
	if !strings.Contains(page429, "Too many requests") {
		t.Errorf("429 page is not the localised one: %.200s", page429)
	}
	st := status(t, data)
	tor := st["tor"].(map[string]any)
	if n, _ := tor["ClosedToday"].(float64); n < 1 {
		t.Errorf("no circuit closed for abuse (status %v)", tor)
	}
	if r, err := other.Get(base + "/ru/"); err != nil || r.StatusCode != 200 {
		t.Fatalf("calm circuit after the flood: %v", err)
	}

	// kill -9 of tor: tropa restarts it and the same onion answers again
	// within 60 s, without a restart of tropa.
	tors := childrenNamed(p.Cmd.Process.Pid, "tor")
	if len(tors) != 1 {
		t.Fatalf("tor children: %v", tors)
	}
	killed := time.Now()
	syscall.Kill(tors[0], syscall.SIGKILL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var back time.Duration
	for ctx.Err() == nil {
		rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
		req, _ := http.NewRequestWithContext(rctx, "GET", base+"/ru/", nil)
		resp, err := net0.IsolatedClient(fmt.Sprintf("after-kill-%d", time.Now().UnixNano())).Do(req)
		rcancel()
		t.Logf("%.1fs after kill: %v", time.Since(killed).Seconds(), err)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				back = time.Since(killed)
				break
			}
		}
		time.Sleep(time.Second)
	}
	if back == 0 {
		t.Fatalf("onion not reachable within 60 s of killing tor\nstdout:\n%s", p.Out())
	}
	t.Logf("onion answered again %.1fs after tor was killed\n%s", back.Seconds(), p.Out())
	if !p.Running() {
		t.Fatal("tropa itself exited")
	}
	if !strings.Contains(p.Out(), "tor: tor stopped unexpectedly") {
		t.Errorf("the restart was not reported:\n%s", p.Out())
	}
	if n := childrenNamed(p.Cmd.Process.Pid, "tor"); len(n) != 1 || n[0] == tors[0] {
		t.Errorf("expected one new tor child, got %v", n)
	}
	st = status(t, data)
	tor = st["tor"].(map[string]any)
	if tor["Restarts"].(float64) < 1 {
		t.Errorf("status shows no restart: %v", tor)
	}
	p.Stop(t, 20*time.Second)
}
