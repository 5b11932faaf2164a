package staff_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"sync/atomic"
	"testing"
	"time"

	"tropa/staff"
)

// countingRepo counts session refreshes.
type countingRepo struct {
	staff.Repository
	touches atomic.Int64
}

func (r *countingRepo) TouchSession(ctx context.Context, hash []byte, s staff.SessionRecord, ttl time.Duration) error {
	r.touches.Add(1)
	return r.Repository.TouchSession(ctx, hash, s, ttl)
}

func tokenHash(tb testing.TB, tok string) []byte {
	tb.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		tb.Fatalf("token %q is not 32 random bytes in base64url: %v", tok, err)
	}
	sum := sha256.Sum256(raw)
	return sum[:]
}

func wantEnded(tb testing.TB, svc *staff.Service, tok string) {
	tb.Helper()
	_, err := svc.Session(context.Background(), tok)
	wantErr(tb, err, staff.EUNAUTHORIZED, staff.KeySessionEnded, "")
}

func TestSessionNewTokenEachLogin(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	t1, t2 := e.login("anna"), e.login("anna")
	if t1 == t2 {
		t.Fatal("two logins got the same token")
	}
	for _, tok := range []string{t1, t2} {
		a, err := e.svc.Session(e.ctx, tok)
		if err != nil || a.Name != "anna" {
			t.Fatalf("Session = %+v, %v", a, err)
		}
		// Only the digest is stored: the token itself finds nothing.
		if _, err := e.repo.Session(e.ctx, []byte(tok)); staff.ErrorCode(err) != staff.ENOTFOUND {
			t.Errorf("the plaintext token is a key: %v", err)
		}
		if _, err := e.repo.Session(e.ctx, tokenHash(t, tok)); err != nil {
			t.Errorf("no session under the token's SHA-256: %v", err)
		}
	}
	for _, bad := range []string{"", "x", t1[:len(t1)-1], t1 + "A", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		wantEnded(t, e.svc, bad)
	}
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	repo := &countingRepo{}
	e := mustOpen(t, staff.Options{})
	repo.Repository = e.repo
	svc := staff.NewService(repo, e.clock.Now, staff.Options{Params: testParams})
	if _, err := svc.AddAccount(e.ctx, staff.NewAccount{Name: "anna", DisplayName: "Анна", Role: staff.RoleOutreach, Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := svc.Login(e.ctx, "anna", goodPassword)
	if err != nil {
		t.Fatal(err)
	}

	// Use within a minute of the last refresh writes nothing.
	e.clock.Add(30 * time.Second)
	if _, err := svc.Session(e.ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := repo.touches.Load(); n != 0 {
		t.Errorf("%d refreshes within the first minute, want 0", n)
	}
	// Use after it refreshes the expiry once.
	e.clock.Add(31 * time.Second)
	for range 3 {
		if _, err := svc.Session(e.ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := repo.touches.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}

	// Sliding: used every 1h50m, it lives on.
	for range 3 {
		e.clock.Add(110 * time.Minute)
		if _, err := svc.Session(e.ctx, tok); err != nil {
			t.Fatalf("session used within 2 hours: %v", err)
		}
	}
	// Idle for 2 hours, it is over, and its record is gone.
	e.clock.Add(2 * time.Hour)
	wantEnded(t, svc, tok)
	if _, err := e.repo.Session(e.ctx, tokenHash(t, tok)); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("expired session still stored: %v", err)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	t1, t2 := e.login("anna"), e.login("anna")
	if err := e.svc.Logout(e.ctx, t1); err != nil {
		t.Fatal(err)
	}
	wantEnded(t, e.svc, t1)
	if _, err := e.repo.Session(e.ctx, tokenHash(t, t1)); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("logged-out session still stored: %v", err)
	}
	// Another device's session goes on.
	if _, err := e.svc.Session(e.ctx, t2); err != nil {
		t.Errorf("other session: %v", err)
	}
	// Logging out twice, or with garbage, is harmless.
	if err := e.svc.Logout(e.ctx, t1); err != nil {
		t.Error(err)
	}
	if err := e.svc.Logout(e.ctx, "garbage"); err != nil {
		t.Error(err)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	e.add("boris", staff.RoleOutreach)
	t1, t2, tb := e.login("anna"), e.login("anna"), e.login("boris")
	const newPassword = "a new long passphrase"
	if err := e.svc.SetPassword(e.ctx, "anna", newPassword); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{t1, t2} {
		wantEnded(t, e.svc, tok)
		if _, err := e.repo.Session(e.ctx, tokenHash(t, tok)); staff.ErrorCode(err) != staff.ENOTFOUND {
			t.Errorf("session survived the password change in the store: %v", err)
		}
	}
	if _, err := e.svc.Session(e.ctx, tb); err != nil {
		t.Errorf("another account's session ended: %v", err)
	}
	if _, _, err := e.svc.Login(e.ctx, "anna", goodPassword); staff.ErrorKey(err) != staff.KeyLoginFailed {
		t.Errorf("old password: %v", err)
	}
	if _, _, err := e.svc.Login(e.ctx, "anna", newPassword); err != nil {
		t.Errorf("new password: %v", err)
	}

	// EndSessions does the same without a new password.
	t3 := e.login("boris")
	if err := e.svc.EndSessions(e.ctx, "boris"); err != nil {
		t.Fatal(err)
	}
	wantEnded(t, e.svc, tb)
	wantEnded(t, e.svc, t3)
}

// TestStaleGenerationSession: a session written under an old password
// generation (a login racing a password change) is void.
func TestStaleGenerationSession(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	rec, _ := e.repo.Account(e.ctx, "anna")
	if err := e.svc.SetPassword(e.ctx, "anna", "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	// The store refuses to create it...
	raw := make([]byte, 32)
	raw[0] = 1
	tok := base64.RawURLEncoding.EncodeToString(raw)
	s := staff.SessionRecord{Name: "anna", Gen: rec.Gen, Expires: e.clock.Now().Add(time.Hour).Unix()}
	if err := e.repo.CreateSession(e.ctx, tokenHash(t, tok), s, time.Hour); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Fatalf("CreateSession with a stale generation: %v", err)
	}
	// ...and the service ignores one that got in anyway.
	if err := e.repo.TouchSession(e.ctx, tokenHash(t, tok), s, time.Hour); err != nil {
		t.Fatal(err) // a no-op: touching never creates
	}
	wantEnded(t, e.svc, tok)
}

func TestRemoveAccountEndsSessions(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("root", staff.RoleAdmin)
	e.add("anna", staff.RoleOutreach)
	tok := e.login("anna")
	if err := e.svc.RemoveAccount(e.ctx, "anna"); err != nil {
		t.Fatal(err)
	}
	wantEnded(t, e.svc, tok)
	if _, err := e.repo.Session(e.ctx, tokenHash(t, tok)); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("session of a removed account still stored: %v", err)
	}
	// The same name added again does not revive it.
	e.add("anna", staff.RoleOutreach)
	wantEnded(t, e.svc, tok)
}

func TestSessionSeesCurrentAccount(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("root", staff.RoleAdmin)
	e.add("anna", staff.RoleOutreach)
	tok := e.login("anna")
	if _, err := e.svc.SetRole(e.ctx, "anna", staff.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetDisplayName(e.ctx, "anna", "  Анна   из фонда "); err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.Session(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != staff.RoleAdmin || a.DisplayName != "Анна из фонда" || !a.Can(staff.ActionManageStaff) {
		t.Errorf("session account = %+v, want the new role and display name", a)
	}
}
