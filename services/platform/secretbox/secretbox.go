// Package secretbox encrypts small secrets at rest (a merchant's provider
// credentials) with AES-256-GCM under a keyring that can rotate.
//
// The keyring comes from one variable, TILLPOINT_ENCRYPTION_KEY:
// "k1:<base64 of 32 bytes>[,k0:<base64 of 32 bytes>…]". The first key
// encrypts; every key decrypts, so that after a new key is put first the
// rows sealed under the old one still open until they are re-encrypted.
//
// A ciphertext is "<key id>:<base64url of nonce‖sealed>", and is bound to its
// row by additional data the caller gives (the row's id, organization and
// mode): a ciphertext copied into another row does not open.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Variable is the environment variable holding the keyring.
const Variable = "TILLPOINT_ENCRYPTION_KEY"

// KeySize is the size of an AES-256 key.
const KeySize = 32

// keyIDRE limits key ids to what cannot be confused with the separators.
var keyIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ErrOpen is returned for any ciphertext that does not open: unknown key,
// tampered, truncated or bound to other additional data. The cases are not
// told apart on purpose.
var ErrOpen = errors.New("secretbox: ciphertext does not open")

// Keyring holds the keys: the first seals, all open.
type Keyring struct {
	primary string
	keys    map[string]cipher.AEAD
}

// Parse reads a keyring specification. Its errors name the entry at fault
// (by position and key id) but never contain key material.
func Parse(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("no key: expected id:base64-of-32-bytes[,id:base64…]")
	}
	k := &Keyring{keys: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: expected id:base64-of-32-bytes", i+1)
		}
		if !keyIDRE.MatchString(id) {
			return nil, fmt.Errorf("entry %d: key id must be 1 to 32 letters, digits, '-' or '_'", i+1)
		}
		if _, dup := k.keys[id]; dup {
			return nil, fmt.Errorf("entry %d: key id %q given twice", i+1, id)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			// base64.CorruptInputError holds only an offset, but say less anyway.
			return nil, fmt.Errorf("key %q: not standard base64", id)
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("key %q: must be %d bytes, is %d", id, KeySize, len(raw))
		}
		aead, err := newAEAD(raw)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		k.keys[id] = aead
		if i == 0 {
			k.primary = id
		}
	}
	return k, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Generate returns a new keyring entry "id:<base64 of 32 random bytes>".
func Generate(id string) (string, error) {
	if !keyIDRE.MatchString(id) {
		return "", fmt.Errorf("key id %q: must be 1 to 32 letters, digits, '-' or '_'", id)
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw), nil
}

// PrimaryID is the id of the key that seals.
func (k *Keyring) PrimaryID() string { return k.primary }

// Seal encrypts plaintext under the primary key, bound to ad.
func (k *Keyring) Seal(plaintext, ad []byte) (string, error) {
	aead := k.keys[k.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, plaintext, bind(k.primary, ad))
	return k.primary + ":" + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a ciphertext made by Seal with the same ad, under whichever
// of the keyring's keys it names.
func (k *Keyring) Open(ciphertext string, ad []byte) ([]byte, error) {
	id, b64, ok := strings.Cut(ciphertext, ":")
	if !ok {
		return nil, ErrOpen
	}
	aead, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not in %s", ErrOpen, id, Variable)
	}
	sealed, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	nonce, body := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, body, bind(id, ad))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// Stale reports whether a ciphertext was sealed under a key other than the
// primary one, so that its next write should re-seal it.
func (k *Keyring) Stale(ciphertext string) bool {
	id, _, _ := strings.Cut(ciphertext, ":")
	return id != k.primary
}

// bind makes the additional data: the key id too, so that a ciphertext's
// id cannot be rewritten to another key that happens to share material.
func bind(id string, ad []byte) []byte {
	out := make([]byte, 0, len(id)+1+len(ad))
	out = append(out, id...)
	out = append(out, 0)
	return append(out, ad...)
}

// AD builds additional data from the parts that identify a row, each
// length-prefixed so that ("ab","c") and ("a","bc") differ.
func AD(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = fmt.Appendf(out, "%d:%s;", len(p), p)
	}
	return out
}
