package store

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/fund"
)

// BookingRepo is the anonymous test bookings (fund.BookingRepository).
// Each booking is written with Badger's TTL set to the end of the day after
// its date (fund.Expires): Badger stops returning it then and compaction
// erases it, with no sweep of ours. The TTL comes from the date, never from
// the clock at booking time, so not even the entry's metadata tells when
// it was made.
type BookingRepo struct {
	db *DB
	mu sync.Mutex
}

var _ fund.BookingRepository = (*BookingRepo)(nil)

// NewBookingRepo returns the bookings in db; make one per store.
func NewBookingRepo(db *DB) *BookingRepo { return &BookingRepo{db: db} }

type bookingRec struct {
	Test fund.Test `json:"test"`
	Done bool      `json:"done,omitempty"`
}

// AddBooking stores b unless its stop and date are full or its code taken.
func (r *BookingRepo) AddBooking(ctx context.Context, b fund.Booking, max int) error {
	exp := fund.Expires(b.Date)
	if exp.IsZero() || !fund.ValidCode(b.Code) {
		return fund.Errors{{Code: fund.EINVALID, Field: "slot", Key: fund.KeyBookSlot}}
	}
	return toolUpdate(ctx, r.db, &r.mu, func(txn *badger.Txn) error {
		key := bookingKey(uint64(b.Stop), b.Date, b.Code)
		if _, err := txn.Get(key); err == nil {
			return &fund.Error{Code: fund.ECONFLICT}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		n := 0
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = bookingDayPrefix(uint64(b.Stop), b.Date), false
		it := txn.NewIterator(opts)
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		it.Close()
		if n >= max {
			return fund.Errors{{Code: fund.EINVALID, Field: "slot", Key: fund.KeyBookFull}}
		}
		v, err := toolEncode(bookingRec{Test: b.Test})
		if err != nil {
			return err
		}
		e := badger.NewEntry(key, v)
		e.ExpiresAt = uint64(exp.Unix())
		return txn.SetEntry(e)
	})
}

// Bookings lists the live bookings of a stop (0: every stop) by stop, date
// and code.
func (r *BookingRepo) Bookings(ctx context.Context, stop fund.ID) ([]fund.Booking, error) {
	prefix := []byte(prefixBooking)
	if stop != 0 {
		prefix = bookingStopPrefix(uint64(stop))
	}
	var out []fund.Booking
	err := toolView(ctx, r.db, func(txn *badger.Txn) error {
		return iterate(txn, prefix, nil, func(k, v []byte) error {
			rest := k[len(prefixBooking):]
			if len(rest) != 8+len(fund.DateLayout)+fund.CodeLen {
				return errors.New("store: corrupt booking key")
			}
			var rec bookingRec
			if err := fundDecode(v, &rec); err != nil {
				return err
			}
			out = append(out, fund.Booking{
				Stop: fund.ID(binary.BigEndian.Uint64(rest)),
				Date: string(rest[8 : 8+len(fund.DateLayout)]),
				Code: string(rest[8+len(fund.DateLayout):]),
				Test: rec.Test, Done: rec.Done,
			})
			return nil
		})
	})
	return out, err
}

// MarkBookingDone marks a booking done, keeping its expiry.
func (r *BookingRepo) MarkBookingDone(ctx context.Context, stop fund.ID, date, code string) (bool, error) {
	changed := false
	err := toolUpdate(ctx, r.db, &r.mu, func(txn *badger.Txn) error {
		changed = false
		key := bookingKey(uint64(stop), date, code)
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fund.NotFound(err)
		}
		if err != nil {
			return err
		}
		b, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		var rec bookingRec
		if err := fundDecode(b, &rec); err != nil {
			return err
		}
		if rec.Done {
			return nil
		}
		rec.Done, changed = true, true
		v, err := toolEncode(rec)
		if err != nil {
			return err
		}
		e := badger.NewEntry(key, v)
		e.ExpiresAt = item.ExpiresAt()
		return txn.SetEntry(e)
	})
	return changed, err
}
