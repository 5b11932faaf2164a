package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is one wrk run.
type wrkResult struct {
	rps           float64
	p50, p90, p99 time.Duration
	requests      int
	non2xx        int
	sockErrs      int
	load          float64 // 1-minute load average when the run started
	cpu           float64 // cores the server used during the run
	cpuSecs       float64 // CPU seconds the server used during the run
}

// cpuPerReq is the server's CPU time per request, in µs: less sensitive
// than req/s to what else runs on a shared machine.
func (r wrkResult) cpuPerReq() float64 {
	if r.requests == 0 {
		return 0
	}
	return r.cpuSecs / float64(r.requests) * 1e6
}

var (
	reRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reLat    = regexp.MustCompile(`(?m)^\s+(50|90|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	reReqs   = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reSock   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk runs `wrk -t1 -cN -dD --latency` against url with headers, while
// measuring the CPU used by the server process tree serverPID.
func (b *bench) runWrk(url string, serverPID int, dur time.Duration, headers ...string) (wrkResult, error) {
	args := []string{"-t1", "-c" + strconv.Itoa(b.cfg.conns), "-d" + durArg(dur), "--latency"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	args = append(args, url)
	ctx, cancel := context.WithTimeout(b.ctx, dur+30*time.Second)
	defer cancel()
	res := wrkResult{load: load1()}
	t0 := treeTicks(serverPID)
	start := time.Now()
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	elapsed := time.Since(start)
	res.cpuSecs = float64(treeTicks(serverPID)-t0) / clockTicks
	res.cpu = res.cpuSecs / elapsed.Seconds()
	if err != nil {
		return res, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return parseWrk(string(out), res)
}

func durArg(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.Itoa(int(d/time.Millisecond)) + "ms"
}

func parseWrk(out string, res wrkResult) (wrkResult, error) {
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return res, fmt.Errorf("wrk: no Requests/sec in:\n%s", out)
	}
	res.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, l := range reLat.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(l[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[l[3]]
		d := time.Duration(v * float64(unit))
		switch l[1] {
		case "50":
			res.p50 = d
		case "90":
			res.p90 = d
		case "99":
			res.p99 = d
		}
	}
	if m := reReqs.FindStringSubmatch(out); m != nil {
		res.requests, _ = strconv.Atoi(m[1])
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		res.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := reSock.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			res.sockErrs += n
		}
	}
	return res, nil
}

// series is one side of a comparison over several rounds.
type series []wrkResult

func (s series) rps() float64 { return median(s.vals(func(r wrkResult) float64 { return r.rps })) }
func (s series) p50() time.Duration {
	return time.Duration(median(s.vals(func(r wrkResult) float64 { return float64(r.p50) })))
}
func (s series) p99() time.Duration {
	return time.Duration(median(s.vals(func(r wrkResult) float64 { return float64(r.p99) })))
}
func (s series) cpu() float64 { return median(s.vals(func(r wrkResult) float64 { return r.cpu })) }
func (s series) cpuPerReq() float64 {
	return median(s.vals(func(r wrkResult) float64 { return r.cpuPerReq() }))
}
func (s series) errors() (n int) {
	for _, r := range s {
		n += r.non2xx + r.sockErrs
	}
	return n
}
func (s series) vals(f func(wrkResult) float64) []float64 {
	out := make([]float64, len(s))
	for i, r := range s {
		out[i] = f(r)
	}
	return out
}
func (s series) loads() []float64 { return s.vals(func(r wrkResult) float64 { return r.load }) }

// ratios are the per-round ratios a[i].rps / b[i].rps.
func ratios(a, b series) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if b[i].rps > 0 {
			out = append(out, a[i].rps/b[i].rps)
		}
	}
	return out
}
