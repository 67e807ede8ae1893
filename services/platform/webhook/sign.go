package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names. http.Header canonicalises them
// ("Webhook-Id"); header names are case-insensitive on the wire.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// UserAgent is sent with every delivery so that merchants can recognise
// (and allow-list) our requests.
const UserAgent = "Tillpoint-Webhooks/1"

// SignatureTolerance is how far a webhook-timestamp may be from the
// receiver's clock. Five minutes is the Standard Webhooks recommendation:
// wide enough for clock skew, narrow enough to bound replays.
const SignatureTolerance = 5 * time.Minute

// signatureVersion is the only scheme Standard Webhooks defines for
// symmetric keys (HMAC-SHA256).
const signatureVersion = "v1"

// maxSignatures bounds the work Verify does on a hostile header: a
// rotation needs two entries, nobody needs more than a handful.
const maxSignatures = 16

// Verification errors, wrapped by Verify.
var (
	ErrMissingHeaders      = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp    = errors.New("webhook: webhook-timestamp is not a Unix time in seconds")
	ErrTimestampTolerance  = errors.New("webhook: webhook-timestamp is outside the tolerance")
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>" entry per
// secret, separated by spaces. Pass the old and the new key during a secret
// rotation so that receivers holding either accept the message. With no
// secrets it returns "".
func Sign(msgID string, ts time.Time, body []byte, secrets ...[]byte) string {
	var b strings.Builder
	for i, key := range secrets {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(signatureVersion)
		b.WriteByte(',')
		b.WriteString(base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), body)))
	}
	return b.String()
}

// Headers returns the request headers of a delivery: webhook-id,
// webhook-timestamp, webhook-signature (see Sign), Content-Type
// application/json and the Tillpoint User-Agent. Callers must pass at least
// one secret; without one the signature header is left out and every
// receiver will reject the message.
func Headers(msgID string, ts time.Time, body []byte, secrets ...[]byte) http.Header {
	h := make(http.Header, 5)
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if sig := Sign(msgID, ts, body, secrets...); sig != "" {
		h.Set(HeaderSignature, sig)
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	return h
}

// Verify checks a received message as a Standard Webhooks receiver does: the
// three headers are present, the timestamp is within SignatureTolerance of
// now, and one of the v1 signatures is the HMAC of the message under secret
// (compared in constant time). Entries of other versions are ignored.
func Verify(secret []byte, h http.Header, body []byte, now time.Time) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrInvalidTimestamp, tsText)
	}
	// Compare in seconds: converting a hostile int64 into a time.Duration
	// could overflow.
	skew := now.Unix() - ts
	if skew > int64(SignatureTolerance/time.Second) || skew < -int64(SignatureTolerance/time.Second) {
		return fmt.Errorf("%w: %d s from now", ErrTimestampTolerance, skew)
	}
	want := mac(secret, id, ts, body)
	for i, entry := range strings.Fields(sigs) {
		if i == maxSignatures {
			break
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != signatureVersion {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// mac is HMAC-SHA256(key, "{id}.{ts}.{body}"), the Standard Webhooks v1
// signed content.
func mac(key []byte, msgID string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
