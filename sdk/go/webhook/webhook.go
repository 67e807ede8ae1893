// Package webhook verifies the webhook deliveries Tillpoint sends, signed
// per Standard Webhooks (https://www.standardwebhooks.com/): headers
// webhook-id, webhook-timestamp and webhook-signature, the latter one or
// more "v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">" entries
// separated by spaces (two during a secret rotation).
//
//	func handle(w http.ResponseWriter, r *http.Request) {
//		body, _ := io.ReadAll(r.Body)
//		ev, err := webhook.ConstructEvent(body, r.Header, secret)
//		if err != nil {
//			http.Error(w, "bad signature", http.StatusBadRequest)
//			return
//		}
//		// deduplicate by r.Header.Get("webhook-id"), then handle ev.Type
//	}
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tillpoint "github.com/tillpoint/tillpoint/sdk/go"
)

// Tolerance is how far webhook-timestamp may be from the receiver's clock:
// five minutes, the Standard Webhooks recommendation.
const Tolerance = 5 * time.Minute

// maxSignatures bounds the work done on a hostile header.
const maxSignatures = 16

// Verification errors, wrapped by Verify.
var (
	ErrInvalidSecret       = errors.New("webhook: the secret is not whsec_ followed by base64")
	ErrMissingHeaders      = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp    = errors.New("webhook: webhook-timestamp is not a Unix time in seconds")
	ErrTimestampTolerance  = errors.New("webhook: webhook-timestamp is outside the tolerance")
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// Verify checks a delivery against the endpoint's signing secret
// ("whsec_…"): the three headers are present, the timestamp is within
// Tolerance of now, and one of the v1 signatures is the HMAC of the
// message (compared in constant time). Pass the body exactly as received.
func Verify(body []byte, header http.Header, secret string) error {
	return VerifyAt(body, header, secret, time.Now())
}

// VerifyAt is Verify with the receiver's clock given.
func VerifyAt(body []byte, header http.Header, secret string, now time.Time) error {
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return ErrInvalidSecret
	}
	msgID, tsText, sigs := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	if msgID == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrInvalidTimestamp, tsText)
	}
	// Compare in seconds: a hostile int64 could overflow a time.Duration.
	skew, limit := now.Unix()-ts, int64(Tolerance/time.Second)
	if skew > limit || skew < -limit {
		return fmt.Errorf("%w: %d s from now", ErrTimestampTolerance, skew)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", msgID, ts)
	m.Write(body)
	want := m.Sum(nil)
	for i, entry := range strings.Fields(sigs) {
		if i == maxSignatures {
			break
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// ConstructEvent verifies a delivery (see Verify) and decodes its body as
// an event.
func ConstructEvent(body []byte, header http.Header, secret string) (*tillpoint.Event, error) {
	if err := Verify(body, header, secret); err != nil {
		return nil, err
	}
	var ev tillpoint.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("webhook: decoding the event: %w", err)
	}
	return &ev, nil
}
