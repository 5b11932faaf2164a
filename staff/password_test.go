package staff_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"tropa/staff"
)

func TestHashCarriesItsParameters(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	rec, err := e.repo.Account(e.ctx, "anna")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.Password, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash = %q, want the test parameters in a PHC string", rec.Password)
	}
	if parts := strings.Split(rec.Password, "$"); len(parts) != 6 || len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Errorf("hash = %q, want $argon2id$v$params$salt(16 bytes)$hash(32 bytes)", rec.Password)
	}
	if strings.Contains(rec.Password, goodPassword) {
		t.Error("the password is in the record")
	}

	// Two accounts with the same password get different salts.
	e.add("boris", staff.RoleOutreach)
	rec2, _ := e.repo.Account(e.ctx, "boris")
	if rec2.Password == rec.Password {
		t.Error("same hash for the same password: no salt?")
	}
}

func TestDefaultParamsInHash(t *testing.T) {
	if testing.Short() {
		t.Skip("one production-cost hash")
	}
	e := mustOpen(t, staff.Options{})
	svc := staff.NewService(e.repo, e.clock.Now, staff.Options{}) // DefaultParams
	if _, err := svc.AddAccount(e.ctx, staff.NewAccount{Name: "anna", DisplayName: "Анна", Role: staff.RoleAdmin, Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	rec, _ := e.repo.Account(e.ctx, "anna")
	if !strings.HasPrefix(rec.Password, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash = %q, want the default parameters m=65536,t=3,p=2", rec.Password)
	}
}

func TestLoginChecksPassword(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)

	tok, acct, err := e.svc.Login(e.ctx, "  Anna ", goodPassword)
	if err != nil || tok == "" || acct.Name != "anna" {
		t.Fatalf("Login with the right password = %q, %+v, %v", tok, acct, err)
	}
	_, _, err = e.svc.Login(e.ctx, "anna", goodPassword+"!")
	wantErr(t, err, staff.EUNAUTHORIZED, staff.KeyLoginFailed, "")
	_, _, err = e.svc.Login(e.ctx, "anna", "")
	wantErr(t, err, staff.EUNAUTHORIZED, staff.KeyLoginFailed, "")
	_, _, err = e.svc.Login(e.ctx, "anna", strings.Repeat("x", 5000))
	wantErr(t, err, staff.EUNAUTHORIZED, staff.KeyLoginFailed, "")

	// An unknown name, or one no account can have, fails exactly alike.
	for _, name := range []string{"nobody", "Я", "", strings.Repeat("a", 100)} {
		_, _, err = e.svc.Login(e.ctx, name, goodPassword)
		wantErr(t, err, staff.EUNAUTHORIZED, staff.KeyLoginFailed, "")
	}
}

func TestPasswordIsNormalised(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	composed := "пароль для caf\u00e9 2025"    // é as one code point
	decomposed := "пароль для cafe\u0301 2025" // e + combining acute
	if _, err := e.svc.AddAccount(e.ctx, staff.NewAccount{Name: "anna", DisplayName: "Анна", Role: staff.RoleOutreach, Password: composed}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Login(e.ctx, "anna", decomposed); err != nil {
		t.Errorf("the same password typed decomposed: %v", err)
	}
}

func TestPasswordLimits(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	for _, tc := range []struct {
		pw, key string
	}{
		{strings.Repeat("a", 11), staff.KeyPasswordTooShort},
		{strings.Repeat("a", 257), staff.KeyPasswordTooLong},
		{"twelve chars\xff", staff.KeyPasswordInvalid},
		{"twelve chars\x00", staff.KeyPasswordInvalid},
		{strings.Repeat("я", 12), ""}, // runes, not bytes
		{strings.Repeat("я", 256), ""},
	} {
		err := e.svc.SetPassword(e.ctx, "anna", tc.pw)
		if tc.key == "" {
			if err != nil {
				t.Errorf("SetPassword(%d runes): %v", len([]rune(tc.pw)), err)
			}
			continue
		}
		wantErr(t, err, staff.EINVALID, tc.key, "password")
	}
}

// TestRehashOnRaisedParams: a login under raised parameters checks the old
// hash with its own parameters, then stores a hash made with the new ones.
func TestRehashOnRaisedParams(t *testing.T) {
	e := mustOpen(t, staff.Options{})
	e.add("anna", staff.RoleOutreach)
	before, _ := e.repo.Account(e.ctx, "anna")

	raised := e.service(staff.Options{Params: staff.Params{Time: 2, MemoryKiB: 128, Threads: 1}})
	tok, _, err := raised.Login(e.ctx, "anna", goodPassword)
	if err != nil {
		t.Fatalf("login under raised params: %v", err)
	}
	after, _ := e.repo.Account(e.ctx, "anna")
	if !strings.HasPrefix(after.Password, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Errorf("after login hash = %q, want it rehashed with m=128,t=2", after.Password)
	}
	if after.Gen != before.Gen {
		t.Error("a rehash ended the account's sessions")
	}
	if _, err := raised.Session(e.ctx, tok); err != nil {
		t.Errorf("the session of the rehashing login: %v", err)
	}
	// The new hash still takes the password, under either service.
	for _, svc := range []*staff.Service{raised, e.svc} {
		if _, _, err := svc.Login(e.ctx, "anna", goodPassword); err != nil {
			t.Errorf("login after rehash: %v", err)
		}
	}
	// Lower parameters never weaken a stored hash.
	again, _ := e.repo.Account(e.ctx, "anna")
	if again.Password != after.Password {
		t.Errorf("a login under lower params replaced the hash: %q", again.Password)
	}
	// A wrong password under raised parameters rehashes nothing.
	e.add("boris", staff.RoleOutreach)
	b0, _ := e.repo.Account(e.ctx, "boris")
	if _, _, err := raised.Login(e.ctx, "boris", "wrong password!"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if b1, _ := e.repo.Account(e.ctx, "boris"); b1.Password != b0.Password {
		t.Error("a failed login rehashed")
	}
}

// TestUnknownNameCostsTheSame: an unknown name is checked against a dummy
// hash, so its failure takes as long as a known name's.
func TestUnknownNameCostsTheSame(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	e := mustOpen(t, staff.Options{})
	p := staff.Params{Time: 2, MemoryKiB: 8 << 10, Threads: 1} // ~10 ms
	svc := e.service(staff.Options{Params: p, Throttle: staff.ThrottleOptions{Free: 1000}})
	if _, err := svc.AddAccount(e.ctx, staff.NewAccount{Name: "anna", DisplayName: "Анна", Role: staff.RoleOutreach, Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	median := func(name string) time.Duration {
		var ds []time.Duration
		for range 7 {
			start := time.Now()
			if _, _, err := svc.Login(e.ctx, name, "wrong password!"); staff.ErrorKey(err) != staff.KeyLoginFailed {
				t.Fatalf("login %s: %v", name, err)
			}
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	known, unknown := median("anna"), median("nobody")
	if r := float64(unknown) / float64(known); r < 0.5 || r > 2 {
		t.Errorf("unknown name %v vs known name %v: the difference tells them apart", unknown, known)
	}
}
