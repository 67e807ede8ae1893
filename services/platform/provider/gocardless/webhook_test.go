package gocardless

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// publishedSignature is the Webhook-Signature gocardless-pro-go's
// webhooks_test.go accepts for testdata/webhook_request.json with the
// secret "testing".
const publishedSignature = "243f3efa57743c24eec7c5e10edc475b547830d256d5b583745afe319dd90936"

func TestWebhookVerifiesThePublishedVector(t *testing.T) {
	body, err := os.ReadFile("testdata/webhook_request.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := Sign("testing", body); got != publishedSignature {
		t.Fatalf("Sign = %s, want the published %s", got, publishedSignature)
	}
	events, err := ParseWebhook(body, publishedSignature, "testing")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	e := events[0]
	if e.ID != "EVTESTNE86TNZS" || e.ResourceType != "payments" || e.Action != "failed" || e.Links.Payment != "index_ID_123" ||
		e.Details.Cause != "test_failure" || e.Details.Origin != "bank" || e.Effect() != EffectFailed {
		t.Errorf("event = %+v", e)
	}

	for i := range body {
		changed := append([]byte(nil), body...)
		changed[i] ^= 0x01
		if _, err := ParseWebhook(changed, publishedSignature, "testing"); !errors.Is(err, ErrSignatureMismatched) {
			t.Fatalf("byte %d changed: err = %v, want ErrSignatureMismatched", i, err)
		}
	}
	if _, err := ParseWebhook(body, publishedSignature, "testing2"); !errors.Is(err, ErrSignatureMismatched) {
		t.Errorf("other secret: err = %v", err)
	}
	if _, err := ParseWebhook(body, "", "testing"); !errors.Is(err, ErrSignatureMissing) {
		t.Errorf("no signature: err = %v", err)
	}
	if _, err := ParseWebhook(body, "not-hex", "testing"); !errors.Is(err, ErrSignatureMissing) {
		t.Errorf("malformed signature: err = %v", err)
	}
	if _, err := ParseWebhook(body, publishedSignature, ""); err == nil {
		t.Error("an empty secret verified a webhook")
	}
}

// The published event of GET /events parses as a webhook's event does.
func TestWebhookReadsThePublishedEventShape(t *testing.T) {
	var ev json.RawMessage = fixture(t, "events", "get", nil)
	var env struct {
		Events json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(ev, &env); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"events":[` + string(env.Events) + `]}`)
	events, err := ParseWebhook(body, Sign("testing", body), "testing")
	if err != nil {
		t.Fatal(err)
	}
	e := events[0]
	if e.ID != "EV123" || e.ResourceType != "mandates" || e.Action != "cancelled" || e.Links.Mandate != "MD123" ||
		e.Links.Payment != "PM123" || e.Links.BillingRequest != "BRQ123" || e.Details.ReasonCode != "ADDACS-B" || e.Effect() != EffectMandateEnded {
		t.Errorf("event = %+v", e)
	}
}

func TestWebhookRefusesMalformedBatches(t *testing.T) {
	for _, body := range []string{
		`[]`,
		`{"events":[{"resource_type":"payments","action":"confirmed"}]}`,
		`{"events":[{"id":"EV1","action":"confirmed"}]}`,
		`{"events":[]} {"events":[]}`,
	} {
		if _, err := ParseWebhook([]byte(body), Sign("s", []byte(body)), "s"); !errors.Is(err, ErrMalformedEvent) {
			t.Errorf("%s: err = %v, want ErrMalformedEvent", body, err)
		}
	}
}

func TestEventEffects(t *testing.T) {
	for in, want := range map[string]string{
		"payments.confirmed": EffectSucceeded, "payments.paid_out": EffectSucceeded,
		"payments.failed": EffectFailed, "payments.cancelled": EffectFailed, "payments.customer_approval_denied": EffectFailed,
		"payments.charged_back": EffectChargedBack, "billing_requests.fulfilled": EffectFulfilled,
		"billing_requests.cancelled": EffectRequestCanceled, "mandates.failed": EffectMandateEnded,
		"refunds.paid": EffectRefundPaid, "refunds.failed": EffectRefundFailed, "refunds.bounced": EffectRefundFailed,
		"refunds.created": EffectNone, "payments.created": EffectNone, "payments.submitted": EffectNone, "payouts.paid": EffectNone,
	} {
		var e Event
		var ok bool
		e.ResourceType, e.Action, ok = strings.Cut(in, ".")
		if !ok {
			t.Fatal(in)
		}
		if got := e.Effect(); got != want {
			t.Errorf("%s: Effect = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	body, _ := os.ReadFile("testdata/webhook_request.json")
	f.Add(body)
	f.Add([]byte(`{"events":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ParseWebhook(body, Sign("k", body), "k")
		if err != nil {
			return
		}
		for _, e := range events {
			if e.ID == "" || e.ResourceType == "" || e.Action == "" {
				t.Fatalf("accepted an incomplete event %+v", e)
			}
		}
	})
}
