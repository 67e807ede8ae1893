package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// faultGrace extends each fault's window past the component's readiness:
// clients' pools and the services' connections take a moment to find it
// again, and answers in flight when it came back are still its doing.
const faultGrace = 5 * time.Second

// fault is one kill -9 of a component and its restart.
type fault struct {
	Component, Kind        string
	Killed, Started, Ready time.Time
	Err                    string // the restart failed (the run fails)
}

// window is when the fault's effects are expected.
func (f fault) window() (time.Time, time.Time) { return f.Killed, f.Ready.Add(faultGrace) }

// faults kills one component at a time, chosen by the seeded source, after
// a random gap, and restarts it after a random downtime: never two at once,
// so that two of the three NATS nodes (a quorum) and one replica of each
// service stay up, except while PostgreSQL itself is down.
type faults struct {
	rng              *rand.Rand
	gapMin, gapMax   time.Duration
	downMin, downMax time.Duration

	mu  sync.Mutex
	log []fault
}

// newFaults is the schedule of seed: gaps and downtimes drawn uniformly
// from [min, max).
func newFaults(seed uint64, gapMin, gapMax, downMin, downMax time.Duration) *faults {
	return &faults{rng: rand.New(rand.NewPCG(seed, 1)), gapMin: gapMin, gapMax: gapMax, downMin: downMin, downMax: downMax}
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// run injects faults until ctx ends; the last one's component is up again
// when it returns.
func (f *faults) run(ctx context.Context, cs []*component, logf func(string, ...any)) {
	for {
		gap, i, down := f.next(len(cs))
		select {
		case <-ctx.Done():
			return
		case <-time.After(gap):
		}
		c := cs[i]
		ft := fault{Component: c.name, Kind: c.kind, Killed: time.Now()}
		c.kill()
		logf("chaos: kill -9 %s; down for %s", c.name, down.Round(100*time.Millisecond))
		time.Sleep(down)
		ft.Started = time.Now()
		// A restart is not cut short by the end of the load.
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := c.start(rctx)
		if err == nil {
			err = c.ready(rctx)
		}
		cancel()
		ft.Ready = time.Now()
		if err != nil {
			ft.Err = err.Error()
			logf("chaos: %s did not come back: %v", c.name, err)
		} else {
			logf("chaos: %s ready again after %s", c.name, ft.Ready.Sub(ft.Killed).Round(100*time.Millisecond))
		}
		f.mu.Lock()
		f.log = append(f.log, ft)
		f.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// next draws the next fault of the schedule: the gap before it, which of
// n components it kills, and for how long. The schedule depends on the seed
// alone, not on timing: a replay kills the same components in the same order.
func (f *faults) next(n int) (gap time.Duration, component int, down time.Duration) {
	gap = between(f.rng, f.gapMin, f.gapMax)
	component = f.rng.IntN(n)
	down = between(f.rng, f.downMin, f.downMax)
	return gap, component, down
}

func (f *faults) all() []fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fault(nil), f.log...)
}

// during returns the faults whose window overlaps [from, to].
func during(fs []fault, from, to time.Time) []fault {
	var out []fault
	for _, f := range fs {
		s, e := f.window()
		if !to.Before(s) && !from.After(e) {
			out = append(out, f)
		}
	}
	return out
}

func (f fault) String() string {
	return fmt.Sprintf("%s killed %s, ready %s", f.Component, f.Killed.Format("15:04:05.000"), f.Ready.Format("15:04:05.000"))
}
