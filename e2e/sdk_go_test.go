package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	tillpoint "github.com/tillpoint/tillpoint/sdk/go"
	sdkwebhook "github.com/tillpoint/tillpoint/sdk/go/webhook"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// sdkClient is the Go SDK on the stack, dialling *.localhost on loopback.
func sdkClient() *tillpoint.Client {
	return tillpoint.New(sys.SecretKey, tillpoint.WithBaseURL(sys.AdminAPIURL), tillpoint.WithHTTPClient(merchant))
}

// teaParams is newSession's €26.49 session for the SDK, for one email.
func teaParams(email string) *tillpoint.CheckoutSessionParams {
	return &tillpoint.CheckoutSessionParams{
		SiteID:        sys.SiteID,
		LineItems:     []tillpoint.LineItemParams{{Name: "Tea", UnitAmount: 450, Quantity: 3}, {Name: "Cup", UnitAmount: 1299, Quantity: 1}},
		Currency:      "EUR",
		SuccessURL:    "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
		CancelURL:     "https://shop.example/cart",
		CustomerEmail: email,
		Metadata:      map[string]string{"sdk": "go"},
	}
}

// payByCard pays a session's hosted page with the 4242 card through the
// form contract.
func payByCard(t *testing.T, pageURL string) {
	t.Helper()
	c := newBrowser()
	_, csrf := open(t, c, pageURL)
	if _, out, _ := post(t, c, pageURL+"/pay", cardForm(csrf, provider.TestCardSuccess), true); out["status"] != "succeeded" {
		t.Fatalf("pay: %v", out)
	}
}

// TestGoSDK drives the stack with sdk/go: sessions (idempotent create,
// retrieve, auto-paginated list, expire), typed errors, a refund of a
// session paid on the hosted page, and webhook.ConstructEvent on a real
// delivery.
func TestGoSDK(t *testing.T) {
	ctx := context.Background()
	c := sdkClient()
	r := newReceiver(t, 0)
	ep, err := c.WebhookEndpoints.Create(ctx, &tillpoint.WebhookEndpointParams{URL: r.srv.URL + "/hooks", EnabledEvents: []string{"checkout.session.completed"}})
	if err != nil || ep.Secret == nil || ep.Status != "enabled" {
		t.Fatalf("create endpoint: %v %+v", err, ep)
	}
	t.Cleanup(func() {
		if d, err := c.WebhookEndpoints.Delete(ctx, ep.ID); err != nil || !d.Deleted {
			t.Errorf("delete endpoint: %v %+v", err, d)
		}
	})

	start := time.Now().Add(-time.Second).Truncate(time.Second)
	email := fmt.Sprintf("sdk-go-%d@example.com", time.Now().UnixNano())
	var ids []string
	for i := range 3 {
		key := fmt.Sprintf("%s-%d", email, i)
		s, err := c.CheckoutSessions.Create(ctx, teaParams(email), tillpoint.WithIdempotencyKey(key))
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.CheckoutSessions.Create(ctx, teaParams(email), tillpoint.WithIdempotencyKey(key))
		if err != nil || again.ID != s.ID {
			t.Fatalf("idempotent retry: %v, %s then %s", err, s.ID, again.ID)
		}
		ids = append(ids, s.ID)
	}
	s, err := c.CheckoutSessions.Get(ctx, ids[0])
	if err != nil || s.Status != "open" || s.PaymentStatus != "unpaid" || s.AmountTotal != 2649 || len(s.LineItems) != 2 ||
		s.LineItems[0].Quantity != 3 || *s.CustomerEmail != email || s.Metadata["sdk"] != "go" || s.Payment != nil || s.CreatedAt.IsZero() {
		t.Fatalf("retrieve: %v %+v", err, s)
	}

	// Pages of 2: the first says there is more, All walks both pages.
	params := &tillpoint.CheckoutSessionListParams{ListParams: tillpoint.ListParams{Limit: 2}, CustomerEmail: email}
	page, err := c.CheckoutSessions.List(ctx, params)
	if err != nil || len(page.Data) != 2 || !page.HasMore {
		t.Fatalf("first page: %v %+v", err, page)
	}
	var listed []string
	for s, err := range c.CheckoutSessions.All(ctx, params) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, s.ID)
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	if !slices.Equal(listed, newestFirst) {
		t.Fatalf("All = %v, want %v", listed, newestFirst)
	}

	// created[…] bounds reach the API: none of them was created before start.
	before, err := c.CheckoutSessions.List(ctx, &tillpoint.CheckoutSessionListParams{CustomerEmail: email, Created: tillpoint.CreatedFilter{LT: start}})
	since, err2 := c.CheckoutSessions.List(ctx, &tillpoint.CheckoutSessionListParams{CustomerEmail: email, Created: tillpoint.CreatedFilter{GTE: start}})
	if err != nil || err2 != nil || len(before.Data) != 0 || len(since.Data) != 3 {
		t.Fatalf("created filters: %v %v, %d before and %d since start", err, err2, len(before.Data), len(since.Data))
	}
	// Walking towards newer sessions from the oldest, one per page, gives the other two.
	var newer []string
	for s, err := range c.CheckoutSessions.All(ctx, &tillpoint.CheckoutSessionListParams{ListParams: tillpoint.ListParams{Limit: 1, EndingBefore: ids[0]}, CustomerEmail: email}) {
		if err != nil {
			t.Fatal(err)
		}
		newer = append(newer, s.ID)
	}
	if !slices.Equal(newer, ids[1:]) {
		t.Fatalf("All ending_before the oldest = %v, want %v", newer, ids[1:])
	}

	expired, err := c.CheckoutSessions.Expire(ctx, ids[1])
	if err != nil || expired.Status != "expired" {
		t.Fatalf("expire: %v %+v", err, expired)
	}
	var apiErr *tillpoint.Error
	if _, err := c.CheckoutSessions.Expire(ctx, ids[1]); !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadRequest ||
		apiErr.Type != "invalid_request_error" || apiErr.Code != "checkout_session_not_open" {
		t.Fatalf("expiring twice: %v", err)
	}
	bad := teaParams(email)
	bad.LineItems[0].Quantity = 10001
	if _, err := c.CheckoutSessions.Create(ctx, bad); !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadRequest ||
		apiErr.Param != "line_items[0][quantity]" || apiErr.Message == "" {
		t.Fatalf("bad quantity: %v", err)
	}
	if _, err := c.Payments.Get(ctx, "pay_nope"); !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusNotFound || apiErr.Code != "resource_missing" {
		t.Fatalf("missing payment: %v", err)
	}

	// Pay the first session on the hosted page, then refund part of it.
	payByCard(t, s.URL)
	paid, err := c.CheckoutSessions.Get(ctx, s.ID)
	if err != nil || paid.PaymentStatus != "paid" || paid.Payment == nil || paid.CompletedAt == nil {
		t.Fatalf("after paying: %v %+v", err, paid)
	}
	refund, err := c.Refunds.Create(ctx, &tillpoint.RefundParams{Payment: *paid.Payment, Amount: tillpoint.Int64(1000), Reason: "requested_by_customer"},
		tillpoint.WithIdempotencyKey("sdk-refund-"+*paid.Payment))
	if err != nil || refund.Status != "succeeded" || refund.Amount != 1000 || refund.Currency != "EUR" {
		t.Fatalf("refund: %v %+v", err, refund)
	}
	pay, err := c.Payments.Get(ctx, *paid.Payment)
	if err != nil || pay.AmountRefunded != 1000 || len(pay.Refunds) != 1 || pay.Refunds[0].ID != refund.ID || pay.CheckoutSession != s.ID {
		t.Fatalf("payment after the refund: %v %+v", err, pay)
	}
	refunds, err := c.Refunds.List(ctx, &tillpoint.RefundListParams{Payment: pay.ID})
	if err != nil || len(refunds.Data) != 1 || refunds.Data[0].ID != refund.ID {
		t.Fatalf("list refunds: %v %+v", err, refunds)
	}

	// The completed event arrives signed; the SDK verifies and decodes it,
	// and refuses it once tampered with.
	var got *tillpoint.Event
	eventually(t, "checkout.session.completed to arrive", 30*time.Second, func() bool {
		for _, d := range r.deliveries() {
			ev, err := sdkwebhook.ConstructEvent(d.body, d.header, *ep.Secret)
			if err != nil {
				t.Fatalf("delivery does not verify: %v", err)
			}
			if obj, err := ev.Data.Session(); err == nil && obj.ID == s.ID {
				got = ev
				if err := sdkwebhook.Verify(append(d.body, ' '), d.header, *ep.Secret); !errors.Is(err, sdkwebhook.ErrNoMatchingSignature) {
					t.Fatalf("tampered body: %v", err)
				}
				return true
			}
		}
		return false
	})
	if got.Type != "checkout.session.completed" {
		t.Fatalf("event: %+v", got)
	}
	ev, err := c.Events.Get(ctx, got.ID)
	if err != nil || ev.Type != got.Type || !json.Valid(ev.Data.Object) {
		t.Fatalf("retrieve event: %v %+v", err, ev)
	}
}

// TestGoSDKCatalog drives the catalog and billing with sdk/go: prices as
// line items with an adjustable quantity, a customer, a coupon and its
// promotion code (totals in total_details), Stripe's discounts form,
// cascade tiers, custom fields refused by name and expanded on retrieval;
// then a subscription sold by a card checkout for a customer on a test
// clock, renewed by advancing the clock, its invoices, a scheduled then an
// immediate cancellation, and the typed error of cancelling twice.
func TestGoSDKCatalog(t *testing.T) {
	ctx := context.Background()
	c := sdkClient()
	run := fmt.Sprint(time.Now().UnixNano())
	var apiErr *tillpoint.Error

	prod, err := c.Products.Create(ctx, &tillpoint.ProductParams{Name: tillpoint.String("SDK tea " + run)})
	if err != nil {
		t.Fatal(err)
	}
	tea, err := c.Prices.Create(ctx, &tillpoint.PriceParams{Product: prod.ID, Currency: "EUR", UnitAmount: tillpoint.Int64(450)})
	if err != nil {
		t.Fatal(err)
	}
	monthly, err := c.Prices.Create(ctx, &tillpoint.PriceParams{Product: prod.ID, Currency: "EUR", UnitAmount: tillpoint.Int64(900),
		Recurring: &tillpoint.Recurring{Interval: "month"}})
	if err != nil || monthly.Type != "recurring" {
		t.Fatalf("monthly price: %v %+v", err, monthly)
	}
	coupon, err := c.Coupons.Create(ctx, &tillpoint.CouponParams{Name: tillpoint.String("Ten"), PercentOff: func() *float64 { p := 10.0; return &p }(),
		Duration: "once", MaxRedemptions: tillpoint.Int64(5)})
	if err != nil || !coupon.Valid || *coupon.PercentOff != 10 {
		t.Fatalf("coupon: %v %+v", err, coupon)
	}
	code := "GO" + run[len(run)-8:]
	promo, err := c.PromotionCodes.Create(ctx, &tillpoint.PromotionCodeParams{Coupon: coupon.ID, Code: code})
	if err != nil || promo.Coupon.ID != coupon.ID || !promo.Active {
		t.Fatalf("promotion code: %v %+v", err, promo)
	}
	codes, err := c.PromotionCodes.List(ctx, &tillpoint.PromotionCodeListParams{Code: code})
	if err != nil || len(codes.Data) != 1 || codes.Data[0].ID != promo.ID {
		t.Fatalf("list codes by code: %v %+v", err, codes)
	}

	clock, err := c.TestClocks.Create(ctx, &tillpoint.TestClockParams{FrozenTime: time.Date(2027, 1, 15, 10, 0, 0, 0, time.UTC), Name: "SDK " + run})
	if err != nil || clock.Status == "" {
		t.Fatalf("test clock: %v %+v", err, clock)
	}
	cus, err := c.Customers.Create(ctx, &tillpoint.CustomerParams{Email: tillpoint.String("sdk-go-" + run + "@example.com"), TestClock: clock.ID})
	if err != nil || cus.TestClock == nil || *cus.TestClock != clock.ID {
		t.Fatalf("customer: %v %+v", err, cus)
	}

	// 2 × 4.50 = 9.00, 10 % off = 0.90.
	s, err := c.CheckoutSessions.Create(ctx, &tillpoint.CheckoutSessionParams{SiteID: sys.SiteID, CustomerID: cus.ID, PromotionCode: code,
		LineItems:  []tillpoint.LineItemParams{{PriceID: tea.ID, Quantity: 2, AdjustableQuantity: &tillpoint.AdjustableQuantity{Enabled: true, Maximum: tillpoint.Int64(5)}}},
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart"})
	if err != nil || s.Mode != "payment" || s.AmountSubtotal != 900 || s.TotalDetails == nil || s.TotalDetails.AmountDiscount != 90 || s.AmountTotal != 810 ||
		len(s.Discounts) != 1 || s.Discounts[0].Coupon != coupon.ID || s.Discounts[0].PromotionCode == nil || *s.Customer != cus.ID ||
		*s.LineItems[0].PriceID != tea.ID || s.CustomFields != nil {
		t.Fatalf("catalog session: %v %+v", err, s)
	}
	expanded, err := c.CheckoutSessions.Get(ctx, s.ID, tillpoint.WithExpand("custom_fields"))
	if err != nil || expanded.CustomFields == nil {
		t.Fatalf("expand=custom_fields: %v %+v", err, expanded)
	}
	// Stripe's form of the same discount, and a fallback tier.
	s, err = c.CheckoutSessions.Create(ctx, &tillpoint.CheckoutSessionParams{SiteID: sys.SiteID, Discounts: []tillpoint.DiscountParams{{Coupon: coupon.ID}},
		LineItems: []tillpoint.LineItemParams{{PriceID: tea.ID, Quantity: 1}}, SuccessURL: "https://shop.example/ok"})
	if err != nil || s.TotalDetails.AmountDiscount != 45 {
		t.Fatalf("discounts: %v %+v", err, s)
	}
	s, err = c.CheckoutSessions.Create(ctx, &tillpoint.CheckoutSessionParams{SiteID: sys.SiteID, LineItems: []tillpoint.LineItemParams{{PriceID: tea.ID, Quantity: 4}},
		CascadeLineItems: []tillpoint.CascadeTierParams{{LineItems: []tillpoint.LineItemParams{{PriceID: tea.ID, Quantity: 2}}}}, SuccessURL: "https://shop.example/ok"})
	if err != nil || len(s.CascadeLineItems) != 1 || s.CascadeLineItems[0].AmountSubtotal != 900 || s.CascadeTier != 0 {
		t.Fatalf("cascade tiers: %v %+v", err, s)
	}
	_, err = c.CheckoutSessions.Create(ctx, &tillpoint.CheckoutSessionParams{SiteID: sys.SiteID, Amount: 1000, Currency: "EUR",
		CustomFields: map[string]string{"no_such_field": "x"}, SuccessURL: "https://shop.example/ok"})
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadRequest || apiErr.Param != "custom_fields[no_such_field]" {
		t.Fatalf("an unknown custom field: %v", err)
	}

	// A subscription: paid by card on the hosted page at the clock's time,
	// renewed a month later by advancing the clock.
	s, err = c.CheckoutSessions.Create(ctx, &tillpoint.CheckoutSessionParams{SiteID: sys.SiteID, CustomerID: cus.ID,
		LineItems: []tillpoint.LineItemParams{{PriceID: monthly.ID, Quantity: 1}}, SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart"})
	if err != nil || s.Mode != "subscription" || s.CustomerCreation != "if_required" {
		t.Fatalf("subscription session: %v %+v", err, s)
	}
	payByCard(t, s.URL)
	if s, err = c.CheckoutSessions.Get(ctx, s.ID); err != nil || s.Subscription == nil {
		t.Fatalf("paid subscription session: %v %+v", err, s)
	}
	sub, err := c.Subscriptions.Get(ctx, *s.Subscription)
	if err != nil || sub.Status != "active" || sub.Customer != cus.ID || len(sub.Items) != 1 || sub.Items[0].Price != monthly.ID ||
		!sub.CurrentPeriodStart.Equal(clock.FrozenTime) || sub.TestClock == nil || sub.LatestInvoice == nil {
		t.Fatalf("subscription: %v %+v", err, sub)
	}
	if _, err := c.TestClocks.Advance(ctx, clock.ID, clock.FrozenTime.AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	var invoices []tillpoint.Invoice
	for in, err := range c.Invoices.All(ctx, &tillpoint.InvoiceListParams{Subscription: sub.ID, ListParams: tillpoint.ListParams{Limit: 1}}) {
		if err != nil {
			t.Fatal(err)
		}
		invoices = append(invoices, in)
	}
	if len(invoices) != 2 || invoices[0].BillingReason != "subscription_cycle" || invoices[0].Status != "paid" || invoices[0].AmountTotal != 900 ||
		invoices[1].ID != *sub.LatestInvoice || invoices[0].Payment == nil {
		t.Fatalf("invoices after a renewal: %+v", invoices)
	}
	renewal, err := c.Payments.Get(ctx, *invoices[0].Payment)
	if err != nil || renewal.Invoice == nil || *renewal.Invoice != invoices[0].ID {
		t.Fatalf("the renewal's payment: %v %+v", err, renewal)
	}
	subs, err := c.Subscriptions.List(ctx, &tillpoint.SubscriptionListParams{Customer: cus.ID, Status: "active"})
	if err != nil || len(subs.Data) != 1 || subs.Data[0].ID != sub.ID || !subs.Data[0].CurrentPeriodStart.Equal(clock.FrozenTime.AddDate(0, 1, 0)) {
		t.Fatalf("list subscriptions: %v %+v", err, subs)
	}
	if sub, err = c.Subscriptions.Update(ctx, sub.ID, &tillpoint.SubscriptionParams{CancelAtPeriodEnd: tillpoint.Bool(true),
		Metadata: map[string]string{"sdk": "go"}}); err != nil || !sub.CancelAtPeriodEnd || sub.Metadata["sdk"] != "go" {
		t.Fatalf("cancel at period end: %v %+v", err, sub)
	}
	if sub, err = c.Subscriptions.Cancel(ctx, sub.ID); err != nil || sub.Status != "canceled" || sub.CanceledAt == nil {
		t.Fatalf("cancel: %v %+v", err, sub)
	}
	if _, err := c.Subscriptions.Cancel(ctx, sub.ID); !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadRequest || apiErr.Code != "subscription_canceled" {
		t.Fatalf("cancel twice: %v", err)
	}

	deleted, err := c.Coupons.Delete(ctx, coupon.ID)
	if err != nil || deleted.Valid {
		t.Fatalf("delete coupon: %v %+v", err, deleted)
	}
	if _, err := c.Coupons.Get(ctx, coupon.ID); !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusNotFound || apiErr.Code != "resource_missing" {
		t.Fatalf("the deleted coupon: %v", err)
	}
}
