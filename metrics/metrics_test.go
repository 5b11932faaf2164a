package metrics_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"tropa/forum"
	"tropa/metrics"
)

var msk = time.FixedZone("UTC+3", 3*3600)

func TestDaysAndWeeks(t *testing.T) {
	// 1 January 1970 (a Thursday) at 02:59 UTC is still that day in
	// Saint Petersburg... and at 21:00 UTC already the next.
	if d := metrics.DayOf(time.Date(1970, 1, 1, 20, 59, 0, 0, time.UTC)); d != 0 {
		t.Errorf("day %d", d)
	}
	if d := metrics.DayOf(time.Date(1970, 1, 1, 21, 0, 0, 0, time.UTC)); d != 1 {
		t.Errorf("day %d", d)
	}
	mon := time.Date(2025, 3, 10, 0, 0, 0, 0, msk)
	for i := 0; i < 7; i++ {
		at := mon.AddDate(0, 0, i).Add(23*time.Hour + 59*time.Minute)
		if metrics.WeekOf(at) != metrics.WeekOf(mon) {
			t.Errorf("%s is not in the week of %s", at, mon)
		}
	}
	if metrics.WeekOf(mon.Add(-time.Second)) != metrics.WeekOf(mon)-1 {
		t.Error("Sunday 23:59:59 is in Monday's week")
	}
	if got := metrics.WeekOf(mon).First().Time(); !got.Equal(mon) {
		t.Errorf("the week starts %s, want %s", got, mon)
	}
}

func TestBucketsAndMedian(t *testing.T) {
	for _, c := range []struct {
		h      int64
		lo, hi int
	}{{-3, 0, 0}, {0, 0, 0}, {5, 5, 5}, {47, 47, 47}, {48, 48, 71}, {100, 96, 119}, {200, 168, 335}, {5000, 336, -1}} {
		lo, hi := metrics.BucketRange(metrics.BucketOf(c.h))
		if lo != c.lo || hi != c.hi {
			t.Errorf("%d h: bucket %d–%d, want %d–%d", c.h, lo, hi, c.lo, c.hi)
		}
	}
	hist := make([]uint64, metrics.NumBuckets)
	hist[1], hist[3], hist[10] = 1, 1, 1
	if b := metrics.Median(hist); b != 3 {
		t.Errorf("median of 1, 3, 10: %d", b)
	}
	hist[10] = 2 // 1, 3, 10, 10: the lower median
	if b := metrics.Median(hist); b != 3 {
		t.Errorf("median of 1, 3, 10, 10: %d", b)
	}
}

// memRepo is a metrics.Repository in memory; fail makes AddCounts fail.
type memRepo struct {
	mu   sync.Mutex
	c    metrics.Counts
	fail bool
	adds int
}

func newMemRepo() *memRepo {
	return &memRepo{c: metrics.Counts{Days: map[metrics.DayCounter]uint64{}, Hist: map[metrics.WeekBucket]uint64{}}}
}

func (m *memRepo) AddCounts(_ context.Context, c metrics.Counts) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	m.adds++
	for k, v := range c.Days {
		m.c.Days[k] += v
	}
	for k, v := range c.Hist {
		m.c.Hist[k] += v
	}
	return nil
}

func (m *memRepo) LoadCounts(_ context.Context, from, to metrics.Day) (metrics.Counts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := metrics.Counts{Days: map[metrics.DayCounter]uint64{}, Hist: map[metrics.WeekBucket]uint64{}}
	for k, v := range m.c.Days {
		if k.Day >= from && k.Day <= to {
			out.Days[k] = v
		}
	}
	for k, v := range m.c.Hist {
		if k.Week >= from.Week() && k.Week <= to.Week() {
			out.Hist[k] = v
		}
	}
	return out, nil
}

func TestRecorderDaysFlushAndWeeks(t *testing.T) {
	ctx := context.Background()
	repo := newMemRepo()
	now := time.Date(2025, 3, 16, 23, 30, 0, 0, msk) // a Sunday
	r := metrics.NewRecorder(repo, func() time.Time { return now })
	r.Inc(metrics.ViewsHIV)
	r.Inc(metrics.ViewsHIV)
	now = now.Add(time.Hour) // Monday: a new day and week
	r.Inc(metrics.ViewsHIV)
	r.FirstAnswer(5)
	r.FirstAnswer(30)
	r.FirstAnswer(7)
	if repo.adds != 0 {
		t.Fatal("counting wrote to the store")
	}
	rows, err := r.Weeks(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Counts[metrics.ViewsHIV] != 2 || rows[1].Counts[metrics.ViewsHIV] != 1 || rows[1].Counts[metrics.Answered] != 3 {
		t.Errorf("unflushed weeks: %+v", rows)
	}
	if !rows[1].HasMedian || rows[1].MedianLo != 7 || rows[0].HasMedian {
		t.Errorf("median: %+v", rows[1])
	}
	// A failed flush keeps the counts for the next.
	repo.fail = true
	if err := r.Flush(ctx); err == nil {
		t.Fatal("the flush did not fail")
	}
	repo.fail = false
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil || repo.adds != 1 {
		t.Errorf("an empty flush wrote: %d adds, %v", repo.adds, err)
	}
	sunday, monday := metrics.DayOf(now.Add(-time.Hour)), metrics.DayOf(now)
	if repo.c.Days[metrics.DayCounter{Day: sunday, Counter: "views.hiv"}] != 2 || repo.c.Days[metrics.DayCounter{Day: monday, Counter: "views.hiv"}] != 1 {
		t.Errorf("stored days: %v", repo.c.Days)
	}
	again, _ := r.Weeks(ctx, 2)
	if again[0].Counts != rows[0].Counts || again[1].Counts != rows[1].Counts || again[1].MedianLo != 7 {
		t.Errorf("weeks changed by the flush:\n%+v\n%+v", rows, again)
	}
	if len(repo.c.Days) != 3 || len(repo.c.Hist) != 3 {
		t.Errorf("stored %d day keys and %d buckets, want 3 and 3", len(repo.c.Days), len(repo.c.Hist))
	}
}

func TestNilRecorder(t *testing.T) {
	var r *metrics.Recorder
	r.Inc(metrics.ViewsHome)
	r.FirstAnswer(3)
	r.Asked(forum.NewThread{})
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartStopFlushes(t *testing.T) {
	repo := newMemRepo()
	r := metrics.NewRecorder(repo, nil)
	stop := r.Start()
	r.Inc(metrics.BookingsMade)
	stop()
	stop()
	if repo.adds != 1 {
		t.Errorf("stop flushed %d times, want 1", repo.adds)
	}
}

func TestWatchPostCountsFirstStaffAnswerOnly(t *testing.T) {
	repo := newMemRepo()
	now := time.Date(2025, 3, 12, 12, 0, 0, 0, msk)
	r := metrics.NewRecorder(repo, func() time.Time { return now })
	staffPost := func(t *forum.Thread) (*forum.Post, error) {
		return &forum.Post{Author: forum.Author{Kind: forum.Staff}, Hour: t.Created + 4}, nil
	}
	for _, c := range []struct {
		name   string
		thread forum.Thread
		fn     func(t *forum.Thread) (*forum.Post, error)
		commit bool
	}{
		{"first answer", forum.Thread{Asker: 1, Created: 100}, staffPost, true},
		{"already answered", forum.Thread{Asker: 1, Created: 100, Answered: true}, staffPost, true},
		{"staff thread", forum.Thread{Created: 100}, staffPost, true},
		{"asker follow-up", forum.Thread{Asker: 1, Created: 100}, func(t *forum.Thread) (*forum.Post, error) {
			return &forum.Post{Author: forum.Author{Kind: forum.AskerAuthor}}, nil
		}, true},
		{"refused", forum.Thread{Asker: 1, Created: 100}, func(*forum.Thread) (*forum.Post, error) { return nil, errors.New("locked") }, true},
		{"not stored", forum.Thread{Asker: 1, Created: 100}, staffPost, false},
	} {
		watched, commit := r.WatchPost(c.fn)
		th := c.thread
		watched(&th)
		watched(&th) // a retried transaction runs it again: still one
		if c.commit {
			commit()
		}
	}
	r.Asked(forum.NewThread{Question: forum.Post{Author: forum.Author{Kind: forum.AskerAuthor}}, Thread: forum.Thread{Private: true}})
	r.Asked(forum.NewThread{Question: forum.Post{Author: forum.Author{Kind: forum.Staff}}})
	rows, _ := r.Weeks(context.Background(), 1)
	c := rows[0].Counts
	if c[metrics.Answered] != 1 || rows[0].MedianLo != 4 || c[metrics.QuestionsPrivate] != 1 || c[metrics.QuestionsPublic] != 0 {
		t.Errorf("counts: answered %d (median %d), private %d, public %d", c[metrics.Answered], rows[0].MedianLo, c[metrics.QuestionsPrivate], c[metrics.QuestionsPublic])
	}
}
