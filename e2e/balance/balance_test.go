package balance

import (
	"context"
	"crypto/ed25519"
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
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tropa/internal/testproc"
	"tropa/keys"
	"tropa/onion"
)

var frontLine = regexp.MustCompile(`^public onion: http://([a-z2-7]{56})\.onion$`)

// get fetches url with c, bounded by timeout, and wants a 200 page.
func get(c *http.Client, url string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return time.Since(start), err
	}
	if resp.StatusCode != 200 || !strings.Contains(string(b), `<html lang="ru">`) {
		return time.Since(start), fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start), nil
}

// newVisitor makes the client tor forget what it learnt of onion services
// (SIGNAL NEWNYM: cached descriptors, introduction points that failed,
// circuits), as a visitor's new Tor Browser would start: the test's single
// client otherwise keeps the frontend descriptor of its first visit and
// stays away from introduction points that once failed. tor delays a
// NEWNYM that comes less than 10 s after the previous one.
func newVisitor(t *testing.T) {
	t.Helper()
	if code, reply, err := net0.ClientControl("SIGNAL NEWNYM"); err != nil || code != 250 {
		t.Fatalf("SIGNAL NEWNYM: %d %s %v", code, reply, err)
	}
	time.Sleep(time.Second)
}

// connections returns each local instance's connection count, then the
// remote instances' together.
func connections(st *onion.Status) []int64 {
	var out []int64
	for _, in := range st.Balance.Instances {
		if !in.Remote {
			out = append(out, in.Connections)
		}
	}
	return append(out, st.Balance.RemoteConnections)
}

var instanceLine = regexp.MustCompile(`^instance onion: http://([a-z2-7]{56})\.onion$`)

// freeAddr is a free 127.0.0.1 port for the remote instances' link.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestBalancedOnion: with --tor-instances 2 and a remote instance (`tropa
// instance`, forwarding over 127.0.0.1 as it would over WireGuard), the
// public address (the same identity as with one tor) is published by
// onionbalance and answers on fresh circuits, and every instance serves
// some of them; when one local instance's tor is killed, the frontend keeps
// answering through the others, the tor comes back, and the status says
// honestly what the frontend lists.
func TestBalancedOnion(t *testing.T) {
	needNet(t)
	data := filepath.Join(t.TempDir(), "data")
	// The public identity exists before the first start here, so that the
	// remote instance can name its frontend (an operator copies it from
	// the main tropa's "public onion:" line).
	ring, err := keys.Open(filepath.Join(data, "keys"), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ring.Identity("public")
	if err != nil {
		t.Fatal(err)
	}
	front0 := onion.Address(pub.Public().(ed25519.PublicKey))
	link := freeAddr(t)
	ri := startTropa(t, "instance", "--data", filepath.Join(t.TempDir(), "instance"), "--torrc", svcTorrc,
		"--frontend", front0+".onion", "--forward", link)
	remote := ri.WaitLine(t, instanceLine, 2*time.Minute)[1]

	start := time.Now()
	p := startTropa(t, "serve", "--data", data, "--torrc", svcTorrc, "--tor-instances", "2",
		"--remote-instance", remote+".onion", "--instance-listen", link)
	front := p.WaitLine(t, frontLine, 3*time.Minute)[1]
	published := time.Since(start)
	base := "http://" + front + ".onion/ru/"
	if front != front0 {
		t.Errorf("frontend %s, public identity %s", front, front0)
	}

	// The frontend is the public identity: the address of a single tor.
	if out, err := exec.Command(tropaBin, "onion", "address", "--data", data).Output(); err != nil ||
		!strings.Contains(string(out), "public: http://"+front+".onion") {
		t.Errorf("frontend %s is not the public identity:\n%s (%v)", front, out, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	resp, err := net0.Get(ctx, base)
	cancel()
	if err != nil {
		t.Fatalf("first fetch through the frontend: %v\nstdout:\n%s", err, p.Out())
	}
	resp.Body.Close()
	t.Logf("frontend published %.1fs after start; first page %.1fs after start", published.Seconds(), time.Since(start).Seconds())

	st := status(t, data)
	if st.Balance == nil || len(st.Balance.Instances) != 3 || !st.Balance.Instances[2].Remote || st.Balance.Instances[2].Address != remote {
		t.Fatalf("status has no balance section with 2 local and 1 remote instances: %+v", st)
	}
	for _, in := range st.Balance.Instances[:2] {
		if !in.PoW || !in.HasDescriptor {
			t.Errorf("%s: PoW %v, descriptor %v", in.Name, in.PoW, in.HasDescriptor)
		}
	}
	if len(st.Services) == 0 || st.Services[0].Address != front || st.Services[0].PoW {
		t.Errorf("status services: %+v", st.Services)
	}

	// onionbalance publishes as soon as it has some instance's descriptor;
	// wait until the frontend lists them all, then come as a new visitor
	// (the client's copy from its first visit may list fewer).
	if !waitListed(t, data, 90*time.Second) {
		t.Fatalf("the frontend does not list every instance\n%s", statusText(data))
	}
	newVisitor(t)

	// Fresh circuits (distinct SOCKS credentials): every one answers, and
	// every instance serves some. The test's one client tor does not choose
	// evenly between the instances' introduction points (it tends to stay
	// with some; real visitors each have their own tor), so it may take up
	// to 36 circuits for all three to show.
	served := fresh(t, data, base, "visitor", 12, 36, -1)
	if served[0] == 0 || served[1] == 0 || served[2] == 0 {
		t.Errorf("every instance (local 1, local 2, remote) should serve some fresh circuits: %v\n%s", served, statusText(data))
	}

	// Kill instance 2's tor, then the first tor (which also carries the
	// staff onion and onionbalance's control connection): each time the
	// frontend keeps answering through the other instance, tropa restarts
	// the tor, onionbalance lists it again, and it serves again.
	obPID := status(t, data).Balance.Frontend.PID
	for _, victim := range []int{1, 0} {
		killAndWatch(t, p, data, base, victim)
		newVisitor(t)
		served := fresh(t, data, base, fmt.Sprintf("again-%d", victim), 6, 24, victim)
		if served[victim] == 0 {
			in := status(t, data).Balance.Instances[victim]
			net0.ClientControl("HSFETCH " + in.Address)
			time.Sleep(3 * time.Second)
			torDir := filepath.Join(data, "tor")
			if victim > 0 {
				torDir += fmt.Sprintf("-%d", victim+1)
			}
			logf := filepath.Join(t.TempDir(), "tor.log")
			clientLog := filepath.Join(t.TempDir(), "client.log")
			t.Logf("SETCONF Log: %s", torCtl(torDir, fmt.Sprintf(`SETCONF Log="info file %s"`, logf)))
			code, reply, err := net0.ClientControl(fmt.Sprintf(`SETCONF Log="info file %s"`, clientLog))
			t.Logf("client SETCONF Log: %d %s %v", code, reply, err)
			fresh(t, data, base, fmt.Sprintf("diag-%d", victim), 8, 8, victim)
			grep := func(file string, words ...string) string {
				b, _ := os.ReadFile(file)
				var keep []string
				for _, l := range strings.Split(string(b), "\n") {
					for _, w := range words {
						if strings.Contains(strings.ToLower(l), w) {
							keep = append(keep, l)
							break
						}
					}
				}
				if len(keep) > 60 {
					keep = keep[len(keep)-60:]
				}
				return strings.Join(keep, "\n")
			}
			t.Errorf("restarted instance %d serves no fresh circuit\nintroduction points (auth keys) in the client's frontend descriptor: %s\nin instance %d's own (client's TP): %s\nits tor's log meanwhile:\n%s\nthe client's:\n%s\n%s",
				victim+1, introKeys(front), victim+1, introKeys(in.Address), grep(logf, "intro", "onionbalance", "rend"),
				grep(clientLog, "intro", "fail", "nack", front[:10]), statusText(data))
			net0.ClientControl(`SETCONF Log="notice file ` + filepath.Join(net0.Dir, "client", "notice.log") + `"`)
		}
	}
	t.Logf("tropa status:\n%s", statusText(data))

	// SIGTERM stops everything tropa started.
	st = status(t, data)
	pids := []int{st.Balance.Frontend.PID, obPID}
	for _, in := range st.Balance.Instances {
		pids = append(pids, in.PID)
	}
	p.Stop(t, 30*time.Second)
	ri.Stop(t, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	for _, pid := range pids {
		if pid != 0 && testproc.Alive(pid) {
			t.Errorf("pid %d (tor or onionbalance) outlived tropa", pid)
		}
	}
}

// waitListed waits until tropa status says every instance is listed in
// the published frontend descriptor, logging the states on the way.
func waitListed(t *testing.T, data string, timeout time.Duration) bool {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		st := status(t, data)
		var states []string
		all := true
		for _, in := range st.Balance.Instances {
			states = append(states, in.Name+" "+in.Frontend)
			all = all && in.Frontend == onion.Listed
		}
		if now := strings.Join(states, ", "); now != last {
			last = now
			t.Logf("%.1fs: %s", time.Since(start).Seconds(), now)
		}
		if all {
			return true
		}
		time.Sleep(time.Second)
	}
	return false
}

// fresh fetches base on at least lo and at most hi fresh circuits, one
// after the other, until every instance (or the instance want, if >= 0)
// has served one, and returns how many each served. Every fetch must
// succeed.
func fresh(t *testing.T, data, base, tag string, lo, hi, want int) []int64 {
	t.Helper()
	before := connections(status(t, data))
	var times []string
	served := make([]int64, len(before))
	for i := 0; i < hi; i++ {
		c := net0.IsolatedClient(fmt.Sprintf("%s-%d", tag, i))
		d, err := get(c, base, 45*time.Second)
		if err != nil && strings.Contains(err.Error(), "unknown code: 240") {
			// Descriptor not found: right after NEWNYM the client may ask
			// the one HSDir onionbalance 0.2.2 never uploads to here (it
			// misses that relay's microdescriptor); tor then asks another,
			// as a visitor's reload would.
			t.Logf("fresh circuit %s-%d: descriptor not found at the first HSDir; again", tag, i)
			d, err = get(c, base, 45*time.Second)
		}
		if err != nil {
			t.Errorf("fresh circuit %s-%d: %v (%.1fs)", tag, i, err, d.Seconds())
		}
		times = append(times, fmt.Sprintf("%.2f", d.Seconds()))
		after := connections(status(t, data))
		all := true
		for k := range served {
			served[k] = after[k] - before[k]
			if served[k] == 0 && (want < 0 || want == k) {
				all = false
			}
		}
		if i+1 >= lo && all {
			break
		}
	}
	t.Logf("%d fresh circuits (%s): %s s; connections per instance %v", len(times), tag, strings.Join(times, " "), served)
	return served
}

// killAndWatch kills local instance victim's tor with SIGKILL and, while
// tropa restarts it, starts a fetch on a fresh circuit every second (each
// given 30 s, roughly a visitor's patience) until the instance is listed
// in the frontend again. It reports how those fetches fared, the longest
// time during which every new visitor failed, and what tropa status said
// about the instance meanwhile.
func killAndWatch(t *testing.T, p *proc, data, base string, victim int) {
	t.Helper()
	old := status(t, data).Balance.Instances[victim]
	if old.PID == 0 || !testproc.Alive(old.PID) {
		t.Fatalf("instance %d's tor: pid %d", victim+1, old.PID)
	}
	killed := time.Now()
	syscall.Kill(old.PID, syscall.SIGKILL)

	var (
		mu             sync.Mutex
		back, relisted time.Duration
		states         []string
		last           string
	)
	type attempt struct {
		at, took time.Duration
		err      error
	}
	var (
		tries []*attempt
		wg    sync.WaitGroup
	)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		a := &attempt{at: time.Since(killed)}
		tries = append(tries, a)
		wg.Go(func() {
			a.took, a.err = get(net0.IsolatedClient(fmt.Sprintf("kill-%d-%d", victim, i)), base, 30*time.Second)
		})
		out, err := exec.Command(tropaBin, "status", "--json", "--data", data).Output()
		var r report
		if err == nil && json.Unmarshal(out, &r) == nil && r.Tor != nil && r.Tor.Balance != nil {
			in := r.Tor.Balance.Instances[victim]
			at := time.Since(killed)
			mu.Lock()
			if in.Frontend != last {
				last = in.Frontend
				states = append(states, fmt.Sprintf("%5.1fs %s: %s", at.Seconds(), in.Frontend, in.FrontendWhy))
			}
			if back == 0 && in.Running && in.PID != old.PID && in.LastUpload.After(killed) {
				back = at
			}
			if back > 0 && relisted == 0 && in.Frontend == onion.Listed {
				relisted = at
			}
			mu.Unlock()
		}
		if (relisted > 0 && time.Since(killed) > relisted+3*time.Second) || time.Since(killed) > 90*time.Second {
			break
		}
		<-tick.C
	}
	wg.Wait()

	// A gap: consecutive new visitors who all failed, from the first
	// one's start to the next successful visitor's answer.
	var gap time.Duration
	failures, run := 0, -1
	var lines []string
	for k, a := range tries {
		mark := "ok"
		if a.err != nil {
			mark = "FAIL " + a.err.Error()
			failures++
			if run < 0 {
				run = k
			}
		} else if run >= 0 {
			gap = max(gap, a.at+a.took-tries[run].at)
			run = -1
		}
		lines = append(lines, fmt.Sprintf("  start %5.1fs took %5.2fs %s", a.at.Seconds(), a.took.Seconds(), mark))
	}
	if run >= 0 {
		gap = max(gap, time.Since(killed)-tries[run].at)
	}
	t.Logf("kill -9 of instance %d's tor: %d new visitors, one a second; %d failed; longest gap %.1fs; the tor was back (republished) %.1fs after the kill, listed in the frontend again %.1fs after\n%s\ninstance %d in the frontend, per tropa status:\n  %s",
		victim+1, len(tries), failures, gap.Seconds(), back.Seconds(), relisted.Seconds(), strings.Join(lines, "\n"), victim+1, strings.Join(states, "\n  "))
	if back == 0 {
		t.Errorf("instance %d's tor did not come back within 90 s\nstdout:\n%s", victim+1, p.Out())
	}
	if relisted == 0 {
		t.Errorf("instance %d was not listed in the frontend again within 90 s\n%s\nstdout:\n%s", victim+1, statusText(data), p.Out())
	}
	if failures*2 > len(tries) || gap > 40*time.Second {
		t.Errorf("the frontend did not keep answering: %d of %d new visitors failed, longest gap %.1fs", failures, len(tries), gap.Seconds())
	}
	if len(states) == 0 || !strings.Contains(states[0], " stale: ") {
		t.Errorf("right after the kill, tropa status should call instance %d stale in the frontend: %q", victim+1, states)
	}
	if !strings.Contains(p.Out(), fmt.Sprintf("tor %d: tor stopped unexpectedly", victim+1)) {
		t.Errorf("the restart was not reported:\n%s", p.Out())
	}
}

// introKeys decodes the client tor's cached descriptor of addr and lists
// its introduction points' auth keys (a diagnostic for failures; it needs
// Debian's python3-stem, which onionbalance brings).
func introKeys(addr string) string {
	code, reply, err := net0.ClientControl("GETINFO hs/client/desc/id/" + addr)
	if err != nil || code != 250 {
		return fmt.Sprintf("no descriptor (%d %s %v)", code, reply, err)
	}
	lines := strings.Split(reply, "\n")
	if len(lines) < 3 {
		return "short reply"
	}
	cmd := exec.Command("/usr/bin/python3", "-c", `
import sys
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3
d = HiddenServiceDescriptorV3.from_str(sys.stdin.read())
inner = d.decrypt(sys.argv[1])
print("revision", d.revision_counter, " ".join(ip.auth_key_cert.key.hex()[:8] for ip in inner.introduction_points))
`, addr)
	cmd.Stdin = strings.NewReader(strings.Join(lines[1:len(lines)-1], "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "cannot decode: " + strings.TrimSpace(string(out))
	}
	return strings.TrimSpace(string(out))
}

// torCtl sends one command to the control port of the tor whose data
// directory is dir (a diagnostic).
func torCtl(dir, cmd string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "control-port-*"))
	var port string
	var newest time.Time
	for _, f := range files { // one per tor start: the newest is the live one
		fi, err := os.Stat(f)
		b, _ := os.ReadFile(f)
		if p, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "PORT="); ok && err == nil && fi.ModTime().After(newest) {
			port, newest = p, fi.ModTime()
		}
	}
	cookie, err := os.ReadFile(filepath.Join(dir, "control_auth_cookie"))
	if err != nil {
		return err.Error()
	}
	c, err := textproto.Dial("tcp", port)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	if _, err := c.Cmd("AUTHENTICATE %s", hex.EncodeToString(cookie)); err != nil {
		return err.Error()
	}
	if _, _, err := c.ReadResponse(250); err != nil {
		return err.Error()
	}
	if _, err := c.Cmd("%s", cmd); err != nil {
		return err.Error()
	}
	_, msg, err := c.ReadResponse(250)
	if err != nil {
		return err.Error()
	}
	return msg
}
