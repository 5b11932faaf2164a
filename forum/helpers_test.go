package forum_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"tropa/forum"
	"tropa/internal/store"
)

// testKDF is cheap so tests run fast; production uses forum.DefaultKDF.
var testKDF = forum.KDFParams{Time: 1, MemoryKiB: 256, Threads: 1}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 15, 9, 26, 535, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     testing.TB
	db    *store.DB
	repo  *store.ForumRepo
	svc   *forum.Service
	clock *fakeClock
	ctx   context.Context
}

// MustOpen opens an in-memory store, the forum's repository and a seeded
// service.
func mustOpen(tb testing.TB) *env {
	tb.Helper()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		repo.Close()
		db.Close()
	})
	e := &env{t: tb, db: db, repo: repo, clock: newClock(), ctx: context.Background()}
	e.svc = forum.NewService(repo, e.clock.Now, forum.Options{KDF: testKDF})
	if err := e.svc.Seed(e.ctx); err != nil {
		tb.Fatal(err)
	}
	return e
}

func (e *env) ask(section, title, body string, private bool) *forum.AskResult {
	e.t.Helper()
	res, err := e.svc.Ask(e.ctx, forum.AskInput{Section: section, Title: title, Body: body, Private: private})
	if err != nil {
		e.t.Fatalf("Ask: %v", err)
	}
	return res
}

func (e *env) reply(id forum.ThreadID, body string, a *forum.Asker) *forum.Post {
	e.t.Helper()
	p, err := e.svc.Reply(e.ctx, forum.ReplyInput{Thread: id, Body: body, Asker: a})
	if err != nil {
		e.t.Fatalf("Reply: %v", err)
	}
	return p
}

func wantErr(tb testing.TB, err error, code, key, field string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("want error %s %s, got nil", code, key)
	}
	if got := forum.ErrorCode(err); got != code {
		tb.Fatalf("code = %q, want %q (%v)", got, code, err)
	}
	if key != "" {
		if got := forum.ErrorKey(err); got != key {
			tb.Fatalf("key = %q, want %q (%v)", got, key, err)
		}
	}
	if field != "" {
		var fe *forum.Error
		if !errors.As(err, &fe) || fe.Field != field {
			tb.Fatalf("field: want %q (%v)", field, err)
		}
	}
}

func titles(ts []forum.Thread) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Title)
	}
	return strings.Join(s, "|")
}
