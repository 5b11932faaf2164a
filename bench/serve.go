package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// startTropa runs `tropa serve --tor=false --http 127.0.0.1:P --data dir`
// plus extra flags and waits until /ru/ answers.
func (b *bench) startTropa(dataDir string, extra ...string) (*proc, string, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", 0, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"serve", "--tor=false", "--http", addr, "--data", dataDir}, extra...)
	t0 := time.Now()
	p, err := b.procs.start("tropa", syscall.SIGTERM, syscall.SIGKILL, nil, b.cfg.tropa, args...)
	if err != nil {
		return nil, "", 0, err
	}
	base := "http://" + addr
	if err := waitHTTP(b.ctx, p, base+"/ru/", 2*time.Minute); err != nil {
		b.procs.stopOne(p)
		return nil, "", 0, err
	}
	return p, base, time.Since(t0), nil
}

// plain is a client that neither decompresses nor follows redirects.
var plain = &http.Client{
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
	Timeout:   30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

type fetched struct {
	status  int
	body    []byte
	header  http.Header
	hdrSize int // bytes of the status line and headers
	took    time.Duration
}

func fetch(url string, gzip bool) (*fetched, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	t0 := time.Now()
	resp, err := plain.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	f := &fetched{status: resp.StatusCode, body: body, header: resp.Header, took: time.Since(t0)}
	f.hdrSize = len(resp.Proto) + 1 + len(resp.Status) + 2 + 2
	for k, vs := range resp.Header {
		for _, v := range vs {
			f.hdrSize += len(k) + 2 + len(v) + 2
		}
	}
	return f, nil
}

// servedPage is a page both servers serve byte for byte.
type servedPage struct {
	label, path string
	raw, gz     []byte
	hdrTropa    int
	hdrNginx    int
	tropa       map[string]series // "identity"/"gzip" → rounds
	nginx       map[string]series
	ratio       map[string][]float64
}

// phaseServe is P1 and P2: an info page and the 100-post thread, tropa vs
// nginx on the same bytes, identity and gzip, alternating, several rounds.
func (b *bench) phaseServe() error {
	if err := b.ensureBoard(); err != nil {
		return err
	}
	tp, base, _, err := b.startTropa(b.boardDir)
	if err != nil {
		return err
	}
	pages := []*servedPage{
		{label: "P1 info page", path: "/ru/hiv"},
		{label: "P2 thread page", path: fmt.Sprintf("/ru/t/%d", b.thread)},
	}
	root := filepath.Join(b.cfg.tmp, "www")
	var headers map[string]string
	for _, pg := range pages {
		raw, err := fetch(base+pg.path, false)
		if err != nil {
			return err
		}
		gz, err := fetch(base+pg.path, true)
		if err != nil {
			return err
		}
		if raw.status != 200 || gz.status != 200 || gz.header.Get("Content-Encoding") != "gzip" {
			return fmt.Errorf("%s: status %d/%d, encoding %q", pg.path, raw.status, gz.status, gz.header.Get("Content-Encoding"))
		}
		pg.raw, pg.gz, pg.hdrTropa = raw.body, gz.body, raw.hdrSize
		headers = copiedHeaders(raw.header)
		if err := writeStatic(root, pg.path, pg.raw, pg.gz); err != nil {
			return err
		}
	}
	b.rep.threadPosts = countPosts(pages[1].raw)
	port, err := freePort()
	if err != nil {
		return err
	}
	ng, err := b.startNginx(filepath.Join(b.cfg.tmp, "nginx"), root, port, headers)
	if err != nil {
		return err
	}
	nbase := "http://127.0.0.1:" + strconv.Itoa(port)
	// Same bytes from both, in both encodings.
	for _, pg := range pages {
		for _, gz := range []bool{false, true} {
			f, err := fetch(nbase+pg.path, gz)
			if err != nil {
				return err
			}
			want := pg.raw
			if gz {
				want = pg.gz
			}
			if f.status != 200 || !bytes.Equal(f.body, want) {
				return fmt.Errorf("nginx does not serve tropa's bytes for %s (gzip %v): status %d, %d vs %d bytes", pg.path, gz, f.status, len(f.body), len(want))
			}
			if !gz {
				pg.hdrNginx = f.hdrSize
			}
		}
		pg.tropa, pg.nginx, pg.ratio = map[string]series{}, map[string]series{}, map[string][]float64{}
	}
	b.rep.nginxHeaders = headers

	encs := []struct {
		name string
		hdr  []string
	}{{"identity", nil}, {"gzip", []string{"Accept-Encoding: gzip"}}}
	for round := 0; round < b.cfg.rounds; round++ {
		for _, pg := range pages {
			for _, enc := range encs {
				order := []string{"tropa", "nginx"}
				if round%2 == 1 {
					order = []string{"nginx", "tropa"}
				}
				for _, who := range order {
					url, pid := base+pg.path, tp.pid()
					if who == "nginx" {
						url, pid = nbase+pg.path, ng.pid()
					}
					res, err := b.runWrk(url, pid, b.cfg.dur, enc.hdr...)
					if err != nil {
						return err
					}
					logf("  %s %-8s %-5s round %d: %8.0f req/s p99 %6s cpu %.2f load %.2f", pg.label, enc.name, who, round+1, res.rps, res.p99.Round(10*time.Microsecond), res.cpu, res.load)
					if who == "nginx" {
						pg.nginx[enc.name] = append(pg.nginx[enc.name], res)
					} else {
						pg.tropa[enc.name] = append(pg.tropa[enc.name], res)
					}
				}
			}
		}
	}
	for _, pg := range pages {
		for _, enc := range encs {
			pg.ratio[enc.name] = ratios(pg.tropa[enc.name], pg.nginx[enc.name])
		}
	}
	b.rep.served = pages
	b.rep.serveRSS = rssKiB(tp.pid())
	b.rep.nginxRSS = treeRSS(ng.pid())
	return nil
}

// ensureBoard fills the board data dir once.
func (b *bench) ensureBoard() error {
	if b.boardDir != "" {
		return nil
	}
	dir := filepath.Join(b.cfg.tmp, "board")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	t0 := time.Now()
	thread, targets, err := fillBoard(dir, 8)
	if err != nil {
		return fmt.Errorf("filling the board: %w", err)
	}
	logf("  board filled in %s: thread %d with 100 posts, %d reply targets", time.Since(t0).Round(time.Millisecond), thread, len(targets))
	b.boardDir, b.thread, b.targets = dir, thread, targets
	return nil
}

var rePostAnchor = regexp.MustCompile(`id="p\d+"`)

// countPosts counts post anchors in a thread page.
func countPosts(page []byte) int { return len(rePostAnchor.FindAll(page, -1)) }
