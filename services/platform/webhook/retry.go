package webhook

import (
	"math/rand/v2"
	"time"
)

// retryDelays is the wait before each attempt after the first, measured from
// the previous attempt (DESIGN §3). Why this shape: the first retries come
// quickly because most failures are a deploy or a blip; then the gaps grow
// so that an endpoint that is down for a day is not hammered, while the
// whole schedule (75 h 35 min, a little over 3 days) still fits in a long weekend of
// merchant downtime. It follows the schedule Svix popularised with
// Standard Webhooks, stretched at the end.
var retryDelays = [...]time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	14 * time.Hour,
	20 * time.Hour,
	24 * time.Hour,
}

// MaxAttempts is the number of delivery attempts of one message: the first
// one and a retry per entry of the schedule.
const MaxAttempts = 1 + len(retryDelays)

// jitterDivisor makes the jitter ±10 % (d/10 either side): enough to spread
// the retries of many messages that failed together (an endpoint outage)
// so that they do not come back as one burst.
const jitterDivisor = 10

// NextAttempt returns when to make the next attempt of a message that has
// had attempt attempts so far (0 before the first, 1 after it), and false
// when the schedule is exhausted. The first attempt is due at now; each
// later one at now plus its delay with ±10 % random jitter.
func NextAttempt(attempt int, now time.Time) (time.Time, bool) {
	return nextAttempt(attempt, now, rand.Int64N)
}

// nextAttempt is NextAttempt with the random source as a parameter, so that
// tests can pin the jitter to its extremes. randN returns a value in [0, n).
func nextAttempt(attempt int, now time.Time, randN func(n int64) int64) (time.Time, bool) {
	if attempt <= 0 {
		return now, true
	}
	if attempt > len(retryDelays) {
		return time.Time{}, false
	}
	d := retryDelays[attempt-1]
	spread := d / jitterDivisor
	jitter := time.Duration(randN(int64(2*spread)+1)) - spread
	return now.Add(d + jitter), true
}
