package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tropa/forum"
)

// P3: durable writes through the HTTP form handlers, captcha off, as 64
// posters would do them: GET the form (session cookie + CSRF token), then
// POST in a loop, counting the 303s.

type postResult struct {
	kind       string
	posters    int
	ok         int // 303s
	other      map[int]int
	errs       int
	firstErr   string
	elapsed    time.Duration
	p50, p99   time.Duration
	load       float64
	cpu        float64 // cores tropa used
	rate       float64
	stored     int  // what the store holds afterwards
	verified   bool // stored == ok
	rssKiB     int
	maxLatency time.Duration
}

var reCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// postClient keeps up to 128 connections to tropa and never follows
// redirects.
func postClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true},
		Timeout:   60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// openForm GETs a form page and returns its session cookie and token.
func openForm(cl *http.Client, url string, cookie *http.Cookie) (*http.Cookie, string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != 200 {
		return nil, "", fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "tropa_s" {
			cookie = c
		}
	}
	m := reCSRF.FindSubmatch(b)
	if cookie == nil || m == nil {
		return nil, "", fmt.Errorf("GET %s: no session cookie or CSRF token", url)
	}
	return cookie, string(m[1]), nil
}

// postLoad runs posters for dur. kind "reply" posts replies into targets
// from one session each; kind "ask" files new questions, each from a new
// session (a new visitor: each costs one receipt hash).
func postLoad(ctx context.Context, base, kind string, posters int, dur time.Duration, targets []uint64, serverPID int) postResult {
	res := postResult{kind: kind, posters: posters, other: map[int]int{}, load: load1()}
	cl := postClient()
	var mu sync.Mutex
	var lats []time.Duration
	var ok, errs atomic.Int64
	record := func(status int, lat time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs.Add(1)
			if res.firstErr == "" {
				res.firstErr = err.Error()
			}
			return
		}
		if status == http.StatusSeeOther {
			ok.Add(1)
			lats = append(lats, lat)
		} else {
			res.other[status]++
		}
	}
	bodies := make([]string, 256)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range bodies {
		bodies[i] = body(r)
	}
	post := func(path string, cookie *http.Cookie, form url.Values) (int, time.Duration, string, error) {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		t0 := time.Now()
		resp, err := cl.Do(req)
		if err != nil {
			return 0, 0, "", err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0), resp.Header.Get("Location"), nil
	}

	// Each poster opens its form first; the clock starts once all are
	// ready.
	type poster struct {
		cookie *http.Cookie
		csrf   string
		target uint64
	}
	ps := make([]*poster, posters)
	if kind == "reply" {
		for i := range ps {
			tgt := targets[i%len(targets)]
			c, tok, err := openForm(cl, fmt.Sprintf("%s/ru/t/%d/reply", base, tgt), nil)
			if err != nil {
				res.errs++
				res.firstErr = err.Error()
				return res
			}
			ps[i] = &poster{c, tok, tgt}
		}
	}
	cpu0 := treeTicks(serverPID)
	start := time.Now()
	stop := start.Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < posters; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := 0; time.Now().Before(stop) && ctx.Err() == nil; n++ {
				b := bodies[(i*97+n)%len(bodies)]
				if kind == "reply" {
					p := ps[i]
					st, lat, _, err := post(fmt.Sprintf("/ru/t/%d/reply", p.target), p.cookie, url.Values{"csrf": {p.csrf}, "body": {b}})
					record(st, lat, err)
					continue
				}
				c, tok, err := openForm(cl, base+"/ru/ask", nil)
				if err != nil {
					record(0, 0, err)
					continue
				}
				st, lat, loc, err := post("/ru/ask", c, url.Values{"csrf": {tok}, "section": {"hiv"}, "visibility": {"public"},
					"title": {fmt.Sprintf("Вопрос посетителя %d-%d о тесте", i, n)}, "body": {b}})
				if err == nil && st == http.StatusSeeOther && loc != "/ru/receipt" {
					err = errors.New("ask redirected to " + loc)
				}
				record(st, lat, err)
			}
		}(i)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = float64(treeTicks(serverPID)-cpu0) / clockTicks / res.elapsed.Seconds()
	res.ok, res.errs = int(ok.Load()), res.errs+int(errs.Load())
	res.rate = float64(res.ok) / res.elapsed.Seconds()
	res.p50, res.p99, res.maxLatency = quantile(lats, 0.5), quantile(lats, 0.99), quantile(lats, 1)
	return res
}

// phasePost is P3: replies and new questions per second with SyncWrites on.
func (b *bench) phasePost() error {
	if err := b.ensureBoard(); err != nil {
		return err
	}
	before, sections0, err := b.countStored()
	if err != nil {
		return err
	}
	tp, base, _, err := b.startTropa(b.boardDir, "--captcha=false")
	if err != nil {
		return err
	}
	rep := postLoad(b.ctx, base, "reply", 64, b.cfg.postDur, b.targets, tp.pid())
	logf("  replies: %d in %s = %.0f/s, p50 %s p99 %s, other %v, errors %d %s", rep.ok, rep.elapsed.Round(time.Millisecond), rep.rate, rep.p50, rep.p99, rep.other, rep.errs, rep.firstErr)
	askDur := min(b.cfg.postDur, 10*time.Second)
	ask := postLoad(b.ctx, base, "ask", 64, askDur, nil, tp.pid())
	logf("  questions: %d in %s = %.1f/s, p50 %s p99 %s, other %v, errors %d %s", ask.ok, ask.elapsed.Round(time.Millisecond), ask.rate, ask.p50, ask.p99, ask.other, ask.errs, ask.firstErr)
	ask4 := postLoad(b.ctx, base, "ask", 4, askDur/2, nil, tp.pid())
	logf("  questions (4 posters): %d = %.1f/s, p50 %s p99 %s", ask4.ok, ask4.rate, ask4.p50, ask4.p99)
	rep.rssKiB = rssKiB(tp.pid())
	b.procs.stopOne(tp)
	after, sections1, err := b.countStored()
	if err != nil {
		return err
	}
	rep.stored = after - before
	rep.verified = rep.stored == rep.ok
	ask.stored = sections1 - sections0
	ask.verified = ask.stored == ask.ok+ask4.ok
	b.rep.posting = []postResult{rep, ask, ask4}
	b.rep.targets = len(b.targets)
	if !rep.verified {
		return fmt.Errorf("P3: %d replies answered 303 but the store holds %d more", rep.ok, rep.stored)
	}
	return nil
}

// countStored returns the posts in P3's target threads and the public
// threads of the hiv section.
func (b *bench) countStored() (posts, threads int, err error) {
	bd, err := openBoard(b.boardDir, false, 0)
	if err != nil {
		return 0, 0, err
	}
	defer bd.close()
	for _, id := range b.targets {
		t, err := bd.repo.Thread(context.Background(), forum.ThreadID(id))
		if err != nil {
			return 0, 0, err
		}
		posts += t.Posts
	}
	s, err := bd.repo.SectionBySlug(context.Background(), "hiv")
	if err != nil {
		return 0, 0, err
	}
	return posts, s.Threads, nil
}
