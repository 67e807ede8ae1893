package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// refundPayments is how many payments scenario 6 refunds: enough that its
// callers rarely queue on one payment's row lock (a merchant refunds many
// orders, rarely one order many times at once), few enough to pay in about
// a second. Each refund takes 1 minor unit, so 64 payments of 39.49 € hold
// some 250,000 refunds, far more than a run makes.
const refundPayments = 64

// refunds measures POST /v1/refunds at peak: the merchant API call, its
// forwarding to the runtime, the row lock and sum, the provider call and the
// events, over payments made with the 4242 card first (scenario 6).
func (b *bench) refunds(ctx context.Context) (table, error) {
	tr := loopbackClient(16).Transport
	ps, err := preparePayables(ctx, b.api, tr, refundPayments)
	if err != nil {
		return table{}, fmt.Errorf("preparing %d sessions: %w", refundPayments, err)
	}
	p := newPayer(ps)
	if err := prepare(len(ps), func(int) error { return p.pay(ctx) }); err != nil {
		return table{}, fmt.Errorf("paying: %w", err)
	}
	bodies := make([][]byte, len(ps))
	for i, s := range ps {
		var got struct {
			Payment string `json:"payment"`
		}
		if err := b.api.do(ctx, http.MethodGet, "/v1/checkout/sessions/"+s.ID, nil, &got); err != nil {
			return table{}, err
		}
		bodies[i], _ = json.Marshal(map[string]any{"payment": got.Payment, "amount": 1, "reason": "requested_by_customer"})
	}
	var next atomic.Uint64
	refund := func(ctx context.Context) error {
		body := bodies[next.Add(1)%uint64(len(bodies))]
		return b.api.do(ctx, http.MethodPost, "/v1/refunds", body, nil)
	}
	load(b.o.threads, 0, time.Second, 0, refund)
	var cpu cpuTally
	peak := b.loadCPU(&cpu, b.o.threads, 0, b.o.duration, 0, refund)
	t := table{Title: "6. Create refund POST /v1/refunds (test provider)"}
	t.Rows = append(t.Rows, measuredRow(fmt.Sprintf("refund 1 unit, peak, over %d payments", len(bodies)), peak, 0, "", nil))
	t.Notes = append(errorNotes(peak), cpu.note("refund peak"),
		"Each refund is a row lock on its payment, a sum of its refunds, the pending insert, the provider call, "+
			"then the move to succeeded with refund.succeeded and payment.refunded in the outbox: two transactions.")
	return t, nil
}
