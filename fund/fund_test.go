package fund_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"tropa/fund"
)

func validStop() fund.Stop {
	return fund.Stop{
		Name:    fund.L10n{RU: "Остановка"},
		Address: fund.L10n{RU: "ул. Примерная, 1"},
		Slot:    fund.Slot{Days: fund.DaysOf(time.Monday), From: "10:00", To: "14:00"},
	}
}

// fieldKeys flattens a validation error into "field=key" strings.
func fieldKeys(t *testing.T, err error) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err == nil {
		return out
	}
	var es fund.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v is not fund.Errors", err)
	}
	for _, e := range es {
		if e.Code != fund.EINVALID {
			t.Errorf("%s: code %q, want %q", e.Field, e.Code, fund.EINVALID)
		}
		if _, ok := out[e.Field]; !ok {
			out[e.Field] = e.Key
		}
	}
	return out
}

func TestStopValidate(t *testing.T) {
	long := strings.Repeat("я", fund.MaxName+1)
	cases := []struct {
		name string
		edit func(*fund.Stop)
		want map[string]string // field → key; empty: valid
	}{
		{"valid", func(*fund.Stop) {}, nil},
		{"H:MM is padded", func(s *fund.Stop) { s.From = "9:05" }, nil},
		{"spaces trimmed", func(s *fund.Stop) { s.Name.RU = "  Юг \n  (пример) " }, nil},
		{"empty name", func(s *fund.Stop) { s.Name.RU = "   " }, map[string]string{"name.ru": fund.KeyRequired}},
		{"English only", func(s *fund.Stop) { s.Name = fund.L10n{EN: "South"} }, map[string]string{"name.ru": fund.KeyRequired}},
		{"empty address", func(s *fund.Stop) { s.Address.RU = "" }, map[string]string{"address.ru": fund.KeyRequired}},
		{"long name", func(s *fund.Stop) { s.Name.RU = long }, map[string]string{"name.ru": fund.KeyTooLong}},
		{"long English note", func(s *fund.Stop) { s.Note.EN = strings.Repeat("a", fund.MaxNote+1) }, map[string]string{"note.en": fund.KeyTooLong}},
		{"bad UTF-8", func(s *fund.Stop) { s.Address.EN = "a\xffb" }, map[string]string{"address.en": fund.KeyText}},
		{"no days", func(s *fund.Stop) { s.Days = 0 }, map[string]string{"days": fund.KeyDays}},
		{"day out of range", func(s *fund.Stop) { s.Days = 1 << 7 }, map[string]string{"days": fund.KeyDays}},
		{"hour 24", func(s *fund.Stop) { s.From = "24:00" }, map[string]string{"from": fund.KeyTime}},
		{"minute 60", func(s *fund.Stop) { s.To = "10:60" }, map[string]string{"to": fund.KeyTime}},
		{"no colon", func(s *fund.Stop) { s.From = "1000" }, map[string]string{"from": fund.KeyTime}},
		{"words", func(s *fund.Stop) { s.To = "noon" }, map[string]string{"to": fund.KeyTime}},
		{"seconds", func(s *fund.Stop) { s.To = "14:00:00" }, map[string]string{"to": fund.KeyTime}},
		{"empty time", func(s *fund.Stop) { s.From = "" }, map[string]string{"from": fund.KeyRequired}},
		{"start after end", func(s *fund.Stop) { s.From, s.To = "15:00", "14:00" }, map[string]string{"to": fund.KeyTimeOrder}},
		{"start equals end", func(s *fund.Stop) { s.From, s.To = "14:00", "14:00" }, map[string]string{"to": fund.KeyTimeOrder}},
		{"unknown service", func(s *fund.Stop) { s.Services = 1 << 6 }, map[string]string{"services": fund.KeyServices}},
		{"everything wrong at once", func(s *fund.Stop) { *s = fund.Stop{} }, map[string]string{
			"name.ru": fund.KeyRequired, "address.ru": fund.KeyRequired, "days": fund.KeyDays,
			"from": fund.KeyRequired, "to": fund.KeyRequired}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validStop()
			c.edit(&s)
			s.Normalize()
			got := fieldKeys(t, s.Validate())
			if len(got) != len(c.want) {
				t.Fatalf("errors %v, want %v", got, c.want)
			}
			for f, k := range c.want {
				if got[f] != k {
					t.Errorf("field %s: %q, want %q (all: %v)", f, got[f], k, got)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	s := validStop()
	s.From, s.Name.RU = " 9:05 ", "  Юг \n  (пример) "
	s.Normalize()
	if s.From != "09:05" || s.Name.RU != "Юг (пример)" {
		t.Errorf("normalized to %q, %q", s.From, s.Name.RU)
	}
}

func TestDoctorValidate(t *testing.T) {
	d := fund.Doctor{
		Name: fund.L10n{RU: "Врач"}, Specialty: fund.L10n{RU: "Терапевт"}, Where: fund.L10n{RU: "Клиника"},
		Booking: fund.L10n{RU: "По телефону"},
		Hours: []fund.Slot{
			{Days: fund.DaysOf(time.Tuesday), From: "10:00", To: "12:00"},
			{Days: 0, From: "13:00", To: "12:00"},
		},
		Order: -1,
	}
	d.Normalize()
	got := fieldKeys(t, d.Validate())
	want := map[string]string{"hours.1.days": fund.KeyDays, "hours.1.to": fund.KeyTimeOrder, "order": fund.KeyOrder}
	if len(got) != len(want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
	for f, k := range want {
		if got[f] != k {
			t.Errorf("%s: %q, want %q", f, got[f], k)
		}
	}
	d.Hours, d.Order = nil, 0
	if got := fieldKeys(t, d.Validate()); got["hours"] != fund.KeyRequired || len(got) != 1 {
		t.Errorf("doctor without hours: %v", got)
	}
	d.Hours = make([]fund.Slot, fund.MaxSlots+1)
	if got := fieldKeys(t, d.Validate()); got["hours"] != fund.KeyTooMany {
		t.Errorf("doctor with %d windows: %v", len(d.Hours), got)
	}
}

func TestContactValidate(t *testing.T) {
	cases := []struct {
		kind  fund.Kind
		value string
		key   string // "" valid
	}{
		{fund.KindPhone, "+7 (000) 000-00-00", ""},
		{fund.KindPhone, "8 800 000 00 00", ""},
		{fund.KindPhone, "call me", fund.KeyPhone},
		{fund.KindPhone, "12-34", fund.KeyPhone},
		{fund.KindPhone, "7+000", fund.KeyPhone},
		{fund.KindEmail, "outreach@example.org", ""},
		{fund.KindEmail, "outreach.example.org", fund.KeyEmail},
		{fund.KindEmail, "a@b@example.org", fund.KeyEmail},
		{fund.KindEmail, "a@localhost", fund.KeyEmail},
		{fund.KindTelegram, "@example_fund", ""},
		{fund.KindTelegram, "example_fund", fund.KeyTelegram},
		{fund.KindTelegram, "@abc", fund.KeyTelegram},
		{fund.KindTelegram, "@пример", fund.KeyTelegram},
		{fund.KindVisit, "Подойдите к автобусу", ""},
		{fund.KindOther, "", fund.KeyRequired},
		{fund.KindOther, strings.Repeat("x", fund.MaxValue+1), fund.KeyTooLong},
	}
	for _, c := range cases {
		k := fund.Contact{Kind: c.kind, Label: fund.L10n{RU: "Связь"}, Value: fund.L10n{RU: c.value}}
		k.Normalize()
		got := fieldKeys(t, k.Validate())
		if got["value.ru"] != c.key || len(got) > 1 {
			t.Errorf("%s %q: %v, want value.ru=%q", c.kind, c.value, got, c.key)
		}
	}
	k := fund.Contact{Kind: "pigeon", Label: fund.L10n{RU: "Связь"}, Value: fund.L10n{RU: "x", EN: "not a phone"}}
	if got := fieldKeys(t, k.Validate()); got["kind"] != fund.KeyKind {
		t.Errorf("unknown kind: %v", got)
	}
	k.Kind = fund.KindPhone
	k.Value = fund.L10n{RU: "+7 000 000-00-00", EN: "not a phone"}
	if got := fieldKeys(t, k.Validate()); got["value.en"] != fund.KeyPhone || len(got) != 1 {
		t.Errorf("English value that is not a phone: %v", got)
	}
}

func TestErrorHelpers(t *testing.T) {
	s := fund.Stop{}
	err := s.Validate()
	if fund.ErrorCode(err) != fund.EINVALID {
		t.Errorf("code %q", fund.ErrorCode(err))
	}
	if fe := fund.FieldErrors(err); fe["days"] == nil || fe["days"].Key != fund.KeyDays {
		t.Errorf("FieldErrors: %v", fe)
	}
	nf := fmt.Errorf("wrapped: %w", fund.NotFound(nil))
	if fund.ErrorCode(nf) != fund.ENOTFOUND || fund.ErrorCode(errors.New("x")) != fund.EINTERNAL || fund.ErrorCode(nil) != "" {
		t.Error("ErrorCode")
	}
}

func TestExamplesAreValidAndMarked(t *testing.T) {
	d := fund.Examples()
	if len(d.Stops) == 0 || len(d.Doctors) == 0 || len(d.Contacts) == 0 {
		t.Fatal("examples lack a kind")
	}
	for _, s := range d.Stops {
		s.Normalize()
		if err := s.Validate(); err != nil || !s.Example || s.Name.EN == "" {
			t.Errorf("stop %q: %v, example %v", s.Name.RU, err, s.Example)
		}
	}
	for _, x := range d.Doctors {
		x.Normalize()
		if err := x.Validate(); err != nil || !x.Example {
			t.Errorf("doctor %q: %v, example %v", x.Name.RU, err, x.Example)
		}
	}
	for _, x := range d.Contacts {
		x.Normalize()
		if err := x.Validate(); err != nil || !x.Example {
			t.Errorf("contact %q: %v, example %v", x.Label.RU, err, x.Example)
		}
	}
	// Every weekday has a stop, so the "today" block is never empty with
	// the examples.
	for _, w := range fund.Week {
		if len(fund.StopsOn(d.Stops, w)) == 0 {
			t.Errorf("no example stop on %s", w)
		}
	}
}

func TestWeekFrom(t *testing.T) {
	stops := []fund.Stop{
		{ID: 1, Name: fund.L10n{RU: "Б"}, Slot: fund.Slot{Days: fund.DaysOf(time.Saturday), From: "18:00", To: "21:00"}},
		{ID: 2, Name: fund.L10n{RU: "А"}, Slot: fund.Slot{Days: fund.DaysOf(time.Saturday, time.Sunday), From: "12:00", To: "16:00"}},
		{ID: 3, Name: fund.L10n{RU: "В"}, Slot: fund.Slot{Days: fund.DaysOf(time.Monday), From: "09:00", To: "10:00"}},
	}
	// 22:30 UTC on Friday is 01:30 on Saturday in Saint Petersburg.
	now := time.Date(2025, 3, 14, 22, 30, 0, 0, time.UTC)
	week := fund.WeekFrom(stops, now)
	if len(week) != 7 {
		t.Fatalf("%d days", len(week))
	}
	if d := week[0].Date; d.Weekday() != time.Saturday || d.Day() != 15 || d.Location() != fund.Zone {
		t.Fatalf("today is %v", d)
	}
	if got := ids(week[0].Stops); got != "2,1" {
		t.Errorf("Saturday stops %s, want 2,1 (by time)", got)
	}
	if got := ids(week[1].Stops); week[1].Date.Weekday() != time.Sunday || got != "2" {
		t.Errorf("Sunday stops %s", got)
	}
	if got := ids(week[2].Stops); got != "3" {
		t.Errorf("Monday stops %s", got)
	}
	if len(week[6].Stops) != 0 || week[6].Date.Weekday() != time.Friday {
		t.Errorf("the last day is %v with %d stops", week[6].Date, len(week[6].Stops))
	}
}

func ids(ss []fund.Stop) string {
	var b []string
	for _, s := range ss {
		b = append(b, strconv.FormatUint(uint64(s.ID), 10))
	}
	return strings.Join(b, ",")
}

func TestDaysAndServices(t *testing.T) {
	d := fund.DaysOf(time.Sunday, time.Monday, time.Saturday)
	if got := d.List(); len(got) != 3 || got[0] != time.Monday || got[2] != time.Sunday {
		t.Errorf("List %v, want Monday first", got)
	}
	if !fund.EveryDay.Has(time.Wednesday) || d.Has(time.Wednesday) {
		t.Error("Has")
	}
	s := fund.ServiceDoctor | fund.ServiceHIVTest
	if got := s.List(); len(got) != 2 || got[0] != fund.ServiceHIVTest || got[0].Name() != "hiv_test" || got[1].Name() != "doctor" {
		t.Errorf("services %v", got)
	}
	if s.Name() != "" {
		t.Error("a set of two has a name")
	}
}
