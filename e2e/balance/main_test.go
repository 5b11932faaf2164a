// Package balance runs the built tropa with several tors behind
// Onionbalance (issue 10), end to end on a private Tor network of its own:
// Onionbalance 0.2.2 needs more relays (4 besides the 3 authorities) and
// 20-second votes (its --is-testnet mode assumes them), which the other
// e2e tests do not want to wait for.
package balance

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"tropa/internal/testproc"
	"tropa/internal/tornet"
	"tropa/onion"
)

var (
	tropaBin string // the built binary
	net0     *tornet.Network
	svcTorrc string // torrc lines that join the private network
	skipWhy  string // why the tests skip (no tor, no onionbalance, -short)
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		skipWhy = "no private Tor network in -short mode"
		return m.Run()
	}
	if _, err := onion.LookOnionbalance(""); err != nil {
		// make test installs it (deps-tor); without it there is nothing to test.
		fmt.Println("e2e/balance:", err)
		skipWhy = err.Error()
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "tropa-balance-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	tropaBin = filepath.Join(dir, "tropa")
	build := exec.Command("go", "build", "-o", tropaBin, "tropa/cmd/tropa")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Println("e2e/balance: build:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	net0, err = tornet.Start(ctx, tornet.Options{Dir: filepath.Join(dir, "net"), Relays: 4, VotingInterval: 20})
	if errors.Is(err, tornet.ErrNoTor) {
		fmt.Println("e2e/balance: tor not installed; the tests skip:", err)
		skipWhy = err.Error()
		return m.Run()
	}
	if err != nil {
		fmt.Println("e2e/balance: private Tor network did not start:", err)
		return 1
	}
	fmt.Printf("e2e/balance: private Tor network (3 authorities, 4 relays, 20 s votes) up in %.1fs\n", time.Since(start).Seconds())
	defer net0.Close()
	svcTorrc = filepath.Join(dir, "service.torrc")
	if err := net0.WriteServiceTorrc(svcTorrc); err != nil {
		fmt.Println(err)
		return 1
	}
	return m.Run()
}

func needNet(t *testing.T) {
	t.Helper()
	if net0 == nil {
		t.Skip(skipWhy)
	}
}

// proc is a running tropa process with its output kept for inspection.
type proc = testproc.Proc

// startTropa runs the binary with args; stdout lines are kept with the
// time they came, for reading the order of events in a failure.
func startTropa(t *testing.T, args ...string) *proc {
	t.Helper()
	return testproc.Start(t, tropaBin, testproc.Options{Stamp: true}, args...)
}

// report is the part of `tropa status --json` these tests read.
type report struct {
	Tor *onion.Status `json:"tor"`
}

func status(t *testing.T, data string) *onion.Status {
	t.Helper()
	out, err := exec.Command(tropaBin, "status", "--json", "--data", data).Output()
	if err != nil {
		t.Fatalf("tropa status: %v\n%s", err, out)
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil || r.Tor == nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return r.Tor
}

func statusText(data string) string {
	out, _ := exec.Command(tropaBin, "status", "--data", data).CombinedOutput()
	return string(out)
}
