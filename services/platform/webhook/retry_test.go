package webhook

import (
	"testing"
	"time"
)

func TestNextAttemptSchedule(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	// Nominal delay after `attempt` attempts, from DESIGN §3.
	want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
		5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}
	if MaxAttempts != len(want) {
		t.Fatalf("MaxAttempts = %d, want %d", MaxAttempts, len(want))
	}
	low := func(int64) int64 { return 0 }
	high := func(n int64) int64 { return n - 1 }
	mid := func(n int64) int64 { return n / 2 }
	for attempt, d := range want {
		spread := d / 10
		for _, c := range []struct {
			name  string
			randN func(int64) int64
			want  time.Duration
		}{{"lowest", low, d - spread}, {"middle", mid, d}, {"highest", high, d + spread}} {
			got, ok := nextAttempt(attempt, now, c.randN)
			if !ok || got.Sub(now) != c.want {
				t.Errorf("nextAttempt(%d) with %s jitter = now+%v, %v; want now+%v, true", attempt, c.name, got.Sub(now), ok, c.want)
			}
		}
	}
	for _, attempt := range []int{MaxAttempts, MaxAttempts + 1, 1 << 30} {
		if got, ok := NextAttempt(attempt, now); ok {
			t.Errorf("NextAttempt(%d) = %v, true; want exhausted", attempt, got)
		}
	}
	if got, ok := NextAttempt(-1, now); !ok || !got.Equal(now) {
		t.Errorf("NextAttempt(-1) = %v, %v; want now, true", got, ok)
	}
}

func TestNextAttemptJitter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for attempt := 1; attempt < MaxAttempts; attempt++ {
		d := retryDelays[attempt-1]
		lo, hi := d-d/10, d+d/10
		var minSeen, maxSeen time.Duration = hi, lo
		distinct := map[time.Duration]bool{}
		for range 2000 {
			next, ok := NextAttempt(attempt, now)
			if !ok {
				t.Fatalf("NextAttempt(%d) exhausted", attempt)
			}
			got := next.Sub(now)
			if got < lo || got > hi {
				t.Fatalf("NextAttempt(%d) = now+%v, outside [%v, %v]", attempt, got, lo, hi)
			}
			minSeen, maxSeen = min(minSeen, got), max(maxSeen, got)
			distinct[got] = true
		}
		// The jitter must actually spread: over 2000 draws the observed
		// range covers most of ±10 % (the chance of it not is negligible).
		if len(distinct) < 100 || maxSeen-minSeen < d/10 {
			t.Errorf("attempt %d: %d distinct values in [%v, %v]; jitter not spread over [%v, %v]",
				attempt, len(distinct), minSeen, maxSeen, lo, hi)
		}
	}
}
