package forum

import (
	"context"
	"errors"
	"time"
)

// Retention. Private questions are between an asker and the fund's staff;
// once a conversation has been quiet for the retention period, keeping it
// only adds to what a seized server would give away. ExpirePrivate deletes
// such threads (the question and every reply), then the receipt lookups
// of askers left without any thread and the reports on posts that no
// longer exist. Only counts come back: nothing about what was deleted.

// RetentionRepository is the storage retention needs, beside Repository
// (internal/store's ForumRepo implements both).
type RetentionRepository interface {
	// ExpiredPrivateThreads lists up to limit private threads whose last
	// activity is before the hour before.
	ExpiredPrivateThreads(ctx context.Context, before Hour, limit int) ([]ThreadID, error)
	// DeleteExpiredThread deletes the thread, its posts and index entries
	// if, when the write runs, it is still private and last active before
	// before; it returns the number of posts deleted (0: left alone).
	DeleteExpiredThread(ctx context.Context, id ThreadID, before Hour) (int, error)
	// ForgetIdleAskers removes the receipt lookups of askers who have no
	// thread left, and returns how many.
	ForgetIdleAskers(ctx context.Context) (int, error)
	// DropOrphanReports removes reports on posts of deleted threads.
	DropOrphanReports(ctx context.Context) (int, error)
}

// RetentionResult counts what ExpirePrivate deleted.
type RetentionResult struct {
	// Before is the cutoff: threads last active before this hour went.
	Before  Hour
	Threads int
	Posts   int
	Askers  int
	Reports int
	// Deleted lists the deleted threads, for invalidating cached pages;
	// it is not for showing or logging.
	Deleted []ThreadID `json:"-"`
}

// ErrNoRetention is returned by ExpirePrivate when the repository cannot
// do it.
var ErrNoRetention = errors.New("forum: the storage does not support retention")

// retentionBatch bounds the threads listed per pass.
const retentionBatch = 500

// ExpirePrivate deletes private threads whose last activity is maxAge or
// more ago (by the service's clock, to the hour), then forgets askers with
// no thread left and reports on deleted threads.
func (s *Service) ExpirePrivate(ctx context.Context, maxAge time.Duration) (RetentionResult, error) {
	rr, ok := s.repo.(RetentionRepository)
	if !ok {
		return RetentionResult{}, ErrNoRetention
	}
	if maxAge <= 0 {
		return RetentionResult{}, errors.New("forum: retention needs a positive age")
	}
	// Posts keep only their hour, so a thread goes once the whole hour of
	// its last activity lies maxAge or more in the past: never early.
	res := RetentionResult{Before: HourOf(s.now().Add(-maxAge))}
	for {
		ids, err := rr.ExpiredPrivateThreads(ctx, res.Before, retentionBatch)
		if err != nil {
			return res, err
		}
		progressed := false
		for _, id := range ids {
			n, err := rr.DeleteExpiredThread(ctx, id, res.Before)
			if err != nil {
				return res, err
			}
			if n > 0 {
				res.Threads++
				res.Posts += n
				res.Deleted = append(res.Deleted, id)
				progressed = true
			}
		}
		if len(ids) < retentionBatch || !progressed {
			break
		}
	}
	var err error
	if res.Askers, err = rr.ForgetIdleAskers(ctx); err != nil {
		return res, err
	}
	if res.Reports, err = rr.DropOrphanReports(ctx); err != nil {
		return res, err
	}
	return res, nil
}
