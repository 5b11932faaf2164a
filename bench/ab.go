package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// abMain is `tropa-bench ab -a OLD -b NEW`: two tropa binaries side by side
// on copies of one board (the P1-P3 board), wrk alternating between them,
// for before/after figures of a change.
func abMain(args []string) error {
	fs := flag.NewFlagSet("ab", flag.ExitOnError)
	a := fs.String("a", "", "tropa binary A (before)")
	bb := fs.String("b", "", "tropa binary B (after)")
	rounds := fs.Int("rounds", 4, "rounds")
	dur := fs.Duration("d", 5*time.Second, "wrk duration")
	posts := fs.Bool("p3", false, "also compare P3's durable replies (captcha off)")
	fs.Parse(args)
	tmp, err := os.MkdirTemp("", "tropa-ab-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := &bench{cfg: &config{tmp: tmp, conns: 64, dur: *dur}, procs: &procSet{}, rep: &report{}, ctx: context.Background()}
	defer b.procs.stopAll()
	if err := b.ensureBoard(); err != nil {
		return err
	}
	type side struct {
		name, bin, base string
		pid             int
		res             map[string]series
	}
	var sides []*side
	for i, bin := range []string{*a, *bb} {
		dir := filepath.Join(tmp, fmt.Sprintf("data%d", i))
		if out, err := exec.Command("cp", "-a", b.boardDir, dir).CombinedOutput(); err != nil {
			return fmt.Errorf("cp: %v %s", err, out)
		}
		abs, _ := filepath.Abs(bin)
		b.cfg.tropa = abs
		var extra []string
		if *posts {
			extra = append(extra, "--captcha=false")
		}
		p, base, _, err := b.startTropa(dir, extra...)
		if err != nil {
			return err
		}
		sides = append(sides, &side{name: string(rune('A' + i)), bin: bin, base: base, pid: p.pid(), res: map[string]series{}})
	}
	paths := []string{"/ru/hiv", fmt.Sprintf("/ru/t/%d", b.thread)}
	for r := 0; r < *rounds; r++ {
		for _, path := range paths {
			for _, gz := range []bool{false, true} {
				var hdr []string
				key := path + " identity"
				if gz {
					hdr, key = []string{"Accept-Encoding: gzip"}, path+" gzip"
				}
				order := []*side{sides[0], sides[1]}
				if r%2 == 1 {
					order = []*side{sides[1], sides[0]}
				}
				for _, s := range order {
					res, err := b.runWrk(s.base+path, s.pid, *dur, hdr...)
					if err != nil {
						return err
					}
					s.res[key] = append(s.res[key], res)
				}
			}
		}
	}
	type postRuns struct{ rate, p99 []float64 }
	pr := map[string]*postRuns{"A": {}, "B": {}}
	for r := 0; *posts && r < *rounds; r++ {
		order := []*side{sides[0], sides[1]}
		if r%2 == 1 {
			order = []*side{sides[1], sides[0]}
		}
		for _, s := range order {
			res := postLoad(b.ctx, s.base, "reply", 64, *dur, b.targets, s.pid)
			pr[s.name].rate = append(pr[s.name].rate, res.rate)
			pr[s.name].p99 = append(pr[s.name].p99, float64(res.p99))
		}
	}
	fmt.Printf("A = %s\nB = %s\n", *a, *bb)
	if *posts {
		fmt.Printf("P3 replies/s median: A %.0f (p99 %s), B %.0f (p99 %s), B/A %.2f×; rounds A %v B %v\n",
			median(pr["A"].rate), ms(time.Duration(median(pr["A"].p99))), median(pr["B"].rate), ms(time.Duration(median(pr["B"].p99))),
			median(pr["B"].rate)/median(pr["A"].rate), roundAll(pr["A"].rate), roundAll(pr["B"].rate))
	}
	fmt.Println("| page | A req/s | A p99 | A cpu µs/req | B req/s | B p99 | B cpu µs/req | B/A req/s (rounds) | B/A cpu/req | load |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, path := range paths {
		for _, enc := range []string{"identity", "gzip"} {
			key := path + " " + enc
			ra, rb := sides[0].res[key], sides[1].res[key]
			var rs []string
			for _, x := range ratios(rb, ra) {
				rs = append(rs, fmt.Sprintf("%.2f", x))
			}
			fmt.Printf("| `%s` %s | %.0f | %s | %.1f | %.0f | %s | %.1f | %.2f× (%s) | %.2f× | %s |\n", path, enc, ra.rps(), ms(ra.p99()), ra.cpuPerReq(),
				rb.rps(), ms(rb.p99()), rb.cpuPerReq(), rb.rps()/ra.rps(), strings.Join(rs, ", "), rb.cpuPerReq()/ra.cpuPerReq(), loads(append(ra.loads(), rb.loads()...)))
		}
	}
	return nil
}

func roundAll(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}
