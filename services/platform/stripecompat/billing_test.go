package stripecompat

import (
	"encoding/json"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

func at(sec int64) *timestamppb.Timestamp { return timestamppb.New(time.Unix(sec, 0)) }

// signedEvent wraps obj in a Stripe-format event of type typ, signs it as
// deliveries are signed, and returns what stripe-go's ConstructEvent makes
// of it.
func signedEvent(t *testing.T, typ string, obj any) stripe.Event {
	t.Helper()
	body, err := NewEvent("evt_1", typ, time.Unix(1_900_000_000, 0), false, "", obj).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_test"
	ev, err := webhook.ConstructEvent(body, SignatureHeader([]string{secret}, time.Now(), body), secret)
	if err != nil {
		t.Fatalf("stripe-go refuses the event: %v\n%s", err, body)
	}
	return ev
}

// TestSubscriptionEventDecodesIntoStripeGo: a customer.subscription.updated
// delivery is verified by stripe-go and its object decodes into
// stripe.Subscription with Tillpoint's values.
func TestSubscriptionEventDecodesIntoStripeGo(t *testing.T) {
	sub := &adminv1.Subscription{Id: "sub_1", Object: "subscription", Customer: "cus_1", Status: "trialing", Currency: "EUR",
		Items:              []*adminv1.SubscriptionItem{{Price: "price_m", Product: "prod_m", Name: "Club", UnitAmount: 900, Quantity: 2}},
		Recurring:          &adminv1.Recurring{Interval: "month", IntervalCount: 1},
		CurrentPeriodStart: at(1_900_000_000), CurrentPeriodEnd: at(1_901_209_600), CancelAtPeriodEnd: true,
		LatestInvoice: proto.String("in_1"), CreatedAt: at(1_900_000_000), TrialStart: at(1_900_000_000), TrialEnd: at(1_901_209_600),
		Metadata: map[string]string{"plan": "club"}}
	ev := signedEvent(t, "customer.subscription.updated", NewSubscription(sub))
	var got stripe.Subscription
	if err := json.Unmarshal(ev.Data.Raw, &got); err != nil {
		t.Fatal(err)
	}
	item := got.Items.Data[0]
	if ev.Type != stripe.EventTypeCustomerSubscriptionUpdated || got.ID != "sub_1" || got.Customer.ID != "cus_1" ||
		got.Status != stripe.SubscriptionStatusTrialing || got.Currency != stripe.CurrencyEUR || !got.CancelAtPeriodEnd ||
		got.LatestInvoice.ID != "in_1" || got.TrialEnd != 1_901_209_600 || got.TrialStart != 1_900_000_000 || got.CanceledAt != 0 ||
		got.Metadata["plan"] != "club" || len(got.Items.Data) != 1 || item.Quantity != 2 || item.Price.ID != "price_m" ||
		item.Price.UnitAmount != 900 || item.Price.Product.ID != "prod_m" || item.Price.Recurring.Interval != stripe.PriceRecurringIntervalMonth ||
		item.CurrentPeriodStart != 1_900_000_000 || item.CurrentPeriodEnd != 1_901_209_600 || item.ID != "si_1_m" {
		t.Fatalf("decoded: %+v\nitem %+v", got, item)
	}
	sub.Status, sub.CanceledAt = "canceled", at(1_900_500_000)
	ev = signedEvent(t, "customer.subscription.deleted", NewSubscription(sub))
	var canceled stripe.Subscription
	if err := json.Unmarshal(ev.Data.Raw, &canceled); err != nil || canceled.CanceledAt != 1_900_500_000 || canceled.EndedAt != 1_900_500_000 ||
		canceled.Status != stripe.SubscriptionStatusCanceled {
		t.Fatalf("canceled: %+v %v", canceled, err)
	}
	// The end of dunning may mark it unpaid (a site's subscription_dunning_end).
	sub.Status, sub.CanceledAt = "unpaid", nil
	ev = signedEvent(t, "customer.subscription.updated", NewSubscription(sub))
	var unpaid stripe.Subscription
	if err := json.Unmarshal(ev.Data.Raw, &unpaid); err != nil || unpaid.Status != stripe.SubscriptionStatusUnpaid || unpaid.EndedAt != 0 {
		t.Fatalf("unpaid: %+v %v", unpaid, err)
	}
}

// TestInvoiceEventDecodesIntoStripeGo: invoice.paid and
// invoice.payment_failed deliveries decode into stripe.Invoice, with the
// subscription under parent, a proration line marked, and the paid and
// remaining amounts following the status.
func TestInvoiceEventDecodesIntoStripeGo(t *testing.T) {
	in := &adminv1.Invoice{Id: "in_1", Object: "invoice", Subscription: "sub_1", Customer: "cus_1", Status: "paid", Currency: "EUR",
		Lines: []*adminv1.InvoiceLine{
			{Price: proto.String("price_m"), Name: "Club", UnitAmount: 1001, Quantity: 1, AmountSubtotal: 1001, AmountDiscount: 100},
			{Name: "Unused time on Club", UnitAmount: -900, Quantity: 1, AmountSubtotal: -900, Proration: true},
		},
		AmountSubtotal: 101, AmountDiscount: 100, AmountTax: 0, AmountTotal: 1, DiscountCoupon: proto.String("TENOFF"),
		PeriodStart: at(1_900_000_000), PeriodEnd: at(1_902_592_000), AttemptCount: 1, BillingReason: "subscription_cycle",
		PaidAt: at(1_900_000_100), CreatedAt: at(1_900_000_000)}
	ev := signedEvent(t, "invoice.paid", NewInvoice(in))
	var got stripe.Invoice
	if err := json.Unmarshal(ev.Data.Raw, &got); err != nil {
		t.Fatal(err)
	}
	if ev.Type != stripe.EventTypeInvoicePaid || got.ID != "in_1" || got.Customer.ID != "cus_1" || got.Status != stripe.InvoiceStatusPaid ||
		got.Parent.SubscriptionDetails.Subscription.ID != "sub_1" || got.AmountDue != 1 || got.AmountPaid != 1 || got.AmountRemaining != 0 ||
		got.Subtotal != 101 || got.Total != 1 || got.BillingReason != stripe.InvoiceBillingReasonSubscriptionCycle || !got.Attempted ||
		got.StatusTransitions.PaidAt != 1_900_000_100 || got.PeriodEnd != 1_902_592_000 || len(got.TotalDiscountAmounts) != 1 ||
		got.TotalDiscountAmounts[0].Amount != 100 || len(got.Lines.Data) != 2 {
		t.Fatalf("decoded: %+v", got)
	}
	first, proration := got.Lines.Data[0], got.Lines.Data[1]
	if first.Amount != 1001 || first.Pricing.PriceDetails.Price != "price_m" || first.Parent.SubscriptionItemDetails.Proration ||
		proration.Amount != -900 || !proration.Parent.SubscriptionItemDetails.Proration || proration.Pricing != nil ||
		first.Period.Start != 1_900_000_000 {
		t.Fatalf("lines: %+v %+v", first, proration)
	}
	in.Status, in.PaidAt, in.NextPaymentAttempt = "open", nil, at(1_900_086_400)
	ev = signedEvent(t, "invoice.payment_failed", NewInvoice(in))
	var failed stripe.Invoice
	if err := json.Unmarshal(ev.Data.Raw, &failed); err != nil || failed.AmountPaid != 0 || failed.AmountRemaining != 1 ||
		failed.NextPaymentAttempt != 1_900_086_400 || failed.StatusTransitions.PaidAt != 0 {
		t.Fatalf("payment failed: %+v %v", failed, err)
	}
	// Discounted proration credits that give back more discount than the
	// invoice takes (a once coupon's): a negative discount total, so that
	// subtotal − discounts is still the total.
	in.Lines = []*adminv1.InvoiceLine{
		{Price: proto.String("price_m"), Name: "Club", UnitAmount: 1001, Quantity: 1, AmountSubtotal: 1001},
		{Name: "Unused time on Club", UnitAmount: -900, Quantity: 1, AmountSubtotal: -900, AmountDiscount: -90, Proration: true},
		{Name: "Remaining time on Club", UnitAmount: 501, Quantity: 1, AmountSubtotal: 501, AmountDiscount: 50, Proration: true},
	}
	in.AmountSubtotal, in.AmountDiscount, in.AmountTotal = 602, -40, 642
	ev = signedEvent(t, "invoice.payment_failed", NewInvoice(in))
	var credited stripe.Invoice
	if err := json.Unmarshal(ev.Data.Raw, &credited); err != nil || len(credited.TotalDiscountAmounts) != 1 ||
		credited.Subtotal-credited.TotalDiscountAmounts[0].Amount != credited.Total {
		t.Fatalf("negative discount: %+v %v", credited, err)
	}
}
