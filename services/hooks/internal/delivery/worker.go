package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/stripecompat"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

const (
	// lease is how long a claimed delivery is reserved for its attempt: the
	// client's 15-second limit plus a margin. A worker that dies mid-attempt
	// leaves the delivery due again after it.
	lease = 20 * time.Second
	// failingLimit: an endpoint failing for this long without one success
	// is disabled (docs/design.md §3).
	failingLimit = 5 * 24 * time.Hour
	// pollEvery catches deliveries that became due by time, not by a wake-up.
	pollEvery = 250 * time.Millisecond
	// scanPerSlot bounds a claim's look at the due deliveries to this many
	// per free slot: enough that the rows of endpoints at their bound, which
	// it passes over, rarely leave a slot empty, while its cost follows the
	// slots and not the backlog (issue 12: it read 1,000 rows per claim).
	scanPerSlot = 4
)

// Worker sends due deliveries.
type Worker struct {
	Store *store.Store
	// Clients choose, per endpoint's organization and mode, the client
	// that may or may not reach private addresses (webhook.TargetPolicy).
	Clients *webhook.Clients
	Logger  *slog.Logger
	// Concurrency bounds attempts in flight; PerEndpoint bounds them per
	// endpoint, so that a slow endpoint cannot take every slot.
	Concurrency, PerEndpoint int
	// RetryScale multiplies the retry delays (1 in production; tests shrink
	// the schedule to see several retries).
	RetryScale float64

	wakeOnce  sync.Once
	wake      chan struct{}
	successes chan success
	attempts  sync.WaitGroup // in flight, claimed or handed over
	mu        sync.Mutex
	inFlight  map[string]int // per endpoint
	total     int
	// running: Run is sending, and slots may be reserved (reserve).
	running bool
	// backlog: due deliveries may be waiting for a free slot (the last
	// claim filled every slot or skipped a busy endpoint, or a slot was
	// refused): a finished attempt then wakes the claim loop. Otherwise a
	// finish claims nothing, and waking for it would cost a statement.
	backlog bool
}

// NewClients returns the delivery clients of a worker with concurrency
// attempts in flight. Several endpoints may share a host (one merchant's
// receivers, a webhook relay), so every attempt in flight may be to one
// host: as many idle connections to a host are kept as there can be
// attempts, or each attempt that finds none idle opens a new one (issue
// 12: keeping the per-endpoint bound, 64, with 256 in flight, hooks opened
// 3,523 connections for 10,000 deliveries to 10 endpoints on one host).
func NewClients(targets webhook.TargetPolicy, concurrency int) *webhook.Clients {
	return webhook.NewClients(targets, webhook.ClientOptions{IdleConnsPerHost: concurrency})
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
		w.successes = make(chan success, max(1, w.Concurrency))
		w.inFlight = map[string]int{}
	})
}

// Run sends deliveries until ctx ends, then lets attempts in flight finish.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	recorded := make(chan struct{})
	go func() { defer close(recorded); w.recordSuccesses() }()
	w.setRunning(true)
	defer func() {
		w.setRunning(false) // no slot is reserved from now on: attempts only end
		w.attempts.Wait()
		close(w.successes)
		<-recorded
	}()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	ticked := true
	for {
		claimed := 0
		// A claim scans the due deliveries: while attempts are in flight,
		// wait until a quarter of the slots is free (or the next tick)
		// rather than claim one delivery per finished attempt.
		free, c := w.capacity()
		if free > 0 && (len(c.InFlightEndpoints) == 0 || free >= max(1, w.Concurrency/4) || ticked) {
			c.LeaseSeconds, c.PerEndpoint, c.MaxRows, c.ScanRows = lease.Seconds(), int64(w.PerEndpoint), int64(free), int64(free*scanPerSlot)
			rows, err := w.Store.ClaimDeliveries(ctx, c)
			if err != nil && ctx.Err() == nil {
				w.Logger.ErrorContext(ctx, "claiming deliveries", "err", err)
			}
			w.mu.Lock()
			w.backlog = err != nil || len(rows) == free || len(c.Busy) > 0
			w.mu.Unlock()
			for _, d := range rows {
				w.started(d.EndpointID)
				w.hand(ctx, d)
			}
			claimed = len(rows)
		}
		ticked = false
		if claimed > 0 && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-tick.C:
			ticked = true
		}
	}
}

// capacity is how many attempts may start, and the claim's view of the
// endpoints with attempts in flight: those at their bound (skipped) and how
// many each has (counted against its bound).
func (w *Worker) capacity() (free int, c store.ClaimParams) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c.Busy, c.InFlightEndpoints, c.InFlightCounts = []string{}, []string{}, []int64{}
	for ep, n := range w.inFlight {
		if n >= w.PerEndpoint {
			c.Busy = append(c.Busy, ep)
		}
		c.InFlightEndpoints = append(c.InFlightEndpoints, ep)
		c.InFlightCounts = append(c.InFlightCounts, int64(n))
	}
	return w.Concurrency - w.total, c
}

func (w *Worker) setRunning(on bool) {
	w.mu.Lock()
	w.running = on
	w.mu.Unlock()
}

// started takes a slot for an attempt at a delivery to endpoint ep.
func (w *Worker) started(ep string) {
	w.mu.Lock()
	w.take(ep)
	w.mu.Unlock()
}

func (w *Worker) take(ep string) {
	w.inFlight[ep]++
	w.total++
	w.attempts.Add(1)
}

// finished gives back a slot taken by started or reserve.
func (w *Worker) finished(ep string) {
	w.mu.Lock()
	if w.inFlight[ep]--; w.inFlight[ep] == 0 {
		delete(w.inFlight, ep)
	}
	w.total--
	wake := w.backlog
	w.mu.Unlock()
	w.attempts.Done()
	if wake {
		w.Wake()
	}
}

// reserve takes a slot for a delivery to endpoint ep that the consumer is
// about to create already leased (CreateDeliveries), so that the delivery
// needs no claim: issue 12, one statement and one commit less per delivery,
// and no wake-up between storing an event and sending it. The slot is then
// given its delivery after the commit (hand) or given back (finished). It
// refuses when Run is not sending or the slots are taken, as a claim would.
func (w *Worker) reserve(ep string) bool {
	w.init()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running || w.total >= w.Concurrency || w.inFlight[ep] >= w.PerEndpoint {
		w.backlog = w.running
		return false
	}
	w.take(ep)
	return true
}

// hand makes the attempt at d in a slot already taken, and gives the slot
// back when it is done.
func (w *Worker) hand(ctx context.Context, d store.Delivery) {
	go func() {
		defer w.finished(d.EndpointID)
		// An attempt in flight at shutdown finishes (bounded by the
		// client's timeout) instead of being cut off.
		w.attempt(context.WithoutCancel(ctx), d)
	}()
}

// attempt makes one try and records it.
func (w *Worker) attempt(ctx context.Context, d store.Delivery) {
	now := time.Now()
	secrets := []string{}
	for _, s := range []*string{&d.Secret, d.PreviousSecret} {
		if s == nil || (s != &d.Secret && (d.PreviousSecretExpiresAt == nil || d.PreviousSecretExpiresAt.Before(now))) {
			continue
		}
		secrets = append(secrets, *s)
	}
	body, header, err := message(d, now, secrets)
	if err != nil {
		w.Logger.ErrorContext(ctx, "rendering a delivery", "delivery", d.ID, "err", err)
		return
	}
	res := webhook.Deliver(ctx, w.Clients.For(d.OrganizationID, d.Livemode), d.Url, header, body)
	if res.Status/100 == 2 {
		w.successes <- success{d: d, res: res, at: now}
		return
	}
	if err := w.recordFailure(ctx, d, res, now); err != nil {
		w.Logger.ErrorContext(ctx, "recording delivery attempt", "delivery", d.ID, "err", err)
		return
	}
	w.logAttempt(ctx, d, res)
}

// message is the body and headers of an attempt at now, signed with the
// endpoint's current secrets: Standard Webhooks and the stored event, or,
// for a Stripe-format endpoint, Stripe's event envelope (with the
// endpoint's api_version) around the stored Stripe object and a
// Stripe-Signature header. Stripe keys its HMAC with the secret string
// itself; Standard Webhooks with the bytes it encodes.
func message(d store.Delivery, now time.Time, secrets []string) ([]byte, http.Header, error) {
	if d.SignatureFormat != stripecompat.SignatureFormat {
		keys := make([][]byte, 0, len(secrets))
		for _, s := range secrets {
			if key, err := webhook.ParseSecret(s); err == nil {
				keys = append(keys, key)
			}
		}
		return d.Body, webhook.Headers(d.ID, now, d.Body, keys...), nil
	}
	if d.StripeObject == nil { // cannot happen: stripe endpoints get only the events of objects with a Stripe shape
		return nil, nil, fmt.Errorf("event %s has no Stripe shape", d.EventID)
	}
	apiVersion := ""
	if d.ApiVersion != nil {
		apiVersion = *d.ApiVersion
	}
	body, err := stripecompat.NewEvent(d.EventID, d.EventType, d.EventCreated, d.Livemode, apiVersion, json.RawMessage(d.StripeObject)).Marshal()
	if err != nil {
		return nil, nil, err
	}
	h := make(http.Header, 3)
	h.Set(stripecompat.SignatureHeaderName, stripecompat.SignatureHeader(secrets, now, body))
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", webhook.UserAgent)
	return body, h, nil
}

// logAttempt logs an attempt with its full error, which may name our
// resolver and internal addresses: the merchant sees only res.Message.
func (w *Worker) logAttempt(ctx context.Context, d store.Delivery, res webhook.Result) {
	errText := ""
	if res.Err != nil {
		errText = res.Err.Error()
	}
	w.Logger.InfoContext(ctx, "webhook attempt", "delivery", d.ID, "endpoint", d.EndpointID, "status", res.Status,
		"latency_ms", res.Latency.Milliseconds(), "error", errText)
}

// success is an attempt a receiver acknowledged, waiting to be recorded.
type success struct {
	d   store.Delivery
	res webhook.Result
	at  time.Time
}

const (
	// maxRecordBatch bounds the successes written in one statement.
	maxRecordBatch = 256
	// recordTimeout bounds one write of successes.
	recordTimeout = 10 * time.Second
)

// recordSuccesses writes acknowledged attempts until w.successes is closed:
// whatever arrived while the previous write ran goes in the next one, so
// under load one statement records many. A delivery stays leased until its
// success is written; if the write fails, the lease ends and the delivery
// is sent again with the same webhook-id, which receivers deduplicate.
func (w *Worker) recordSuccesses() {
	batch := make([]success, 0, maxRecordBatch)
	for s := range w.successes {
		batch = append(batch[:0], s)
	more:
		for len(batch) < maxRecordBatch {
			select {
			case s, ok := <-w.successes:
				if !ok {
					break more
				}
				batch = append(batch, s)
			default:
				break more
			}
		}
		w.writeSuccesses(batch)
	}
}

func (w *Worker) writeSuccesses(batch []success) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	p := db.RecordSuccessesParams{}
	for _, s := range batch {
		p.DeliveryIds = append(p.DeliveryIds, s.d.ID)
		p.EndpointIds = append(p.EndpointIds, s.d.EndpointID)
		p.AttemptedAt = append(p.AttemptedAt, s.at)
		p.StatusCodes = append(p.StatusCodes, int32(s.res.Status))
		p.LatenciesMs = append(p.LatenciesMs, s.res.Latency.Milliseconds())
		p.Excerpts = append(p.Excerpts, s.res.ResponseExcerpt)
	}
	if err := w.Store.RecordSuccesses(ctx, p); err != nil {
		w.Logger.ErrorContext(ctx, "recording successful deliveries; they will be sent again", "deliveries", len(batch), "err", err)
		return
	}
	for _, s := range batch {
		w.logAttempt(ctx, s.d, s.res)
	}
}

// recordFailure records an attempt that did not succeed and schedules the
// next one, or gives up; it disables an endpoint that answered 410 or has
// been failing too long.
func (w *Worker) recordFailure(ctx context.Context, d store.Delivery, res webhook.Result, now time.Time) error {
	return w.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		// The attempt row is what the merchant reads (the deliveries
		// list): the fixed message, never the raw error.
		if err := q.RecordAttempt(ctx, db.RecordAttemptParams{DeliveryID: d.ID, StatusCode: int32(res.Status),
			LatencyMs: res.Latency.Milliseconds(), Error: res.Message, ResponseExcerpt: res.ResponseExcerpt}); err != nil {
			return err
		}
		if res.Status == http.StatusGone {
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
}

func ptr[T any](v T) *T { return &v }
