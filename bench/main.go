// Command bench is tropa's benchmark suite (`make bench`). It measures the
// built binary side by side with nginx serving the same bytes, the durable
// posting path, a large store, page weights and the onion over a private
// Tor network, and writes BENCHMARKS.md.
//
// Everything runs on 127.0.0.1, bounded in time; every process it starts
// (tropa, nginx, tor) is stopped by its PID, and its temporary directory is
// removed at the end.
//
//	go build -o bin/tropa-bench ./bench
//	bin/tropa-bench -tropa bin/tropa -out BENCHMARKS.md
//
// `bin/tropa-bench profile -scenario p1|p2|p3` runs the same site in this
// process under the CPU profiler while loading it, for finding where time
// goes (see profile.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	tropa      string        // the tropa binary
	out        string        // BENCHMARKS.md
	dur        time.Duration // wrk duration per run
	rounds     int           // alternating rounds per comparison
	conns      int           // wrk connections
	posts      int           // P4's large store
	small      int           // P4's small store
	postDur    time.Duration // P3 duration per run
	only       map[string]bool
	budget     time.Duration // the whole run
	keep       bool
	tmp        string
	command    string
	warmFets   int
	balanceDur time.Duration // each N's measuring time in the balance phase
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "profile" {
		if err := profileMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench profile:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "ab" {
		if err := abMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench ab:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "fill" {
		if err := fillMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench fill:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	var only string
	flag.StringVar(&c.tropa, "tropa", "bin/tropa", "the tropa binary to measure")
	flag.StringVar(&c.out, "out", "BENCHMARKS.md", "report to write")
	flag.DurationVar(&c.dur, "d", 5*time.Second, "wrk duration of each run")
	flag.IntVar(&c.rounds, "rounds", 3, "alternating rounds of each side-by-side comparison (medians are reported)")
	flag.IntVar(&c.conns, "c", 64, "wrk connections")
	flag.IntVar(&c.posts, "posts", 1_000_000, "posts in P4's large store")
	flag.IntVar(&c.small, "small", 1_000, "posts in P4's small store")
	flag.DurationVar(&c.postDur, "post-d", 10*time.Second, "duration of each P3 posting run")
	flag.StringVar(&only, "only", "p1,p2,p5,p3,p4,tor,balance", "phases to run, comma-separated")
	flag.DurationVar(&c.balanceDur, "balance-d", 30*time.Second, "measuring time of each tor-instance count in the balance phase")
	flag.DurationVar(&c.budget, "budget", 14*time.Minute, "hard limit of the whole run: what runs then is stopped, later phases are skipped")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory")
	flag.IntVar(&c.warmFets, "tor-fetches", 30, "warm fetches per onion in the Tor phase")
	flag.Parse()
	c.only = map[string]bool{}
	for _, p := range strings.Split(only, ",") {
		if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
			c.only[p] = true
		}
	}
	c.command = "bin/tropa-bench " + strings.Join(os.Args[1:], " ")
	if len(os.Args) == 1 {
		c.command = "bin/tropa-bench"
	}
	if err := run(&c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	start := time.Now()
	abs, err := filepath.Abs(c.tropa)
	if err != nil {
		return err
	}
	c.tropa = abs
	if _, err := os.Stat(c.tropa); err != nil {
		return fmt.Errorf("the tropa binary: %w (run make build first)", err)
	}
	for _, tool := range []string{"wrk", "nginx"} {
		if _, err := lookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (make bench installs it as root: apt-get install -y wrk nginx-light)", tool)
		}
	}
	c.tmp, err = os.MkdirTemp("", "tropa-bench-")
	if err != nil {
		return err
	}
	procs := &procSet{}
	cleanup := func() {
		procs.stopAll()
		if !c.keep {
			os.RemoveAll(c.tmp)
		}
	}
	defer cleanup()
	// SIGINT/SIGTERM: stop what we started, remove the temp dir, exit.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "bench: interrupted; stopping everything it started")
		cleanup()
		os.Exit(130)
	}()

	// The budget is a hard deadline: whatever runs when it passes is
	// stopped, and the phases not started are listed as skipped.
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(c.budget))
	defer cancel()
	r := &report{cfg: c, started: start, machine: machineInfo()}
	b := &bench{cfg: c, procs: procs, rep: r, ctx: ctx}

	phases := []struct {
		name string
		fn   func() error
	}{
		{"p1", b.phaseServe},        // P1 and P2 share one tropa and one nginx
		{"p5", b.phasePages},        // before P3 writes to the board
		{"p3", b.phasePost},         // durable replies and questions
		{"p4", b.phaseLarge},        // 1 k vs 1 M posts
		{"tor", b.phaseOnion},       // the private Tor network
		{"balance", b.phaseBalance}, // N = 1 vs N = 2 tors behind Onionbalance
	}
	if c.only["p2"] {
		c.only["p1"] = true
	}
	for _, ph := range phases {
		if !c.only[ph.name] {
			continue
		}
		if ctx.Err() != nil {
			r.skipped = append(r.skipped, ph.name+" (time budget spent)")
			continue
		}
		t0, l0 := time.Now(), loadavg()
		logf("== phase %s (load %s)", ph.name, l0)
		if err := ph.fn(); err != nil {
			logf("phase %s failed: %v", ph.name, err)
			r.failures = append(r.failures, fmt.Sprintf("%s: %v", ph.name, err))
		}
		procs.stopAll()
		r.phaseTimes = append(r.phaseTimes, phaseTime{name: ph.name, took: time.Since(t0), loadS: l0, loadE: loadavg()})
	}
	r.total = time.Since(start)
	if err := os.WriteFile(c.out, []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	logf("wrote %s in %s", c.out, r.total.Round(time.Second))
	if len(r.failures) > 0 {
		return fmt.Errorf("%d phase(s) failed: %s", len(r.failures), strings.Join(r.failures, "; "))
	}
	return nil
}

// bench carries what every phase needs.
type bench struct {
	cfg   *config
	procs *procSet
	rep   *report
	ctx   context.Context

	// shared between phases
	boardDir string // P1/P2/P3/P5's data dir
	thread   uint64 // the 100-post thread
	targets  []uint64
}

func logf(format string, args ...any) {
	fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
