// Package tornet runs a private Tor network on 127.0.0.1 for end-to-end
// tests of an onion service: 3 directory authorities, a few relays and one
// client tor whose SOCKS port the tests fetch through. It owns those tor
// processes and their work directory, and nothing else.
//
// It must never make a tor, or a test, reach beyond loopback: every address
// it writes or dials is 127.0.0.1, and TestingTorNetwork with our own
// DirAuthority lines keeps tor away from the public network's authorities
// and fallback directories.
//
// It is a Go port of the tested shell recipe in
// shared/tools/tornet-reference.sh (see shared/notes/tor.md, "A private Tor
// network on 127.0.0.1 for tests"); the timings and traps noted there were
// measured on the project's machines, so keep the two in step.
//
// Starting a network costs about 15 s and a few hundred MiB, so a package
// shares one network across its tests through TestMain:
//
//	var tn *tornet.Network
//
//	func TestMain(m *testing.M) {
//		flag.Parse() // testing.Short needs parsed flags
//		if testing.Short() {
//			os.Exit(m.Run()) // tests that need tn skip when it is nil
//		}
//		n, err := tornet.Start(context.Background(), tornet.Options{})
//		if errors.Is(err, tornet.ErrNoTor) {
//			fmt.Fprintln(os.Stderr, "tor not installed; onion tests skip:", err)
//			os.Exit(m.Run())
//		}
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		tn = n
//		code := m.Run()
//		tn.Close() // os.Exit skips deferred calls
//		os.Exit(code)
//	}
//
// A service under test joins the network by adding [Network.ServiceTorrc]
// to its own torrc (for example through `%include` of the file
// [Network.WriteServiceTorrc] wrote); the tests then fetch its onion
// address with [Network.Get], which retries the failures that are normal
// in the first seconds after a descriptor upload.
package tornet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoTor is returned (wrapped) by Start when the tor or tor-gencert
// binary cannot be found, so that tests can skip rather than fail on a
// machine without tor.
var ErrNoTor = errors.New("tornet: tor not installed")

// Options configures Start. The zero value is the tested configuration.
type Options struct {
	// TorBin is the tor binary. Default: "tor" from PATH, then /usr/bin/tor
	// and /usr/sbin/tor (Debian installs it in /usr/sbin, which is not in
	// every PATH). tor-gencert is looked up in PATH and next to TorBin.
	TorBin string
	// Relays is the number of non-authority relays. Default 2: an onion
	// circuit needs 4 distinct relays, and with 1 it works but barely.
	Relays int
	// Dir is the work directory; it is created if missing and must be
	// empty. Default: a new temporary directory that Close removes. A
	// caller-supplied Dir is left in place, logs included.
	Dir string
	// VotingInterval is the authorities' voting interval in seconds.
	// Default 10, which gives the quickest first consensus; Onionbalance's
	// --is-testnet mode assumes 20.
	VotingInterval int
	// Deadline bounds all of Start. Default 3 minutes; a healthy start
	// takes about 15 s.
	Deadline time.Duration
}

// Network is a running private Tor network. Its methods are safe for
// concurrent use.
type Network struct {
	// Dir holds one sub-directory per tor (auth0.., relay0.., client),
	// each with its torrc, notice.log and stdout.log.
	Dir string
	// SocksAddr is the client tor's SocksPort, "127.0.0.1:P". It has
	// ExtendedErrors on, so onion failures carry tor's 0xF0-0xF7 codes.
	SocksAddr string
	// ClientControlAddr is the client tor's ControlPort, "127.0.0.1:P",
	// with cookie authentication (the cookie is in the client's data
	// directory); ClientControl speaks to it.
	ClientControlAddr string

	torBin     string
	emptyTorrc string
	common     string // ServiceTorrc's text
	removeDir  bool   // Dir was our temporary directory
	client     *node
	httpClient *http.Client

	mu         sync.Mutex
	nodes      []*node
	transports []*http.Transport
	closed     bool
}

// node is one tor process we started.
type node struct {
	name  string
	dir   string
	ports []int // checked free just before start
	cmd   *exec.Cmd
	done  chan struct{} // closed once cmd.Wait has returned
	err   error         // cmd.Wait's result, valid after done
}

const (
	loopback = "127.0.0.1"
	nAuth    = 3
	// lead schedules the first consensus this long after launch; the
	// votes then happen ~4 s earlier, well after every relay has uploaded
	// its descriptor (~2 s after launch).
	lead = 10
	// initialDelay is TestingV3AuthInitialVoteDelay/DistDelay.
	initialDelay = 2
	// keygenTimeout bounds each tor-gencert / --list-fingerprint run.
	keygenTimeout = 60 * time.Second
	// stopWait is how long Close waits after SIGTERM before SIGKILL.
	stopWait = 10 * time.Second
	poll     = 100 * time.Millisecond
	// hupEvery re-HUPs a relay that has not bootstrapped after the first
	// consensus: a HUP resets tor's download back-off.
	hupEvery = 5 * time.Second
)

// Start builds the network in o.Dir and returns once the client tor has
// bootstrapped 100%. Keys are generated before any tor starts; the client
// is started only after every authority has published the first consensus
// and every relay has bootstrapped, because a client that starts with the
// rest often fails its first fetches for a minute.
//
// On failure Start stops everything it started and returns an error that
// includes the tail of the failing tor's log. It returns an error wrapping
// ErrNoTor when tor is not installed. ctx (and o.Deadline) bound only the
// start-up: the network runs until Close.
func Start(ctx context.Context, o Options) (_ *Network, err error) {
	if o.Relays < 0 {
		return nil, fmt.Errorf("tornet: Relays %d < 0", o.Relays)
	}
	if o.Relays == 0 {
		o.Relays = 2
	}
	if o.VotingInterval <= 0 {
		o.VotingInterval = 10
	}
	if o.VotingInterval <= 2*initialDelay+1 {
		return nil, fmt.Errorf("tornet: VotingInterval %d s is too short", o.VotingInterval)
	}
	if o.Deadline <= 0 {
		o.Deadline = 3 * time.Minute
	}
	torBin, err := findTor(o.TorBin)
	if err != nil {
		return nil, err
	}
	gencert, err := findGencert(torBin)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()

	n := &Network{torBin: torBin}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "tornet-")
		if err != nil {
			return nil, fmt.Errorf("tornet: %w", err)
		}
		n.Dir, n.removeDir = d, true
	} else {
		d, err := filepath.Abs(o.Dir)
		if err != nil {
			return nil, fmt.Errorf("tornet: %w", err)
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("tornet: %w", err)
		}
		if ents, err := os.ReadDir(d); err != nil {
			return nil, fmt.Errorf("tornet: %w", err)
		} else if len(ents) > 0 {
			return nil, fmt.Errorf("tornet: Dir %s is not empty", d)
		}
		n.Dir = d
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if strings.ContainsAny(n.Dir, " \t\r\n#\"\\") {
		// torrc lines would need quoting; t.TempDir and os.MkdirTemp
		// never produce such names.
		return nil, fmt.Errorf("tornet: Dir %q has characters a torrc cannot hold unquoted", n.Dir)
	}
	if err := os.Chmod(n.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}
	n.emptyTorrc = filepath.Join(n.Dir, "empty.torrc")
	if err := os.WriteFile(n.emptyTorrc, nil, 0o600); err != nil {
		return nil, fmt.Errorf("tornet: %w", err)
	}

	// Ports: 2 per authority and relay, 2 for the client.
	ports, err := pickPorts(2*(nAuth+o.Relays) + 2)
	if err != nil {
		return nil, err
	}
	take := func(k int) []int { p := ports[:k:k]; ports = ports[k:]; return p }

	auths := make([]*node, nAuth)
	for i := range auths {
		auths[i] = &node{name: fmt.Sprintf("auth%d", i), ports: take(2)}
	}
	relays := make([]*node, o.Relays)
	for i := range relays {
		relays[i] = &node{name: fmt.Sprintf("relay%d", i), ports: take(2)}
	}
	client := &node{name: "client", ports: take(2)}
	for _, nd := range append(append(append([]*node{}, auths...), relays...), client) {
		nd.dir = filepath.Join(n.Dir, nd.name)
		if err := os.Mkdir(nd.dir, 0o700); err != nil {
			return nil, fmt.Errorf("tornet: %w", err)
		}
	}

	if err := n.genKeys(ctx, gencert, auths, relays); err != nil {
		return nil, err
	}
	if err := n.writeTorrcs(auths, relays, client, o.VotingInterval); err != nil {
		return nil, err
	}

	// Phase 1: authorities and relays. The first consensus is scheduled
	// lead seconds from now.
	offset := (time.Now().Unix() + lead) % int64(o.VotingInterval)
	for _, a := range auths {
		if err := n.start(a, "--TestingV3AuthVotingStartOffset", strconv.FormatInt(offset, 10)); err != nil {
			return nil, err
		}
	}
	for _, r := range relays {
		if err := n.start(r); err != nil {
			return nil, err
		}
	}
	if err := n.waitLogs(ctx, "every authority to publish the first consensus",
		auths, "Published microdesc consensus", nil); err != nil {
		return nil, err
	}
	var lastHUP time.Time
	hup := func(lagging []*node) {
		if time.Since(lastHUP) < hupEvery {
			return
		}
		lastHUP = time.Now()
		for _, r := range lagging {
			_ = r.cmd.Process.Signal(syscall.SIGHUP)
		}
	}
	if err := n.waitLogs(ctx, "every relay to bootstrap", relays, "Bootstrapped 100%", hup); err != nil {
		return nil, err
	}

	// Phase 2: the client. Its ports were picked a while ago; if one has
	// been taken meanwhile, pick again (only the client's torrc names them).
	if checkFree(client.ports) != nil {
		p, err := pickPorts(2)
		if err != nil {
			return nil, err
		}
		client.ports = p
		if err := n.writeClientTorrc(client); err != nil {
			return nil, err
		}
	}
	n.SocksAddr = hostPort(client.ports[0])
	n.ClientControlAddr = hostPort(client.ports[1])
	if err := n.start(client); err != nil {
		return nil, err
	}
	n.client = client
	if err := n.waitLogs(ctx, "the client to bootstrap", []*node{client}, "Bootstrapped 100%", nil); err != nil {
		return nil, err
	}
	n.httpClient = n.newClient(nil)
	return n, nil
}

// findTor resolves Options.TorBin.
func findTor(bin string) (string, error) {
	if bin != "" {
		p, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoTor, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("tor"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/tor", "/usr/sbin/tor"} {
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no tor in PATH, /usr/bin or /usr/sbin (apt-get install tor)", ErrNoTor)
}

// findGencert finds tor-gencert, which Debian's tor package ships in
// /usr/bin while tor itself is in /usr/sbin.
func findGencert(torBin string) (string, error) {
	if p, err := exec.LookPath("tor-gencert"); err == nil {
		return p, nil
	}
	for _, p := range []string{filepath.Join(filepath.Dir(torBin), "tor-gencert"), "/usr/bin/tor-gencert"} {
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no tor-gencert in PATH or next to %s", ErrNoTor, torBin)
}

func hostPort(p int) string { return net.JoinHostPort(loopback, strconv.Itoa(p)) }

// pickPorts returns k distinct free TCP ports on 127.0.0.1, chosen by the
// kernel. All k listeners are held open together so the ports differ.
func pickPorts(k int) ([]int, error) {
	ls := make([]net.Listener, 0, k)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, k)
	for range k {
		l, err := net.Listen("tcp4", hostPort(0))
		if err != nil {
			return nil, fmt.Errorf("tornet: picking a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// checkFree reports an error if one of ports can no longer be bound: a
// picked port is free again once closed, so something else may take it
// before tor binds it.
func checkFree(ports []int) error {
	for _, p := range ports {
		l, err := net.Listen("tcp4", hostPort(p))
		if err != nil {
			return fmt.Errorf("tornet: port %d was taken after it was picked: %w", p, err)
		}
		l.Close()
	}
	return nil
}

// command builds a tor (or tor-gencert) command with the environment and
// process attributes every one of our tors gets.
func (n *Network) command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if ctx != nil {
		cmd = exec.CommandContext(ctx, bin, args...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	// MALLOC_ARENA_MAX=1 cut the network's memory by about a fifth.
	cmd.Env = append(os.Environ(), "MALLOC_ARENA_MAX=1")
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}

// genKeys pre-generates every authority's v3 keys and certificate and
// every authority's and relay's identity keys, in parallel. Generating
// relay keys at start-up costs 1-3 s of CPU each, and a late relay misses
// the first vote.
func (n *Network) genKeys(ctx context.Context, gencert string, auths, relays []*node) error {
	ctx, cancel := context.WithTimeout(ctx, keygenTimeout)
	defer cancel()
	run := func(cmd *exec.Cmd, what string) error {
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("tornet: %s: %v\n%s", what, err, tail(out, 10))
		}
		return nil
	}
	listFP := func(nd *node) error {
		cmd := n.command(ctx, n.torBin, "--list-fingerprint",
			"--defaults-torrc", n.emptyTorrc, "-f", n.emptyTorrc,
			"--DataDirectory", nd.dir, "--ORPort", hostPort(nd.ports[0]), "--Nickname", nd.name)
		return run(cmd, "tor --list-fingerprint for "+nd.name)
	}
	gen := func(nd *node) error {
		keys := filepath.Join(nd.dir, "keys")
		if err := os.Mkdir(keys, 0o700); err != nil {
			return fmt.Errorf("tornet: %w", err)
		}
		cmd := n.command(ctx, gencert, "--create-identity-key", "--passphrase-fd", "0",
			"-m", "12", "-a", hostPort(nd.ports[1]),
			"-i", "authority_identity_key", "-s", "authority_signing_key", "-c", "authority_certificate")
		cmd.Dir = keys
		cmd.Stdin = strings.NewReader("\n") // empty passphrase
		if err := run(cmd, "tor-gencert for "+nd.name); err != nil {
			return err
		}
		return listFP(nd)
	}

	errs := make(chan error, len(auths)+len(relays))
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	var wg sync.WaitGroup
	for _, nd := range auths {
		wg.Go(func() { sem <- struct{}{}; errs <- gen(nd); <-sem })
	}
	for _, nd := range relays {
		wg.Go(func() { sem <- struct{}{}; errs <- listFP(nd); <-sem })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// start launches the tor for nd with its torrc. Its stdout and stderr go
// to stdout.log in its directory.
func (n *Network) start(nd *node, extra ...string) error {
	if err := checkFree(nd.ports); err != nil {
		return fmt.Errorf("%s: %w", nd.name, err)
	}
	out, err := os.OpenFile(filepath.Join(nd.dir, "stdout.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("tornet: %w", err)
	}
	defer out.Close() // the child has its own copy
	args := append([]string{
		"--defaults-torrc", n.emptyTorrc, // tor rejects -f /dev/null; no system defaults either
		"-f", filepath.Join(nd.dir, "torrc"),
		// tor exits by itself when the test process is gone.
		"--__OwningControllerProcess", strconv.Itoa(os.Getpid()),
	}, extra...)
	cmd := n.command(nil, n.torBin, args...)
	cmd.Dir = nd.dir
	cmd.Stdout, cmd.Stderr = out, out

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("tornet: network closed")
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("tornet: starting %s: %w", nd.name, err)
	}
	nd.cmd = cmd
	nd.done = make(chan struct{})
	go func() {
		nd.err = cmd.Wait()
		close(nd.done)
	}()
	n.nodes = append(n.nodes, nd)
	return nil
}

func (nd *node) exited() bool {
	select {
	case <-nd.done:
		return true
	default:
		return false
	}
}

// logHas reports whether nd's notice.log contains s. The logs stay small
// (a few KiB), so rereading them every poll is cheap.
func (nd *node) logHas(s string) bool {
	b, _ := os.ReadFile(filepath.Join(nd.dir, "notice.log"))
	return bytes.Contains(b, []byte(s))
}

// report describes nd's state for an error: its log tails.
func (nd *node) report() string {
	var b strings.Builder
	pid := 0
	if nd.cmd != nil && nd.cmd.Process != nil {
		pid = nd.cmd.Process.Pid
	}
	fmt.Fprintf(&b, "\n--- %s (pid %d) notice.log, last lines:\n", nd.name, pid)
	notice, _ := os.ReadFile(filepath.Join(nd.dir, "notice.log"))
	b.Write(tail(notice, 15))
	// stdout.log repeats the first notices; it matters when tor stopped
	// before it opened notice.log (a torrc error) or exited.
	if out, _ := os.ReadFile(filepath.Join(nd.dir, "stdout.log")); len(bytes.TrimSpace(out)) > 0 &&
		(len(bytes.TrimSpace(notice)) == 0 || nd.exited()) {
		fmt.Fprintf(&b, "--- %s stdout.log, last lines:\n", nd.name)
		b.Write(tail(out, 8))
	}
	return b.String()
}

// tail returns the last k lines of b.
func tail(b []byte, k int) []byte {
	b = bytes.TrimRight(b, "\n")
	i := len(b)
	for ; k > 0 && i > 0; k-- {
		i = bytes.LastIndexByte(b[:i], '\n')
		if i < 0 {
			i = 0
		}
	}
	if i > 0 {
		i++
	}
	return append(append([]byte{}, b[i:]...), '\n')
}

// waitLogs waits until every node in want has logged line, calling
// lagging (if not nil) with the nodes that have not on every poll. It
// fails as soon as any tor we started has exited, or when ctx is done.
func (n *Network) waitLogs(ctx context.Context, what string, want []*node, line string, lagging func([]*node)) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		n.mu.Lock()
		all := append([]*node{}, n.nodes...)
		n.mu.Unlock()
		for _, nd := range all {
			if nd.exited() {
				return fmt.Errorf("tornet: waiting for %s: %s exited (%v)%s", what, nd.name, nd.err, nd.report())
			}
		}
		var late []*node
		for _, nd := range want {
			if !nd.logHas(line) {
				late = append(late, nd)
			}
		}
		if len(late) == 0 {
			return nil
		}
		if lagging != nil {
			lagging(late)
		}
		select {
		case <-ctx.Done():
			var b strings.Builder
			for _, nd := range late {
				b.WriteString(nd.report())
			}
			return fmt.Errorf("tornet: waiting for %s (%q): %w%s", what, line, ctx.Err(), b.String())
		case <-t.C:
		}
	}
}

// Close stops every tor the network started: SIGTERM, then SIGKILL for any
// still running 10 s later. It removes Dir only if Start created it.
// Calling Close again does nothing.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	nodes := n.nodes
	for _, t := range n.transports {
		t.CloseIdleConnections()
	}
	n.mu.Unlock()

	for _, nd := range nodes {
		_ = nd.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(stopWait)
	var errs []error
	for _, nd := range nodes {
		select {
		case <-nd.done:
		case <-deadline:
		}
	}
	for _, nd := range nodes {
		if nd.exited() {
			continue
		}
		_ = nd.cmd.Process.Kill()
		select {
		case <-nd.done:
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("tornet: %s (pid %d) did not exit after SIGKILL", nd.name, nd.cmd.Process.Pid))
		}
	}
	if n.removeDir {
		if err := os.RemoveAll(n.Dir); err != nil {
			errs = append(errs, fmt.Errorf("tornet: %w", err))
		}
	}
	return errors.Join(errs...)
}
