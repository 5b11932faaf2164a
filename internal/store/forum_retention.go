package store

import (
	"context"
	"errors"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/forum"
)

// Retention: the storage side of forum.Service.ExpirePrivate.

var _ forum.RetentionRepository = (*ForumRepo)(nil)

// ExpiredPrivateThreads implements forum.RetentionRepository: it walks each
// section's private list (values are the thread records, so no extra
// reads) and returns threads last active before the hour before.
func (r *ForumRepo) ExpiredPrivateThreads(ctx context.Context, before forum.Hour, limit int) ([]forum.ThreadID, error) {
	var out []forum.ThreadID
	err := r.view(func(txn *badger.Txn) error {
		var sections []uint64
		if err := iterate(txn, []byte(prefixFSection), nil, func(k, _ []byte) error {
			sections = append(sections, readU64(k[len(prefixFSection):]))
			return nil
		}); err != nil {
			return err
		}
		for _, sid := range sections {
			err := iterate(txn, fActivityPrefix(sid, true), nil, func(_, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				t, err := decodeThread(v)
				if err != nil {
					return err
				}
				if t.Private && t.LastActive < before {
					out = append(out, t.ID)
					if len(out) >= limit {
						return errStop
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(out) >= limit {
				return nil
			}
		}
		return nil
	})
	return out, err
}

// DeleteExpiredThread implements forum.RetentionRepository. It deletes the
// thread as DeleteThread does, but only if it is still private and still
// inactive since before when the write runs (a reply may have come since
// the list was read).
func (r *ForumRepo) DeleteExpiredThread(ctx context.Context, id forum.ThreadID, before forum.Hour) (int, error) {
	var posts uint64
	deleted := false
	err := r.write(ctx, func(tx *Tx) error {
		deleted = false
		t, err := getThread(tx.Get, uint64(id))
		if forum.ErrorCode(err) == forum.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if !t.Private || t.LastActive >= before {
			return nil
		}
		// As DeleteThread.
		if err := countThread(tx, uint64(t.Section), t.Private, -1); err != nil {
			return err
		}
		tx.Delete(fThreadKey(uint64(id)))
		tx.Delete(activityKey(t))
		if t.Awaiting {
			tx.Delete(fQueueKey(t.wait, uint64(id)))
		}
		if t.Asker != 0 {
			tx.Delete(fAskerThreadKey(uint64(t.Asker), uint64(id)))
		}
		posts = uint64(t.Posts)
		tx.Set(fPurgeKey(uint64(id)), encodeU64(posts))
		deleted = true
		return nil
	})
	if err != nil || !deleted {
		return 0, err
	}
	return int(posts), r.purge(ctx, uint64(id), posts)
}

// ForgetIdleAskers implements forum.RetentionRepository: it removes the
// receipt lookup of every asker with no thread left, so an old receipt
// opens nothing and says nothing about its holder.
func (r *ForumRepo) ForgetIdleAskers(ctx context.Context) (int, error) {
	type cand struct {
		key   []byte
		asker uint64
	}
	var cands []cand
	err := r.view(func(txn *badger.Txn) error {
		return iterate(txn, []byte(prefixFReceipt), nil, func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			a, _, err := decodeReceiptRec(v)
			if err != nil {
				return err
			}
			if !hasPrefix(txn, fAskerThreadPrefix(a)) {
				cands = append(cands, cand{k, a})
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cands {
		gone := false
		err := r.write(ctx, func(tx *Tx) error {
			gone = false
			// Checked again in the write: the asker may have asked again.
			// Earlier writes of this batch are in tx.txn, so the iterator
			// sees them.
			if hasPrefix(tx.txn, fAskerThreadPrefix(c.asker)) {
				return nil
			}
			if _, err := tx.Get(c.key); errors.Is(err, ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			tx.Delete(c.key)
			gone = true
			return nil
		})
		if err != nil {
			return n, err
		}
		if gone {
			n++
		}
	}
	return n, nil
}

// DropOrphanReports implements forum.RetentionRepository: reports on posts
// of threads that no longer exist are removed with their open marker.
func (r *ForumRepo) DropOrphanReports(ctx context.Context) (int, error) {
	var orphans []uint64
	err := r.view(func(txn *badger.Txn) error {
		return iterate(txn, []byte(prefixFReport), nil, func(k, v []byte) error {
			rep, err := decodeReport(v)
			if err != nil {
				return err
			}
			if _, err := getValue(txn, fThreadKey(uint64(rep.Post.Thread))); errors.Is(err, ErrNotFound) {
				orphans = append(orphans, uint64(rep.ID))
			} else if err != nil {
				return err
			}
			return nil
		})
	})
	if err != nil || len(orphans) == 0 {
		return 0, err
	}
	n := 0
	for _, id := range orphans {
		gone := false
		err := r.write(ctx, func(tx *Tx) error {
			gone = false
			b, err := tx.Get(fReportKey(id))
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			rep, err := decodeReport(b)
			if err != nil {
				return err
			}
			if _, err := tx.Get(fThreadKey(uint64(rep.Post.Thread))); err == nil {
				return nil
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			tx.Delete(fReportKey(id))
			tx.Delete(fReportOpenKey(id))
			gone = true
			return nil
		})
		if err != nil {
			return n, err
		}
		if gone {
			n++
		}
	}
	return n, nil
}

// hasPrefix reports whether any key starts with prefix.
func hasPrefix(txn *badger.Txn, prefix []byte) bool {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	it.Seek(prefix)
	return it.ValidForPrefix(prefix)
}
