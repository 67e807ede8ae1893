// Package subscription is the merchant's subscriptions and their invoices:
// made when a subscription checkout is paid (in the transaction that marks
// the session paid, so a paid subscription checkout never lacks its
// subscription), served by the merchant API. See docs/subscriptions.md.
package subscription

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/events"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
)

// outboxSchema is admin-api's outbox (grpcapi.OutboxSchema).
const outboxSchema = "admin"

// Billing reasons of invoices.
const (
	reasonCreate = "subscription_create"
	reasonCycle  = "subscription_cycle"
)

// Paid is what the runtime reports with a subscription checkout's payment.
type Paid struct {
	PaymentMethod string
	TaxBps        int64
}

// OnPaid runs in the transaction that marks session row paid: it creates
// the catalog customer the session needs (a subscription checkout without
// one, or customer_creation=always) and, in subscription mode, the
// subscription and its first invoice, paid by the session's payment, with
// their events; a subscription made incomplete by the session's pending
// payment (OnPending) becomes active (or trialing) instead. It returns the
// session as changed (customer, subscription); a session that needs
// nothing is returned as is.
//
// paid is what the runtime tells of the payment: the reusable payment
// method it saved ("" when none), which renewals charge, and the exclusive
// tax rate of the checkout, which they apply.
func OnPaid(ctx context.Context, tx pgx.Tx, q *db.Queries, row db.AdminCheckoutSession, paid Paid) (db.AdminCheckoutSession, error) {
	if row.SubscriptionID != nil {
		return row, activate(ctx, tx, q, row, paid)
	}
	return onCompleted(ctx, tx, q, row, paid, false)
}

// OnPending runs in the transaction that completes subscription checkout
// row with a payment still pending (an asynchronous card): the subscription
// is created `incomplete`, its first invoice `open`, until the payment's
// result (OnPaid, or OnPaymentFailed). A payment-mode session is left as is.
func OnPending(ctx context.Context, tx pgx.Tx, q *db.Queries, row db.AdminCheckoutSession, paid Paid) (db.AdminCheckoutSession, error) {
	if row.Mode != "subscription" {
		return row, nil
	}
	return onCompleted(ctx, tx, q, row, paid, true)
}

// OnPaymentFailed runs in the transaction that records the failure of the
// pending payment of session row: its incomplete subscription never starts
// (`incomplete_expired`, as Stripe's after its first payment's window) and
// its first invoice is void.
func OnPaymentFailed(ctx context.Context, tx pgx.Tx, q *db.Queries, row db.AdminCheckoutSession) error {
	if row.SubscriptionID == nil {
		return nil
	}
	sub, err := q.ExpireSubscription(ctx, *row.SubscriptionID)
	if store.IsNoRows(err) {
		return nil // not incomplete: nothing to end
	} else if err != nil {
		return store.Wrap(err, "expire subscription")
	}
	if sub.LatestInvoiceID != nil {
		now := time.Now().UTC().Truncate(time.Second)
		in, err := q.VoidInvoice(ctx, db.VoidInvoiceParams{ID: *sub.LatestInvoiceID, VoidedAt: &now})
		if err != nil && !store.IsNoRows(err) {
			return store.Wrap(err, "void invoice")
		} else if err == nil {
			if err := emitInvoice(ctx, tx, in, events.InvoiceVoided); err != nil {
				return err
			}
		}
	}
	return emitSubscription(ctx, tx, sub, events.SubscriptionUpdated)
}

// onCompleted makes the customer and the subscription of completed session
// row: paid, or incomplete while its payment is pending.
func onCompleted(ctx context.Context, tx pgx.Tx, q *db.Queries, row db.AdminCheckoutSession, paid Paid, pending bool) (db.AdminCheckoutSession, error) {
	subscribing := row.Mode == "subscription"
	customer := ""
	if row.Customer != nil && ids.IsNew(*row.Customer, "cus") {
		customer = *row.Customer
	}
	if !subscribing && (customer != "" || row.CustomerCreation != "always") {
		return row, nil
	}
	if customer == "" {
		c, err := q.CreateCustomer(ctx, db.CreateCustomerParams{ID: ids.New("cus"), OrganizationID: row.OrganizationID,
			Livemode: row.Livemode, Email: row.CustomerEmail, Phone: row.CustomerPhone, Metadata: []byte("{}")})
		if err != nil {
			return row, store.Wrap(err, "create customer")
		}
		customer = c.ID
	}
	var subID *string
	if subscribing {
		id, err := create(ctx, tx, q, row, customer, paid, pending)
		if err != nil {
			return row, err
		}
		subID = &id
	}
	out, err := q.SetSessionCustomer(ctx, db.SetSessionCustomerParams{ID: row.ID, Customer: &customer, SubscriptionID: subID})
	if err != nil {
		return row, store.Wrap(err, "set session customer")
	}
	return out, nil
}

// activate starts the incomplete subscription of session row, whose
// pending payment succeeded: its first invoice is paid.
func activate(ctx context.Context, tx pgx.Tx, q *db.Queries, row db.AdminCheckoutSession, paid Paid) error {
	sub, err := q.GetSubscriptionBySession(ctx, row.ID)
	if err != nil {
		return store.Wrap(err, "get subscription")
	}
	if sub.LatestInvoiceID != nil {
		now := time.Now().UTC().Truncate(time.Second)
		in, err := q.PayInvoice(ctx, db.PayInvoiceParams{ID: *sub.LatestInvoiceID, PaymentID: row.PaymentID, PaidAt: &now, AttemptCount: 1})
		if err != nil && !store.IsNoRows(err) {
			return store.Wrap(err, "pay invoice")
		} else if err == nil {
			if err := emitInvoice(ctx, tx, in, events.InvoicePaid); err != nil {
				return err
			}
		}
	}
	p := db.ActivateSubscriptionParams{ID: sub.ID, TaxBps: max(paid.TaxBps, 0)}
	if paid.PaymentMethod != "" {
		p.DefaultPaymentMethod = &paid.PaymentMethod
	}
	sub, err = q.ActivateSubscription(ctx, p)
	if store.IsNoRows(err) {
		return nil // not incomplete (a repeated result): nothing to start
	} else if err != nil {
		return store.Wrap(err, "activate subscription")
	}
	return emitSubscription(ctx, tx, sub, events.SubscriptionUpdated)
}

// create makes the subscription of completed session row, for customer,
// with its first invoice: the session's own amounts, paid by its payment
// (open, the subscription incomplete, while that payment is pending).
// With a trial, the subscription is trialing until the trial's end, when
// its first charged period starts.
func create(ctx context.Context, tx pgx.Tx, q *db.Queries, row db.AdminCheckoutSession, customer string, paid Paid, pending bool) (string, error) {
	var items []session.LineItem
	if err := json.Unmarshal(row.LineItems, &items); err != nil {
		return "", fmt.Errorf("session %s line items: %w", row.ID, err)
	}
	recurring, err := recurringPrices(ctx, q, row, items)
	if err != nil {
		return "", err
	}
	var subItems []Item
	lines := make([]Line, len(items))
	for i, it := range items {
		lines[i] = Line{Price: it.PriceID, Name: it.Name, UnitAmount: it.UnitAmount, Quantity: it.Quantity,
			AmountSubtotal: it.UnitAmount * it.Quantity, AmountDiscount: it.AmountDiscount}
		if price, ok := recurring[it.PriceID]; ok {
			// The price's amount: a trial's checkout charged it nothing.
			subItems = append(subItems, Item{Price: it.PriceID, Product: it.ProductID, Name: it.Name, UnitAmount: price.UnitAmount, Quantity: it.Quantity})
		}
	}
	// It starts when paid, on its customer's test clock if it has one;
	// periods are whole seconds, as every timestamp of the API.
	start := time.Now().UTC().Truncate(time.Second)
	clockID, err := q.GetCustomerTestClock(ctx, db.GetCustomerTestClockParams{ID: customer, OrganizationID: row.OrganizationID, Livemode: row.Livemode})
	if err != nil {
		return "", store.Wrap(err, "get customer")
	}
	if clockID != nil {
		clock, err := q.GetTestClock(ctx, db.GetTestClockParams{ID: *clockID, OrganizationID: row.OrganizationID})
		if err != nil {
			return "", store.Wrap(err, "get test clock")
		}
		start = clock.FrozenTime.UTC().Truncate(time.Second)
	}
	p := db.CreateSubscriptionParams{ID: ids.New("sub"), OrganizationID: row.OrganizationID, Livemode: row.Livemode,
		CustomerID: customer, Currency: row.Currency, RecurringInterval: *row.RecurringInterval, Status: "active",
		RecurringIntervalCount: *row.RecurringIntervalCount, BillingAnchor: start, CurrentPeriodStart: start,
		CheckoutSessionID: row.ID, Metadata: []byte("{}"), CreatedAt: start, TestClockID: clockID, TaxBps: max(paid.TaxBps, 0),
		CustomFields: row.SubscriptionCustomFields}
	if row.TrialPeriodDays != nil {
		// The trial is period 0; the billing anchor is its end.
		end := start.AddDate(0, 0, int(*row.TrialPeriodDays))
		p.Status, p.TrialStart, p.TrialEnd, p.BillingAnchor, p.CurrentPeriodEnd = "trialing", &start, &end, end, end
	} else if _, p.CurrentPeriodEnd, err = PeriodBounds(start, *row.RecurringInterval, *row.RecurringIntervalCount, 0); err != nil {
		return "", err
	}
	if pending {
		p.Status = "incomplete"
	}
	if paid.PaymentMethod != "" {
		p.DefaultPaymentMethod = &paid.PaymentMethod
	}
	if p.Items, err = json.Marshal(subItems); err != nil {
		return "", err
	}
	if row.DiscountCoupon != nil {
		c, err := q.GetAnyCoupon(ctx, db.GetAnyCouponParams{OrganizationID: row.OrganizationID, Livemode: row.Livemode, ID: *row.DiscountCoupon})
		if err != nil {
			return "", store.Wrap(err, "get coupon")
		}
		p.DiscountCoupon, p.DiscountDuration = &c.ID, &c.Duration
		if c.Duration == "repeating" && c.DurationInMonths != nil {
			e := AddMonths(start, int(*c.DurationInMonths))
			p.DiscountEnd = &e
		}
	}
	sub, err := q.CreateSubscription(ctx, p)
	if err != nil {
		return "", store.Wrap(err, "create subscription")
	}
	encoded, err := json.Marshal(lines)
	if err != nil {
		return "", err
	}
	first := db.CreateInvoiceParams{ID: ids.New("in"), OrganizationID: row.OrganizationID,
		Livemode: row.Livemode, SubscriptionID: sub.ID, CustomerID: customer, PeriodNumber: 0, Status: "paid",
		BillingReason: reasonCreate, Currency: row.Currency, Lines: encoded, AmountSubtotal: row.AmountSubtotal,
		AmountDiscount: row.AmountDiscount, AmountTax: row.AmountTax, AmountTotal: row.AmountTotal,
		DiscountCoupon: row.DiscountCoupon, PeriodStart: start, PeriodEnd: sub.CurrentPeriodEnd, PaymentID: row.PaymentID,
		AttemptCount: 1, PaidAt: &start, CreatedAt: start, CustomFields: sub.CustomFields}
	if pending {
		first.Status, first.PaidAt = "open", nil
	}
	in, err := q.CreateInvoice(ctx, first)
	if err != nil {
		return "", store.Wrap(err, "create invoice")
	}
	if sub, err = q.SetLatestInvoice(ctx, db.SetLatestInvoiceParams{ID: sub.ID, LatestInvoiceID: &in.ID}); err != nil {
		return "", store.Wrap(err, "set latest invoice")
	}
	if err := emitSubscription(ctx, tx, sub, events.SubscriptionCreated); err != nil {
		return "", err
	}
	if pending {
		return sub.ID, emitInvoice(ctx, tx, in, events.InvoiceCreated)
	}
	return sub.ID, emitInvoice(ctx, tx, in, events.InvoicePaid)
}

// recurringPrices are the session's prices that are recurring, by id
// (prices never change type or amount, so the session's creation saw the
// same).
func recurringPrices(ctx context.Context, q *db.Queries, row db.AdminCheckoutSession, items []session.LineItem) (map[string]db.AdminPrice, error) {
	var priceIDs []string
	for _, it := range items {
		if it.PriceID != "" {
			priceIDs = append(priceIDs, it.PriceID)
		}
	}
	rows, err := q.GetPricesForLineItems(ctx, db.GetPricesForLineItemsParams{Ids: priceIDs, OrganizationID: row.OrganizationID, Livemode: row.Livemode})
	if err != nil {
		return nil, store.Wrap(err, "get prices")
	}
	out := map[string]db.AdminPrice{}
	for _, r := range rows {
		if r.AdminPrice.Type == "recurring" {
			out[r.AdminPrice.ID] = r.AdminPrice
		}
	}
	return out, nil
}

// emitSubscription writes a subscription event to the outbox in tx.
func emitSubscription(ctx context.Context, tx pgx.Tx, sub db.AdminSubscription, typ string) error {
	obj, err := Proto(sub)
	if err != nil {
		return err
	}
	msg, err := events.ForSubscription(typ, sub.OrganizationID, sub.EventSequence, obj)
	if err != nil {
		return err
	}
	if err := outbox.Add(ctx, tx, outboxSchema, msg); err != nil {
		return store.Wrap(err, "write event")
	}
	return nil
}

// emitInvoice writes an invoice event to the outbox in tx.
func emitInvoice(ctx context.Context, tx pgx.Tx, in db.AdminInvoice, typ string) error {
	obj, err := InvoiceProto(in)
	if err != nil {
		return err
	}
	msg, err := events.ForInvoice(typ, in.OrganizationID, in.EventSequence, obj)
	if err != nil {
		return err
	}
	if err := outbox.Add(ctx, tx, outboxSchema, msg); err != nil {
		return store.Wrap(err, "write event")
	}
	return nil
}
