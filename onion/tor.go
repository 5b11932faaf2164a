// Package onion runs tropa's tor child process and publishes its onion
// services. It is the only importer of github.com/cretz/bine (and of the
// PROXY-protocol parser that reads tor's circuit IDs).
//
// Design (see shared/notes/tor.md): the services are defined in a torrc that
// tropa writes at every start (HiddenServiceDir + HiddenServicePort), not
// through bine's Listen/ADD_ONION, because only torrc-defined services can
// carry circuit-ID export, client authorization lists and Onionbalance. The
// service directories, holding tor's copy of each identity key, live on a
// RAM-backed filesystem (created 0700, removed on exit), so the keys never
// rest in plaintext on persistent disk. The web side listens on unix sockets
// in that same directory: only processes of this user can reach them, and
// they outlive tor restarts, so a restarted tor finds them as they were.
//
// tropa supervises its tor: when the process exits, the control connection
// drops or a service loses its descriptor, tor is started again with backoff
// and republishes the same addresses. tor never outlives tropa: tropa takes
// ownership of tor's control connection and names itself tor's owning
// process.
//
// This package must never log: bine's DebugWriter stays nil (it would print
// key material), tor's own output is kept in a small in-memory buffer shown
// only when tor fails to start, and the progress it prints carries tor's
// state and the onion addresses, never request data.
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

	"tropa/internal/circuit"
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
	// Progress receives tor's bootstrap steps, restarts and the published
	// addresses, one line each. Nil discards them.
	Progress io.Writer
	// Waiting, when set, is named in the "cannot reach the Tor network"
	// message (e.g. "the local preview keeps working").
	Waiting string
	// Defense configures the public service's DoS defenses.
	Defense Defense
	// HealthEvery is how often the services' descriptors are checked
	// (default 1 minute).
	HealthEvery time.Duration
	// Balance, when it asks for more than one instance, spreads the
	// public service over several tors behind Onionbalance (balance.go).
	// Nil or one instance: one tor, as always.
	Balance *Balance

	// Set by startBalanced for each of its tors.
	instance int                        // index among tropa's tors, in circuit keys
	onHSDesc func(*control.HSDescEvent) // every HS_DESC event, whatever the address
}

// Defense holds the DoS defenses of public services.
type Defense struct {
	// PoW turns on tor's proof-of-work defense (tor >= 0.4.9 with the pow
	// module).
	PoW bool
	// PoWQueueRate and PoWQueueBurst bound how fast tor dequeues
	// introductions under attack (0: tor's defaults, 250 and 2500).
	PoWQueueRate, PoWQueueBurst int
	// IntroRate and IntroBurst are the introduction-point DoS defense's
	// rate and burst per second (0: off).
	IntroRate, IntroBurst int
	// MaxStreams is the most streams one rendezvous circuit may open at
	// once; a circuit that asks for more is closed (0: no limit).
	MaxStreams int
}

// DefaultDefense is what the public onion runs with unless configured.
var DefaultDefense = Defense{PoW: true, IntroRate: 25, IntroBurst: 200, MaxStreams: 20}

// Service is one onion service to publish.
type Service struct {
	// Name is a short label ("public", "staff"), printed as "<name> onion:".
	Name string
	// Key is the service's ed25519 identity.
	Key ed25519.PrivateKey
	// Public services get the DoS defenses and export each connection's
	// circuit ID in a PROXY header, which their listener requires.
	Public bool
	// ClientAuth services answer only Tor Browsers holding one of Clients'
	// private keys (v3 client authorization). Without any client such a
	// service is not published at all, never published open.
	ClientAuth bool
	Clients    []Client
	// Frontend, when set, makes the service an Onionbalance instance of
	// that frontend address (56 characters): tor then also answers
	// introductions made with the frontend's descriptor.
	Frontend string
	// Forward, when set, is a TCP address tor forwards the service to
	// (a tropa on another machine, `tropa instance`) instead of a unix
	// listener of this process; Listener returns nil for it.
	Forward string
}

// Client is one authorized client of a ClientAuth service.
type Client struct {
	Name      string // a-z, 0-9, -
	PublicB32 string // x25519 public key, base32 without padding
}

// published reports whether the service goes into tor's configuration.
func (s Service) published() bool { return !s.ClientAuth || len(s.Clients) > 0 }

// Tor is a supervised tor child process with its services.
type Tor struct {
	cfg      Config
	bin      string
	feat     features
	services []Service
	ram      string
	torrc    string
	lns      map[string]net.Listener

	mu        sync.Mutex
	cur       *generation
	closed    bool
	published map[string]chan struct{}
	st        state
	stop      chan struct{}
	stopped   chan struct{}

	// group is set on the first tor of a balanced set (startBalanced): the
	// public listener, circuit closing, status and Close then cover every
	// tor and the Onionbalance frontend.
	group *group
}

// generation is one run of the tor process.
type generation struct {
	t      *tor.Tor
	cmd    *exec.Cmd
	out    *tailBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when the process exited or control failed
	once   sync.Once
	start  time.Time
}

func (g *generation) fail() { g.once.Do(func() { close(g.done) }) }

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
// reported on cfg.Progress, and tor is restarted whenever it fails. Serve
// each service on Listener(name).
func Start(ctx context.Context, cfg Config, services []Service) (*Tor, error) {
	if cfg.Balance.balanced() {
		return startBalanced(ctx, cfg, services)
	}
	bin, err := LookTor(cfg.TorBin)
	if err != nil {
		return nil, err
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.HealthEvery == 0 {
		cfg.HealthEvery = time.Minute
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
	feat, err := detectFeatures(ctx, bin)
	if err != nil {
		return nil, err
	}
	ram, err := ramDir()
	if err != nil {
		return nil, err
	}
	o := &Tor{cfg: cfg, bin: bin, feat: feat, services: services, ram: ram, lns: map[string]net.Listener{},
		published: map[string]chan struct{}{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	o.st.uploads = map[string]*uploadState{}
	ok := false
	defer func() {
		if !ok {
			close(o.stopped)
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
		if err := writeClients(dir, s.Clients); err != nil {
			return nil, err
		}
		if s.Frontend != "" {
			// Onionbalance's instance file: which frontend to answer for.
			if err := os.WriteFile(filepath.Join(dir, "ob_config"), []byte("MasterOnionAddress "+s.Frontend+".onion\n"), 0o600); err != nil {
				return nil, err
			}
		}
		if !s.published() {
			fmt.Fprintf(cfg.Progress, "%s onion: not published until a client key exists (tropa staff client-key NAME)\n", s.Name)
		}
		if s.Forward == "" {
			ln, err := net.Listen("unix", o.socketPath(s.Name))
			if err != nil {
				return nil, fmt.Errorf("listen for tor: %w", err)
			}
			if s.Public {
				ln = requireProxyHeader(ln, cfg.instance)
			}
			o.lns[s.Name] = ln
		}
		addr := Address(s.Key.Public().(ed25519.PublicKey))
		o.published[addr] = make(chan struct{})
		o.st.uploads[addr] = &uploadState{}
	}
	for _, missing := range o.feat.missing(cfg.Defense) {
		fmt.Fprintf(cfg.Progress, "tor: this tor lacks %s; carrying on without it\n", missing)
	}
	o.torrc = filepath.Join(cfg.DataDir, "torrc")
	if err := os.WriteFile(o.torrc, []byte(o.torrcText()), 0o600); err != nil {
		return nil, err
	}
	g, err := o.startTor()
	if err != nil {
		return nil, err
	}
	o.cur = g
	ok = true
	go o.supervise()
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
	d := o.cfg.Defense
	for _, s := range o.services {
		if !s.published() {
			continue
		}
		fmt.Fprintf(&b, "HiddenServiceDir %s\n", filepath.Join(o.ram, "hs-"+s.Name))
		if s.Forward != "" {
			fmt.Fprintf(&b, "HiddenServicePort 80 %s\n", s.Forward)
		} else {
			fmt.Fprintf(&b, "HiddenServicePort 80 unix:%s\n", o.socketPath(s.Name))
		}
		if s.Frontend != "" {
			b.WriteString("HiddenServiceOnionBalanceInstance 1\n")
		}
		if !s.Public {
			continue
		}
		b.WriteString("HiddenServiceExportCircuitID haproxy\n")
		if d.MaxStreams > 0 {
			fmt.Fprintf(&b, "HiddenServiceMaxStreams %d\nHiddenServiceMaxStreamsCloseCircuit 1\n", d.MaxStreams)
		}
		if d.IntroRate > 0 && o.feat.has("HiddenServiceEnableIntroDoSDefense") {
			fmt.Fprintf(&b, "HiddenServiceEnableIntroDoSDefense 1\nHiddenServiceEnableIntroDoSRatePerSec %d\nHiddenServiceEnableIntroDoSBurstPerSec %d\n", d.IntroRate, d.IntroBurst)
		}
		if d.PoW && o.feat.pow() {
			b.WriteString("HiddenServicePoWDefensesEnabled 1\n")
			if d.PoWQueueRate > 0 {
				fmt.Fprintf(&b, "HiddenServicePoWQueueRate %d\n", d.PoWQueueRate)
			}
			if d.PoWQueueBurst > 0 {
				fmt.Fprintf(&b, "HiddenServicePoWQueueBurst %d\n", d.PoWQueueBurst)
			}
		}
	}
	return b.String()
}

// startTor runs one generation of the tor process.
func (o *Tor) startTor() (*generation, error) {
	g := &generation{out: &tailBuffer{max: 4096}, done: make(chan struct{}), start: time.Now()}
	runCtx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	creator := process.CmdCreatorFunc(func(ctx context.Context, args ...string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, o.bin, args...)
		cmd.Stdout = g.out
		cmd.Stderr = g.out
		cmd.Env = append(os.Environ(), "MALLOC_ARENA_MAX=1")
		g.cmd = cmd
		return cmd, nil
	})
	t, err := tor.Start(runCtx, &tor.StartConf{
		ProcessCreator:  creator,
		DataDir:         o.cfg.DataDir,
		TorrcFile:       o.torrc,
		NoAutoSocksPort: true,
		EnableNetwork:   true,
		ExtraArgs:       []string{"--__OwningControllerProcess", strconv.Itoa(os.Getpid())},
		// DebugWriter stays nil on purpose: it would log key material.
	})
	if g.cmd != nil && g.cmd.Process != nil {
		go func() {
			g.cmd.Wait()
			g.fail()
		}()
	}
	if err != nil {
		o.kill(g)
		return nil, fmt.Errorf("tor did not start: %v%s", err, g.out.explain())
	}
	g.t = t
	// tor exits by itself when this control connection closes, also when
	// tropa is killed with SIGKILL.
	if err := t.Control.TakeOwnership(); err != nil {
		o.kill(g)
		return nil, fmt.Errorf("tor: TAKEOWNERSHIP: %w", err)
	}
	events := make(chan control.Event, 256)
	if err := t.Control.AddEventListener(events, control.EventCodeStatusClient, control.EventCodeHSDesc); err != nil {
		o.kill(g)
		return nil, fmt.Errorf("tor: SETEVENTS: %w", err)
	}
	go func() {
		_ = t.Control.HandleEvents(runCtx)
		g.fail()
	}()
	go o.watch(g, events)
	if kv, err := t.Control.GetInfo("status/bootstrap-phase"); err == nil && len(kv) == 1 {
		o.bootstrapLine(parseStatus(kv[0].Val))
	}
	return g, nil
}

// kill ends a generation: HALT through the control port, then the process
// itself if it lingers.
func (o *Tor) kill(g *generation) {
	if g.t != nil && g.t.Control != nil {
		_ = g.t.Control.Signal("HALT")
		_ = g.t.Control.Close()
	}
	select {
	case <-g.done:
	case <-time.After(3 * time.Second):
	}
	g.cancel() // SIGKILL if still running
	if g.cmd != nil && g.cmd.Process != nil {
		select {
		case <-g.done:
		case <-time.After(3 * time.Second):
		}
	}
}

// supervise restarts tor whenever it fails, with backoff, and checks the
// services' descriptors periodically.
func (o *Tor) supervise() {
	defer close(o.stopped)
	backoff := time.Second
	health := time.NewTicker(o.cfg.HealthEvery)
	defer health.Stop()
	for {
		o.mu.Lock()
		g := o.cur
		o.mu.Unlock()
		var reason string
		select {
		case <-o.stop:
			return
		case <-g.done:
			reason = "tor stopped unexpectedly"
			if g.cmd != nil && g.cmd.ProcessState != nil {
				reason += " (" + g.cmd.ProcessState.String() + ")"
			}
		case <-health.C:
			reason = o.checkHealth(g)
			if reason == "" {
				continue
			}
		}
		o.kill(g)
		for {
			if time.Since(g.start) > 5*time.Minute {
				backoff = time.Second // it ran well for a while
			}
			fmt.Fprintf(o.cfg.Progress, "tor: %s; restarting in %s\n", reason, backoff)
			select {
			case <-o.stop:
				return
			case <-time.After(backoff):
			}
			o.mu.Lock()
			o.st.restarts++
			o.st.progress = 0
			o.st.warned = false
			o.mu.Unlock()
			ng, err := o.startTor()
			backoff = min(backoff*2, time.Minute)
			if err != nil {
				reason = "tor did not start again: " + firstLine(err.Error())
				continue
			}
			o.mu.Lock()
			o.cur = ng
			o.mu.Unlock()
			break
		}
	}
}

// checkHealth returns why the current tor needs a restart, or "".
func (o *Tor) checkHealth(g *generation) string {
	o.mu.Lock()
	boot := o.st.progress
	o.mu.Unlock()
	if boot < 100 || time.Since(g.start) < 5*time.Minute {
		return "" // still bootstrapping or publishing; nothing to judge yet
	}
	for _, s := range o.serviceList() {
		if !s.published() {
			continue
		}
		addr := Address(s.Key.Public().(ed25519.PublicKey))
		if _, err := g.t.Control.GetInfo("hs/service/desc/id/" + addr); err != nil {
			return "the " + s.Name + " onion has no descriptor"
		}
	}
	return ""
}

// serviceList copies the services (SetClients changes them).
func (o *Tor) serviceList() []Service {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Service(nil), o.services...)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// writeClients replaces a service directory's authorized_clients.
func writeClients(dir string, clients []Client) error {
	ac := filepath.Join(dir, "authorized_clients")
	if err := os.RemoveAll(ac); err != nil {
		return err
	}
	if len(clients) == 0 {
		return nil
	}
	if err := os.Mkdir(ac, 0o700); err != nil {
		return err
	}
	for _, c := range clients {
		line := "descriptor:x25519:" + c.PublicB32 + "\n"
		if err := os.WriteFile(filepath.Join(ac, c.Name+".auth"), []byte(line), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// SetClients replaces the authorized clients of service name and makes tor
// reload its configuration: the other services keep their addresses and
// keep answering. A client-auth service with no client left is withdrawn.
func (o *Tor) SetClients(name string, clients []Client) error {
	o.mu.Lock()
	idx := -1
	for i, s := range o.services {
		if s.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		o.mu.Unlock()
		return fmt.Errorf("no onion service %q", name)
	}
	o.services[idx].Clients = append([]Client(nil), clients...)
	err := writeClients(filepath.Join(o.ram, "hs-"+name), clients)
	if err == nil {
		err = os.WriteFile(o.torrc, []byte(o.torrcText()), 0o600)
	}
	o.mu.Unlock()
	if err != nil {
		return err
	}
	return o.control(func(c *control.Conn) error { return c.Signal("RELOAD") })
}

// Listener is the unix listener tor forwards service name's port 80 to.
// A public service's listener requires tor's PROXY header on every
// connection and refuses connections without one.
//
// With Config.Balance, Listener("public") takes the connections of every
// instance, each carrying its tor in its circuit key.
func (o *Tor) Listener(name string) net.Listener {
	if o.group != nil && name == o.group.public {
		return o.group.ln
	}
	return o.lns[name]
}

// PID is the current tor process's ID (0 if none runs).
func (o *Tor) PID() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cur == nil || o.cur.cmd == nil || o.cur.cmd.Process == nil {
		return 0
	}
	return o.cur.cmd.Process.Pid
}

// Published is closed once the descriptor of the service with this address
// (56 chars, no ".onion") has first been uploaded to an HSDir.
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

// Close stops tor, closes the listeners and removes the RAM directory;
// with Config.Balance, every tor and Onionbalance too.
func (o *Tor) Close() error {
	if o.group != nil {
		return o.group.close()
	}
	return o.closeOne()
}

func (o *Tor) closeOne() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	close(o.stop)
	g := o.cur
	o.mu.Unlock()
	<-o.stopped
	if g != nil {
		o.kill(g)
	}
	for _, ln := range o.lns {
		ln.Close()
	}
	if o.ram != "" {
		return os.RemoveAll(o.ram)
	}
	return nil
}

// control runs fn with the current control connection.
func (o *Tor) control(fn func(c *control.Conn) error) error {
	o.mu.Lock()
	g := o.cur
	o.mu.Unlock()
	if g == nil || g.t == nil || g.t.Control == nil {
		return errors.New("tor is not running")
	}
	select {
	case <-g.done:
		return errors.New("tor is restarting")
	default:
	}
	return fn(g.t.Control)
}

// CloseCircuit closes a circuit by its global ID (the one tor exports in
// the PROXY header), e.g. one that keeps pushing past its rate limit, on
// the tor the circuit belongs to.
func (o *Tor) CloseCircuit(k circuit.Key) error {
	if o.group != nil {
		return o.group.closeCircuit(k)
	}
	if k.Instance != o.cfg.instance {
		return fmt.Errorf("circuit of tor instance %d, not of this tor", k.Instance)
	}
	return o.closeCircuit(k.ID)
}

func (o *Tor) closeCircuit(id uint32) error {
	err := o.control(func(c *control.Conn) error { return c.CloseCircuit(strconv.FormatUint(uint64(id), 10), nil) })
	if err == nil {
		o.mu.Lock()
		o.st.countClosed(time.Now())
		o.mu.Unlock()
	}
	return err
}

// watch turns tor's events into state and progress lines.
func (o *Tor) watch(g *generation, events <-chan control.Event) {
	quiet := time.NewTimer(30 * time.Second)
	defer quiet.Stop()
	for {
		select {
		case <-g.done:
			return
		case <-quiet.C:
			o.mu.Lock()
			if o.st.progress < 100 && !o.st.warned {
				o.st.warned = true
				fmt.Fprintf(o.cfg.Progress, "tor: has not reached the Tor network after 30 s (bootstrap at %d%%: expected on a machine without internet); still trying%s\n", o.st.progress, o.waitingNote())
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
				if o.cfg.onHSDesc != nil {
					o.cfg.onHSDesc(e)
				}
				switch e.Action {
				case "UPLOADED":
					o.uploaded(e.Address)
				case "FAILED":
					o.mu.Lock()
					if u := o.st.uploads[e.Address]; u != nil {
						u.failures++
					}
					o.mu.Unlock()
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
		if !o.st.warned {
			o.st.warned = true
			reason := st.args["WARNING"]
			if reason == "" {
				reason = st.args["REASON"]
			}
			fmt.Fprintf(o.cfg.Progress, "tor: cannot reach the Tor network (%s); still trying%s\n", reason, o.waitingNote())
		}
		return
	}
	if p <= o.st.progress && !(p == 0 && o.st.progress == 0 && st.args["TAG"] == "starting") {
		return
	}
	o.st.progress = p
	o.st.summary = st.args["SUMMARY"]
	fmt.Fprintf(o.cfg.Progress, "tor: bootstrapped %d%% (%s): %s\n", p, st.args["TAG"], st.args["SUMMARY"])
	if p == 100 && o.st.warned {
		fmt.Fprintln(o.cfg.Progress, "tor: connected to the Tor network")
	}
}

func (o *Tor) uploaded(addr string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if u := o.st.uploads[addr]; u != nil {
		u.last = time.Now()
	}
	ch, ok := o.published[addr]
	if !ok {
		return
	}
	name := ""
	for _, s := range o.services {
		if Address(s.Key.Public().(ed25519.PublicKey)) == addr {
			name = s.Name
		}
	}
	select {
	case <-ch: // announced already
		if o.st.restarts > o.st.announcedAfter {
			o.st.announcedAfter = o.st.restarts
			fmt.Fprintf(o.cfg.Progress, "tor: %s onion republished after the restart\n", name)
		}
		return
	default:
	}
	close(ch)
	fmt.Fprintf(o.cfg.Progress, "%s onion: http://%s.onion\n", name, addr)
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
