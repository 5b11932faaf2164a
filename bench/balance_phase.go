package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The balance phase (issue 10): new-circuit page fetches per second through
// a private Tor network with the public onion served by one tor (N = 1) and
// by two behind Onionbalance (N = 2), side by side on the same network,
// with each tor's CPU use. The measuring is bench/balance's (a command of
// its own, `bin/tropa-balance`, which `make bench` builds next to
// bin/tropa-bench); this phase runs it and puts its table in the report.

// balanceResult is the part of bench/balance's JSON the summary reads.
type balanceResult struct {
	Instances int
	Published time.Duration
	Fetches   int
	Failures  int
	PerSecond float64
	P50, P90  time.Duration
	TorCPU    []float64
}

type balanceRun struct {
	results  []balanceResult
	markdown string // bench/balance's table and ratio
	took     time.Duration
	load     float64
	command  string
	skipped  string // why it did not run
}

func (b *bench) phaseBalance() error {
	run := &balanceRun{load: load1()}
	b.rep.balance = run
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tool := filepath.Join(filepath.Dir(exe), "tropa-balance")
	if _, err := os.Stat(tool); err != nil {
		run.skipped = "bin/tropa-balance is not built (make bench builds it: go build -o bin/tropa-balance ./bench/balance)"
		return nil
	}
	if _, err := lookPath("onionbalance"); err != nil {
		run.skipped = "onionbalance is not installed (apt-get install -y onionbalance)"
		return nil
	}
	ctx, cancel := context.WithTimeout(b.ctx, 8*time.Minute)
	defer cancel()
	md := filepath.Join(b.cfg.tmp, "balance.md")
	args := []string{"-tropa", b.cfg.tropa, "-n", "1,2", "-d", b.cfg.balanceDur.String(), "-json", "-out", md}
	run.command = "bin/tropa-balance " + strings.Join(append([]string{"-tropa", "bin/tropa"}, args[2:len(args)-3]...), " ")
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// On a deadline, the whole group: the tool's tors and tropas too.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	t0 := time.Now()
	err = cmd.Run()
	run.took = time.Since(t0)
	if b, rerr := os.ReadFile(md); rerr == nil {
		run.markdown = string(b)
	}
	if jerr := json.Unmarshal(out.Bytes(), &run.results); jerr != nil && err == nil {
		err = fmt.Errorf("bench/balance's output: %w", jerr)
	}
	if err != nil {
		return fmt.Errorf("bench/balance: %w", err)
	}
	for _, r := range run.results {
		logf("  N=%d: %.2f new-circuit fetches/s (%d ok, %d failed), tor CPU %v%%", r.Instances, r.PerSecond, r.Fetches, r.Failures, r.TorCPU)
	}
	return nil
}

func (r *report) summaryBalance(p printer) {
	br := r.balance
	if br == nil || len(br.results) < 2 || br.results[0].PerSecond == 0 {
		return
	}
	one, two := br.results[0], br.results[len(br.results)-1]
	p("| Tor | new-circuit fetches/s through the private network, N=%d tors behind Onionbalance vs N=%d | %.2f/s | N=%d: %.2f/s | %.2f× | (measured, see *Several tors*) | — |\n",
		two.Instances, one.Instances, two.PerSecond, one.Instances, one.PerSecond, two.PerSecond/one.PerSecond)
}

func (r *report) detailBalance(p printer) {
	br := r.balance
	if br == nil {
		return
	}
	p("## Several tors behind Onionbalance (issue 10)\n\n")
	if br.skipped != "" {
		p("Not measured: %s.\n\n", br.skipped)
		return
	}
	p("`%s` (run by `make bench`, %s, load %.2f at start): its own private Tor\nnetwork (Onionbalance needs 4 relays and 20-second votes), then `tropa serve\n--tor-instances N` for each N on a fresh data directory, waiting for the\n`public onion:` line (the frontend published), then concurrent fetchers each\nfetching `/ru/` on a new circuit (their own SOCKS credentials) for the measured\ntime. CPU columns are per process over the measured time.\n\n", br.command, secs(br.took), br.load)
	if br.markdown != "" {
		p("%s\n", strings.TrimSpace(br.markdown))
	}
	if len(br.results) > 0 {
		var pub []string
		for _, x := range br.results {
			pub = append(pub, fmt.Sprintf("N=%d: %s", x.Instances, secs(x.Published)))
		}
		p("\nStart to `public onion:` (with N > 1: the frontend descriptor uploaded by Onionbalance): %s.\n", strings.Join(pub, "; "))
	}
	p("\nWhat this measures on one 2-core machine: every tor of the network, the\nclient and the service tors share the same cores, so the figure is the\nwhole network's rate; what Onionbalance adds is room for each instance's tor\non a core (or machine) of its own, which the \"tor CPU per instance\" column\nshows being split between the instances.\n\n")
}
