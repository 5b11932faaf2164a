// Package onion runs tropa's tor child process and publishes its onion
// services. It is the only importer of github.com/cretz/bine.
//
// Design (see shared/notes/tor.md): the services are defined in a torrc that
// tropa writes at every start (HiddenServiceDir + HiddenServicePort), not
// through bine's Listen/ADD_ONION, because only torrc-defined services can
// later carry circuit-ID export, client authorization lists and Onionbalance.
// The service directories, holding tor's copy of each identity key, live on
// a RAM-backed filesystem (created 0700, removed on exit), so the keys never
// rest in plaintext on persistent disk. The web side listens on a unix socket
// in that same directory: only processes of this user can reach it.
//
// This package must never log: bine's DebugWriter stays nil (it would print
// ADD_ONION private keys), tor's own output is kept in a small in-memory
// buffer shown only when tor fails to start, and the progress it prints
// carries tor's bootstrap state and the onion address, never request data.
package onion

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/control"
	"github.com/cretz/bine/process"
	"github.com/cretz/bine/tor"
)

// Config says how to run tor.
type Config struct {
	// TorBin is the tor executable, a path or a name on PATH.
	TorBin string
	// DataDir is tor's DataDirectory (consensus cache and state; no keys).
	DataDir string
	// ExtraTorrc is an operator torrc file whose lines are included, e.g.
	// to join a private test network. Empty means none.
	ExtraTorrc string
	// Progress receives tor's bootstrap steps and the published addresses,
	// one line each. Nil discards them.
	Progress io.Writer
	// Waiting, when set, is named in the "cannot reach the Tor network"
	// message (e.g. "the local preview at http://127.0.0.1:8080 keeps working").
	Waiting string
}

// Service is one onion service to publish.
type Service struct {
	// Name is a short label ("public", "staff"), printed as "<name> onion:".
	Name string
	// Key is the service's ed25519 identity.
	Key ed25519.PrivateKey
}

// Tor is a running tor child process with its services.
type Tor struct {
	cfg      Config
	services []Service
	ram      string
	torrc    string
	lns      map[string]net.Listener

	t      *tor.Tor
	cancel context.CancelFunc
	out    *tailBuffer
	pid    int

	mu        sync.Mutex
	progress  int
	warned    bool
	published map[string]chan struct{}
	closed    bool
}

// ErrNoTor means the tor executable could not be found.
var ErrNoTor = errors.New("tor is not installed")

// LookTor returns the path of the tor executable or an error saying how to
// install it.
func LookTor(bin string) (string, error) {
	if bin == "" {
		bin = "tor"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		if p2, err2 := exec.LookPath("/usr/sbin/" + bin); err2 == nil && !strings.Contains(bin, "/") {
			return p2, nil
		}
		return "", fmt.Errorf("%w (%q not found): on Debian run `apt-get install -y tor` as root, or give its path with --tor-bin, or run with --tor=false", ErrNoTor, bin)
	}
	return p, nil
}

// Start prepares a RAM directory with a unix listener per service, writes
// the torrc and starts tor. It returns once tor's control port answers; the
// network bootstrap and the publication continue in the background and are
// reported on cfg.Progress. Serve each service on Listener(name).
func Start(ctx context.Context, cfg Config, services []Service) (*Tor, error) {
	bin, err := LookTor(cfg.TorBin)
	if err != nil {
		return nil, err
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.ExtraTorrc != "" {
		abs, err := filepath.Abs(cfg.ExtraTorrc)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("torrc file: %w", err)
		}
		cfg.ExtraTorrc = abs
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("tor data dir: %w", err)
	}
	ram, err := ramDir()
	if err != nil {
		return nil, err
	}
	o := &Tor{cfg: cfg, services: services, ram: ram, lns: map[string]net.Listener{},
		out: &tailBuffer{max: 4096}, published: map[string]chan struct{}{}}
	ok := false
	defer func() {
		if !ok {
			o.Close()
		}
	}()
	for _, s := range services {
		dir := filepath.Join(ram, "hs-"+s.Name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "hs_ed25519_secret_key"), torKeyFile(s.Key), 0o600); err != nil {
			return nil, err
		}
		ln, err := net.Listen("unix", o.socketPath(s.Name))
		if err != nil {
			return nil, fmt.Errorf("listen for tor: %w", err)
		}
		o.lns[s.Name] = ln
		o.published[Address(s.Key.Public().(ed25519.PublicKey))] = make(chan struct{})
	}
	o.torrc = filepath.Join(cfg.DataDir, "torrc")
	if err := os.WriteFile(o.torrc, []byte(o.torrcText()), 0o600); err != nil {
		return nil, err
	}
	// tor lives as long as this context; Close cancels it.
	runCtx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	creator := process.CmdCreatorFunc(func(ctx context.Context, args ...string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout = o.out
		cmd.Stderr = o.out
		cmd.Env = append(os.Environ(), "MALLOC_ARENA_MAX=1")
		return cmd, nil
	})
	t, err := tor.Start(runCtx, &tor.StartConf{
		ProcessCreator:  creator,
		DataDir:         cfg.DataDir,
		TorrcFile:       o.torrc,
		NoAutoSocksPort: true,
		EnableNetwork:   true,
		ExtraArgs:       []string{"--__OwningControllerProcess", strconv.Itoa(os.Getpid())},
		// DebugWriter stays nil on purpose: it would log key material.
	})
	if err != nil {
		return nil, fmt.Errorf("tor did not start: %v%s", err, o.out.explain())
	}
	o.t = t
	// tor exits by itself when this control connection closes, also when
	// tropa is killed with SIGKILL.
	if err := t.Control.TakeOwnership(); err != nil {
		return nil, fmt.Errorf("tor: TAKEOWNERSHIP: %w", err)
	}
	if kv, err := t.Control.GetInfo("process/pid"); err == nil && len(kv) == 1 {
		o.pid, _ = strconv.Atoi(kv[0].Val)
	}
	events := make(chan control.Event, 256)
	if err := t.Control.AddEventListener(events, control.EventCodeStatusClient, control.EventCodeHSDesc); err != nil {
		return nil, fmt.Errorf("tor: SETEVENTS: %w", err)
	}
	go func() { _ = t.Control.HandleEvents(runCtx) }()
	go o.watch(runCtx, events)
	if kv, err := t.Control.GetInfo("status/bootstrap-phase"); err == nil && len(kv) == 1 {
		o.bootstrapLine(parseStatus("NOTICE BOOTSTRAP " + strings.TrimPrefix(kv[0].Val, "NOTICE BOOTSTRAP ")))
	}
	ok = true
	return o, nil
}

func (o *Tor) socketPath(name string) string { return filepath.Join(o.ram, name+".sock") }

func (o *Tor) torrcText() string {
	var b strings.Builder
	b.WriteString("# Written by tropa at every start: edits here are lost.\n")
	b.WriteString("# Add your own lines with --torrc FILE instead.\n")
	b.WriteString("SocksPort 0\nSafeLogging 1\nAvoidDiskWrites 1\n")
	if o.cfg.ExtraTorrc != "" {
		fmt.Fprintf(&b, "%%include %s\n", o.cfg.ExtraTorrc)
	}
	for _, s := range o.services {
		fmt.Fprintf(&b, "HiddenServiceDir %s\n", filepath.Join(o.ram, "hs-"+s.Name))
		fmt.Fprintf(&b, "HiddenServicePort 80 unix:%s\n", o.socketPath(s.Name))
	}
	return b.String()
}

// Listener is the unix listener tor forwards service name's port 80 to.
func (o *Tor) Listener(name string) net.Listener { return o.lns[name] }

// PID is tor's process ID (0 if unknown).
func (o *Tor) PID() int { return o.pid }

// Published is closed once the descriptor of the service with this address
// (56 chars, no ".onion") has been uploaded to at least one HSDir.
func (o *Tor) Published(addr string) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	ch, ok := o.published[addr]
	if !ok {
		ch = make(chan struct{})
		o.published[addr] = ch
	}
	return ch
}

// Close stops tor, closes the listeners and removes the RAM directory.
func (o *Tor) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	var err error
	if o.t != nil {
		err = o.t.Close()
	}
	if o.cancel != nil {
		o.cancel()
	}
	for _, ln := range o.lns {
		ln.Close()
	}
	if o.ram != "" {
		if rerr := os.RemoveAll(o.ram); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// watch turns tor's events into progress lines.
func (o *Tor) watch(ctx context.Context, events <-chan control.Event) {
	quiet := time.NewTimer(30 * time.Second)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-quiet.C:
			o.mu.Lock()
			if o.progress < 100 && !o.warned {
				o.warned = true
				fmt.Fprintf(o.cfg.Progress, "tor: has not reached the Tor network after 30 s (bootstrap at %d%%: expected on a machine without internet); still trying%s\n", o.progress, o.waitingNote())
			}
			o.mu.Unlock()
		case ev := <-events:
			switch e := ev.(type) {
			case *control.StatusEvent:
				st := parseStatus(e.Raw)
				if st.action == "BOOTSTRAP" {
					o.bootstrapLine(st)
				}
			case *control.HSDescEvent:
				if e.Action == "UPLOADED" {
					o.uploaded(e.Address)
				}
			}
		}
	}
}

func (o *Tor) waitingNote() string {
	if o.cfg.Waiting == "" {
		return ""
	}
	return "; " + o.cfg.Waiting
}

func (o *Tor) bootstrapLine(st status) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, err := strconv.Atoi(st.args["PROGRESS"])
	if err != nil {
		return
	}
	if st.severity == "WARN" || st.severity == "ERR" {
		if !o.warned {
			o.warned = true
			reason := st.args["WARNING"]
			if reason == "" {
				reason = st.args["REASON"]
			}
			fmt.Fprintf(o.cfg.Progress, "tor: cannot reach the Tor network (%s); still trying%s\n", reason, o.waitingNote())
		}
		return
	}
	if p <= o.progress && !(p == 0 && o.progress == 0 && st.args["TAG"] == "starting") {
		return
	}
	o.progress = p
	fmt.Fprintf(o.cfg.Progress, "tor: bootstrapped %d%% (%s): %s\n", p, st.args["TAG"], st.args["SUMMARY"])
	if p == 100 && o.warned {
		fmt.Fprintln(o.cfg.Progress, "tor: connected to the Tor network")
	}
}

func (o *Tor) uploaded(addr string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ch, ok := o.published[addr]
	if !ok {
		return
	}
	select {
	case <-ch:
		return // announced already
	default:
	}
	close(ch)
	for _, s := range o.services {
		if Address(s.Key.Public().(ed25519.PublicKey)) == addr {
			fmt.Fprintf(o.cfg.Progress, "%s onion: http://%s.onion\n", s.Name, addr)
		}
	}
}

// status is a parsed STATUS_* event: "SEVERITY ACTION K=V K="quoted v"...".
// bine's own parser splits quoted values at spaces.
type status struct {
	severity, action string
	args             map[string]string
}

func parseStatus(raw string) status {
	st := status{args: map[string]string{}}
	fields := splitQuoted(raw)
	if len(fields) > 0 {
		st.severity = fields[0]
	}
	if len(fields) > 1 {
		st.action = fields[1]
	}
	for _, f := range fields[min(2, len(fields)):] {
		k, v, _ := strings.Cut(f, "=")
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		st.args[k] = v
	}
	return st
}

// splitQuoted splits at spaces outside double quotes.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	inQ, esc := false, false
	for _, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\' && inQ:
			esc = true
		case r == '"':
			inQ = !inQ
		case r == ' ' && !inQ:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// tailBuffer keeps the last bytes tor printed, in memory only, to explain a
// failed start. tor at --hush prints only warnings and errors.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) explain() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	return "\ntor said:\n" + s
}
