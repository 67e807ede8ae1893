// Package retry holds what loops that retry an outage share: a capped
// exponential backoff with jitter, a log of the outage that speaks once when
// it starts and once when it ends, and a sleep that ctx cuts short.
package retry

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// MinBackoff and MaxBackoff bound Backoff's waits. MaxBackoff is also the
// worst catch-up delay once the failing service is back, so it stays short.
const MinBackoff, MaxBackoff = 100 * time.Millisecond, 5 * time.Second

// Backoff is a capped exponential delay with jitter, so that replicas that
// failed together do not retry in step. The zero value is ready.
type Backoff struct{ attempt int }

// Next returns the wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	d := MaxBackoff
	if b.attempt < 16 { // beyond that the shift is far past the cap anyway
		d = min(MinBackoff<<b.attempt, MaxBackoff)
	}
	b.attempt++
	return d/2 + rand.N(d/2+1) // between d/2 and d
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Outage logs a failing operation once when it starts failing and once when
// it recovers, instead of on every retry.
type Outage struct {
	Logger   *slog.Logger
	What     string
	since    time.Time
	attempts int
}

// Failed records a failed attempt.
func (o *Outage) Failed(err error) {
	if o.attempts == 0 {
		o.since = time.Now()
		o.Logger.Warn(o.What+" failing; retrying with backoff", "err", err)
	} else {
		o.Logger.Debug(o.What+" still failing", "err", err, "attempts", o.attempts+1)
	}
	o.attempts++
}

// Recovered records a success, logging the end of an outage.
func (o *Outage) Recovered() {
	if o.attempts == 0 {
		return
	}
	o.Logger.Info(o.What+" recovered", "failed_attempts", o.attempts, "outage", time.Since(o.since).Round(time.Millisecond))
	o.attempts = 0
}

// Sleep waits for d or until ctx is cancelled.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
