// Package apikey makes and recognises organization secret keys
// (`sk_test_…`, `sk_live_…`). Only a key's SHA-256 hash and a short display
// prefix are ever stored.
package apikey

import (
	"crypto/sha256"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/ids"
)

const (
	testPrefix = "sk_test_"
	livePrefix = "sk_live_"
	// secretLen base-62 characters carry 238 bits, above the 192 the design asks.
	secretLen = 40
	// displayLen is how many random characters the display prefix keeps: enough
	// to tell keys apart, far too few to matter for guessing the rest.
	displayLen = 4
)

// Generate returns a new secret key for the mode.
func Generate(live bool) string {
	return modePrefix(live) + ids.Random(secretLen)
}

func modePrefix(live bool) string {
	if live {
		return livePrefix
	}
	return testPrefix
}

// Parse reports whether secret is well-formed and, if so, its mode.
func Parse(secret string) (live, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(secret, testPrefix):
		rest = secret[len(testPrefix):]
	case strings.HasPrefix(secret, livePrefix):
		live, rest = true, secret[len(livePrefix):]
	default:
		return false, false
	}
	if len(rest) != secretLen || !ids.HasPrefix("x_"+rest, "x") {
		return false, false
	}
	return live, true
}

// Hash is what the database stores and looks keys up by.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// DisplayPrefix is the part of a well-formed secret shown in lists.
func DisplayPrefix(secret string) string {
	return secret[:len(testPrefix)+displayLen]
}
