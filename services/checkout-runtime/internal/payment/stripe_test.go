package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// stripeCall is one request the runtime made to Stripe and stripe-mock's
// status for it.
type stripeCall struct {
	Method, Path, IdempotencyKey string
	Form, Query                  url.Values
	Status                       int
}

// stripeProxy forwards every request to stripe-mock, which validates it
// against Stripe's OpenAPI specification (the real contract), and records
// it. stripe-mock is stateless and answers fixtures (a PaymentIntent in
// requires_payment_method): where a test needs Stripe to have moved the
// intent on (requires_capture, requires_action), the proxy sets the status
// of the PaymentIntent (or SetupIntent) in stripe-mock's answer (and of a
// search's intents, which are given the searched payment's metadata and
// intent id), as the library's tests do with its fixtures; a SetupIntent
// set to succeeded gets the Customer and card payment method Stripe
// attaches on success when the fixture has none. Everything else is
// stripe-mock's own answer.
type stripeProxy struct {
	mu     sync.Mutex
	calls  []stripeCall
	status string // "" leaves stripe-mock's PaymentIntent as it is
	// intents are the intents created, by our payment id, for a search to
	// find (stripe-mock's own search answers its fixture's id).
	intents map[string]string
}

func (p *stripeProxy) setStatus(s string) {
	p.mu.Lock()
	p.status = s
	p.mu.Unlock()
}

func (p *stripeProxy) handler(t *testing.T) http.Handler {
	target, err := url.Parse(testkit.StripeMock(t))
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		p.mu.Lock()
		defer p.mu.Unlock()
		p.calls = append(p.calls, stripeCall{Method: req.Method, Path: req.URL.Path, IdempotencyKey: req.Header.Get("Idempotency-Key"),
			Form: req.Form, Query: req.URL.Query(), Status: resp.StatusCode})
		intent := strings.HasPrefix(req.URL.Path, "/v1/payment_intents") || strings.HasPrefix(req.URL.Path, "/v1/setup_intents")
		if p.status == "" || resp.StatusCode != http.StatusOK || !intent ||
			strings.HasSuffix(req.URL.Path, "/capture") || strings.HasSuffix(req.URL.Path, "/cancel") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			return err
		}
		if obj["object"] == "search_result" {
			// A search for a payment's intent finds stripe-mock's fixture,
			// as Stripe would that payment's: in the status, with its id.
			_, payment, _ := strings.Cut(req.URL.Query().Get("query"), ":")
			payment = strings.Trim(payment, "'")
			for _, pi := range obj["data"].([]any) {
				pi := pi.(map[string]any)
				pi["status"], pi["metadata"] = p.status, map[string]any{stripe.MetadataPaymentID: payment}
				if id, ok := p.intents[payment]; ok {
					pi["id"] = id
				}
			}
		} else {
			obj["status"] = p.status
			if payment := req.Form.Get("metadata[" + stripe.MetadataPaymentID + "]"); payment != "" && req.URL.Path == "/v1/payment_intents" {
				if p.intents == nil {
					p.intents = map[string]string{}
				}
				p.intents[payment] = obj["id"].(string)
			}
			if p.status == "requires_action" {
				obj["client_secret"] = obj["id"].(string) + "_secret_test"
			}
		}
		if p.status == "succeeded" && obj["object"] == "setup_intent" {
			if obj["customer"] == nil {
				obj["customer"] = "cus_trial"
			}
			if pm, ok := obj["payment_method"].(map[string]any); !ok || pm["card"] == nil {
				obj["payment_method"] = map[string]any{"id": "pm_trial", "object": "payment_method", "type": "card",
					"card": map[string]any{"brand": "visa", "last4": "3155"}}
			}
		}
		body, _ = json.Marshal(obj)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		r.Form, _ = url.ParseQuery(string(raw))
		r.Body = io.NopCloser(bytes.NewReader(raw))
		rp.ServeHTTP(w, r)
	})
}

// paths lists the calls as "METHOD path", with intent ids replaced by {pi}.
func (p *stripeProxy) paths(t *testing.T) []string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.calls {
		if c.Status != http.StatusOK {
			t.Errorf("%s %s: stripe-mock answered %d, want 200", c.Method, c.Path, c.Status)
		}
		parts := strings.Split(c.Path, "/")
		for i, s := range parts {
			if strings.HasPrefix(s, "pi_") {
				parts[i] = "{pi}"
			} else if strings.HasPrefix(s, "seti_") {
				parts[i] = "{seti}"
			}
		}
		out = append(out, c.Method+" "+strings.Join(parts, "/"))
	}
	return out
}

// closingSessions is admin-api that completes every session, or (closed)
// refuses as for a session paid or expired meanwhile.
type closingSessions struct {
	sessionsRecorder
	closed bool
}

func (c *closingSessions) CompleteSession(ctx context.Context, req *internalapiv1.CompleteSessionRequest, o ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	if c.closed {
		return nil, status.Error(codes.FailedPrecondition, "session is not open")
	}
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetSessionId(), Status: "complete"}}, nil
}

// stripeService is a Service whose sites' card account pa_stripe is a Stripe
// account at stripe-mock, behind a stripeProxy.
func stripeService(t *testing.T, admin internalapiv1.SessionServiceClient) (*Service, *stripeProxy) {
	t.Helper()
	proxy := &stripeProxy{}
	srv := httptest.NewServer(proxy.handler(t))
	t.Cleanup(srv.Close)
	s := newService(t)
	s.Admin = admin
	s.Providers = provider.NewDefaultRegistry().WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
		if id != "pa_stripe" {
			return provider.Credentials{}, status.Error(codes.NotFound, "no such account")
		}
		return provider.Credentials{AccountID: id, Provider: provider.NameStripe, SecretKey: testkit.StripeMockKey}, nil
	}, map[string]provider.Factory{provider.NameStripe: stripe.Factory(srv.URL, nil)})
	return s, proxy
}

// stripeAttempt is a card attempt on a session whose site has the Stripe
// account.
func stripeAttempt() Attempt {
	return Attempt{Method: "card", Token: "ctoken_123", ReturnURL: "https://secure.example.com/checkout/cs_x/return",
		Billing: Billing{Name: "Ada", Email: "ada@example.com", Country: "FR", PostalCode: "75001"},
		Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1", Site: &adminv1.Site{},
			CardProviderAccount: &internalapiv1.CardProviderAccount{Id: "pa_stripe", Provider: provider.NameStripe, PublishableKey: "pk_test_x"},
			CheckoutSession:     &adminv1.CheckoutSession{Id: ids.New("cs"), Status: "open", Currency: "EUR", AmountSubtotal: 1099, AmountTotal: 1099}}}
}

func wantCalls(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Stripe calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStripeAuthorizeCompleteCapture: a card payment through the site's
// Stripe account is authorised (a manual-capture PaymentIntent confirmed
// with the page's token, our payment id the idempotency key), completes the
// session, and is captured; then it refunds through Stripe.
func TestStripeAuthorizeCompleteCapture(t *testing.T) {
	s, proxy := stripeService(t, &closingSessions{})
	proxy.setStatus("requires_capture")
	res, err := s.Pay(t.Context(), stripeAttempt())
	if err != nil {
		t.Fatal(err)
	}
	p := res.Payment
	if p.Status != StatusSucceeded || p.Provider != provider.NameStripe || deref(p.ProviderAccount) != "pa_stripe" ||
		!strings.HasPrefix(deref(p.ProviderRef), "pi_") || res.Session == nil {
		t.Fatalf("payment = %s via %s (%s) ref %s, session %v", p.Status, p.Provider, deref(p.ProviderAccount), deref(p.ProviderRef), res.Session)
	}
	// The capture names the payment's currency itself: no read of the
	// intent in between.
	wantCalls(t, proxy.paths(t), "POST /v1/payment_intents", "POST /v1/payment_intents/{pi}/capture")
	create := proxy.calls[0]
	for k, v := range map[string]string{"amount": "1099", "currency": "eur", "capture_method": "manual", "confirm": "true",
		"confirmation_token": "ctoken_123", "metadata[tillpoint_payment_id]": p.ID, "return_url": "https://secure.example.com/checkout/cs_x/return?payment_id=" + p.ID} {
		if got := create.Form.Get(k); got != v {
			t.Errorf("create: %s = %q, want %q", k, got, v)
		}
	}
	if create.IdempotencyKey != "tillpoint-authorize-"+p.ID {
		t.Errorf("create: Idempotency-Key = %q", create.IdempotencyKey)
	}
	if got := proxy.calls[1].Form.Get("amount_to_capture"); got != "1099" {
		t.Errorf("capture: amount_to_capture = %q", got)
	}
	// Stripe's fee, from the capture's expanded balance transaction
	// (stripe-mock's fixture: 0 USD), is on the payment before it succeeds.
	if p.FeeCurrency == nil || *p.FeeCurrency != "USD" || Proto(p).GetFeeCurrency() != "USD" {
		t.Errorf("fee = %d %v, want the fixture's 0 USD", p.Fee, p.FeeCurrency)
	}

	ref, err := s.CreateRefund(t.Context(), RefundRequest{OrganizationID: "org_1", PaymentID: p.ID, Amount: 500})
	if err != nil || ref.Status != RefundSucceeded {
		t.Fatalf("refund = %+v, %v", ref, err)
	}
	last := proxy.calls[len(proxy.calls)-1]
	if last.Path != "/v1/refunds" || last.Form.Get("amount") != "500" || last.IdempotencyKey != "tillpoint-refund-"+ref.ID {
		t.Errorf("refund call: %s %v key %q", last.Path, last.Form, last.IdempotencyKey)
	}
	proxy.paths(t) // every call stripe-mock accepted
}

// TestStripeClosedSessionCancels: when the session closed before the
// authorisation completed it, the intent is cancelled and the payment is
// canceled; nothing is captured.
func TestStripeClosedSessionCancels(t *testing.T) {
	s, proxy := stripeService(t, &closingSessions{closed: true})
	proxy.setStatus("requires_capture")
	res, err := s.Pay(t.Context(), stripeAttempt())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Closed || res.Payment.Status != StatusCanceled {
		t.Fatalf("closed %t, payment %s", res.Closed, res.Payment.Status)
	}
	wantCalls(t, proxy.paths(t), "POST /v1/payment_intents", "POST /v1/payment_intents/{pi}/cancel")
}

// TestStripeRequiresActionThenResume: an intent that needs the payer
// (3-D Secure) leaves the payment requires_action with the client secret
// for Stripe.js; after the action, Resume reads the intent and the payment
// carries on to capture.
func TestStripeRequiresActionThenResume(t *testing.T) {
	s, proxy := stripeService(t, &closingSessions{})
	proxy.setStatus("requires_action")
	a := stripeAttempt()
	res, err := s.Pay(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Payment
	if p.Status != StatusRequiresAction || !strings.Contains(res.ClientSecret, "_secret_") {
		t.Fatalf("payment %s, client secret %q", p.Status, res.ClientSecret)
	}
	if _, err := s.Resume(t.Context(), "cs_other", p.ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("resume from another session: err = %v, want NotFound", err)
	}
	proxy.setStatus("requires_capture")
	res, err = s.Resume(t.Context(), a.Checkout.GetCheckoutSession().GetId(), p.ID)
	if err != nil || res.Payment.Status != StatusSucceeded {
		t.Fatalf("resume: %s, %v", res.Payment.Status, err)
	}
	calls := []string{"POST /v1/payment_intents", "GET /v1/payment_intents/{pi}", "POST /v1/payment_intents/{pi}/capture"}
	wantCalls(t, proxy.paths(t), calls...)
	// A second resume (a double post) finds the payment done and calls
	// nobody.
	if res, err := s.Resume(t.Context(), a.Checkout.GetCheckoutSession().GetId(), p.ID); err != nil || res.Payment.Status != StatusSucceeded {
		t.Errorf("second resume: %s, %v", res.Payment.Status, err)
	}
	if n := len(proxy.paths(t)); n != len(calls) {
		t.Errorf("second resume called Stripe: %d calls", n)
	}
}

// TestStripeMockIntentIsADecline: stripe-mock's own PaymentIntent (status
// requires_payment_method, as after a refused card) is a decline: the
// payment fails with card_declined and the session is not completed.
func TestStripeMockIntentIsADecline(t *testing.T) {
	s, proxy := stripeService(t, &closingSessions{closed: true})
	res, err := s.Pay(t.Context(), stripeAttempt())
	if err != nil {
		t.Fatal(err)
	}
	if res.Payment.Status != StatusFailed || deref(res.Payment.FailureCode) != provider.DeclineCardDeclined || res.Closed {
		t.Fatalf("payment %s (%s), closed %t", res.Payment.Status, deref(res.Payment.FailureCode), res.Closed)
	}
	wantCalls(t, proxy.paths(t), "POST /v1/payment_intents")
}

// TestStripeTakesNoCardData: a Stripe session's attempt with card data, or
// without a token, is refused before anything is recorded or sent.
func TestStripeTakesNoCardData(t *testing.T) {
	s, proxy := stripeService(t, &closingSessions{})
	a := stripeAttempt()
	a.Card = &provider.Card{Number: "4242424242424242", Exp: "12/34", CVC: "123"}
	if _, err := s.Pay(t.Context(), a); err == nil {
		t.Error("card data accepted")
	}
	a = stripeAttempt()
	a.Token = ""
	if _, err := s.Pay(t.Context(), a); err == nil {
		t.Error("no token accepted")
	}
	if n := len(proxy.paths(t)); n != 0 {
		t.Errorf("%d calls to Stripe", n)
	}
	if _, err := s.Store.LatestPayment(t.Context(), a.Checkout.GetCheckoutSession().GetId()); err == nil {
		t.Error("a payment was recorded")
	}
}

// TestStripeUnavailableFailsTheAttempt: Stripe answering 500 is a retryable
// error (the page says to try again) and the attempt is recorded failed with
// provider_error; nothing is completed.
func TestStripeUnavailableFailsTheAttempt(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"type":"api_error","message":"An unknown error occurred"}}`)
	}))
	t.Cleanup(down.Close)
	s, _ := stripeService(t, &closingSessions{closed: true})
	s.Providers = provider.NewDefaultRegistry().WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
		return provider.Credentials{AccountID: id, Provider: provider.NameStripe, SecretKey: testkit.StripeMockKey}, nil
	}, map[string]provider.Factory{provider.NameStripe: stripe.Factory(down.URL, nil)})
	a := stripeAttempt()
	_, err := s.Pay(t.Context(), a)
	if !stripe.Retryable(err) {
		t.Fatalf("err = %v, want stripe.ErrUnavailable", err)
	}
	p, err := s.Store.LatestPayment(t.Context(), a.Checkout.GetCheckoutSession().GetId())
	if err != nil || p.Status != StatusFailed || deref(p.FailureCode) != "provider_error" {
		t.Fatalf("payment %s (%s), %v", p.Status, deref(p.FailureCode), err)
	}
}
