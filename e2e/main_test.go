// Package e2e runs the built tropa binary end to end: as an onion service on
// a private Tor network on 127.0.0.1 (internal/tornet), fetched through a
// real Tor client. One network serves the whole package.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tropa/internal/testproc"
	"tropa/internal/tornet"
)

var (
	tropaBin string // the built binary
	net0     *tornet.Network
	netErr   error
	svcTorrc string // torrc lines that join the private network
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "tropa-e2e-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	tropaBin = filepath.Join(dir, "tropa")
	build := exec.Command("go", "build", "-tags", "tropatest", "-o", tropaBin, "tropa/cmd/tropa")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Println("e2e: build:", err)
		return 1
	}
	if testing.Short() {
		fmt.Println("e2e: no private Tor network in -short mode")
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	net0, netErr = tornet.Start(ctx, tornet.Options{Dir: filepath.Join(dir, "net")})
	if netErr != nil {
		fmt.Println("e2e: private Tor network did not start:", netErr)
		return 1
	}
	fmt.Printf("e2e: private Tor network up in %.1fs\n", time.Since(start).Seconds())
	defer net0.Close()
	svcTorrc = filepath.Join(dir, "service.torrc")
	if err := net0.WriteServiceTorrc(svcTorrc); err != nil {
		fmt.Println(err)
		return 1
	}
	return m.Run()
}

func needTor(t *testing.T) {
	t.Helper()
	if testing.Short() || net0 == nil {
		t.Skip("needs the private Tor network (not in -short)")
	}
}

// proc is a running tropa process with its output kept for inspection.
type proc = testproc.Proc

// startTropa runs the binary with args and env (added to the environment).
func startTropa(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return testproc.Start(t, tropaBin, testproc.Options{Env: env}, args...)
}

// childrenNamed lists the PIDs of pid's children whose command is name.
func childrenNamed(pid int, name string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cpid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		comm := s[open+1 : close]
		fields := strings.Fields(s[close+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		if ppid == pid && comm == name {
			out = append(out, cpid)
		}
	}
	return out
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

var onionLine = regexp.MustCompile(`^public onion: http://([a-z2-7]{56})\.onion$`)
