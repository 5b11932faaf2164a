// Package testproc runs a built binary (tropa) as a child process in
// end-to-end tests, keeping its output in memory for the test to read:
// stdout line by line as it comes, stderr whole.
package testproc

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a running process with its output kept for inspection.
type Proc struct {
	Cmd  *exec.Cmd
	Done chan struct{} // closed when the process has exited
	Err  error         // its exit error, once Done is closed

	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	lines  chan string
	stamp  bool
}

// Options of Start.
type Options struct {
	Env   []string // added to the environment
	Stamp bool     // keep stdout lines with the time they came
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

// Start runs bin with args; the process is killed when the test ends if
// it still runs then.
func Start(t testing.TB, bin string, o Options, args ...string) *Proc {
	t.Helper()
	p := &Proc{lines: make(chan string, 1000), Done: make(chan struct{}), stamp: o.Stamp}
	p.Cmd = exec.Command(bin, args...)
	if o.Env != nil {
		p.Cmd.Env = append(os.Environ(), o.Env...)
	}
	p.Cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	out, err := p.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.stamp {
				p.stdout.WriteString(time.Now().Format("15:04:05.000 "))
			}
			p.stdout.WriteString(line + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default:
			}
		}
		p.Err = p.Cmd.Wait()
		close(p.Done)
	}()
	t.Cleanup(func() {
		if p.Running() {
			p.Cmd.Process.Kill()
			<-p.Done
		}
	})
	return p
}

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.Done:
		return false
	default:
		return true
	}
}

// Lines delivers stdout lines as they come (those nobody read in time,
// beyond 1000, are only in Out).
func (p *Proc) Lines() <-chan string { return p.lines }

// WaitLine waits for a stdout line matching re and returns its submatches.
func (p *Proc) WaitLine(t testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-p.Done:
			t.Fatalf("tropa exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", p.Err, re, p.Out(), p.ErrOut())
		case <-deadline:
			t.Fatalf("no line matching %q within %s\nstdout:\n%s\nstderr:\n%s", re, timeout, p.Out(), p.ErrOut())
		}
	}
}

// Out is what the process wrote on stdout so far.
func (p *Proc) Out() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }

// ErrOut is what the process wrote on stderr so far.
func (p *Proc) ErrOut() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// Stop sends SIGTERM and wants a clean exit within the given time.
func (p *Proc) Stop(t testing.TB, within time.Duration) {
	t.Helper()
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done:
		if p.Err != nil {
			t.Fatalf("tropa exited with %v after SIGTERM\nstderr:\n%s", p.Err, p.ErrOut())
		}
	case <-time.After(within):
		t.Fatalf("tropa did not stop within %s of SIGTERM", within)
	}
}
