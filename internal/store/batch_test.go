package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/internal/store"
)

func mustOpenDB(tb testing.TB, o store.Options) *store.DB {
	tb.Helper()
	db, err := store.Open(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustBatcher(tb testing.TB, db *store.DB, o store.BatchOptions) *store.Batcher {
	tb.Helper()
	b := store.NewBatcher(db, o)
	tb.Cleanup(func() { b.Close() })
	return b
}

func get(tb testing.TB, db *store.DB, key string) []byte {
	tb.Helper()
	var v []byte
	found := false
	db.ForEach([]byte(key), func(k, val []byte) error {
		if string(k) == key {
			v, found = val, true
		}
		return nil
	})
	if !found {
		return nil
	}
	return v
}

// A refused write leaves nothing behind and does not fail the others in its
// batch.
func TestBatcherIsolation(t *testing.T) {
	db := mustOpenDB(t, store.Options{NoSync: true})
	b := mustBatcher(t, db, store.BatchOptions{})
	refuse := errors.New("refused")
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = b.Do(context.Background(), func(tx *store.Tx) error {
				tx.Set([]byte(fmt.Sprintf("t/%03d", i)), []byte("v"))
				if i%3 == 0 {
					return refuse
				}
				tx.Delete([]byte(fmt.Sprintf("t/%03d", i)))
				tx.Set([]byte(fmt.Sprintf("t/%03d", i)), []byte("ok"))
				// Own writes are visible to the function itself.
				if v, err := tx.Get([]byte(fmt.Sprintf("t/%03d", i))); err != nil || string(v) != "ok" {
					return fmt.Errorf("own write not visible: %q %v", v, err)
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		v := get(t, db, fmt.Sprintf("t/%03d", i))
		if i%3 == 0 {
			if !errors.Is(err, refuse) || v != nil {
				t.Fatalf("%d: err %v, value %q", i, err, v)
			}
		} else if err != nil || string(v) != "ok" {
			t.Fatalf("%d: err %v, value %q", i, err, v)
		}
	}
}

// Functions in a batch run in turn, each seeing the ones before: a
// read-modify-write counter never loses an increment.
func TestBatcherSerial(t *testing.T) {
	db := mustOpenDB(t, store.Options{NoSync: true})
	b := mustBatcher(t, db, store.BatchOptions{})
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				err := b.Do(context.Background(), func(tx *store.Tx) error {
					var n uint64
					if v, err := tx.Get([]byte("ctr")); err == nil {
						n = binary.BigEndian.Uint64(v)
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					tx.Set([]byte("ctr"), binary.BigEndian.AppendUint64(nil, n+1))
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := binary.BigEndian.Uint64(get(t, db, "ctr")); n != 64*50 {
		t.Fatalf("counter = %d", n)
	}
}

// Batches bigger than a Badger transaction are split; a single write too
// big for any transaction fails alone.
func TestBatcherTooBig(t *testing.T) {
	db := mustOpenDB(t, store.Options{NoSync: true})
	b := mustBatcher(t, db, store.BatchOptions{})
	val := bytes.Repeat([]byte("x"), 100<<10) // 100 KiB: ~24 fit in a 2.4 MB txn
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = b.Do(context.Background(), func(tx *store.Tx) error {
				if i == 50 { // 40 MB in one write: never fits
					for j := 0; j < 400; j++ {
						tx.Set([]byte(fmt.Sprintf("huge/%03d", j)), val)
					}
					return nil
				}
				tx.Set([]byte(fmt.Sprintf("big/%03d", i)), val)
				return nil
			})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if i == 50 {
			if !errors.Is(err, badger.ErrTxnTooBig) {
				t.Fatalf("huge write: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if v := get(t, db, fmt.Sprintf("big/%03d", i)); len(v) != len(val) {
			t.Fatalf("%d: value of %d bytes", i, len(v))
		}
	}
	if get(t, db, "huge/000") != nil {
		t.Fatal("part of the huge write landed")
	}
}

// A write outside the Batcher that conflicts with a batch makes the
// Batcher run the batch's functions again, alone.
func TestBatcherConflict(t *testing.T) {
	db := mustOpenDB(t, store.Options{NoSync: true})
	b := mustBatcher(t, db, store.BatchOptions{})
	var runs atomic.Int32
	err := b.Do(context.Background(), func(tx *store.Tx) error {
		v, err := tx.Get([]byte("m/shared"))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if runs.Add(1) == 1 {
			// Someone else commits a change to what we just read.
			if err := db.SetMeta("shared", []byte("outside")); err != nil {
				return err
			}
		}
		tx.Set([]byte("m/shared"), append(bytes.Clone(v), "+batch"...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 2 {
		t.Fatalf("function ran %d times", runs.Load())
	}
	if v, _ := db.GetMeta("shared"); string(v) != "outside+batch" {
		t.Fatalf("value = %q", v)
	}
}

func TestBatcherCloseAndCancel(t *testing.T) {
	db := mustOpenDB(t, store.Options{NoSync: true})
	b := store.NewBatcher(db, store.BatchOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Do(ctx, func(tx *store.Tx) error { tx.Set([]byte("x"), nil); return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := b.Do(context.Background(), func(tx *store.Tx) error { panic("boom") }); err == nil {
		t.Fatal("panicking write succeeded")
	}
	if err := b.Do(context.Background(), func(tx *store.Tx) error { tx.Set([]byte("y"), []byte("1")); return nil }); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	b.Close()
	b.Close()
	if err := b.Do(context.Background(), func(tx *store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
