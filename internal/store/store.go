// Package store owns tropa's Badger database: opening it encrypted at rest,
// durable writes and the key schema. It is the only importer of Badger.
//
// It must never store anything about a request beyond the content a visitor
// or staff member chose to post: no addresses, circuit IDs, user agents or
// exact times of anonymous posts.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// DB is an open store.
type DB struct {
	bdb      *badger.DB
	space    *spaceGuard // nil in memory
	stopTrim func()      // rss_linux.go
}

// Options for Open.
type Options struct {
	// Dir is the directory of the database files. Empty means in memory
	// (tests only).
	Dir string
	// Key is the AES key (16, 24 or 32 bytes) the files are encrypted with.
	// Nil means no encryption (tests only).
	Key []byte
	// SyncWrites makes every commit durable before it returns (default true
	// through Open's callers; tests may turn it off).
	NoSync bool
	// MinFree is the free disk space below which writes are refused with
	// ErrDiskFull (space.go). Zero means DefaultReserve; negative turns
	// the check off.
	MinFree int64
	// OnDiskSpace, if set, is called when writes start being refused for
	// lack of disk space (low) and when they are accepted again, with the
	// free space and the reserve in bytes.
	OnDiskSpace func(low bool, free, reserve int64)
}

// memTableSize is the size of Badger's memtables (see Open).
const memTableSize = 8 << 20

// DefaultMinFree is the free disk space below which a store opened with
// Options.MinFree zero refuses writes (space.go).
func DefaultMinFree() int64 { return DefaultReserve(memTableSize) }

// Open opens (or creates) the store. The directory is created 0700.
func Open(o Options) (*DB, error) {
	var bo badger.Options
	if o.Dir == "" {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", o.Dir, err)
		}
		if err := os.Chmod(o.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: chmod %s: %w", o.Dir, err)
		}
		bo = badger.DefaultOptions(filepath.Clean(o.Dir))
	}
	bo = bo.WithLogger(nil).
		WithSyncWrites(!o.NoSync).
		// A small server: keep memory modest. Badger needs a non-zero
		// block and index cache when encryption is on. A memtable's
		// arena is allocated whole, and flushing one builds its table in
		// memory (several times its size); 8 MiB memtables and an 8 MiB
		// block cache keep tropa near 140 MiB resident with a million
		// posts (bench/, P4); 8 MiB is also the least that keeps
		// Badger's batch limit (15%) above its 1 MiB value threshold.
		WithMemTableSize(memTableSize).
		WithNumMemtables(3).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(8 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2).
		// Compactions build their new tables in memory, up to 8 plus
		// one per key range at once, each in an allocator of twice the
		// table size that Badger's pool keeps for a while. Flattening a
		// 1 M-post store (what the first GC after a bulk import does)
		// under serve's 100 MiB memory limit: with Badger's default
		// tables (2 MiB, doubling per level) VmRSS peaked at 636 MiB and
		// stayed at 454; with 1 MiB tables on every level, 316 and 111
		// (about 650 table files for a 600 MiB store).
		WithBaseTableSize(1 << 20)
	bo.TableSizeMultiplier = 1
	if o.Key != nil {
		bo = bo.WithEncryptionKey(o.Key)
	} else {
		// Unencrypted stores exist for tests and audits that search the
		// files for text that must (or must no longer) be there: without
		// compression a text is always one run of bytes in the files.
		bo = bo.WithCompression(options.None)
	}
	if o.Dir != "" {
		// Refuse a damaged table before Badger opens the store (damage.go).
		if err := checkTables(bo.Dir); err != nil {
			return nil, err
		}
	}
	bdb, err := openBadger(bo)
	if err != nil {
		var de *DamagedError
		if errors.As(err, &de) {
			return nil, err
		}
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db := &DB{bdb: bdb}
	if o.Dir != "" && o.MinFree >= 0 {
		reserve := o.MinFree
		if reserve == 0 {
			reserve = DefaultReserve(bo.MemTableSize)
		}
		db.space = newSpaceGuard(bo.Dir, reserve, o.OnDiskSpace)
	}
	if o.Dir != "" {
		db.stopTrim = startTrim(bo.Dir)
	}
	return db, nil
}

// update runs a read-write transaction. Badger refuses writes for a moment
// while the garbage collector flushes its memtable (ErrBlockedWrites); the
// transaction is retried for up to two seconds rather than failing a
// visitor's request. On a nearly full disk it is refused (space.go).
func (db *DB) update(fn func(txn *badger.Txn) error) error {
	if full := db.checkSpace(); full != nil {
		// A function that writes nothing still runs; one that writes is
		// refused (Badger refuses Set in a read-only transaction).
		err := db.bdb.View(fn)
		if errors.Is(err, badger.ErrReadOnlyTxn) {
			return full
		}
		return err
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := db.bdb.Update(fn)
		if !errors.Is(err, badger.ErrBlockedWrites) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close flushes and closes the store.
func (db *DB) Close() error {
	if db == nil || db.bdb == nil {
		return nil
	}
	if db.stopTrim != nil {
		db.stopTrim()
		db.stopTrim = nil
	}
	return db.bdb.Close()
}

// Badger gives sibling files of this package the underlying handle.
func (db *DB) badger() *badger.DB { return db.bdb }

// getValue reads one value, copied out of the transaction.
func getValue(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// GetMeta returns a small metadata value stored under name.
func (db *DB) GetMeta(name string) ([]byte, error) {
	var v []byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		var err error
		v, err = getValue(txn, metaKey(name))
		return err
	})
	return v, err
}

// SetMeta stores a small metadata value under name, durably.
func (db *DB) SetMeta(name string, value []byte) error {
	return db.update(func(txn *badger.Txn) error {
		return txn.Set(metaKey(name), value)
	})
}
