package store

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// Disk space. Badger writes its write-ahead log (the memtable's .mem file)
// and every new table through memory maps of files it creates sparse. On
// a full disk the kernel answers a write into such a map with SIGBUS, and
// since those writes happen in Badger's own goroutines the process dies
// with a stack trace, the visitor gets no answer, and the next start
// replays the log. So the store refuses writes while the file system
// holding it has less than a reserve free: what is stored stays, reads go
// on, writes are refused with ErrDiskFull (the site answers "cannot save
// now"), and Badger still has room for what it writes by itself: flushing
// the memtables into tables, the compactions that follow, and the flush at
// Close. Once space is freed, writes are accepted again.
//
// The check is one statfs per write transaction (a batch of posts), about
// a microsecond.

// ErrDiskFull is matched (errors.Is) by every DiskFullError.
var ErrDiskFull = errors.New("store: the disk is full")

// DiskFullError is a write refused because the disk is (nearly) full.
type DiskFullError struct {
	Dir           string
	Free, Reserve int64 // bytes
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("store: write refused: %s free on the disk of %s, %s kept in reserve", mib(e.Free), e.Dir, mib(e.Reserve))
}

func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// DiskFull lets packages that do not import the store (the site) recognise
// the error through an interface.
func (e *DiskFullError) DiskFull() bool { return true }

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// DefaultReserve is the free space below which writes are refused, for a
// store with memtables of memtable bytes: the memtables still to be
// flushed into tables (each becomes a table of about its size before its
// log is deleted) and a compaction of level 0 into level 1 (which writes
// its new tables before it deletes the old ones), with room to spare.
func DefaultReserve(memtable int64) int64 {
	return max(64<<20, 12*memtable)
}

// spaceGuard watches the free space of one directory's file system.
type spaceGuard struct {
	dir     string
	reserve int64
	// resume is the free space at which writes are accepted again after
	// a refusal: a little above the reserve, so that a disk hovering at
	// the limit does not flip (and notify) at every post.
	resume int64
	notify func(low bool, free, reserve int64)
	statfs func(dir string) (int64, error)

	mu  sync.Mutex
	low bool
}

func newSpaceGuard(dir string, reserve int64, notify func(low bool, free, reserve int64)) *spaceGuard {
	return &spaceGuard{dir: dir, reserve: reserve, resume: reserve + min(reserve/8, 8<<20), notify: notify, statfs: freeSpace}
}

// freeSpace is the space an unprivileged user may still write in dir's
// file system.
func freeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// check returns a *DiskFullError when a write must be refused. It is safe
// for concurrent use; a nil guard (an in-memory store) never refuses.
func (g *spaceGuard) check() error {
	if g == nil {
		return nil
	}
	free, err := g.statfs(g.dir)
	if err != nil {
		// Cannot tell: let the write try (Badger reports real errors).
		return nil
	}
	g.mu.Lock()
	was := g.low
	switch {
	case !g.low && free < g.reserve:
		g.low = true
	case g.low && free >= g.resume:
		g.low = false
	}
	low := g.low
	if low != was && g.notify != nil {
		g.notify(low, free, g.reserve)
	}
	g.mu.Unlock()
	if low {
		return &DiskFullError{Dir: g.dir, Free: free, Reserve: g.reserve}
	}
	return nil
}

// checkSpace refuses a write when the disk is nearly full (see above).
func (db *DB) checkSpace() error { return db.space.check() }
