// Package e2e runs the built tropa binary end to end: as an onion service on
// a private Tor network on 127.0.0.1 (internal/tornet), fetched through a
// real Tor client. One network serves the whole package.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	lines  chan string
	done   chan struct{}
	err    error
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// startTropa runs the binary with args and env (added to the environment).
func startTropa(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{lines: make(chan string, 1000), done: make(chan struct{})}
	p.cmd = exec.Command(tropaBin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stdout.WriteString(line + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default:
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.running() {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// waitLine waits for a stdout line matching re and returns its submatches.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-p.done:
			t.Fatalf("tropa exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.err, re, p.out(), p.errOut())
		case <-deadline:
			t.Fatalf("no line matching %q within %s\nstdout:\n%s\nstderr:\n%s", re, timeout, p.out(), p.errOut())
		}
	}
}

func (p *proc) out() string    { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }
func (p *proc) errOut() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("tropa exited with %v after SIGTERM\nstderr:\n%s", p.err, p.errOut())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tropa did not stop within 20 s of SIGTERM")
	}
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
