// Package ids makes the random, prefixed identifiers of API objects
// (`cs_…`, `evt_…`, `pay_…`) and secrets.
package ids

import (
	"crypto/rand"
	"math/big"
	"strings"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Length of the random part: 24 base-62 characters carry 142 bits, above the
// 128 bits that make a session id in a URL unguessable.
const randomLen = 24

// New returns prefix + "_" + 24 random base-62 characters.
func New(prefix string) string {
	return prefix + "_" + Random(randomLen)
}

// Random returns n characters drawn uniformly from [0-9A-Za-z] by crypto/rand.
func Random(n int) string {
	var b strings.Builder
	b.Grow(n)
	buf := make([]byte, n+n/4+8)
	for b.Len() < n {
		if _, err := rand.Read(buf); err != nil {
			panic("crypto/rand failed: " + err.Error()) // the kernel's RNG never fails on Linux
		}
		for _, c := range buf {
			// Rejection sampling: 248 = 4×62 keeps the distribution uniform.
			if c < 248 && b.Len() < n {
				b.WriteByte(alphabet[c%62])
			}
		}
	}
	return b.String()
}

// HasPrefix reports whether id looks like an identifier made by New(prefix):
// the prefix, an underscore and only base-62 characters after it.
func HasPrefix(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || rest == "" || len(rest) > 64 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(alphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// IsNew reports whether id has exactly the shape New(prefix) gives: the
// prefix, an underscore and 24 base-62 characters. It tells an id made here
// from a merchant's own reference that happens to share the prefix.
func IsNew(id, prefix string) bool {
	return len(id) == len(prefix)+1+randomLen && HasPrefix(id, prefix)
}

// RandomBig returns a uniformly random integer in [0, max).
func RandomBig(max int64) int64 {
	n, err := rand.Int(rand.Reader, big.NewInt(max))
	if err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return n.Int64()
}
