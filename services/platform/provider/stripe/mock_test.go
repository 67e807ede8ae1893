package stripe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/freeport"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// sent is one request the client made, as it went on the wire, and the
// status it got.
type sent struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Form         url.Values
	Status       int
}

// recorder is an http.RoundTripper that records each request and forwards it
// to the real server (stripe-mock).
type recorder struct {
	mu   sync.Mutex
	reqs []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	s := sent{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), Header: req.Header.Clone(), Form: form}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		s.Status = resp.StatusCode
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, s)
	r.mu.Unlock()
	return resp, err
}

// last returns the last request sent.
func (r *recorder) last(t *testing.T) sent {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request was sent")
	}
	return r.reqs[len(r.reqs)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// mockClient is a client for stripe-mock whose requests are recorded.
func mockClient(t *testing.T) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	c, err := New(Config{BaseURL: testkit.StripeMock(t), SecretKey: testkit.StripeMockKey,
		HTTPClient: &http.Client{Transport: rec, Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// wantForm checks form fields of a request.
func wantForm(t *testing.T, s sent, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := s.Form.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", s.Method, s.Path, k, got, v)
		}
	}
}

// wantCommon checks what every request carries: our key (as a bearer
// token, never in the URL) and a pinned Stripe-Version.
func wantCommon(t *testing.T, s sent) {
	t.Helper()
	if s.Status != http.StatusOK {
		t.Errorf("%s %s: stripe-mock answered %d, want 200", s.Method, s.Path, s.Status)
	}
	if got := s.Header.Get("Authorization"); got != "Bearer "+testkit.StripeMockKey {
		t.Errorf("%s %s: Authorization = %q", s.Method, s.Path, got)
	}
	if s.Header.Get("Stripe-Version") != stripeapi.APIVersion {
		t.Errorf("%s %s: Stripe-Version = %q, want %q", s.Method, s.Path, s.Header.Get("Stripe-Version"), stripeapi.APIVersion)
	}
}

func testIntent() Intent {
	return Intent{PaymentID: "pay_contract1", Amount: 1099, Currency: "EUR", ConfirmationToken: "ctoken_1Abc",
		ReturnURL: "https://secure.example.com/checkout/cs_1/stripe/return", Metadata: map[string]string{"order_id": "A-17"}}
}

// TestStripeMockAcceptsEveryCall makes each call the package makes against
// stripe-mock, which validates it against Stripe's OpenAPI specification,
// and checks what was sent.
func TestStripeMockAcceptsEveryCall(t *testing.T) {
	c, rec := mockClient(t)
	ctx := context.Background()

	res, err := c.Authorize(ctx, testIntent())
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	s := rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodPost || s.Path != "/v1/payment_intents" {
		t.Errorf("Authorize sent %s %s", s.Method, s.Path)
	}
	if got := s.Header.Get("Idempotency-Key"); got != "tillpoint-authorize-pay_contract1" {
		t.Errorf("Authorize Idempotency-Key = %q", got)
	}
	wantForm(t, s, map[string]string{
		"amount": "1099", "currency": "eur", "capture_method": "manual", "confirm": "true",
		"confirmation_token": "ctoken_1Abc", "return_url": "https://secure.example.com/checkout/cs_1/stripe/return",
		"automatic_payment_methods[enabled]": "true", "metadata[tillpoint_payment_id]": "pay_contract1",
		"metadata[order_id]": "A-17", "expand[0]": "payment_method",
	})
	// stripe-mock answers its fixture, whatever was asked: an intent in
	// requires_payment_method, which is a decline.
	if res.IntentID == "" || res.Outcome != provider.Declined || res.DeclineCode != provider.DeclineCardDeclined {
		t.Errorf("Authorize = %+v, want the fixture's intent, declined", res)
	}

	// A retry sends the same key: Stripe answers it with the first intent.
	if _, err := c.Authorize(ctx, testIntent()); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t).Header.Get("Idempotency-Key"); got != "tillpoint-authorize-pay_contract1" {
		t.Errorf("retried Authorize Idempotency-Key = %q", got)
	}

	if _, err := c.Resume(ctx, "pi_contract1"); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	s = rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodGet || s.Path != "/v1/payment_intents/pi_contract1" || s.Query.Get("expand[0]") != "payment_method" {
		t.Errorf("Resume sent %s %s?%s", s.Method, s.Path, s.Query.Encode())
	}

	// stripe-mock's fixture charge has a balance transaction with fee 0 in USD.
	fee, err := c.CaptureWithFee(ctx, "pi_contract1", 1099, "EUR")
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if fee != (provider.Fee{Amount: 0, Currency: "USD"}) {
		t.Errorf("Capture fee = %+v, want the fixture's 0 USD", fee)
	}
	s = rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodPost || s.Path != "/v1/payment_intents/pi_contract1/capture" {
		t.Errorf("Capture sent %s %s", s.Method, s.Path)
	}
	wantForm(t, s, map[string]string{"amount_to_capture": "1099", "expand[0]": feeExpansion})
	if got := s.Header.Get("Idempotency-Key"); got != "tillpoint-capture-pi_contract1-1099" {
		t.Errorf("Capture Idempotency-Key = %q", got)
	}

	if err := c.Cancel(ctx, "pi_contract1"); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	s = rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodPost || s.Path != "/v1/payment_intents/pi_contract1/cancel" || s.Header.Get("Idempotency-Key") != "tillpoint-cancel-pi_contract1" {
		t.Errorf("Cancel sent %s %s key %q", s.Method, s.Path, s.Header.Get("Idempotency-Key"))
	}

	re, err := c.Refund(ctx, "pi_contract1", 500, "EUR", "re_contract1")
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	s = rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodPost || s.Path != "/v1/refunds" || s.Header.Get("Idempotency-Key") != "tillpoint-refund-re_contract1" {
		t.Errorf("Refund sent %s %s key %q", s.Method, s.Path, s.Header.Get("Idempotency-Key"))
	}
	wantForm(t, s, map[string]string{"payment_intent": "pi_contract1", "amount": "500", "metadata[tillpoint_refund_id]": "re_contract1"})
	if re.ID == "" || re.Status != RefundSucceeded {
		t.Errorf("Refund = %+v, want the fixture's refund, succeeded", re)
	}
}

// TestStripeMockAmounts sends amounts in currencies Stripe counts
// differently, and checks the units that went to Stripe (and that
// stripe-mock took them).
func TestStripeMockAmounts(t *testing.T) {
	c, rec := mockClient(t)
	for _, tc := range []struct {
		currency   string
		amount     int64
		wantAmount string
	}{
		{"EUR", 1099, "1099"},
		{"jpy", 500, "500"},   // zero-decimal on both sides
		{"ISK", 5, "500"},     // 5 krónur: Stripe keeps ISK two-decimal
		{"MGA", 50000, "500"}, // 500 ariary: ISO two-decimal, Stripe zero-decimal
		{"KWD", 5120, "5120"}, // three-decimal, last digit 0
	} {
		in := testIntent()
		in.PaymentID, in.Amount, in.Currency = "pay_amount_"+tc.currency, tc.amount, tc.currency
		if _, err := c.Authorize(context.Background(), in); err != nil {
			t.Errorf("%s: %v", tc.currency, err)
			continue
		}
		s := rec.last(t)
		wantCommon(t, s)
		wantForm(t, s, map[string]string{"amount": tc.wantAmount})
		if err := c.Capture(context.Background(), "pi_amounts", tc.amount, tc.currency); err != nil {
			t.Errorf("%s capture: %v", tc.currency, err)
		}
		wantForm(t, rec.last(t), map[string]string{"amount_to_capture": tc.wantAmount})
	}
}

// TestStripeMockRejectionIsOurError sends, through the test hook, a
// parameter Stripe's API does not have: stripe-mock answers 400 as Stripe
// would, and that surfaces as ErrInvalidRequest, not retryable.
func TestStripeMockRejectionIsOurError(t *testing.T) {
	c, rec := mockClient(t)
	c.params = func(p *stripeapi.Params) { p.AddExtra("not_a_stripe_parameter", "1") }
	calls := map[string]func() error{
		"authorize": func() error { _, err := c.Authorize(context.Background(), testIntent()); return err },
		"resume":    func() error { _, err := c.Resume(context.Background(), "pi_1"); return err },
		"capture":   func() error { return c.Capture(context.Background(), "pi_1", 100, "USD") },
		"cancel":    func() error { return c.Cancel(context.Background(), "pi_1") },
		"refund": func() error {
			_, err := c.Refund(context.Background(), "pi_1", 100, "USD", "re_1")
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, provider.ErrInvalidRequest) || Retryable(err) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest, not retryable", name, err)
		}
		if s := rec.last(t); s.Status != http.StatusBadRequest {
			t.Errorf("%s: stripe-mock answered %d, want 400", name, s.Status)
		}
	}
}

// TestUnreachableIsRetryable: no Stripe listening is ErrUnavailable.
func TestUnreachableIsRetryable(t *testing.T) {
	port, err := freeport.Block(1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{BaseURL: "http://127.0.0.1:" + strconv.Itoa(port), SecretKey: testkit.StripeMockKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Authorize(ctx, testIntent()); !Retryable(err) {
		t.Errorf("Authorize err = %v, want ErrUnavailable", err)
	}
	if err := c.Capture(ctx, "pi_1", 100, "USD"); !Retryable(err) {
		t.Errorf("Capture err = %v, want ErrUnavailable", err)
	}
}

// TestRefusedBeforeSending: requests no Stripe account could take are
// refused before anything is sent.
func TestRefusedBeforeSending(t *testing.T) {
	c, rec := mockClient(t)
	cases := map[string]func(*Intent){
		"no payment id":     func(in *Intent) { in.PaymentID = "" },
		"space in id":       func(in *Intent) { in.PaymentID = "pay 1" },
		"zero amount":       func(in *Intent) { in.Amount = 0 },
		"negative amount":   func(in *Intent) { in.Amount = -5 },
		"test currency":     func(in *Intent) { in.Currency = "XTS" },
		"not a currency":    func(in *Intent) { in.Currency = "EURO" },
		"KWD fils":          func(in *Intent) { in.Currency, in.Amount = "KWD", 5125 },
		"MGA fraction":      func(in *Intent) { in.Currency, in.Amount = "MGA", 50050 },
		"payment method id": func(in *Intent) { in.ConfirmationToken = "pm_card_visa" },
		"no token":          func(in *Intent) { in.ConfirmationToken = "" },
		"live payment":      func(in *Intent) { in.Livemode = true },
		"relative return":   func(in *Intent) { in.ReturnURL = "/checkout/cs_1" },
		"no return URL":     func(in *Intent) { in.ReturnURL = "" },
		"our metadata key":  func(in *Intent) { in.Metadata = map[string]string{MetadataPaymentID: "pay_other"} },
	}
	for name, edit := range cases {
		in := testIntent()
		edit(&in)
		if _, err := c.Authorize(context.Background(), in); !errors.Is(err, provider.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	if err := c.Capture(context.Background(), "ch_1", 100, "USD"); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("capture of a charge id: %v", err)
	}
	if _, err := c.Refund(context.Background(), "pi_1", 100, "USD", ""); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("refund without refund id: %v", err)
	}
	if n := rec.count(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []Config{
		{SecretKey: ""},
		{SecretKey: "pk_test_abc"},
		{SecretKey: "sk_test_a b"},
		{SecretKey: "sk_test_abc", BaseURL: "api.stripe.com"},
		{SecretKey: "sk_test_abc", BaseURL: "ftp://api.stripe.com"},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("New(%q, %q) succeeded", cfg.SecretKey, cfg.BaseURL)
		} else if cfg.SecretKey != "" && bytes.Contains([]byte(err.Error()), []byte(cfg.SecretKey)) {
			t.Errorf("error %q contains the key", err)
		}
	}
	live, err := New(Config{SecretKey: "sk_live_abc"})
	if err != nil || !live.Livemode() {
		t.Errorf("live key: %v, livemode %v", err, live != nil && live.Livemode())
	}
	test, err := New(Config{SecretKey: "rk_test_abc"})
	if err != nil || test.Livemode() {
		t.Errorf("restricted test key: %v", err)
	}
}
