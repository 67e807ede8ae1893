package paystack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// specPath is Paystack's OpenAPI specification, verbatim (see testdata/README.md).
const specPath = "testdata/paystack.yaml"

// testKey is a test-mode key: Prism checks a bearer token is present, and
// the upstream checks it is this one.
const testKey = "sk_test_tillpoint0000"

// upstream is the scripted Paystack behind the package's Prism proxy: Prism
// validates each request against Paystack's specification (422 otherwise,
// and the request never arrives here), then forwards it to the test's
// script, which answers with Paystack's documented shapes for the state
// the test needs (the specification has no examples of mobile-money states).
var upstream struct {
	mu       sync.Mutex
	script   http.HandlerFunc
	requests []recorded
	proxy    string // Prism's base URL
}

// recorded is one request that passed Prism's validation.
type recorded struct {
	Method, Path, Query, Auth string
	Body                      map[string]any
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	srv := httptest.NewServer(http.HandlerFunc(serveUpstream))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base, stop, err := testkit.StartPrism(ctx, specPath, srv.URL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prism:", err)
		return 1
	}
	defer stop()
	upstream.proxy = base
	return m.Run()
}

func serveUpstream(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &rec.Body)
	}
	upstream.mu.Lock()
	upstream.requests = append(upstream.requests, rec)
	script := upstream.script
	upstream.mu.Unlock()
	if script == nil {
		http.Error(w, "no script", http.StatusTeapot)
		return
	}
	script(w, r)
}

// scripted points a client at the Prism proxy with script behind it, and
// returns a function listing the requests that passed validation.
func scripted(t *testing.T, script http.HandlerFunc) (*Client, func() []recorded) {
	t.Helper()
	upstream.mu.Lock()
	upstream.script, upstream.requests = script, nil
	upstream.mu.Unlock()
	t.Cleanup(func() {
		upstream.mu.Lock()
		upstream.script = nil
		upstream.mu.Unlock()
	})
	c, err := New(Config{BaseURL: upstream.proxy, SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []recorded {
		upstream.mu.Lock()
		defer upstream.mu.Unlock()
		return append([]recorded(nil), upstream.requests...)
	}
}

// answer writes Paystack's envelope with data.
func answer(w http.ResponseWriter, code int, ok bool, message string, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": ok, "message": message, "data": data})
}

// tx is a transaction in Paystack's documented shape (ChargeCreateResponse's
// data), with the fields our flow reads.
func tx(status, reference string, amount int64, extra map[string]any) map[string]any {
	d := map[string]any{"id": 4099260516, "domain": "test", "status": status, "reference": reference, "amount": amount,
		"currency": "GHS", "channel": "mobile_money", "gateway_response": "Approved", "message": nil}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// otpAnswer is POST /charge/submit_otp's data, with every field Paystack's
// ChargeSubmitOtpResponse requires (Prism checks answers too).
func otpAnswer(status, reference string, amount int64) map[string]any {
	return map[string]any{"status": status, "amount": amount, "currency": "GHS", "transaction_date": "2026-11-30T10:00:00.000Z",
		"reference": reference, "domain": "test", "redirect_url": nil, "metadata": map[string]any{}, "gateway_response": "Approved",
		"message": nil, "channel": "mobile_money", "fees": 38,
		"authorization": map[string]any{"authorization_code": "AUTH_8dfhjjdt", "bin": "055XXX", "last4": "X987", "exp_month": "12",
			"exp_year": "9999", "channel": "mobile_money", "card_type": "", "bank": "MTN", "country_code": "GH", "brand": "Mtn",
			"reusable": false, "signature": ""},
		"customer": map[string]any{"first_name": nil, "last_name": nil, "email": "ama@example.com", "customer_code": "CUS_1rkzaqsv4rrhqo6",
			"phone": nil, "risk_action": "default"},
	}
}

// TestPrismRejectsWhatViolatesTheSpec proves the proxy validates: a charge
// without the required email is answered 422 by Prism and never reaches
// Paystack (the upstream), so the other tests' passing requests passed
// Paystack's contract.
func TestPrismRejectsWhatViolatesTheSpec(t *testing.T) {
	_, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) { answer(w, 200, true, "ok", nil) })
	req, _ := http.NewRequest("POST", upstream.proxy+"/charge", strings.NewReader(`{"amount":"2500","mobile_money":{"phone":5}}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "email") {
		t.Fatalf("Prism answered %d %s, want 422 naming email", resp.StatusCode, body)
	}
	if n := len(requests()); n != 0 {
		t.Errorf("%d invalid requests reached the upstream", n)
	}
}

// TestPrismMockAnswersEveryCall sends each of our calls to Prism mocking
// Paystack from the specification alone: each must pass validation (a 422
// would be ErrInvalidRequest) and decode.
func TestPrismMockAnswersEveryCall(t *testing.T) {
	c, err := New(Config{BaseURL: testkit.Prism(t, specPath, ""), SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Charge(ctx, Charge{Reference: "pay_mock1", Email: "ama@example.com", Amount: 2500, Currency: "GHS",
		Phone: "+233551234987", Network: "mtn"}); err != nil {
		t.Errorf("charge: %v", err)
	}
	if _, err := c.Charge(ctx, Charge{Reference: "pay_mock2", Email: "wanjiru@example.com", Amount: 10000, Currency: "KES",
		Phone: "+254710000000", Network: "mpesa"}); err != nil {
		t.Errorf("charge KES: %v", err)
	}
	if _, err := c.SubmitOTP(ctx, "pay_mock1", "123456"); err != nil {
		t.Errorf("submit otp: %v", err)
	}
	if _, err := c.Verify(ctx, "pay_mock1"); err != nil {
		t.Errorf("verify: %v", err)
	}
	if _, err := c.Refund(ctx, "pay_mock1", 1000, "GHS", "re_1"); err != nil {
		t.Errorf("refund: %v", err)
	}
	if _, err := c.FetchRefund(ctx, "3018284"); err != nil {
		t.Errorf("fetch refund: %v", err)
	}
	if _, _, err := c.FindRefund(ctx, "pay_mock1", 1000, "re_1", time.Now()); err != nil {
		t.Errorf("list refunds: %v", err)
	}
}

// TestPrismRejectsAnswersThatViolateTheSpec: Prism checks the scripted
// answers too (500 from Prism, which the client counts as unavailable), so
// the shapes the other tests answer with are Paystack's documented ones.
func TestPrismRejectsAnswersThatViolateTheSpec(t *testing.T) {
	c, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, true, "Charge attempted", map[string]any{"status": "success", "reference": "pay_v1"}) // not a ChargeSubmitOtpResponse
	})
	if _, err := c.SubmitOTP(context.Background(), "pay_v1", "123456"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("submit otp with an answer outside the spec: %v, want Prism's 500", err)
	}
}
