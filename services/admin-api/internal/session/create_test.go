package session

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

var (
	testSite = Site{ID: "site_1", DefaultCurrency: "EUR", DefaultSuccessURL: "https://shop.example/ok",
		DefaultCancelURL: "https://shop.example/cart", PaymentMethodTypes: []string{"card", "bank_transfer"}}
	now = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
)

func items(n int) []*adminv1.LineItemParams {
	out := make([]*adminv1.LineItemParams, n)
	for i := range out {
		out[i] = &adminv1.LineItemParams{Name: "Tea", UnitAmount: 450, Quantity: 2}
	}
	return out
}

func TestValidateTotalsAndDefaults(t *testing.T) {
	req := &adminv1.CreateCheckoutSessionRequest{
		LineItems: []*adminv1.LineItemParams{
			{Name: "Tea", UnitAmount: 450, Quantity: 3},
			{Name: "Cup", UnitAmount: 1299, Quantity: 1},
			{Name: "Free sample", UnitAmount: 0, Quantity: 5},
		},
		Currency:   "jpy",
		SuccessUrl: "https://shop.example/done?id=" + IDPlaceholder,
	}
	n, err := Validate(req, testSite, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if n.Subtotal != 450*3+1299 || n.LineItems[0].AmountTotal != 1350 || n.Currency != "JPY" {
		t.Fatalf("totals: %+v", n)
	}
	if n.CancelURL != testSite.DefaultCancelURL || !strings.Contains(n.SuccessURL, IDPlaceholder) {
		t.Fatalf("urls: %q %q", n.SuccessURL, n.CancelURL)
	}
	if !n.ExpiresAt.Equal(now.Add(24*time.Hour)) || n.Locale != "auto" || len(n.PaymentMethodTypes) != 2 {
		t.Fatalf("defaults: %+v", n)
	}
	if !strings.HasPrefix(n.ID, "cs_") || len(n.Reference) != len("TP-XXXX-XXXX") {
		t.Fatalf("ids: %q %q", n.ID, n.Reference)
	}
}

func TestValidateAmountOnly(t *testing.T) {
	n, err := Validate(&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(5000), Description: "Order 12"}, testSite, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if n.Subtotal != 5000 || len(n.LineItems) != 1 || n.LineItems[0].Name != "Order 12" {
		t.Fatalf("%+v", n)
	}
}

func TestValidateReturnURLAlias(t *testing.T) {
	n, err := Validate(&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), ReturnUrl: "https://a.example/r"}, testSite, false, now)
	if err != nil || n.SuccessURL != "https://a.example/r" {
		t.Fatalf("alias not used: %v %q", err, n.SuccessURL)
	}
}

func TestValidateRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	meta := map[string]string{}
	for i := 0; i < 51; i++ {
		meta[long(i%40+1)+string(rune('a'+i%26))+string(rune('A'+i/26))] = "v"
	}
	cases := []struct {
		name  string
		req   *adminv1.CreateCheckoutSessionRequest
		live  bool
		param string
	}{
		{"no amount", &adminv1.CreateCheckoutSessionRequest{}, false, "amount"},
		{"both", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), LineItems: items(1)}, false, "amount"},
		{"zero amount", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(0)}, false, "amount"},
		{"huge amount", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1e12)}, false, "amount"},
		{"bad currency", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), Currency: "EURO"}, false, "currency"},
		{"unknown currency", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), Currency: "ZZZ"}, false, "currency"},
		{"too many items", &adminv1.CreateCheckoutSessionRequest{LineItems: items(101)}, false, "line_items"},
		{"item without name", &adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{{UnitAmount: 1, Quantity: 1}}}, false, "line_items[0][name]"},
		{"negative unit", &adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{{Name: "a", UnitAmount: -1, Quantity: 1}}}, false, "line_items[0][unit_amount]"},
		{"zero quantity", &adminv1.CreateCheckoutSessionRequest{LineItems: append(items(1), &adminv1.LineItemParams{Name: "a", UnitAmount: 1})}, false, "line_items[1][quantity]"},
		{"all free", &adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{{Name: "a", Quantity: 1}}}, false, "line_items"},
		{"sum too large", &adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{{Name: "a", UnitAmount: 99_999_999_999, Quantity: 2}}}, false, "line_items"},
		{"relative success", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), SuccessUrl: "/ok"}, false, "success_url"},
		{"ftp cancel", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), CancelUrl: "ftp://x.example/"}, false, "cancel_url"},
		{"http in live", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), SuccessUrl: "http://x.example/", CancelUrl: "https://x.example/"}, true, "success_url"},
		{"alias clash", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), SuccessUrl: "https://a.example/", ReturnUrl: "https://b.example/"}, false, "return_url"},
		{"bad email", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), CustomerEmail: "not-an-email"}, false, "customer_email"},
		{"bad phone", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), CustomerPhone: "call me"}, false, "customer_phone"},
		{"long order id", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), OrderId: long(101)}, false, "order_id"},
		{"long description", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), Description: long(501)}, false, "description"},
		{"too many metadata keys", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), Metadata: meta}, false, "metadata"},
		{"long metadata key", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), Metadata: map[string]string{long(41): "v"}}, false, "metadata"},
		{"long metadata value", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), Metadata: map[string]string{"k": long(501)}}, false, "metadata[k]"},
		{"unknown method", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), PaymentMethodTypes: []string{"card", "cash"}}, false, "payment_method_types[1]"},
		{"bad locale", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), Locale: "de"}, false, "locale"},
		{"expiry too soon", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), ExpiresInMinutes: proto.Int64(4)}, false, "expires_in_minutes"},
		{"expiry too late", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), ExpiresInHours: proto.Int64(721)}, false, "expires_in_hours"},
		{"expiry in the past", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), ExpiresAt: timestamppb.New(now.Add(-time.Hour))}, false, "expires_at"},
		{"two expiries", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), ExpiresInHours: proto.Int64(2), ExpiresInMinutes: proto.Int64(30)}, false, "expires_in_hours"},
		{"bad notify url", &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), NotifyUrl: "notify"}, false, "notify_url"},
		{"free trial without card", &adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{{Name: "a", Quantity: 1}},
			SubscriptionData: &adminv1.SubscriptionDataParams{TrialPeriodDays: proto.Int32(14)}, PaymentMethodTypes: []string{"bank_transfer"}}, false, "payment_method_types"},
		{"bad image url", &adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{{Name: "a", UnitAmount: 1, Quantity: 1, ImageUrl: "x"}}}, false, "line_items[0][image_url]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Validate(c.req, testSite, c.live, now)
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Invalid {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if e.Param != c.param {
				t.Fatalf("param = %q, want %q (%s)", e.Param, c.param, e.Message)
			}
		})
	}
}

func TestValidateSiteWithoutMethod(t *testing.T) {
	site := testSite
	site.PaymentMethodTypes = []string{"card"}
	_, err := Validate(&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1), PaymentMethodTypes: []string{"bank_transfer"}}, site, false, now)
	if e, ok := errs.As(err); !ok || e.Code != "payment_method_unavailable" {
		t.Fatalf("got %v", err)
	}
}

func TestReferenceAlphabet(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		r := NewReference()
		if strings.ContainsAny(r[3:], "01ILO") {
			t.Fatalf("reference %q has an ambiguous character", r)
		}
		seen[r] = true
	}
	if len(seen) < 999 {
		t.Fatalf("references repeat too often: %d distinct of 1000", len(seen))
	}
}

// TestValidateFreeTrialNeedsACard: a checkout that charges nothing today
// (a free trial) saves a card: it is refused without the card among its
// methods, naming the trial when the site's methods lack it; with the card,
// or charging something, it is accepted.
func TestValidateFreeTrialNeedsACard(t *testing.T) {
	trial := func(methods ...string) *adminv1.CreateCheckoutSessionRequest {
		return &adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{{Name: "Plan", Quantity: 1}},
			SubscriptionData: &adminv1.SubscriptionDataParams{TrialPeriodDays: proto.Int32(14)}, PaymentMethodTypes: methods}
	}
	site := testSite
	site.PaymentMethodTypes = []string{"bank_transfer"}
	_, err := Validate(trial(), site, false, now)
	if e, ok := errs.As(err); !ok || e.Param != "subscription_data[trial_period_days]" || e.Kind != errs.Invalid {
		t.Fatalf("site without card: %v", err)
	}
	if _, err := Validate(trial("card"), testSite, false, now); err != nil {
		t.Fatalf("with the card: %v", err)
	}
	charged := trial("bank_transfer")
	charged.LineItems = append(charged.LineItems, &adminv1.LineItemParams{Name: "Setup fee", UnitAmount: 500, Quantity: 1})
	if _, err := Validate(charged, testSite, false, now); err != nil {
		t.Fatalf("a trial with a charged setup fee: %v", err)
	}
}
