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

func sampleSession() *adminv1.CheckoutSession {
	return &adminv1.CheckoutSession{
		Id: "cs_abc", Object: "checkout.session", SiteId: "site_1", Status: "open", PaymentStatus: "unpaid",
		Url: "https://secure.example/checkout/cs_abc", AmountSubtotal: 2649, AmountTax: 530, AmountTotal: 3179, Amount: 3179,
		Currency: "EUR", CustomerEmail: proto.String("ada@example.com"), SuccessUrl: "https://shop.example/ok",
		CancelUrl: "https://shop.example/cart", Metadata: map[string]string{"order": "1234"}, Livemode: false,
		ClientReferenceId: proto.String("cart_9"), Payment: proto.String("pay_1"), Locale: "fr",
		ExpiresAt: timestamppb.New(time.Unix(1_900_000_000, 0)), CreatedAt: timestamppb.New(time.Unix(1_899_990_000, 0)),
		PaymentMethodTypes: []string{"card"},
		LineItems: []*adminv1.LineItem{
			{Name: "Tea", UnitAmount: 450, Quantity: 3, AmountTotal: 1350, Description: proto.String("Green"), ImageUrl: proto.String("https://shop.example/tea.png")},
			{Name: "Cup", UnitAmount: 1299, Quantity: 1, AmountTotal: 1299},
		},
	}
}

// TestSessionDecodesIntoStripeGo checks the shape against stripe-go's own
// type: every field the SDK reads comes out as Tillpoint's value.
func TestSessionDecodesIntoStripeGo(t *testing.T) {
	b, err := json.Marshal(NewSession(sampleSession(), true))
	if err != nil {
		t.Fatal(err)
	}
	var got stripe.CheckoutSession
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("stripe-go cannot decode %s: %v", b, err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"id", got.ID, "cs_abc"}, {"object", got.Object, "checkout.session"},
		{"amount_subtotal", got.AmountSubtotal, int64(2649)}, {"amount_total", got.AmountTotal, int64(3179)},
		{"total_details.amount_tax", got.TotalDetails.AmountTax, int64(530)},
		{"currency", got.Currency, stripe.CurrencyEUR}, {"status", got.Status, stripe.CheckoutSessionStatusOpen},
		{"payment_status", got.PaymentStatus, stripe.CheckoutSessionPaymentStatusUnpaid},
		{"mode", got.Mode, stripe.CheckoutSessionModePayment}, {"client_reference_id", got.ClientReferenceID, "cart_9"},
		{"payment_intent", got.PaymentIntent.ID, "pay_1"}, {"customer_email", got.CustomerEmail, "ada@example.com"},
		{"customer_details.email", got.CustomerDetails.Email, "ada@example.com"},
		{"created", got.Created, int64(1_899_990_000)}, {"expires_at", got.ExpiresAt, int64(1_900_000_000)},
		{"url", got.URL, "https://secure.example/checkout/cs_abc"}, {"success_url", got.SuccessURL, "https://shop.example/ok"},
		{"cancel_url", got.CancelURL, "https://shop.example/cart"}, {"metadata", got.Metadata["order"], "1234"},
		{"locale", got.Locale, "fr"}, {"livemode", got.Livemode, false},
		{"line_items.url", got.LineItems.URL, "/v1/checkout/sessions/cs_abc/line_items"}, {"line_items count", len(got.LineItems.Data), 2},
		{"line 0 id", got.LineItems.Data[0].ID, "li_abc_1"}, {"line 0 description", got.LineItems.Data[0].Description, "Tea"},
		{"line 0 quantity", got.LineItems.Data[0].Quantity, int64(3)}, {"line 0 amount_total", got.LineItems.Data[0].AmountTotal, int64(1350)},
		{"line 0 unit_amount", got.LineItems.Data[0].Price.UnitAmount, int64(450)},
		{"line 0 currency", got.LineItems.Data[0].Price.Currency, stripe.CurrencyEUR},
		{"line 0 product name", got.LineItems.Data[0].Price.Product.Name, "Tea"},
		{"line 0 product description", got.LineItems.Data[0].Price.Product.Description, "Green"},
		{"line 0 product image", got.LineItems.Data[0].Price.Product.Images[0], "https://shop.example/tea.png"},
		{"line 1 id", got.LineItems.Data[1].ID, "li_abc_2"}, {"line 1 amount", got.LineItems.Data[1].AmountTotal, int64(1299)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestSessionNullsAndOmissions: what Tillpoint does not have is null (or,
// for unexpanded line items, absent), as Stripe sends it.
func TestSessionNullsAndOmissions(t *testing.T) {
	cs := sampleSession()
	cs.Status, cs.PaymentStatus = "complete", "paid"
	cs.ClientReferenceId, cs.CustomerEmail, cs.Payment, cs.Metadata = nil, nil, nil, nil
	b, _ := json.Marshal(NewSession(cs, false))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"url", "client_reference_id", "customer_email", "customer_details", "payment_intent", "customer"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if _, ok := m["line_items"]; ok {
		t.Errorf("line_items present without expand: %s", b)
	}
	if md, ok := m["metadata"].(map[string]any); !ok || len(md) != 0 {
		t.Errorf("metadata = %v, want {}", m["metadata"])
	}
}

// TestSignatureVerifiesWithStripeGo: stripe-go's ConstructEvent accepts an
// event signed here (with either secret during a rotation) and refuses a
// changed body or another secret.
func TestSignatureVerifiesWithStripeGo(t *testing.T) {
	ev := NewEvent("evt_1", "checkout.session.completed", time.Now(), false, "", NewSession(sampleSession(), false))
	body, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const old, current = "whsec_old", "whsec_current"
	header := SignatureHeader([]string{current, old}, time.Now(), body)
	for _, secret := range []string{current, old} {
		got, err := webhook.ConstructEvent(body, header, secret)
		if err != nil {
			t.Fatalf("ConstructEvent with %s: %v", secret, err)
		}
		var cs stripe.CheckoutSession
		if got.Type != "checkout.session.completed" || got.ID != "evt_1" || json.Unmarshal(got.Data.Raw, &cs) != nil || cs.ID != "cs_abc" {
			t.Fatalf("event = %+v", got)
		}
	}
	if _, err := webhook.ConstructEvent(body, header, "whsec_other"); err == nil {
		t.Error("another secret verified")
	}
	if _, err := webhook.ConstructEvent(append(body, ' '), header, current); err == nil {
		t.Error("a changed body verified")
	}
	stale := SignatureHeader([]string{current}, time.Now().Add(-time.Hour), body)
	if _, err := webhook.ConstructEvent(body, stale, current); err == nil {
		t.Error("an hour-old signature verified")
	}
}

// TestSignatureGoldenVector pins the header for a fixed time, secret and
// body (computed independently: printf '1700000000.{}' | openssl dgst
// -sha256 -hmac whsec_test).
func TestSignatureGoldenVector(t *testing.T) {
	got := SignatureHeader([]string{"whsec_test"}, time.Unix(1_700_000_000, 0), []byte("{}"))
	const want = "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
	if got != want {
		t.Errorf("SignatureHeader = %s, want %s", got, want)
	}
}

func TestValidAPIVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"2025-08-27.basil": true, "2026-03-25.dahlia": true, "2020-08-27": false, "basil": false,
		"2025-13-01.basil": false, "2025-08-27.": false, "2025-08-27.Basil": false, "": false,
	} {
		if got := ValidAPIVersion(v); got != want {
			t.Errorf("ValidAPIVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestDiscountedSessionDecodesIntoStripeGo: a session's discount reaches
// stripe-go as Stripe shows it: total_details.amount_discount, discounts,
// and each line's amount_discount with amount_subtotal before it.
func TestDiscountedSessionDecodesIntoStripeGo(t *testing.T) {
	cs := sampleSession()
	cs.TotalDetails = &adminv1.TotalDetails{AmountDiscount: 265, AmountTax: 530}
	cs.Discounts = []*adminv1.SessionDiscount{{Coupon: "SPRING", PromotionCode: proto.String("promo_1")}}
	cs.LineItems[0].AmountDiscount, cs.LineItems[0].AmountTotal = 135, 1215
	cs.LineItems[1].AmountDiscount, cs.LineItems[1].AmountTotal = 130, 1169
	b, err := json.Marshal(NewSession(cs, true))
	if err != nil {
		t.Fatal(err)
	}
	var got stripe.CheckoutSession
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("stripe-go cannot decode %s: %v", b, err)
	}
	if got.TotalDetails.AmountDiscount != 265 || len(got.Discounts) != 1 || got.Discounts[0].Coupon.ID != "SPRING" ||
		got.Discounts[0].PromotionCode.ID != "promo_1" {
		t.Fatalf("discount: %s", b)
	}
	l := got.LineItems.Data[0]
	if l.AmountSubtotal != 1350 || l.AmountDiscount != 135 || l.AmountTotal != 1215 || got.LineItems.Data[1].AmountDiscount != 130 {
		t.Fatalf("line items: %s", b)
	}
}
