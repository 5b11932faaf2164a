package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/fund"
)

// NewsRepo is the fund's news posts (fund.NewsRepository): each post under
// its ID, and a per-language index, newest first, that pages walk by key.
type NewsRepo struct {
	db      *DB
	mu      sync.Mutex
	version atomic.Uint64
}

var _ fund.NewsRepository = (*NewsRepo)(nil)

// NewNewsRepo returns the news in db; make one per store and share it.
func NewNewsRepo(db *DB) *NewsRepo {
	r := &NewsRepo{db: db}
	r.version.Store(1)
	return r
}

// NewsVersion changes after every write.
func (r *NewsRepo) NewsVersion() uint64 { return r.version.Load() }

// NewsPost returns one post (ENOTFOUND).
func (r *NewsRepo) NewsPost(ctx context.Context, id fund.NewsID) (*fund.News, error) {
	var n fund.News
	err := toolView(ctx, r.db, func(txn *badger.Txn) error { return toolGet(txn, newsPostKey(uint64(id)), &n) })
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// SaveNews stores n: a new post (ID 0) gets the next ID; an existing one is
// replaced, its index entry moved if its language changed.
func (r *NewsRepo) SaveNews(ctx context.Context, n *fund.News) error {
	old := n.ID
	err := toolUpdate(ctx, r.db, &r.mu, func(txn *badger.Txn) error {
		n.ID = old
		if n.ID == 0 {
			id, err := fundNextID(txn, "news")
			if err != nil {
				return err
			}
			n.ID = fund.NewsID(id)
		} else {
			var prev fund.News
			if err := toolGet(txn, newsPostKey(uint64(n.ID)), &prev); err != nil {
				return err
			}
			if err := txn.Delete(newsLangKey(prev.Lang, uint64(n.ID))); err != nil {
				return err
			}
		}
		if err := toolPut(txn, newsPostKey(uint64(n.ID)), n); err != nil {
			return err
		}
		return txn.Set(newsLangKey(n.Lang, uint64(n.ID)), []byte{fundRecV1})
	})
	if err != nil {
		n.ID = old
		return err
	}
	r.version.Add(1)
	return nil
}

// DeleteNews removes a post and its index entry (ENOTFOUND).
func (r *NewsRepo) DeleteNews(ctx context.Context, id fund.NewsID) error {
	err := toolUpdate(ctx, r.db, &r.mu, func(txn *badger.Txn) error {
		var prev fund.News
		if err := toolGet(txn, newsPostKey(uint64(id)), &prev); err != nil {
			return err
		}
		if err := txn.Delete(newsLangKey(prev.Lang, uint64(id))); err != nil {
			return err
		}
		return txn.Delete(newsPostKey(uint64(id)))
	})
	if err != nil {
		return err
	}
	r.version.Add(1)
	return nil
}

// ListNews returns up to limit posts in lang, newest first, after offset,
// and how many lang has.
func (r *NewsRepo) ListNews(ctx context.Context, lang string, offset, limit int) ([]fund.News, int, error) {
	var out []fund.News
	total := 0
	err := toolView(ctx, r.db, func(txn *badger.Txn) error {
		prefix := newsLangPrefix(lang)
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = prefix, false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			total++
			if total <= offset || len(out) >= limit {
				continue
			}
			k := it.Item().Key()
			id := ^readU64(k[len(k)-8:])
			var n fund.News
			if err := toolGet(txn, newsPostKey(id), &n); err != nil {
				if errors.Is(err, ErrNotFound) || fund.ErrorCode(err) == fund.ENOTFOUND {
					continue
				}
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	return out, total, err
}
