package store

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Resident memory of the table files. Badger v4 reads its tables (the
// .sst files) through memory maps and has no file-I/O mode any more, so
// every page a read touched stays mapped and counts in tropa's resident
// memory until the kernel reclaims it under memory pressure: after a
// crawl of 5,000 threads of a 1 M-post board, 190 of tropa's 330 MiB
// VmRSS were table pages (bench/, P4). They are a cache of the disk, and
// the decoded blocks that matter are in Badger's block cache; but they
// make tropa look, and under a cgroup limit count, several times its size.
// So while an on-disk store is open, a goroutine looks at the process's
// file-backed resident memory every trimEvery and, when it is above
// trimAbove, asks the kernel to page the table mappings out (madvise
// MADV_PAGEOUT). Nothing is lost: a later read of such a page reads it
// from the file again.
//
// Why MADV_PAGEOUT and not MADV_DONTNEED: the ranges come from
// /proc/self/maps, and Badger may unmap a table (after a compaction)
// between that read and the madvise, and the range be reused. PAGEOUT
// only ever reclaims (writing back or swapping out what it must), whatever
// the range then holds; DONTNEED would zero private memory.

const (
	trimEvery = 2 * time.Second
	// trimAbove is the file-backed resident memory (tropa's own binary,
	// ~18 MiB, included) above which the tables are paged out.
	trimAbove   = 40 << 20
	madvPageout = 21 // MADV_PAGEOUT, Linux 5.4
)

// startTrim starts the trimmer for the tables in dir; stop ends it.
func startTrim(dir string) (stop func()) {
	// /proc/self/maps names files by their real, absolute path.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(trimEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if fileResident() > trimAbove {
					if !pageOutTables(dir) {
						return // the kernel does not support it: stop trying
					}
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// fileResident is the process's resident memory backed by files (and
// shared memory), from /proc/self/statm.
func fileResident() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[2], 10, 64)
	return pages * int64(os.Getpagesize())
}

// pageOutTables advises the kernel to page out every mapping of a table
// file of dir. It reports false if the kernel refuses the advice itself.
func pageOutTables(dir string) bool {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return true
	}
	defer f.Close()
	dir = filepath.Clean(dir) + "/"
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		// "start-end perms offset dev inode   path"
		if !bytes.HasSuffix(line, []byte(".sst")) {
			continue
		}
		i := bytes.IndexByte(line, '/')
		if i < 0 || !strings.HasPrefix(string(line[i:]), dir) {
			continue
		}
		rng, _, _ := bytes.Cut(line, []byte(" "))
		lo, hi, ok := bytes.Cut(rng, []byte("-"))
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), madvPageout)
		if errno == syscall.EINVAL {
			return false
		}
	}
	return true
}
