package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// A provider's result applies only to a payment that this provider made, in
// the mode it was made in (issue 10, item 1). Each forged or misdirected
// callback below is signed with a real secret, so hooks accepts it; the
// runtime must refuse it. A genuine partial credit sent after it is the sign
// that the runtime has handled the callbacks before it (one consumer, in
// stream order).

func TestTestProviderCallbackCannotSettleABankTransfer(t *testing.T) {
	s := newSession(t, nil)
	payID := payByBankTransfer(t, sys.SecretKey, s)

	// The test provider's secret, naming the bank-transfer payment.
	forgeTestProviderSuccess(t, payID)
	// The live bank feed's secret, quoting this test-mode session's reference.
	body := provider.NewFundsReceived(s["reference"].(string), 2649, "EUR").Encode()
	if code := postCallback(t, "bank_transfer", body, provider.Sign([]byte(sys.BankFeedSecret), body, time.Now())); code != http.StatusOK {
		t.Fatalf("live feed callback: %d", code)
	}
	// The test feed: a genuine partial credit.
	sendBankFeed(t, s["reference"].(string), 1000, http.StatusOK)
	waitReceived(t, payID, 1000, true)

	assertUnpaid(t, sys.SecretKey, s["id"].(string), payID)
}

func TestLiveBankTransferIsSettledOnlyByTheLiveFeed(t *testing.T) {
	key := liveKey(t)
	site := createSite(t, key)
	s := newSessionWithKey(t, key, site)
	if s["livemode"] != true {
		t.Fatalf("not a live session: %v", s)
	}
	payID := payByBankTransfer(t, key, s)
	ref := s["reference"].(string)

	forgeTestProviderSuccess(t, payID)
	// The test feed's secret, quoting the live session's reference.
	sendBankFeed(t, ref, 2649, http.StatusOK)
	// The test key confirming the live payment: not found.
	if status, out := apiAs(t, sys.SecretKey, "POST", "/v1/payments/"+payID+"/confirm", map[string]any{}); status != http.StatusNotFound {
		t.Fatalf("test key confirming a live payment: %d %v", status, out)
	}
	// The live feed: a genuine partial credit.
	body := provider.NewFundsReceived(ref, 1000, "EUR").Encode()
	if code := postCallback(t, "bank_transfer", body, provider.Sign([]byte(sys.BankFeedSecret), body, time.Now())); code != http.StatusOK {
		t.Fatalf("live feed callback: %d", code)
	}
	waitReceived(t, payID, 1000, true)
	assertUnpaid(t, key, s["id"].(string), payID)

	// Idempotency keys are per mode: a test-mode confirmation does not make
	// a live one with the same key a repeat.
	testPayID := payByBankTransfer(t, sys.SecretKey, newSession(t, nil))
	idem := "confirm-" + payID
	if status, p := apiIdem(t, sys.SecretKey, "/v1/payments/"+testPayID+"/confirm", `{"amount":100}`, idem); status != http.StatusOK || p["amount_received"] != 100.0 {
		t.Fatalf("test confirm: %d %v", status, p)
	}
	if status, p := apiIdem(t, key, "/v1/payments/"+payID+"/confirm", `{"amount":100}`, idem); status != http.StatusOK || p["amount_received"] != 1100.0 {
		t.Fatalf("live confirm with the test confirm's idempotency key: %d %v", status, p)
	}

	// The live feed pays the rest, and one cent more: the payment succeeds
	// and the extra is recorded as over-payment.
	body = provider.NewFundsReceived(ref, 1550, "EUR").Encode()
	if code := postCallback(t, "bank_transfer", body, provider.Sign([]byte(sys.BankFeedSecret), body, time.Now())); code != http.StatusOK {
		t.Fatalf("live feed callback: %d", code)
	}
	eventually(t, "the live session to be paid", 20*time.Second, func() bool {
		_, got := apiAs(t, key, "GET", "/v1/checkout/sessions/"+s["id"].(string), nil)
		return got["payment_status"] == "paid"
	})
	var received, overpaid int64
	if err := queryRow(t, "SELECT amount_received, amount_overpaid FROM runtime.payments WHERE id = $1", payID).Scan(&received, &overpaid); err != nil {
		t.Fatal(err)
	}
	if received != 2650 || overpaid != 1 {
		t.Fatalf("received %d, overpaid %d; want 2650 and 1", received, overpaid)
	}
}

func TestConfirmAmountsAreBounded(t *testing.T) {
	s := newSession(t, nil)
	payID := payByBankTransfer(t, sys.SecretKey, s)
	for _, amount := range []any{99_999_999_999_999, int64(100_000_000_000), 0, -5} {
		status, out := api(t, "POST", "/v1/payments/"+payID+"/confirm", map[string]any{"amount": amount})
		if e, _ := out["error"].(map[string]any); status != http.StatusBadRequest || e["param"] != "amount" {
			t.Fatalf("confirm %v: %d %v", amount, status, out)
		}
	}
	if status, p := api(t, "POST", "/v1/payments/"+payID+"/confirm", map[string]any{"amount": 1000}); status != http.StatusOK || p["amount_received"] != 1000.0 {
		t.Fatalf("partial confirm: %d %v", status, p)
	}
	// After a partial: the largest int64 is refused, not a 500.
	status, out := apiAs(t, sys.SecretKey, "POST", "/v1/payments/"+payID+"/confirm", `{"amount":9223372036854775807}`)
	if e, _ := out["error"].(map[string]any); status != http.StatusBadRequest || e["param"] != "amount" {
		t.Fatalf("confirm max int64: %d %v", status, out)
	}
	// Paying more than is due settles and records the difference.
	status, p := api(t, "POST", "/v1/payments/"+payID+"/confirm", map[string]any{"amount": 5000})
	if status != http.StatusOK || p["status"] != "succeeded" || p["amount_received"] != 6000.0 || p["amount_overpaid"] != 3351.0 {
		t.Fatalf("over-paying confirm: %d %v", status, p)
	}
	// Funds after settlement are recorded, as over-payment, not dropped.
	sendBankFeed(t, s["reference"].(string), 700, http.StatusOK)
	waitReceived(t, payID, 6700, false)
	var overpaid int64
	_ = queryRow(t, "SELECT amount_overpaid FROM runtime.payments WHERE id = $1", payID).Scan(&overpaid)
	if overpaid != 4051 {
		t.Fatalf("overpaid %d after a late credit; want 4051", overpaid)
	}
	// The bank feed's amount is bounded too: refused at the door.
	body := provider.NewFundsReceived(s["reference"].(string), 99_999_999_999_999, "EUR").Encode()
	if code := postCallback(t, "bank_transfer", body, provider.Sign([]byte(sys.BankFeedTestSecret), body, time.Now())); code != http.StatusBadRequest {
		t.Fatalf("huge bank feed amount: %d", code)
	}
}

// payByBankTransfer chooses bank transfer on s's page and returns the payment id.
func payByBankTransfer(t *testing.T, key string, s map[string]any) string {
	t.Helper()
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	form := billingForm(csrf, "bank_transfer")
	if _, out, _ := post(t, c, s["url"].(string)+"/pay", form, true); out["status"] != "processing" {
		t.Fatalf("bank transfer: %v", out)
	}
	_, got := apiAs(t, key, "GET", "/v1/checkout/sessions/"+s["id"].(string), nil)
	payID, _ := got["payment"].(string)
	if payID == "" {
		t.Fatalf("no payment on the session: %v", got)
	}
	return payID
}

// forgeTestProviderSuccess posts the test provider's payment.succeeded for
// payID, correctly signed: hooks accepts it (it cannot know the payment).
func forgeTestProviderSuccess(t *testing.T, payID string) {
	t.Helper()
	body := provider.NewPaymentSucceeded(payID, payID, 2649, "EUR").Encode()
	if code := postCallback(t, "test", body, provider.Sign([]byte(sys.TestProviderSecret), body, time.Now())); code != http.StatusOK {
		t.Fatalf("test provider callback: %d", code)
	}
}

// waitReceived waits until payID has received want or, when unpaid is set,
// has left processing (which the caller's next assertion reports).
func waitReceived(t *testing.T, payID string, want int64, unpaid bool) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), sys.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	eventually(t, "the credit to be recorded", 20*time.Second, func() bool {
		var received int64
		var status string
		_ = conn.QueryRow(context.Background(), "SELECT amount_received, status FROM runtime.payments WHERE id = $1", payID).Scan(&received, &status)
		return received == want || (unpaid && status != "processing")
	})
}

func assertUnpaid(t *testing.T, key, sessionID, payID string) {
	t.Helper()
	var status string
	if err := queryRow(t, "SELECT status FROM runtime.payments WHERE id = $1", payID).Scan(&status); err != nil || status != "processing" {
		t.Fatalf("bank-transfer payment is %q (%v), want processing", status, err)
	}
	if _, got := apiAs(t, key, "GET", "/v1/checkout/sessions/"+sessionID, nil); got["payment_status"] != "unpaid" {
		t.Fatalf("session paid without its funds: %v", got)
	}
}

func createSite(t *testing.T, key string) string {
	t.Helper()
	status, site := apiAs(t, key, "POST", "/v1/sites", map[string]any{"name": "Live shop", "default_currency": "EUR",
		"payment_method_types": []string{"card", "bank_transfer"}, "bank_transfer_instructions": "IBAN FR76 3000 6000 0112 3456 7890 189"})
	if status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("create site: %d %v", status, site)
	}
	return site["id"].(string)
}

// newSessionWithKey is newSession for another key and site (https URLs, as
// live mode requires).
func newSessionWithKey(t *testing.T, key, site string) map[string]any {
	t.Helper()
	status, s := apiAs(t, key, "POST", "/v1/checkouts/"+site+"/create", map[string]any{
		"line_items":  []map[string]any{{"name": "Tea", "unit_amount": 450, "quantity": 3}, {"name": "Cup", "unit_amount": 1299, "quantity": 1}},
		"currency":    "EUR",
		"success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":  "https://shop.example/cart",
	})
	if status != http.StatusCreated {
		t.Fatalf("create session: %d %v", status, s)
	}
	return s
}
