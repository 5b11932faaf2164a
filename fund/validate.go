package fund

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits, in characters. They keep a page readable on a phone.
const (
	MaxName      = 100 // stop and doctor names, contact labels, specialties
	MaxAddress   = 200 // stop addresses, a doctor's place
	MaxNote      = 300 // notes, how to book
	MaxValue     = 100 // a contact's number, address or handle
	MaxSlots     = 7   // time windows of one doctor or contact
	MaxOrder     = 9999
	minPhoneLen  = 5 // digits
	maxPhoneLen  = 15
	minTelegram  = 5 // characters after "@"
	maxTelegram  = 32
	timeOfDayLen = len("HH:MM")
)

// Normalize tidies what a form sends: text fields are trimmed with runs of
// white space (line breaks included) made one space, and "9:00" becomes
// "09:00". Validate expects a normalized entry.
func (s *Stop) Normalize() {
	s.Name, s.Address, s.Note = s.Name.clean(), s.Address.clean(), s.Note.clean()
	s.Slot = s.Slot.clean()
}

// Validate checks a normalized stop: a Russian name and address, at least
// one weekday, HH:MM times with From before To, known services and the
// length limits. It returns nil or Errors.
func (s *Stop) Validate() error {
	var c checker
	c.l10n("name", s.Name, true, MaxName)
	c.l10n("address", s.Address, true, MaxAddress)
	c.slot("", s.Slot)
	if s.Services&^allServices != 0 {
		c.add("services", KeyServices)
	}
	c.l10n("note", s.Note, false, MaxNote)
	return c.err()
}

// Normalize: see Stop.Normalize.
func (d *Doctor) Normalize() {
	d.Name, d.Specialty, d.Where = d.Name.clean(), d.Specialty.clean(), d.Where.clean()
	d.Booking, d.Note = d.Booking.clean(), d.Note.clean()
	for i := range d.Hours {
		d.Hours[i] = d.Hours[i].clean()
	}
}

// Validate checks a normalized doctor: Russian name, specialty, place and
// how to book; one to MaxSlots appointment windows, each valid as a stop's;
// the length limits.
func (d *Doctor) Validate() error {
	var c checker
	c.order(d.Order)
	c.l10n("name", d.Name, true, MaxName)
	c.l10n("specialty", d.Specialty, true, MaxName)
	c.l10n("where", d.Where, true, MaxAddress)
	c.slots(d.Hours, true)
	c.l10n("booking", d.Booking, true, MaxNote)
	c.l10n("note", d.Note, false, MaxNote)
	return c.err()
}

// Normalize: see Stop.Normalize.
func (k *Contact) Normalize() {
	k.Kind = Kind(strings.TrimSpace(string(k.Kind)))
	k.Label, k.Note = k.Label.clean(), k.Note.clean()
	k.Value = k.Value.clean()
	for i := range k.Hours {
		k.Hours[i] = k.Hours[i].clean()
	}
}

// Validate checks a normalized contact: a known kind, a Russian label, a
// value that fits the kind (a phone number, an e-mail address, a Telegram
// @username), at most MaxSlots valid time windows (none: no set hours) and
// the length limits.
func (k *Contact) Validate() error {
	var c checker
	c.order(k.Order)
	known := false
	for _, x := range Kinds {
		known = known || k.Kind == x
	}
	if !known {
		c.add("kind", KeyKind)
	}
	c.l10n("label", k.Label, true, MaxName)
	c.value("value.ru", k.Kind, k.Value.RU, true)
	c.value("value.en", k.Kind, k.Value.EN, false)
	c.slots(k.Hours, false)
	c.l10n("note", k.Note, false, MaxNote)
	return c.err()
}

// ParseTime parses a time of day "HH:MM" (or "H:MM") into minutes after
// midnight.
func ParseTime(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, false
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 23 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checker gathers field errors.
type checker struct{ errs Errors }

func (c *checker) add(field, key string) {
	c.errs = append(c.errs, &Error{Code: EINVALID, Field: field, Key: key})
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// text checks one field and reports whether it is acceptable so far.
func (c *checker) text(field, v string, required bool, max int) bool {
	switch {
	case v == "":
		if required {
			c.add(field, KeyRequired)
			return false
		}
	case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
		c.add(field, KeyText)
		return false
	case utf8.RuneCountInString(v) > max:
		c.add(field, KeyTooLong)
		return false
	}
	return true
}

// l10n checks the Russian text (required or not) and the optional English
// one, as fields "<field>.ru" and "<field>.en".
func (c *checker) l10n(field string, v L10n, required bool, max int) {
	c.text(field+".ru", v.RU, required, max)
	c.text(field+".en", v.EN, false, max)
}

// slot checks a window; its fields are "<prefix>days", "<prefix>from" and
// "<prefix>to".
func (c *checker) slot(prefix string, s Slot) {
	if s.Days&EveryDay == 0 || s.Days&^EveryDay != 0 {
		c.add(prefix+"days", KeyDays)
	}
	from, okFrom := c.time(prefix+"from", s.From)
	to, okTo := c.time(prefix+"to", s.To)
	if okFrom && okTo && from >= to {
		c.add(prefix+"to", KeyTimeOrder)
	}
}

func (c *checker) time(field, v string) (int, bool) {
	if v == "" {
		c.add(field, KeyRequired)
		return 0, false
	}
	m, ok := ParseTime(v)
	if !ok || len(v) != timeOfDayLen {
		c.add(field, KeyTime)
		return 0, false
	}
	return m, true
}

func (c *checker) slots(ss []Slot, required bool) {
	switch {
	case len(ss) == 0 && required:
		c.add("hours", KeyRequired)
	case len(ss) > MaxSlots:
		c.add("hours", KeyTooMany)
	default:
		for i, s := range ss {
			c.slot("hours."+strconv.Itoa(i)+".", s)
		}
	}
}

// value checks a contact's value in one language against its kind.
func (c *checker) value(field string, kind Kind, v string, required bool) {
	if !c.text(field, v, required, MaxValue) || v == "" {
		return
	}
	switch kind {
	case KindPhone:
		if !isPhone(v) {
			c.add(field, KeyPhone)
		}
	case KindEmail:
		if !isEmail(v) {
			c.add(field, KeyEmail)
		}
	case KindTelegram:
		if !isTelegram(v) {
			c.add(field, KeyTelegram)
		}
	}
}

func (c *checker) order(n int) {
	if n < 0 || n > MaxOrder {
		c.add("order", KeyOrder)
	}
}

// clean trims s and makes each run of white space one space.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

func (l L10n) clean() L10n { return L10n{RU: clean(l.RU), EN: clean(l.EN)} }

func (s Slot) clean() Slot {
	return Slot{Days: s.Days, From: cleanTime(s.From), To: cleanTime(s.To)}
}

// cleanTime zero-pads an acceptable "H:MM"; anything else is only trimmed
// (Validate reports it).
func cleanTime(s string) string {
	s = strings.TrimSpace(s)
	if m, ok := ParseTime(s); ok {
		return FormatTime(m)
	}
	return s
}

// FormatTime formats minutes after midnight as "HH:MM".
func FormatTime(m int) string {
	return string([]byte{byte('0' + m/600), byte('0' + m/60%10), ':', byte('0' + m%60/10), byte('0' + m%10)})
}

func isPhone(v string) bool {
	n := 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			n++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')':
		default:
			return false
		}
	}
	return n >= minPhoneLen && n <= maxPhoneLen
}

func isEmail(v string) bool {
	local, domain, ok := strings.Cut(v, "@")
	return ok && local != "" && !strings.ContainsAny(v, " <>\"") && !strings.Contains(domain, "@") &&
		strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func isTelegram(v string) bool {
	name, ok := strings.CutPrefix(v, "@")
	if !ok || len(name) < minTelegram || len(name) > maxTelegram {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
