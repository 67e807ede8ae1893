package session

import (
	"testing"
	"time"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// FuzzCreateRequest feeds arbitrary bodies through the REST decoder and the
// validation: neither may panic, every refusal is a 4xx-kind error, and
// whatever is accepted keeps the money invariants.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"amount":5000,"currency":"GHS"}`,
		`{"line_items":[{"name":"Tea","unit_amount":450,"quantity":3}],"currency":"jpy","metadata":{"a":"b"}}`,
		`{"amount":1,"expires_in_minutes":5,"returnUrl":"https://x.example/{CHECKOUT_SESSION_ID}"}`,
		`{"amount":"12","expires_at":"2026-11-22T00:00:00Z","payment_method_types":["card"]}`,
		`{"line_items":[{"name":"a","unit_amount":99999999999,"quantity":10000}]}`,
		`{"amount":-1}`, `{"amount":1e30}`, `[]`, `{`, `{"metadata":{"k":1}}`, ``,
		`{"amount":1e3}`, `{"amount":10.0}`, `{"line_items":[{"name":"a","unit_amount":"1","quantity":1}]}`,
		`{"amount":100,"description":"\ud800"}`, `{"amount":100,"metadata":{"k":"\udfff"}}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req adminv1.CreateCheckoutSessionRequest
		if err := gateway.Unmarshal(body, &req); err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("decode error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		n, err := Validate(&req, testSite, false, now)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("validation error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		var sum int64
		for _, it := range n.LineItems {
			if it.AmountTotal != it.UnitAmount*it.Quantity || it.Quantity < 1 || it.UnitAmount < 0 {
				t.Fatalf("bad line item %+v", it)
			}
			sum += it.AmountTotal
		}
		if sum != n.Subtotal || n.Subtotal < 1 || n.Subtotal > money.MaxAmount {
			t.Fatalf("subtotal %d, line items add up to %d", n.Subtotal, sum)
		}
		if _, err := money.ParseCurrency(n.Currency); err != nil || n.Currency != n.Currency[:3] {
			t.Fatalf("accepted currency %q", n.Currency)
		}
		if d := n.ExpiresAt.Sub(now); d < minExpiry-time.Second || d > maxExpiry {
			t.Fatalf("accepted expiry %v from now", d)
		}
	})
}
