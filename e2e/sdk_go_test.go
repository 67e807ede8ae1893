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
