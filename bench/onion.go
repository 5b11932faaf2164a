package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tropa/internal/tornet"
)

// The onion phase: a private Tor network on 127.0.0.1 (internal/tornet),
// then tropa publishing its onion, then a bare tor publishing a static
// onion (HiddenServiceDir + nginx serving tropa's home page bytes), each
// timed from exec to the first page fetched through the network's client;
// then warm fetches on an open circuit, alternating the two onions, and a
// few fetches each on a new circuit.

type onionResult struct {
	netUp                     time.Duration
	tropaPublished            time.Duration // exec → "public onion:" line
	tropaFirst, staticFirst   time.Duration // exec → first 200 through Tor
	staticHostname            time.Duration
	warmTropa, warmStatic     []time.Duration
	freshTropa, freshStatic   []time.Duration
	reusedTropa, reusedStatic int // warm fetches on a kept-alive connection
	errs                      []string
	load                      float64
}

var onionLine = regexp.MustCompile(`^public onion: http://([a-z2-7]{56})\.onion$`)

func (b *bench) phaseOnion() error {
	ctx, cancel := context.WithTimeout(b.ctx, 6*time.Minute)
	defer cancel()
	res := &onionResult{load: load1()}
	b.rep.onion = res
	dir := filepath.Join(b.cfg.tmp, "onion")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	t0 := time.Now()
	n, err := tornet.Start(ctx, tornet.Options{Dir: filepath.Join(dir, "net")})
	if err != nil {
		return fmt.Errorf("private Tor network: %w", err)
	}
	defer n.Close()
	res.netUp = time.Since(t0)
	logf("  private Tor network up in %s", res.netUp.Round(time.Millisecond))
	svcTorrc := filepath.Join(dir, "service.torrc")
	if err := n.WriteServiceTorrc(svcTorrc); err != nil {
		return err
	}

	// tropa, first start on a fresh data dir (keys made, board seeded).
	port, err := freePort()
	if err != nil {
		return err
	}
	local := "http://127.0.0.1:" + strconv.Itoa(port)
	t1 := time.Now()
	tp, err := b.procs.start("tropa", syscall.SIGTERM, syscall.SIGKILL, nil, b.cfg.tropa,
		"serve", "--data", filepath.Join(dir, "tropa-data"), "--torrc", svcTorrc, "--http", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	m, err := tp.waitLine(onionLine, 3*time.Minute)
	if err != nil {
		return err
	}
	res.tropaPublished = time.Since(t1)
	tropaURL := "http://" + m[1] + ".onion/ru/"
	if err := getOnion(ctx, n, tropaURL); err != nil {
		return fmt.Errorf("tropa's onion: %w", err)
	}
	res.tropaFirst = time.Since(t1)
	logf("  tropa: onion line after %s, first fetch through Tor after %s", res.tropaPublished.Round(time.Millisecond), res.tropaFirst.Round(time.Millisecond))

	// The static onion serves tropa's home page bytes with nginx.
	raw, err := fetch(local+"/ru/", false)
	if err != nil {
		return err
	}
	gz, err := fetch(local+"/ru/", true)
	if err != nil {
		return err
	}
	root := filepath.Join(b.cfg.tmp, "www-onion") // readable by nginx's worker (dir is 0700)
	if err := writeStatic(root, "/ru/", raw.body, gz.body); err != nil {
		return err
	}
	nport, err := freePort()
	if err != nil {
		return err
	}
	if _, err := b.startNginx(filepath.Join(dir, "nginx"), root, nport, copiedHeaders(raw.header)); err != nil {
		return err
	}
	torBin, err := lookPath("tor")
	if err != nil {
		return err
	}
	sdir := filepath.Join(dir, "static-tor")
	hs := filepath.Join(sdir, "hs")
	if err := os.MkdirAll(hs, 0o700); err != nil {
		return err
	}
	os.MkdirAll(filepath.Join(sdir, "data"), 0o700)
	empty := filepath.Join(sdir, "empty.torrc")
	os.WriteFile(empty, nil, 0o600)
	torrc := fmt.Sprintf("DataDirectory %s\nSocksPort 0\nLog notice file %s\nHiddenServiceDir %s\nHiddenServicePort 80 127.0.0.1:%d\n%%include %s\n",
		filepath.Join(sdir, "data"), filepath.Join(sdir, "notice.log"), hs, nport, svcTorrc)
	if err := os.WriteFile(filepath.Join(sdir, "torrc"), []byte(torrc), 0o600); err != nil {
		return err
	}
	t2 := time.Now()
	if _, err := b.procs.start("tor (static onion)", syscall.SIGTERM, syscall.SIGKILL, nil, torBin,
		"--defaults-torrc", empty, "-f", filepath.Join(sdir, "torrc"), "--__OwningControllerProcess", strconv.Itoa(os.Getpid())); err != nil {
		return err
	}
	var host string
	for host == "" {
		if b, err := os.ReadFile(filepath.Join(hs, "hostname")); err == nil {
			host = strings.TrimSpace(string(b))
		} else if time.Since(t2) > 2*time.Minute {
			return fmt.Errorf("static onion: no hostname after 2 min")
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	res.staticHostname = time.Since(t2)
	staticURL := "http://" + host + "/ru/"
	if err := getOnion(ctx, n, staticURL); err != nil {
		return fmt.Errorf("static onion: %w", err)
	}
	res.staticFirst = time.Since(t2)
	logf("  static onion: first fetch through Tor after %s", res.staticFirst.Round(time.Millisecond))

	// Warm: fetches on open circuits, alternating between the onions, on
	// 3 circuits per onion (isolated SOCKS users, one primed fetch each
	// first) so that one unlucky path does not decide.
	per := max(1, b.cfg.warmFets/3)
	for k := 0; k < 3 && ctx.Err() == nil; k++ {
		cl := n.IsolatedClient(fmt.Sprintf("bench-warm-%d", k))
		for _, u := range []string{tropaURL, staticURL} {
			if _, err := timedGet(ctx, cl, u); err != nil {
				res.errs = append(res.errs, err.Error())
			}
		}
		for i := 0; i < per && ctx.Err() == nil; i++ {
			order := []string{tropaURL, staticURL}
			if i%2 == 1 {
				order = []string{staticURL, tropaURL}
			}
			for _, u := range order {
				d, reused, err := timedGetReused(ctx, cl, u)
				if err != nil {
					res.errs = append(res.errs, err.Error())
					continue
				}
				if u == tropaURL {
					res.warmTropa = append(res.warmTropa, d)
					if reused {
						res.reusedTropa++
					}
				} else {
					res.warmStatic = append(res.warmStatic, d)
					if reused {
						res.reusedStatic++
					}
				}
			}
		}
	}
	// New circuits: an isolated client (its own SOCKS credentials) per fetch.
	for i := 0; i < 5 && ctx.Err() == nil; i++ {
		for _, u := range []string{tropaURL, staticURL} {
			d, err := timedGet(ctx, n.IsolatedClient(fmt.Sprintf("bench-%d-%d", i, len(u))), u)
			if err != nil {
				res.errs = append(res.errs, err.Error())
				continue
			}
			if u == tropaURL {
				res.freshTropa = append(res.freshTropa, d)
			} else {
				res.freshStatic = append(res.freshStatic, d)
			}
		}
	}
	logf("  warm p50 tropa %s static %s (kept-alive connections %d/%d and %d/%d); new circuit p50 tropa %s static %s; %d errors",
		quantile(res.warmTropa, .5).Round(time.Millisecond), quantile(res.warmStatic, .5).Round(time.Millisecond),
		res.reusedTropa, len(res.warmTropa), res.reusedStatic, len(res.warmStatic),
		quantile(res.freshTropa, .5).Round(time.Millisecond), quantile(res.freshStatic, .5).Round(time.Millisecond), len(res.errs))
	return nil
}

// getOnion fetches url through the network (retrying while the descriptor
// spreads) and wants a 200.
func getOnion(ctx context.Context, n *tornet.Network, url string) error {
	resp, err := n.Get(ctx, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return nil
}

// timedGet is one GET read to the end, bounded by 60 s.
func timedGet(ctx context.Context, cl *http.Client, url string) (time.Duration, error) {
	d, _, err := timedGetReused(ctx, cl, url)
	return d, err
}

// timedGetReused also tells whether the request went on a kept-alive
// connection (a new one costs a stream set-up through the circuit).
func timedGetReused(ctx context.Context, cl *http.Client, url string) (time.Duration, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var reused bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, err
	}
	t0 := time.Now()
	resp, err := cl.Do(req)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return time.Since(t0), reused, err
}
