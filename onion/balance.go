package onion

// Several tors behind Onionbalance (issue 10).
//
// One tor's introduction and rendezvous handshakes are single-threaded, and
// they are the ceiling of an onion service long before tropa's HTTP side is
// busy. With Config.Balance, tropa starts N tors instead of one. Each
// publishes an instance onion of its own (an instance key from keys/,
// `HiddenServiceOnionBalanceInstance 1` and an ob_config naming the
// frontend), with the same DoS defenses as the single public onion, all
// forwarding to tropa through a unix socket of their own with the PROXY
// header. Debian's onionbalance, a supervised child process, publishes the
// frontend descriptor: the public address everyone already knows, listing
// introduction points of every instance. It talks to the first tor, which
// also keeps the staff onion as a single service.
//
// What Onionbalance (0.2.2) cannot do, and so tropa cannot either: at most
// 8 instances (a descriptor's size), no proof-of-work parameters and no
// client authorization in the frontend descriptor (the instances still run
// PoW for clients that come to them directly), and no quick removal of a
// dead instance: it keeps listing an instance while the HSDirs still hold
// the instance's last descriptor. tropa restarts a dead tor within seconds
// and then restarts onionbalance so the frontend lists the new
// introduction points at once rather than after onionbalance's ten-minute
// fetch interval; clients that try a dead introduction point meanwhile
// fall back to the others listed.

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cretz/bine/control"

	"tropa/internal/circuit"
)

// MaxInstances is Onionbalance's limit: a frontend descriptor lists
// introduction points of at most 8 instances.
const MaxInstances = 8

// Balance spreads the public service over several tors behind Onionbalance.
type Balance struct {
	// Instances is how many tors this tropa runs, each publishing an
	// instance of the public service (1-8).
	Instances int
	// InstanceKeys are their identities, one per local instance, none of
	// them the public service's own key (which is the frontend's).
	InstanceKeys []ed25519.PrivateKey
	// Remote lists instances that tors on other machines publish (`tropa
	// instance`), by onion address (".onion" optional). The frontend
	// lists them with the local ones.
	Remote []string
	// RemoteListen is the TCP address the remote instances' tors forward
	// to (on a private link such as WireGuard), "" for none. It requires
	// tor's PROXY header on every connection, like the unix sockets.
	RemoteListen string
	// Onionbalance is the executable; "" looks for onionbalance in PATH
	// and /usr/sbin.
	Onionbalance string
	// TestNet passes --is-testnet to onionbalance (20-second votes, short
	// time periods). It is also turned on when the extra torrc sets
	// TestingTorNetwork 1.
	TestNet bool
	// WaitInstances bounds how long the frontend waits, at start and after
	// a restart, for the local instances to (re)publish before onionbalance
	// (re)starts (default 2 minutes).
	WaitInstances time.Duration
}

func (b *Balance) balanced() bool { return b != nil && b.Instances+len(b.Remote) > 1 }

// ErrNoOnionbalance means the onionbalance executable could not be found.
var ErrNoOnionbalance = errors.New("onionbalance is not installed")

// LookOnionbalance returns the path of the onionbalance executable or an
// error saying how to install it.
func LookOnionbalance(bin string) (string, error) {
	if bin == "" {
		bin = "onionbalance"
	}
	if p, err := exec.LookPath(bin); err == nil {
		return p, nil
	}
	if !strings.Contains(bin, "/") {
		if p, err := exec.LookPath("/usr/sbin/" + bin); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (%q not found): on Debian run `apt-get install -y onionbalance` as root, or run with --tor-instances 1", ErrNoOnionbalance, bin)
}

// Check validates the configuration; its errors are meant for the
// operator.
func (b *Balance) Check() error {
	if b.Instances < 1 || b.Instances > MaxInstances {
		return fmt.Errorf("--tor-instances must be between 1 and %d (Onionbalance lists at most %d instances)", MaxInstances, MaxInstances)
	}
	if n := b.Instances + len(b.Remote); n > MaxInstances {
		return fmt.Errorf("%d local and %d remote instances make %d: Onionbalance lists at most %d", b.Instances, len(b.Remote), n, MaxInstances)
	}
	seen := map[string]bool{}
	for _, r := range b.Remote {
		a, err := ParseAddress(r)
		if err != nil {
			return fmt.Errorf("--remote-instance %s: %w", r, err)
		}
		if seen[a] {
			return fmt.Errorf("--remote-instance %s is given twice", r)
		}
		seen[a] = true
	}
	if b.RemoteListen != "" {
		if err := CheckPrivateAddr(b.RemoteListen); err != nil {
			return fmt.Errorf("--instance-listen %s: %w", b.RemoteListen, err)
		}
	}
	return nil
}

// ParseAddress checks a v3 onion address (56 characters, ".onion" and
// "http://" optional) and returns its 56 characters.
func ParseAddress(s string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(s))
	a = strings.TrimPrefix(strings.TrimPrefix(a, "http://"), "https://")
	a = strings.TrimSuffix(strings.TrimSuffix(a, "/"), ".onion")
	raw, err := base32.StdEncoding.DecodeString(strings.ToUpper(a))
	if len(a) != 56 || err != nil || len(raw) != 35 || raw[34] != 3 {
		return "", errors.New("not a v3 onion address (56 characters)")
	}
	if Address(ed25519.PublicKey(raw[:32])) != a {
		return "", errors.New("the onion address's checksum is wrong (a typo?)")
	}
	return a, nil
}

// CheckPrivateAddr accepts HOST:PORT with a loopback or private (RFC 1918,
// fc00::/7) address only: the link between a remote instance's tor and
// tropa carries plain HTTP and must be a private network such as
// WireGuard, never the internet.
func CheckPrivateAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return errors.New("give HOST:PORT, e.g. 10.8.0.1:8090 (the WireGuard address)")
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return errors.New("give an IP address, not a name")
	}
	if !ip.IsLoopback() && !ip.IsPrivate() {
		return errors.New("only a loopback or private address (10/8, 172.16/12, 192.168/16, fc00::/7) is allowed: the link to remote instances carries plain HTTP")
	}
	return nil
}

// torrcIsTestNet reports whether the operator's torrc joins a private test
// network (TestingTorNetwork 1), which onionbalance must be told about.
func torrcIsTestNet(path string) bool {
	if path == "" {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && strings.EqualFold(fs[0], "TestingTorNetwork") && fs[1] == "1" {
			return true
		}
	}
	return false
}

// group is a balanced set: the local tors, the fan-in of their public
// listeners and the Onionbalance frontend.
type group struct {
	public string // the public service's name ("public")
	front  string // frontend address
	tors   []*Tor
	names  []string // instance service names, per tor
	addrs  []string // instance addresses, per tor
	remote []string
	ln     *fanIn
	fe     *frontend
	out    io.Writer

	mu          sync.Mutex
	lastUpload  time.Time // last frontend descriptor upload seen on the first tor
	failures    int       // frontend uploads an HSDir refused or that failed
	lastFailure string    // the last one's reason (tor's, e.g. UPLOAD_REJECTED)
	announced   bool
	closed      bool
}

// startBalanced starts the instance tors, the fan-in listener and the
// frontend, and returns the first tor with the group attached.
func startBalanced(ctx context.Context, cfg Config, services []Service) (*Tor, error) {
	b := cfg.Balance
	if err := b.Check(); err != nil {
		return nil, err
	}
	if len(b.InstanceKeys) != b.Instances {
		return nil, fmt.Errorf("onion: %d instance keys for %d instances", len(b.InstanceKeys), b.Instances)
	}
	obBin, err := LookOnionbalance(b.Onionbalance)
	if err != nil {
		return nil, err
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	var public *Service
	var others []Service
	for i := range services {
		switch {
		case services[i].Public && public != nil:
			return nil, errors.New("onion: Onionbalance serves one public service")
		case services[i].Public:
			public = &services[i]
		default:
			others = append(others, services[i])
		}
	}
	if public == nil {
		return nil, errors.New("onion: no public service to balance")
	}
	g := &group{public: public.Name, front: Address(public.Key.Public().(ed25519.PublicKey)), out: cfg.Progress}
	for _, r := range b.Remote {
		a, _ := ParseAddress(r)
		g.remote = append(g.remote, a)
	}
	for i, k := range b.InstanceKeys {
		a := Address(k.Public().(ed25519.PublicKey))
		if a == g.front {
			return nil, errors.New("onion: an instance key is the frontend's key")
		}
		g.addrs = append(g.addrs, a)
		g.names = append(g.names, fmt.Sprintf("instance-%d", i+1))
	}
	ok := false
	defer func() {
		if !ok {
			g.close()
		}
	}()
	var lns []net.Listener
	for i := range b.Instances {
		c := cfg
		c.Balance = nil
		c.instance = i
		c.Progress = &prefixWriter{w: cfg.Progress, from: "tor: ", to: fmt.Sprintf("tor %d: ", i+1)}
		if i > 0 {
			c.DataDir = cfg.DataDir + "-" + strconv.Itoa(i+1)
		}
		svcs := []Service{{Name: g.names[i], Key: b.InstanceKeys[i], Public: true, Frontend: g.front}}
		if i == 0 {
			c.onHSDesc = g.hsDesc
			svcs = append(svcs, others...)
		}
		t, err := Start(ctx, c, svcs)
		if err != nil {
			return nil, fmt.Errorf("tor %d: %w", i+1, err)
		}
		g.tors = append(g.tors, t)
		lns = append(lns, t.lns[g.names[i]])
	}
	if b.RemoteListen != "" {
		ln, err := net.Listen("tcp", b.RemoteListen)
		if err != nil {
			return nil, fmt.Errorf("--instance-listen: %w", err)
		}
		lns = append(lns, requireProxyHeaderRemote(ln))
		fmt.Fprintf(cfg.Progress, "remote instances: forward to %s\n", ln.Addr())
	}
	g.ln = newFanIn(lns)
	testnet := b.TestNet || torrcIsTestNet(cfg.ExtraTorrc)
	wait := b.WaitInstances
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	g.fe, err = startFrontend(g, obBin, public.Key, testnet, wait)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Progress, "onionbalance: frontend %s.onion over %d local and %d remote instance(s); publishing once the instances are up\n",
		g.front, b.Instances, len(g.remote))
	g.tors[0].group = g
	ok = true
	return g.tors[0], nil
}

// hsDesc sees every descriptor event of the first tor, among them the
// results of onionbalance's uploads of the frontend descriptor (HSPOST).
func (g *group) hsDesc(e *control.HSDescEvent) {
	if e.Address != g.front {
		return
	}
	g.mu.Lock()
	first := false
	switch e.Action {
	case "UPLOADED":
		g.lastUpload = time.Now()
		first = !g.announced
		g.announced = true
	case "FAILED":
		g.failures++
		g.lastFailure = e.Reason
	}
	g.mu.Unlock()
	if first {
		fmt.Fprintf(g.out, "%s onion: http://%s.onion\n", g.public, g.front)
	}
}

func (g *group) closeCircuit(k circuit.Key) error {
	if k.Instance < 0 || k.Instance >= len(g.tors) {
		return errors.New("the circuit came through a remote instance: its own tor limits it")
	}
	return g.tors[k.Instance].closeCircuit(k.ID)
}

func (g *group) close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	if g.fe != nil {
		g.fe.close()
	}
	if g.ln != nil {
		g.ln.Close()
	}
	var errs []error
	for i := len(g.tors) - 1; i >= 0; i-- {
		errs = append(errs, g.tors[i].closeOne())
	}
	return errors.Join(errs...)
}

// prefixWriter renames one tor's progress lines ("tor: …" → "tor 2: …").
// Every progress line is one Write.
type prefixWriter struct {
	w        io.Writer
	from, to string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if s, ok := strings.CutPrefix(string(b), p.from); ok {
		if _, err := io.WriteString(p.w, p.to+s); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return p.w.Write(b)
}

// fanIn merges the instances' listeners into one, so that the site serves
// them all with one http.Server. It counts the connections each source
// accepted (a count per instance, nothing about a visitor).
type fanIn struct {
	srcs   []net.Listener
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
	counts []atomic.Int64
}

func newFanIn(srcs []net.Listener) *fanIn {
	f := &fanIn{srcs: srcs, conns: make(chan net.Conn), done: make(chan struct{}), counts: make([]atomic.Int64, len(srcs))}
	for i, ln := range srcs {
		go f.pump(i, ln)
	}
	return f
}

func (f *fanIn) pump(i int, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-f.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		f.counts[i].Add(1)
		select {
		case f.conns <- c:
		case <-f.done:
			c.Close()
			return
		}
	}
}

func (f *fanIn) Accept() (net.Conn, error) {
	select {
	case c := <-f.conns:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

func (f *fanIn) Close() error {
	f.once.Do(func() {
		close(f.done)
		for _, ln := range f.srcs {
			ln.Close()
		}
	})
	return nil
}

func (f *fanIn) Addr() net.Addr { return f.srcs[0].Addr() }

func (f *fanIn) count(i int) int64 {
	if i < 0 || i >= len(f.counts) {
		return 0
	}
	return f.counts[i].Load()
}
