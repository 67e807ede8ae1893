package stripe

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

const testWebhookSecret = "whsec_test_tillpoint_0123456789"

// event wraps a Stripe object (stripe-mock's fixture) in an event envelope.
func event(t testing.TB, id, typ string, object []byte) []byte {
	t.Helper()
	out, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": "2025-03-31.basil", "created": 1764480000,
		"livemode": false, "pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": json.RawMessage(object)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sign signs payload as Stripe does, at time at.
func sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

func TestParseWebhookEvents(t *testing.T) {
	now := time.Unix(1764480100, 0)
	meta := map[string]any{MetadataPaymentID: "pay_w1"}
	for _, tc := range []struct {
		typ    string
		object []byte
		check  func(t *testing.T, ev Event)
	}{
		// Stripe counts ISK in hundredths: 1100 is 11 krónur, our 11.
		{EventPaymentSucceeded, fixture(t, "payment_intent", map[string]any{"id": "pi_w1", "status": "succeeded", "metadata": meta, "amount_received": 1100, "currency": "isk", "amount": 1100}),
			func(t *testing.T, ev Event) {
				if ev.Amount != 11 || ev.Currency != "ISK" || ev.AmountReceived != 11 {
					t.Errorf("got %+v", ev)
				}
			}},
		{EventPaymentSucceeded, fixture(t, "payment_intent", map[string]any{"id": "pi_w1", "status": "succeeded", "metadata": meta, "amount_received": 1099}),
			func(t *testing.T, ev Event) {
				if ev.PaymentIntentID != "pi_w1" || ev.PaymentID != "pay_w1" || ev.Amount != 1099 || ev.Currency != "USD" || ev.AmountReceived != 1099 || ev.Ignorable {
					t.Errorf("got %+v", ev)
				}
			}},
		{EventPaymentAuthorized, fixture(t, "payment_intent", map[string]any{"id": "pi_w1", "status": "requires_capture", "metadata": meta}),
			func(t *testing.T, ev Event) {
				if ev.PaymentIntentID != "pi_w1" || ev.PaymentID != "pay_w1" || ev.Ignorable {
					t.Errorf("got %+v", ev)
				}
			}},
		{EventPaymentFailed, fixture(t, "payment_intent", map[string]any{"id": "pi_w1", "metadata": meta, "last_payment_error": cardError("card_declined", "insufficient_funds")}),
			func(t *testing.T, ev Event) {
				if ev.FailureCode != provider.DeclineInsufficientFunds || ev.FailureMessage == "" || ev.PaymentID != "pay_w1" {
					t.Errorf("got %+v", ev)
				}
			}},
		{EventPaymentCanceled, fixture(t, "payment_intent", map[string]any{"id": "pi_w1", "status": "canceled", "cancellation_reason": "abandoned", "metadata": meta}),
			func(t *testing.T, ev Event) {
				if ev.CancellationReason != "abandoned" || ev.PaymentIntentID != "pi_w1" {
					t.Errorf("got %+v", ev)
				}
			}},
		{EventChargeRefunded, fixture(t, "charge", map[string]any{"payment_intent": "pi_w1", "amount": 1099, "amount_refunded": 500, "refunded": false}),
			func(t *testing.T, ev Event) {
				if ev.PaymentIntentID != "pi_w1" || ev.ChargeID == "" || ev.Amount != 1099 || ev.AmountRefunded != 500 || ev.PaymentID != "" {
					t.Errorf("got %+v", ev)
				}
			}},
		{EventDisputeCreated, fixture(t, "dispute", map[string]any{"payment_intent": "pi_w1", "reason": "fraudulent", "amount": 1099}),
			func(t *testing.T, ev Event) {
				if ev.Dispute == nil || ev.Dispute.Reason != "fraudulent" || ev.Dispute.Status != "warning_needs_response" || ev.PaymentIntentID != "pi_w1" || ev.Amount != 1099 || ev.ChargeID == "" {
					t.Errorf("got %+v %+v", ev, ev.Dispute)
				}
			}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			payload := event(t, "evt_w1", tc.typ, tc.object)
			ev, err := ParseWebhook(payload, sign(payload, testWebhookSecret, now.Add(-10*time.Second)), testWebhookSecret, now)
			if err != nil {
				t.Fatal(err)
			}
			if ev.ID != "evt_w1" || ev.Type != tc.typ || ev.Livemode || ev.Created.Unix() != 1764480000 {
				t.Errorf("envelope %+v", ev)
			}
			tc.check(t, ev)
		})
	}
}

func TestParseWebhookSignatures(t *testing.T) {
	now := time.Unix(1764480100, 0)
	payload := event(t, "evt_s1", EventPaymentSucceeded, fixture(t, "payment_intent", map[string]any{"status": "succeeded"}))
	good := sign(payload, testWebhookSecret, now)
	tampered := []byte(strings.Replace(string(payload), `"amount":1099`, `"amount":1`, 1))
	if string(tampered) == string(payload) {
		t.Fatal("tampering changed nothing")
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		header  string
		secret  string
		want    error
	}{
		{"valid", payload, good, testWebhookSecret, nil},
		{"valid at the tolerance", payload, sign(payload, testWebhookSecret, now.Add(-SignatureTolerance)), testWebhookSecret, nil},
		{"rotation: a second v1", payload, good + ",v1=" + strings.Repeat("ab", 32), testWebhookSecret, nil},
		{"tampered body", tampered, good, testWebhookSecret, ErrSignatureMismatched},
		{"wrong secret", payload, sign(payload, "whsec_other", now), testWebhookSecret, ErrSignatureMismatched},
		{"stale", payload, sign(payload, testWebhookSecret, now.Add(-SignatureTolerance-time.Second)), testWebhookSecret, ErrSignatureStale},
		{"future", payload, sign(payload, testWebhookSecret, now.Add(SignatureTolerance+time.Second)), testWebhookSecret, ErrSignatureStale},
		{"far future", payload, sign(payload, testWebhookSecret, time.Unix(1<<62, 0)), testWebhookSecret, ErrSignatureStale},
		{"far past", payload, sign(payload, testWebhookSecret, time.Unix(-1<<62, 0)), testWebhookSecret, ErrSignatureStale},
		{"missing header", payload, "", testWebhookSecret, ErrSignatureMissing},
		{"no v1", payload, "t=1764480100", testWebhookSecret, ErrSignatureMismatched},
		{"garbage", payload, "not a header", testWebhookSecret, ErrSignatureMalformed},
		{"bad time", payload, "t=soon,v1=00", testWebhookSecret, ErrSignatureMalformed},
		{"v0 only", payload, strings.Replace(good, "v1=", "v0=", 1), testWebhookSecret, ErrSignatureMismatched},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseWebhook(tc.payload, tc.header, tc.secret, now)
			if tc.want == nil {
				if err != nil || ev.ID != "evt_s1" {
					t.Fatalf("ParseWebhook = %+v, %v", ev, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if msg := err.Error(); strings.Contains(msg, tc.secret) || (tc.header != "" && strings.Contains(msg, tc.header)) ||
				strings.Contains(msg, "whsec_") || strings.Contains(msg, "v1=") {
				t.Errorf("error %q quotes the secret or the signature", msg)
			}
		})
	}
}

// TestParseWebhookReplay: a replayed delivery (same event, signed again, as
// Stripe's retries are) parses to the same Event: dropping the repeat by
// Event.ID is the caller's job.
func TestParseWebhookReplay(t *testing.T) {
	now := time.Unix(1764480100, 0)
	payload := event(t, "evt_r1", EventPaymentSucceeded, fixture(t, "payment_intent", map[string]any{"status": "succeeded"}))
	first, err := ParseWebhook(payload, sign(payload, testWebhookSecret, now), testWebhookSecret, now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseWebhook(payload, sign(payload, testWebhookSecret, now.Add(time.Minute)), testWebhookSecret, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != again.ID || first.PaymentIntentID != again.PaymentIntentID || first.Amount != again.Amount {
		t.Errorf("replay parsed differently: %+v vs %+v", first, again)
	}
}

// TestParseWebhookIgnorable: a type we do not read is no error.
func TestParseWebhookIgnorable(t *testing.T) {
	now := time.Unix(1764480100, 0)
	for _, typ := range []string{"customer.created", "payment_intent.created", "charge.succeeded", "v1.billing.meter.error_report_triggered"} {
		payload := event(t, "evt_i1", typ, []byte(`{"id":"x","object":"something_else"}`))
		ev, err := ParseWebhook(payload, sign(payload, testWebhookSecret, now), testWebhookSecret, now)
		if err != nil || !ev.Ignorable || ev.Type != typ || ev.ID != "evt_i1" {
			t.Errorf("%s: %+v, %v", typ, ev, err)
		}
	}
}

// TestParseWebhookMalformed: signed bodies that are not events we can read.
func TestParseWebhookMalformed(t *testing.T) {
	now := time.Unix(1764480100, 0)
	for name, payload := range map[string][]byte{
		"not json":          []byte("{"),
		"no id":             []byte(`{"type":"payment_intent.succeeded"}`),
		"wrong object kind": event(t, "evt_m1", EventPaymentSucceeded, fixture(t, "charge", nil)),
		"no data":           []byte(`{"id":"evt_m1","type":"payment_intent.succeeded"}`),
		"bad currency":      event(t, "evt_m1", EventPaymentSucceeded, fixture(t, "payment_intent", map[string]any{"currency": "xxx"})),
		"fractional ISK":    event(t, "evt_m1", EventPaymentSucceeded, fixture(t, "payment_intent", map[string]any{"currency": "isk", "amount": 1099})),
		"negative amount":   event(t, "evt_m1", EventChargeRefunded, fixture(t, "charge", map[string]any{"amount_refunded": -1})),
		"odd intent id":     event(t, "evt_m1", EventChargeRefunded, fixture(t, "charge", map[string]any{"payment_intent": "pi_1 OR 1=1"})),
	} {
		_, err := ParseWebhook(payload, sign(payload, testWebhookSecret, now), testWebhookSecret, now)
		if !errors.Is(err, ErrMalformedEvent) {
			t.Errorf("%s: err = %v, want ErrMalformedEvent", name, err)
		}
	}
	if _, err := ParseWebhook([]byte("{}"), "t=1,v1=00", "", now); err == nil {
		t.Error("an empty secret verified something")
	}
}
