package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: one of OWASP's equally strong minimum
// configurations (m=7 MiB, t=5, p=1; the others are 19 MiB × 2 passes,
// 12 MiB × 3, 9 MiB × 4), about the same CPU as 19 MiB × 2. Of the set it
// takes the least memory, which is what each sign-in costs this service:
// x/crypto/argon2 allocates the whole block array per hash, and at 19 MiB
// one dashboard sign-in was the largest allocation admin-api ever made, and
// its peak RSS (docs/perf/payment-path.md, session 6). Hashes still run at
// most maxConcurrentHashes at a time (the services run within GOMEMLIMIT
// 32MiB). A stored hash keeps its own parameters (the PHC string), so older
// hashes still verify, and a sign-in that matches one replaces it with a
// hash of today's parameters (NeedsRehash).
const (
	argonMemoryKiB = 7 * 1024
	argonTime      = 5
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
	// maxConcurrentHashes bounds the memory logins take: 2 × 7 MiB.
	maxConcurrentHashes = 2
	// minPasswordLen follows NIST SP 800-63B for user-chosen passwords.
	minPasswordLen = 12
	// maxPasswordLen bounds the work one attempt can ask for.
	maxPasswordLen = 256
)

// hashSlots bounds concurrent argon2 runs across the process.
var hashSlots = make(chan struct{}, maxConcurrentHashes)

// HashPassword returns password as an argon2id PHC string.
func HashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := deriveKey(ctx, password, salt, argonMemoryKiB, argonTime, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC string hash,
// comparing in constant time. A malformed hash never matches.
func VerifyPassword(ctx context.Context, password, hash string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	got, err := deriveKey(ctx, password, h.salt, h.memory, h.time, h.threads, uint32(len(h.key)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// NeedsRehash reports whether hash was made with other parameters than
// HashPassword uses today (the former 19 MiB × 2 passes): a sign-in that
// matched it stores the password hashed anew (Handler.rehash). A malformed
// hash never matched, so it is not rehashed either.
func NeedsRehash(hash string) bool {
	h, err := parsePHC(hash)
	return err == nil && (h.memory != argonMemoryKiB || h.time != argonTime || h.threads != argonThreads ||
		len(h.salt) != argonSaltLen || len(h.key) != argonKeyLen)
}

// phc is an argon2id hash in its PHC string form, taken apart.
type phc struct {
	memory, time uint32 // KiB, passes
	threads      uint8
	salt, key    []byte
}

// parsePHC reads "$argon2id$v=19$m=…,t=…,p=…$salt$key".
func parsePHC(hash string) (phc, error) {
	var h phc
	var version int
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return h, errors.New("dashboard: not an argon2id hash")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, errors.New("dashboard: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil || h.memory == 0 || h.time == 0 || h.threads == 0 {
		return h, errors.New("dashboard: malformed argon2 parameters")
	}
	b64 := base64.RawStdEncoding
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return h, err
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) == 0 {
		return h, errors.New("dashboard: malformed argon2 hash")
	}
	return h, nil
}

// deriveKey runs argon2id when a slot is free.
func deriveKey(ctx context.Context, password string, salt []byte, m, t uint32, p uint8, keyLen uint32) ([]byte, error) {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, t, m, p, keyLen), nil
}

// GeneratePassword returns a random password of 26 base32 characters
// (128 bits), for the CLI and the dev stack.
func GeneratePassword() string { return rand.Text() }
