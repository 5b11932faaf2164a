package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/fund"
)

// FundRepo is the fund's service data (fund.Repository) in Badger. The
// records are few and written rarely (by staff), so each write is its own
// durable transaction, made one at a time under a mutex: the fund's keys
// have a single writer and never conflict.
//
// Records are stored as a version byte and JSON (the tags in package fund
// are the format): unlike forum posts they are not on a hot path, and JSON
// lets fields be added without a new decoder.
type FundRepo struct {
	db      *DB
	mu      sync.Mutex // serializes writes
	version atomic.Uint64
}

var _ fund.Repository = (*FundRepo)(nil)

const fundRecV1 = 1

// fundKind is one kind of record: its ID counter and key prefix.
type fundKind struct{ counter, prefix string }

var (
	fundStops    = fundKind{"stop", prefixUStop}
	fundDoctors  = fundKind{"doctor", prefixUDoctor}
	fundContacts = fundKind{"contact", prefixUContact}
)

// NewFundRepo returns the fund's storage in db. It holds no goroutine and
// needs no closing. Make one per store and share it (the site's pages and
// the staff interface): Version counts the writes of this instance only.
func NewFundRepo(db *DB) *FundRepo {
	r := &FundRepo{db: db}
	r.version.Store(1)
	return r
}

// Version changes after every successful write through this FundRepo (the
// only writer of the fund's keys). It is an atomic load: readers may call
// it on every request.
func (r *FundRepo) Version() uint64 { return r.version.Load() }

// Load returns every stop (in ID order), doctor and contact (in display
// order).
func (r *FundRepo) Load(ctx context.Context) (*fund.Data, error) {
	if err := ctx.Err(); err != nil {
		return nil, fund.Internal(err)
	}
	d := &fund.Data{}
	err := r.db.bdb.View(func(txn *badger.Txn) error {
		return errors.Join(
			fundLoadAll(txn, fundStops.prefix, &d.Stops),
			fundLoadAll(txn, fundDoctors.prefix, &d.Doctors),
			fundLoadAll(txn, fundContacts.prefix, &d.Contacts),
		)
	})
	if err != nil {
		return nil, fund.Internal(err)
	}
	fund.SortDoctors(d.Doctors)
	fund.SortContacts(d.Contacts)
	return d, nil
}

// Stop returns one stop, or an ENOTFOUND fund.Error.
func (r *FundRepo) Stop(ctx context.Context, id fund.ID) (*fund.Stop, error) {
	return fundGet[fund.Stop](ctx, r, fundStops, id)
}

// Doctor returns one doctor, or an ENOTFOUND fund.Error.
func (r *FundRepo) Doctor(ctx context.Context, id fund.ID) (*fund.Doctor, error) {
	return fundGet[fund.Doctor](ctx, r, fundDoctors, id)
}

// Contact returns one contact, or an ENOTFOUND fund.Error.
func (r *FundRepo) Contact(ctx context.Context, id fund.ID) (*fund.Contact, error) {
	return fundGet[fund.Contact](ctx, r, fundContacts, id)
}

// SaveStop normalizes and validates s, then stores it: a new stop (ID 0)
// gets the next ID (set in s), an existing one is replaced. It returns
// fund.Errors for an invalid stop and an ENOTFOUND fund.Error for an ID
// that does not exist; then nothing is written.
func (r *FundRepo) SaveStop(ctx context.Context, s *fund.Stop) error {
	s.Normalize()
	if err := s.Validate(); err != nil {
		return err
	}
	return r.save(ctx, fundStops, &s.ID, s)
}

// SaveDoctor is SaveStop for a doctor.
func (r *FundRepo) SaveDoctor(ctx context.Context, d *fund.Doctor) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	return r.save(ctx, fundDoctors, &d.ID, d)
}

// SaveContact is SaveStop for a contact.
func (r *FundRepo) SaveContact(ctx context.Context, c *fund.Contact) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	return r.save(ctx, fundContacts, &c.ID, c)
}

// DeleteStop removes a stop; ENOTFOUND if there is none with that ID.
func (r *FundRepo) DeleteStop(ctx context.Context, id fund.ID) error {
	return r.delete(ctx, fundStops, id)
}

// DeleteDoctor removes a doctor; ENOTFOUND if there is none with that ID.
func (r *FundRepo) DeleteDoctor(ctx context.Context, id fund.ID) error {
	return r.delete(ctx, fundDoctors, id)
}

// DeleteContact removes a contact; ENOTFOUND if there is none with that ID.
func (r *FundRepo) DeleteContact(ctx context.Context, id fund.ID) error {
	return r.delete(ctx, fundContacts, id)
}

// Seed writes d (normally fund.Examples()) once in the life of the store,
// with fresh IDs, in one transaction, and reports whether it did. Later
// calls write nothing, even after staff deleted every entry: the seed is a
// first-start default, not a floor. An invalid entry in d fails the whole
// seed with its fund.Errors.
func (r *FundRepo) Seed(ctx context.Context, d fund.Data) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fund.Internal(err)
	}
	type rec struct {
		kind fundKind
		id   *fund.ID
		v    any
	}
	var recs []rec
	for _, s := range d.Stops {
		s.ID = 0
		s.Normalize()
		if err := s.Validate(); err != nil {
			return false, err
		}
		recs = append(recs, rec{fundStops, &s.ID, &s})
	}
	for _, x := range d.Doctors {
		x.ID = 0
		x.Normalize()
		if err := x.Validate(); err != nil {
			return false, err
		}
		recs = append(recs, rec{fundDoctors, &x.ID, &x})
	}
	for _, x := range d.Contacts {
		x.ID = 0
		x.Normalize()
		if err := x.Validate(); err != nil {
			return false, err
		}
		recs = append(recs, rec{fundContacts, &x.ID, &x})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	seeded := false
	err := r.db.update(func(txn *badger.Txn) error {
		seeded = false
		if _, err := txn.Get(metaKey(metaFundSeeded)); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		for _, x := range recs {
			if err := fundPut(txn, x.kind, x.id, x.v); err != nil {
				return err
			}
		}
		seeded = true
		return txn.Set(metaKey(metaFundSeeded), []byte{fundRecV1})
	})
	if err != nil {
		return false, fund.Internal(err)
	}
	if seeded {
		r.version.Add(1)
	}
	return seeded, nil
}

// save stores the validated record v whose ID field is *id.
func (r *FundRepo) save(ctx context.Context, k fundKind, id *fund.ID, v any) error {
	if err := ctx.Err(); err != nil {
		return fund.Internal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *id
	err := r.db.update(func(txn *badger.Txn) error {
		*id = old
		if old != 0 {
			if err := fundExists(txn, k, old); err != nil {
				return err
			}
		}
		return fundPut(txn, k, id, v)
	})
	if err != nil {
		*id = old // a refused new entry stays new
		return fundFail(err)
	}
	r.version.Add(1)
	return nil
}

func (r *FundRepo) delete(ctx context.Context, k fundKind, id fund.ID) error {
	if err := ctx.Err(); err != nil {
		return fund.Internal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.db.update(func(txn *badger.Txn) error {
		if err := fundExists(txn, k, id); err != nil {
			return err
		}
		return txn.Delete(uRecordKey(k.prefix, uint64(id)))
	})
	if err != nil {
		return fundFail(err)
	}
	r.version.Add(1)
	return nil
}

func fundGet[T any](ctx context.Context, r *FundRepo, k fundKind, id fund.ID) (*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, fund.Internal(err)
	}
	var v T
	err := r.db.bdb.View(func(txn *badger.Txn) error {
		b, err := getValue(txn, uRecordKey(k.prefix, uint64(id)))
		if errors.Is(err, ErrNotFound) {
			return fund.NotFound(err)
		}
		if err != nil {
			return err
		}
		return fundDecode(b, &v)
	})
	if err != nil {
		return nil, fundFail(err)
	}
	return &v, nil
}

// fundPut gives a new record (*id == 0) the next ID of its kind, then
// writes it.
func fundPut(txn *badger.Txn, k fundKind, id *fund.ID, v any) error {
	if *id == 0 {
		n, err := fundNextID(txn, k.counter)
		if err != nil {
			return err
		}
		*id = fund.ID(n)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(uRecordKey(k.prefix, uint64(*id)), append([]byte{fundRecV1}, b...))
}

func fundExists(txn *badger.Txn, k fundKind, id fund.ID) error {
	_, err := txn.Get(uRecordKey(k.prefix, uint64(id)))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return fund.NotFound(ErrNotFound)
	}
	return err
}

func fundNextID(txn *badger.Txn, counter string) (uint64, error) {
	key := uCounterKey(counter)
	var n uint64
	b, err := getValue(txn, key)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, err
	case len(b) != 8:
		return 0, fmt.Errorf("store: corrupt fund counter %s", counter)
	default:
		n = binary.BigEndian.Uint64(b)
	}
	n++
	return n, txn.Set(key, binary.BigEndian.AppendUint64(nil, n))
}

func fundLoadAll[T any](txn *badger.Txn, prefix string, out *[]T) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(prefix)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var v T
		// Decoding inside Value is safe: json.Unmarshal copies what it
		// keeps out of the buffer.
		if err := it.Item().Value(func(b []byte) error { return fundDecode(b, &v) }); err != nil {
			return err
		}
		*out = append(*out, v)
	}
	return nil
}

func fundDecode(b []byte, v any) error {
	if len(b) == 0 || b[0] != fundRecV1 {
		return errors.New("store: corrupt fund record")
	}
	return json.Unmarshal(b[1:], v)
}

// fundFail passes fund errors through and turns the rest into EINTERNAL.
func fundFail(err error) error {
	var fe *fund.Error
	if errors.As(err, &fe) {
		return fe
	}
	return fund.Internal(err)
}
