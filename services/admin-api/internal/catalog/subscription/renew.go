package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/totals"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/events"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// DefaultRetrySchedule is when a failed renewal is retried, counted from
// the renewal date (the unpaid period's start): Stripe's smart-retry
// default spreads a few attempts over about a week; after the last retry
// fails, the site's subscription_dunning_end decides (endDunning).
var DefaultRetrySchedule = []time.Duration{24 * time.Hour, 3 * 24 * time.Hour, 5 * 24 * time.Hour}

// DefaultLease is how long a claimed renewal is left to its worker: a
// worker that dies mid-charge leaves it to another after this, which
// retries the charge with the same idempotency key (so it is charged once).
const DefaultLease = 5 * time.Minute

// declineNoPaymentMethod is the failure of a renewal without a saved
// payment method to charge.
const declineNoPaymentMethod = "no_payment_method"

// ChargeRequest is an off-session charge of a saved payment method.
type ChargeRequest struct {
	// IdempotencyKey is the invoice id and attempt: a repeat of the same
	// attempt returns the first one's result and charges nothing more.
	IdempotencyKey string
	OrganizationID string
	Livemode       bool
	PaymentMethod  string
	InvoiceID      string
	Amount         int64
	AmountTax      int64
	Currency       string
}

// ChargeResult is the outcome of a charge: a payment that succeeded or
// was declined (DeclineCode set).
type ChargeResult struct {
	PaymentID   string
	Succeeded   bool
	DeclineCode string
}

// Charger charges saved payment methods: the runtime's one payment path
// (checkout-runtime's internal PaymentService).
type Charger interface {
	ChargeOffSession(ctx context.Context, req ChargeRequest) (ChargeResult, error)
}

// Renewer renews due subscriptions and retries their failed invoices.
// Replicas may run one each: claims use FOR UPDATE SKIP LOCKED and a lease.
type Renewer struct {
	Store    *store.Store
	Charger  Charger
	Schedule []time.Duration // DefaultRetrySchedule when nil
	Lease    time.Duration   // DefaultLease when zero
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Run renews what is due on the real clock every Interval until ctx ends.
func (r *Renewer) Run(ctx context.Context) error {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		if _, err := r.RunDue(ctx, r.Now(), nil); err != nil && ctx.Err() == nil {
			r.Logger.ErrorContext(ctx, "renewing subscriptions", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunDue runs every renewal and retry due by now, on the real clock (clock
// nil) or on a test clock, one at a time, until none is due (a renewal
// that makes the next one due runs it too). It reports how many it ran.
func (r *Renewer) RunDue(ctx context.Context, now time.Time, clock *string) (int, error) {
	n := 0
	for {
		ran, err := r.runOne(ctx, now, clock)
		if err != nil || !ran {
			return n, err
		}
		n++
	}
}

// work is a claimed renewal: the invoice to charge and its attempt.
type work struct {
	sub     db.AdminSubscription
	invoice db.AdminInvoice
	attempt int32
}

// runOne claims one due subscription and runs its renewal or retry.
func (r *Renewer) runOne(ctx context.Context, now time.Time, clock *string) (bool, error) {
	var (
		w       work
		claimed bool
		charge  bool
	)
	err := r.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		until := now.Add(r.lease())
		sub, err := q.ClaimDueSubscription(ctx, db.ClaimDueSubscriptionParams{Now: &now, LeaseUntil: &until, Clock: clock})
		if store.IsNoRows(err) {
			return nil
		} else if err != nil {
			return store.Wrap(err, "claim subscription")
		}
		claimed = true
		running := sub.Status == "active" || sub.Status == "trialing"
		if running && sub.CancelAtPeriodEnd {
			_, err := cancel(ctx, tx, q, sub, sub.CurrentPeriodEnd)
			return err
		}
		if !running && sub.Status != "past_due" {
			return q.SetNextAction(ctx, db.SetNextActionParams{ID: sub.ID})
		}
		in, err := r.invoiceFor(ctx, q, sub, now)
		if err != nil {
			return err
		}
		w, charge = work{sub: sub, invoice: in, attempt: in.AttemptCount + 1}, true
		return nil
	})
	if err != nil || !charge {
		return claimed, err
	}
	res, err := r.charge(ctx, w)
	if err != nil {
		// Left to the lease: the same attempt is charged again later, with
		// the same idempotency key.
		return true, fmt.Errorf("charge invoice %s: %w", w.invoice.ID, err)
	}
	return true, r.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		return r.record(ctx, tx, q, w, res, now)
	})
}

func (r *Renewer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Renewer) lease() time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	return DefaultLease
}

func (r *Renewer) schedule() []time.Duration {
	if r.Schedule != nil {
		return r.Schedule
	}
	return DefaultRetrySchedule
}

// charge charges the invoice's attempt (nothing to charge is a success
// without a payment).
func (r *Renewer) charge(ctx context.Context, w work) (ChargeResult, error) {
	switch {
	case w.invoice.AmountTotal == 0:
		return ChargeResult{Succeeded: true}, nil
	case w.sub.DefaultPaymentMethod == nil:
		return ChargeResult{DeclineCode: declineNoPaymentMethod}, nil
	}
	return r.Charger.ChargeOffSession(ctx, ChargeRequest{
		IdempotencyKey: fmt.Sprintf("%s/%d", w.invoice.ID, w.attempt), OrganizationID: w.sub.OrganizationID,
		Livemode: w.sub.Livemode, PaymentMethod: *w.sub.DefaultPaymentMethod, InvoiceID: w.invoice.ID,
		Amount: w.invoice.AmountTotal, AmountTax: w.invoice.AmountTax, Currency: w.invoice.Currency,
	})
}

// invoiceFor returns the open invoice of the period after sub's current
// one, creating it (once per subscription and period) at a renewal.
func (r *Renewer) invoiceFor(ctx context.Context, q *db.Queries, sub db.AdminSubscription, now time.Time) (db.AdminInvoice, error) {
	n := sub.PeriodNumber + 1
	in, err := q.GetInvoiceForPeriod(ctx, db.GetInvoiceForPeriodParams{SubscriptionID: sub.ID, PeriodNumber: n})
	if err == nil {
		if in.Status != "open" {
			return in, fmt.Errorf("subscription %s: invoice %s of period %d is %s", sub.ID, in.ID, n, in.Status)
		}
		return in, nil
	} else if !store.IsNoRows(err) {
		return in, store.Wrap(err, "get invoice")
	}
	p, carried, err := renewalInvoice(ctx, q, sub, int(n))
	if err != nil {
		return in, err
	}
	p.CreatedAt = now
	in, err = q.CreateInvoice(ctx, p)
	if err != nil {
		return in, store.Wrap(err, "create invoice")
	}
	// The pending prorations are on this invoice now; a credit larger than
	// it waits for the next one.
	if err := q.ClearPendingLines(ctx, db.ClearPendingLinesParams{ID: sub.ID, PendingLines: carried}); err != nil {
		return in, store.Wrap(err, "clear pending lines")
	}
	return in, nil
}

// periodOf returns the bounds of period n of sub: with a trial, period 0
// is the trial and period n ≥ 1 is period n−1 from the anchor (the trial's
// end); without, period n from the anchor (its start).
func periodOf(sub db.AdminSubscription, n int) (start, end time.Time, err error) {
	if sub.TrialEnd != nil {
		if n == 0 {
			return *sub.TrialStart, *sub.TrialEnd, nil
		}
		n--
	}
	return PeriodBounds(sub.BillingAnchor, sub.RecurringInterval, sub.RecurringIntervalCount, n)
}

// renewalInvoice prices period n of sub: its items, the coupon while it
// lasts (forever; repeating: periods starting before its end; once: the
// first invoice only), then its pending proration lines (with the discount
// they were given when made), the checkout's tax rate, with
// catalog/totals' rounding. A credit larger than the rest of the invoice
// brings it to zero with a "carried" line and is returned as the pending
// line for the next invoice.
func renewalInvoice(ctx context.Context, q *db.Queries, sub db.AdminSubscription, n int) (db.CreateInvoiceParams, []byte, error) {
	start, end, err := periodOf(sub, n)
	if err != nil {
		return db.CreateInvoiceParams{}, nil, err
	}
	var (
		items   []Item
		pending []Line
	)
	if err := json.Unmarshal(sub.Items, &items); err != nil {
		return db.CreateInvoiceParams{}, nil, fmt.Errorf("subscription %s items: %w", sub.ID, err)
	}
	if err := json.Unmarshal(sub.PendingLines, &pending); err != nil {
		return db.CreateInvoiceParams{}, nil, fmt.Errorf("subscription %s pending lines: %w", sub.ID, err)
	}
	c, coupon, err := couponFor(ctx, q, sub, start, false)
	if err != nil {
		return db.CreateInvoiceParams{}, nil, err
	}
	d := c.Discount
	out := make([]Line, 0, len(items)+len(pending)+1)
	lines := make([]totals.Line, 0, cap(out))
	for _, it := range items {
		l := Line{Price: it.Price, Name: it.Name, UnitAmount: it.UnitAmount, Quantity: it.Quantity, AmountSubtotal: it.UnitAmount * it.Quantity}
		out = append(out, l)
		lines = append(lines, totals.Line{Amount: l.AmountSubtotal, Eligible: c.appliesTo(it)})
	}
	for _, l := range pending {
		out, lines = append(out, l), append(lines, totals.Line{Amount: l.AmountSubtotal, Discount: l.AmountDiscount})
	}
	t := totals.Compute(lines, d, totals.Tax{})
	carried := []Line{}
	if left := t.Subtotal - t.Discount; left < 0 {
		// More credit than the invoice: the rest waits for the next one.
		out = append(out, Line{Name: "Credit carried to the next invoice", UnitAmount: -left, Quantity: 1, AmountSubtotal: -left, Proration: true})
		lines = append(lines, totals.Line{Amount: -left})
		carried = append(carried, Line{Name: "Credit carried from the previous invoice", UnitAmount: left, Quantity: 1, AmountSubtotal: left, Proration: true})
	}
	t = totals.Compute(lines, d, totals.Tax{Bps: sub.TaxBps})
	switch {
	case t.Discount == 0:
		coupon = nil
	case coupon == nil:
		coupon = sub.DiscountCoupon // only the prorations' discount, from the coupon when they were made
	}
	for i := range out {
		out[i].AmountDiscount = t.LineDiscounts[i]
	}
	encoded, err := json.Marshal(out)
	if err != nil {
		return db.CreateInvoiceParams{}, nil, err
	}
	left, err := json.Marshal(carried)
	if err != nil {
		return db.CreateInvoiceParams{}, nil, err
	}
	return db.CreateInvoiceParams{ID: ids.New("in"), OrganizationID: sub.OrganizationID, Livemode: sub.Livemode,
		SubscriptionID: sub.ID, CustomerID: sub.CustomerID, PeriodNumber: int32(n), Status: "open",
		BillingReason: reasonCycle, Currency: sub.Currency, Lines: encoded, AmountSubtotal: t.Subtotal,
		AmountDiscount: t.Discount, AmountTax: t.Tax, AmountTotal: t.Total, DiscountCoupon: coupon,
		PeriodStart: start, PeriodEnd: end, CustomFields: sub.CustomFields}, left, nil
}

// discountApplies says whether a subscription's coupon applies to the
// invoice of a period that starts at start (first: the subscription's
// first invoice, the checkout's).
func discountApplies(duration string, end *time.Time, start time.Time, first bool) bool {
	switch duration {
	case "forever":
		return true
	case "repeating":
		return end != nil && start.Before(*end)
	}
	return first // once: the checkout's invoice only
}

// Coupon is a subscription's coupon as it applies to one period's
// invoice: its reduction, limited to some products (none: all).
type Coupon struct {
	Discount totals.Discount
	Products []string
}

// appliesTo says whether the coupon discounts item it.
func (c Coupon) appliesTo(it Item) bool {
	return len(c.Products) == 0 || slices.Contains(c.Products, it.Product)
}

// itemDiscounts are the discounts of items on an invoice of theirs alone
// (catalog/totals' rules: percent per line half up, amount off by largest
// remainder).
func (c Coupon) itemDiscounts(items []Item) []int64 {
	lines := make([]totals.Line, len(items))
	for i, it := range items {
		lines[i] = totals.Line{Amount: it.UnitAmount * it.Quantity, Eligible: c.appliesTo(it)}
	}
	return totals.Compute(lines, c.Discount, totals.Tax{}).LineDiscounts
}

// couponFor returns sub's coupon as it applies to the invoice of the period
// starting at start (first: the checkout's), and its id; a zero Coupon and
// nil when it does not apply. A coupon deleted since still applies.
func couponFor(ctx context.Context, q *db.Queries, sub db.AdminSubscription, start time.Time, first bool) (Coupon, *string, error) {
	if sub.DiscountCoupon == nil || !discountApplies(*sub.DiscountDuration, sub.DiscountEnd, start, first) {
		return Coupon{}, nil, nil
	}
	row, err := q.GetAnyCoupon(ctx, db.GetAnyCouponParams{OrganizationID: sub.OrganizationID, Livemode: sub.Livemode, ID: *sub.DiscountCoupon})
	if err != nil {
		return Coupon{}, nil, store.Wrap(err, "get coupon")
	}
	c := Coupon{Products: row.AppliesToProducts}
	if row.PercentOff != nil {
		c.Discount.PercentOff = int64(*row.PercentOff)
	} else {
		c.Discount.AmountOff = *row.AmountOff
	}
	return c, &row.ID, nil
}

// errRecorded: the attempt's result is already recorded (a worker whose
// lease ran out and another that took over).
var errRecorded = errors.New("attempt already recorded")

// record applies the result of attempt w to the invoice and subscription,
// with their events; a result already recorded changes nothing.
func (r *Renewer) record(ctx context.Context, tx pgx.Tx, q *db.Queries, w work, res ChargeResult, now time.Time) error {
	sub, err := q.LockSubscriptionByID(ctx, w.sub.ID)
	if err != nil {
		return store.Wrap(err, "lock subscription")
	}
	in, err := q.LockInvoice(ctx, w.invoice.ID)
	if err != nil {
		return store.Wrap(err, "lock invoice")
	}
	if in.Status != "open" || in.AttemptCount >= w.attempt {
		r.log(ctx, "renewal result ignored", sub.ID, in.ID, errRecorded)
		return nil
	}
	if res.Succeeded {
		var payment *string
		if res.PaymentID != "" {
			payment = &res.PaymentID
		}
		if in, err = q.PayInvoice(ctx, db.PayInvoiceParams{ID: in.ID, PaymentID: payment, PaidAt: &now, AttemptCount: w.attempt}); err != nil {
			return store.Wrap(err, "pay invoice")
		}
		if err := emitInvoice(ctx, tx, in, events.InvoicePaid); err != nil {
			return err
		}
		if sub.Status == "canceled" {
			// Canceled while the charge was under way: the money is taken,
			// so the invoice is paid, but the subscription stays ended.
			return nil
		}
		if sub, err = q.RenewSubscription(ctx, db.RenewSubscriptionParams{ID: sub.ID, PeriodNumber: in.PeriodNumber,
			CurrentPeriodStart: in.PeriodStart, CurrentPeriodEnd: in.PeriodEnd, LatestInvoiceID: &in.ID}); err != nil {
			return store.Wrap(err, "renew subscription")
		}
		return emitSubscription(ctx, tx, sub, events.SubscriptionUpdated)
	}
	if sub.Status == "canceled" {
		// A decline after the cancellation: recorded, no retry.
		in, err = q.FailInvoiceAttempt(ctx, db.FailInvoiceAttemptParams{ID: in.ID, Status: "open", AttemptCount: w.attempt})
		if err != nil {
			return store.Wrap(err, "fail invoice")
		}
		return emitInvoice(ctx, tx, in, events.InvoicePaymentFailed)
	}
	schedule := r.schedule()
	if int(w.attempt) > len(schedule) {
		return endDunning(ctx, tx, q, sub, in, w.attempt, now)
	}
	next := in.PeriodStart.Add(schedule[w.attempt-1])
	return overdue(ctx, tx, q, sub, in, w.attempt, "past_due", &next)
}

// dunningCancel is the default end of dunning (a site's
// subscription_dunning_end, site.DunningEnds); the others, unpaid and
// past_due, are the status the subscription is left in.
const dunningCancel = "cancel"

// endDunning records that the last retry of invoice in failed, and does
// what sub's site chose: cancel (the invoice uncollectible, the
// subscription canceled), or mark it unpaid or leave it past_due (the
// invoice open and no longer retried, no renewal due: paying or voiding
// the invoice moves the subscription on).
func endDunning(ctx context.Context, tx pgx.Tx, q *db.Queries, sub db.AdminSubscription, in db.AdminInvoice, attempt int32, now time.Time) error {
	end, err := q.GetDunningEnd(ctx, sub.ID)
	if err != nil {
		return store.Wrap(err, "get dunning end")
	}
	if end != dunningCancel {
		return overdue(ctx, tx, q, sub, in, attempt, end, nil)
	}
	if in, err = q.FailInvoiceAttempt(ctx, db.FailInvoiceAttemptParams{ID: in.ID, Status: "uncollectible", AttemptCount: attempt}); err != nil {
		return store.Wrap(err, "fail invoice")
	}
	if err := emitInvoice(ctx, tx, in, events.InvoicePaymentFailed); err != nil {
		return err
	}
	_, err = cancel(ctx, tx, q, sub, now)
	return err
}

// overdue records failed attempt of invoice in, which stays open with its
// next retry (none: next nil), and gives sub status (past_due or unpaid)
// with nothing due before then.
func overdue(ctx context.Context, tx pgx.Tx, q *db.Queries, sub db.AdminSubscription, in db.AdminInvoice, attempt int32, status string, next *time.Time) error {
	in, err := q.FailInvoiceAttempt(ctx, db.FailInvoiceAttemptParams{ID: in.ID, Status: "open", AttemptCount: attempt, NextPaymentAttempt: next})
	if err != nil {
		return store.Wrap(err, "fail invoice")
	}
	if sub, err = q.SetSubscriptionOverdue(ctx, db.SetSubscriptionOverdueParams{ID: sub.ID, Status: status, LatestInvoiceID: &in.ID, NextActionAt: next}); err != nil {
		return store.Wrap(err, "overdue subscription")
	}
	if err := emitInvoice(ctx, tx, in, events.InvoicePaymentFailed); err != nil {
		return err
	}
	return emitSubscription(ctx, tx, sub, events.SubscriptionUpdated)
}

// recordManual applies the result of a charge made on request
// (PayInvoice) and returns the invoice: paid as a renewal's success is; a
// decline counts as one of the invoice's attempts but moves neither its
// next retry nor the subscription.
func (r *Renewer) recordManual(ctx context.Context, tx pgx.Tx, q *db.Queries, w work, res ChargeResult, now time.Time) (db.AdminInvoice, error) {
	if res.Succeeded {
		if err := r.record(ctx, tx, q, w, res, now); err != nil {
			return db.AdminInvoice{}, err
		}
		return q.LockInvoice(ctx, w.invoice.ID)
	}
	in, err := q.LockInvoice(ctx, w.invoice.ID)
	if err != nil || in.Status != "open" || in.AttemptCount >= w.attempt {
		return in, err
	}
	in, err = q.FailInvoiceAttempt(ctx, db.FailInvoiceAttemptParams{ID: in.ID, Status: "open", AttemptCount: w.attempt,
		NextPaymentAttempt: in.NextPaymentAttempt})
	if err != nil {
		return in, store.Wrap(err, "fail invoice")
	}
	return in, emitInvoice(ctx, tx, in, events.InvoicePaymentFailed)
}

func (r *Renewer) log(ctx context.Context, msg, sub, invoice string, err error) {
	if r.Logger != nil {
		r.Logger.InfoContext(ctx, msg, "subscription", sub, "invoice", invoice, "reason", err)
	}
}
