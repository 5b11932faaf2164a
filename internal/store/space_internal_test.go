package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// On a nearly full disk the Batcher and update refuse every write with
// ErrDiskFull (reads go on), the operator hears it once, and writes are
// accepted again once space is back.
func TestDiskFullRefusesWrites(t *testing.T) {
	var mu sync.Mutex
	var events []bool
	db, err := Open(Options{Dir: t.TempDir(), NoSync: true, MinFree: 100 << 20,
		OnDiskSpace: func(low bool, free, reserve int64) {
			mu.Lock()
			events = append(events, low)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var free atomic.Int64
	free.Store(1 << 30)
	db.space.statfs = func(string) (int64, error) { return free.Load(), nil }
	b := NewBatcher(db, BatchOptions{})
	defer b.Close()
	ctx := context.Background()
	put := func(k string) error {
		return b.Do(ctx, func(tx *Tx) error { tx.Set([]byte("t/"+k), []byte(k)); return nil })
	}
	if err := put("a"); err != nil {
		t.Fatal(err)
	}
	free.Store(99 << 20)
	err = put("b")
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("write on a full disk: %v, want ErrDiskFull", err)
	}
	var df interface{ DiskFull() bool }
	if !errors.As(fmt.Errorf("wrapped: %w", err), &df) || !df.DiskFull() {
		t.Errorf("%v does not say DiskFull() through a wrapper", err)
	}
	if err := db.SetMeta("x", []byte("y")); !errors.Is(err, ErrDiskFull) {
		t.Errorf("SetMeta on a full disk: %v", err)
	}
	if err := put("c"); !errors.Is(err, ErrDiskFull) {
		t.Errorf("second write on a full disk: %v", err)
	}
	// What writes nothing still runs (e.g. seeding a seeded store at start).
	var seen []byte
	if err := b.Do(ctx, func(tx *Tx) error { var err error; seen, err = tx.Get([]byte("t/a")); return err }); err != nil || string(seen) != "a" {
		t.Errorf("a read-only batch function on a full disk: %q %v", seen, err)
	}
	if err := db.update(func(txn *badgerTxn) error { _, err := getValue(txn, []byte("t/a")); return err }); err != nil {
		t.Errorf("a read-only update on a full disk: %v", err)
	}
	if err := db.update(func(txn *badgerTxn) error { return txn.Delete([]byte("t/a")) }); !errors.Is(err, ErrDiskFull) {
		t.Errorf("a delete on a full disk: %v", err)
	}
	// Reads go on.
	if v, err := db.bdbGet("t/a"); err != nil || string(v) != "a" {
		t.Errorf("read on a full disk: %q %v", v, err)
	}
	// Just above the reserve is not enough to resume (no flapping)...
	free.Store(100<<20 + 1)
	if err := put("d"); !errors.Is(err, ErrDiskFull) {
		t.Errorf("write just above the reserve: %v", err)
	}
	// ...freeing space is.
	free.Store(1 << 30)
	if err := put("e"); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
	if v, err := db.bdbGet("t/e"); err != nil || string(v) != "e" {
		t.Errorf("after space was freed: %q %v", v, err)
	}
	if _, err := db.bdbGet("t/b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused write was stored: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(events) != "[true false]" {
		t.Errorf("notifications: %v, want [true false]", events)
	}
}

func (db *DB) bdbGet(k string) ([]byte, error) {
	var v []byte
	err := db.bdb.View(func(txn *badgerTxn) error {
		var err error
		v, err = getValue(txn, []byte(k))
		return err
	})
	return v, err
}

// dirState lists every file of dir with its size and a hash.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s %d %x", d.Name(), len(b), sha256.Sum256(b)))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// A table cut short or with a damaged index is refused with a
// DamagedError naming it, before Badger changes anything (Badger itself
// panics in a goroutine on the first and silently drops the table on the
// second).
func TestDamagedTableRefused(t *testing.T) {
	for _, key := range [][]byte{nil, bytes.Repeat([]byte{7}, 32)} {
		for _, damage := range []string{"truncated", "index flipped"} {
			t.Run(fmt.Sprintf("encrypted=%v/%s", key != nil, damage), func(t *testing.T) {
				dir := t.TempDir()
				db, err := Open(Options{Dir: dir, Key: key, NoSync: true})
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 2000; i++ {
					if err := db.SetMeta(fmt.Sprintf("k%05d", i), bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				// A healthy store passes the check.
				if err := checkTables(dir); err != nil {
					t.Fatalf("healthy store: %v", err)
				}
				ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
				if len(ssts) == 0 {
					t.Fatal("no table written")
				}
				sort.Strings(ssts)
				f := ssts[len(ssts)-1]
				fi, _ := os.Stat(f)
				switch damage {
				case "truncated":
					os.Truncate(f, fi.Size()/2)
				case "index flipped":
					b, _ := os.ReadFile(f)
					b[len(b)-100] ^= 0xFF // inside the index, before the footer
					os.WriteFile(f, b, 0o600)
				}
				before := dirState(t, dir)
				db, err = Open(Options{Dir: dir, Key: key, NoSync: true})
				if err == nil {
					db.Close()
					t.Fatal("a damaged store opened")
				}
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), filepath.Base(f)) {
					t.Errorf("error %q: want ErrDamaged naming %s", err, filepath.Base(f))
				}
				if after := dirState(t, dir); after != before {
					t.Errorf("refusing changed the directory:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
	}
}

type badgerTxn = badger.Txn

// While another process holds Badger's directory lock, its files change
// under us: the check leaves the refusal to Badger.
func TestCheckTablesSkipsLockedStore(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		db.SetMeta(fmt.Sprintf("k%d", i), []byte("v"))
	}
	db.Close()
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("no table")
	}
	os.Truncate(ssts[0], 10)
	if err := checkTables(dir); !errors.Is(err, ErrDamaged) {
		t.Fatalf("unlocked: %v", err)
	}
	d, _ := os.Open(dir)
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file: a second open is refused.
	if err := checkTables(dir); err != nil {
		t.Errorf("locked by another: %v", err)
	}
}
