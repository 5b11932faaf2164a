package fund

import (
	"cmp"
	"slices"
	"time"
)

// Day is one calendar day of the schedule in Saint Petersburg.
type Day struct {
	Date  time.Time // midnight, in Zone
	Stops []Stop    // by time
}

// DateOf returns midnight of t's day in Saint Petersburg.
func DateOf(t time.Time) time.Time {
	y, m, d := t.In(Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Zone)
}

// WeekFrom returns seven days, the first being t's day in Saint
// Petersburg, each with the stops of its weekday.
func WeekFrom(stops []Stop, t time.Time) []Day {
	first := DateOf(t)
	days := make([]Day, 7)
	for i := range days {
		date := first.AddDate(0, 0, i)
		days[i] = Day{Date: date, Stops: StopsOn(stops, date.Weekday())}
	}
	return days
}

// StopsOn returns the stops on weekday w ordered by start, end, Russian
// name and ID.
func StopsOn(stops []Stop, w time.Weekday) []Stop {
	var out []Stop
	for _, s := range stops {
		if s.Days.Has(w) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b Stop) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To),
			cmp.Compare(a.Name.RU, b.Name.RU), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// SortDoctors orders doctors for display: by Order, then ID.
func SortDoctors(ds []Doctor) {
	slices.SortStableFunc(ds, func(a, b Doctor) int { return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.ID, b.ID)) })
}

// SortContacts orders contacts for display: by Order, then ID.
func SortContacts(cs []Contact) {
	slices.SortStableFunc(cs, func(a, b Contact) int { return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.ID, b.ID)) })
}
