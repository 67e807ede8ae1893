package collections

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

func TestMinorUnits(t *testing.T) {
	usd, _ := money.ParseCurrency("USD")
	for _, tc := range []struct {
		in    json.Number
		minor int64
		err   string // the error's code, when refused
	}{
		{"1", 100, ""},
		{"1.00", 100, ""},
		{"25.5", 2550, ""},
		{"25.50", 2550, ""},
		{"1234.56", 123456, ""},
		{"999999999.99", 99_999_999_999, ""},
		{"1.001", 0, "amount_invalid"}, // never rounded
		{"25.505", 0, "amount_invalid"},
		{"0.99", 0, "amount_too_small"},
		{"0", 0, "amount_too_small"},
		{"-1", 0, "amount_invalid"},
		{"1e2", 0, "amount_invalid"},
		{"1000000000", 0, "amount_invalid"},
		{"", 0, "parameter_missing"},
	} {
		got, err := MinorUnits(tc.in, usd)
		if tc.err == "" {
			if err != nil || got != tc.minor {
				t.Errorf("MinorUnits(%q) = %d, %v; want %d", tc.in, got, err, tc.minor)
			}
			continue
		}
		if e, ok := errs.As(err); !ok || e.Code != tc.err || e.Param != "amount" {
			t.Errorf("MinorUnits(%q) = %d, %v; want %s naming amount", tc.in, got, err, tc.err)
		}
	}
}

func TestSessionRequestTranslation(t *testing.T) {
	sixty := int64(60)
	amount := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		name string
		in   createRequest
		want *adminv1.CreateCheckoutSessionRequest
	}{
		{"the seed's fields",
			createRequest{Amount: "25.50", Currency: "usd", OrderID: "INV-1", Description: "Invoice",
				CallbackURL: "https://shop.example/back?x=1#top", WebhookURL: "https://shop.example/ipn",
				Metadata: map[string]json.RawMessage{"customer": json.RawMessage(`"c_42"`), "n": json.RawMessage(`7`), "vip": json.RawMessage(`true`)}},
			&adminv1.CreateCheckoutSessionRequest{Amount: amount(2550), Currency: "USD", OrderId: "INV-1",
				Description: "Invoice", ExpiresInMinutes: &sixty, NotifyUrl: "https://shop.example/ipn", NotifyFormat: "collection",
				SuccessUrl: "https://shop.example/back?x=1&batch={CHECKOUT_SESSION_ID}&status=COMPLETED",
				CancelUrl:  "https://shop.example/back?x=1&batch={CHECKOUT_SESSION_ID}&status=CANCELLED",
				Metadata:   map[string]string{"customer": "c_42", "n": "7", "vip": "true"}}},
		{"only what is required: USD, the site's URLs, no callback",
			createRequest{Amount: "1", OrderID: "INV-2", Description: "d"},
			&adminv1.CreateCheckoutSessionRequest{Amount: amount(100), Currency: "USD", OrderId: "INV-2",
				Description: "d", ExpiresInMinutes: &sixty, Metadata: map[string]string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.sessionRequest()
			if err != nil || !proto.Equal(got, tc.want) {
				t.Fatalf("got %v, %v\nwant %v", got, err, tc.want)
			}
		})
	}
}

func TestSessionRequestRefuses(t *testing.T) {
	ok := createRequest{Amount: "5", OrderID: "o", Description: "d"}
	for _, tc := range []struct {
		name  string
		edit  func(*createRequest)
		field string
	}{
		{"another currency", func(r *createRequest) { r.Currency = "EUR" }, "currency"},
		{"no orderId", func(r *createRequest) { r.OrderID = "" }, "orderId"},
		{"orderId of 101", func(r *createRequest) { r.OrderID = string(make([]byte, 101)) }, "orderId"},
		{"blank description", func(r *createRequest) { r.Description = "  " }, "description"},
		{"relative callbackUrl", func(r *createRequest) { r.CallbackURL = "/back" }, "callbackUrl"},
		{"nested metadata", func(r *createRequest) { r.Metadata = map[string]json.RawMessage{"a": json.RawMessage(`[1]`)} }, "metadata.a"},
		{"null metadata", func(r *createRequest) { r.Metadata = map[string]json.RawMessage{"a": json.RawMessage(`null`)} }, "metadata.a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			_, err := r.sessionRequest()
			if e, isErr := errs.As(err); !isErr || e.Kind != errs.Invalid || e.Param != tc.field {
				t.Fatalf("err = %v, want Invalid naming %s", err, tc.field)
			}
		})
	}
}

// TestErrorTranslation: the core's parameter names come back in the
// surface's words.
func TestErrorTranslation(t *testing.T) {
	for _, tc := range []struct{ core, field, msg, wantMsg string }{
		{"order_id", "orderId", "An order_id is taken.", "An orderId is taken."},
		{"success_url", "callbackUrl", "success_url must be https.", "callbackUrl must be https."},
		{"notify_url", "webhookUrl", "notify_url is private.", "webhookUrl is private."},
		{"metadata[k]", "metadata[k]", "m", "m"},
		{"amount", "amount", "m", "m"},
		{"orderId", "orderId", "orderId is required.", "orderId is required."},
	} {
		if got := fieldOf(tc.core); got != tc.field {
			t.Errorf("fieldOf(%s) = %s, want %s", tc.core, got, tc.field)
		}
		if got := translateMessage(tc.msg, tc.core); got != tc.wantMsg {
			t.Errorf("translateMessage(%q) = %q, want %q", tc.msg, got, tc.wantMsg)
		}
	}
}

// FuzzCreateBody: whatever a client sends, the create body is either
// refused as bad input naming a field, or translated to a session of at
// least one dollar, never a panic.
func FuzzCreateBody(f *testing.F) {
	for _, s := range []string{
		`{"amount":25.50,"orderId":"o","description":"d","callbackUrl":"https://a.example/b?c=1","metadata":{"k":1}}`,
		`{"amount":1.001,"orderId":"o","description":"d"}`,
		`{"amount":"10","orderId":"o","description":"d","currency":"usd"}`,
		`{"amount":1e400}`, `[]`, `{"metadata":{"a":null}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/collections", strings.NewReader(body))
		var req createRequest
		err := decode(httptest.NewRecorder(), r, &req)
		var out *adminv1.CreateCheckoutSessionRequest
		if err == nil {
			out, err = req.sessionRequest()
		}
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid {
				t.Fatalf("%q: %v is not bad input", body, err)
			}
			return
		}
		if out.GetAmount() < 100 || out.GetCurrency() != "USD" || out.GetOrderId() == "" {
			t.Fatalf("%q translated to %v", body, out)
		}
	})
}
