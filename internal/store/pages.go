package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/fund"
)

// PageRepo is the revisions of the info pages staff edit
// (fund.PageRepository). Like the fund's data, writes are rare and each is
// its own durable transaction, one at a time.
type PageRepo struct {
	db      *DB
	mu      sync.Mutex
	version atomic.Uint64
}

var _ fund.PageRepository = (*PageRepo)(nil)

// NewPageRepo returns the page revisions in db. Make one per store and
// share it: PagesVersion counts the writes of this instance.
func NewPageRepo(db *DB) *PageRepo {
	r := &PageRepo{db: db}
	r.version.Store(1)
	return r
}

// PagesVersion changes after every write.
func (r *PageRepo) PagesVersion() uint64 { return r.version.Load() }

// AddRevision stores rev as its page's newest revision and sets rev.N.
func (r *PageRepo) AddRevision(ctx context.Context, rev *fund.PageRevision) error {
	if !fund.ValidSlug(rev.Slug) || (rev.Lang != "ru" && rev.Lang != "en") {
		return fund.Errors{{Code: fund.EINVALID, Field: "slug", Key: fund.KeySlug}}
	}
	err := toolUpdate(ctx, r.db, &r.mu, func(txn *badger.Txn) error {
		n := 0
		err := page(txn, pageRevPrefix(rev.Lang, rev.Slug), true, 0, 1, func(k, _ []byte) error {
			n = int(binary.BigEndian.Uint32(k[len(k)-4:]))
			return nil
		})
		if err != nil {
			return err
		}
		rev.N = n + 1
		return toolPut(txn, pageRevKey(rev.Lang, rev.Slug, rev.N), rev)
	})
	if err != nil {
		return err
	}
	r.version.Add(1)
	return nil
}

// Revision returns revision n of a page (ENOTFOUND).
func (r *PageRepo) Revision(ctx context.Context, lang, slug string, n int) (*fund.PageRevision, error) {
	var rev fund.PageRevision
	if !fund.ValidSlug(slug) || n < 1 {
		return nil, fund.NotFound(nil)
	}
	err := toolView(ctx, r.db, func(txn *badger.Txn) error {
		return toolGet(txn, pageRevKey(lang, slug, n), &rev)
	})
	if err != nil {
		return nil, err
	}
	return &rev, nil
}

// Revisions lists up to limit revisions of a page, newest first.
func (r *PageRepo) Revisions(ctx context.Context, lang, slug string, limit int) ([]fund.PageRevision, error) {
	var out []fund.PageRevision
	if !fund.ValidSlug(slug) {
		return nil, nil
	}
	err := toolView(ctx, r.db, func(txn *badger.Txn) error {
		return page(txn, pageRevPrefix(lang, slug), true, 0, limit, func(_, v []byte) error {
			var rev fund.PageRevision
			if err := fundDecode(v, &rev); err != nil {
				return err
			}
			out = append(out, rev)
			return nil
		})
	})
	return out, err
}

// LatestRevisions returns the newest revision of every page that has one.
// The revisions of a page are adjacent and in order, so the last one seen
// before the prefix changes is its newest.
func (r *PageRepo) LatestRevisions(ctx context.Context) ([]fund.PageRevision, error) {
	var out []fund.PageRevision
	err := toolView(ctx, r.db, func(txn *badger.Txn) error {
		var last []byte
		err := iterate(txn, []byte(prefixPageRev), nil, func(k, v []byte) error {
			pfx := k[:len(k)-4]
			if last != nil && string(pfx) == string(last[:len(last)-4]) {
				out = out[:len(out)-1]
			}
			var rev fund.PageRevision
			if err := fundDecode(v, &rev); err != nil {
				return err
			}
			out = append(out, rev)
			last = k
			return nil
		})
		return err
	})
	return out, err
}

// ---- helpers shared by the outreach tools' repositories ---------------------

func toolView(ctx context.Context, db *DB, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return fund.Internal(err)
	}
	return toolFail(db.bdb.View(fn))
}

// toolUpdate runs fn in its own durable transaction, one writer at a time.
func toolUpdate(ctx context.Context, db *DB, mu *sync.Mutex, fn func(txn *badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return fund.Internal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return toolFail(db.update(fn))
}

// toolFail is fundFail that keeps fund.Errors (validation) as they are.
func toolFail(err error) error {
	var es fund.Errors
	if errors.As(err, &es) {
		return es
	}
	if err == nil {
		return nil
	}
	return fundFail(err)
}

func toolEncode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{fundRecV1}, b...), nil
}

func toolPut(txn *badger.Txn, k []byte, v any) error {
	b, err := toolEncode(v)
	if err != nil {
		return err
	}
	return txn.Set(k, b)
}

// toolGet decodes the record under k into v; ENOTFOUND if there is none.
func toolGet(txn *badger.Txn, k []byte, v any) error {
	b, err := getValue(txn, k)
	if errors.Is(err, ErrNotFound) {
		return fund.NotFound(err)
	}
	if err != nil {
		return err
	}
	return fundDecode(b, v)
}
