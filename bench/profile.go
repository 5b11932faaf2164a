package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"tropa/forum"
	"tropa/fund"
	"tropa/internal/store"
	"tropa/keys"
	"tropa/site"
)

// profileMain is `tropa-bench profile`: the wiring of `tropa serve
// --tor=false --http` (same store options, same site, same http.Server)
// in this process, loaded by wrk or the P3 posters while the CPU profiler
// runs. The profiler is what the production binary does not carry.
//
//	tropa-bench profile -scenario p2 -enc gzip -d 10s -o p2.pprof
//	go tool pprof -top p2.pprof
func profileMain(args []string) error {
	fs := flag.NewFlagSet("profile", flag.ExitOnError)
	scenario := fs.String("scenario", "p1", "p1 (info page), p2 (thread page), p3 (replies), p3ask (questions), wrk (wrk on -path)")
	path := fs.String("path", "/ru/", "the page wrk loads (scenario wrk)")
	heapOut := fs.String("heap", "", "also write an in-use heap profile here, after the load")
	enc := fs.String("enc", "identity", "identity or gzip (p1, p2)")
	dur := fs.Duration("d", 10*time.Second, "load duration")
	out := fs.String("o", "cpu.pprof", "CPU profile to write")
	memOut := fs.String("mem", "", "also write an allocation profile here")
	data := fs.String("data", "", "data dir to serve (default: a fresh board like P1-P3 in a temp dir)")
	conns := fs.Int("c", 64, "wrk connections / posters")
	peakOut := fs.String("heap-peak", "", "write the heap profile taken at the highest heap in use seen (sampled every 250 ms from the start)")
	fs.Parse(args)
	if *peakOut != "" {
		stop := watchHeapPeak(*peakOut)
		defer stop()
	}

	tmp, err := os.MkdirTemp("", "tropa-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := &bench{cfg: &config{tmp: tmp, conns: *conns, dur: *dur}, procs: &procSet{}, rep: &report{}, ctx: context.Background()}
	defer b.procs.stopAll()
	dir := *data
	if dir == "" {
		if err := b.ensureBoard(); err != nil {
			return err
		}
		dir = b.boardDir
	}
	_, base, closeFn, err := serveInProcess(dir, *scenario == "p3" || *scenario == "p3ask")
	if err != nil {
		return err
	}
	defer closeFn()
	fmt.Println("serving", base)

	var load func() error
	hdr := []string{}
	if *enc == "gzip" {
		hdr = append(hdr, "Accept-Encoding: gzip")
	}
	pid := os.Getpid()
	switch *scenario {
	case "p1", "p2", "wrk":
		path := *path
		switch *scenario {
		case "p1":
			path = "/ru/hiv"
		case "p2":
			path = fmt.Sprintf("/ru/t/%d", b.thread)
		}
		load = func() error {
			r, err := b.runWrk(base+path, pid, *dur, hdr...)
			fmt.Printf("%s: %.0f req/s p50 %s p99 %s\n", path, r.rps, r.p50, r.p99)
			return err
		}
	case "p3", "p3ask":
		kind := "reply"
		if *scenario == "p3ask" {
			kind = "ask"
		}
		load = func() error {
			r := postLoad(b.ctx, base, kind, *conns, *dur, b.targets, pid)
			fmt.Printf("%s: %d in %s = %.0f/s p50 %s p99 %s errors %d %s\n", kind, r.ok, r.elapsed, r.rate, r.p50, r.p99, r.errs, r.firstErr)
			return nil
		}
	default:
		return errors.New("unknown scenario " + *scenario)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	if *memOut != "" {
		runtime.MemProfileRate = 64 << 10
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	lerr := load()
	pprof.StopCPUProfile()
	if *memOut != "" {
		mf, err := os.Create(*memOut)
		if err != nil {
			return err
		}
		pprof.Lookup("allocs").WriteTo(mf, 0)
		mf.Close()
	}
	if *heapOut != "" {
		runtime.GC()
		hf, err := os.Create(*heapOut)
		if err != nil {
			return err
		}
		pprof.Lookup("heap").WriteTo(hf, 0)
		hf.Close()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("RSS %d MiB, heap in use %d MiB, heap sys %d MiB\n", rssKiB(os.Getpid())>>10, ms.HeapInuse>>20, ms.HeapSys>>20)
	fmt.Println("wrote", *out)
	return lerr
}

// serveInProcess wires dataDir as cmd/tropa/serve.go does and serves it on
// a free loopback port.
func serveInProcess(dataDir string, noCaptcha bool) (*site.Site, string, func(), error) {
	storeDir := filepath.Join(dataDir, "store")
	ring, err := keys.Open(filepath.Join(dataDir, "keys"), nil, dirHasFiles(storeDir))
	if err != nil {
		return nil, "", nil, err
	}
	db, err := store.Open(store.Options{Dir: storeDir, Key: ring.StoreKey()})
	if err != nil {
		return nil, "", nil, err
	}
	fundRepo := store.NewFundRepo(db)
	if _, err := fundRepo.Seed(context.Background(), fund.Examples()); err != nil {
		db.Close()
		return nil, "", nil, err
	}
	forumRepo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		db.Close()
		return nil, "", nil, err
	}
	board := forum.NewService(forumRepo, nil, forum.Options{})
	if err := board.Seed(context.Background()); err != nil {
		return nil, "", nil, err
	}
	s, err := site.New(site.Options{Fund: fundRepo, Forum: board, NoCaptcha: noCaptcha})
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := site.NewServer(s.Handler())
	go srv.Serve(ln)
	closeFn := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		forumRepo.Close()
		db.Close()
	}
	return s, "http://" + ln.Addr().String(), closeFn, nil
}

func dirHasFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// fillMain is `tropa-bench fill -posts N -data DIR`: P4's generator alone.
func fillMain(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	posts := fs.Int("posts", 1_000_000, "posts to write")
	data := fs.String("data", "", "new data dir")
	cpu := fs.String("cpuprofile", "", "CPU profile of the fill")
	fs.Parse(args)
	if *data == "" {
		return errors.New("give -data DIR")
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	sb, err := fillSized(context.Background(), *data, *posts)
	if err != nil {
		return err
	}
	fmt.Printf("filled %d posts in %d threads in %s (%.0f/s), %d MiB\n", sb.posts, len(sb.threads), sb.took, float64(sb.posts)/sb.took.Seconds(), sb.bytes>>20)
	return nil
}

// watchHeapPeak samples the heap every 250 ms and keeps the profile taken
// at the highest HeapInuse in path.
func watchHeapPeak(path string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak {
				peak = ms.HeapInuse
				if f, err := os.Create(path); err == nil {
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
			select {
			case <-done:
				fmt.Printf("heap in use peaked at %d MiB (profile in %s)\n", peak>>20, path)
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
