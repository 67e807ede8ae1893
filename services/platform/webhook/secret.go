package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix marks a Standard Webhooks signing secret, as in
// "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".
const SecretPrefix = "whsec_"

const (
	// secretSize is the length of the keys we generate: 256 bits, the size
	// of the HMAC-SHA256 block's security level and well inside the
	// 24–64 byte range Standard Webhooks recommends.
	secretSize = 32
	// minSecretSize and maxSecretSize are the bounds Standard Webhooks sets
	// for a signing key (192 to 512 bits). Shorter keys are too weak to
	// accept; longer ones only come from a mistake (a PEM pasted as a secret).
	minSecretSize = 24
	maxSecretSize = 64
)

// ErrInvalidSecret is returned (wrapped) by ParseSecret.
var ErrInvalidSecret = errors.New("webhook: invalid signing secret")

// NewSecret returns a new random signing secret: "whsec_" followed by the
// standard base64 encoding of 32 random bytes.
func NewSecret() string {
	b := make([]byte, secretSize)
	// crypto/rand.Read never returns an error (it crashes the program
	// instead when the system's random source fails).
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret returns the HMAC key of a signing secret: the base64-decoded
// bytes after the optional "whsec_" prefix. It rejects anything that is not
// padded standard base64 and keys outside 24–64 bytes.
func ParseSecret(s string) ([]byte, error) {
	enc := strings.TrimPrefix(s, SecretPrefix)
	if enc == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	if strings.ContainsAny(enc, "\r\n") {
		// The decoder skips line breaks; a secret never contains one.
		return nil, fmt.Errorf("%w: contains a line break", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		// The decoder's message names an offset only; say what is expected.
		return nil, fmt.Errorf("%w: want %s followed by standard base64: %v", ErrInvalidSecret, SecretPrefix, err)
	}
	if len(key) < minSecretSize || len(key) > maxSecretSize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), minSecretSize, maxSecretSize)
	}
	return key, nil
}
