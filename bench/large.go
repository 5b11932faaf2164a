package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// P4: the same pages from a store of ~1 thousand and one of ~1 million
// posts. Pages are cached once rendered, so the store matters for the
// first view of each page (after a start, a write, or the hour turning):
// that is what "cold" measures, one sequential GET per page right after
// tropa starts; "warm" is wrk on a cached page.

type largeSide struct {
	name     string
	board    *sizedBoard
	dir      string
	start    []time.Duration   // start to first 200
	thread   []time.Duration   // cold thread pages (page 1)
	thread2  []time.Duration   // cold thread pages (page 2)
	section  []time.Duration   // cold section pages (page 1)
	lastSect []time.Duration   // cold last page of a section
	deepest  map[string]string // section slug → the query of its last page
	warmSect series
	warmThr  series
	rss      []memKiB // after each round's measurements
	crawl    crawlResult
	settle   settleResult
}

// settleResult is tropa's first start on a freshly filled store: Badger
// compacts what the fill left in level 0, which takes memory for a while.
type settleResult struct {
	took   time.Duration // until tropa's CPU use stayed idle
	peak   memKiB        // highest VmRSS seen meanwhile
	end    memKiB
	passes int     // starts until one found nothing to compact
	cpu    float64 // CPU seconds of the start (after its first answer)
}

type crawlResult struct {
	pages            int
	took             time.Duration
	rssBefore, after memKiB
	rest             memKiB // 10 s after the crawl, nothing asked meanwhile
	p50, p99         time.Duration
	errs             int
}

func (b *bench) phaseLarge() error {
	small := &largeSide{name: fmt.Sprintf("%d posts", b.cfg.small), dir: filepath.Join(b.cfg.tmp, "small")}
	big := &largeSide{name: fmt.Sprintf("%d posts", b.cfg.posts), dir: filepath.Join(b.cfg.tmp, "big")}
	for _, s := range []*largeSide{small, big} {
		n := b.cfg.small
		if s == big {
			n = b.cfg.posts
		}
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return err
		}
		logf("  filling %s (SyncWrites off, group commit, 256 writers)", s.name)
		sb, err := fillSized(b.ctx, s.dir, n)
		if err != nil {
			return fmt.Errorf("fill %s: %w", s.name, err)
		}
		s.board = sb
		logf("  filled %d posts in %d threads in %s (%.0f posts/s), %d MiB on disk", sb.posts, len(sb.threads), sb.took.Round(time.Millisecond),
			float64(sb.posts)/sb.took.Seconds(), sb.bytes>>20)
		if s.deepest, err = deepestPages(b.ctx, s.dir, sb); err != nil {
			return fmt.Errorf("deepest pages of %s: %w", s.name, err)
		}
	}
	b.rep.large = []*largeSide{small, big}
	for _, s := range []*largeSide{small, big} {
		if err := b.settle(s); err != nil {
			return err
		}
	}

	// The sampled threads: the small store's (but its last, cut short),
	// and threads of the same sizes from all over the large store.
	nSmall := len(small.board.threads) - 1
	if nSmall < 1 {
		nSmall = 1
	}
	nSample := min(nSmall, 20)
	r := rand.New(rand.NewPCG(7, 8))
	var smallIdx, bigIdx []int
	for i := 0; i < nSample; i++ {
		smallIdx = append(smallIdx, i)
		k := (len(big.board.threads) - 1 - i) / 99
		bigIdx = append(bigIdx, i+99*r.IntN(max(k, 1)))
	}
	b.rep.sampled = nSample
	dur := min(b.cfg.dur, 3*time.Second)
	for round := 0; round < b.cfg.rounds; round++ {
		order := []*largeSide{small, big}
		if round%2 == 1 {
			order = []*largeSide{big, small}
		}
		for _, s := range order {
			idx := smallIdx
			if s == big {
				idx = bigIdx
			}
			if err := b.largeRound(s, idx, dur); err != nil {
				return err
			}
		}
	}
	// Memory: the page cache filled by a crawl of distinct thread pages.
	for _, s := range []*largeSide{small, big} {
		if err := b.crawlThreads(s, 5000); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) largeRound(s *largeSide, idx []int, dur time.Duration) error {
	tp, base, took, err := b.startTropa(s.dir)
	if err != nil {
		return err
	}
	defer b.procs.stopOne(tp)
	s.start = append(s.start, took)
	get := func(path string) (time.Duration, error) {
		f, err := fetch(base+path, true)
		if err != nil {
			return 0, err
		}
		if f.status != 200 {
			return 0, fmt.Errorf("GET %s: %d", path, f.status)
		}
		return f.took, nil
	}
	firstRU := map[string]time.Duration{} // cold page 1 of each section, in Russian
	for _, lang := range []string{"ru", "en"} {
		for _, i := range idx {
			id := s.board.threads[i]
			d, err := get(fmt.Sprintf("/%s/t/%d", lang, id))
			if err != nil {
				return err
			}
			s.thread = append(s.thread, d)
			if s.board.sizes[i] > 50 {
				d, err := get(fmt.Sprintf("/%s/t/%d?page=2", lang, id))
				if err != nil {
					return err
				}
				s.thread2 = append(s.thread2, d)
			}
		}
		for _, slug := range s.board.sections {
			d, err := get("/" + lang + "/board/" + slug)
			if err != nil {
				return err
			}
			s.section = append(s.section, d)
			if lang == "ru" {
				firstRU[slug] = d
			}
		}
	}
	// The deepest page of each section, at the address its "Older" links
	// lead to (a cursor: a seek in the section's index, like page 1). A
	// section of one page (the small store's) has page 1 as its deepest:
	// its cold fetch above is the sample, not a second, cached one.
	for _, slug := range s.board.sections {
		if s.deepest[slug] == "" {
			s.lastSect = append(s.lastSect, firstRU[slug])
			continue
		}
		d, err := get("/ru/board/" + slug + s.deepest[slug])
		if err != nil {
			return err
		}
		s.lastSect = append(s.lastSect, d)
	}
	ws, err := b.runWrk(base+"/ru/board/"+s.board.sections[0], tp.pid(), dur, "Accept-Encoding: gzip")
	if err != nil {
		return err
	}
	wt, err := b.runWrk(fmt.Sprintf("%s/ru/t/%d", base, s.board.threads[idx[0]]), tp.pid(), dur, "Accept-Encoding: gzip")
	if err != nil {
		return err
	}
	s.warmSect = append(s.warmSect, ws)
	s.warmThr = append(s.warmThr, wt)
	s.rss = append(s.rss, memOf(tp.pid()))
	logf("  %s: start %s, cold thread p50 %s p99 %s, section p50 %s, last section page %s, warm %0.f/%0.f req/s, RSS %s, load %.2f",
		s.name, took.Round(time.Millisecond), quantile(s.thread, .5).Round(10*time.Microsecond), quantile(s.thread, .99).Round(10*time.Microsecond),
		quantile(s.section, .5).Round(10*time.Microsecond), quantile(s.lastSect, .5).Round(10*time.Microsecond), ws.rps, wt.rps, memOf(tp.pid()), load1())
	return nil
}

// crawlThreads fetches up to n distinct thread pages (alternating
// languages) with 8 clients and reads tropa's RSS before and after.
func (b *bench) crawlThreads(s *largeSide, n int) error {
	tp, base, _, err := b.startTropa(s.dir)
	if err != nil {
		return err
	}
	defer b.procs.stopOne(tp)
	var paths []string
	for i, id := range s.board.threads {
		lang := "ru"
		if i%2 == 1 {
			lang = "en"
		}
		paths = append(paths, fmt.Sprintf("/%s/t/%d", lang, id))
		if len(paths) == n {
			break
		}
	}
	cr := crawlResult{rssBefore: memOf(tp.pid())}
	var next atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) || b.ctx.Err() != nil {
					return
				}
				f, err := fetch(base+paths[i], true)
				mu.Lock()
				if err != nil || f.status != 200 {
					cr.errs++
				} else {
					lats = append(lats, f.took)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cr.took = time.Since(t0)
	cr.pages = len(lats)
	cr.after = memOf(tp.pid())
	cr.p50, cr.p99 = quantile(lats, .5), quantile(lats, .99)
	// At rest: what the server keeps once the burst is over.
	select {
	case <-b.ctx.Done():
	case <-time.After(10 * time.Second):
	}
	cr.rest = memOf(tp.pid())
	s.crawl = cr
	logf("  %s: crawled %d thread pages in %s (p50 %s, p99 %s), RSS %s → %s, 10 s later %s", s.name, cr.pages, cr.took.Round(time.Millisecond),
		cr.p50.Round(10*time.Microsecond), cr.p99.Round(10*time.Microsecond), cr.rssBefore, cr.after, cr.rest)
	return nil
}

// settle runs tropa on a freshly filled store until Badger's compaction of
// the fill is over. Each start waits until tropa's CPU has been idle (under
// 5% of a core) for 5 s, at most 90 s; compaction goes on at the next open
// when levels are still over their targets, so starts repeat (at most 4)
// until one uses under a second of CPU in all. The first start's memory is
// reported.
func (b *bench) settle(s *largeSide) error {
	for pass := 0; pass < 4; pass++ {
		r, err := b.settleOnce(s)
		if err != nil {
			return err
		}
		if pass == 0 {
			s.settle = r
		}
		s.settle.passes = pass + 1
		logf("  %s: start %d settled in %s using %.1f s of CPU, RSS peak %s, then %s", s.name, pass+1,
			r.took.Round(100*time.Millisecond), r.cpu, r.peak, r.end)
		if r.cpu < 1 {
			break
		}
	}
	return nil
}

func (b *bench) settleOnce(s *largeSide) (settleResult, error) {
	tp, _, _, err := b.startTropa(s.dir)
	if err != nil {
		return settleResult{}, err
	}
	defer b.procs.stopOne(tp)
	t0 := time.Now()
	var peak memKiB
	last, lastT, idleSince := treeTicks(tp.pid()), time.Now(), time.Now()
	first := last
	for time.Since(t0) < 90*time.Second {
		time.Sleep(200 * time.Millisecond)
		if m := memOf(tp.pid()); m.rss > peak.rss {
			peak = m
		}
		if time.Since(lastT) >= time.Second {
			t := treeTicks(tp.pid())
			if t-last > 5 { // more than 5% of a core
				idleSince = time.Now()
			}
			last, lastT = t, time.Now()
		}
		if time.Since(idleSince) >= 5*time.Second {
			break
		}
	}
	return settleResult{took: time.Since(t0), peak: peak, end: memOf(tp.pid()), cpu: float64(treeTicks(tp.pid())-first) / clockTicks}, nil
}

// deepestPages finds the address of the last page of each section of a
// filled store. Section pages are addressed by cursors sealed with a key of
// the store's own, so the bench asks the store's forum service, once,
// before tropa runs on it (walking each section's index to its end).
func deepestPages(ctx context.Context, dir string, sb *sizedBoard) (map[string]string, error) {
	b, err := openBoard(dir, true, 0)
	if err != nil {
		return nil, err
	}
	defer b.close()
	out := map[string]string{}
	for _, slug := range sb.sections {
		sp, err := b.svc.SectionPage(ctx, slug, 1)
		if err != nil {
			return nil, err
		}
		if sp.Pages > 1 {
			c, err := b.svc.SectionCursor(ctx, slug, sp.Pages)
			if err != nil {
				return nil, err
			}
			out[slug] = "?older=" + c
		}
	}
	return out, nil
}
