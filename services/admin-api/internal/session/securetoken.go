package session

import (
	"crypto/sha256"

	"github.com/tillpoint/tillpoint/services/platform/ids"
)

const (
	// SecureTokenPrefix starts a session's secure token (`cst_…`).
	SecureTokenPrefix = "cst"
	// secureTokenLen base-62 characters carry 256 bits (43 × log2 62 ≈ 256.04):
	// the token is the only thing between anyone and the session's page.
	secureTokenLen = 43
)

// NewSecureToken returns a new secure token: the bearer credential of a
// session's hosted page at /c/{token} (PaymentKit's `secure_token`).
func NewSecureToken() string {
	return SecureTokenPrefix + "_" + ids.Random(secureTokenLen)
}

// HashSecureToken is what the database stores and looks a token up by. The
// token carries 256 random bits, so a fast hash is enough: there is nothing
// to brute-force, and looking up by hash compares no secret byte by byte.
func HashSecureToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// IsSecureToken reports whether s has the shape of a secure token, so that
// anything else is refused before it reaches the database.
func IsSecureToken(s string) bool {
	return len(s) == len(SecureTokenPrefix)+1+secureTokenLen && ids.HasPrefix(s, SecureTokenPrefix)
}
