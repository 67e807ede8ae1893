package paystack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// TestFindAuthorization verifies, through Prism with Paystack's
// specification, the transaction Authorize made with our payment id as its
// reference: only a successful one is an authorisation (captured: the
// reconciler refunds it); one Paystack does not know or that failed holds
// nothing; one still waiting for the payer is neither.
func TestFindAuthorization(t *testing.T) {
	verified := func(status, reference string) map[string]any {
		return map[string]any{"status": true, "message": "Verification successful", "data": tx(status, reference, 2500, nil)}
	}
	notFound := map[string]any{"status": false, "message": "Transaction reference not found", "type": "validation_error",
		"code": "transaction_not_found", "meta": map[string]any{"nextStep": "Ensure that you're passing the reference of a transaction that exists on this integration"}}
	for _, tc := range []struct {
		name string
		code int
		body any
		want error // nil: found
	}{
		{"success", 200, verified(StatusSuccess, "pay_find1"), nil},
		{"failed", 200, verified(StatusFailed, "pay_find1"), provider.ErrUnknownReference},
		{"abandoned", 200, verified(StatusAbandoned, "pay_find1"), provider.ErrUnknownReference},
		{"reversed", 200, verified(StatusReversed, "pay_find1"), provider.ErrUnknownReference},
		{"code sent", 200, verified(StatusSendOTP, "pay_find1"), ErrAwaitingPayer},
		{"prompt on the phone", 200, verified(StatusPayOffline, "pay_find1"), ErrAwaitingPayer},
		{"ongoing", 200, verified(StatusOngoing, "pay_find1"), ErrAwaitingPayer},
		{"not found, as Paystack answers", 400, notFound, provider.ErrUnknownReference},
		{"not found, older answer", 400, map[string]any{"status": false, "message": "Transaction reference not found"}, provider.ErrUnknownReference},
		{"not found, as the specification says", 404, map[string]any{"status": false, "message": "Not found"}, provider.ErrUnknownReference},
		{"another refusal", 400, map[string]any{"status": false, "message": "Invalid key"}, provider.ErrInvalidRequest},
		{"outage", 500, map[string]any{"status": false, "message": "Server error"}, ErrUnavailable},
		{"another transaction", 200, verified(StatusSuccess, "pay_other"), ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.code)
				_ = json.NewEncoder(w).Encode(tc.body)
			})
			res, err := adapterFor(c).FindAuthorization(context.Background(), "pay_find1")
			got := requests()
			if len(got) != 1 || got[0].Method != "GET" || got[0].Path != "/transaction/verify/pay_find1" || got[0].Auth != "Bearer "+testKey {
				t.Fatalf("requests that passed Prism = %+v", got)
			}
			if tc.want != nil {
				// Only "unknown" lets the reconciler fail the payment.
				if !errors.Is(err, tc.want) || (tc.want != provider.ErrUnknownReference && errors.Is(err, provider.ErrUnknownReference)) {
					t.Errorf("= %+v, %v; want %v", res, err, tc.want)
				}
				return
			}
			if err != nil || res.Outcome != provider.Authorized || !res.Captured || res.Reference != "pay_find1" || res.Amount != 2500 || res.Currency != "GHS" {
				t.Errorf("= %+v, %v; want authorised and captured, 2500 GHS", res, err)
			}
		})
	}
}
