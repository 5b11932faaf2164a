package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/forum"
	"tropa/metrics"
)

// MetricsRepo is the outreach metrics' totals (metrics.Repository): one
// key per day and counter, and one per week and answer-delay bucket. There
// is nothing else to store, and nothing else is: the number of keys grows
// with days, never with visitors or events.
type MetricsRepo struct {
	db *DB
	mu sync.Mutex
}

var _ metrics.Repository = (*MetricsRepo)(nil)

// NewMetricsRepo returns the metrics' totals in db; make one per store.
func NewMetricsRepo(db *DB) *MetricsRepo { return &MetricsRepo{db: db} }

const metricRecV1 = 1

// AddCounts adds c to the stored totals in one transaction.
func (r *MetricsRepo) AddCounts(ctx context.Context, c metrics.Counts) error {
	add := func(txn *badger.Txn, k []byte, n uint64) error {
		b, err := getValue(txn, k)
		var cur uint64
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			if cur, err = decodeMetric(b); err != nil {
				return err
			}
		}
		return txn.Set(k, binary.BigEndian.AppendUint64([]byte{metricRecV1}, cur+n))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.db.update(func(txn *badger.Txn) error {
		for k, n := range c.Days {
			if k.Day < 0 || k.Counter == "" {
				continue
			}
			if err := add(txn, metricDayKey(uint32(k.Day), k.Counter), n); err != nil {
				return err
			}
		}
		for k, n := range c.Hist {
			if k.Week < 0 {
				continue
			}
			if err := add(txn, metricHistKey(uint32(k.Week), k.Bucket), n); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoadCounts returns the totals of the days from..to and of their weeks.
func (r *MetricsRepo) LoadCounts(ctx context.Context, from, to metrics.Day) (metrics.Counts, error) {
	c := metrics.Counts{Days: map[metrics.DayCounter]uint64{}, Hist: map[metrics.WeekBucket]uint64{}}
	from, to = max(from, 0), max(to, 0)
	if err := ctx.Err(); err != nil {
		return c, err
	}
	err := r.db.bdb.View(func(txn *badger.Txn) error {
		err := iterate(txn, []byte(prefixMetricDay), metricDayKey(uint32(from), ""), func(k, v []byte) error {
			rest := k[len(prefixMetricDay):]
			day := metrics.Day(binary.BigEndian.Uint32(rest))
			if day > to {
				return errStop
			}
			n, err := decodeMetric(v)
			if err != nil {
				return err
			}
			c.Days[metrics.DayCounter{Day: day, Counter: string(rest[4:])}] = n
			return nil
		})
		if err != nil {
			return err
		}
		fw, tw := from.Week(), to.Week()
		return iterate(txn, []byte(prefixMetricHist), metricHistKey(uint32(max(fw, 0)), 0), func(k, v []byte) error {
			rest := k[len(prefixMetricHist):]
			if len(rest) != 5 {
				return errors.New("store: corrupt metrics key")
			}
			w := metrics.Week(binary.BigEndian.Uint32(rest))
			if w > tw {
				return errStop
			}
			n, err := decodeMetric(v)
			if err != nil {
				return err
			}
			c.Hist[metrics.WeekBucket{Week: w, Bucket: rest[4]}] = n
			return nil
		})
	})
	return c, err
}

func decodeMetric(b []byte) (uint64, error) {
	if len(b) != 9 || b[0] != metricRecV1 {
		return 0, fmt.Errorf("store: corrupt metrics value")
	}
	return binary.BigEndian.Uint64(b[1:]), nil
}

// CountedForumRepo is the forum's storage with the outreach metrics told
// of its writes (metrics.Recorder.Asked and WatchPost). It embeds the
// *ForumRepo, so every optional interface forum.Service looks for
// (retention, import) stays there.
type CountedForumRepo struct {
	*ForumRepo
	rec *metrics.Recorder
}

// CountedBy returns r reporting to rec (nil: counting nothing).
func (r *ForumRepo) CountedBy(rec *metrics.Recorder) *CountedForumRepo {
	return &CountedForumRepo{ForumRepo: r, rec: rec}
}

// CreateThread stores a thread and counts a visitor's question.
func (r *CountedForumRepo) CreateThread(ctx context.Context, nt forum.NewThread) (*forum.Thread, error) {
	t, err := r.ForumRepo.CreateThread(ctx, nt)
	if err == nil {
		r.rec.Asked(nt)
	}
	return t, err
}

// AddPost appends a post and counts a question's first staff answer.
func (r *CountedForumRepo) AddPost(ctx context.Context, id forum.ThreadID, fn func(t *forum.Thread) (*forum.Post, error)) (*forum.Thread, *forum.Post, error) {
	watched, commit := r.rec.WatchPost(fn)
	t, p, err := r.ForumRepo.AddPost(ctx, id, watched)
	if err == nil {
		commit()
	}
	return t, p, err
}
