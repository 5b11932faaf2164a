package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"tropa/fund"
	"tropa/internal/store"
)

func openFundRepo(tb testing.TB, dir string) (*store.DB, *store.FundRepo) {
	tb.Helper()
	db, err := store.Open(store.Options{Dir: dir, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, store.NewFundRepo(db)
}

func TestFundSeedIdempotent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, r := openFundRepo(t, dir)
	ex := fund.Examples()
	ok, err := r.Seed(ctx, ex)
	if err != nil || !ok {
		t.Fatalf("first seed: %v, %v", ok, err)
	}
	v := r.Version()
	ok, err = r.Seed(ctx, ex)
	if err != nil || ok {
		t.Fatalf("second seed: %v, %v", ok, err)
	}
	if r.Version() != v {
		t.Error("a seed that wrote nothing changed the version")
	}
	d, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Stops) != len(ex.Stops) || len(d.Doctors) != len(ex.Doctors) || len(d.Contacts) != len(ex.Contacts) {
		t.Fatalf("loaded %d/%d/%d, seeded %d/%d/%d", len(d.Stops), len(d.Doctors), len(d.Contacts),
			len(ex.Stops), len(ex.Doctors), len(ex.Contacts))
	}
	for i, s := range d.Stops {
		if s.ID != fund.ID(i+1) || !s.Example || s.Name != ex.Stops[i].Name {
			t.Errorf("stop %d: %+v", i, s)
		}
	}

	// Deleting everything does not bring the examples back, even after a
	// restart.
	for _, s := range d.Stops {
		if err := r.DeleteStop(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	_, r = openFundRepo(t, dir)
	if ok, err := r.Seed(ctx, ex); err != nil || ok {
		t.Fatalf("seed after restart: %v, %v", ok, err)
	}
	d, err = r.Load(ctx)
	if err != nil || len(d.Stops) != 0 || len(d.Doctors) != len(ex.Doctors) {
		t.Fatalf("after restart: %v, %d stops, %d doctors", err, len(d.Stops), len(d.Doctors))
	}
	// IDs are never reused.
	s := fund.Stop{Name: fund.L10n{RU: "Новая"}, Address: fund.L10n{RU: "Адрес"},
		Slot: fund.Slot{Days: fund.DaysOf(time.Monday), From: "10:00", To: "11:00"}}
	if err := r.SaveStop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != fund.ID(len(ex.Stops)+1) {
		t.Errorf("new stop got ID %d", s.ID)
	}
}

func TestFundSeedInvalid(t *testing.T) {
	_, r := openFundRepo(t, "")
	ex := fund.Examples()
	ex.Contacts[0].Value = fund.L10n{RU: "not a phone"}
	if _, err := r.Seed(context.Background(), ex); fund.ErrorCode(err) != fund.EINVALID {
		t.Fatalf("seed with an invalid contact: %v", err)
	}
	d, _ := r.Load(context.Background())
	if len(d.Stops)+len(d.Doctors)+len(d.Contacts) != 0 {
		t.Error("a refused seed wrote something")
	}
	if ok, err := r.Seed(context.Background(), fund.Examples()); !ok || err != nil {
		t.Errorf("a refused seed marked the store seeded: %v, %v", ok, err)
	}
}

func TestFundSaveLoadDelete(t *testing.T) {
	ctx := context.Background()
	_, r := openFundRepo(t, "")
	v0 := r.Version()

	s := fund.Stop{
		Name:     fund.L10n{RU: "  Север ", EN: "North"},
		Address:  fund.L10n{RU: "ул. Примерная, 1"},
		Slot:     fund.Slot{Days: fund.DaysOf(time.Monday, time.Friday), From: "9:30", To: "14:00"},
		Services: fund.ServiceHIVTest | fund.ServiceDoctor,
	}
	if err := r.SaveStop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if s.ID == 0 || r.Version() == v0 {
		t.Fatalf("after save: ID %d, version %d", s.ID, r.Version())
	}
	got, err := r.Stop(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name.RU != "Север" || got.From != "09:30" || got.Days != s.Days || got.Services != s.Services || got.Example {
		t.Errorf("stored %+v", got)
	}

	// An update replaces; an invalid one writes nothing.
	got.To = "15:00"
	if err := r.SaveStop(ctx, got); err != nil || got.ID != s.ID {
		t.Fatalf("update: %v, ID %d", err, got.ID)
	}
	v1 := r.Version()
	bad := *got
	bad.From, bad.Days = "16:00", 0
	err = r.SaveStop(ctx, &bad)
	fe := fund.FieldErrors(err)
	if fund.ErrorCode(err) != fund.EINVALID || fe["to"] == nil || fe["to"].Key != fund.KeyTimeOrder || fe["days"] == nil {
		t.Fatalf("invalid update: %v", err)
	}
	if r.Version() != v1 {
		t.Error("a refused save changed the version")
	}
	if again, _ := r.Stop(ctx, s.ID); again.To != "15:00" || again.From != "09:30" {
		t.Errorf("after a refused save: %+v", again)
	}

	// A new entry that is refused keeps ID 0.
	nw := fund.Stop{Name: fund.L10n{RU: "x"}}
	if err := r.SaveStop(ctx, &nw); err == nil || nw.ID != 0 {
		t.Errorf("invalid new stop: %v, ID %d", err, nw.ID)
	}

	// Unknown IDs.
	ghost := *got
	ghost.ID = 999
	if err := r.SaveStop(ctx, &ghost); fund.ErrorCode(err) != fund.ENOTFOUND || ghost.ID != 999 {
		t.Errorf("save of an unknown ID: %v", err)
	}
	if err := r.DeleteStop(ctx, 999); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("delete of an unknown ID: %v", err)
	}
	if _, err := r.Doctor(ctx, 1); fund.ErrorCode(err) != fund.ENOTFOUND || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get of an unknown doctor: %v", err)
	}

	if err := r.DeleteStop(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Stop(ctx, s.ID); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("deleted stop: %v", err)
	}
}

func TestFundDoctorsAndContactsOrder(t *testing.T) {
	ctx := context.Background()
	_, r := openFundRepo(t, "")
	hours := []fund.Slot{{Days: fund.DaysOf(time.Tuesday), From: "10:00", To: "12:00"}}
	for _, order := range []int{30, 10, 20} {
		d := fund.Doctor{Order: order, Name: fund.L10n{RU: "Врач"}, Specialty: fund.L10n{RU: "Терапевт"},
			Where: fund.L10n{RU: "Клиника"}, Hours: hours, Booking: fund.L10n{RU: "Через фонд"}}
		if err := r.SaveDoctor(ctx, &d); err != nil {
			t.Fatal(err)
		}
		c := fund.Contact{Order: order, Kind: fund.KindEmail, Label: fund.L10n{RU: "Почта"}, Value: fund.L10n{RU: "a@example.org"}}
		if err := r.SaveContact(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	d, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{10, 20, 30} {
		if d.Doctors[i].Order != want || d.Contacts[i].Order != want {
			t.Errorf("position %d: doctor %d, contact %d, want %d", i, d.Doctors[i].Order, d.Contacts[i].Order, want)
		}
	}
	if len(d.Doctors[0].Hours) != 1 || d.Doctors[0].Hours[0] != hours[0] {
		t.Errorf("hours not kept: %+v", d.Doctors[0].Hours)
	}
	if err := r.DeleteContact(ctx, d.Contacts[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteDoctor(ctx, d.Doctors[0].ID); err != nil {
		t.Fatal(err)
	}
	bad := fund.Contact{Kind: fund.KindTelegram, Label: fund.L10n{RU: "Чат"}, Value: fund.L10n{RU: "no-at-sign"}}
	if err := r.SaveContact(ctx, &bad); fund.FieldErrors(err)["value.ru"] == nil {
		t.Errorf("bad telegram handle: %v", err)
	}
}

func TestFundConcurrentSaves(t *testing.T) {
	ctx := context.Background()
	_, r := openFundRepo(t, "")
	const n = 20
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			s := fund.Stop{Name: fund.L10n{RU: "Стоянка"}, Address: fund.L10n{RU: "Адрес"},
				Slot: fund.Slot{Days: fund.EveryDay, From: "10:00", To: "11:00"}}
			errs <- r.SaveStop(ctx, &s)
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	d, _ := r.Load(ctx)
	if len(d.Stops) != n {
		t.Fatalf("%d stops, want %d", len(d.Stops), n)
	}
	for i, s := range d.Stops {
		if s.ID != fund.ID(i+1) {
			t.Fatalf("IDs not dense and ordered: %d at %d", s.ID, i)
		}
	}
}
