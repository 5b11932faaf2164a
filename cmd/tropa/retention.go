package main

// The serving process's maintenance: retention (private threads deleted
// retention-days after their last activity; then receipt lookups of askers
// left without a thread, and reports on deleted threads) once a day, and
// garbage collection (flush, compaction, value-log GC: see
// internal/store/gc.go) every gc-interval and right after retention
// deleted anything, so deleted text leaves the disk files.
//
// What else expires, and where: visitors' sessions, captchas and the
// receipt shown once live in the site's memory only, with their own
// expiry (site/forms.go, site/board.go); staff sessions are Badger entries
// with a TTL (internal/store/staff.go), invisible once expired and dropped
// from the files by the same compaction.

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"tropa/forum"
	"tropa/internal/store"
)

// retentionEvery is how often the retention pass runs.
const retentionEvery = 24 * time.Hour

// maintenanceStatus is the status socket's view: times and counts only.
type maintenanceStatus struct {
	RetentionDays int           `json:"retention_days"`
	GCInterval    string        `json:"gc_interval"`
	Retention     *retentionRun `json:"last_retention,omitempty"`
	GC            *gcRun        `json:"last_gc,omitempty"`
}

type retentionRun struct {
	At      time.Time `json:"at"`
	Threads int       `json:"threads"`
	Posts   int       `json:"posts"`
	Askers  int       `json:"receipts"`
	Reports int       `json:"reports"`
	Error   string    `json:"error,omitempty"`
}

type gcRun struct {
	At           time.Time     `json:"at"`
	Took         time.Duration `json:"took"`
	VlogRewrites int           `json:"vlog_rewrites"`
	SizeBefore   int64         `json:"size_before"`
	SizeAfter    int64         `json:"size_after"`
	Error        string        `json:"error,omitempty"`
}

// maintenance runs the jobs; Stop ends them.
type maintenance struct {
	board     *forum.Service
	repo      *store.ForumRepo
	retention time.Duration
	gcEvery   time.Duration
	// changed tells the site a thread is gone (its cached pages).
	changed func(forum.ThreadID)
	out     io.Writer

	mu     sync.Mutex
	status maintenanceStatus

	cancel context.CancelFunc
	done   chan struct{}
}

func newMaintenance(board *forum.Service, repo *store.ForumRepo, days int, gcEvery time.Duration, changed func(forum.ThreadID), out io.Writer) *maintenance {
	return &maintenance{board: board, repo: repo, retention: time.Duration(days) * 24 * time.Hour, gcEvery: gcEvery,
		changed: changed, out: out,
		status: maintenanceStatus{RetentionDays: days, GCInterval: gcEvery.String()}}
}

// Start runs a retention pass at once and then daily, and GC on its timer.
func (m *maintenance) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		retain := time.NewTimer(0)
		gc := time.NewTicker(m.gcEvery)
		defer retain.Stop()
		defer gc.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-retain.C:
				if m.runRetention(ctx) > 0 {
					m.runGC(ctx)
				}
				retain.Reset(retentionEvery)
			case <-gc.C:
				m.runGC(ctx)
			}
		}
	}()
}

// Stop ends the jobs, waiting for one that is running.
func (m *maintenance) Stop() {
	if m.cancel != nil {
		m.cancel()
		<-m.done
	}
}

// Status returns a copy of the last runs.
func (m *maintenance) Status() *maintenanceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.status
	return &s
}

// runRetention deletes expired private threads and returns how many.
func (m *maintenance) runRetention(ctx context.Context) int {
	res, err := m.board.ExpirePrivate(ctx, m.retention)
	for _, id := range res.Deleted {
		m.changed(id)
	}
	if len(res.Deleted) > 0 {
		m.changed(0)
	}
	run := &retentionRun{At: time.Now(), Threads: res.Threads, Posts: res.Posts, Askers: res.Askers, Reports: res.Reports}
	if err != nil {
		run.Error = err.Error()
		fmt.Fprintf(m.out, "retention: %v\n", err)
	}
	m.mu.Lock()
	m.status.Retention = run
	m.mu.Unlock()
	return res.Threads + res.Askers + res.Reports
}

func (m *maintenance) runGC(ctx context.Context) {
	st, err := m.repo.CollectGarbage(ctx)
	run := &gcRun{At: st.Started, Took: st.Duration, VlogRewrites: st.VlogRewrites, SizeBefore: st.SizeBefore, SizeAfter: st.SizeAfter}
	if run.At.IsZero() {
		run.At = time.Now()
	}
	if err != nil {
		run.Error = err.Error()
		if ctx.Err() == nil {
			fmt.Fprintf(m.out, "garbage collection: %v\n", err)
		}
	}
	m.mu.Lock()
	m.status.GC = run
	m.mu.Unlock()
}

// printMaintenance is `tropa status`'s part for the jobs.
func printMaintenance(w io.Writer, s *maintenanceStatus, now time.Time) {
	if s == nil {
		return
	}
	ago := func(t time.Time) string {
		return t.UTC().Format("2006-01-02 15:04 UTC") + " (" + now.Sub(t).Round(time.Second).String() + " ago)"
	}
	if r := s.Retention; r == nil {
		fmt.Fprintf(w, "retention (%d days): not run yet\n", s.RetentionDays)
	} else {
		fmt.Fprintf(w, "retention (%d days): last run %s: deleted %d private threads (%d posts), %d receipts, %d reports",
			s.RetentionDays, ago(r.At), r.Threads, r.Posts, r.Askers, r.Reports)
		if r.Error != "" {
			fmt.Fprintf(w, "; FAILED: %s", r.Error)
		}
		fmt.Fprintln(w)
	}
	if g := s.GC; g == nil {
		fmt.Fprintf(w, "garbage collection (every %s): not run yet\n", s.GCInterval)
	} else {
		fmt.Fprintf(w, "garbage collection (every %s): last run %s, took %s, store %s -> %s",
			s.GCInterval, ago(g.At), g.Took.Round(time.Millisecond), byteSize(g.SizeBefore), byteSize(g.SizeAfter))
		if g.Error != "" {
			fmt.Fprintf(w, "; FAILED: %s", g.Error)
		}
		fmt.Fprintln(w)
	}
}

// byteSize shows a size in B, KiB, MiB or GiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
