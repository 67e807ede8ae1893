package provider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the HTTP header that carries a callback's signature.
const SignatureHeader = "Tillpoint-Provider-Signature"

// SignatureTolerance is how far a callback's timestamp may be from our clock,
// either way. Five minutes absorbs clock skew and the sender's retry delay,
// and still stops a captured request from being replayed later; duplicates
// inside the window are caught by the event-id inbox.
const SignatureTolerance = 5 * time.Minute

// maxSignatureHeaderLen bounds the header we parse. A header with a timestamp
// and a handful of v1 entries is under 400 bytes; more is not a sender of ours.
const maxSignatureHeaderLen = 4096

// The errors of Verify. They never contain the secret or the expected
// signature.
var (
	// ErrNoSignature: the header is missing or has no v1 signature.
	ErrNoSignature = errors.New("provider: no callback signature")
	// ErrBadSignature: no v1 signature matches the body and secret (or the
	// header is malformed).
	ErrBadSignature = errors.New("provider: callback signature does not match")
	// ErrTimestamp: the timestamp is missing, malformed, or outside
	// SignatureTolerance of now.
	ErrTimestamp = errors.New("provider: callback timestamp missing or outside the tolerance")
	// ErrNoSecret: the verifier has no secret configured. An operator error,
	// not the sender's: never accept callbacks signed with an empty key.
	ErrNoSecret = errors.New("provider: no callback secret configured")
)

// Sign returns the SignatureHeader value for body sent at now:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>".
// Verify refuses an empty secret, so do not sign with one.
func Sign(secret, body []byte, now time.Time) string {
	return SignMulti([][]byte{secret}, body, now)
}

// SignMulti signs with several secrets at once, one v1 entry each, so that a
// receiver holding either the old or the new secret accepts the callback
// during a rotation.
func SignMulti(secrets [][]byte, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(computeSignature(s, ts, body)))
	}
	return b.String()
}

// Verify checks a SignatureHeader value against body and secret: one of its
// v1 entries must be the HMAC of "<t>." + body (compared in constant time),
// and t must be within SignatureTolerance of now. Entries of other schemes
// are ignored.
func Verify(secret []byte, header string, body []byte, now time.Time) error {
	return VerifyAny([][]byte{secret}, header, body, now)
}

// VerifyAny is Verify for a receiver that holds several secrets (the old and
// the new one during a rotation): any match is enough.
func VerifyAny(secrets [][]byte, header string, body []byte, now time.Time) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	for _, s := range secrets {
		if len(s) == 0 {
			return ErrNoSecret
		}
	}
	ts, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return err
	}
	// The signature is checked before the timestamp so that ErrTimestamp
	// always means a genuine callback that is stale (a replay or clock
	// skew), which is worth an operator's look.
	matched := false
	for _, s := range secrets {
		want := computeSignature(s, ts, body)
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				matched = true
			}
		}
	}
	if !matched {
		return ErrBadSignature
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp", ErrTimestamp)
	}
	// Compared in seconds without subtracting t, which could overflow.
	tol := int64(SignatureTolerance / time.Second)
	if n := now.Unix(); t < n-tol || t > n+tol {
		return fmt.Errorf("%w: timestamp %d is more than %s from now", ErrTimestamp, t, SignatureTolerance)
	}
	return nil
}

// parseSignatureHeader splits "t=…,v1=…,v1=…" into the timestamp text and the
// decoded v1 signatures. Entries of other schemes are skipped; v1 entries
// that are not 64 hex digits count as not matching.
func parseSignatureHeader(header string) (ts string, sigs [][]byte, err error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", nil, ErrNoSignature
	}
	if len(header) > maxSignatureHeaderLen {
		return "", nil, fmt.Errorf("%w: header longer than %d bytes", ErrBadSignature, maxSignatureHeaderLen)
	}
	seenT, sawV1 := false, false
	for item := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: malformed header entry", ErrBadSignature)
		}
		switch key {
		case "t":
			if seenT {
				return "", nil, fmt.Errorf("%w: more than one timestamp", ErrTimestamp)
			}
			if !allDigits(value) || len(value) > 19 {
				return "", nil, fmt.Errorf("%w: malformed timestamp", ErrTimestamp)
			}
			seenT, ts = true, value
		case "v1":
			sawV1 = true
			if sig, err := hex.DecodeString(value); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	switch {
	case !sawV1:
		return "", nil, fmt.Errorf("%w: no v1 entry", ErrNoSignature)
	case !seenT:
		return "", nil, fmt.Errorf("%w: no timestamp", ErrTimestamp)
	}
	return ts, sigs, nil
}

// computeSignature is HMAC-SHA256(secret, ts + "." + body).
func computeSignature(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
