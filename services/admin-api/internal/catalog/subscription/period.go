package subscription

import (
	"fmt"
	"time"
)

// Billing periods are computed from the subscription's anchor (its start),
// never from the previous period's end, in UTC: period n runs from
// anchor + n×count intervals to anchor + (n+1)×count intervals. Adding
// months keeps the anchor's day of the month and time of day, clamped to the
// month's last day: Jan 31 + 1 month is Feb 28 (Feb 29 in a leap year), and
// + 2 months is Mar 31 again. A year is 12 months (Feb 29 + 1 year is
// Feb 28); a week is 7 days; a day is a calendar day (24 hours in UTC).

// PeriodBounds returns the start and end of period n (0 is the first).
func PeriodBounds(anchor time.Time, interval string, count int32, n int) (start, end time.Time, err error) {
	if start, err = addIntervals(anchor, interval, int(count)*n); err != nil {
		return start, end, err
	}
	end, err = addIntervals(anchor, interval, int(count)*(n+1))
	return start, end, err
}

// addIntervals adds n intervals to t in UTC.
func addIntervals(t time.Time, interval string, n int) (time.Time, error) {
	t = t.UTC()
	switch interval {
	case "day":
		return t.AddDate(0, 0, n), nil
	case "week":
		return t.AddDate(0, 0, 7*n), nil
	case "month":
		return AddMonths(t, n), nil
	case "year":
		return AddMonths(t, 12*n), nil
	}
	return t, fmt.Errorf("unknown interval %q", interval)
}

// AddMonths adds n calendar months to t (UTC), clamping the day to the
// target month's last day.
func AddMonths(t time.Time, n int) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	// Day 0 of the month after the target is the target's last day.
	last := time.Date(y, m+time.Month(n)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(y, m+time.Month(n), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
