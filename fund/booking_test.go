package fund_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"strings"
	"testing"
	"time"

	"tropa/fund"
	"tropa/internal/store"
)

var msk = time.FixedZone("UTC+3", 3*60*60)

// saturday is Saturday 15 March 2025, 10:00 in Saint Petersburg.
var saturday = time.Date(2025, 3, 15, 10, 0, 0, 0, msk)

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	count := map[rune]int{}
	for i := 0; i < 3000; i++ {
		c, err := fund.NewCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != fund.CodeLen || !fund.ValidCode(c) || strings.ContainsAny(c, "01OIL") {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		for _, r := range c {
			count[r]++
		}
	}
	if len(seen) < 2990 {
		t.Errorf("%d distinct codes out of 3000", len(seen))
	}
	if len(count) != len(fund.CodeAlphabet) {
		t.Errorf("%d characters used, want all %d", len(count), len(fund.CodeAlphabet))
	}
	for r, n := range count { // 18000 draws over 31 characters: ~580 each
		if n < 400 || n > 780 {
			t.Errorf("character %c drawn %d times: not uniform", r, n)
		}
	}
	if fund.NormalizeCode(" ab-c2 34 ") != "ABC234" || fund.ValidCode("ABC0O1") || fund.ValidCode("ABC23") {
		t.Error("NormalizeCode or ValidCode")
	}
}

func TestBookOptions(t *testing.T) {
	ex := fund.Examples()
	for i := range ex.Stops {
		ex.Stops[i].ID = fund.ID(i + 1)
	}
	opts := fund.BookOptions(ex.Stops, saturday)
	if len(opts) == 0 || !opts[0].Date.Equal(fund.DateOf(saturday)) || opts[0].Stop.Name.RU != "Центр (пример)" {
		t.Fatalf("the first option is not today's centre stop: %+v", opts[0])
	}
	last := opts[len(opts)-1].Date
	if last.After(fund.DateOf(saturday).AddDate(0, 0, fund.BookDays-1)) {
		t.Errorf("an option on %s, past %d days", last, fund.BookDays)
	}
	for _, o := range opts {
		if o.Stop.Name.RU == "Восток (пример)" {
			t.Error("a stop without tests is offered")
		}
		if !o.Stop.Days.Has(o.Date.Weekday()) {
			t.Errorf("%s on %s: not its day", o.Stop.Name.RU, o.Date)
		}
	}
	// At 17:00 today's stop (12:00–16:00) has closed.
	if late := fund.BookOptions(ex.Stops, saturday.Add(7*time.Hour)); late[0].Date.Equal(fund.DateOf(saturday)) {
		t.Error("a closed stop is offered today")
	}
	if v := opts[0].Value(); v != "3/2025-03-15" {
		t.Errorf("option value %q", v)
	}
}

// bookings are the booking rules over an in-memory store, with a clock
// near the real time (the store's TTL is real time).
type bookings struct {
	*fund.Bookings
	stops *store.FundRepo
	now   time.Time
}

func newBookings(t *testing.T, now time.Time, rnd io.Reader) *bookings {
	t.Helper()
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	stops := store.NewFundRepo(db)
	b := &bookings{stops: stops, now: now}
	b.Bookings = fund.NewBookings(store.NewBookingRepo(db), stops, func() time.Time { return b.now }, rnd)
	return b
}

func (b *bookings) stop(t *testing.T, days fund.Days, from, to string, svc fund.Services) fund.ID {
	t.Helper()
	s := fund.Stop{Name: fund.L10n{RU: "Остановка"}, Address: fund.L10n{RU: "Адрес"}, Slot: fund.Slot{Days: days, From: from, To: to}, Services: svc}
	if err := b.stops.SaveStop(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return s.ID
}

func fieldKey(t *testing.T, err error, field string) string {
	t.Helper()
	return fieldKeys(t, err)[field]
}

func TestBookRules(t *testing.T) {
	ctx := context.Background()
	now := time.Now().In(fund.Zone)
	noon := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, fund.Zone)
	b := newBookings(t, noon, nil)
	all := b.stop(t, fund.EveryDay, "00:00", "23:59", fund.ServiceHIVTest|fund.ServiceHepatitisTest)
	morning := b.stop(t, fund.EveryDay, "08:00", "10:00", fund.ServiceHIVTest)
	today := fund.DateOf(noon)
	other := fund.DaysOf(today.AddDate(0, 0, 1).Weekday())
	tomorrowOnly := b.stop(t, other, "10:00", "14:00", fund.ServiceHIVTest)
	day := func(n int) string { return today.AddDate(0, 0, n).Format(fund.DateLayout) }
	cases := []struct {
		name        string
		in          fund.BookInput
		field, want string
	}{
		{"yesterday", fund.BookInput{Stop: all, Date: day(-1), Test: fund.TestHIV}, "slot", fund.KeyBookPast},
		{"long ago", fund.BookInput{Stop: all, Date: "2020-01-01", Test: fund.TestHIV}, "slot", fund.KeyBookPast},
		{"today, closed", fund.BookInput{Stop: morning, Date: day(0), Test: fund.TestHIV}, "slot", fund.KeyBookPast},
		{"too far", fund.BookInput{Stop: all, Date: day(fund.BookDays), Test: fund.TestHIV}, "slot", fund.KeyBookFar},
		{"not its day", fund.BookInput{Stop: tomorrowOnly, Date: day(0), Test: fund.TestHIV}, "slot", fund.KeyBookDay},
		{"no such stop", fund.BookInput{Stop: 99, Date: day(1), Test: fund.TestHIV}, "slot", fund.KeyBookSlot},
		{"bad date", fund.BookInput{Stop: all, Date: "15.03.2025", Test: fund.TestHIV}, "slot", fund.KeyBookSlot},
		{"no test", fund.BookInput{Stop: all, Date: day(1), Test: ""}, "test", fund.KeyBookTest},
		{"test not offered", fund.BookInput{Stop: morning, Date: day(1), Test: fund.TestHepatitis}, "test", fund.KeyBookNoTest},
	}
	for _, c := range cases {
		_, err := b.Book(ctx, c.in)
		if got := fieldKey(t, err, c.field); got != c.want {
			t.Errorf("%s: %s = %q, want %q (%v)", c.name, c.field, got, c.want, err)
		}
	}
	for _, in := range []fund.BookInput{
		{Stop: all, Date: day(0), Test: fund.TestHepatitis},
		{Stop: all, Date: day(fund.BookDays - 1), Test: fund.TestHIV},
		{Stop: tomorrowOnly, Date: day(1), Test: fund.TestHIV},
	} {
		bk, err := b.Book(ctx, in)
		if err != nil || !fund.ValidCode(bk.Code) {
			t.Errorf("%+v: %v %+v", in, err, bk)
		}
	}
	list, err := b.List(ctx, 0)
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %d bookings, %v", len(list), err)
	}
}

// repeating returns a source whose first draws give the same code again
// and again, then others.
func repeating(n int) io.Reader {
	var buf []byte
	for i := 0; i < n; i++ {
		buf = append(buf, bytes.Repeat([]byte{0}, 16)...) // "222222"
	}
	for i := 0; i < 4096; i++ {
		buf = append(buf, byte(i*7+i/256))
	}
	return bytes.NewReader(buf)
}

// A code is unique per stop and date: the same draw on the same stop and
// date is drawn again; on another date or stop it may repeat.
func TestBookingCodeUniquePerStopAndDate(t *testing.T) {
	ctx := context.Background()
	now := time.Now().In(fund.Zone)
	b := newBookings(t, time.Date(now.Year(), now.Month(), now.Day(), 1, 0, 0, 0, fund.Zone), repeating(4))
	a := b.stop(t, fund.EveryDay, "08:00", "20:00", fund.ServiceHIVTest)
	c := b.stop(t, fund.EveryDay, "08:00", "20:00", fund.ServiceHIVTest)
	today := fund.DateOf(b.now)
	tomorrow := today.AddDate(0, 0, 1).Format(fund.DateLayout)
	first, err := b.Book(ctx, fund.BookInput{Stop: a, Date: tomorrow, Test: fund.TestHIV})
	if err != nil || first.Code != "222222" {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, _ := b.Book(ctx, fund.BookInput{Stop: a, Date: today.Format(fund.DateLayout), Test: fund.TestHIV})
	third, _ := b.Book(ctx, fund.BookInput{Stop: c, Date: tomorrow, Test: fund.TestHIV})
	if second.Code != "222222" || third.Code != "222222" {
		t.Errorf("another date or stop should take the same draw: %q %q", second.Code, third.Code)
	}
	fourth, err := b.Book(ctx, fund.BookInput{Stop: a, Date: tomorrow, Test: fund.TestHIV})
	if err != nil || fourth.Code == "222222" {
		t.Errorf("the same stop and date got the same code: %+v %v", fourth, err)
	}
	list, _ := b.List(ctx, a)
	if len(list) != 3 {
		t.Errorf("stop %d has %d bookings, want 3", a, len(list))
	}
}

func TestBookingFullDay(t *testing.T) {
	ctx := context.Background()
	now := time.Now().In(fund.Zone)
	b := newBookings(t, time.Date(now.Year(), now.Month(), now.Day(), 1, 0, 0, 0, fund.Zone), nil)
	s := b.stop(t, fund.EveryDay, "08:00", "20:00", fund.ServiceHIVTest)
	date := fund.DateOf(b.now).AddDate(0, 0, 2).Format(fund.DateLayout)
	for i := 0; i < fund.MaxPerDay; i++ {
		if _, err := b.Book(ctx, fund.BookInput{Stop: s, Date: date, Test: fund.TestHIV}); err != nil {
			t.Fatalf("booking %d: %v", i+1, err)
		}
	}
	_, err := b.Book(ctx, fund.BookInput{Stop: s, Date: date, Test: fund.TestHIV})
	if got := fieldKey(t, err, "slot"); got != fund.KeyBookFull {
		t.Errorf("booking %d: %q, want %q", fund.MaxPerDay+1, got, fund.KeyBookFull)
	}
}

// A booking vanishes a day after its date: the rules hide it at once, and
// the store's TTL (real time) drops it.
func TestBookingExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Now().In(fund.Zone)
	b := newBookings(t, time.Date(now.Year(), now.Month(), now.Day(), 1, 0, 0, 0, fund.Zone), nil)
	s := b.stop(t, fund.EveryDay, "08:00", "20:00", fund.ServiceHIVTest)
	date := fund.DateOf(b.now)
	bk, err := b.Book(ctx, fund.BookInput{Stop: s, Date: date.Format(fund.DateLayout), Test: fund.TestHIV})
	if err != nil {
		t.Fatal(err)
	}
	if want := date.AddDate(0, 0, 2); !fund.Expires(bk.Date).Equal(want) {
		t.Errorf("expires %s, want %s", fund.Expires(bk.Date), want)
	}
	for _, c := range []struct {
		at   time.Time
		live bool
	}{{date.AddDate(0, 0, 1).Add(23 * time.Hour), true}, {date.AddDate(0, 0, 2), false}} {
		b.now = c.at
		list, err := b.List(ctx, s)
		if err != nil || (len(list) == 1) != c.live {
			t.Errorf("at %s: %d bookings, live %v", c.at, len(list), c.live)
		}
	}
	if _, err := b.MarkDone(ctx, s, bk.Date, bk.Code); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("marking an expired booking done: %v", err)
	}
	// Written for a date long past, Badger's TTL has already dropped it.
	db, _ := store.Open(store.Options{NoSync: true})
	defer db.Close()
	repo := store.NewBookingRepo(db)
	if err := repo.AddBooking(ctx, fund.Booking{Stop: 1, Date: "2020-01-01", Code: "ABCDEF", Test: fund.TestHIV}, 10); err != nil {
		t.Fatal(err)
	}
	if list, _ := repo.Bookings(ctx, 0); len(list) != 0 {
		t.Errorf("the store still returns an expired booking: %+v", list)
	}
	n := 0
	db.ForEach([]byte("b/"), func(k, v []byte) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d expired bookings visible in the store", n)
	}
}

func TestMarkDone(t *testing.T) {
	ctx := context.Background()
	now := time.Now().In(fund.Zone)
	b := newBookings(t, time.Date(now.Year(), now.Month(), now.Day(), 1, 0, 0, 0, fund.Zone), nil)
	s := b.stop(t, fund.EveryDay, "08:00", "20:00", fund.ServiceHIVTest)
	bk, _ := b.Book(ctx, fund.BookInput{Stop: s, Date: fund.DateOf(b.now).Format(fund.DateLayout), Test: fund.TestHIV})
	for i, want := range []bool{true, false} {
		changed, err := b.MarkDone(ctx, s, bk.Date, bk.Code)
		if err != nil || changed != want {
			t.Errorf("mark done #%d: %v %v", i+1, changed, err)
		}
	}
	if list, _ := b.List(ctx, s); len(list) != 1 || !list[0].Done {
		t.Errorf("after marking: %+v", list)
	}
	if _, err := b.MarkDone(ctx, s, bk.Date, "ZZZZZZ"); fund.ErrorCode(err) != fund.ENOTFOUND {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := b.MarkDone(ctx, s, bk.Date, "abc"); fund.ErrorCode(err) != fund.EINVALID {
		t.Errorf("malformed code: %v", err)
	}
}
