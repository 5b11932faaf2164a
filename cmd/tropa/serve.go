package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"tropa/forum"
	"tropa/fund"
	"tropa/internal/circuit"
	"tropa/internal/store"
	"tropa/keys"
	"tropa/metrics"
	"tropa/onion"
	"tropa/site"
)

func init() {
	register(&command{name: "serve", summary: "run the portal and publish it as an onion service", run: runServe})
}

type serveConfig struct {
	data           string
	passphraseFile string
	torBin         string
	torrc          string
	tor            bool
	http           string
	staffHTTP      string
	defense        onion.Defense
	captcha        bool
	// config.go: the file, and the maintenance jobs (retention.go).
	config        string
	retentionDays int
	gcInterval    time.Duration
	// Several tors behind Onionbalance (instance.go, onion/balance.go).
	torInstances    int
	remoteInstances addrList
	instanceListen  string
}

// storeKeyFor is the key serve opens the store with (test builds may
// replace it: testhook_tropatest.go).
var storeKeyFor = func(ring *keys.Ring) []byte { return ring.StoreKey() }

func runServe(args []string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := serveFlags(&cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The --config file fills what the command line left unset, then every
	// setting is checked with its source named (config.go).
	if err := applyConfig(fs, &cfg); err != nil {
		return err
	}
	return serve(cfg, stdout, stderr)
}

// serveFlags defines serve's flags over cfg. Every flag is also a key of
// the --config file (config.go), so a new flag needs nothing more there.
func serveFlags(cfg *serveConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlags("serve", "serve [flags]", stderr)
	fs.StringVar(&cfg.config, "config", "", "TOML `FILE` with these settings, keyed by the flags' names (see: tropa config example); flags given here override it")
	fs.StringVar(&cfg.data, "data", "./data", "data directory (created 0700): the store, keys and tor's state")
	fs.StringVar(&cfg.passphraseFile, "passphrase-file", "", "file holding the passphrase that protects the store key (or set TROPA_PASSPHRASE)")
	fs.StringVar(&cfg.torBin, "tor-bin", "tor", "the tor executable")
	fs.StringVar(&cfg.torrc, "torrc", "", "extra torrc lines for tor (e.g. to join a private Tor network)")
	fs.BoolVar(&cfg.tor, "tor", true, "start tor and publish the onion service (false: local preview only)")
	fs.StringVar(&cfg.http, "http", "", "also serve the public site on this loopback address for a local preview, e.g. 127.0.0.1:8080")
	fs.StringVar(&cfg.staffHTTP, "staff-http", "", "also serve the staff interface on this loopback address, e.g. 127.0.0.1:8081")
	fs.BoolVar(&cfg.captcha, "captcha", true, "ask anonymous posters to solve a captcha (false: e.g. when tor's PoW defense is enough)")
	cfg.defense = onion.DefaultDefense
	fs.BoolVar(&cfg.defense.PoW, "pow", cfg.defense.PoW, "tor's proof-of-work DoS defense on the public onion (tor >= 0.4.9)")
	fs.IntVar(&cfg.defense.PoWQueueRate, "pow-queue-rate", 0, "introductions per second tor serves from its PoW queue (0: tor's default, 250)")
	fs.IntVar(&cfg.defense.PoWQueueBurst, "pow-queue-burst", 0, "burst of the PoW queue (0: tor's default, 2500)")
	fs.IntVar(&cfg.defense.MaxStreams, "max-streams", cfg.defense.MaxStreams, "most streams per rendezvous circuit; a circuit asking for more is closed (0: no limit)")
	fs.IntVar(&cfg.retentionDays, "retention-days", 90, "delete private questions and their replies this many days after their last activity (1-3650)")
	fs.DurationVar(&cfg.gcInterval, "gc-interval", time.Hour, "how often deleted data is purged from the disk files (Badger GC; 1m-168h)")
	fs.IntVar(&cfg.torInstances, "tor-instances", 1, "tor processes serving the public onion behind Onionbalance (1-8; more than 1 needs the onionbalance package)")
	fs.Var(&cfg.remoteInstances, "remote-instance", "an instance `ADDRESS.onion` that `tropa instance` publishes on another machine, listed in the frontend too (repeatable, or comma-separated)")
	fs.StringVar(&cfg.instanceListen, "instance-listen", "", "private `ADDR` remote instances forward to, e.g. this machine's WireGuard address 10.8.0.1:8090 (loopback or private addresses only)")
	return fs
}

func serve(cfg serveConfig, stdout, stderr io.Writer) error {
	limitMemory()
	trimStop := make(chan struct{})
	defer close(trimStop)
	go trimMemory(trimStop) // memory.go
	if err := checkDefense(cfg.defense); err != nil {
		return err
	}
	if cfg.http != "" {
		if err := checkLoopback(cfg.http); err != nil {
			return fmt.Errorf("--http %s: %w", cfg.http, err)
		}
	}
	if cfg.staffHTTP != "" {
		if err := checkLoopback(cfg.staffHTTP); err != nil {
			return fmt.Errorf("--staff-http %s: %w", cfg.staffHTTP, err)
		}
	}
	if !cfg.tor && cfg.http == "" {
		return errors.New("nothing to serve: with --tor=false give --http ADDR for the local preview")
	}
	torBin := ""
	if cfg.tor {
		var err error
		if torBin, err = onion.LookTor(cfg.torBin); err != nil {
			return err
		}
		if cfg.torrc != "" {
			if _, err := os.Stat(cfg.torrc); err != nil {
				return fmt.Errorf("--torrc: %w", err)
			}
		}
	}
	balance, err := balanceConfig(cfg)
	if err != nil {
		return err
	}
	pass, err := readPassphrase(cfg.passphraseFile)
	if err != nil {
		return err
	}

	if err := os.MkdirAll(cfg.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(cfg.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	storeDir := filepath.Join(cfg.data, "store")
	ring, err := keys.Open(filepath.Join(cfg.data, "keys"), pass, dirHasFiles(storeDir))
	if err != nil {
		return err
	}
	if !ring.Protected {
		fmt.Fprintf(stderr, "warning: no passphrase given, so the store key lies unprotected in %s: the data is only as safe as this disk (set TROPA_PASSPHRASE or --passphrase-file)\n", filepath.Join(cfg.data, "keys", "store.key"))
	}
	db, err := store.Open(store.Options{Dir: storeDir, Key: storeKeyFor(ring), OnDiskSpace: diskSpaceNotice(storeDir, stdout, stderr)})
	if err != nil {
		return storeOpenError(err, cfg.data)
	}
	defer db.Close()

	// The services pages' data; example data on the first start only,
	// marked as such until staff replace it.
	fundRepo := store.NewFundRepo(db)
	if _, err := fundRepo.Seed(context.Background(), fund.Examples()); err != nil {
		return fmt.Errorf("seed the services data: %w", err)
	}
	// The outreach metrics count in memory and add daily totals to the
	// store when the hour turns (package metrics); stopping stores the last
	// counts before the store closes. The site, the forum's storage and
	// `tropa stats` share this one recorder.
	counts := metrics.NewRecorder(store.NewMetricsRepo(db), nil)
	stopCounts := counts.Start()
	defer stopCounts()

	// The site closes circuits that keep pushing past their limits; tor
	// starts after the site, so the hook looks it up when it fires.
	var torRef atomic.Pointer[onion.Tor]
	closeCircuit := func(k circuit.Key) error {
		if t := torRef.Load(); t != nil {
			return t.CloseCircuit(k)
		}
		return nil
	}
	forumRepo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		return err
	}
	defer forumRepo.Close()
	board := forum.NewService(forumRepo.CountedBy(counts), nil, forum.Options{})
	if err := board.Seed(context.Background()); err != nil {
		return fmt.Errorf("seeding the board: %w", err)
	}
	admin, err := NewAdminDeps(context.Background(), db)
	if err != nil {
		return err
	}
	admin.Metrics = counts
	health := func() site.HealthView {
		t := torRef.Load()
		if t == nil {
			return site.HealthView{}
		}
		return healthView(t.Status())
	}
	s, err := site.New(site.Options{CloseCircuit: closeCircuit, Fund: fundRepo, Forum: board, Staff: admin.Staff,
		Health: health, NoCaptcha: !cfg.captcha,
		// The fund's tools: staff-edited pages, news, anonymous test booking.
		Pages: fund.NewPageEditor(store.NewPageRepo(db), nil), News: fund.NewNewsDesk(store.NewNewsRepo(db), nil),
		Bookings: fund.NewBookings(store.NewBookingRepo(db), fundRepo, nil, nil), Metrics: counts})
	if err != nil {
		return err
	}
	// Forum export/import over the admin socket use the live board and
	// refresh the site's cached pages.
	admin.Board, admin.OnBoardChange = board, s.Changed
	// Retention and garbage collection (retention.go).
	maint := newMaintenance(board, forumRepo, cfg.retentionDays, cfg.gcInterval, s.Changed, stdout)
	maint.Start()
	defer maint.Stop()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 2)
	var servers []*http.Server

	if cfg.http != "" {
		ln, err := net.Listen("tcp", cfg.http)
		if err != nil {
			return fmt.Errorf("--http: %w", err)
		}
		srv := site.NewServer(s.Handler())
		servers = append(servers, srv)
		go func() { serveErr <- srv.Serve(ln) }()
		fmt.Fprintf(stdout, "local preview: http://%s/%s/\n", ln.Addr(), site.Languages[0])
	}
	if cfg.staffHTTP != "" {
		ln, err := net.Listen("tcp", cfg.staffHTTP)
		if err != nil {
			shutdown(servers)
			return fmt.Errorf("--staff-http: %w", err)
		}
		srv := site.NewServer(s.StaffHandler())
		servers = append(servers, srv)
		go func() { serveErr <- srv.Serve(ln) }()
		fmt.Fprintf(stdout, "local staff interface: http://%s/%s/staff/\n", ln.Addr(), site.Languages[0])
	}

	var t *onion.Tor
	if cfg.tor {
		ident, err := ring.Identity("public")
		if err != nil {
			return err
		}
		staffIdent, err := ring.Identity("staff")
		if err != nil {
			return err
		}
		staffClients, err := ring.StaffClients()
		if err != nil {
			return err
		}
		if balance != nil {
			if balance.InstanceKeys, err = instanceKeys(ring, balance.Instances); err != nil {
				return err
			}
		}
		waiting := ""
		if cfg.http != "" {
			waiting = "the local preview keeps working"
		}
		t, err = onion.Start(ctx, onion.Config{
			TorBin:     torBin,
			DataDir:    filepath.Join(cfg.data, "tor"),
			ExtraTorrc: cfg.torrc,
			Progress:   stdout,
			Waiting:    waiting,
			Defense:    cfg.defense,
			Balance:    balance,
		}, []onion.Service{
			{Name: "public", Key: ident, Public: true},
			{Name: "staff", Key: staffIdent, ClientAuth: true, Clients: toOnionClients(staffClients)},
		})
		if err != nil {
			shutdown(servers)
			return err
		}
		defer t.Close()
		torRef.Store(t)
		srv := site.NewServer(s.Handler())
		servers = append(servers, srv)
		go func() { serveErr <- srv.Serve(t.Listener("public")) }()
		staffSrv := site.NewServer(s.StaffHandler())
		servers = append(servers, staffSrv)
		go func() { serveErr <- staffSrv.Serve(t.Listener("staff")) }()
		stopWatch := make(chan struct{})
		defer close(stopWatch)
		go watchStaffClients(ring, t, stdout, stopWatch)
	}

	started := time.Now()
	stopStatus, err := serveStatus(cfg.data, func() statusReport {
		rep := statusReport{Version: version, Started: started}
		if t := torRef.Load(); t != nil {
			st := t.Status()
			rep.Tor = &st
		}
		rep.Maintenance = maint.Status()
		return rep
	}, withBackupStream(AdminHandler(admin), db, ring))
	if err != nil {
		shutdown(servers)
		return err
	}
	defer stopStatus()

	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping")
	case err := <-serveErr:
		shutdown(servers)
		return fmt.Errorf("serving stopped: %w", err)
	}
	shutdown(servers)
	return nil
}

func checkDefense(d onion.Defense) error {
	switch {
	case d.PoWQueueRate < 0 || d.PoWQueueRate > 1_000_000:
		return errors.New("--pow-queue-rate must be between 0 and 1000000")
	case d.PoWQueueBurst < 0 || d.PoWQueueBurst > 10_000_000:
		return errors.New("--pow-queue-burst must be between 0 and 10000000")
	case d.MaxStreams < 0 || d.MaxStreams > 65535:
		return errors.New("--max-streams must be between 0 and 65535")
	}
	return nil
}

func shutdown(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
}

// checkLoopback refuses any listen address that is not on loopback: the
// portal is meant to be reached only through its onion.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return errors.New("give HOST:PORT, e.g. 127.0.0.1:8080")
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errors.New("only a loopback address is allowed (127.0.0.1, ::1 or localhost): the portal is reached through its onion, never directly")
	}
	return nil
}

// readPassphrase takes the passphrase from --passphrase-file or
// TROPA_PASSPHRASE, and removes the variable so tor never inherits it.
func readPassphrase(file string) ([]byte, error) {
	env, hasEnv := os.LookupEnv("TROPA_PASSPHRASE")
	os.Unsetenv("TROPA_PASSPHRASE")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--passphrase-file: %w", err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return nil, errors.New("--passphrase-file: the file is empty")
		}
		return []byte(p), nil
	}
	if hasEnv {
		if env == "" {
			return nil, errors.New("TROPA_PASSPHRASE is set but empty")
		}
		return []byte(env), nil
	}
	return nil, nil
}

func dirHasFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

// storeOpenError turns the store's refusal of a damaged store into one
// line that says what is wrong, which file, and what to do.
func storeOpenError(err error, data string) error {
	var de *store.DamagedError
	if !errors.As(err, &de) {
		return err
	}
	what := "the store"
	if de.File != "" {
		what = filepath.Join(de.Dir, de.File)
	}
	return fmt.Errorf("the store is damaged: %s is %s; nothing was changed. Restore the latest backup (tropa restore FILE --data %s --force, which keeps the damaged store aside; see README, Backups and restore)", what, de.Reason, data)
}

// diskSpaceNotice tells the operator, once each time, that the store
// refuses writes for lack of disk space and that it accepts them again.
func diskSpaceNotice(storeDir string, stdout, stderr io.Writer) func(low bool, free, reserve int64) {
	return func(low bool, free, reserve int64) {
		if low {
			fmt.Fprintf(stderr, "disk full: %d MiB free for %s, under the %d MiB tropa keeps in reserve: new posts and changes are refused (visitors see \"cannot save now\"), reading goes on; free some space and tropa accepts them again\n", free>>20, storeDir, reserve>>20)
			return
		}
		fmt.Fprintf(stdout, "disk space back: %d MiB free for %s: posts and changes are accepted again\n", free>>20, storeDir)
	}
}
