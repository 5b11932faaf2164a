package onion

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// frontend supervises Debian's onionbalance, which publishes the frontend
// descriptor through the first tor's control socket. Like tor, it is
// restarted with backoff when it exits, never outlives tropa (it gets
// SIGKILL when tropa dies), and its output stays in memory. Its key, its
// configuration and its status socket live in a RAM directory of their
// own, removed on Close.
type frontend struct {
	g       *group
	bin     string
	testnet bool
	wait    time.Duration
	dir     string
	out     *tailBuffer

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	started  time.Time
	restarts int
	waiting  string // why onionbalance does not run now ("" while it runs)

	stop    chan struct{}
	stopped chan struct{}
}

func (f *frontend) config() string     { return filepath.Join(f.dir, "onionbalance.yaml") }
func (f *frontend) keyFile() string    { return filepath.Join(f.dir, "frontend.pem") }
func (f *frontend) statusSock() string { return filepath.Join(f.dir, "status.sock") }

// startFrontend writes onionbalance's key and configuration into a RAM
// directory and starts supervising it. onionbalance 0.2.2 reads the
// frontend key as a PKCS#8 PEM (its "OBv3" format) or as tor's
// hs_ed25519_secret_key; the PEM is the one it signs with without patching
// stem, so that is what tropa writes.
func startFrontend(g *group, bin string, key ed25519.PrivateKey, testnet bool, wait time.Duration) (*frontend, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s --version: %v: %s (is Debian's onionbalance package complete? it runs on /usr/bin/python3 with python3-stem)",
			bin, err, firstLine(strings.TrimSpace(string(out))))
	}
	dir, err := ramDir()
	if err != nil {
		return nil, err
	}
	f := &frontend{g: g, bin: bin, testnet: testnet, wait: wait, dir: dir, out: &tailBuffer{max: 8192},
		waiting: "waiting for the instances to publish", stop: make(chan struct{}), stopped: make(chan struct{})}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err == nil {
		err = os.WriteFile(f.keyFile(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	}
	if err == nil {
		err = os.WriteFile(f.config(), []byte(f.configText()), 0o600)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("onionbalance configuration: %w", err)
	}
	go f.supervise()
	return f, nil
}

func (f *frontend) configText() string {
	var b strings.Builder
	b.WriteString("# Written by tropa at every start, in RAM; removed when tropa stops.\n")
	fmt.Fprintf(&b, "status-socket-location: '%s'\nservices:\n- key: '%s'\n  instances:\n", f.statusSock(), f.keyFile())
	for i, a := range f.g.addrs {
		fmt.Fprintf(&b, "  - address: %s.onion # %s\n", a, f.g.names[i])
	}
	for _, a := range f.g.remote {
		fmt.Fprintf(&b, "  - address: %s.onion # remote\n", a)
	}
	return b.String()
}

// torMark is what the supervisor last saw of one tor.
type torMark struct {
	restarts int
	pending  time.Time // a (re)start not yet followed by a republication
	upload   time.Time // the first upload after pending
}

// settle is how long after an instance's first upload the frontend waits
// before onionbalance fetches it: the descriptor goes to several HSDirs,
// and one that has not got it yet would hand out the previous one.
const settle = 5 * time.Second

// supervise starts onionbalance once the local instances have published
// (or after f.wait), restarts it with backoff when it exits, and restarts
// it when an instance's tor was restarted and has republished: its
// introduction points changed, and a fresh onionbalance fetches them at
// once instead of at its next ten-minute fetch. A restart of the first
// tor ends onionbalance's control connection, so it is stopped at once.
func (f *frontend) supervise() {
	defer close(f.stopped)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	marks := make([]torMark, len(f.g.tors))
	now := time.Now()
	for i := range marks {
		marks[i].pending = now.Add(-time.Second)
	}
	want := true // (re)start onionbalance when nothing is pending
	backoff := time.Second
	var notBefore time.Time
	for {
		f.mu.Lock()
		exited := f.exited
		f.mu.Unlock()
		select {
		case <-f.stop:
			f.kill()
			return
		case <-exited:
			f.mu.Lock()
			cmd, ran := f.cmd, time.Since(f.started)
			f.cmd, f.exited = nil, nil
			f.restarts++
			f.mu.Unlock()
			if ran > 5*time.Minute {
				backoff = time.Second
			}
			reason := "exited"
			if cmd.ProcessState != nil {
				reason += " (" + cmd.ProcessState.String() + ")"
			}
			if last := f.out.lastLine(); last != "" {
				reason += ": " + last
			}
			fmt.Fprintf(f.g.out, "onionbalance: %s; restarting in %s\n", reason, backoff)
			f.setWaiting("restarting after it exited")
			notBefore = time.Now().Add(backoff)
			backoff = min(2*backoff, time.Minute)
			want = true
			continue
		case <-tick.C:
		}
		now := time.Now()
		if why := f.stuck(now); why != "" {
			// Alive but not publishing: onionbalance 0.2.2 can loop forever
			// (its HSDir hash ring on a small network) or lose its control
			// connection without exiting.
			f.kill()
			f.mu.Lock()
			f.restarts++
			f.mu.Unlock()
			fmt.Fprintf(f.g.out, "onionbalance: %s; restarting it\n", why)
			want = true
		}
		for i, t := range f.g.tors {
			t.mu.Lock()
			r := t.st.restarts
			t.mu.Unlock()
			if r == marks[i].restarts {
				continue
			}
			marks[i].restarts = r
			marks[i].pending, marks[i].upload = now, time.Time{}
			want = true
			if i == 0 && f.running() {
				// Its control connection died with that tor.
				f.kill()
				f.setWaiting("the first tor restarted; waiting for it to republish")
			}
		}
		waiting := false
		for i, t := range f.g.tors {
			if marks[i].pending.IsZero() {
				continue
			}
			if up := t.lastUpload(f.g.addrs[i]); marks[i].upload.IsZero() && up.After(marks[i].pending) {
				marks[i].upload = up
			}
			if (!marks[i].upload.IsZero() && now.Sub(marks[i].upload) >= settle) || now.Sub(marks[i].pending) > f.wait {
				marks[i].pending, marks[i].upload = time.Time{}, time.Time{}
				continue
			}
			waiting = true
		}
		if !want || waiting || now.Before(notBefore) {
			continue
		}
		if f.running() {
			f.kill() // deliberate: the instances' introduction points changed
		}
		if err := f.startProcess(); err != nil {
			fmt.Fprintf(f.g.out, "onionbalance: did not start: %v; retrying in %s\n", err, backoff)
			f.setWaiting("did not start: " + err.Error())
			notBefore = now.Add(backoff)
			backoff = min(2*backoff, time.Minute)
			continue
		}
		want = false
	}
}

// stuck says why a running onionbalance should be restarted although it
// has not exited: no frontend upload seen within a while of its start, or
// for much longer than it republishes (every hour, or every 20 seconds on
// a test network).
func (f *frontend) stuck(now time.Time) string {
	f.mu.Lock()
	running, started := f.cmd != nil, f.started
	f.mu.Unlock()
	if !running {
		return ""
	}
	t := f.g.tors[0]
	t.mu.Lock()
	boot := t.st.progress
	t.mu.Unlock()
	if boot < 100 {
		return "" // no network: nothing can be published, restarting will not help
	}
	f.g.mu.Lock()
	last := f.g.lastUpload
	f.g.mu.Unlock()
	first, every := 10*time.Minute, 90*time.Minute
	if f.testnet {
		first, every = 2*time.Minute, 2*time.Minute
	}
	switch {
	case last.Before(started) && now.Sub(started) > first:
		return fmt.Sprintf("no frontend descriptor published in the %s since it started", first)
	case !last.Before(started) && now.Sub(last) > every:
		return fmt.Sprintf("no frontend descriptor published for %s", now.Sub(last).Round(time.Minute))
	}
	return ""
}

func (f *frontend) setWaiting(why string) {
	f.mu.Lock()
	f.waiting = why
	f.mu.Unlock()
}

func (f *frontend) running() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cmd != nil
}

// startProcess runs onionbalance against the first tor's control port,
// with cookie authentication (stem reads the cookie file tor names; this
// onionbalance has no password option: -p is the port). It tries a
// control socket first, by default /var/run/tor/control, which could lead
// it to the system's tor: it is given a path in its RAM directory where no
// socket exists. (A ControlSocket on tropa's tor would be neater, but bine
// cannot read the control-port file tor then writes.)
func (f *frontend) startProcess() error {
	t := f.g.tors[0]
	t.mu.Lock()
	g := t.cur
	t.mu.Unlock()
	if g == nil || g.t == nil {
		return fmt.Errorf("the first tor is not running")
	}
	args := []string{"--hs-version", "v3", "-c", f.config(), "-s", filepath.Join(f.dir, "no-control-socket"),
		"-i", "127.0.0.1", "-p", strconv.Itoa(g.t.ControlPort), "-v", "warning"}
	if f.testnet {
		args = append(args, "--is-testnet")
	}
	cmd := exec.Command(f.bin, args...)
	cmd.Dir = f.dir
	// Only what it needs: not the operator's environment (Python
	// settings of another interpreter would break Debian's).
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"HOME=" + f.dir, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
		"ONIONBALANCE_LOG_LEVEL=warning", "ONIONBALANCE_STATUS_SOCKET_LOCATION=" + f.statusSock()}
	cmd.Stdout, cmd.Stderr = f.out, f.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	f.mu.Lock()
	f.cmd, f.exited, f.started, f.waiting = cmd, exited, time.Now(), ""
	f.mu.Unlock()
	return nil
}

// kill stops the running onionbalance, if any: SIGTERM (it closes its
// control connection), then SIGKILL.
func (f *frontend) kill() {
	f.mu.Lock()
	cmd, exited := f.cmd, f.exited
	f.cmd, f.exited = nil, nil
	f.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(3 * time.Second):
	}
	cmd.Process.Kill()
	<-exited
}

func (f *frontend) close() {
	close(f.stop)
	<-f.stopped
	os.RemoveAll(f.dir)
}

// obStatus is onionbalance's status socket's answer (hs_v3/status.py).
type obStatus struct {
	Services []struct {
		OnionAddress                   string  `json:"onionAddress"`
		PublishAttemptFirstDescriptor  *string `json:"publishAttemptFirstDescriptor"`
		PublishAttemptSecondDescriptor *string `json:"publishAttemptSecondDescriptor"`
		Instances                      []struct {
			OnionAddress       string  `json:"onionAddress"`
			Received           *string `json:"received"`
			DescriptorReceived *string `json:"descriptorReceived"`
			IntroSetModified   *string `json:"introSetModified"`
			IntroPointsNum     int     `json:"introPointsNum"`
		} `json:"instances"`
	} `json:"services"`
}

// obTime parses onionbalance's UTC times ("2006-01-02 15:04:05").
func obTime(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", *s, time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

// obInstance is what onionbalance knows of one instance.
type obInstance struct {
	received, modified time.Time
	intros             int
}

// query asks onionbalance's status socket what it holds: per instance
// address, its last fetched descriptor; and its last publication attempt.
func (f *frontend) query() (map[string]obInstance, time.Time, bool) {
	if !f.running() {
		return nil, time.Time{}, false
	}
	c, err := net.DialTimeout("unix", f.statusSock(), time.Second)
	if err != nil {
		return nil, time.Time{}, false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if err != nil {
		return nil, time.Time{}, false
	}
	var st obStatus
	if json.Unmarshal(b, &st) != nil || len(st.Services) == 0 {
		return nil, time.Time{}, false
	}
	s := st.Services[0]
	last := obTime(s.PublishAttemptFirstDescriptor)
	if t2 := obTime(s.PublishAttemptSecondDescriptor); t2.After(last) {
		last = t2
	}
	out := map[string]obInstance{}
	for _, in := range s.Instances {
		r := obTime(in.DescriptorReceived)
		if r.IsZero() {
			r = obTime(in.Received)
		}
		out[strings.TrimSuffix(in.OnionAddress, ".onion")] = obInstance{received: r, modified: obTime(in.IntroSetModified), intros: in.IntroPointsNum}
	}
	return out, last, true
}

// lastUpload is when this tor last uploaded the descriptor of addr.
func (o *Tor) lastUpload(addr string) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u := o.st.uploads[addr]; u != nil {
		return u.last
	}
	return time.Time{}
}

// lastLine is the last line the process printed.
func (t *tailBuffer) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
