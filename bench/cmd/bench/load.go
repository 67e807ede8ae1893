package main

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"fortio.org/fortio/periodic"
	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds, in microseconds: 1 µs to 2 minutes at 3 significant
// figures, enough for any call the benchmark waits for.
const (
	histMinMicros = 1
	histMaxMicros = 120_000_000
	histSigFigs   = 3
)

// call is one operation under load; a non-nil error counts as an error.
type call func(ctx context.Context) error

// measurement is what one load run produced.
type measurement struct {
	QPS      float64
	Calls    int64
	Errors   int64
	FirstErr string
	Hist     *hdrhistogram.Histogram
}

// plus adds another run of the same duration: calls, errors and latencies
// are pooled, and QPS is the mean of the two rates.
func (m measurement) plus(o measurement) measurement {
	if m.Hist == nil {
		return o
	}
	h := newHist()
	h.Merge(m.Hist)
	h.Merge(o.Hist)
	first := m.FirstErr
	if first == "" {
		first = o.FirstErr
	}
	return measurement{QPS: (m.QPS + o.QPS) / 2, Calls: m.Calls + o.Calls, Errors: m.Errors + o.Errors, FirstErr: first, Hist: h}
}

// ms returns the q-th percentile latency in milliseconds.
func (m measurement) ms(q float64) float64 {
	return float64(m.Hist.ValueAtQuantile(q)) / 1000
}

// timedRunner is one fortio goroutine: it owns its histogram, so recording
// needs no lock; the histograms are merged when the run is over.
type timedRunner struct {
	do       call
	hist     *hdrhistogram.Histogram
	errs     *atomic.Int64
	firstErr *sync.Once
	errText  *string
}

func (r *timedRunner) Run(ctx context.Context, _ periodic.ThreadID) (bool, string) {
	start := time.Now()
	err := r.do(ctx)
	_ = r.hist.RecordValue(time.Since(start).Microseconds())
	if err != nil {
		r.errs.Add(1)
		r.firstErr.Do(func() { *r.errText = err.Error() })
		return false, ""
	}
	return true, ""
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
}

// load runs do on threads goroutines for d at qps (qps <= 0: as fast as
// possible), or exactly n calls when n > 0, with fortio's periodic runner.
// The system and its baselines all go through here, so they are measured
// alike.
func load(threads int, qps float64, d time.Duration, n int64, do call) measurement {
	if qps <= 0 {
		qps = -1
	}
	var errs atomic.Int64
	var once sync.Once
	var errText string
	runners := make([]*timedRunner, threads)
	opts := periodic.RunnerOptions{QPS: qps, Duration: d, NumThreads: threads, Exactly: n, Out: io.Discard, Uniform: qps > 0}
	pr := periodic.NewPeriodicRunner(&opts)
	// NewPeriodicRunner releases (nils) the runners of the options it was
	// given, which share their array with the runner's copy: set them after.
	ro := pr.Options()
	ro.Runners = make([]periodic.Runnable, threads)
	for i := range runners {
		runners[i] = &timedRunner{do: do, hist: newHist(), errs: &errs, firstErr: &once, errText: &errText}
		ro.Runners[i] = runners[i]
	}
	res := pr.Run()
	merged := newHist()
	for _, r := range runners {
		merged.Merge(r.hist)
	}
	return measurement{QPS: res.ActualQPS, Calls: merged.TotalCount(), Errors: errs.Load(), FirstErr: errText, Hist: merged}
}
