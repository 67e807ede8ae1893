// Package totp computes and checks time-based one-time passwords (RFC 6238,
// on HOTP, RFC 4226) as authenticator apps make them: HMAC-SHA-1, 6 digits,
// a 30-second step. It holds no state: remembering the last step accepted,
// so that a code is used once, is the caller's (a database row).
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" // RFC 6238's default, the one every app supports; HMAC-SHA-1 is not broken
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The parameters authenticator apps assume when a URI names none.
const (
	// Digits is the code's length.
	Digits = 6
	// Period is the time step.
	Period = 30 * time.Second
	// Skew is how many steps before and after the current one are
	// accepted: a phone's clock a little off, or a code typed as its step
	// ends (RFC 6238 §5.2 recommends at most one).
	Skew = 1
	// SecretSize is RFC 4226's recommended 160 bits, the HMAC-SHA-1 block
	// it was designed around.
	SecretSize = 20
)

// b32 is the secret's text form: RFC 4648 base32 without padding, as the
// otpauth:// URI format wants.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a new random secret.
func NewSecret() []byte {
	s := make([]byte, SecretSize)
	_, _ = rand.Read(s) // never fails (Go 1.24+)
	return s
}

// Encode is the secret as people type it into an app: base32.
func Encode(secret []byte) string { return b32.EncodeToString(secret) }

// Decode reads a base32 secret, ignoring case and spaces.
func Decode(s string) ([]byte, error) {
	return b32.DecodeString(strings.ToUpper(strings.ReplaceAll(s, " ", "")))
}

// Step is the time step t is in (RFC 6238's T, with T0 = 0).
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code is the code of secret at time step.
func Code(secret []byte, step int64) string { return hotp(secret, step, Digits) }

// hotp is RFC 4226 §5.3: HMAC-SHA-1 of the 8-byte counter, dynamically
// truncated to 31 bits, modulo 10^digits, zero-padded.
func hotp(secret []byte, counter int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Verify reports the step whose code code is, among the steps within Skew
// of now's and after the step last accepted (so that a code, once
// accepted, never is again), or ok=false. The caller records the step
// returned as the last accepted one, conditionally on it being still
// greater than what is stored, so two concurrent uses accept one.
func Verify(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	if len(code) != Digits {
		return 0, false
	}
	current := Step(now)
	for s := current - Skew; s <= current+Skew; s++ {
		if s > lastStep && subtle.ConstantTimeCompare([]byte(Code(secret, s)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// URI is the otpauth:// URI of secret for an app (Google Authenticator's
// Key Uri Format, which every app reads): shown as a QR code to scan.
// Issuer names the service, account the user.
func URI(issuer, account string, secret []byte) string {
	q := url.Values{"secret": {Encode(secret)}, "issuer": {issuer}, "algorithm": {"SHA1"},
		"digits": {fmt.Sprint(Digits)}, "period": {fmt.Sprint(int(Period / time.Second))}}
	return "otpauth://totp/" + url.PathEscape(issuer) + ":" + url.PathEscape(account) + "?" + q.Encode()
}
