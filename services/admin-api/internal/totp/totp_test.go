package totp

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 6238's test vectors: the ASCII string
// "12345678901234567890" (20 bytes).
var rfcSecret = []byte("12345678901234567890")

// TestRFC6238Vectors checks against RFC 6238, Appendix B ("Test Vectors"),
// the SHA1 rows:
//
//	|  Time (sec) |   UTC Time          | Value of T (hex) |   TOTP   | Mode |
//	|      59     | 1970-01-01 00:00:59 | 0000000000000001 | 94287082 | SHA1 |
//	|  1111111109 | 2005-03-18 01:58:29 | 00000000023523EC | 07081804 | SHA1 |
//	|  1111111111 | 2005-03-18 01:58:31 | 00000000023523ED | 14050471 | SHA1 |
//	|  1234567890 | 2009-02-13 23:31:30 | 000000000273EF07 | 89005924 | SHA1 |
//	|  2000000000 | 2033-05-18 03:33:20 | 0000000003F940AA | 69279037 | SHA1 |
//	| 20000000000 | 2603-10-11 11:33:20 | 0000000027BC86AA | 65353130 | SHA1 |
//
// The RFC's codes have 8 digits; the 6-digit codes apps show are the same
// truncated value modulo 10^6, i.e. the last 6 digits.
func TestRFC6238Vectors(t *testing.T) {
	for _, v := range []struct {
		unix  int64
		step  int64
		eight string
	}{
		{59, 0x1, "94287082"},
		{1111111109, 0x23523EC, "07081804"},
		{1111111111, 0x23523ED, "14050471"},
		{1234567890, 0x273EF07, "89005924"},
		{2000000000, 0x3F940AA, "69279037"},
		{20000000000, 0x27BC86AA, "65353130"},
	} {
		now := time.Unix(v.unix, 0)
		if got := Step(now); got != v.step {
			t.Errorf("Step(%d) = %#x, want %#x", v.unix, got, v.step)
		}
		if got := hotp(rfcSecret, v.step, 8); got != v.eight {
			t.Errorf("8-digit code at %d = %s, want %s", v.unix, got, v.eight)
		}
		six := v.eight[2:]
		if got := Code(rfcSecret, v.step); got != six {
			t.Errorf("Code at %d = %s, want %s", v.unix, got, six)
		}
		if step, ok := Verify(rfcSecret, six, now, 0); !ok || step != v.step {
			t.Errorf("Verify(%s) at %d = %d, %v", six, v.unix, step, ok)
		}
	}
}

// TestRFC4226Vectors: RFC 4226 Appendix D, HOTP of the same secret at
// counters 0 to 9 (the building block of TOTP).
func TestRFC4226Vectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		if got := Code(rfcSecret, int64(counter)); got != w {
			t.Errorf("HOTP(%d) = %s, want %s", counter, got, w)
		}
	}
}

// TestVerifyWindow: the codes of one step either side of now are accepted,
// two steps away are not, and no step at or before the last accepted one
// is (a code works once).
func TestVerifyWindow(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1_800_000_015, 0)
	s := Step(now)
	for d, ok := range map[int64]bool{-2: false, -1: true, 0: true, 1: true, 2: false} {
		step, got := Verify(secret, Code(secret, s+d), now, 0)
		if got != ok || (ok && step != s+d) {
			t.Errorf("code of step now%+d: %d %v, want ok=%v", d, step, got, ok)
		}
	}
	if _, ok := Verify(secret, Code(secret, s), now, s); ok {
		t.Error("the code of the last accepted step is accepted again")
	}
	if _, ok := Verify(secret, Code(secret, s-1), now, s); ok {
		t.Error("a code older than the last accepted step is accepted")
	}
	if step, ok := Verify(secret, Code(secret, s+1), now, s); !ok || step != s+1 {
		t.Error("the next step's code is refused after the current one was used")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := Verify(secret, bad, now, 0); ok {
			t.Errorf("Verify(%q) accepted", bad)
		}
	}
}

// TestSecretAndURI: secrets are random and 160 bits, their text form
// reads back, and the URI carries what an app needs.
func TestSecretAndURI(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if len(a) != SecretSize || bytes.Equal(a, b) {
		t.Fatalf("secrets %x %x", a, b)
	}
	text := Encode(a)
	if len(text) != 32 || strings.Contains(text, "=") {
		t.Errorf("Encode = %q", text)
	}
	back, err := Decode(strings.ToLower(text[:4] + " " + text[4:]))
	if err != nil || !bytes.Equal(back, a) {
		t.Errorf("Decode(Encode) = %x, %v", back, err)
	}
	u, err := url.Parse(URI("Tillpoint", "alice+x@acme.example", a))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Tillpoint:alice+x@acme.example" ||
		q.Get("secret") != text || q.Get("issuer") != "Tillpoint" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("URI = %s", u)
	}
}

// FuzzVerify: any typed code is checked without panicking, and only one of
// Digits digits that is a window step's code is ever accepted.
func FuzzVerify(f *testing.F) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	for _, seed := range []string{"050471", "", "12345", "1234567", "٠٥٠٤٧١", "05047\x00", "ABCDEF"} {
		f.Add(seed, int64(0))
	}
	f.Fuzz(func(t *testing.T, code string, last int64) {
		step, ok := Verify(secret, code, now, last)
		if !ok {
			return
		}
		if step <= last || step < Step(now)-Skew || step > Step(now)+Skew || Code(secret, step) != code {
			t.Errorf("Verify(%q, last %d) accepted step %d", code, last, step)
		}
	})
}
