package stripecompat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Event is a webhook event in Stripe's shape.
type Event struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"`
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            EventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int          `json:"pending_webhooks"`
	Request         EventRequest `json:"request"`
	Type            string       `json:"type"`
}

// EventData holds the object the event is about, whole.
type EventData struct {
	Object any `json:"object"`
}

// EventRequest is the API request that caused the event; Tillpoint does not
// record it, so both fields are null.
type EventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// NewEvent wraps obj in Stripe's event envelope; apiVersion is the version
// the receiving endpoint chose ([APIVersion] when it chose none).
func NewEvent(id, typ string, created time.Time, livemode bool, apiVersion string, obj any) *Event {
	if apiVersion == "" {
		apiVersion = APIVersion
	}
	return &Event{ID: id, Object: "event", APIVersion: apiVersion, Created: created.Unix(), Data: EventData{Object: obj},
		Livemode: livemode, PendingWebhooks: 1, Type: typ}
}

// Marshal is the event's JSON body.
func (e *Event) Marshal() ([]byte, error) { return json.Marshal(e) }

// SignatureFormat is the signature_format of webhook endpoints whose
// deliveries are in Stripe's format (Stripe-Signature, Stripe's events).
const SignatureFormat = "stripe"

// SignatureHeaderName is the header carrying Stripe's webhook signature.
const SignatureHeaderName = "Stripe-Signature"

// SignatureHeader is the value of the Stripe-Signature header of body sent
// at t: `t=<Unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, one v1 per
// secret (two while a secret rotates), as Stripe's SDKs verify it. Stripe
// keys the HMAC with the secret string as given, `whsec_` prefix included
// (unlike Standard Webhooks, which decodes the base64 after it).
func SignatureHeader(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		b.WriteString(",v1=" + hex.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}

// ValidAPIVersion reports whether v looks like a Stripe API version,
// `YYYY-MM-DD.<release>` (stripe-go compares the release with its own).
func ValidAPIVersion(v string) bool {
	date, release, ok := strings.Cut(v, ".")
	if !ok || release == "" || len(release) > 32 || strings.Trim(release, "abcdefghijklmnopqrstuvwxyz") != "" {
		return false
	}
	_, err := time.Parse(time.DateOnly, date)
	return err == nil
}
