package fund

import "time"

// Hour is a coarse time: Unix time divided by 3600, as in packages forum
// and staff. Page revisions and news keep nothing finer.
type Hour int64

// HourOf truncates t to its hour.
func HourOf(t time.Time) Hour {
	s := t.Unix()
	if s < 0 {
		return Hour((s - 3599) / 3600)
	}
	return Hour(s / 3600)
}

// Time returns the start of the hour, in UTC.
func (h Hour) Time() time.Time { return time.Unix(int64(h)*3600, 0).UTC() }

// Clock tells the time; tests inject their own.
type Clock func() time.Time
