package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory. With Go's default GC the heap grows to about twice what is live
// before a collection, and what a burst freed is given back to the
// system only slowly; at a million posts that left tropa at 130-150 MiB of
// anonymous memory after a crawl. A soft memory limit (GOMEMLIMIT) would
// cap it, but under write load the live heap (Badger's memtables and
// caches, two 32 MiB receipt hashes, the page cache) is close to any
// limit low enough to matter, and the GC then runs nearly all the time:
// with 100 MiB, durable replies fell from ~9,100/s to ~6,000/s and new
// questions from ~33/s to ~10/s (bench P3, same run; at 160 and 256 MiB
// questions were still at ~18/s). So serve's limit is only a backstop
// against Badger's compactions, whose table builders can take several
// hundred MiB for seconds (memoryLimit; GOMEMLIMIT overrides it), and
// instead, every trimEvery, when more than trimSlack of the heap is
// garbage or freed-but-kept memory, it collects and returns it to the
// system: a busy tropa uses what the burst needs, a quiet one goes back to
// its live size within seconds.
const (
	memoryLimit = 384 << 20
	trimEvery   = 5 * time.Second
	trimSlack   = 16 << 20
)

// limitMemory sets serve's soft memory limit unless GOMEMLIMIT is set.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// trimMemory runs until stop is closed.
func trimMemory(stop <-chan struct{}) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"}, // live and not yet collected
		{Name: "/gc/heap/live:bytes"},                // live at the last GC
		{Name: "/memory/classes/heap/free:bytes"},    // free, not yet returned
	}
	t := time.NewTicker(trimEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(samples)
		var v [3]uint64
		for i, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				v[i] = s.Value.Uint64()
			}
		}
		garbage := uint64(0)
		if v[0] > v[1] {
			garbage = v[0] - v[1]
		}
		if garbage+v[2] > trimSlack {
			debug.FreeOSMemory()
		}
	}
}
