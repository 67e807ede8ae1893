package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// Stripe's webhooks through the stack: hooks verifies them with the
// account's secret (fetched from admin-api over internal gRPC), refuses bad
// signatures, deduplicates replays, and checkout-runtime refuses an event
// about a PaymentIntent that no payment of that account has.
func TestStripeWebhookThroughTheStack(t *testing.T) {
	const whsec = "whsec_E2eStripeWebhookSecret77"
	status, acct := api(t, "POST", "/v1/provider_accounts", map[string]any{"provider": "stripe", "name": "Webhook shop",
		"credentials": map[string]any{"secret_key": testkit.StripeMockKey + "E2eWebhookKey77", "publishable_key": "pk_test_E2eWebhook77",
			"webhook_secret": whsec}})
	if status != http.StatusCreated {
		t.Fatalf("connect: %d %v", status, acct)
	}
	url := acct["webhook_url"].(string)

	evtID := ids.New("evt")
	body, _ := json.Marshal(map[string]any{"id": evtID, "object": "event", "type": "payment_intent.succeeded", "livemode": false,
		"created": time.Now().Unix(), "api_version": "2025-03-31.basil", "data": map[string]any{"object": map[string]any{
			"id": "pi_E2eUnknownIntent77", "object": "payment_intent", "amount": 1000, "amount_received": 1000, "currency": "eur",
			"status": "succeeded", "metadata": map[string]string{}}}})
	post := func(body []byte, sig string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, strings.NewReader(string(body)))
		req.Header.Set("Stripe-Signature", sig)
		resp, err := merchant.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	sign := func(secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
	}

	if code, out := post(body, sign(whsec, time.Now())); code != http.StatusOK || out["duplicate"] != false {
		t.Fatalf("signed event: %d %v", code, out)
	}
	if code, out := post(body, sign(whsec, time.Now())); code != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("replay: %d %v", code, out)
	}
	for name, sig := range map[string]string{
		"wrong secret": sign("whsec_SomeoneElsesSecret", time.Now()),
		"stale":        sign(whsec, time.Now().Add(-10*time.Minute)),
		"missing":      "",
	} {
		code, out := post(body, sig)
		if errObj, _ := out["error"].(map[string]any); code != http.StatusBadRequest || errObj["code"] != "signature_invalid" {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	tampered := []byte(strings.Replace(string(body), `"amount":1000`, `"amount":1`, 1))
	if code, _ := post(tampered, sign(whsec, time.Now())); code != http.StatusBadRequest {
		t.Errorf("tampered: %d", code)
	}
	if code, _ := post(body, sign(whsec, time.Now())); code != http.StatusOK {
		t.Errorf("after refusals: %d", code)
	}
	req, _ := http.NewRequest("POST", sys.HooksURL+"/hooks/stripe/pa_NoSuchAccount0123456789", strings.NewReader(string(body)))
	req.Header.Set("Stripe-Signature", sign(whsec, time.Now()))
	if resp, err := merchant.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	for _, odd := range []string{"%00", "%ff", "pa_%00", "pa_" + strings.Repeat("a", 300)} {
		code, _, body := rawRequest(t, merchant, "POST", sys.HooksURL+"/hooks/stripe/"+odd, nil, nil)
		if code != http.StatusNotFound {
			t.Errorf("POST /hooks/stripe/%.20s: %d %s", odd, code, body)
		}
	}

	// The runtime got it once, found no payment of this account with that
	// intent, and refused it (Term: never redelivered).
	logPath := filepath.Join(binDir, "stack.log")
	testkit.Eventually(t, "the runtime refuses the event", func() bool {
		logs, err := os.ReadFile(logPath)
		return err == nil && strings.Contains(string(logs), "stripe event refused") && strings.Contains(string(logs), evtID)
	})
	logs, _ := os.ReadFile(logPath)
	if n := strings.Count(string(logs), "provider callback does not apply"); n == 0 {
		t.Errorf("the refusal was not logged")
	}
	for _, secret := range []string{whsec, "E2eStripeWebhookSecret77", "E2eWebhookKey77"} {
		if strings.Contains(string(logs), secret) {
			t.Fatalf("the stack's logs hold the secret %q", secret)
		}
	}
}
