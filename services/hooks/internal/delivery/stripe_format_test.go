package delivery

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v82"
	stripewebhook "github.com/stripe/stripe-go/v82/webhook"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// received is one request a test endpoint got.
type received struct {
	header http.Header
	body   []byte
}

// TestStripeFormatDeliveries: a checkout.session.completed event stored by
// the consumer reaches a Stripe-format endpoint in Stripe's event shape,
// with the endpoint's api_version and a Stripe-Signature that stripe-go's
// webhook.ConstructEvent verifies (with either secret during a rotation);
// a standard endpoint gets the same event as Standard Webhooks, unchanged.
// Both ways a delivery reaches the worker give the same requests: claimed
// from the database, and handed over by the consumer (Worker.reserve).
func TestStripeFormatDeliveries(t *testing.T) {
	t.Run("claimed", func(t *testing.T) { testStripeFormatDeliveries(t, false) })
	t.Run("handed over", func(t *testing.T) { testStripeFormatDeliveries(t, true) })
}

func testStripeFormatDeliveries(t *testing.T, handOver bool) {
	ctx := t.Context()
	st := store.New(testkit.NewDatabase(t, migrations.Set))
	got := make(chan received, 4)
	// The endpoints answer only once the deliveries' rows have been
	// checked: a finished attempt would clear the lease being looked at.
	checked := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), b}
		<-checked
	}))
	t.Cleanup(srv.Close)
	var release sync.Once
	check := func() { release.Do(func() { close(checked) }) }
	t.Cleanup(check) // before srv.Close, which waits for the handlers
	secret, previous := webhook.NewSecret(), webhook.NewSecret()
	for _, ep := range []struct{ id, format string }{{"we_stripe", "stripe"}, {"we_standard", "standard"}} {
		if _, err := st.Pool.Exec(ctx, `INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret,
			previous_secret, previous_secret_expires_at, signature_format, api_version)
			VALUES ($1, 'org_1', false, $2, '{checkout.session.completed}', $3, $4, now() + interval '1 hour', $5,
			        CASE WHEN $5 = 'stripe' THEN '2025-08-27.basil' END)`,
			ep.id, srv.URL+"/"+ep.id, secret, previous, ep.format); err != nil {
			t.Fatal(err)
		}
	}
	cs := &adminv1.CheckoutSession{Id: "cs_1", Object: "checkout.session", Status: "complete", PaymentStatus: "paid",
		AmountSubtotal: 1350, AmountTotal: 1350, Amount: 1350, Currency: "EUR", Payment: proto.String("pay_1"),
		ClientReferenceId: proto.String("cart_1"), CreatedAt: timestamppb.Now(), ExpiresAt: timestamppb.Now(),
		LineItems: []*adminv1.LineItem{{Name: "Tea", UnitAmount: 450, Quantity: 3, AmountTotal: 1350}}}
	b, err := proto.Marshal(&eventsv1.Event{Id: "evt_1", Type: "checkout.session.completed", OrganizationId: "org_1", ObjectId: "cs_1",
		Sequence: 1, Created: timestamppb.New(time.Unix(1_900_000_000, 0)), Object: &eventsv1.Event_CheckoutSession{CheckoutSession: cs}})
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{Store: st, Clients: webhook.NewClients(webhook.TargetPolicy{PrivateInTestMode: true}, webhook.ClientOptions{}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: 2, PerEndpoint: 1, RetryScale: 1}
	c := &Consumer{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if handOver {
		c.Worker = w
		runWorker(t, w)
	}
	if err := c.store(ctx, b); err != nil {
		t.Fatal(err)
	}
	if !handOver {
		runWorker(t, w)
		w.Wake()
	}
	assertHandedOver(t, st, handOver, "we_stripe", "we_standard")
	check()

	byPath := map[string]received{}
	for len(byPath) < 2 {
		select {
		case r := <-got:
			if r.header.Get("Stripe-Signature") != "" {
				byPath["stripe"] = r
			} else {
				byPath["standard"] = r
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("deliveries did not arrive; got %d", len(byPath))
		}
	}

	s := byPath["stripe"]
	if s.header.Get("webhook-signature") != "" {
		t.Errorf("the Stripe-format delivery carries a Standard Webhooks signature too")
	}
	for _, key := range []string{secret, previous} {
		ev, err := stripewebhook.ConstructEvent(s.body, s.header.Get("Stripe-Signature"), key)
		if err != nil {
			t.Fatalf("stripe-go refuses the delivery: %v\n%s", err, s.body)
		}
		var session stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &session); err != nil {
			t.Fatal(err)
		}
		if ev.ID != "evt_1" || ev.Type != "checkout.session.completed" || ev.APIVersion != "2025-08-27.basil" || ev.Created != 1_900_000_000 ||
			session.ID != "cs_1" || session.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid || session.PaymentIntent.ID != "pay_1" ||
			session.ClientReferenceID != "cart_1" || session.AmountTotal != 1350 || session.Currency != stripe.CurrencyEUR {
			t.Fatalf("event: %+v, session %+v", ev, session)
		}
	}
	if _, err := stripewebhook.ConstructEvent(s.body, s.header.Get("Stripe-Signature"), webhook.NewSecret()); err == nil {
		t.Error("another secret verifies")
	}

	std := byPath["standard"]
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhook.Verify(key, std.header, std.body, time.Now()); err != nil {
		t.Fatalf("standard delivery: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(std.body, &ev); err != nil || ev["data"].(map[string]any)["object"].(map[string]any)["currency"] != "EUR" {
		t.Fatalf("standard delivery is not Tillpoint's event: %s", std.body)
	}
}

// TestStripeObjectsOfBillingEvents: subscription and invoice events are
// stored with their Stripe shapes (which stripe-go decodes), so that
// Stripe-format endpoints receive them; other objects have none.
func TestStripeObjectsOfBillingEvents(t *testing.T) {
	sub := &adminv1.Subscription{Id: "sub_1", Customer: "cus_1", Status: "active", Currency: "EUR", CreatedAt: timestamppb.Now(),
		Items: []*adminv1.SubscriptionItem{{Price: "price_1", Product: "prod_1", UnitAmount: 900, Quantity: 1}}}
	b, err := RenderStripeObject(&eventsv1.Event{Object: &eventsv1.Event_Subscription{Subscription: sub}})
	var s stripe.Subscription
	if err != nil || json.Unmarshal(b, &s) != nil || s.ID != "sub_1" || s.Object != "subscription" || s.Items.Data[0].Price.UnitAmount != 900 {
		t.Fatalf("subscription: %s %v", b, err)
	}
	in := &adminv1.Invoice{Id: "in_1", Subscription: "sub_1", Status: "open", Currency: "EUR", AmountTotal: 900, CreatedAt: timestamppb.Now()}
	b, err = RenderStripeObject(&eventsv1.Event{Object: &eventsv1.Event_Invoice{Invoice: in}})
	var inv stripe.Invoice
	if err != nil || json.Unmarshal(b, &inv) != nil || inv.ID != "in_1" || inv.AmountRemaining != 900 || inv.Parent.SubscriptionDetails.Subscription.ID != "sub_1" {
		t.Fatalf("invoice: %s %v", b, err)
	}
	if b, err := RenderStripeObject(&eventsv1.Event{Object: &eventsv1.Event_Payment{Payment: &adminv1.Payment{Id: "pay_1"}}}); b != nil || err != nil {
		t.Fatalf("payment: %s %v", b, err)
	}
}
