package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Garbage collection: making deleted records leave the disk.
//
// A deleted record is only a tombstone at first: its text stays in the
// memtable's write-ahead log (a .mem file), in the SST files of the LSM
// tree and, for values over Badger's value threshold, in the value log,
// until Badger rewrites those files. Badger does that by itself only when
// a memtable fills (16 MiB of writes, which a small board may take months
// to make) and when its levels outgrow their targets. So the collector
// forces each step: it flushes the memtable (Badger's DropPrefix is the
// only running operation that does: we drop a marker key written for the
// purpose), which also compacts level 0 into the levels below, where a
// tombstone meets the value it hides and both are dropped; flattens the
// tree so no level below still holds an older version; and runs the
// value-log GC until it has nothing left to reclaim.

// GCStats says what one collection did.
type GCStats struct {
	Started  time.Time
	Duration time.Duration
	// VlogRewrites counts value-log files rewritten.
	VlogRewrites int
	// SizeBefore and SizeAfter are the LSM tree's plus the value log's
	// bytes on disk.
	SizeBefore, SizeAfter int64
}

// CollectGarbage flushes, compacts and runs the value-log GC (see above).
// Writes to the store are refused (ErrBlockedWrites) while the memtable
// is flushed, a few milliseconds on a small store: the forum's writes are
// held back instead when it runs through ForumRepo.CollectGarbage.
func (db *DB) CollectGarbage() (st GCStats, err error) {
	st.Started = time.Now()
	if db.bdb.Opts().InMemory {
		return st, nil
	}
	st.SizeBefore = db.diskSize()
	defer func() {
		st.SizeAfter = db.diskSize()
		st.Duration = time.Since(st.Started)
	}()
	if err := db.flush(); err != nil {
		return st, err
	}
	if err := db.bdb.Flatten(2); err != nil {
		return st, fmt.Errorf("store: flatten: %w", err)
	}
	n, err := db.valueLogGC()
	st.VlogRewrites = n
	return st, err
}

// diskSize adds up the disk space of the store's files (Badger's own Size
// is refreshed only once a minute).
func (db *DB) diskSize() int64 {
	var n int64
	for _, dir := range []string{db.bdb.Opts().Dir, db.bdb.Opts().ValueDir} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
				// Blocks in use: Badger preallocates its logs sparsely.
				if st, ok := fi.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += fi.Size()
				}
			}
		}
		if db.bdb.Opts().ValueDir == db.bdb.Opts().Dir {
			break
		}
	}
	return n
}

// flush writes the marker and drops it, which flushes every memtable to
// level 0 and compacts level 0 into the tree.
func (db *DB) flush() error {
	if err := db.bdb.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyFlushMarker), []byte{recV1})
	}); err != nil {
		return fmt.Errorf("store: gc marker: %w", err)
	}
	// A read that starts after every delete and ends at once lets Badger
	// discard the versions those deletes hid (its discard point is the
	// oldest read still running).
	_ = db.bdb.View(func(*badger.Txn) error { return nil })
	if err := db.bdb.DropPrefix([]byte(keyFlushMarker)); err != nil {
		return fmt.Errorf("store: flush: %w", err)
	}
	return nil
}

// valueLogGC runs Badger's value-log GC until it finds nothing to rewrite.
func (db *DB) valueLogGC() (int, error) {
	n := 0
	for {
		err := db.bdb.RunValueLogGC(0.5)
		switch {
		case err == nil:
			n++
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return n, nil
		default:
			return n, fmt.Errorf("store: value-log gc: %w", err)
		}
	}
}

// CollectGarbage runs db.CollectGarbage inside the forum's committer, so
// visitors' posts wait for it instead of being refused while the memtable
// is flushed. Use it rather than DB.CollectGarbage while the forum runs.
func (r *ForumRepo) CollectGarbage(ctx context.Context) (GCStats, error) {
	var st GCStats
	var gcErr error
	// A commit first, so the deletes before it are older than the
	// committer's own transaction and can be discarded.
	if err := r.b.Do(ctx, func(tx *Tx) error { tx.Set([]byte(keyFlushMarker), []byte{recV1}); return nil }); err != nil {
		return st, err
	}
	err := r.b.Do(ctx, func(tx *Tx) error {
		st, gcErr = r.db.CollectGarbage()
		return nil
	})
	if err != nil {
		return st, err
	}
	return st, gcErr
}
