package gocardless

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

func testAdapter(t *testing.T, s *gcServer, mandate bool) *Adapter {
	t.Helper()
	a, err := NewAdapter(AdapterConfig{Config: Config{BaseURL: s.URL, AccessToken: "sandbox_token123"}, ReusableMandate: mandate})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const returnURL = "https://pay.example/checkout/cs_1/return?payment_id=pay_1"

func authorizeRequest() provider.AuthorizeRequest {
	return provider.AuthorizeRequest{PaymentID: "pay_1", Amount: 2599, Currency: "gbp", ReturnURL: returnURL}
}

func TestAuthorizeRedirectsToTheFlow(t *testing.T) {
	for _, mandate := range []bool{false, true} {
		s := newServer(t, map[string]answer{
			"POST /billing_requests":      created(fixture(t, "billing_requests", "create", nil)),
			"POST /billing_request_flows": created(fixture(t, "billing_request_flows", "create", nil)),
		})
		res, err := testAdapter(t, s, mandate).Authorize(context.Background(), authorizeRequest())
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != provider.ChallengeRequired || res.Reference != "BRQ123" || res.RedirectURL != "https://monzo.com/abc-123-things" {
			t.Fatalf("result = %+v", res)
		}
		br := s.find(t, "POST /billing_requests")
		checkHeaders(t, br, "pay_1")
		body := br.Body["billing_requests"].(map[string]any)
		pr := body["payment_request"].(map[string]any)
		if pr["amount"] != 2599.0 || pr["currency"] != "GBP" {
			t.Errorf("payment_request = %v", pr)
		}
		if !reflect.DeepEqual(pr["metadata"], map[string]any{"tillpoint_payment": "pay_1"}) {
			t.Errorf("payment_request.metadata = %v: the payment GoCardless makes must carry our id", pr["metadata"])
		}
		mr, has := body["mandate_request"]
		if has != mandate {
			t.Errorf("mandate=%t: mandate_request present=%t (%v)", mandate, has, mr)
		}
		if mandate && mr.(map[string]any)["currency"] != "GBP" {
			t.Errorf("mandate_request = %v", mr)
		}
		flow := s.find(t, "POST /billing_request_flows").Body["billing_request_flows"].(map[string]any)
		if flow["redirect_uri"] != returnURL || flow["exit_uri"] != returnURL || flow["links"].(map[string]any)["billing_request"] != "BRQ123" {
			t.Errorf("flow = %v", flow)
		}
	}
}

func TestAuthorizeRefusesWhatGoCardlessCannotTake(t *testing.T) {
	s := newServer(t, map[string]answer{})
	a := testAdapter(t, s, false)
	for name, edit := range map[string]func(*provider.AuthorizeRequest){
		"card data":       func(r *provider.AuthorizeRequest) { r.Card = &provider.Card{Number: "4242424242424242"} },
		"a token":         func(r *provider.AuthorizeRequest) { r.Token = "ctoken_1" },
		"JPY":             func(r *provider.AuthorizeRequest) { r.Currency = "JPY" },
		"no return URL":   func(r *provider.AuthorizeRequest) { r.ReturnURL = "" },
		"a zero amount":   func(r *provider.AuthorizeRequest) { r.Amount = 0 },
		"no payment id":   func(r *provider.AuthorizeRequest) { r.PaymentID = "" },
		"a negative amnt": func(r *provider.AuthorizeRequest) { r.Amount = -1 },
	} {
		req := authorizeRequest()
		edit(&req)
		if _, err := a.Authorize(context.Background(), req); !errors.Is(err, provider.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	if n := len(s.sent()); n != 0 {
		t.Errorf("%d requests sent for refused attempts", n)
	}
}

func TestResumeMapsTheBillingRequest(t *testing.T) {
	for _, tc := range []struct {
		status      string
		noPayment   bool
		want        provider.Outcome
		ref, code   string
		cancelCalls int
	}{
		{status: BillingRequestFulfilled, want: provider.Pending, ref: "PM123"},
		{status: BillingRequestFulfilling, noPayment: true, want: provider.Pending, ref: "BRQ123"},
		{status: BillingRequestPending, want: provider.Declined, ref: "BRQ123", code: provider.DeclineNotAuthorised, cancelCalls: 1},
		{status: BillingRequestCancelled, want: provider.Declined, ref: "BRQ123", code: provider.DeclineNotAuthorised},
	} {
		t.Run(tc.status, func(t *testing.T) {
			s := newServer(t, map[string]answer{
				"GET /billing_requests/BRQ123": ok(fixture(t, "billing_requests", "get", func(res map[string]any) {
					res["status"] = tc.status
					if tc.noPayment {
						delete(res["links"].(map[string]any), "payment_request_payment")
					}
				})),
				"POST /billing_requests/BRQ123/actions/cancel": ok(fixture(t, "billing_requests", "cancel", withStatus(BillingRequestCancelled))),
			})
			res, err := testAdapter(t, s, false).Resume(context.Background(), "BRQ123")
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.want || res.Reference != tc.ref || res.DeclineCode != tc.code {
				t.Errorf("result = %+v, want %v ref %s code %q", res, tc.want, tc.ref, tc.code)
			}
			cancels := 0
			for _, r := range s.sent() {
				if r.Path == "/billing_requests/BRQ123/actions/cancel" {
					cancels++
				}
			}
			if cancels != tc.cancelCalls {
				t.Errorf("%d cancellations, want %d", cancels, tc.cancelCalls)
			}
		})
	}
}

func TestVoidCancelsOnlyWhatCanBe(t *testing.T) {
	tooLate := answer{Status: 422, Body: []byte(`{"error":{"code":422,"type":"invalid_state","message":"submitted","errors":[{"reason":"cancellation_failed","message":"submitted"}]}}`)}
	for _, tc := range []struct {
		status  string
		cancel  answer
		want    error
		cancels int
	}{
		{"pending_submission", ok(fixture(t, "payments", "cancel", withStatus("cancelled"))), nil, 1},
		{"cancelled", answer{}, nil, 0},
		{"submitted", tooLate, provider.ErrAlreadyCaptured, 1},
	} {
		s := newServer(t, map[string]answer{"GET /payments/PM123": ok(fixture(t, "payments", "get", withStatus(tc.status))),
			"POST /payments/PM123/actions/cancel": tc.cancel})
		err := testAdapter(t, s, false).Void(context.Background(), "PM123")
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tc.status, err, tc.want)
		}
		n := 0
		for _, r := range s.sent() {
			if r.Method == http.MethodPost {
				n++
			}
		}
		if n != tc.cancels {
			t.Errorf("%s: %d cancellations, want %d", tc.status, n, tc.cancels)
		}
	}
}

func TestRefundIsIdempotentByOurID(t *testing.T) {
	s := newServer(t, map[string]answer{"POST /refunds": created(fixture(t, "refunds", "create", nil))})
	a := testAdapter(t, s, false)
	res, err := a.Refund(context.Background(), provider.RefundRequest{Reference: "PM123", RefundID: "re_9", Amount: 150, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != provider.RefundPending || res.Reference != "RF123" {
		t.Errorf("refund = %+v, want pending RF123 (submitted)", res)
	}
	checkHeaders(t, s.find(t, "POST /refunds"), "re_9")
	if _, err := a.Refund(context.Background(), provider.RefundRequest{Reference: "BRQ123", RefundID: "re_9", Amount: 150}); !errors.Is(err, provider.ErrNotRefundable) {
		t.Errorf("refund of a billing request: err = %v, want ErrNotRefundable", err)
	}
}

func TestFactoryMatchesTheTokenToTheMode(t *testing.T) {
	f := Factory("http://127.0.0.1:1", nil)
	if _, err := f(provider.Credentials{SecretKey: "live_abc", Livemode: false}); err == nil {
		t.Error("a live token built a test-mode account")
	}
	if _, err := f(provider.Credentials{SecretKey: "sk_test_abc", Livemode: false}); err == nil {
		t.Error("a Stripe key built a GoCardless account")
	}
	if p, err := f(provider.Credentials{SecretKey: "sandbox_abc", Livemode: false}); err != nil || p.Name() != provider.NameGoCardless {
		t.Errorf("sandbox token: %v, %v", p, err)
	}
	if BaseURL("", true) != LiveBaseURL || BaseURL("", false) != SandboxBaseURL || BaseURL("http://x", true) != "http://x" {
		t.Error("BaseURL does not choose the mode's API")
	}
}
