// Package metrics counts the portal's outreach for the fund's reports, and
// is private by construction: all it ever holds is a total per counter per
// day and, per week, a histogram of how many hours the first staff answers
// took. No event is kept on its own: nothing about a visitor, no
// identifier, no time finer than the day (an answer's delay is the number
// of hours between two hours the forum keeps anyway).
//
// Counts gather in memory and are added to the stored daily totals when the
// hour turns (and at Stop), not more often: the store keeps old versions of
// a value for a while, and a total written every minute would tell, from
// its versions, in which minute someone asked a question. The hour is the
// finest time the forum keeps itself.
//
// It must never import echo, bine or Badger.
package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Counter is one daily counter.
type Counter uint8

// The counters. Their names (Name) are stored: never rename one; add new
// counters at the end (before NumCounters).
const (
	ViewsHome Counter = iota
	ViewsOverdose
	ViewsServices
	ViewsHIV
	ViewsHepatitis
	ViewsInjecting
	ViewsHarmReduction
	ViewsAbout
	ViewsBoard
	ViewsNews
	QuestionsPublic
	QuestionsPrivate
	Answered // questions that got their first staff answer
	BookingsMade
	BookingsAttended
	NumCounters
)

var names = [NumCounters]string{
	"views.home", "views.overdose", "views.services", "views.hiv", "views.hepatitis", "views.injecting",
	"views.harm-reduction", "views.about", "views.board", "views.news",
	"questions.public", "questions.private", "answered", "bookings.made", "bookings.attended",
}

// Views are the page-view counters, one per section of the portal.
var Views = []Counter{ViewsHome, ViewsOverdose, ViewsServices, ViewsHIV, ViewsHepatitis, ViewsInjecting,
	ViewsHarmReduction, ViewsAbout, ViewsBoard, ViewsNews}

// Name is the counter's stored name, e.g. "views.hiv".
func (c Counter) Name() string {
	if c < NumCounters {
		return names[c]
	}
	return ""
}

// CounterNamed returns the counter with a stored name.
func CounterNamed(name string) (Counter, bool) {
	for i, n := range names {
		if n == name {
			return Counter(i), true
		}
	}
	return 0, false
}

// Clock tells the time; tests inject their own.
type Clock func() time.Time

// Day is a calendar day in Saint Petersburg (UTC+3 all year): days since
// 1 January 1970.
type Day int32

// Week is a week, Monday to Sunday, as weeks since Monday 29 December 1969.
type Week int32

const msk = 3 * 3600

var zone = time.FixedZone("MSK", msk)

// DayOf returns t's day in Saint Petersburg.
func DayOf(t time.Time) Day { return Day(floorDiv(t.Unix()+msk, 86400)) }

// Time returns the day's midnight, in Saint Petersburg.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400-msk, 0).In(zone) }

// Week returns the week the day is in (1 January 1970 was a Thursday).
func (d Day) Week() Week { return Week(floorDiv(int64(d)+3, 7)) }

// First returns the week's Monday.
func (w Week) First() Day { return Day(int64(w)*7 - 3) }

// WeekOf returns t's week in Saint Petersburg.
func WeekOf(t time.Time) Week { return DayOf(t).Week() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Answer delays are counted in buckets of hours: one per hour below two
// days, then wider ones.
var bucketLo = func() []int {
	var lo []int
	for h := 0; h < 48; h++ {
		lo = append(lo, h)
	}
	return append(lo, 48, 72, 96, 120, 168, 336)
}()

// NumBuckets is the number of answer-delay buckets.
var NumBuckets = len(bucketLo)

// BucketOf returns the bucket of a delay in hours (negative: 0).
func BucketOf(hours int64) uint8 {
	b := 0
	for i, lo := range bucketLo {
		if hours >= int64(lo) {
			b = i
		}
	}
	return uint8(b)
}

// BucketRange returns a bucket's hours: from lo to hi inclusive; hi is -1
// for the last, open one.
func BucketRange(b uint8) (lo, hi int) {
	if int(b) >= len(bucketLo)-1 {
		return bucketLo[len(bucketLo)-1], -1
	}
	return bucketLo[b], bucketLo[b+1] - 1
}

// DayCounter names a stored daily total.
type DayCounter struct {
	Day     Day
	Counter string // Counter.Name
}

// WeekBucket names a stored count of answer delays.
type WeekBucket struct {
	Week   Week
	Bucket uint8
}

// Counts are totals: per day and counter, and per week and delay bucket.
type Counts struct {
	Days map[DayCounter]uint64
	Hist map[WeekBucket]uint64
}

func newCounts() Counts {
	return Counts{Days: map[DayCounter]uint64{}, Hist: map[WeekBucket]uint64{}}
}

func (c Counts) empty() bool { return len(c.Days) == 0 && len(c.Hist) == 0 }

func (c Counts) add(o Counts) {
	for k, v := range o.Days {
		c.Days[k] += v
	}
	for k, v := range o.Hist {
		c.Hist[k] += v
	}
}

// Repository stores the totals.
type Repository interface {
	// AddCounts adds c to the stored totals, in one transaction.
	AddCounts(ctx context.Context, c Counts) error
	// LoadCounts returns the stored totals of the days from..to and of
	// the weeks they are in.
	LoadCounts(ctx context.Context, from, to Day) (Counts, error)
}

// Recorder counts in memory and adds the counts to the store. It is safe
// for concurrent use; a nil Recorder counts nothing. Make one per store.
type Recorder struct {
	repo Repository
	now  Clock

	// Today's counts, kept lock-free: counting a page view is an atomic
	// add. The day changes under mu.
	day atomic.Int32
	cur [NumCounters]atomic.Uint64

	mu      sync.Mutex
	pending Counts // earlier days' counts and the delay histogram, not yet stored
	flushed int64  // the hour (Unix/3600) of the last flush
}

// NewRecorder returns a recorder over repo; a nil clock is time.Now.
func NewRecorder(repo Repository, now Clock) *Recorder {
	if now == nil {
		now = time.Now
	}
	r := &Recorder{repo: repo, now: now, pending: newCounts()}
	t := now()
	r.day.Store(int32(DayOf(t)))
	r.flushed = t.Unix() / 3600
	return r
}

// Inc adds one to counter c for today.
func (r *Recorder) Inc(c Counter) {
	if r == nil || c >= NumCounters {
		return
	}
	if d := DayOf(r.now()); int32(d) != r.day.Load() {
		r.mu.Lock()
		r.rotate(d)
		r.mu.Unlock()
	}
	r.cur[c].Add(1)
}

// FirstAnswer counts a question's first staff answer, delay hours after it
// was asked, in today's Answered and this week's delay histogram.
func (r *Recorder) FirstAnswer(delay int64) {
	if r == nil {
		return
	}
	r.Inc(Answered)
	r.mu.Lock()
	r.pending.Hist[WeekBucket{WeekOf(r.now()), BucketOf(delay)}]++
	r.mu.Unlock()
}

// rotate moves the counts of the day that ended into pending; r.mu held.
func (r *Recorder) rotate(d Day) {
	old := Day(r.day.Load())
	if old == d {
		return
	}
	r.take(old, r.pending)
	r.day.Store(int32(d))
}

// take moves the current counts into c under day; r.mu held.
func (r *Recorder) take(day Day, c Counts) {
	for i := range r.cur {
		if n := r.cur[i].Swap(0); n > 0 {
			c.Days[DayCounter{day, Counter(i).Name()}] += n
		}
	}
}

// Flush adds everything counted so far to the store. On failure the counts
// stay in memory for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.rotate(DayOf(r.now()))
	c := r.pending
	r.take(Day(r.day.Load()), c)
	r.pending = newCounts()
	r.flushed = r.now().Unix() / 3600
	r.mu.Unlock()
	if c.empty() {
		return nil
	}
	if err := r.repo.AddCounts(ctx, c); err != nil {
		r.mu.Lock()
		r.pending.add(c)
		r.mu.Unlock()
		return err
	}
	return nil
}

// unflushed returns a copy of what is counted and not yet stored.
func (r *Recorder) unflushed() Counts {
	c := newCounts()
	r.mu.Lock()
	defer r.mu.Unlock()
	c.add(r.pending)
	day := Day(r.day.Load())
	for i := range r.cur {
		if n := r.cur[i].Load(); n > 0 {
			c.Days[DayCounter{day, Counter(i).Name()}] += n
		}
	}
	return c
}

// Start flushes whenever the hour turns (it looks once a minute) until the
// returned stop is called; stop flushes a last time and waits for it.
func (r *Recorder) Start() (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			select {
			case <-done:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = r.Flush(ctx)
				cancel()
				return
			case <-tick.C:
				r.mu.Lock()
				due := r.now().Unix()/3600 != r.flushed
				r.mu.Unlock()
				if due {
					_ = r.Flush(context.Background())
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}
