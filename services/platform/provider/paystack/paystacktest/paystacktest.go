// Package paystacktest runs a scripted Paystack behind Stoplight Prism for
// tests of the code that uses the Paystack adapter (the runtime, the hosted
// page, the end-to-end stack). Prism validates every request against
// Paystack's OpenAPI specification (422 otherwise, and the request never
// reaches the script) and every scripted answer against its response
// schemas; the script answers in Paystack's documented shapes with the
// transaction state the test sets, which the specification has no
// examples of.
package paystacktest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// Key is a test secret key the fake accepts (Prism only checks a bearer
// token is there; the fake checks it is this one).
const Key = "sk_test_0tillpoint1paystack2key3"

// SpecPath is Paystack's specification in the paystack package's testdata.
func SpecPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "paystack.yaml")
}

// Fake is the scripted Paystack: every transaction is in Status for Amount
// (minor units of GHS) until the test changes them.
type Fake struct {
	mu      sync.Mutex
	status  string
	amount  int64
	calls   []string
	refunds []Refund
}

// Start serves a Fake behind Prism for the test's duration and returns
// Prism's base URL (give it to paystack.Factory or PAYSTACK_API_BASE).
func Start(t testing.TB, status string, amount int64) (string, *Fake) {
	t.Helper()
	f := &Fake{status: status, amount: amount}
	up := httptest.NewServer(f)
	t.Cleanup(up.Close)
	return testkit.Prism(t, SpecPath(), up.URL), f
}

// StartServer is Start outside a test (the end-to-end stack's TestMain):
// it runs until stop is called.
func StartServer(ctx context.Context, status string, amount int64) (base string, f *Fake, stop func(), err error) {
	f = &Fake{status: status, amount: amount}
	up := httptest.NewServer(f)
	base, stopPrism, err := testkit.StartPrism(ctx, SpecPath(), up.URL)
	if err != nil {
		up.Close()
		return "", nil, nil, err
	}
	return base, f, func() { stopPrism(); up.Close() }, nil
}

// Set changes what every transaction reports from now on.
func (f *Fake) Set(status string, amount int64) {
	f.mu.Lock()
	f.status, f.amount = status, amount
	f.mu.Unlock()
}

// Calls lists the requests that passed Prism's validation, as "METHOD path".
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// ServeHTTP answers /charge, /charge/submit_otp, /transaction/verify/{ref}
// and the refunds (serveRefund) in Paystack's shapes.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Key {
		answer(w, http.StatusUnauthorized, false, "Invalid key", nil)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	st, amount := f.status, f.amount
	f.mu.Unlock()
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if f.serveRefund(w, r, body) {
		return
	}
	ref, _ := body["reference"].(string)
	if rest, ok := strings.CutPrefix(r.URL.Path, "/transaction/verify/"); ok {
		ref = rest
	}
	data := map[string]any{"id": 4099260516, "domain": "test", "status": st, "reference": ref, "amount": amount,
		"currency": "GHS", "channel": "mobile_money", "gateway_response": "Approved", "message": nil}
	switch {
	case st == "failed":
		data["gateway_response"] = "Declined"
	case st == "send_otp":
		data["display_text"] = "Please enter the OTP sent to your phone"
	case st == "pay_offline":
		data["display_text"] = "Please complete authorization process on your mobile phone"
	}
	if r.URL.Path == "/charge/submit_otp" {
		if st == "failed" {
			data["gateway_response"] = "Invalid OTP"
		}
		for k, v := range map[string]any{"transaction_date": "2026-11-30T10:00:00.000Z", "redirect_url": nil, "metadata": map[string]any{}, "fees": 38,
			"authorization": map[string]any{"authorization_code": nil, "bin": "055XXX", "last4": "X987", "exp_month": "12", "exp_year": "9999",
				"channel": "mobile_money", "card_type": "", "bank": "MTN", "country_code": "GH", "brand": "Mtn", "reusable": false, "signature": ""},
			"customer": map[string]any{"first_name": nil, "last_name": nil, "email": "payer@example.com", "customer_code": "CUS_1", "phone": nil, "risk_action": "default"},
		} {
			data[k] = v
		}
	}
	answer(w, http.StatusOK, true, "ok", data)
}

func answer(w http.ResponseWriter, code int, ok bool, message string, data any) {
	writeJSON(w, code, map[string]any{"status": ok, "message": message, "data": data})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
