package gocardless

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// checkHeaders asserts the headers GoCardless's own library sends.
func checkHeaders(t *testing.T, r request, idempotencyKey string) {
	t.Helper()
	if got := r.Header.Get("Authorization"); got != "Bearer sandbox_token123" {
		t.Errorf("%s %s: Authorization = %q", r.Method, r.Path, got)
	}
	if got := r.Header.Get("GoCardless-Version"); got != "2015-07-06" {
		t.Errorf("%s %s: GoCardless-Version = %q", r.Method, r.Path, got)
	}
	if got := r.Header.Get("Idempotency-Key"); got != idempotencyKey {
		t.Errorf("%s %s: Idempotency-Key = %q, want %q", r.Method, r.Path, got, idempotencyKey)
	}
	if r.Body != nil && r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type = %q", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
}

func TestClientCreateBillingRequestMatchesContract(t *testing.T) {
	s := newServer(t, map[string]answer{"POST /billing_requests": created(fixture(t, "billing_requests", "create", nil))})
	c := testClient(t, s)
	br, err := c.CreateBillingRequest(context.Background(), BillingRequestParams{
		PaymentRequest: PaymentRequest{Amount: 1234, Currency: "GBP", Description: "Payment pay_1", Metadata: map[string]string{MetadataPayment: "pay_1"}},
		Metadata:       map[string]string{MetadataPayment: "pay_1"}}, "pay_1")
	if err != nil {
		t.Fatal(err)
	}
	if br.ID != "BRQ123" || br.Status != BillingRequestPending || br.Links.PaymentRequestPayment != "PM123" || br.PaymentRequest.Amount != 1000 {
		t.Errorf("parsed %+v from the published create fixture", br)
	}
	r := s.find(t, "POST /billing_requests")
	checkHeaders(t, r, "pay_1")
	want := map[string]any{"billing_requests": map[string]any{
		"payment_request": map[string]any{"amount": 1234.0, "currency": "GBP", "description": "Payment pay_1", "metadata": map[string]any{"tillpoint_payment": "pay_1"}},
		"metadata":        map[string]any{"tillpoint_payment": "pay_1"},
	}}
	if !reflect.DeepEqual(r.Body, want) {
		t.Errorf("body = %v, want %v", r.Body, want)
	}
}

func TestClientCreateFlowMatchesContract(t *testing.T) {
	s := newServer(t, map[string]answer{"POST /billing_request_flows": created(fixture(t, "billing_request_flows", "create", nil))})
	c := testClient(t, s)
	p := FlowParams{RedirectURI: "https://pay.example/checkout/cs_1/return?payment_id=pay_1", ExitURI: "https://pay.example/checkout/cs_1/return?payment_id=pay_1"}
	p.Links.BillingRequest = "BRQ123"
	f, err := c.CreateFlow(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != "BRF123" || f.AuthorisationURL != "https://monzo.com/abc-123-things" {
		t.Errorf("parsed %+v", f)
	}
	r := s.find(t, "POST /billing_request_flows")
	checkHeaders(t, r, "")
	want := map[string]any{"billing_request_flows": map[string]any{"redirect_uri": p.RedirectURI, "exit_uri": p.ExitURI,
		"links": map[string]any{"billing_request": "BRQ123"}}}
	if !reflect.DeepEqual(r.Body, want) {
		t.Errorf("body = %v, want %v", r.Body, want)
	}
}

func TestClientReadsAndCancelsPayments(t *testing.T) {
	s := newServer(t, map[string]answer{
		"GET /payments/PM123":                 ok(fixture(t, "payments", "get", nil)),
		"POST /payments/PM123/actions/cancel": ok(fixture(t, "payments", "cancel", withStatus("cancelled"))),
		"GET /billing_requests/BRQ123":        ok(fixture(t, "billing_requests", "get", nil)),
	})
	c := testClient(t, s)
	ctx := context.Background()
	p, err := c.GetPayment(ctx, "PM123")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "PM123" || p.Amount != 1000 || p.Currency != "EUR" || p.Status != "submitted" || p.AmountRefunded != 150 {
		t.Errorf("parsed %+v from the published get fixture", p)
	}
	checkHeaders(t, s.find(t, "GET /payments/PM123"), "")
	if p, err = c.CancelPayment(ctx, "PM123"); err != nil || p.Status != "cancelled" {
		t.Fatalf("cancel = %+v, %v", p, err)
	}
	r := s.find(t, "POST /payments/PM123/actions/cancel")
	if want := map[string]any{"data": map[string]any{}}; !reflect.DeepEqual(r.Body, want) {
		t.Errorf("cancel body = %v, want %v (GoCardless's action envelope)", r.Body, want)
	}
	br, err := c.GetBillingRequest(ctx, "BRQ123")
	if err != nil || br.ID != "BRQ123" || br.PaymentRequest.Currency != "GBP" {
		t.Errorf("billing request = %+v, %v", br, err)
	}
}

func TestClientCreateRefundMatchesContract(t *testing.T) {
	s := newServer(t, map[string]answer{"POST /refunds": created(fixture(t, "refunds", "create", nil))})
	c := testClient(t, s)
	p := RefundParams{Amount: 150, Metadata: map[string]string{MetadataRefund: "re_1"}}
	p.Links.Payment = "PM123"
	re, err := c.CreateRefund(context.Background(), p, "re_1")
	if err != nil {
		t.Fatal(err)
	}
	if re.ID != "RF123" || re.Amount != 150 || re.Status != "submitted" {
		t.Errorf("parsed %+v", re)
	}
	r := s.find(t, "POST /refunds")
	checkHeaders(t, r, "re_1")
	want := map[string]any{"refunds": map[string]any{"amount": 150.0, "links": map[string]any{"payment": "PM123"},
		"metadata": map[string]any{"tillpoint_refund": "re_1"}}}
	if !reflect.DeepEqual(r.Body, want) {
		t.Errorf("body = %v, want %v", r.Body, want)
	}
}

// A repeated Idempotency-Key is GoCardless's 409 naming the first resource,
// which the client reads and answers.
func TestClientIdempotentCreationConflictAnswersTheFirst(t *testing.T) {
	s := newServer(t, map[string]answer{
		"POST /refunds": {Status: http.StatusConflict, Body: []byte(`{"error":{"message":"A resource has already been created with this idempotency key",` +
			`"documentation_url":"https://developer.gocardless.com/api-reference#idempotent_creation_conflict","type":"invalid_state","request_id":"req_1",` +
			`"errors":[{"reason":"idempotent_creation_conflict","message":"A resource has already been created with this idempotency key",` +
			`"links":{"conflicting_resource_id":"RF123"}}],"code":409}}`)},
		"GET /refunds/RF123": ok(fixture(t, "refunds", "get", withStatus("paid"))),
	})
	p := RefundParams{Amount: 150}
	p.Links.Payment = "PM123"
	re, err := testClient(t, s).CreateRefund(context.Background(), p, "re_1")
	if err != nil || re.ID != "RF123" || re.Status != "paid" {
		t.Fatalf("refund = %+v, %v; want the first refund, read back", re, err)
	}
}

func TestClientErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
		detail string
	}{
		{"server error", 500, `{"error":{"code":500,"type":"gocardless","message":"Uh-oh!","request_id":"req_5","errors":[]}}`, ErrUnavailable, "req_5"},
		{"rate limited", 429, `{"error":{"code":429,"type":"invalid_api_usage","message":"Rate limit exceeded","errors":[{"reason":"rate_limit_exceeded"}]}}`, ErrUnavailable, "rate_limit_exceeded"},
		{"not json", 502, `<html>bad gateway</html>`, ErrUnavailable, "502"},
		{"bad token", 401, `{"error":{"code":401,"type":"invalid_api_usage","message":"Access token not found","errors":[{"reason":"access_token_not_found"}]}}`, ErrAuthentication, "access_token_not_found"},
		{"forbidden", 403, `{"error":{"code":403,"type":"invalid_api_usage","message":"Forbidden","errors":[{"reason":"insufficient_permissions"}]}}`, ErrAuthentication, "403"},
		{"not found", 404, `{"error":{"code":404,"type":"invalid_api_usage","message":"Not found","errors":[{"reason":"resource_not_found"}]}}`, provider.ErrUnknownReference, "resource_not_found"},
		{"validation", 422, `{"error":{"code":422,"type":"validation_failed","message":"Validation failed","request_id":"req_v","errors":[{"field":"amount","message":"must be greater than 0","request_pointer":"/payments/amount"}]}}`, provider.ErrInvalidRequest, "amount: must be greater than 0"},
		{"too late to cancel", 422, `{"error":{"code":422,"type":"invalid_state","message":"This payment has been submitted","errors":[{"reason":"cancellation_failed","message":"This payment has been submitted"}]}}`, provider.ErrAlreadyCaptured, "cancellation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, map[string]answer{"POST /payments/PM1/actions/cancel": {Status: tc.status, Body: []byte(tc.body)}})
			_, err := testClient(t, s).CancelPayment(context.Background(), "PM1")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.detail) || strings.Contains(err.Error(), "token123") {
				t.Errorf("err = %q: want it to name %q and never the token", err, tc.detail)
			}
			if Retryable(err) != (tc.want == ErrUnavailable) {
				t.Errorf("Retryable(%v) = %t", err, Retryable(err))
			}
		})
	}
}

func TestClientUnreachableIsRetryable(t *testing.T) {
	s := newServer(t, map[string]answer{})
	c := testClient(t, s)
	s.Close()
	if _, err := c.GetPayment(context.Background(), "PM1"); !Retryable(err) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{BaseURL: "api.gocardless.com", AccessToken: "sandbox_x"},
		{BaseURL: "https://api.gocardless.com?x=1", AccessToken: "sandbox_x"},
		{BaseURL: SandboxBaseURL, AccessToken: ""},
		{BaseURL: SandboxBaseURL, AccessToken: "sandbox_x y"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

func TestClientCheckToken(t *testing.T) {
	s := newServer(t, map[string]answer{"GET /creditors": ok(fixture(t, "creditors", "list", nil))})
	if err := testClient(t, s).CheckToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkHeaders(t, s.find(t, "GET /creditors"), "")
	s.set("GET /creditors", answer{Status: 401, Body: []byte(`{"error":{"code":401,"type":"invalid_api_usage","message":"Access token not active","errors":[{"reason":"access_token_not_active"}]}}`)})
	if err := testClient(t, s).CheckToken(context.Background()); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("refused token: %v", err)
	}
}
