package routing

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BreakerConfig sets when an account is skipped.
type BreakerConfig struct {
	// Threshold consecutive retryable failures within Window open the
	// breaker.
	Threshold int
	Window    time.Duration
	// Cooldown is how long an open account is skipped before one probe
	// (half-open) is let through.
	Cooldown time.Duration
}

// DefaultBreaker opens after 5 consecutive retryable failures within a
// minute and probes again after 30 s: a provider outage stops costing every
// payer a failed round trip within seconds at any real volume, while a
// single flaky minute of a quiet account does not take it out.
var DefaultBreaker = BreakerConfig{Threshold: 5, Window: time.Minute, Cooldown: 30 * time.Second}

// Breaker states, as reported in the transitions metric.
const (
	stateClosed   = "closed"
	stateOpen     = "open"
	stateHalfOpen = "half_open"
)

// Breaker is a circuit breaker per provider account. It lives in memory,
// per replica: each replica learns an outage from its own attempts, which
// at a few replicas costs a few more failed attempts and needs no shared
// state on the payment path.
type Breaker struct {
	cfg BreakerConfig
	now func() time.Time

	transitions *prometheus.CounterVec // routing_breaker_transitions_total{provider,state}
	skips       *prometheus.CounterVec // routing_breaker_skips_total{provider}

	mu       sync.Mutex
	accounts map[string]*breakerState
}

// breakerState is one account's.
type breakerState struct {
	state     string
	failures  int       // consecutive retryable failures while closed
	firstFail time.Time // the first of them
	openedAt  time.Time
	probing   bool      // half-open: the one probe is out
	probeAt   time.Time // when it went out
}

// NewBreaker returns a breaker with cfg, reading the time from now (nil:
// time.Now), its metrics registered on reg (nil: not registered).
func NewBreaker(cfg BreakerConfig, now func() time.Time, reg prometheus.Registerer) (*Breaker, error) {
	if now == nil {
		now = time.Now
	}
	b := &Breaker{cfg: cfg, now: now, accounts: map[string]*breakerState{},
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "routing_breaker_transitions_total",
			Help: "Provider-account circuit breaker transitions, by provider and the state entered."}, []string{"provider", "state"}),
		skips: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "routing_breaker_skips_total",
			Help: "Attempts not made on a provider account because its breaker was open."}, []string{"provider"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{b.transitions, b.skips} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// state returns t's state, creating a closed one.
func (b *Breaker) stateOf(account string) *breakerState {
	s, ok := b.accounts[account]
	if !ok {
		s = &breakerState{state: stateClosed}
		b.accounts[account] = s
	}
	return s
}

// Allow reports whether an attempt may be made on t now; call it just
// before the attempt, and Report after it. An open account is
// refused until its cool-down has passed; then one caller gets the probe
// (half-open) and the others are refused until it reports back.
func (b *Breaker) Allow(t Target) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stateOf(t.AccountID)
	switch s.state {
	case stateOpen:
		if b.now().Sub(s.openedAt) < b.cfg.Cooldown {
			b.skips.WithLabelValues(t.Provider).Inc()
			return false
		}
		s.state, s.probing, s.probeAt = stateHalfOpen, true, b.now()
		b.transitions.WithLabelValues(t.Provider, stateHalfOpen).Inc()
		return true
	case stateHalfOpen:
		// A probe that never reported back (its request died) is given up
		// after a cool-down, so that the account is not skipped for ever.
		if s.probing && b.now().Sub(s.probeAt) < b.cfg.Cooldown {
			b.skips.WithLabelValues(t.Provider).Inc()
			return false
		}
		s.probing, s.probeAt = true, b.now()
		return true
	}
	return true
}

// Report records how an attempt on t went: failed true for a retryable
// failure (Retryable), false for any answer of the provider's (an
// authorisation, or a decline for the payer's own reasons).
func (b *Breaker) Report(t Target, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stateOf(t.AccountID)
	now := b.now()
	if !failed {
		if s.state != stateClosed {
			b.transitions.WithLabelValues(t.Provider, stateClosed).Inc()
		}
		*s = breakerState{state: stateClosed}
		return
	}
	switch s.state {
	case stateHalfOpen:
		s.state, s.openedAt, s.probing = stateOpen, now, false
		b.transitions.WithLabelValues(t.Provider, stateOpen).Inc()
	case stateClosed:
		if s.failures == 0 || now.Sub(s.firstFail) > b.cfg.Window {
			s.failures, s.firstFail = 0, now
		}
		s.failures++
		if s.failures >= b.cfg.Threshold {
			s.state, s.openedAt, s.failures = stateOpen, now, 0
			b.transitions.WithLabelValues(t.Provider, stateOpen).Inc()
		}
	}
}
