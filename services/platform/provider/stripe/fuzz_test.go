package stripe

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseWebhook feeds ParseWebhook arbitrary bodies and headers. When
// sign is set the body is signed correctly first, so the fuzzer reaches the
// event parsing behind the signature check too. ParseWebhook must never
// panic, never accept an unsigned body, never quote the secret, and what it
// accepts must be a well-formed Event.
func FuzzParseWebhook(f *testing.F) {
	now := time.Unix(1764480100, 0)
	for _, typ := range []string{EventPaymentSucceeded, EventPaymentFailed, EventPaymentCanceled, EventPaymentAuthorized} {
		f.Add(event(f, "evt_f1", typ, fixture(f, "payment_intent", nil)), "", true)
	}
	f.Add(event(f, "evt_f2", EventChargeRefunded, fixture(f, "charge", map[string]any{"payment_intent": "pi_1"})), "", true)
	f.Add(event(f, "evt_f3", EventDisputeCreated, fixture(f, "dispute", nil)), "", true)
	f.Add([]byte(`{"id":"evt_1","type":"x"}`), "t=1764480100,v1=00", false)
	f.Add([]byte(`{}`), "t=,v1=,v0=zz", false)
	f.Add([]byte(`{"id":"evt_1","type":"charge.refunded","data":{"object":{"object":"charge","currency":"usd"}}}`), "", true)
	f.Fuzz(func(t *testing.T, payload []byte, header string, signIt bool) {
		if signIt {
			header = sign(payload, testWebhookSecret, now)
		}
		ev, err := ParseWebhook(payload, header, testWebhookSecret, now)
		if err != nil {
			if strings.Contains(err.Error(), testWebhookSecret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		if !signIt && header != sign(payload, testWebhookSecret, now) && !strings.Contains(header, "v1=") {
			t.Fatalf("accepted a body without a v1 signature: %q", header)
		}
		if ev.ID == "" || ev.Type == "" || !printable(ev.ID) || !printable(ev.Type) {
			t.Fatalf("accepted an event without a proper id or type: %+v", ev)
		}
		if !ev.Ignorable && (ev.PaymentIntentID == "" && ev.Dispute == nil && ev.ChargeID == "") {
			t.Fatalf("a read event that points at nothing: %+v", ev)
		}
		if ev.Amount < 0 || ev.AmountRefunded < 0 || ev.AmountReceived < 0 {
			t.Fatalf("negative amount: %+v", ev)
		}
		if !ev.Ignorable && ev.Currency == "" {
			t.Fatalf("no currency: %+v", ev)
		}
	})
}
