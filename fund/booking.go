package fund

import (
	"context"
	"crypto/rand"
	"io"
	"strconv"
	"time"
)

// Anonymous test booking. A visitor picks a stop and a date when that stop
// runs and a free HIV or hepatitis test, and gets a short code to show at
// the bus. Nothing else is asked and nothing else is kept: a booking is its
// stop, date, code, test and whether the test was done; not when it was
// made, not by whom. It vanishes a day after its date (the store's TTL is
// the date's, so even that says nothing about when it was made).

// Test is a test a visitor can book.
type Test string

// Tests that can be booked. The values are stored: never change them.
const (
	TestHIV       Test = "hiv"
	TestHepatitis Test = "hepatitis"
)

// Tests lists the tests in the order a form shows them; the site's message
// key of a test is "book.test.<test>".
var Tests = []Test{TestHIV, TestHepatitis}

// Service is the stop service that offers the test ("" is none).
func (t Test) Service() Services {
	switch t {
	case TestHIV:
		return ServiceHIVTest
	case TestHepatitis:
		return ServiceHepatitisTest
	}
	return 0
}

// Booking rules.
const (
	// CodeAlphabet has no letters or digits that read alike (0/O, 1/I/L).
	CodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	CodeLen      = 6
	// BookDays is how many days ahead, today included, a visitor can book.
	BookDays = 14
	// MaxPerDay bounds the bookings of one stop on one date: more people
	// than a bus can test in a day is a flood, not demand.
	MaxPerDay = 60
	// DateLayout is how a booking's date is written (in Saint Petersburg).
	DateLayout = "2006-01-02"
)

// ECONFLICT is a repository's answer to a code that is already taken for
// that stop and date; Book draws another.
const ECONFLICT = "conflict"

// Message keys of booking errors.
const (
	KeyBookSlot   = "fund.err.book.slot"    // no such stop, or no such date (malformed)
	KeyBookPast   = "fund.err.book.past"    // the date (or today's hours) has passed
	KeyBookFar    = "fund.err.book.far"     // further ahead than BookDays
	KeyBookDay    = "fund.err.book.day"     // the stop does not run that day
	KeyBookTest   = "fund.err.book.test"    // no test chosen, or an unknown one
	KeyBookNoTest = "fund.err.book.no_test" // the stop does not offer that test
	KeyBookFull   = "fund.err.book.full"    // MaxPerDay reached
	KeyBookCode   = "fund.err.book.code"    // not a booking code
)

// BookingKeys lists the booking message keys (for the site's catalogue test).
func BookingKeys() []string {
	return []string{KeyBookSlot, KeyBookPast, KeyBookFar, KeyBookDay, KeyBookTest, KeyBookNoTest, KeyBookFull, KeyBookCode}
}

// Booking is one anonymous test booking. Stop, Date and Code identify it
// (the code is unique per stop and date); Test and Done are its state.
type Booking struct {
	Stop ID     `json:"-"`
	Date string `json:"-"` // DateLayout, in Saint Petersburg
	Code string `json:"-"`
	Test Test   `json:"test"`
	Done bool   `json:"done,omitempty"`
}

// Expires is when a booking on date (DateLayout) vanishes: the end of the
// day after it, in Saint Petersburg.
func Expires(date string) time.Time {
	d, err := time.ParseInLocation(DateLayout, date, Zone)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, 2)
}

// BookingRepository stores bookings. A booking must be gone (never
// returned, and deleted in time) once Expires(b.Date) has passed.
type BookingRepository interface {
	// AddBooking stores b unless its stop and date already hold max
	// bookings (EINVALID KeyBookFull on "slot") or its code (ECONFLICT).
	AddBooking(ctx context.Context, b Booking, max int) error
	// Bookings lists the live bookings of a stop (0: of every stop) by
	// stop, date and code.
	Bookings(ctx context.Context, stop ID) ([]Booking, error)
	// MarkBookingDone marks a booking done and reports whether it was not
	// yet (ENOTFOUND if there is none).
	MarkBookingDone(ctx context.Context, stop ID, date, code string) (bool, error)
}

// BookOption is a stop on a date that can be booked.
type BookOption struct {
	Date time.Time // midnight, in Zone
	Stop Stop
}

// Value is the option as a form sends it: "<stop ID>/<date>".
func (o BookOption) Value() string {
	return strconv.FormatUint(uint64(o.Stop.ID), 10) + "/" + o.Date.Format(DateLayout)
}

// BookOptions lists, day by day from t's, the stops that offer a test in
// the next BookDays days; today's stops only until they close.
func BookOptions(stops []Stop, t time.Time) []BookOption {
	var out []BookOption
	first := DateOf(t)
	for i := 0; i < BookDays; i++ {
		date := first.AddDate(0, 0, i)
		for _, s := range StopsOn(stops, date.Weekday()) {
			if s.Services&(ServiceHIVTest|ServiceHepatitisTest) == 0 || i == 0 && closed(s, t) {
				continue
			}
			out = append(out, BookOption{Date: date, Stop: s})
		}
	}
	return out
}

// closed reports whether stop s has closed for the day at t.
func closed(s Stop, t time.Time) bool {
	end, ok := ParseTime(s.To)
	if !ok {
		return true
	}
	lt := t.In(Zone)
	return lt.Hour()*60+lt.Minute() >= end
}

// Bookings holds the booking rules over the stops and the bookings.
type Bookings struct {
	repo  BookingRepository
	stops Repository
	now   Clock
	rand  io.Reader
}

// NewBookings returns the booking rules. A nil clock is time.Now, a nil
// rand crypto/rand.
func NewBookings(repo BookingRepository, stops Repository, now Clock, rnd io.Reader) *Bookings {
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Bookings{repo: repo, stops: stops, now: now, rand: rnd}
}

// BookInput is what a visitor sends.
type BookInput struct {
	Stop ID
	Date string // DateLayout
	Test Test
}

// Book books a test. Errors: Errors (EINVALID) on "slot" (KeyBookSlot,
// KeyBookPast, KeyBookFar, KeyBookDay, KeyBookFull) and "test"
// (KeyBookTest, KeyBookNoTest); EINTERNAL.
func (b *Bookings) Book(ctx context.Context, in BookInput) (*Booking, error) {
	now := b.now()
	var c checker
	date, err := time.ParseInLocation(DateLayout, in.Date, Zone)
	var stop *Stop
	if err == nil && in.Stop != 0 {
		stop, err = b.stops.Stop(ctx, in.Stop)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
	}
	today := DateOf(now)
	switch {
	case stop == nil:
		c.add("slot", KeyBookSlot)
	case date.Before(today):
		c.add("slot", KeyBookPast)
	case !date.Before(today.AddDate(0, 0, BookDays)):
		c.add("slot", KeyBookFar)
	case !stop.Days.Has(date.Weekday()):
		c.add("slot", KeyBookDay)
	case date.Equal(today) && closed(*stop, now):
		c.add("slot", KeyBookPast)
	}
	switch {
	case in.Test.Service() == 0:
		c.add("test", KeyBookTest)
	case stop != nil && !stop.Services.Has(in.Test.Service()):
		c.add("test", KeyBookNoTest)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	bk := Booking{Stop: stop.ID, Date: date.Format(DateLayout), Test: in.Test}
	for try := 0; ; try++ {
		if bk.Code, err = NewCode(b.rand); err != nil {
			return nil, Internal(err)
		}
		err = b.repo.AddBooking(ctx, bk, MaxPerDay)
		if ErrorCode(err) == ECONFLICT && try < 8 {
			continue // 1 in 887 million per booking of the day: draw again
		}
		if err != nil {
			return nil, err
		}
		return &bk, nil
	}
}

// List returns the live bookings of a stop (0: every stop), by stop, date
// and code; those past their date's next day are left out even before the
// store drops them.
func (b *Bookings) List(ctx context.Context, stop ID) ([]Booking, error) {
	all, err := b.repo.Bookings(ctx, stop)
	if err != nil {
		return nil, err
	}
	now := b.now()
	out := all[:0]
	for _, bk := range all {
		if now.Before(Expires(bk.Date)) {
			out = append(out, bk)
		}
	}
	return out, nil
}

// MarkDone marks a booking done (the test was made) and reports whether it
// was not done before. Errors: EINVALID KeyBookCode on "code" for a
// malformed code or date, ENOTFOUND.
func (b *Bookings) MarkDone(ctx context.Context, stop ID, date, code string) (bool, error) {
	if _, err := time.ParseInLocation(DateLayout, date, Zone); err != nil || !ValidCode(code) {
		return false, Errors{{Code: EINVALID, Field: "code", Key: KeyBookCode}}
	}
	if !b.now().Before(Expires(date)) {
		return false, NotFound(nil)
	}
	return b.repo.MarkBookingDone(ctx, stop, date, code)
}

// NewCode draws a booking code: CodeLen characters of CodeAlphabet, each
// uniform (bytes past the last whole multiple of the alphabet are
// redrawn).
func NewCode(r io.Reader) (string, error) {
	const n = len(CodeAlphabet)
	const limit = 256 - 256%n
	out := make([]byte, 0, CodeLen)
	var buf [16]byte
	for len(out) < CodeLen {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", err
		}
		for _, x := range buf {
			if int(x) < limit && len(out) < CodeLen {
				out = append(out, CodeAlphabet[int(x)%n])
			}
		}
	}
	return string(out), nil
}

// ValidCode reports whether s has the shape of a booking code.
func ValidCode(s string) bool {
	if len(s) != CodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !containsByte(CodeAlphabet, s[i]) {
			return false
		}
	}
	return true
}

// NormalizeCode upper-cases a typed code and drops spaces and dashes.
func NormalizeCode(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			out = append(out, c-'a'+'A')
		case c == ' ' || c == '-':
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
