package main

// Several tors behind Onionbalance: serve's --tor-instances,
// --remote-instance and --instance-listen, and `tropa instance`, which runs
// one more instance on another machine (see onion/balance.go and the
// README, "Scaling past one tor").

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"tropa/keys"
	"tropa/onion"
)

func init() {
	register(&command{name: "instance", summary: "run one more tor instance of the public onion, forwarding to a tropa on another machine", run: runInstance})
}

// addrList is a repeatable flag of onion addresses; a value may also hold
// several, comma-separated (as a --config file gives it).
type addrList []string

func (l *addrList) String() string { return strings.Join(*l, ",") }

func (l *addrList) Set(v string) error {
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		p, err := onion.ParseAddress(a)
		if err != nil {
			return err
		}
		*l = append(*l, p)
	}
	return nil
}

// balanceConfig turns serve's flags into the onion package's Balance, or
// nil for the single tor of old. It refuses what cannot work before
// anything starts, onionbalance missing included.
func balanceConfig(cfg serveConfig) (*onion.Balance, error) {
	if cfg.torInstances == 1 && len(cfg.remoteInstances) == 0 {
		if cfg.instanceListen != "" {
			return nil, errors.New("--instance-listen is for remote instances: give them with --remote-instance ADDRESS.onion")
		}
		return nil, nil
	}
	b := &onion.Balance{Instances: cfg.torInstances, Remote: cfg.remoteInstances, RemoteListen: cfg.instanceListen}
	if err := b.Check(); err != nil {
		return nil, err
	}
	if !cfg.tor {
		return nil, errors.New("--tor-instances and --remote-instance need tor: drop --tor=false")
	}
	if len(b.Remote) > 0 && b.RemoteListen == "" {
		return nil, errors.New("--remote-instance needs --instance-listen ADDR: the private address the remote instances forward to")
	}
	if _, err := onion.LookOnionbalance(""); err != nil {
		return nil, err
	}
	return b, nil
}

// instanceKeys are the local instances' identities: keys "instance-1" …
func instanceKeys(ring *keys.Ring, n int) ([]ed25519.PrivateKey, error) {
	out := make([]ed25519.PrivateKey, 0, n)
	for i := 1; i <= n; i++ {
		k, err := ring.Identity(fmt.Sprintf("instance-%d", i))
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// runInstance is `tropa instance`: a tor publishing one instance of the
// public onion, forwarding every connection (with tor's PROXY header) to
// a tropa serve on another machine over a private link. It holds no data
// and no frontend key: only its own instance identity, in its own data
// directory.
func runInstance(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("instance", "instance --frontend ADDRESS.onion --forward ADDR [flags]", stderr)
	data := fs.String("data", "./data", "data directory (created 0700): this instance's key and tor's state")
	passFile := fs.String("passphrase-file", "", "file holding the passphrase that protects the key (or set TROPA_PASSPHRASE)")
	frontend := fs.String("frontend", "", "the public `ADDRESS.onion` (the main tropa's public onion) this tor is an instance of")
	forward := fs.String("forward", "", "the main tropa's --instance-listen `ADDR`, where this tor forwards visitors, e.g. 10.8.0.1:8090 over WireGuard")
	torBin := fs.String("tor-bin", "tor", "the tor executable")
	torrc := fs.String("torrc", "", "extra torrc lines for tor (e.g. to join a private Tor network)")
	defense := onion.DefaultDefense
	fs.BoolVar(&defense.PoW, "pow", defense.PoW, "tor's proof-of-work DoS defense on this instance (tor >= 0.4.9)")
	fs.IntVar(&defense.PoWQueueRate, "pow-queue-rate", 0, "introductions per second tor serves from its PoW queue (0: tor's default, 250)")
	fs.IntVar(&defense.PoWQueueBurst, "pow-queue-burst", 0, "burst of the PoW queue (0: tor's default, 2500)")
	fs.IntVar(&defense.MaxStreams, "max-streams", defense.MaxStreams, "most streams per rendezvous circuit; a circuit asking for more is closed (0: no limit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	front, err := onion.ParseAddress(*frontend)
	if err != nil {
		return fmt.Errorf("--frontend %q: %w", *frontend, err)
	}
	if *forward == "" {
		return errors.New("--forward ADDR is required: the main tropa's --instance-listen address")
	}
	if err := onion.CheckPrivateAddr(*forward); err != nil {
		return fmt.Errorf("--forward %s: %w", *forward, err)
	}
	if err := checkDefense(defense); err != nil {
		return err
	}
	bin, err := onion.LookTor(*torBin)
	if err != nil {
		return err
	}
	pass, err := readPassphrase(*passFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	ring, err := keys.Open(filepath.Join(*data, "keys"), pass, false)
	if err != nil {
		return err
	}
	ident, err := ring.Identity("instance-remote")
	if err != nil {
		return err
	}
	if onion.Address(ident.Public().(ed25519.PublicKey)) == front {
		return errors.New("--frontend is this instance's own address")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t, err := onion.Start(ctx, onion.Config{
		TorBin:     bin,
		DataDir:    filepath.Join(*data, "tor"),
		ExtraTorrc: *torrc,
		Progress:   stdout,
		Defense:    defense,
	}, []onion.Service{{Name: "instance", Key: ident, Public: true, Frontend: front, Forward: *forward}})
	if err != nil {
		return err
	}
	defer t.Close()
	addr := onion.Address(ident.Public().(ed25519.PublicKey))
	go func() {
		select {
		case <-t.Published(addr):
			fmt.Fprintf(stdout, "on the main tropa, list this instance: tropa serve … --remote-instance %s.onion --instance-listen %s\n", addr, *forward)
		case <-ctx.Done():
		}
	}()
	started := time.Now()
	stopStatus, err := serveStatus(*data, func() statusReport {
		st := t.Status()
		return statusReport{Version: version, Started: started, Tor: &st}
	})
	if err != nil {
		return err
	}
	defer stopStatus()
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return nil
}

// printBalance adds the Onionbalance part of `tropa status`: the frontend
// and, for each instance, its tor and what the frontend descriptor holds
// for it.
func printBalance(w io.Writer, b *onion.BalanceStatus, now time.Time) {
	if b == nil {
		return
	}
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Format(time.RFC3339) + " (" + now.Sub(t).Round(time.Second).String() + " ago)"
	}
	f := b.Frontend
	state := "running, pid " + fmt.Sprint(f.PID)
	if !f.Running {
		state = "NOT RUNNING: " + f.Waiting
	}
	failed := fmt.Sprint(f.UploadFailures)
	if f.LastFailure != "" {
		failed += " (last: " + f.LastFailure + ")"
	}
	fmt.Fprintf(w, "onionbalance (frontend http://%s.onion): %s, restarts %d\n  frontend descriptor: last uploaded %s, last publication attempt %s, failed or refused uploads %s\n  it carries no proof-of-work parameters and no client authorization (Onionbalance's limits)\n",
		f.Address, state, f.Restarts, ago(f.LastUpload), ago(f.LastAttempt), failed)
	for _, in := range b.Instances {
		if in.Remote {
			fmt.Fprintf(w, "remote instance http://%s.onion\n", in.Address)
		} else {
			run := "running"
			if !in.Running {
				run = "NOT RUNNING (restarting)"
			}
			fmt.Fprintf(w, "%s http://%s.onion\n  tor: %s, pid %d, bootstrap %d%%, restarts %d, up since %s\n  descriptor: %s, last upload %s, introduction points %d, proof-of-work %s\n  connections served: %d\n",
				in.Name, in.Address, run, in.PID, in.Bootstrap, in.Restarts, ago(in.RunningSince),
				yesNo(in.HasDescriptor, "published", "MISSING"), ago(in.LastUpload), in.IntroPoints, yesNo(in.PoW, "on", "off"), in.Connections)
		}
		fmt.Fprintf(w, "  onionbalance fetched its descriptor: %s (%d introduction points)\n  in the frontend descriptor: %s: %s\n",
			ago(in.Fetched), in.FetchedIPs, in.Frontend, in.FrontendWhy)
	}
	if b.RemoteConnections > 0 {
		fmt.Fprintf(w, "connections from remote instances: %d\n", b.RemoteConnections)
	}
}
