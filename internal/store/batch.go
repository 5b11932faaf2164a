package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/skl"
)

// Group commit. Badger syncs the disk once per transaction, so one
// transaction per post caps durable writes at the disk's fsync rate. The
// Batcher funnels writes to one committer goroutine that runs every pending
// write function in one read-write transaction, commits once (durably when
// the store syncs writes) and then answers each caller.
//
// Each function writes into its own overlay (Tx): its writes reach the
// shared transaction only if it returns nil, so a refused write leaves
// nothing behind and never fails the others. Later functions in a batch see
// the writes of earlier ones.
//
// Every write to keys the Batcher's users own must go through the Batcher:
// with a single writer, transactions cannot conflict, and a batch that is
// cut or replayed stays correct.

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("store: batcher closed")

// BatchOptions tune a Batcher.
type BatchOptions struct {
	// MaxOps is the most write functions in one transaction (zero: 256).
	// One gives a transaction per write, for comparison.
	MaxOps int
}

// Batcher is a group-commit writer. It is safe for concurrent use.
type Batcher struct {
	db       *badger.DB
	maxOps   int
	maxSize  int64 // budget per transaction, below Badger's own limits
	maxCount int64
	space    *spaceGuard // refuses batches on a nearly full disk

	reqs    chan *batchOp
	closing chan struct{}
	done    chan struct{}
	mu      sync.RWMutex // held shared while sending, exclusively to close
	closed  bool
}

type batchOp struct {
	ctx  context.Context
	fn   func(*Tx) error
	tx   *Tx
	errc chan error
}

// NewBatcher starts a committer over db. Close it before closing db.
func NewBatcher(db *DB, o BatchOptions) *Batcher {
	if o.MaxOps <= 0 {
		o.MaxOps = 256
	}
	opts := db.bdb.Opts()
	// Badger refuses a transaction over 15% of a memtable or over that
	// size in skiplist nodes; keep to 80% of both so the usual batch never
	// meets ErrTxnTooBig (which is still handled).
	maxBatch := opts.MemTableSize * 15 / 100
	b := &Batcher{
		db:       db.bdb,
		space:    db.space,
		maxOps:   o.MaxOps,
		maxSize:  maxBatch * 8 / 10,
		maxCount: maxBatch / int64(skl.MaxNodeSize) * 8 / 10,
		reqs:     make(chan *batchOp, o.MaxOps),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	go b.run()
	return b
}

// Do runs fn in a write transaction shared with other callers' functions
// and returns once the transaction is durable, with fn's error if fn failed
// (then none of its writes happened). fn may run more than once (after a
// conflict or a split), so it must only read through tx and set its
// results, and must not block. A cancelled ctx stops a write that has not
// started; once started, the write completes.
func (b *Batcher) Do(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &batchOp{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	select {
	case b.reqs <- op:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	return <-op.errc
}

// Close stops the committer after it answered every submitted write.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.closing)
	}
	b.mu.Unlock()
	<-b.done
	return nil
}

func (b *Batcher) run() {
	defer close(b.done)
	ops := make([]*batchOp, 0, b.maxOps)
	for {
		var first *batchOp
		select {
		case first = <-b.reqs:
		case <-b.closing:
			// Answer anything that got in before closing.
			for {
				select {
				case op := <-b.reqs:
					b.process([]*batchOp{op})
				default:
					return
				}
			}
		}
		ops = append(ops[:0], first)
	fill:
		for len(ops) < b.maxOps {
			select {
			case op := <-b.reqs:
				ops = append(ops, op)
			default:
				break fill
			}
		}
		b.process(ops)
	}
}

// process runs one batch: each function into its overlay, the overlays of
// the successful ones into the transaction, one commit.
func (b *Batcher) process(ops []*batchOp) {
	// On a nearly full disk every write is refused (space.go); a function
	// that turns out to write nothing still succeeds, so that reads and
	// no-op updates (e.g. seeding a seeded store at start) go on.
	if full := b.space.check(); full != nil {
		for _, op := range ops {
			op.errc <- b.dryRun(op, full)
		}
		return
	}
	txn := b.db.NewTransaction(true)
	var pending []*batchOp
	var size, count int64

	commit := func() {
		if len(pending) == 0 {
			txn.Discard()
			return
		}
		err := txn.Commit()
		if errors.Is(err, badger.ErrConflict) {
			// Someone wrote outside the Batcher: run each function again,
			// alone, against the new state.
			for _, op := range pending {
				op.errc <- b.alone(op)
			}
		} else {
			for _, op := range pending {
				op.errc <- err
			}
		}
		pending = pending[:0]
		size, count = 0, 0
	}

	for _, op := range ops {
		if err := op.ctx.Err(); err != nil {
			op.errc <- err
			continue
		}
		op.tx = &Tx{txn: txn}
		if err := op.run(); err != nil {
			op.errc <- err
			continue
		}
		if len(pending) > 0 && (size+op.tx.size > b.maxSize || count+int64(len(op.tx.writes)) > b.maxCount) {
			// Commit what we have first. op's reads saw exactly the state
			// that commit makes durable, so its overlay is still right.
			commit()
			txn = b.db.NewTransaction(true)
		}
		err := op.tx.apply(txn)
		if errors.Is(err, badger.ErrTxnTooBig) && len(pending) > 0 {
			// Our estimate was short: replay the pending overlays into a
			// fresh transaction, commit them, then try op alone.
			txn.Discard()
			txn = b.db.NewTransaction(true)
			for _, p := range pending {
				if err := p.tx.apply(txn); err != nil {
					for _, q := range pending {
						q.errc <- err
					}
					pending = pending[:0]
					break
				}
			}
			commit()
			txn = b.db.NewTransaction(true)
			err = op.tx.apply(txn)
		}
		if err != nil {
			// op alone does not fit (or Badger refused it): drop the
			// transaction, which holds only op's partial writes now or
			// was replayed above, and go on with a fresh one.
			op.errc <- err
			txn.Discard()
			txn = b.db.NewTransaction(true)
			for _, p := range pending {
				if err := p.tx.apply(txn); err != nil {
					// Cannot happen: these fitted before.
					for _, q := range pending {
						q.errc <- err
					}
					pending = pending[:0]
					break
				}
			}
			continue
		}
		pending = append(pending, op)
		size += op.tx.size
		count += int64(len(op.tx.writes))
	}
	commit()
}

// run calls the function; a panic fails this write, not the committer.
func (op *batchOp) run() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write function panicked: %v", r)
		}
	}()
	return op.fn(op.tx)
}

// dryRun runs op against a read-only transaction: its error, or full if
// it wanted to write.
func (b *Batcher) dryRun(op *batchOp, full error) error {
	if err := op.ctx.Err(); err != nil {
		return err
	}
	txn := b.db.NewTransaction(false)
	defer txn.Discard()
	op.tx = &Tx{txn: txn}
	if err := op.run(); err != nil {
		return err
	}
	if len(op.tx.writes) > 0 {
		return full
	}
	return nil
}

// alone runs one function in its own transaction, retrying conflicts.
func (b *Batcher) alone(op *batchOp) error {
	var err error
	for try := 0; try < 5; try++ {
		err = b.db.Update(func(txn *badger.Txn) error {
			op.tx = &Tx{txn: txn}
			if err := op.run(); err != nil {
				return err
			}
			return op.tx.apply(txn)
		})
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return err
}

// Tx is one write function's view of the shared transaction: reads see the
// committed state plus earlier functions' writes plus its own; writes stay
// in the overlay until the function succeeds.
type Tx struct {
	txn    *badger.Txn
	writes []txWrite
	index  map[string]int // key -> position in writes
	size   int64
}

type txWrite struct {
	key, val []byte
	del      bool
}

// Get returns a copy of the value under key, or ErrNotFound.
func (t *Tx) Get(key []byte) ([]byte, error) {
	if i, ok := t.index[string(key)]; ok {
		w := t.writes[i]
		if w.del {
			return nil, ErrNotFound
		}
		return w.val, nil
	}
	return getValue(t.txn, key)
}

// Set stores val under key when the function succeeds. Neither slice may
// be changed afterwards.
func (t *Tx) Set(key, val []byte) { t.put(txWrite{key: key, val: val}) }

// Delete removes key when the function succeeds.
func (t *Tx) Delete(key []byte) { t.put(txWrite{key: key, del: true}) }

func (t *Tx) put(w txWrite) {
	if t.index == nil {
		t.index = make(map[string]int, 8)
	}
	// Badger's estimate: key, value, meta and a version; plus slack.
	t.size += int64(len(w.key) + len(w.val) + 24)
	if i, ok := t.index[string(w.key)]; ok {
		t.writes[i] = w
		return
	}
	t.index[string(w.key)] = len(t.writes)
	t.writes = append(t.writes, w)
}

func (t *Tx) apply(txn *badger.Txn) error {
	for _, w := range t.writes {
		var err error
		if w.del {
			err = txn.Delete(w.key)
		} else {
			err = txn.Set(w.key, w.val)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
