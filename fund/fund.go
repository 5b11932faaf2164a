// Package fund owns the fund's structured service data: the mobile units'
// stops, the doctors the fund trusts and the ways to reach an outreach
// worker, in Russian and English, with the rules an entry must satisfy.
// Storage sits behind Repository (internal/store implements it) and HTTP is
// the site's business.
//
// It must never import echo, bine or Badger, and never hold anything about a
// visitor: this is the fund's own published data.
//
// The JSON tags are the stored format (internal/store keeps these types as
// JSON): never rename a tag; add new fields with new tags.
package fund

import (
	"context"
	"time"
)

// Zone is Saint Petersburg's time: UTC+3 all year (Russia has had no
// daylight saving time since 2014). Every time of day in this package is in
// this zone.
var Zone = time.FixedZone("MSK", 3*60*60)

// ID identifies a stop, a doctor or a contact (each kind counts on its own).
type ID uint64

// L10n is a text in both languages of the portal. Russian is required where
// the text is; English falls back to Russian.
type L10n struct {
	RU string `json:"ru,omitempty"`
	EN string `json:"en,omitempty"`
}

// In returns the text in lang ("ru" or "en"), falling back to Russian.
func (l L10n) In(lang string) string {
	if lang == "en" && l.EN != "" {
		return l.EN
	}
	return l.RU
}

// Days is a set of weekdays: bit i is time.Weekday(i) (Sunday is 0).
type Days uint8

// EveryDay is the set of all seven days.
const EveryDay Days = 1<<7 - 1

// Week lists the weekdays Monday first, the way a Russian week runs.
var Week = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// DaysOf returns the set of the given weekdays.
func DaysOf(ws ...time.Weekday) Days {
	var d Days
	for _, w := range ws {
		if w >= time.Sunday && w <= time.Saturday {
			d |= 1 << w
		}
	}
	return d
}

// Has reports whether w is in the set.
func (d Days) Has(w time.Weekday) bool { return w >= 0 && w < 7 && d&(1<<w) != 0 }

// List returns the days of the set, Monday first.
func (d Days) List() []time.Weekday {
	var out []time.Weekday
	for _, w := range Week {
		if d.Has(w) {
			out = append(out, w)
		}
	}
	return out
}

// Services is a set of what a stop offers.
type Services uint8

// What a stop can offer. The values are stored: never renumber.
const (
	ServiceHIVTest Services = 1 << iota
	ServiceHepatitisTest
	ServiceSyringeExchange
	ServiceDoctor
)

// AllServices lists every service in display order.
var AllServices = []Services{ServiceHIVTest, ServiceHepatitisTest, ServiceSyringeExchange, ServiceDoctor}

// allServices is the union of AllServices, for validation.
const allServices = ServiceHIVTest | ServiceHepatitisTest | ServiceSyringeExchange | ServiceDoctor

// Has reports whether every service in x is in the set.
func (s Services) Has(x Services) bool { return x != 0 && s&x == x }

// List returns the services of the set in display order.
func (s Services) List() []Services {
	var out []Services
	for _, x := range AllServices {
		if s.Has(x) {
			out = append(out, x)
		}
	}
	return out
}

// Name is a single service's stable name: the site's message key is
// "fund.service.<name>" and a staff form's checkbox value is the name. It is
// "" for a set of several services or an unknown one.
func (s Services) Name() string {
	switch s {
	case ServiceHIVTest:
		return "hiv_test"
	case ServiceHepatitisTest:
		return "hepatitis_test"
	case ServiceSyringeExchange:
		return "syringe_exchange"
	case ServiceDoctor:
		return "doctor"
	}
	return ""
}

// Slot is a weekly time window: on these days, from From to To, Saint
// Petersburg time. Times are "HH:MM" (24-hour, zero-padded after Normalize);
// From is before To (a window never crosses midnight).
type Slot struct {
	Days Days   `json:"days"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Stop is one place and time where a mobile unit (a bus) stands every week.
// A stop at the same place on days with different hours is two stops.
type Stop struct {
	ID      ID   `json:"id"`
	Name    L10n `json:"name"`    // short name, e.g. a metro station
	Address L10n `json:"address"` // where exactly the bus stands
	Slot
	Services Services `json:"services"`
	Note     L10n     `json:"note"` // e.g. "hepatitis testing on this day"
	// Example marks example data shipped with tropa, shown with a visible
	// "example" mark until staff replace it. Staff saving a real entry
	// clear it.
	Example bool `json:"example,omitempty"`
}

// Doctor is a doctor the fund trusts.
type Doctor struct {
	ID        ID     `json:"id"`
	Order     int    `json:"order"` // position in the list, smallest first
	Name      L10n   `json:"name"`
	Specialty L10n   `json:"specialty"`
	Where     L10n   `json:"where"`   // clinic and address
	Hours     []Slot `json:"hours"`   // appointment times, at least one
	Booking   L10n   `json:"booking"` // how to book
	Note      L10n   `json:"note"`
	Example   bool   `json:"example,omitempty"`
}

// Kind is a way to reach an outreach worker.
type Kind string

// Kinds of contact. The values are stored: never change them.
const (
	KindPhone    Kind = "phone"
	KindTelegram Kind = "telegram"
	KindSignal   Kind = "signal"
	KindEmail    Kind = "email"
	KindVisit    Kind = "visit" // in person
	KindOther    Kind = "other"
)

// Kinds lists every kind in display order; the site's message key of a kind
// is "fund.kind.<kind>".
var Kinds = []Kind{KindPhone, KindTelegram, KindSignal, KindEmail, KindVisit, KindOther}

// Contact is one way to reach an outreach worker.
type Contact struct {
	ID    ID     `json:"id"`
	Order int    `json:"order"`
	Kind  Kind   `json:"kind"`
	Label L10n   `json:"label"` // e.g. "Outreach hotline"
	Value L10n   `json:"value"` // the number, address or handle (English falls back to Russian)
	Hours []Slot `json:"hours"` // when someone answers; none means no set hours
	Note  L10n   `json:"note"`
	// Example: see Stop.Example.
	Example bool `json:"example,omitempty"`
}

// Data is everything the services pages show. Repository.Load returns stops
// in ID order and doctors and contacts in display order (Order, then ID).
type Data struct {
	Stops    []Stop
	Doctors  []Doctor
	Contacts []Contact
}

// Repository stores the fund's data. Save methods normalize and validate
// the entry (returning Errors, code EINVALID, and writing nothing when it is
// invalid), assign an ID to a new entry (ID 0) and return ENOTFOUND for an
// ID that does not exist; Delete methods return ENOTFOUND likewise.
type Repository interface {
	// Version changes after every write. It is cheap (no I/O): a reader
	// may call it on every request to know whether what it built from
	// Load is current.
	Version() uint64
	Load(ctx context.Context) (*Data, error)

	Stop(ctx context.Context, id ID) (*Stop, error)
	SaveStop(ctx context.Context, s *Stop) error
	DeleteStop(ctx context.Context, id ID) error

	Doctor(ctx context.Context, id ID) (*Doctor, error)
	SaveDoctor(ctx context.Context, d *Doctor) error
	DeleteDoctor(ctx context.Context, id ID) error

	Contact(ctx context.Context, id ID) (*Contact, error)
	SaveContact(ctx context.Context, c *Contact) error
	DeleteContact(ctx context.Context, id ID) error
}
