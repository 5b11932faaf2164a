package metrics

import (
	"context"
	"time"
)

// WeekRow is one week of the report.
type WeekRow struct {
	Week   Week
	Start  time.Time // Monday, midnight in Saint Petersburg
	Counts [NumCounters]uint64
	// Answers counts the first answers whose delay is known (the
	// histogram's total); MedianLo..MedianHi are the hours of the median
	// one (MedianHi -1: MedianLo or more). HasMedian is false in a week
	// without answers.
	Answers            uint64
	MedianLo, MedianHi int
	HasMedian          bool
}

// Views sums the page views of the week.
func (w WeekRow) Views() uint64 {
	var n uint64
	for _, c := range Views {
		n += w.Counts[c]
	}
	return n
}

// Questions sums the public and private questions of the week.
func (w WeekRow) Questions() uint64 { return w.Counts[QuestionsPublic] + w.Counts[QuestionsPrivate] }

// Weeks returns the last n weeks, the current one last, from the store and
// what is counted in memory and not yet stored.
func (r *Recorder) Weeks(ctx context.Context, n int) ([]WeekRow, error) {
	if r == nil || n <= 0 {
		return nil, nil
	}
	last := WeekOf(r.now())
	first := last - Week(n-1)
	c, err := r.repo.LoadCounts(ctx, first.First(), last.First()+6)
	if err != nil {
		return nil, err
	}
	c.add(r.unflushed())
	rows := make([]WeekRow, n)
	for i := range rows {
		w := first + Week(i)
		rows[i] = WeekRow{Week: w, Start: w.First().Time()}
	}
	for k, v := range c.Days {
		w := k.Day.Week()
		ctr, ok := CounterNamed(k.Counter)
		if !ok || w < first || w > last {
			continue
		}
		rows[w-first].Counts[ctr] += v
	}
	hist := make([][]uint64, n)
	for k, v := range c.Hist {
		if k.Week < first || k.Week > last || int(k.Bucket) >= NumBuckets {
			continue
		}
		i := k.Week - first
		if hist[i] == nil {
			hist[i] = make([]uint64, NumBuckets)
		}
		hist[i][k.Bucket] += v
		rows[i].Answers += v
	}
	for i := range rows {
		if rows[i].Answers == 0 {
			continue
		}
		b := Median(hist[i])
		rows[i].MedianLo, rows[i].MedianHi = BucketRange(b)
		rows[i].HasMedian = true
	}
	return rows, nil
}

// Median returns the bucket of the median of a histogram (the lower one of
// an even count).
func Median(hist []uint64) uint8 {
	var total uint64
	for _, v := range hist {
		total += v
	}
	k := (total + 1) / 2
	var seen uint64
	for b, v := range hist {
		seen += v
		if seen >= k && v > 0 {
			return uint8(b)
		}
	}
	return 0
}
