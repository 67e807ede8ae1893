package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"time"
)

// Pay peak sizing: a calibration run of payPeakWarmup payments per caller
// estimates the rate, and the timed run pays about half a -duration's worth
// of fresh sessions at that rate, within these bounds (so that preparing
// the sessions stays a few seconds on a slow or a fast path). Half: the
// calibration is a burst that ends before the asynchronous work it starts
// (outbox, hooks, deliveries) competes for the cores, and measured 1.5 to
// 2.8 times the sustained rate; the run then lasts some 3 to 7 seconds.
const (
	payPeakWarmup      = 4
	payPeakMinSessions = 1024
	payPeakMaxSessions = 16384
)

// payPeak measures payments at full speed: threads callers each pay fresh
// sessions (created and viewed before the timed window) with the 4242 card
// through the form contract, with no rate limit, next to the single-row
// INSERT baseline of the same run. One webhook endpoint is registered, as a
// merchant has one; waiting for its deliveries afterwards also drains what
// the payments left in the outbox and hooks before the next run.
func (b *bench) payPeak(ctx context.Context) ([]row, []string, error) {
	base, baseCPU, baseLabel, baseNotes, err := b.insertBaseline(ctx)
	if err != nil {
		return nil, nil, err
	}
	r := newReceiver()
	defer r.srv.Close()
	epID, err := createEndpoint(ctx, b.api, r.srv.URL+"/peak")
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = deleteEndpoint(context.Background(), b.api, epID) }()
	threads := b.o.threads
	tr := loopbackClient(threads).Transport
	// What the previous runs left dirty would slow the calibration down.
	if err := settle(ctx, b.st); err != nil {
		return nil, nil, err
	}
	warm, err := preparePayables(ctx, b.api, tr, payPeakWarmup*threads)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing %d sessions: %w", payPeakWarmup*threads, err)
	}
	wp := newPayer(warm)
	wm := load(threads, 0, 0, int64(len(warm)), wp.pay)
	// fortio gives the remainder of an exact count to its first goroutine
	// (see payToWebhook): keep the count a multiple of the callers.
	n := min(max(int(wm.QPS*b.o.duration.Seconds()/2), payPeakMinSessions), payPeakMaxSessions)
	n = (n + threads - 1) / threads * threads
	ps, err := preparePayables(ctx, b.api, tr, n)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing %d sessions: %w", n, err)
	}
	// The calibration's webhooks are out before the timed run starts.
	waitDeliveries(r, len(wp.paid), deliveryDeadline)
	if err := settle(ctx, b.st); err != nil {
		return nil, nil, err
	}
	p := newPayer(ps)
	pg, err := watchPG(ctx, b.st)
	if err != nil {
		return nil, nil, fmt.Errorf("watching PostgreSQL: %w", err)
	}
	var cpu, whole cpuTally
	start := sampleCPU(b.binDir)
	m := b.loadCPU(&cpu, threads, 0, 0, int64(n), p.pay)
	waitDeliveries(r, len(wp.paid)+len(p.paid), deliveryDeadline)
	whole.add(start, sampleCPU(b.binDir))
	pgNote, err := pg.stop(ctx, max(len(p.paid), 1), "payment (first post to last webhook)")
	if err != nil {
		return nil, nil, fmt.Errorf("reading PostgreSQL's statements: %w", err)
	}
	ds := matchDeliveries(p, r, 1)
	peak := measuredRow(fmt.Sprintf("pay (4242), peak: %d callers, %d fresh sessions", threads, n), m, base.QPS,
		"≥ 10 % of baseline", pass(base.QPS > 0 && m.QPS >= 0.1*base.QPS))
	peak.Errors += int64(ds.lost)
	rows := []row{measuredRow(baseLabel, base, 0, "", nil), peak}
	notes := append(errorNotes(m), baseNotes...)
	notes = append(notes, fmt.Sprintf("Pay peak: closed loop, no rate limit; each session created and its page loaded before the timed window. "+
		"Calibration: %d payments at %.0f/s sized the run (%s of load). Payments succeeded %d of %d (a payment that does not answer "+
		"succeeded is an error); with one webhook endpoint registered, webhooks received %d, lost (not within %s) %d, counted as errors.",
		len(warm), wm.QPS, time.Duration(float64(n)/m.QPS*float64(time.Second)).Round(100*time.Millisecond), len(p.paid), n, ds.delivered, deliveryDeadline, ds.lost), cpu.note("pay peak"))
	if len(p.paid) > 0 && base.Calls > 0 {
		payMs, payParts, payCores := whole.perOp(len(p.paid))
		insMs, _, insCores := baseCPU.perOp(int(base.Calls))
		notes = append(notes, fmt.Sprintf("CPU per payment, all processes, from the first post to the last webhook: %.2f ms (%s), "+
			"%.2f of %d cores busy; per baseline INSERT: %.3f ms, %.2f cores busy. Where both runs are bound by the cores, "+
			"pay peak ÷ INSERT baseline is at most %.3f ÷ %.2f = %.1f %% until a payment costs less CPU (docs/perf/payment-path.md).",
			payMs, payParts, payCores, runtime.NumCPU(), insMs, insCores, insMs, payMs, 100*insMs/payMs))
	}
	return rows, append(notes, pgNote), nil
}

// insertBaseline is the single-row INSERT baseline: scenario 1's when it
// ran, else measured here the same way (one round instead of two).
func (b *bench) insertBaseline(ctx context.Context) (measurement, cpuTally, string, []string, error) {
	if b.insertMax.Hist != nil {
		return b.insertMax, b.insertCPU, "baseline: pgx INSERT of a session row (from 1.)", nil, nil
	}
	insert, cleanup, err := pgxInsert(ctx, b.st, b.o.threads)
	if err != nil {
		return measurement{}, cpuTally{}, "", nil, err
	}
	defer cleanup()
	load(b.o.threads, 0, time.Second, 0, insert)
	var cpu cpuTally
	m := b.loadCPU(&cpu, b.o.threads, 0, b.o.duration, 0, insert)
	return m, cpu, "baseline: pgx INSERT of a session row (measured here; 1. did not run)", []string{cpu.note("the INSERT baseline")}, nil
}

// setEndpointDisabled disables or enables a webhook endpoint.
func setEndpointDisabled(ctx context.Context, a apiClient, id string, disabled bool) error {
	body, _ := json.Marshal(map[string]any{"disabled": disabled})
	return a.do(ctx, http.MethodPost, "/v1/webhook_endpoints/"+id, body, nil)
}

// resendEvent makes the event's delivery to the endpoint due now (creating
// it when there was none).
func resendEvent(ctx context.Context, a apiClient, eventID, endpointID string) error {
	body, _ := json.Marshal(map[string]any{"webhook_endpoint": endpointID})
	return a.do(ctx, http.MethodPost, "/v1/events/"+eventID+"/resend", body, nil)
}

// completedEvents returns the ids of the checkout.session.completed events
// of the sessions, created since since, waiting up to deadline for hooks to
// have stored them all.
func completedEvents(ctx context.Context, a apiClient, sessions map[string]bool, since time.Time, deadline time.Duration) ([]string, error) {
	end := time.Now().Add(deadline)
	for {
		found := map[string]string{} // session → event
		after := ""
		for {
			q := url.Values{"type": {"checkout.session.completed"}, "limit": {"100"},
				"created[gte]": {since.UTC().Format(time.RFC3339)}}
			if after != "" {
				q.Set("starting_after", after)
			}
			var page struct {
				Data []struct {
					ID   string `json:"id"`
					Data struct {
						Object struct {
							ID string `json:"id"`
						} `json:"object"`
					} `json:"data"`
				} `json:"data"`
				HasMore bool `json:"has_more"`
			}
			if err := a.do(ctx, http.MethodGet, "/v1/events?"+q.Encode(), nil, &page); err != nil {
				return nil, err
			}
			for _, ev := range page.Data {
				if sessions[ev.Data.Object.ID] {
					found[ev.Data.Object.ID] = ev.ID
				}
			}
			if !page.HasMore || len(page.Data) == 0 {
				break
			}
			after = page.Data[len(page.Data)-1].ID
		}
		if len(found) == len(sessions) {
			out := make([]string, 0, len(found))
			for _, id := range found {
				out = append(out, id)
			}
			return out, nil
		}
		if time.Now().After(end) {
			return nil, fmt.Errorf("%d of %d checkout.session.completed events stored after %s", len(found), len(sessions), deadline)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storedFanOut measures delivery alone, on events already stored: the
// endpoints are created and disabled, the sessions paid (hooks stores the
// events but makes no delivery to a disabled endpoint), then every
// event × endpoint delivery is made pending through POST
// /v1/events/{id}/resend (the worker claims none while its endpoint is
// disabled). The timed window starts when the endpoints are enabled again;
// the one pair left out of the resends is resent last, which wakes the
// worker (enabling an endpoint does not; it would otherwise find the
// deliveries at its next poll, within 250 ms).
func (b *bench) storedFanOut(ctx context.Context) (row, []string, error) {
	r := newReceiver()
	defer r.srv.Close()
	eps := make([]string, b.o.fanOut)
	for i := range eps {
		id, err := createEndpoint(ctx, b.api, fmt.Sprintf("%s/stored/%d", r.srv.URL, i))
		if err != nil {
			return row{}, nil, err
		}
		defer func() { _ = deleteEndpoint(context.Background(), b.api, id) }()
		if err := setEndpointDisabled(ctx, b.api, id, true); err != nil {
			return row{}, nil, err
		}
		eps[i] = id
	}
	tr := loopbackClient(16).Transport
	began := time.Now()
	ps, err := preparePayables(ctx, b.api, tr, b.o.stored)
	if err != nil {
		return row{}, nil, fmt.Errorf("preparing %d sessions: %w", b.o.stored, err)
	}
	since := time.Now().Add(-time.Second)
	p := newPayer(ps)
	if err := prepare(len(ps), func(int) error { return p.pay(ctx) }); err != nil {
		return row{}, nil, fmt.Errorf("paying: %w", err)
	}
	evs, err := completedEvents(ctx, b.api, p.paid, since, deliveryDeadline)
	if err != nil {
		return row{}, nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: %d events stored in %s; resending to the disabled endpoints…\n", len(evs), time.Since(began).Round(time.Millisecond))
	began = time.Now()
	pairs := len(evs) * len(eps)
	if err := prepare(pairs-1, func(i int) error {
		i++ // pair 0 is resent in the timed window
		return resendEvent(ctx, b.api, evs[i/len(eps)], eps[i%len(eps)])
	}); err != nil {
		return row{}, nil, fmt.Errorf("resending while disabled: %w", err)
	}
	if n := r.count(); n > 0 {
		return row{}, nil, fmt.Errorf("%d deliveries to disabled endpoints", n)
	}
	fmt.Fprintf(os.Stderr, "bench: %d deliveries pending after %s; enabling the endpoints\n", pairs, time.Since(began).Round(time.Millisecond))
	pg, err := watchPG(ctx, b.st)
	if err != nil {
		return row{}, nil, fmt.Errorf("watching PostgreSQL: %w", err)
	}
	conns := r.conns.Load()
	before := sampleCPU(b.binDir)
	start := time.Now()
	if err := prepare(len(eps), func(i int) error { return setEndpointDisabled(ctx, b.api, eps[i], false) }); err != nil {
		return row{}, nil, fmt.Errorf("enabling: %w", err)
	}
	if err := resendEvent(ctx, b.api, evs[0], eps[0]); err != nil {
		return row{}, nil, err
	}
	waitDeliveries(r, pairs, deliveryDeadline)
	var used cpuTally
	used.add(before, sampleCPU(b.binDir))
	pgNote, err := pg.stop(ctx, pairs, "delivery")
	if err != nil {
		return row{}, nil, fmt.Errorf("reading PostgreSQL's statements: %w", err)
	}
	// Latency here is from the start of the enabling to each receipt.
	p.mu.Lock()
	for id := range p.paid {
		p.started[id] = start
	}
	p.mu.Unlock()
	ds := matchDeliveries(p, r, len(eps))
	rate := 0.0
	if ds.delivered > 0 {
		rate = float64(ds.delivered) / ds.end.Sub(start).Seconds()
	}
	res := row{Name: fmt.Sprintf("delivery only: %d endpoints × %d stored events", len(eps), len(evs)), QPS: rate,
		P50: ms99(ds.hist, 50), P95: ms99(ds.hist, 95), P99: ms99(ds.hist, 99), Errors: int64(ds.lost),
		Target: "≥ 2,000 deliveries/s", Pass: pass(rate >= 2000)}
	note := fmt.Sprintf("Delivery only: the %d endpoints are created and disabled, %d sessions paid (hooks stores their events and, "+
		"the endpoints being disabled, makes no delivery), then each event × endpoint delivery is made pending with "+
		"POST /v1/events/{id}/resend while the endpoints stay disabled (the worker claims no delivery of a disabled endpoint). "+
		"Untimed so far. The clock starts when the endpoints are enabled again (POST /v1/webhook_endpoints/{id} "+
		"{\"disabled\":false}); one pair, left out of the resends, is resent just after, which wakes the worker. "+
		"Deliveries/s = distinct deliveries / (enabling → last receipt); latency = enabling → receipt. "+
		"Deliveries %d of %d in %s over %d new connections from hooks (the endpoints share one host); lost %d; duplicates with effect %d; redeliveries %d.",
		len(eps), len(evs), ds.delivered, pairs, ds.end.Sub(start).Round(time.Millisecond), r.conns.Load()-conns, ds.lost, ds.dupEffect, ds.redeliver)
	return res, []string{note, used.note("delivery only") + " " + pgNote}, nil
}
