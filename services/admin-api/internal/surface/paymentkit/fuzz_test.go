package paymentkit

import (
	"strings"
	"testing"

	pkv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/surface/paymentkit/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
)

// FuzzCreateRequest feeds arbitrary bodies through the decoder and the
// translation: neither may panic, every refusal is a 400 naming a
// parameter, and an accepted body always asks for a secure token and keeps
// PaymentKit's return_url as the cancel URL.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"customer_id":"cus_abc123","line_items":[{"price_id":"price_xyz","quantity":1}],"success_url":"https://yoursite.com/success","return_url":"https://yoursite.com/cancel"}`,
		`{"line_items":[{"name":"Tea","unit_amount":450,"quantity":3,"currency":"eur"}],"expires_in_hours":48}`,
		`{"amount":5000,"currency":"GHS","processor_route_id":null}`,
		`{"cascade_line_items":[{"line_items":[{"price_id":"p","quantity":1}],"processor_route_id":null}]}`,
		`{"custom_fields":{}}`, `{"params_for_sub":null}`, `{"line_items":[{}]}`, `[]`, `{`, ``,
		`{"line_items":[{"name":"a","unit_amount":1,"quantity":1,"currency":"EUR"},{"name":"b","unit_amount":1,"quantity":1,"currency":"USD"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in pkv1.CreatePaymentKitSessionParams
		if err := gateway.DecodeBody(strings.NewReader(string(body)), &in); err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("decode error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		req, err := CreateRequest(&in)
		if err != nil {
			if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || e.Param == "" {
				t.Fatalf("refusal %v is not a 400 naming a parameter", err)
			}
			return
		}
		if !req.GetIssueSecureToken() || req.GetCancelUrl() != in.GetReturnUrl() || req.GetReturnUrl() != "" {
			t.Fatalf("%s became %v", body, req)
		}
	})
}
