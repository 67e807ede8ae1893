package delivery

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

const (
	// lease is how long a claimed delivery is reserved for its attempt: the
	// client's 15-second limit plus a margin. A worker that dies mid-attempt
	// leaves the delivery due again after it.
	lease = 20 * time.Second
	// failingLimit: an endpoint failing for this long without one success
	// is disabled (DESIGN.md §3).
	failingLimit = 5 * 24 * time.Hour
	// pollEvery catches deliveries that became due by time, not by a wake-up.
	pollEvery = 250 * time.Millisecond
)

// Worker sends due deliveries.
type Worker struct {
	Store  *store.Store
	Client *http.Client
	Logger *slog.Logger
	// Concurrency bounds attempts in flight; PerEndpoint bounds them per
	// endpoint, so that a slow endpoint cannot take every slot.
	Concurrency, PerEndpoint int
	// RetryScale multiplies the retry delays (1 in production; tests shrink
	// the schedule to see several retries).
	RetryScale float64

	wakeOnce sync.Once
	wake     chan struct{}
	mu       sync.Mutex
	inFlight map[string]int // per endpoint
	total    int
}

// Wake makes the worker look for due deliveries now.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) init() {
	w.wakeOnce.Do(func() {
		w.wake = make(chan struct{}, 1)
		w.inFlight = map[string]int{}
	})
}

// Run sends deliveries until ctx ends, then lets attempts in flight finish.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		claimed := 0
		if free, busy := w.capacity(); free > 0 {
			rows, err := w.Store.ClaimDeliveries(ctx, db.ClaimDeliveriesParams{LeaseSeconds: lease.Seconds(), Busy: busy,
				PerEndpoint: int64(w.PerEndpoint)})
			if err != nil && ctx.Err() == nil {
				w.Logger.ErrorContext(ctx, "claiming deliveries", "err", err)
			}
			for i, d := range rows {
				if i >= free {
					break // over capacity: the lease makes it due again shortly
				}
				w.started(d.EndpointID)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer w.finished(d.EndpointID)
					// An attempt in flight at shutdown finishes (bounded by
					// the client's timeout) instead of being cut off.
					w.attempt(context.WithoutCancel(ctx), d)
				}()
			}
			claimed = len(rows)
		}
		if claimed > 0 && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-tick.C:
		}
	}
}

// capacity is how many attempts may start, and the endpoints at their bound.
func (w *Worker) capacity() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	busy := []string{}
	for ep, n := range w.inFlight {
		if n >= w.PerEndpoint {
			busy = append(busy, ep)
		}
	}
	return w.Concurrency - w.total, busy
}

func (w *Worker) started(ep string) {
	w.mu.Lock()
	w.inFlight[ep]++
	w.total++
	w.mu.Unlock()
}

func (w *Worker) finished(ep string) {
	w.mu.Lock()
	if w.inFlight[ep]--; w.inFlight[ep] == 0 {
		delete(w.inFlight, ep)
	}
	w.total--
	w.mu.Unlock()
	w.Wake()
}

// attempt makes one try and records it.
func (w *Worker) attempt(ctx context.Context, d db.HooksDelivery) {
	c, err := w.Store.DeliveryContext(ctx, d.ID)
	if err != nil {
		w.Logger.ErrorContext(ctx, "loading delivery", "delivery", d.ID, "err", err)
		return // the lease makes it due again
	}
	now := time.Now()
	secrets := [][]byte{}
	for _, s := range []*string{&c.Secret, c.PreviousSecret} {
		if s == nil || (s != &c.Secret && (c.PreviousSecretExpiresAt == nil || c.PreviousSecretExpiresAt.Before(now))) {
			continue
		}
		if key, err := webhook.ParseSecret(*s); err == nil {
			secrets = append(secrets, key)
		}
	}
	res := webhook.Deliver(ctx, w.Client, c.Url, webhook.Headers(d.ID, now, c.Body, secrets...), c.Body)
	errText := ""
	if res.Err != nil {
		errText = res.Err.Error()
	}
	err = w.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if err := q.RecordAttempt(ctx, db.RecordAttemptParams{DeliveryID: d.ID, StatusCode: int32(res.Status),
			LatencyMs: res.Latency.Milliseconds(), Error: errText, ResponseExcerpt: res.ResponseExcerpt}); err != nil {
			return err
		}
		switch {
		case res.Status/100 == 2:
			if err := q.FinishDelivery(ctx, db.FinishDeliveryParams{ID: d.ID, Status: "succeeded"}); err != nil {
				return err
			}
			return q.MarkEndpointSucceeded(ctx, d.EndpointID)
		case res.Status == http.StatusGone:
			// The receiver says the endpoint is gone for good.
			if err := q.FinishDelivery(ctx, db.FinishDeliveryParams{ID: d.ID, Status: "failed"}); err != nil {
				return err
			}
			return q.DisableEndpoint(ctx, db.DisableEndpointParams{ID: d.EndpointID, DisabledReason: ptr("gone")})
		}
		st, next := "failed", (*time.Time)(nil)
		if at, ok := webhook.NextAttempt(int(d.AttemptCount)+1, now); ok {
			at = now.Add(time.Duration(float64(at.Sub(now)) * w.RetryScale))
			st, next = "pending", &at
		}
		if err := q.FinishDelivery(ctx, db.FinishDeliveryParams{ID: d.ID, Status: st, NextAttemptAt: next}); err != nil {
			return err
		}
		since, err := q.MarkEndpointFailed(ctx, d.EndpointID)
		if err != nil {
			return err
		}
		if since != nil && now.Sub(*since) > failingLimit {
			return q.DisableEndpoint(ctx, db.DisableEndpointParams{ID: d.EndpointID, DisabledReason: ptr("failing")})
		}
		return nil
	})
	if err != nil {
		w.Logger.ErrorContext(ctx, "recording delivery attempt", "delivery", d.ID, "err", err)
		return
	}
	w.Logger.InfoContext(ctx, "webhook attempt", "delivery", d.ID, "endpoint", d.EndpointID, "status", res.Status,
		"latency_ms", res.Latency.Milliseconds(), "error", errText)
}

func ptr[T any](v T) *T { return &v }
