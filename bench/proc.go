package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// lookPath finds a tool in PATH or in the sbin directories Debian uses.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// proc is a child process started by the bench.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	stop syscall.Signal // the signal that stops it cleanly

	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string
}

// procSet tracks every child so that any exit path stops them, by PID.
type procSet struct {
	mu    sync.Mutex
	procs []*proc
}

// start runs bin with args; its output is kept (and its lines offered on
// p.lines). The kernel sends it pdeath if the bench dies first.
func (ps *procSet) start(name string, stop, pdeath syscall.Signal, env []string, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, done: make(chan struct{}), stop: stop, lines: make(chan string, 256)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: pdeath}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.out.Len() < 1<<20 {
				p.out.WriteString(line + "\n")
			}
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default:
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.procs = append(ps.procs, p)
	ps.mu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// halt stops the process by its PID: the clean signal, then SIGKILL after
// 15 s.
func (p *proc) halt() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(p.stop)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitLine waits for an output line matching re.
func (p *proc) waitLine(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m, nil
			}
		case <-p.done:
			return nil, fmt.Errorf("%s exited (%v) before printing %q:\n%s", p.name, p.err, re, tail(p.output(), 2000))
		case <-deadline:
			return nil, fmt.Errorf("%s printed no line matching %q within %s:\n%s", p.name, re, timeout, tail(p.output(), 2000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// stopAll halts every child, newest first.
func (ps *procSet) stopAll() {
	ps.mu.Lock()
	procs := ps.procs
	ps.procs = nil
	ps.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].halt()
	}
}

// stopOne halts p and forgets it.
func (ps *procSet) stopOne(p *proc) {
	p.halt()
	ps.mu.Lock()
	for i, q := range ps.procs {
		if q == p {
			ps.procs = append(ps.procs[:i], ps.procs[i+1:]...)
			break
		}
	}
	ps.mu.Unlock()
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers 200, or p exits, or timeout.
func waitHTTP(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	cl := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := cl.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, tail(p.output(), 2000))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not answer 200 within %s (last error %v)", url, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- /proc -------------------------------------------------------------------

// loadavg is the 1, 5 and 15-minute load average.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// load1 is the 1-minute load average.
func load1() float64 {
	f := strings.Fields(loadavg())
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// memKiB is VmRSS of pid and its anonymous and file-backed parts.
type memKiB struct{ rss, anon, file int }

func (m memKiB) String() string {
	return fmt.Sprintf("%d MiB (anon %d, file %d)", m.rss>>10, m.anon>>10, m.file>>10)
}

func memOf(pid int) memKiB {
	var m memKiB
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "VmRSS":
			m.rss = n
		case "RssAnon":
			m.anon = n
		case "RssFile":
			m.file = n
		}
	}
	return m
}

// rssKiB reads VmRSS of pid.
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// statOf returns ppid and utime+stime (clock ticks) of pid.
func statOf(pid int) (ppid int, ticks int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("bad stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] state, f[1] ppid, ... f[11] utime, f[12] stime
	if len(f) < 13 {
		return 0, 0, errors.New("bad stat")
	}
	ppid, _ = strconv.Atoi(f[1])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ppid, u + st, nil
}

// treeTicks sums the CPU ticks of pid and its direct children (nginx's
// workers).
func treeTicks(pid int) int64 {
	_, total, _ := statOf(pid)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil || c == pid {
			continue
		}
		if pp, t, err := statOf(c); err == nil && pp == pid {
			total += t
		}
	}
	return total
}

// treeRSS sums VmRSS of pid and its direct children.
func treeRSS(pid int) int {
	total := rssKiB(pid)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil || c == pid {
			continue
		}
		if pp, _, err := statOf(c); err == nil && pp == pid {
			total += rssKiB(c)
		}
	}
	return total
}

const clockTicks = 100 // USER_HZ on Linux

// ---- statistics ---------------------------------------------------------------

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// quantile of durations (nearest rank).
func quantile(v []time.Duration, q float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func minMax(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
