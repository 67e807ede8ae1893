package secretbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func key(t *testing.T, id string) string {
	t.Helper()
	k, err := Generate(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseRefusesMalformedWithoutPrintingKeys(t *testing.T) {
	good := key(t, "k1")
	material := strings.SplitN(good, ":", 2)[1]
	short := "k2:" + base64.StdEncoding.EncodeToString([]byte("only-sixteen-byt"))
	for name, spec := range map[string]string{
		"empty":          "",
		"no id":          material,
		"empty id":       ":" + material,
		"bad id":         "k 1:" + material,
		"not base64":     "k1:" + material[:10] + "!!" + material[12:],
		"short key":      short,
		"long key":       "k3:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 33)),
		"duplicate id":   good + "," + good,
		"trailing comma": good + ",",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(spec)
			if err == nil {
				t.Fatalf("Parse(%s) accepted", name)
			}
			for _, secret := range []string{material, strings.SplitN(short, ":", 2)[1]} {
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:12]) {
					t.Fatalf("error shows key material: %v", err)
				}
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	k1, k0 := key(t, "k1"), key(t, "k0")
	ring, err := Parse(k1 + ", " + k0)
	if err != nil {
		t.Fatal(err)
	}
	ad := AD("pa_1", "org_1", "test")
	ct, err := ring.Seal([]byte("sk_test_secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ct, "k1:") || strings.Contains(ct, "sk_test_secret") {
		t.Fatalf("ciphertext %q", ct)
	}
	other, _ := ring.Seal([]byte("sk_test_secret"), ad)
	if other == ct {
		t.Fatal("two seals of one plaintext are equal: nonce reused")
	}
	tamper := func(ct string, at int) string {
		id, b64, _ := strings.Cut(ct, ":")
		raw, _ := base64.RawURLEncoding.DecodeString(b64)
		raw[at%len(raw)] ^= 1
		return id + ":" + base64.RawURLEncoding.EncodeToString(raw)
	}
	for _, c := range []struct {
		name string
		ct   string
		ad   []byte
		ok   bool
	}{
		{"same row", ct, ad, true},
		{"other account", ct, AD("pa_2", "org_1", "test"), false},
		{"other organization", ct, AD("pa_1", "org_2", "test"), false},
		{"other mode", ct, AD("pa_1", "org_1", "live"), false},
		{"shifted parts", ct, AD("pa_1o", "rg_1", "test"), false},
		{"nonce flipped", tamper(ct, 0), ad, false},
		{"body flipped", tamper(ct, 20), ad, false},
		{"tag flipped", tamper(ct, -1+len(ct)), ad, false},
		{"key id swapped", "k0" + strings.TrimPrefix(ct, "k1"), ad, false},
		{"unknown key id", "k9" + strings.TrimPrefix(ct, "k1"), ad, false},
		{"truncated", ct[:10], ad, false},
		{"no id", strings.TrimPrefix(ct, "k1:"), ad, false},
		{"empty", "", ad, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain, err := ring.Open(c.ct, c.ad)
			if c.ok && (err != nil || string(plain) != "sk_test_secret") {
				t.Fatalf("Open: %q %v", plain, err)
			}
			if !c.ok && (err == nil || !errors.Is(err, ErrOpen)) {
				t.Fatalf("Open accepted: %q %v", plain, err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	k0, k1 := key(t, "k0"), key(t, "k1")
	ad := AD("pa_1", "org_1", "live")
	before, _ := Parse(k0)
	old, err := before.Seal([]byte("whsec_abc"), ad)
	if err != nil {
		t.Fatal(err)
	}
	// A new key goes first; the old one stays to decrypt.
	after, err := Parse(k1 + "," + k0)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := after.Open(old, ad); err != nil || string(plain) != "whsec_abc" {
		t.Fatalf("old ciphertext after rotation: %q %v", plain, err)
	}
	if !after.Stale(old) {
		t.Fatal("old ciphertext not stale")
	}
	// Re-encrypting on update moves it to the new key.
	fresh, _ := after.Seal([]byte("whsec_abc"), ad)
	if after.Stale(fresh) || !strings.HasPrefix(fresh, "k1:") {
		t.Fatalf("re-sealed %q", fresh)
	}
	// Once the old key is removed, only re-sealed rows open.
	only, _ := Parse(k1)
	if _, err := only.Open(old, ad); !errors.Is(err, ErrOpen) {
		t.Fatalf("old key removed, old ciphertext opened: %v", err)
	}
	if plain, err := only.Open(fresh, ad); err != nil || string(plain) != "whsec_abc" {
		t.Fatalf("re-sealed ciphertext: %q %v", plain, err)
	}
	// A keyring that does not hold the key does not pretend to.
	stranger, _ := Parse(key(t, "k1"))
	if _, err := stranger.Open(fresh, ad); !errors.Is(err, ErrOpen) {
		t.Fatalf("same id, other material opened: %v", err)
	}
}
