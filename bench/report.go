package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// findings.md is the hand-written part of BENCHMARKS.md: what the profiles
// showed and what was changed. Everything else is measured by this run.
//
//go:embed findings.md
var findings string

type machine struct {
	nproc                  int
	cpu, kernel, mem       string
	goVer, nginx, tor, wrk string
}

type phaseTime struct {
	name  string
	took  time.Duration
	loadS string // load average when the phase started
	loadE string // and when it ended
}

type report struct {
	cfg        *config
	started    time.Time
	total      time.Duration
	machine    machine
	phaseTimes []phaseTime
	skipped    []string
	failures   []string

	served       []*servedPage
	threadPosts  int
	nginxHeaders map[string]string
	serveRSS     int
	nginxRSS     int
	posting      []postResult
	targets      int
	sampled      int
	large        []*largeSide
	pages        []pageWeight
	onion        *onionResult
	balance      *balanceRun
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func cmdOut(name string, args ...string) string {
	p, err := lookPath(name)
	if err != nil {
		return "not installed"
	}
	out, err := exec.Command(p, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "?"
	}
	return firstLine(string(out))
}

func machineInfo() machine {
	m := machine{nproc: runtime.NumCPU(), goVer: cmdOut("go", "version")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.mem = strings.Join(strings.Fields(firstLine(string(b)))[1:], " ")
	}
	m.nginx = strings.TrimPrefix(cmdOut("nginx", "-v"), "nginx version: ")
	m.tor = cmdOut("tor", "--version")
	m.wrk = strings.Fields(cmdOut("wrk", "--version") + " ?")[1]
	return m
}

func yes(ok bool) string {
	if ok {
		return "**yes**"
	}
	return "**no**"
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func loads(v []float64) string {
	lo, hi := minMax(v)
	if lo == hi {
		return fmt.Sprintf("%.2f", lo)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

func ratioRange(v []float64) string {
	lo, hi := minMax(v)
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}

func (r *report) markdown() string {
	var w strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&w, format, a...) }
	c := r.cfg
	p("# tropa benchmarks\n\n")
	p("Measured by `make bench` on %s UTC in %s. This file is written by\n", r.started.UTC().Format("2006-01-02 15:04"), r.total.Round(time.Second))
	p("`bench/` (the code is the method); the section *Findings* comes from\n`bench/findings.md`. Do not edit the figures by hand: run `make bench` again.\n\n")
	p("Method (shared/notes/performance.md): everything on 127.0.0.1, wrk on the\nsame box (`wrk -t1 -c%d -d%s --latency`), each comparison side by side in one\nrun, servers alternating, %d rounds, medians reported; every server sends\nbyte-identical pages. The machine is shared with other engineers' test runs:\nthe 1-minute load average is recorded at each run, and ratios measured side by\nside are what to compare, not absolute req/s across days.\n\n",
		c.conns, durArg(c.dur), c.rounds)

	p("## Machine\n\n| | |\n| --- | --- |\n")
	m := r.machine
	p("| CPUs (nproc) | %d |\n| CPU | %s |\n| memory | %s |\n| kernel | %s |\n| Go | %s |\n| nginx | %s |\n| tor | %s |\n| wrk | %s |\n\n",
		m.nproc, m.cpu, m.mem, m.kernel, m.goVer, m.nginx, m.tor, m.wrk)
	p("## Command\n\n```\nmake bench\n```\n\nwhich runs `make build` (the production binary `bin/tropa`), installs wrk and\nnginx if missing (as root), builds `bin/tropa-bench` from `bench/` and runs\n\n```\n%s -tropa bin/tropa -out BENCHMARKS.md\n```\n\n(in a loopback-only network namespace when one can be made; options through\n`make bench BENCHFLAGS=...`, e.g. `-only p1,p5`, `-d 10s`, `-rounds 5`; `-help`\nlists them). The same binary has the tools used for *Findings*: `tropa-bench\nprofile` (CPU/heap profiles of the site under load), `tropa-bench ab -a OLD -b\nNEW [-p3]` (two builds side by side) and `tropa-bench fill` (P4's generator).\n\n", strings.TrimSuffix(c.command, " -tropa bin/tropa -out BENCHMARKS.md"))

	p("Phases (load average 1/5/15 min at start → end):\n\n| phase | took | load at start | load at end |\n| --- | --- | --- | --- |\n")
	for _, ph := range r.phaseTimes {
		p("| %s | %s | %s | %s |\n", ph.name, secs(ph.took), ph.loadS, ph.loadE)
	}
	p("\n")
	for _, ph := range r.phaseTimes {
		var l [3]float64
		fmt.Sscan(ph.loadE, &l[0], &l[1], &l[2])
		if l[0] > float64(r.machine.nproc)*1.5 || l[1] > float64(r.machine.nproc)*1.5 {
			p("**The machine was busy with other work during this run** (load average above %d on %d CPUs at the end of phase %s): absolute figures are low and noisy; the side-by-side ratios and CPU time per request are the figures to read.\n\n", r.machine.nproc*3/2, r.machine.nproc, ph.name)
			break
		}
	}
	for _, s := range r.skipped {
		p("- skipped: %s\n", s)
	}
	for _, f := range r.failures {
		p("- **failed**: %s\n", strings.ReplaceAll(firstLine(f), "|", "\\|"))
	}
	if len(r.skipped)+len(r.failures) > 0 {
		p("\n")
	}

	p("## Summary\n\n| | figure | tropa | baseline | ratio | goal | met |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	r.summary(p)
	p("\n")
	r.detailServe(p)
	r.detailPost(p)
	r.detailLarge(p)
	r.detailPages(p)
	r.detailOnion(p)
	r.detailBalance(p)
	f := findings
	if b, err := os.ReadFile(filepath.Join("bench", "findings.md")); err == nil {
		f = string(b) // the current text when run from the module root
	}
	p("## Findings\n\n%s\n", strings.TrimSpace(f))
	return w.String()
}

type printer func(format string, a ...any)

func (r *report) summary(p printer) {
	goals := map[string]float64{"P1 info page": 0.75, "P2 thread page": 0.5}
	for _, pg := range r.served {
		for _, enc := range []string{"identity", "gzip"} {
			t, n := pg.tropa[enc], pg.nginx[enc]
			if len(t) == 0 || len(n) == 0 {
				continue
			}
			ratio := t.rps() / n.rps()
			g := goals[pg.label]
			p("| %s | %s `%s`, %s, req/s | %.0f | nginx %.0f | %.2f× (rounds %s) | ≥ %.2f× | %s |\n",
				pg.label[:2], pg.label[3:], pg.path, enc, t.rps(), n.rps(), ratio, ratioRange(pg.ratio[enc]), g, yes(ratio >= g))
		}
	}
	for _, pg := range r.served {
		for _, enc := range []string{"identity", "gzip"} {
			t, n := pg.tropa[enc], pg.nginx[enc]
			if len(t) == 0 || len(n) == 0 || n.cpuPerReq() == 0 {
				continue
			}
			p("| %s | %s, %s: server CPU per request (less load-sensitive) | %.1f µs | nginx %.1f µs | %.2f× nginx's | — | — |\n",
				pg.label[:2], pg.label[3:], enc, t.cpuPerReq(), n.cpuPerReq(), t.cpuPerReq()/n.cpuPerReq())
		}
	}
	for _, pg := range r.served {
		if !strings.HasPrefix(pg.label, "P2") {
			continue
		}
		for _, enc := range []string{"identity", "gzip"} {
			t, n := pg.tropa[enc], pg.nginx[enc]
			if len(t) == 0 {
				continue
			}
			p("| P2 | thread page p99 at %d connections, %s | %s | nginx %s | %.1f× | < 10 ms | %s |\n",
				r.cfg.conns, enc, ms(t.p99()), ms(n.p99()), float64(t.p99())/float64(max(n.p99(), 1)), yes(t.p99() < 10*time.Millisecond))
		}
	}
	for _, pr := range r.posting {
		switch {
		case pr.kind == "reply":
			p("| P3 | durable replies/s, %d posters, SyncWrites on (p50 %s, p99 %s) | %.0f | goal 5,000 | %.2f× | ≥ 5,000/s | %s |\n",
				pr.posters, ms(pr.p50), ms(pr.p99), pr.rate, pr.rate/5000, yes(pr.rate >= 5000))
		case pr.kind == "ask" && pr.posters == 64:
			p("| P3 | new questions/s, %d posters, one argon2id hash each (p50 %s, p99 %s) | %.1f | ~40/s (2 hashes of ~50 ms at a time) | %.2f× | — | — |\n",
				pr.posters, ms(pr.p50), ms(pr.p99), pr.rate, pr.rate/40)
		}
	}
	if len(r.large) == 2 && len(r.large[0].thread) > 0 && len(r.large[1].thread) > 0 {
		s, b := r.large[0], r.large[1]
		row := func(what string, sv, bv []time.Duration, q float64) {
			x, y := quantile(sv, q), quantile(bv, q)
			ratio := float64(y) / float64(max(x, 1))
			p("| P4 | %s, %s vs %s | %s | %s | %.2f× | ≤ 1.5× | %s |\n", what, b.name, s.name, ms(y), ms(x), ratio, yes(ratio <= 1.5))
		}
		row("cold thread page p50", s.thread, b.thread, .5)
		row("cold thread page p99", s.thread, b.thread, .99)
		row("cold section page 1 p50", s.section, b.section, .5)
		row("cold section page 1 p99", s.section, b.section, .99)
		row("cold deepest section page p50 (by cursor; the small store's sections have one page)", s.lastSect, b.lastSect, .5)
		if len(s.warmThr) > 0 && len(b.warmThr) > 0 {
			ratio := float64(b.warmThr.p99()) / float64(max(s.warmThr.p99(), 1))
			p("| P4 | warm (cached) thread page p99 at %d connections | %s | %s | %.2f× | ≤ 1.5× | %s |\n", r.cfg.conns, ms(b.warmThr.p99()), ms(s.warmThr.p99()), ratio, yes(ratio <= 1.5))
		}
		med, top := medianMem(b.rss), maxMem(b.rss)
		p("| P4 | tropa VmRSS at %s after the measured pages (median of the rounds) | %s | %s: %s | — | ≤ 150 MiB | %s |\n", b.name, med, s.name, medianMem(s.rss), yes(med.rss>>10 <= 150))
		p("| P4 | the same, highest round (a Badger compaction running shows here) | %s | %s: %s | — | ≤ 150 MiB | %s |\n", top, s.name, maxMem(s.rss), yes(top.rss>>10 <= 150))
		if b.crawl.pages > 0 {
			p("| P4 | tropa VmRSS at %s at the end of a crawl of %d distinct thread pages | %s | %s: %s (%d pages) | — | (≤ 150 MiB) | %s |\n",
				b.name, b.crawl.pages, b.crawl.after, s.name, s.crawl.after, s.crawl.pages, yes(b.crawl.after.rss>>10 <= 150))
			p("| P4 | the same, 10 s after the crawl (at rest) | %s | %s: %s | — | ≤ 150 MiB | %s |\n",
				b.crawl.rest, s.name, s.crawl.rest, yes(b.crawl.rest.rss>>10 <= 150))
		}
		if b.settle.took > 0 {
			p("| P4 | tropa VmRSS peak on the first start after the bulk fill (Badger compacting it; %.0f s, %d start(s) to settle) | %s | %s: %s | — | (≤ 150 MiB) | %s |\n",
				b.settle.took.Seconds(), b.settle.passes, b.settle.peak, s.name, s.settle.peak, yes(b.settle.peak.rss>>10 <= 150))
		}
	}
	for _, pw := range r.pages {
		if pw.path == "/ru/" || pw.path == "/en/" {
			p("| P5 | home `%s`: bytes (gzip'd), requests | %s KiB (%s KiB), %d request(s) | — | — | ≤ 32 KiB, 1 request | %s |\n",
				pw.path, kib(pw.raw), kib(pw.gz), pw.requests(), yes(pw.raw <= 32<<10 && pw.requests() == 1))
		}
	}
	if len(r.pages) > 0 {
		maxReq, maxRaw, maxPath := 0, 0, ""
		for _, pw := range r.pages {
			maxReq = max(maxReq, pw.requests())
			if pw.raw > maxRaw {
				maxRaw, maxPath = pw.raw, pw.path
			}
		}
		p("| P5 | all %d pages: most requests for one page; heaviest page | %d; `%s` %s KiB | — | — | 1 request each | %s |\n",
			len(r.pages), maxReq, maxPath, kib(maxRaw), yes(maxReq == 1))
	}
	if o := r.onion; o != nil && o.tropaFirst > 0 {
		ratio := "—"
		if o.staticFirst > 0 {
			ratio = fmt.Sprintf("%.2f×", o.tropaFirst.Seconds()/o.staticFirst.Seconds())
		}
		p("| Tor | start to first fetch through Tor (first start) | %s | bare tor + static onion %s | %s | — | — |\n", secs(o.tropaFirst), secs(o.staticFirst), ratio)
		if len(o.warmTropa) > 0 && len(o.warmStatic) > 0 {
			a, b := quantile(o.warmTropa, .5), quantile(o.warmStatic, .5)
			p("| Tor | warm fetch of `/ru/` p50 (open circuit) | %s | static onion %s | %.2f× | — | — |\n", ms(a), ms(b), float64(a)/float64(max(b, 1)))
		}
		if len(o.freshTropa) > 0 && len(o.freshStatic) > 0 {
			a, b := quantile(o.freshTropa, .5), quantile(o.freshStatic, .5)
			p("| Tor | fetch on a new circuit p50 | %s | static onion %s | %.2f× | — | — |\n", ms(a), ms(b), float64(a)/float64(max(b, 1)))
		}
	}
	r.summaryBalance(p)
}

func medianMem(v []memKiB) memKiB {
	if len(v) == 0 {
		return memKiB{}
	}
	s := append([]memKiB(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i].rss < s[j].rss })
	return s[(len(s)-1)/2]
}

func maxMem(v []memKiB) memKiB {
	var m memKiB
	for _, x := range v {
		if x.rss > m.rss {
			m = x
		}
	}
	return m
}

func (r *report) detailServe(p printer) {
	if len(r.served) == 0 {
		return
	}
	p("## P1, P2: pre-rendered pages, tropa vs nginx on the same bytes\n\n")
	p("`tropa serve --tor=false --http 127.0.0.1:P --data <tmp>` (the production build) against\nnginx %s started by the bench: 1 worker, `access_log off`, `sendfile on`,\n`tcp_nopush off`, `keepalive_requests 1000000`, `gzip_static on` serving the\ngzip'd bytes fetched from tropa to clients that accept gzip (`-H \"Accept-Encoding:\ngzip\"`) and the identity bytes to the rest, with tropa's headers added\n(`add_header`: %s). nginx also sends `Server`, `Last-Modified`, `Connection` and\n`Accept-Ranges`; tropa sends `Date` too.\n\n",
		r.machine.nginx, strings.Join(sortedKeys(r.nginxHeaders), ", "))
	p("The P2 thread has 100 posts; tropa shows %d per page (`forum.ThreadPageSize`),\nso page 1 carries %d posts.\n\n", 50, r.threadPosts)
	p("| page | bytes | gzip'd | header bytes tropa / nginx |\n| --- | --- | --- | --- |\n")
	for _, pg := range r.served {
		p("| %s `%s` | %d | %d | %d / %d |\n", pg.label, pg.path, len(pg.raw), len(pg.gz), pg.hdrTropa, pg.hdrNginx)
	}
	p("\nEach round runs tropa then nginx (odd rounds) or nginx then tropa (even\nrounds). cpu = the server's CPU time per request (µs, from /proc: less\nsensitive than req/s to other work on the machine); load = 1-minute load\naverage at the start of each run (tropa / nginx).\n\n")
	p("| page | encoding | round | tropa req/s | p50 | p99 | cpu µs/req | nginx req/s | p50 | p99 | cpu µs/req | ratio | load |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, pg := range r.served {
		for _, enc := range []string{"identity", "gzip"} {
			t, n := pg.tropa[enc], pg.nginx[enc]
			for i := range min(len(t), len(n)) {
				p("| %s | %s | %d | %.0f | %s | %s | %.1f | %.0f | %s | %s | %.1f | %.2f× | %.2f / %.2f |\n", pg.label[:2], enc, i+1,
					t[i].rps, ms(t[i].p50), ms(t[i].p99), t[i].cpuPerReq(), n[i].rps, ms(n[i].p50), ms(n[i].p99), n[i].cpuPerReq(), t[i].rps/n[i].rps, t[i].load, n[i].load)
			}
			if len(t) > 0 && len(n) > 0 {
				p("| %s | %s | **median** | **%.0f** | %s | %s | %.1f | **%.0f** | %s | %s | %.1f | **%.2f×** | |\n", pg.label[:2], enc,
					t.rps(), ms(t.p50()), ms(t.p99()), t.cpuPerReq(), n.rps(), ms(n.p50()), ms(n.p99()), n.cpuPerReq(), t.rps()/n.rps())
			}
			if e := t.errors() + n.errors(); e > 0 {
				p("| %s | %s | errors | %d non-2xx or socket errors | | | | | | | | | |\n", pg.label[:2], enc, e)
			}
		}
	}
	p("\nResident memory after the runs: tropa %d MiB, nginx (master + worker) %d MiB.\n\n", r.serveRSS>>10, r.nginxRSS>>10)
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func (r *report) detailPost(p printer) {
	if len(r.posting) == 0 {
		return
	}
	p("## P3: durable writes through the HTTP form handlers\n\n")
	p("`tropa serve --tor=false --captcha=false` on the board's data dir, SyncWrites on\n(the default of `tropa serve`). A Go load generator in the bench process (it\nshares the 2 cores with tropa): for replies each poster GETs the reply form of\none of %d threads once (session cookie + CSRF token), then POSTs replies in a\nloop; for questions each new question is a new visitor (GET `/ru/ask` for a\nfresh session and token, then POST), so each costs one argon2id receipt hash.\nA 303 counts; afterwards tropa is stopped and the store is opened to check that\nit holds every answered post.\n\n", r.targets)
	p("| test | posters | 303s | time | per second | p50 | p99 | max | other statuses | errors | tropa cpu | load | in the store |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, pr := range r.posting {
		kind := "replies"
		if pr.kind == "ask" {
			kind = "new questions"
		}
		stored := "—"
		if pr.stored > 0 || pr.verified {
			stored = fmt.Sprintf("%d (%s)", pr.stored, map[bool]string{true: "all", false: "MISMATCH"}[pr.verified])
		}
		p("| %s | %d | %d | %s | **%.1f** | %s | %s | %s | %v | %d | %.2f | %.2f | %s |\n", kind, pr.posters, pr.ok, secs(pr.elapsed), pr.rate,
			ms(pr.p50), ms(pr.p99), ms(pr.maxLatency), pr.other, pr.errs, pr.cpu, pr.load, stored)
	}
	p("\n(The questions' \"in the store\" counts both question runs together.)\n")
	if r.posting[0].rssKiB > 0 {
		p("\ntropa's RSS after the posting runs: %d MiB.\n", r.posting[0].rssKiB>>10)
	}
	p("\n")
}

func (r *report) detailLarge(p printer) {
	if len(r.large) == 0 {
		return
	}
	p("## P4: 1 thousand vs 1 million posts\n\n")
	p("Each store is filled before tropa starts on it, straight through the store's\n`ForumRepo` (the forum's write path, group-committed by the Batcher with\n`MaxOps` 1024) from 256 writers, with SyncWrites off (`store.Options.NoSync`)\nand posts rendered once per text (a pool of 512). Threads hold 1–99 posts (50 on\naverage, the same size sequence in both stores) spread over the seeded sections.\n\n")
	p("| store | posts | threads | fill time | posts/s | on disk |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.large {
		if s.board == nil {
			continue
		}
		p("| %s | %d | %d | %s | %.0f | %d MiB |\n", s.name, s.board.posts, len(s.board.threads), secs(s.board.took), float64(s.board.posts)/s.board.took.Seconds(), s.board.bytes>>20)
	}
	p("\nPages are cached once rendered, so a store's size only shows on a page's\nfirst view (after a start, a write to it, or the hour turning). Each round\nstarts tropa on a store (alternating which first), then GETs once each, one at\na time, with gzip: page 1 of %d sampled threads of the same sizes in both stores\n(in both languages; page 2 too where a thread has more than 50 posts), page 1 of\nevery section in both languages, and the deepest page of every section; then wrk\n(%s) on a cached section page and thread page.\n\n", r.sampled, durArg(min(r.cfg.dur, 3*time.Second)))
	p("| store | start → first 200 (median) | cold thread p1 p50 / p99 (n) | cold thread p2 p50 / p99 | cold section p1 p50 / p99 | deepest section page p50 / max | warm section req/s, p99 | warm thread req/s, p99 | VmRSS after, each round |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.large {
		if len(s.thread) == 0 {
			continue
		}
		var st []float64
		for _, d := range s.start {
			st = append(st, float64(d))
		}
		p("| %s | %s | %s / %s (%d) | %s / %s | %s / %s | %s / %s | %.0f, %s | %.0f, %s | %s |\n", s.name, ms(time.Duration(median(st))),
			ms(quantile(s.thread, .5)), ms(quantile(s.thread, .99)), len(s.thread),
			ms(quantile(s.thread2, .5)), ms(quantile(s.thread2, .99)),
			ms(quantile(s.section, .5)), ms(quantile(s.section, .99)),
			ms(quantile(s.lastSect, .5)), ms(quantile(s.lastSect, 1)),
			s.warmSect.rps(), ms(s.warmSect.p99()), s.warmThr.rps(), ms(s.warmThr.p99()), memList(s.rss))
	}
	p("\nMemory under a crawl: tropa started afresh, then 8 clients GET up to 5,000\ndistinct thread pages (each rendered and cached), then VmRSS, and again 10 s\nlater with nothing asked meanwhile (at rest):\n\n| store | pages | time | p50 | p99 | RSS before → after → at rest |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, s := range r.large {
		if s.crawl.pages == 0 {
			continue
		}
		p("| %s | %d | %s | %s | %s | %s → %s → %s |\n", s.name, s.crawl.pages, secs(s.crawl.took), ms(s.crawl.p50), ms(s.crawl.p99), s.crawl.rssBefore, s.crawl.after, s.crawl.rest)
	}
	p("\n")
}

func (r *report) detailPages(p printer) {
	if len(r.pages) == 0 {
		return
	}
	p("## P5: page weight and requests per page\n\n")
	p("Every page reachable by links from `/ru/` and `/en/` on the board's data dir\n(captcha on, as in production; report forms: the first two stand for all), plus\na 404. Requests = the page + every same-site or external subresource a browser\nwould load (`<link rel=stylesheet|icon|preload…>`, `src`/`srcset` of img, script,\niframe, media, `<object data>`, CSS `url()` in `<style>` and `style=`); `data:`\nURIs are inline and cost no request.\n\n")
	p("| page | status | bytes | KiB | gzip'd KiB | requests | data: URIs | subresources |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, pw := range r.pages {
		subs := append(append([]string{}, pw.subSame...), pw.subExternal...)
		s := "—"
		if len(subs) > 0 {
			s = "`" + strings.Join(subs, "`, `") + "`"
		}
		p("| `%s` | %d | %d | %s | %s | %d | %d | %s |\n", pw.path, pw.status, pw.raw, kib(pw.raw), kib(pw.gz), pw.requests(), pw.dataURIs, s)
	}
	p("\n")
}

func (r *report) detailOnion(p printer) {
	o := r.onion
	if o == nil {
		return
	}
	p("## Over Tor: the private network on 127.0.0.1\n\n")
	p("internal/tornet (3 authorities, 2 relays, a client) up in %s (load %.2f at\nstart). Then `tropa serve --data <fresh dir> --torrc <the network's lines>` (its\nfirst start: keys made, board seeded, tor started and the onion published), timed\nfrom exec; then a bare `tor` with `HiddenServiceDir` + `HiddenServicePort` to\nnginx serving tropa's `/ru/` bytes and headers, timed from exec. \"First fetch\" is\nthe first 200 through the network's client with `tornet.Get` (which retries\nwhile the descriptor spreads).\n\n", secs(o.netUp), o.load)
	p("| | tropa | static onion |\n| --- | --- | --- |\n")
	p("| exec → onion address known | %s (the `public onion:` line) | %s (`hostname` written) |\n", secs(o.tropaPublished), secs(o.staticHostname))
	p("| exec → first fetch through Tor | %s | %s |\n", secs(o.tropaFirst), secs(o.staticFirst))
	q := func(v []time.Duration) string {
		if len(v) == 0 {
			return "—"
		}
		return fmt.Sprintf("%s / %s / %s (n=%d)", ms(quantile(v, .5)), ms(quantile(v, .9)), ms(quantile(v, 1)), len(v))
	}
	p("| warm `/ru/` on an open circuit, p50 / p90 / max | %s | %s |\n", q(o.warmTropa), q(o.warmStatic))
	p("| of those, on a kept-alive connection | %d of %d | %d of %d |\n", o.reusedTropa, len(o.warmTropa), o.reusedStatic, len(o.warmStatic))
	p("| `/ru/` on a new circuit (isolated SOCKS user), p50 / p90 / max | %s | %s |\n", q(o.freshTropa), q(o.freshStatic))
	if len(o.errs) > 0 {
		p("\nErrors (%d): %s\n", len(o.errs), strings.ReplaceAll(firstLine(o.errs[0]), "|", "\\|"))
	}
	p("\nWarm fetches alternate between the two onions, on 3 circuits each (an\nisolated SOCKS user per circuit, primed by one fetch); tropa's per-circuit limit\n(120 requests/min, burst 60) is above the %d fetches per circuit.\n\n", max(1, r.cfg.warmFets/3)+1)
}

func memList(v []memKiB) string {
	var out []string
	for _, m := range v {
		out = append(out, m.String())
	}
	return strings.Join(out, "; ")
}
