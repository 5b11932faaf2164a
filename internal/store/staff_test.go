package store_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"tropa/internal/store"
	"tropa/staff"
)

func openStaffRepo(tb testing.TB, dir string) (*store.DB, *store.StaffRepo) {
	tb.Helper()
	db, err := store.Open(store.Options{Dir: dir, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, store.NewStaffRepo(db)
}

func staffAccount(name string, gen uint64) staff.AccountRecord {
	return staff.AccountRecord{
		Account:  staff.Account{Name: name, DisplayName: "Команда фонда", Role: staff.RoleOutreach, Created: 480000},
		Password: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		Gen:      gen,
	}
}

func digest(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// TestStaffSessionTTL: a session is written with Badger's TTL and vanishes
// by itself, with its index entry, in real time.
func TestStaffSessionTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 2 s for a TTL")
	}
	ctx := context.Background()
	_, r := openStaffRepo(t, "")
	if err := r.CreateAccount(ctx, staffAccount("anna", 1)); err != nil {
		t.Fatal(err)
	}
	s := staff.SessionRecord{Name: "anna", Gen: 1, Expires: time.Now().Add(time.Hour).Unix()}
	if err := r.CreateSession(ctx, digest("short"), s, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateSession(ctx, digest("long"), s, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Session(ctx, digest("short")); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	time.Sleep(2100 * time.Millisecond) // Badger's TTL counts whole seconds
	if _, err := r.Session(ctx, digest("short")); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("session past its TTL: %v", err)
	}
	if _, err := r.Session(ctx, digest("long")); err != nil {
		t.Errorf("session within its TTL: %v", err)
	}
	// Touching a vanished session does not bring it back.
	if err := r.TouchSession(ctx, digest("short"), s, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Session(ctx, digest("short")); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("touch revived a session: %v", err)
	}
}

func TestStaffGenerationEndsSessions(t *testing.T) {
	ctx := context.Background()
	_, r := openStaffRepo(t, "")
	for _, n := range []string{"anna", "anna.k"} { // one name a prefix of the other
		if err := r.CreateAccount(ctx, staffAccount(n, 1)); err != nil {
			t.Fatal(err)
		}
		s := staff.SessionRecord{Name: n, Gen: 1, Expires: time.Now().Add(time.Hour).Unix()}
		if err := r.CreateSession(ctx, digest(n), s, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.CreateAccount(ctx, staffAccount("anna", 1)); staff.ErrorKey(err) != staff.KeyNameTaken {
		t.Errorf("duplicate account: %v", err)
	}
	// A change that keeps the generation keeps the sessions.
	if _, err := r.UpdateAccount(ctx, "anna", func(a *staff.AccountRecord) error { a.DisplayName = "Анна"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Session(ctx, digest("anna")); err != nil {
		t.Errorf("display name change ended a session: %v", err)
	}
	a, err := r.UpdateAccount(ctx, "anna", func(a *staff.AccountRecord) error { a.Gen++; a.Name = "evil"; return nil })
	if err != nil || a.Name != "anna" || a.Gen != 2 {
		t.Fatalf("UpdateAccount = %+v, %v", a, err)
	}
	if _, err := r.Session(ctx, digest("anna")); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("session survived a new generation: %v", err)
	}
	if _, err := r.Session(ctx, digest("anna.k")); err != nil {
		t.Errorf("another account's session ended: %v", err)
	}
	if err := r.DeleteAccount(ctx, "anna.k"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Session(ctx, digest("anna.k")); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("session survived its account: %v", err)
	}
	if err := r.DeleteAccount(ctx, "anna.k"); staff.ErrorCode(err) != staff.ENOTFOUND {
		t.Errorf("delete twice: %v", err)
	}
}

func TestStaffRecordsPersist(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, r := openStaffRepo(t, dir)
	if err := r.CreateAccount(ctx, staffAccount("anna", 1)); err != nil {
		t.Fatal(err)
	}
	seed := []staff.SavedReply{{Title: "a", Body: "a", Lang: "ru", Order: 1}, {Title: "b", Body: "b", Lang: "ru", Order: 2}}
	if ok, err := r.SeedReplies(ctx, seed); !ok || err != nil {
		t.Fatalf("seed: %v %v", ok, err)
	}
	for i := range 3 {
		e := staff.ModEntry{Target: "post:1:2", Staff: "anna", Action: staff.ModHide, Detail: string(rune('a' + i)), Hour: 1}
		if err := r.AddModEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddModEntry(ctx, staff.ModEntry{Target: "post:1/2", Staff: "anna", Action: staff.ModHide}); staff.ErrorCode(err) != staff.EINTERNAL {
		t.Errorf("a target with '/' reached the store: %v", err)
	}
	db.Close()

	_, r = openStaffRepo(t, dir)
	if a, err := r.Account(ctx, "anna"); err != nil || a.DisplayName != "Команда фонда" || a.Gen != 1 {
		t.Errorf("account after reopen = %+v, %v", a, err)
	}
	rs, err := r.Replies(ctx)
	if err != nil || len(rs) != 2 || rs[0].Title != "a" || rs[0].ID == 0 {
		t.Errorf("replies after reopen = %+v, %v", rs, err)
	}
	if ok, err := r.SeedReplies(ctx, seed); ok || err != nil {
		t.Errorf("second seed: %v %v", ok, err)
	}
	h, err := r.ModHistory(ctx, "post:1:2", 10)
	if err != nil || len(h) != 3 || h[0].Detail != "c" || h[2].Detail != "a" {
		t.Errorf("history after reopen = %+v, %v", h, err)
	}
	if h, err := r.ModHistory(ctx, "post:1:2", 2); err != nil || len(h) != 2 || h[0].Detail != "c" || h[1].Detail != "b" {
		t.Errorf("the 2 newest = %+v, %v", h, err)
	}
	if h, err := r.ModHistory(ctx, "post:1", 10); err != nil || len(h) != 0 {
		t.Errorf("post:1 sees post:1:2's history: %+v, %v", h, err)
	}
	// IDs go on after a reopen.
	x := &staff.SavedReply{Title: "c", Body: "c", Lang: "en"}
	if err := r.SaveReply(ctx, x); err != nil || x.ID != 3 {
		t.Errorf("new reply after reopen: id %d, %v", x.ID, err)
	}
}
