// Package ratelimit keeps token buckets per key (an API key, a client
// address) in memory, with bounded memory: it is a per-replica defence
// against floods and guessing, not an exact quota across replicas.
package ratelimit

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// DefaultMaxKeys bounds the buckets a Limiter tracks. A bucket takes about
// 100 bytes with its key, so the default costs at most ~1 MB per limiter,
// within the services' small memory budget (GOMEMLIMIT 32MiB). Buckets
// refill in seconds, so only keys seen in the last few seconds count
// towards it.
const DefaultMaxKeys = 10_000

// sweepEvery: how often, at most, a full table is searched for buckets that
// have refilled. Each sweep is O(MaxKeys); limiting their rate keeps a
// flood of new keys from turning each request into a full scan.
const sweepEvery = time.Second

// Limiter is a set of token buckets, one per key, all with the same rate:
// each key may make Burst requests at once, then PerSecond on average. It is
// safe for concurrent use, and a request is allowed or refused atomically
// (concurrent requests never take more tokens than there are).
//
// A bucket that has refilled to Burst carries no information, so it may be
// forgotten at any time: the Limiter drops such idle buckets when its table
// is full. When every tracked key is still active (a flood from more
// addresses than MaxKeys), one arbitrary bucket is dropped for the newcomer:
// that key starts afresh — the limiter then errs on the side of serving
// requests rather than refusing newcomers it cannot track.
//
// A nil *Limiter allows everything.
type Limiter struct {
	perSecond float64
	burst     float64
	maxKeys   int
	now       func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

// New returns a limiter allowing burst requests at once and perSecond
// afterwards per key, tracking at most maxKeys keys (DefaultMaxKeys when
// maxKeys ≤ 0). perSecond ≤ 0 means no limit: New returns nil.
func New(perSecond float64, burst, maxKeys int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Limiter{perSecond: perSecond, burst: float64(burst), maxKeys: maxKeys, now: time.Now,
		buckets: make(map[string]*bucket)}
}

// SetClock replaces time.Now, for tests.
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }

// Allow takes a token from key's bucket. When there is none it takes
// nothing and returns false with how long until there will be one.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	return l.take(key, true)
}

// Check reports whether key's bucket has a token, without taking it, and
// how long until it will when it has none.
func (l *Limiter) Check(key string) (ok bool, retryAfter time.Duration) {
	return l.take(key, false)
}

func (l *Limiter) take(key string, consume bool) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if !consume {
			return true, 0 // an untracked key has a full bucket
		}
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = l.refill(b, now)
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration(math.Ceil((1 - b.tokens) / l.perSecond * float64(time.Second)))
	}
	if consume {
		b.tokens--
	}
	return true, 0
}

func (l *Limiter) refill(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at).Seconds()
	if elapsed < 0 { // the clock went back
		elapsed = 0
	}
	return math.Min(l.burst, b.tokens+elapsed*l.perSecond)
}

// makeRoom makes sure one more bucket fits: by dropping the buckets that
// have refilled, at most once per sweepEvery, else one arbitrary bucket.
// Called with l.mu held.
func (l *Limiter) makeRoom(now time.Time) {
	if len(l.buckets) < l.maxKeys {
		return
	}
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.lastSweep = now
		for k, b := range l.buckets {
			if l.refill(b, now) >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	for k := range l.buckets { // Go's map order is random: an arbitrary victim
		if len(l.buckets) < l.maxKeys {
			break
		}
		delete(l.buckets, k)
	}
}

// Len returns the number of buckets tracked, for tests and metrics.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// ipv6Bits: an IPv6 client usually holds a whole /64 (a home or a cloud
// instance gets one), so limits per address are per /64; per single
// address, one client could use 2^64 buckets.
const ipv6Bits = 64

// AddrKey is the limiter key of a client address: the IPv4 address, or the
// IPv6 /64 network it is in; "unknown" when a is not valid.
func AddrKey(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Unmap().Is4():
		return a.Unmap().String()
	}
	p, err := a.WithZone("").Prefix(ipv6Bits)
	if err != nil {
		return "unknown"
	}
	return p.String()
}
