package staff_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"tropa/internal/store"
	"tropa/staff"
)

// testParams are cheap so tests run fast; production uses
// staff.DefaultParams.
var testParams = staff.Params{Time: 1, MemoryKiB: 64, Threads: 1}

const goodPassword = "correct horse battery"

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)}
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
	repo  *store.StaffRepo
	svc   *staff.Service
	clock *fakeClock
	ctx   context.Context
}

// mustOpen opens an in-memory store and a staff service over it with cheap
// hash parameters and a fake clock.
func mustOpen(tb testing.TB, opts staff.Options) *env {
	tb.Helper()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e := &env{t: tb, db: db, repo: store.NewStaffRepo(db), clock: newClock(), ctx: context.Background()}
	e.svc = e.service(opts)
	return e
}

// service makes another service over the same store and clock (as a
// restart, or a new release with other options, would).
func (e *env) service(opts staff.Options) *staff.Service {
	if opts.Params == (staff.Params{}) {
		opts.Params = testParams
	}
	return staff.NewService(e.repo, e.clock.Now, opts)
}

func (e *env) add(name string, role staff.Role) *staff.Account {
	e.t.Helper()
	a, err := e.svc.AddAccount(e.ctx, staff.NewAccount{Name: name, DisplayName: "Команда фонда", Role: role, Password: goodPassword})
	if err != nil {
		e.t.Fatalf("AddAccount %s: %v", name, err)
	}
	return a
}

func (e *env) login(name string) string {
	e.t.Helper()
	tok, _, err := e.svc.Login(e.ctx, name, goodPassword)
	if err != nil {
		e.t.Fatalf("Login %s: %v", name, err)
	}
	return tok
}

func wantErr(tb testing.TB, err error, code, key, field string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("want error %s %s, got nil", code, key)
	}
	if got := staff.ErrorCode(err); got != code {
		tb.Fatalf("code = %q, want %q (%v)", got, code, err)
	}
	if key != "" {
		if got := staff.ErrorKey(err); got != key {
			tb.Fatalf("key = %q, want %q (%v)", got, key, err)
		}
	}
	if field != "" {
		if _, ok := staff.FieldErrors(err)[field]; !ok {
			tb.Fatalf("field: want %q (%v)", field, err)
		}
	}
}
