package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/staff"
)

// StaffRepo is the staff's storage (staff.Repository) in Badger. Writes are
// few (logins, a session refresh a minute, staff edits), so each is its own
// durable transaction, made one at a time under a mutex like the fund's:
// the staff keys have a single writer and never conflict. Not the Batcher:
// sessions need Badger's entry TTL, which its overlay does not carry.
type StaffRepo struct {
	db *DB
	mu sync.Mutex // serializes writes
}

var _ staff.Repository = (*StaffRepo)(nil)

const staffRecV1 = 1

// Counter names under s/c/.
const (
	sCtrReply = "reply"
	sCtrMod   = "mod"
)

// NewStaffRepo returns the staff's storage in db. It holds no goroutine and
// needs no closing; make one per store.
func NewStaffRepo(db *DB) *StaffRepo { return &StaffRepo{db: db} }

// ---- accounts -------------------------------------------------------------

// Account returns one account, or ENOTFOUND.
func (r *StaffRepo) Account(ctx context.Context, name string) (*staff.AccountRecord, error) {
	var a staff.AccountRecord
	err := r.view(ctx, func(txn *badger.Txn) error {
		return staffGet(txn, sAccountKey(name), staff.KeyAccountNotFound, &a)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// Accounts lists every account in name order.
func (r *StaffRepo) Accounts(ctx context.Context) ([]staff.AccountRecord, error) {
	var out []staff.AccountRecord
	err := r.view(ctx, func(txn *badger.Txn) error {
		return iterate(txn, []byte(prefixSAccount), nil, func(_, v []byte) error {
			var a staff.AccountRecord
			if err := staffDecode(v, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// CreateAccount stores a new account; ECONFLICT if the name is taken.
func (r *StaffRepo) CreateAccount(ctx context.Context, a staff.AccountRecord) error {
	return r.update(ctx, func(txn *badger.Txn) error {
		k := sAccountKey(a.Name)
		if _, err := txn.Get(k); err == nil {
			return staff.Conflict(staff.KeyNameTaken)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return staffPut(txn, k, a, 0)
	})
}

// UpdateAccount changes an account with fn; a changed Gen deletes the
// account's sessions in the same transaction.
func (r *StaffRepo) UpdateAccount(ctx context.Context, name string, fn func(a *staff.AccountRecord) error) (*staff.AccountRecord, error) {
	var out staff.AccountRecord
	err := r.update(ctx, func(txn *badger.Txn) error {
		var old staff.AccountRecord
		if err := staffGet(txn, sAccountKey(name), staff.KeyAccountNotFound, &old); err != nil {
			return err
		}
		a := old
		if err := fn(&a); err != nil {
			return err
		}
		a.Name = name // the key
		if a.Gen != old.Gen {
			if err := deleteAcctSessions(txn, name); err != nil {
				return err
			}
		}
		out = a
		return staffPut(txn, sAccountKey(name), a, 0)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAccount removes an account and its sessions, or ENOTFOUND.
func (r *StaffRepo) DeleteAccount(ctx context.Context, name string) error {
	return r.update(ctx, func(txn *badger.Txn) error {
		k := sAccountKey(name)
		if _, err := txn.Get(k); errors.Is(err, badger.ErrKeyNotFound) {
			return staff.NotFound(staff.KeyAccountNotFound)
		} else if err != nil {
			return err
		}
		if err := deleteAcctSessions(txn, name); err != nil {
			return err
		}
		return txn.Delete(k)
	})
}

// deleteAcctSessions deletes every session of an account, through its
// index.
func deleteAcctSessions(txn *badger.Txn, name string) error {
	prefix := sAcctSessionPrefix(name)
	var keys [][]byte
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(sSessionKey(k[len(prefix):])); err != nil {
			return err
		}
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ---- sessions -------------------------------------------------------------

// CreateSession stores a session and its index entry with a TTL, if the
// account exists with generation s.Gen (else ENOTFOUND).
func (r *StaffRepo) CreateSession(ctx context.Context, hash []byte, s staff.SessionRecord, ttl time.Duration) error {
	return r.update(ctx, func(txn *badger.Txn) error {
		var a staff.AccountRecord
		if err := staffGet(txn, sAccountKey(s.Name), staff.KeyAccountNotFound, &a); err != nil {
			return err
		}
		if a.Gen != s.Gen {
			return staff.NotFound(staff.KeyAccountNotFound)
		}
		return putSession(txn, hash, s, ttl)
	})
}

func putSession(txn *badger.Txn, hash []byte, s staff.SessionRecord, ttl time.Duration) error {
	if err := staffPut(txn, sSessionKey(hash), s, ttl); err != nil {
		return err
	}
	return txn.SetEntry(badger.NewEntry(sAcctSessionKey(s.Name, hash), nil).WithTTL(ttl))
}

// Session returns the session under hash, or ENOTFOUND.
func (r *StaffRepo) Session(ctx context.Context, hash []byte) (*staff.SessionRecord, error) {
	var s staff.SessionRecord
	err := r.view(ctx, func(txn *badger.Txn) error {
		return staffGet(txn, sSessionKey(hash), staff.KeySessionEnded, &s)
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// TouchSession rewrites a session that still exists with a new expiry and
// TTL.
func (r *StaffRepo) TouchSession(ctx context.Context, hash []byte, s staff.SessionRecord, ttl time.Duration) error {
	return r.update(ctx, func(txn *badger.Txn) error {
		var cur staff.SessionRecord
		err := staffGet(txn, sSessionKey(hash), staff.KeySessionEnded, &cur)
		if staff.ErrorCode(err) == staff.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		s.Name, s.Gen = cur.Name, cur.Gen
		return putSession(txn, hash, s, ttl)
	})
}

// DeleteSession removes a session and its index entry; a missing session
// is not an error.
func (r *StaffRepo) DeleteSession(ctx context.Context, hash []byte) error {
	return r.update(ctx, func(txn *badger.Txn) error {
		var s staff.SessionRecord
		err := staffGet(txn, sSessionKey(hash), staff.KeySessionEnded, &s)
		if staff.ErrorCode(err) == staff.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if err := txn.Delete(sAcctSessionKey(s.Name, hash)); err != nil {
			return err
		}
		return txn.Delete(sSessionKey(hash))
	})
}

// ---- saved replies --------------------------------------------------------

// Replies lists every saved reply by Order, then ID.
func (r *StaffRepo) Replies(ctx context.Context) ([]staff.SavedReply, error) {
	var out []staff.SavedReply
	err := r.view(ctx, func(txn *badger.Txn) error {
		return iterate(txn, []byte(prefixSReply), nil, func(_, v []byte) error {
			var x staff.SavedReply
			if err := staffDecode(v, &x); err != nil {
				return err
			}
			out = append(out, x)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// Iteration is in ID order; the stable sort keeps it among equal Orders.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out, nil
}

// Reply returns one saved reply, or ENOTFOUND.
func (r *StaffRepo) Reply(ctx context.Context, id staff.ReplyID) (*staff.SavedReply, error) {
	var x staff.SavedReply
	err := r.view(ctx, func(txn *badger.Txn) error {
		return staffGet(txn, sReplyKey(uint64(id)), staff.KeyReplyNotFound, &x)
	})
	if err != nil {
		return nil, err
	}
	return &x, nil
}

// SaveReply stores a new (ID 0, given the next ID) or existing reply.
func (r *StaffRepo) SaveReply(ctx context.Context, x *staff.SavedReply) error {
	old := x.ID
	err := r.update(ctx, func(txn *badger.Txn) error {
		x.ID = old
		return putReply(txn, x)
	})
	if err != nil {
		x.ID = old // a refused new reply stays new
	}
	return err
}

func putReply(txn *badger.Txn, x *staff.SavedReply) error {
	if x.ID == 0 {
		n, err := staffNextID(txn, sCtrReply)
		if err != nil {
			return err
		}
		x.ID = staff.ReplyID(n)
	} else if _, err := txn.Get(sReplyKey(uint64(x.ID))); errors.Is(err, badger.ErrKeyNotFound) {
		return staff.NotFound(staff.KeyReplyNotFound)
	} else if err != nil {
		return err
	}
	return staffPut(txn, sReplyKey(uint64(x.ID)), x, 0)
}

// DeleteReply removes a saved reply, or ENOTFOUND.
func (r *StaffRepo) DeleteReply(ctx context.Context, id staff.ReplyID) error {
	return r.update(ctx, func(txn *badger.Txn) error {
		k := sReplyKey(uint64(id))
		if _, err := txn.Get(k); errors.Is(err, badger.ErrKeyNotFound) {
			return staff.NotFound(staff.KeyReplyNotFound)
		} else if err != nil {
			return err
		}
		return txn.Delete(k)
	})
}

// SeedReplies stores rs with fresh IDs, in one transaction, once in the life
// of the store.
func (r *StaffRepo) SeedReplies(ctx context.Context, rs []staff.SavedReply) (bool, error) {
	seeded := false
	err := r.update(ctx, func(txn *badger.Txn) error {
		seeded = false
		if _, err := txn.Get(metaKey(metaStaffSeeded)); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		for _, x := range rs {
			x.ID = 0
			if err := putReply(txn, &x); err != nil {
				return err
			}
		}
		seeded = true
		return txn.Set(metaKey(metaStaffSeeded), []byte{staffRecV1})
	})
	return seeded, err
}

// ---- moderation history ---------------------------------------------------

// AddModEntry appends e to its target's history.
func (r *StaffRepo) AddModEntry(ctx context.Context, e staff.ModEntry) error {
	if !staff.ValidTarget(e.Target) {
		// The key relies on it: a '/' would reach into another target.
		return staff.Internal(fmt.Errorf("store: bad moderation target %q", e.Target))
	}
	return r.update(ctx, func(txn *badger.Txn) error {
		seq, err := staffNextID(txn, sCtrMod)
		if err != nil {
			return err
		}
		return staffPut(txn, sModKey(e.Target, seq), e, 0)
	})
}

// ModHistory lists up to limit entries of target's history, newest first.
func (r *StaffRepo) ModHistory(ctx context.Context, target string, limit int) ([]staff.ModEntry, error) {
	if !staff.ValidTarget(target) {
		return nil, staff.Internal(fmt.Errorf("store: bad moderation target %q", target))
	}
	var out []staff.ModEntry
	err := r.view(ctx, func(txn *badger.Txn) error {
		return page(txn, sModPrefix(target), false, 0, limit, func(_, v []byte) error {
			var e staff.ModEntry
			if err := staffDecode(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// ---- helpers --------------------------------------------------------------

func (r *StaffRepo) view(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return staff.Busy(err)
	}
	return staffFail(r.db.bdb.View(fn))
}

// update runs fn in its own durable transaction, one writer at a time.
func (r *StaffRepo) update(ctx context.Context, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return staff.Busy(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return staffFail(r.db.update(fn))
}

// staffGet decodes the record under k into v; ENOTFOUND with notFoundKey
// if there is none.
func staffGet(txn *badger.Txn, k []byte, notFoundKey string, v any) error {
	b, err := getValue(txn, k)
	if errors.Is(err, ErrNotFound) {
		return staff.NotFound(notFoundKey)
	}
	if err != nil {
		return err
	}
	return staffDecode(b, v)
}

// staffPut writes v under k, with a TTL unless ttl is zero.
func staffPut(txn *badger.Txn, k []byte, v any, ttl time.Duration) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e := badger.NewEntry(k, append([]byte{staffRecV1}, b...))
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return txn.SetEntry(e)
}

func staffDecode(b []byte, v any) error {
	if len(b) == 0 || b[0] != staffRecV1 {
		return errors.New("store: corrupt staff record")
	}
	return json.Unmarshal(b[1:], v)
}

func staffNextID(txn *badger.Txn, counter string) (uint64, error) {
	key := sCounterKey(counter)
	var n uint64
	b, err := getValue(txn, key)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, err
	case len(b) != 8:
		return 0, fmt.Errorf("store: corrupt staff counter %s", counter)
	default:
		n = binary.BigEndian.Uint64(b)
	}
	n++
	return n, txn.Set(key, binary.BigEndian.AppendUint64(nil, n))
}

// staffFail passes staff errors through, turns an ended context or a
// closed store into EUNAVAILABLE and the rest into EINTERNAL.
func staffFail(err error) error {
	if err == nil {
		return nil
	}
	var se *staff.Error
	var ses staff.Errors
	if errors.As(err, &se) || errors.As(err, &ses) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, badger.ErrDBClosed) {
		return staff.Busy(err)
	}
	return staff.Internal(err)
}
