package ratelimit

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLimiter(perSecond float64, burst, maxKeys int) (*Limiter, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(perSecond, burst, maxKeys)
	l.SetClock(c.now)
	return l, c
}

func TestBurstThenRate(t *testing.T) {
	l, c := newLimiter(2, 5, 0) // 5 at once, then 2 a second
	for i := range 5 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("k")
	if ok || retry != 500*time.Millisecond {
		t.Fatalf("6th: ok=%v retry=%v, want refused, retry 500ms", ok, retry)
	}
	if ok, _ := l.Check("k"); ok {
		t.Fatal("Check must see the empty bucket")
	}
	// Another key has its own bucket.
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key refused")
	}
	c.add(500 * time.Millisecond)
	if ok, _ := l.Check("k"); !ok {
		t.Fatal("a token must be back after 500ms")
	}
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refilled token refused")
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("only one token had refilled")
	}
	// A long pause refills to the burst, not beyond.
	c.add(time.Hour)
	n := 0
	for {
		if ok, _ := l.Allow("k"); !ok {
			break
		}
		n++
	}
	if n != 5 {
		t.Fatalf("after an hour %d requests allowed, want the burst of 5", n)
	}
}

func TestPerMinuteRetryAfter(t *testing.T) {
	l, _ := newLimiter(10.0/60, 10, 0) // 10 a minute
	for range 10 {
		l.Allow("a")
	}
	ok, retry := l.Allow("a")
	if ok || retry != 6*time.Second {
		t.Fatalf("ok=%v retry=%v, want 6s", ok, retry)
	}
}

func TestCheckDoesNotTake(t *testing.T) {
	l, _ := newLimiter(1, 1, 0)
	for range 3 {
		if ok, _ := l.Check("a"); !ok {
			t.Fatal("Check took a token")
		}
	}
	if l.Len() != 0 {
		t.Fatal("Check of an unknown key must not track it")
	}
}

func TestNilAllowsAll(t *testing.T) {
	l := New(0, 10, 0)
	if l != nil {
		t.Fatal("a zero rate must give no limiter")
	}
	for range 100 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatal("nil limiter refused")
		}
	}
}

// TestConcurrentNeverExceeds: however many requests race, exactly the
// burst gets through (run with -race).
func TestConcurrentNeverExceeds(t *testing.T) {
	l, _ := newLimiter(1, 50, 0) // the clock stands still: no refill
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 64 {
		wg.Go(func() {
			<-start
			for range 20 {
				if ok, _ := l.Allow("k"); ok {
					allowed.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if n := allowed.Load(); n != 50 {
		t.Fatalf("%d of 1280 concurrent requests allowed, want exactly 50", n)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	l, c := newLimiter(1, 5, 100)
	// A flood of distinct keys, each still active (a token taken).
	for i := range 10_000 {
		l.Allow(fmt.Sprint("flood-", i))
		if l.Len() > 100 {
			t.Fatalf("%d buckets tracked, bound is 100", l.Len())
		}
	}
	// Idle buckets are dropped first: once they have refilled, a new key
	// needs no arbitrary victim, and an active one keeps its state.
	c.add(10 * time.Second)
	for range 5 {
		l.Allow("active")
	}
	for i := range 99 {
		l.Allow(fmt.Sprint("new-", i))
	}
	if ok, _ := l.Allow("active"); ok {
		t.Fatal("the active key lost its bucket to idle ones")
	}
	if l.Len() > 100 {
		t.Fatalf("%d buckets tracked, bound is 100", l.Len())
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":            "203.0.113.7",
		"::ffff:203.0.113.7":     "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":   "2001:db8:1:2::/64",
		"fe80::1%eth0":           "fe80::/64",
		"2001:db8:1:3::1":        "2001:db8:1:3::/64",
		"::1":                    "::/64",
		"2001:db8:ffff:ffff::99": "2001:db8:ffff:ffff::/64",
	} {
		if got := AddrKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("AddrKey(%s) = %s, want %s", in, got, want)
		}
	}
	if got := AddrKey(netip.Addr{}); got != "unknown" {
		t.Errorf("AddrKey(invalid) = %s", got)
	}
}
