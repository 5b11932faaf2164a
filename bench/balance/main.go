// Command balance measures new-circuit page fetches per second through a
// private Tor network on 127.0.0.1, with tropa serving its public onion from
// one tor and from several behind Onionbalance (issue 10), side by side,
// with each tor's CPU use.
//
// Every fetch is a new visitor: its own SOCKS credentials, so the client
// tor builds a new rendezvous circuit and introduces itself anew, and the
// service's tor does the introduction and rendezvous handshakes that limit
// an onion service. Workers fetch /ru/ in a loop for -d; then the next
// configuration runs on the same network, with a fresh data directory.
//
//	go run ./bench/balance -tropa bin/tropa            # N = 1 vs N = 2
//	go run ./bench/balance -tropa bin/tropa -n 1,2,4 -d 60s -w 16 -out balance.md
//
// It needs tor, tor-gencert and onionbalance. Every process it starts is
// stopped by its PID; its temporary directory is removed. Onionbalance
// needs at least 4 relays besides the authorities and 20-second votes, so
// the network has those (it takes ~20-60 s to come up).
//
// Read the numbers with the machine in mind: the whole network (3
// authorities, 4 relays, the client) runs on the same cores as the service,
// and the client tor does about as much work per new circuit as the
// service. The "machine CPU" column says how busy the machine was; when it
// is near 100% the fetch rate is the machine's, not the service tor's.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tropa/internal/tornet"
	"tropa/onion"
)

func main() {
	tropa := flag.String("tropa", "bin/tropa", "the tropa binary")
	ns := flag.String("n", "1,2", "tor instance counts to compare, comma-separated")
	dur := flag.Duration("d", 30*time.Second, "measuring time per configuration")
	workers := flag.Int("w", 32, "concurrent new-circuit fetchers")
	warm := flag.Duration("warm", 10*time.Second, "load before measuring (not counted)")
	out := flag.String("out", "", "also write the Markdown table to this file")
	asJSON := flag.Bool("json", false, "print the results as JSON instead of Markdown (-out still gets the Markdown)")
	flag.Parse()
	var counts []int
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > onion.MaxInstances {
			fmt.Fprintf(os.Stderr, "balance: -n %q: instance counts between 1 and %d\n", *ns, onion.MaxInstances)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	res, err := run(*tropa, counts, *dur, *warm, *workers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "balance:", err)
	}
	if len(res) == 0 {
		os.Exit(1)
	}
	md := markdown(res, *dur, *workers)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		fmt.Print(md)
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "balance:", err)
			os.Exit(1)
		}
	}
	if err != nil {
		os.Exit(1)
	}
}

// Result is one configuration's measurement.
type Result struct {
	Instances   int
	Published   time.Duration // tropa start → public onion published
	Fetches     int           // successful new-circuit fetches while measuring
	Failures    int
	PerSecond   float64
	P50, P90    time.Duration // fetch latency (successful ones)
	TorCPU      []float64     // per local instance's tor: % of one core
	OBCPU       float64       // onionbalance, % of one core (N > 1)
	TropaCPU    float64       // tropa itself
	ClientCPU   float64       // the network's client tor
	MachineCPU  float64       // all cores busy, % of the machine
	PerInstance []int64       // connections each instance served while measuring
	// CPU milliseconds per successful fetch: all service tors together,
	// and the client tor. 1000 / TorMsPerFetch is what one core of service
	// tor could sustain, were the rest of the network not in the way.
	TorMsPerFetch, ClientMsPerFetch float64
}

func run(tropa string, counts []int, dur, warm time.Duration, workers int) ([]Result, error) {
	if _, err := onion.LookOnionbalance(""); err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(tropa)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("-tropa: %w (make build)", err)
	}
	dir, err := os.MkdirTemp("", "tropa-bench-balance-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	t0 := time.Now()
	n, err := tornet.Start(ctx, tornet.Options{Dir: filepath.Join(dir, "net"), Relays: 4, VotingInterval: 20})
	if err != nil {
		return nil, fmt.Errorf("private Tor network: %w", err)
	}
	defer n.Close()
	fmt.Fprintf(os.Stderr, "balance: private Tor network up in %.1fs\n", time.Since(t0).Seconds())
	torrc := filepath.Join(dir, "service.torrc")
	if err := n.WriteServiceTorrc(torrc); err != nil {
		return nil, err
	}
	clientPID := readPID(filepath.Join(n.Dir, "client", "pid"))
	var out []Result
	for i, c := range counts {
		r, err := measure(n, bin, torrc, filepath.Join(dir, fmt.Sprintf("data-%d", i)), c, dur, warm, workers, clientPID)
		if err != nil {
			return out, fmt.Errorf("%d instance(s): %w", c, err)
		}
		fmt.Fprintf(os.Stderr, "balance: N=%d: %.2f new-circuit fetches/s (%d ok, %d failed), tor CPU %v%%\n",
			c, r.PerSecond, r.Fetches, r.Failures, r.TorCPU)
		out = append(out, r)
	}
	return out, nil
}

var frontLine = regexp.MustCompile(`^public onion: http://([a-z2-7]{56})\.onion$`)

func measure(n *tornet.Network, bin, torrc, data string, instances int, dur, warm time.Duration, workers, clientPID int) (Result, error) {
	r := Result{Instances: instances}
	start := time.Now()
	cmd := exec.Command(bin, "serve", "--data", data, "--torrc", torrc, "--tor-instances", strconv.Itoa(instances))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		return r, err
	}
	exited := make(chan struct{})
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(exited)
	}()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	var front string
	deadline := time.After(4 * time.Minute)
	for front == "" {
		select {
		case l := <-lines:
			if m := frontLine.FindStringSubmatch(l); m != nil {
				front = m[1]
			}
		case <-exited:
			return r, fmt.Errorf("tropa exited: %s", errBuf.String())
		case <-deadline:
			return r, errors.New("the public onion was not published within 4 minutes")
		}
	}
	r.Published = time.Since(start)
	url := "http://" + front + ".onion/ru/"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	resp, err := n.Get(ctx, url)
	cancel()
	if err != nil {
		return r, fmt.Errorf("first fetch: %w", err)
	}
	resp.Body.Close()

	st, err := status(bin, data)
	if err != nil {
		return r, err
	}
	var torPIDs []int
	obPID := 0
	if st.Balance != nil {
		for _, in := range st.Balance.Instances {
			if !in.Remote {
				torPIDs = append(torPIDs, in.PID)
			}
		}
		obPID = st.Balance.Frontend.PID
	} else {
		torPIDs = []int{st.PID}
	}

	// Load: workers fetch in a loop, each fetch on a new circuit. Only
	// fetches that start and end inside the measuring window count.
	var (
		seq        atomic.Int64
		measuring  atomic.Bool
		stop       atomic.Bool
		mu         sync.Mutex
		lat        []time.Duration
		ok, failed int
		wg         sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for !stop.Load() {
				tag := fmt.Sprintf("bench-%d-%d", instances, seq.Add(1))
				inWindow := measuring.Load()
				t := time.Now()
				err := fetch(n.IsolatedClient(tag), url)
				d := time.Since(t)
				if !inWindow || !measuring.Load() {
					continue
				}
				mu.Lock()
				if err != nil {
					failed++
				} else {
					ok++
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(warm)
	before := sample(torPIDs, obPID, cmd.Process.Pid, clientPID)
	conns0 := instanceConns(bin, data)
	measuring.Store(true)
	t1 := time.Now()
	time.Sleep(dur)
	measuring.Store(false)
	elapsed := time.Since(t1)
	after := sample(torPIDs, obPID, cmd.Process.Pid, clientPID)
	conns1 := instanceConns(bin, data)
	stop.Store(true)
	wg.Wait()

	r.Fetches, r.Failures = ok, failed
	r.PerSecond = float64(ok) / elapsed.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		r.P50, r.P90 = lat[len(lat)/2], lat[len(lat)*9/10]
	}
	pct := func(a, b float64) float64 { return round1(100 * (b - a) / elapsed.Seconds()) }
	for i := range torPIDs {
		r.TorCPU = append(r.TorCPU, pct(before.tors[i], after.tors[i]))
	}
	if ok > 0 {
		var sum float64
		for i := range torPIDs {
			sum += after.tors[i] - before.tors[i]
		}
		r.TorMsPerFetch = round1(1000 * sum / float64(ok))
		r.ClientMsPerFetch = round1(1000 * (after.client - before.client) / float64(ok))
	}
	r.OBCPU = pct(before.ob, after.ob)
	r.TropaCPU = pct(before.tropa, after.tropa)
	r.ClientCPU = pct(before.client, after.client)
	if d := after.total - before.total; d > 0 {
		r.MachineCPU = round1(100 * (d - (after.idle - before.idle)) / d)
	}
	for i := range conns1 {
		if i < len(conns0) {
			r.PerInstance = append(r.PerInstance, conns1[i]-conns0[i])
		}
	}
	return r, nil
}

func fetch(c *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func status(bin, data string) (*onion.Status, error) {
	out, err := exec.Command(bin, "status", "--json", "--data", data).Output()
	if err != nil {
		return nil, fmt.Errorf("tropa status: %v", err)
	}
	var rep struct {
		Tor *onion.Status `json:"tor"`
	}
	if err := json.Unmarshal(out, &rep); err != nil || rep.Tor == nil {
		return nil, fmt.Errorf("tropa status: %v", err)
	}
	return rep.Tor, nil
}

// instanceConns is each local instance's connection count (nil for one
// tor, which has no per-instance count).
func instanceConns(bin, data string) []int64 {
	st, err := status(bin, data)
	if err != nil || st.Balance == nil {
		return nil
	}
	var out []int64
	for _, in := range st.Balance.Instances {
		if !in.Remote {
			out = append(out, in.Connections)
		}
	}
	return out
}

// cpu is a sample of CPU seconds used so far.
type cpu struct {
	tors              []float64
	ob, tropa, client float64
	total, idle       float64 // machine, in seconds of all cores
}

func sample(tors []int, ob, tropa, client int) cpu {
	var c cpu
	for _, p := range tors {
		c.tors = append(c.tors, procCPU(p))
	}
	c.ob, c.tropa, c.client = procCPU(ob), procCPU(tropa), procCPU(client)
	c.total, c.idle = machineCPU()
	return c
}

// clockTick is USER_HZ, 100 on Linux everywhere that matters.
const clockTick = 100.0

// procCPU is utime+stime of pid in seconds (0 when unknown).
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	sy, _ := strconv.ParseFloat(f[12], 64)
	return (u + sy) / clockTick
}

// machineCPU is the machine's total and idle CPU time, in seconds.
func machineCPU() (total, idle float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		total += x
		if i == 3 || i == 4 { // idle, iowait
			idle += x
		}
	}
	return total / clockTick, idle / clockTick
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}

func round1(x float64) float64 { return float64(int(x*10+0.5)) / 10 }

func markdown(res []Result, dur time.Duration, workers int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "New-circuit page fetches through the private Tor network (3 authorities, 4 relays, 1 client on 127.0.0.1; %d cores), "+
		"%d concurrent fetchers, %s per configuration; each fetch of /ru/ is a new visitor (its own circuits).\n\n", runtime.NumCPU(), workers, dur)
	b.WriteString("| tor instances | fetches/s | ok / failed | p50 | p90 | tor CPU per instance (% of a core) | service tor CPU per fetch | client tor CPU per fetch | onionbalance | tropa | client tor | machine CPU | served per instance |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range res {
		var cpus []string
		for _, c := range r.TorCPU {
			cpus = append(cpus, fmt.Sprintf("%.1f", c))
		}
		per := "—"
		if len(r.PerInstance) > 0 {
			var s []string
			for _, n := range r.PerInstance {
				s = append(s, strconv.FormatInt(n, 10))
			}
			per = strings.Join(s, " / ")
		}
		ob := "—"
		if r.Instances > 1 {
			ob = fmt.Sprintf("%.1f%%", r.OBCPU)
		}
		fmt.Fprintf(&b, "| %d | %.2f | %d / %d | %.2fs | %.2fs | %s | %.1f ms | %.1f ms | %s | %.1f%% | %.1f%% | %.0f%% | %s |\n",
			r.Instances, r.PerSecond, r.Fetches, r.Failures, r.P50.Seconds(), r.P90.Seconds(), strings.Join(cpus, " / "),
			r.TorMsPerFetch, r.ClientMsPerFetch, ob, r.TropaCPU, r.ClientCPU, r.MachineCPU, per)
	}
	if len(res) >= 2 && res[0].PerSecond > 0 {
		last := res[len(res)-1]
		fmt.Fprintf(&b, "\nRatio of fetches/s, N=%d / N=%d: %.2f.", last.Instances, res[0].Instances, last.PerSecond/res[0].PerSecond)
		if res[0].TorMsPerFetch > 0 {
			fmt.Fprintf(&b, " At %.1f ms of service-tor CPU per new circuit, one tor would saturate a core at about %.0f new circuits/s.",
				res[0].TorMsPerFetch, 1000/res[0].TorMsPerFetch)
		}
		for _, r := range res {
			if r.MachineCPU >= 85 {
				fmt.Fprintf(&b, " The machine was %.0f%% busy with N=%d: that rate is the whole private network's on %d cores (the client tor alone spent %.1f ms per circuit), not the service tor's ceiling.",
					r.MachineCPU, r.Instances, runtime.NumCPU(), r.ClientMsPerFetch)
				break
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
