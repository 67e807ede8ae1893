package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// fixture returns stripe-mock's fixture of a Stripe object (testdata), with
// fields set or removed (nil) by edit.
func fixture(t testing.TB, name string, edit map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	for k, v := range edit {
		obj[k] = v
	}
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// intentFixture is the PaymentIntent fixture with a status and a
// last_payment_error.
func intentFixture(t testing.TB, status string, lastError any) []byte {
	return fixture(t, "payment_intent", map[string]any{"status": status, "last_payment_error": lastError,
		"capture_method": "manual", "metadata": map[string]any{MetadataPaymentID: "pay_1"}})
}

func cardError(code, decline string) map[string]any {
	e := map[string]any{"type": "card_error", "code": code, "message": "Your card was declined."}
	if decline != "" {
		e["decline_code"] = decline
	}
	return e
}

// TestOutcomeOfStatus maps Stripe's PaymentIntent objects (stripe-mock's
// fixture with the status and last_payment_error varied) to outcomes.
func TestOutcomeOfStatus(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		lastError    any
		want         provider.Outcome
		wantCode     string
		captured     bool
		secret       bool
		wantErr      bool
	}{
		{"authorised", "requires_capture", nil, provider.Authorized, "", false, false, false},
		{"captured already", "succeeded", nil, provider.Authorized, "", true, false, false},
		{"3-D Secure", "requires_action", nil, provider.ChallengeRequired, "", false, true, false},
		{"processing", "processing", nil, provider.Pending, "", false, false, false},
		{"generic decline", "requires_payment_method", cardError("card_declined", "generic_decline"), provider.Declined, provider.DeclineCardDeclined, false, false, false},
		{"insufficient funds", "requires_payment_method", cardError("card_declined", "insufficient_funds"), provider.Declined, provider.DeclineInsufficientFunds, false, false, false},
		{"expired", "requires_payment_method", cardError("expired_card", ""), provider.Declined, provider.DeclineExpiredCard, false, false, false},
		{"bad cvc", "requires_payment_method", cardError("incorrect_cvc", ""), provider.Declined, provider.DeclineInvalidCVC, false, false, false},
		{"bad number", "requires_payment_method", cardError("incorrect_number", ""), provider.Declined, provider.DeclineInvalidNumber, false, false, false},
		{"stolen card told as generic", "requires_payment_method", cardError("card_declined", "stolen_card"), provider.Declined, provider.DeclineCardDeclined, false, false, false},
		{"fraud told as generic", "requires_payment_method", cardError("card_declined", "fraudulent"), provider.Declined, provider.DeclineCardDeclined, false, false, false},
		{"3-D Secure failed", "requires_payment_method", map[string]any{"type": "invalid_request_error", "code": "payment_intent_authentication_failure"}, provider.Declined, provider.DeclineAuthenticationFailed, false, false, false},
		{"no error given", "requires_payment_method", nil, provider.Declined, provider.DeclineCardDeclined, false, false, false},
		{"canceled", "canceled", nil, provider.Declined, provider.DeclineCardDeclined, false, false, false},
		{"manual confirmation", "requires_confirmation", nil, 0, "", false, false, true},
		{"unknown status", "requires_magic", nil, 0, "", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pi stripeapi.PaymentIntent
			if err := json.Unmarshal(intentFixture(t, tc.status, tc.lastError), &pi); err != nil {
				t.Fatal(err)
			}
			res, err := outcomeOf(&pi)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("outcome %v, want an error", res.Outcome)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.want || res.DeclineCode != tc.wantCode || res.Captured != tc.captured {
				t.Errorf("got %v %q captured=%v, want %v %q captured=%v", res.Outcome, res.DeclineCode, res.Captured, tc.want, tc.wantCode, tc.captured)
			}
			if (res.ClientSecret != "") != tc.secret {
				t.Errorf("client secret %q, want one: %v", res.ClientSecret, tc.secret)
			}
			if tc.want == provider.Declined && res.DeclineMessage != provider.DeclineMessage(tc.wantCode) {
				t.Errorf("message %q", res.DeclineMessage)
			}
			if res.IntentID != pi.ID || res.Amount != 1099 || res.Currency != "USD" {
				t.Errorf("intent %q amount %d %s", res.IntentID, res.Amount, res.Currency)
			}
		})
	}
}

// stripeAPI is a stand-in for Stripe's answers that stripe-mock (stateless,
// always 200) cannot give: declines (402), key errors, outages, and intents
// in a given state. The bodies are Stripe's error shape around stripe-mock's
// fixtures, so they go through stripe-go's real decoding.
type stripeAPI struct {
	t      *testing.T
	routes map[string]func() (int, any)
	calls  []string
}

func (s *stripeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	s.calls = append(s.calls, key)
	route, ok := s.routes[key]
	if !ok {
		s.t.Errorf("unexpected %s", key)
		http.NotFound(w, r)
		return
	}
	status, body := route()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Stripe-Should-Retry", "false") // no backoff in tests
	w.WriteHeader(status)
	if raw, ok := body.([]byte); ok {
		w.Write(raw)
		return
	}
	json.NewEncoder(w).Encode(body)
}

func stripeAPIClient(t *testing.T, routes map[string]func() (int, any)) (*Client, *stripeAPI) {
	api := &stripeAPI{t: t, routes: routes}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, SecretKey: testkit.StripeMockKey})
	if err != nil {
		t.Fatal(err)
	}
	return c, api
}

func answer(status int, body any) func() (int, any) { return func() (int, any) { return status, body } }

func errorBody(fields map[string]any) map[string]any { return map[string]any{"error": fields} }

// TestDeclineIsAnOutcome: Stripe's 402 card_error to a confirmation is a
// Declined result with the intent, not an error.
func TestDeclineIsAnOutcome(t *testing.T) {
	var pi map[string]any
	json.Unmarshal(intentFixture(t, "requires_payment_method", cardError("card_declined", "insufficient_funds")), &pi)
	e := cardError("card_declined", "insufficient_funds")
	e["payment_intent"] = pi
	c, _ := stripeAPIClient(t, map[string]func() (int, any){
		"POST /v1/payment_intents": answer(http.StatusPaymentRequired, errorBody(e)),
	})
	res, err := c.Authorize(context.Background(), testIntent())
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if res.Outcome != provider.Declined || res.DeclineCode != provider.DeclineInsufficientFunds || res.IntentID != pi["id"] {
		t.Errorf("got %+v", res)
	}
	if res.DeclineMessage != provider.DeclineMessage(provider.DeclineInsufficientFunds) {
		t.Errorf("message %q", res.DeclineMessage)
	}
}

// TestErrorKinds: Stripe's refusals of the request map to our error kinds.
func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   map[string]any
		want   error
	}{
		{"bad key", 401, errorBody(map[string]any{"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****lint"}), ErrAuthentication},
		{"restricted key", 403, errorBody(map[string]any{"type": "invalid_request_error", "message": "The provided key does not have access"}), ErrAuthentication},
		{"outage", 500, errorBody(map[string]any{"type": "api_error", "message": "Something went wrong"}), ErrUnavailable},
		{"busy", 503, errorBody(map[string]any{"type": "api_error"}), ErrUnavailable},
		{"rate limited", 429, errorBody(map[string]any{"type": "invalid_request_error", "code": "rate_limit"}), ErrUnavailable},
		{"same key in flight", 409, errorBody(map[string]any{"type": "idempotency_error"}), ErrUnavailable},
		{"invalid", 400, errorBody(map[string]any{"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "amount"}), provider.ErrInvalidRequest},
		{"idempotency misuse", 400, errorBody(map[string]any{"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}), provider.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := stripeAPIClient(t, map[string]func() (int, any){"POST /v1/payment_intents": answer(tc.status, tc.body)})
			_, err := c.Authorize(context.Background(), testIntent())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "sk_test") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
	c, _ := stripeAPIClient(t, map[string]func() (int, any){"GET /v1/payment_intents/pi_gone": answer(404,
		errorBody(map[string]any{"type": "invalid_request_error", "code": "resource_missing", "param": "intent"}))})
	if _, err := c.Resume(context.Background(), "pi_gone"); !errors.Is(err, provider.ErrUnknownReference) {
		t.Errorf("Resume of an unknown intent: %v", err)
	}
}

// TestCaptureAndCancelRetries: when Stripe says the intent is not in a state
// to capture or cancel (a retry after Stripe forgot the idempotency key, or
// a race), the intent's state decides.
func TestCaptureAndCancelRetries(t *testing.T) {
	unexpected := answer(400, errorBody(map[string]any{"type": "invalid_request_error", "code": "payment_intent_unexpected_state"}))
	intent := func(status string, received int) func() (int, any) {
		return func() (int, any) {
			return 200, fixture(t, "payment_intent", map[string]any{"id": "pi_1", "status": status, "amount_received": received})
		}
	}
	for _, tc := range []struct {
		name, status string
		received     int
		capture      error // nil: success
		cancel       error
	}{
		{"captured with this amount", "succeeded", 1099, nil, provider.ErrAlreadyCaptured},
		{"captured with another amount", "succeeded", 500, provider.ErrAlreadyCaptured, provider.ErrAlreadyCaptured},
		{"voided", "canceled", 0, provider.ErrAlreadyVoided, nil},
		{"waiting for the payer", "requires_action", 0, provider.ErrNotCapturable, provider.ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := stripeAPIClient(t, map[string]func() (int, any){
				"POST /v1/payment_intents/pi_1/capture": unexpected,
				"POST /v1/payment_intents/pi_1/cancel":  unexpected,
				"GET /v1/payment_intents/pi_1":          intent(tc.status, tc.received),
			})
			if err := c.Capture(context.Background(), "pi_1", 1099, "USD"); !errors.Is(err, tc.capture) || (tc.capture == nil && err != nil) {
				t.Errorf("Capture: %v, want %v", err, tc.capture)
			}
			if err := c.Cancel(context.Background(), "pi_1"); !errors.Is(err, tc.cancel) || (tc.cancel == nil && err != nil) {
				t.Errorf("Cancel: %v, want %v", err, tc.cancel)
			}
		})
	}
	c, _ := stripeAPIClient(t, map[string]func() (int, any){"POST /v1/payment_intents/pi_1/capture": answer(400,
		errorBody(map[string]any{"type": "invalid_request_error", "code": "amount_too_large", "param": "amount_to_capture"}))})
	if err := c.Capture(context.Background(), "pi_1", 999999, "USD"); !errors.Is(err, provider.ErrCaptureAmount) {
		t.Errorf("Capture of too much: %v", err)
	}
}

// TestResumeAfterNextAction: after handleNextAction the intent is read again
// and mapped; a livemode intent from a test key is refused.
func TestResumeAfterNextAction(t *testing.T) {
	c, _ := stripeAPIClient(t, map[string]func() (int, any){
		"GET /v1/payment_intents/pi_ok": func() (int, any) { return 200, intentFixture(t, "requires_capture", nil) },
		"GET /v1/payment_intents/pi_live": func() (int, any) {
			return 200, fixture(t, "payment_intent", map[string]any{"status": "requires_capture", "livemode": true})
		},
	})
	res, err := c.Resume(context.Background(), "pi_ok")
	if err != nil || res.Outcome != provider.Authorized {
		t.Errorf("Resume = %+v, %v", res, err)
	}
	if _, err := c.Resume(context.Background(), "pi_live"); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("Resume of a live intent with a test key: %v", err)
	}
}

// TestRefundStatuses maps Stripe's refund statuses to ours.
func TestRefundStatuses(t *testing.T) {
	for stripeStatus, want := range map[string]string{
		"succeeded": RefundSucceeded, "pending": RefundPending, "requires_action": RefundPending,
		"failed": RefundFailed, "canceled": RefundFailed,
	} {
		c, _ := stripeAPIClient(t, map[string]func() (int, any){"POST /v1/refunds": func() (int, any) {
			raw, _ := os.ReadFile("testdata/refund.json")
			var re map[string]any
			json.Unmarshal(raw, &re)
			re["status"] = stripeStatus
			return 200, re
		}})
		got, err := c.Refund(context.Background(), "pi_1", 100, "USD", "re_1")
		if err != nil || got.Status != want {
			t.Errorf("%s: %+v, %v; want %s", stripeStatus, got, err, want)
		}
	}
}

// TestCaptureReportsTheFee: the fee comes from the charge's balance
// transaction, expanded on the capture call itself, converted to our minor
// units of the settlement currency (here JPY, zero-decimal, while the
// payment is in USD); a retried capture that finds the intent captured
// reads it the same way, and no balance transaction means no fee known.
func TestCaptureReportsTheFee(t *testing.T) {
	withFee := func(status string, charge any) func() (int, any) {
		return func() (int, any) {
			return 200, fixture(t, "payment_intent", map[string]any{"id": "pi_1", "status": status, "amount_received": 1099,
				"latest_charge": charge})
		}
	}
	charge := map[string]any{"id": "ch_1", "object": "charge",
		"balance_transaction": map[string]any{"id": "txn_1", "object": "balance_transaction", "fee": 175, "currency": "jpy"}}
	c, _ := stripeAPIClient(t, map[string]func() (int, any){"POST /v1/payment_intents/pi_1/capture": withFee("succeeded", charge)})
	fee, err := c.CaptureWithFee(context.Background(), "pi_1", 1099, "USD")
	if err != nil || fee != (provider.Fee{Amount: 175, Currency: "JPY"}) {
		t.Errorf("capture: %+v %v, want 175 JPY", fee, err)
	}

	c, _ = stripeAPIClient(t, map[string]func() (int, any){
		"POST /v1/payment_intents/pi_1/capture": answer(400, errorBody(map[string]any{"type": "invalid_request_error", "code": "payment_intent_unexpected_state"})),
		"GET /v1/payment_intents/pi_1":          withFee("succeeded", charge),
	})
	if fee, err := c.CaptureWithFee(context.Background(), "pi_1", 1099, "USD"); err != nil || fee.Amount != 175 {
		t.Errorf("capture retried after Stripe captured: %+v %v", fee, err)
	}

	c, _ = stripeAPIClient(t, map[string]func() (int, any){"POST /v1/payment_intents/pi_1/capture": withFee("succeeded", nil)})
	if fee, err := c.CaptureWithFee(context.Background(), "pi_1", 1099, "USD"); err != nil || fee != (provider.Fee{}) {
		t.Errorf("capture without a balance transaction: %+v %v", fee, err)
	}
}
