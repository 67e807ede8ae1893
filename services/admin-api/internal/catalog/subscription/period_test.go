package subscription

import (
	"testing"
	"time"
)

func TestPeriodBounds(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		anchor, interval string
		count            int32
		n                int
		start, end       string
	}{
		{"2026-01-31T10:00:00Z", "month", 1, 0, "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z"},
		{"2026-01-31T10:00:00Z", "month", 1, 1, "2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z"},
		{"2028-01-31T10:00:00Z", "month", 1, 0, "2028-01-31T10:00:00Z", "2028-02-29T10:00:00Z"},
		{"2026-03-31T00:00:00Z", "month", 1, 0, "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"},
		{"2026-08-31T23:59:59Z", "month", 3, 1, "2026-11-30T23:59:59Z", "2027-02-28T23:59:59Z"},
		{"2026-12-15T08:00:00Z", "month", 1, 0, "2026-12-15T08:00:00Z", "2027-01-15T08:00:00Z"},
		{"2028-02-29T12:00:00Z", "year", 1, 0, "2028-02-29T12:00:00Z", "2029-02-28T12:00:00Z"},
		{"2028-02-29T12:00:00Z", "year", 1, 3, "2031-02-28T12:00:00Z", "2032-02-29T12:00:00Z"},
		{"2026-11-30T12:00:00Z", "week", 2, 1, "2026-12-14T12:00:00Z", "2026-12-28T12:00:00Z"},
		{"2026-12-31T23:00:00Z", "day", 1, 0, "2026-12-31T23:00:00Z", "2027-01-01T23:00:00Z"},
		// A non-UTC anchor is the same instant, computed in UTC.
		{"2026-02-01T00:30:00+01:00", "month", 1, 0, "2026-01-31T23:30:00Z", "2026-02-28T23:30:00Z"},
	} {
		start, end, err := PeriodBounds(at(c.anchor), c.interval, c.count, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if !start.Equal(at(c.start)) || !end.Equal(at(c.end)) || start.Location() != time.UTC {
			t.Errorf("%s + %d×%d %s: [%s, %s), want [%s, %s)", c.anchor, c.n, c.count, c.interval,
				start.Format(time.RFC3339), end.Format(time.RFC3339), c.start, c.end)
		}
	}
	if _, _, err := PeriodBounds(time.Now(), "fortnight", 1, 0); err == nil {
		t.Error("unknown interval accepted")
	}
}
