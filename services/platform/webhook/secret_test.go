package webhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := NewSecret()
		if !strings.HasPrefix(s, "whsec_") {
			t.Fatalf("NewSecret() = %q, want whsec_ prefix", s)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(raw) != 32 {
			t.Fatalf("NewSecret() = %q: %d bytes, %v; want 32 bytes of std base64", s, len(raw), err)
		}
		key, err := ParseSecret(s)
		if err != nil || !bytes.Equal(key, raw) {
			t.Fatalf("ParseSecret(NewSecret()) = %x, %v; want %x", key, err, raw)
		}
		if seen[s] {
			t.Fatalf("NewSecret repeated %q", s)
		}
		seen[s] = true
	}
}

func TestParseSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, n)) }
	specKey := []byte{0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a, 0xab, 0x4f, 0x08, 0xd4,
		0x3c, 0x3f, 0x08, 0x2c, 0xf6, 0x48, 0xa3, 0x62, 0xda, 0x2d, 0xa4, 0xb0}
	tests := []struct {
		name string
		in   string
		want []byte // nil: must fail
	}{
		{"spec example", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", specKey},
		{"spec example without prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", specKey},
		{"24 bytes", "whsec_" + b64(24), bytes.Repeat([]byte{0xfb}, 24)},
		{"64 bytes", b64(64), bytes.Repeat([]byte{0xfb}, 64)},
		{"23 bytes", "whsec_" + b64(23), nil},
		{"65 bytes", "whsec_" + b64(65), nil},
		{"empty", "", nil},
		{"prefix only", "whsec_", nil},
		{"url-safe alphabet", "whsec_" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), nil},
		{"missing padding", "whsec_" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)), nil},
		{"not base64", "whsec_this is not base64 at all!!!!!!!!", nil},
		{"whitespace", " whsec_" + b64(32), nil},
		{"trailing newline", "whsec_" + b64(32) + "\n", nil},
		{"wrong prefix", "wh_" + b64(32), nil},
		{"double prefix", "whsec_whsec_" + b64(32), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSecret(tt.in)
			if tt.want == nil {
				if err == nil || !errors.Is(err, ErrInvalidSecret) {
					t.Fatalf("ParseSecret(%q) = %x, %v; want ErrInvalidSecret", tt.in, got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("ParseSecret(%q) = %x, %v; want %x", tt.in, got, err, tt.want)
			}
		})
	}
}
