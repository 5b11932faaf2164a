package staff_test

import (
	"testing"
	"time"

	"tropa/staff"
)

func wantThrottled(tb testing.TB, err error, retry time.Duration) {
	tb.Helper()
	wantErr(tb, err, staff.EUNAVAILABLE, staff.KeyLoginThrottled, "")
	if got := err.(*staff.Error).RetryAfter; got != retry {
		tb.Fatalf("RetryAfter = %v, want %v", got, retry)
	}
}

func TestThrottleSlowsFailedLogins(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	e.add("boris", staff.RoleOutreach)
	fail := func(name string) {
		t.Helper()
		_, _, err := e.svc.Login(e.ctx, name, "wrong password!")
		wantErr(t, err, staff.EUNAUTHORIZED, staff.KeyLoginFailed, "")
	}

	// Three failures are free.
	for range 3 {
		fail("anna")
	}
	// Then even the right password waits.
	_, _, err := e.svc.Login(e.ctx, "anna", goodPassword)
	wantThrottled(t, err, time.Second)
	e.clock.Add(400 * time.Millisecond)
	_, _, err = e.svc.Login(e.ctx, "anna", goodPassword)
	wantThrottled(t, err, 600*time.Millisecond)

	// Another account is not slowed down.
	e.login("boris")

	// Each further failure doubles the wait, up to a minute.
	e.clock.Add(600 * time.Millisecond)
	want := time.Second
	for range 8 {
		fail("anna")
		want = min(2*want, time.Minute)
		_, _, err = e.svc.Login(e.ctx, "anna", goodPassword)
		wantThrottled(t, err, want)
		e.clock.Add(want)
	}
	if want != time.Minute {
		t.Fatalf("wait grew to %v only", want)
	}

	// Once the wait is over, the right password logs in and the count
	// starts again.
	e.login("anna")
	for range 3 {
		fail("anna")
	}
	_, _, err = e.svc.Login(e.ctx, "anna", goodPassword)
	wantThrottled(t, err, time.Second)

	// Failures are forgotten after a quiet quarter of an hour.
	e.clock.Add(15 * time.Minute)
	fail("anna")
	e.login("anna")
}

// TestThrottleUnknownNames: a made-up name is slowed down like a real one,
// so the delays do not reveal which names exist.
func TestThrottleUnknownNames(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	for range 3 {
		_, _, err := e.svc.Login(e.ctx, "ghost", "wrong password!")
		wantErr(t, err, staff.EUNAUTHORIZED, staff.KeyLoginFailed, "")
	}
	_, _, err := e.svc.Login(e.ctx, "ghost", "wrong password!")
	wantThrottled(t, err, time.Second)
}

// TestThrottleBoundedMemory: a flood of names cannot grow the throttle
// without bound, and names it had to drop fail as before.
func TestThrottleBoundedMemory(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	svc := e.service(staff.Options{Throttle: staff.ThrottleOptions{Names: 8, Free: 1}})
	for i := range 50 {
		name := "n" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		_, _, err := svc.Login(e.ctx, name, "wrong password!")
		wantErr(t, err, staff.EUNAUTHORIZED, staff.KeyLoginFailed, "")
	}
	// The latest name is tracked: its next try waits.
	_, _, err := svc.Login(e.ctx, "nxb", "wrong password!")
	wantThrottled(t, err, time.Second)
}
