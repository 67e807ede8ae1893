package webhook

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NewSecret(), "", "whsec_", "whsec_====", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseSecret(s)
		if err != nil {
			return
		}
		if len(key) < 24 || len(key) > 64 {
			t.Fatalf("ParseSecret(%q) accepted a %d-byte key", s, len(key))
		}
		if enc := base64.StdEncoding.EncodeToString(key); enc != strings.TrimPrefix(s, SecretPrefix) {
			t.Fatalf("ParseSecret(%q) is not canonical base64 (%q)", s, enc)
		}
	})
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://merchant.example/hook", "http://localhost:8080/", "https://[::ffff:10.0.0.1]/",
		"https://127.1/", "https://user@host/", "javascript:alert(1)", "https://[fe80::1%25eth0]/"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowPrivate bool) {
		if err := ValidateURL(raw, allowPrivate); err != nil {
			if !utf8.ValidString(err.Error()) && utf8.ValidString(raw) {
				t.Fatalf("invalid UTF-8 in message %q", err)
			}
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || u.User != nil || len(raw) > MaxURLLength {
			t.Fatalf("ValidateURL accepted %q", raw)
		}
		if allowPrivate {
			return
		}
		if u.Scheme != "https" {
			t.Fatalf("ValidateURL accepted %q without https", raw)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if _, bad := blockedReason(ip); bad {
				t.Fatalf("ValidateURL accepted blocked address %q", raw)
			}
		}
		if isLocalhostName(u.Hostname()) {
			t.Fatalf("ValidateURL accepted loopback name %q", raw)
		}
	})
}

// FuzzCheckURL: under the dev stack's policy, whatever is accepted in live
// mode is https to a public literal or a name, and nothing accepted in test
// mode is one of the denied listeners by address.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://merchant.example/hook", "http://localhost:9100/metrics", "http://0.0.0.0:9100/",
		"http://[::1]:9100/", "http://127.0.0.2:9100/", "https://[::ffff:127.0.0.1]:9100/", "http://api.localhost:9100/"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	deny, err := ParseDenyList(":9100")
	if err != nil {
		f.Fatal(err)
	}
	policy := TargetPolicy{PrivateInTestMode: true, Deny: deny}
	f.Fuzz(func(t *testing.T, raw string, live bool) {
		if policy.CheckURL(raw, "org_1", live) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("CheckURL accepted %q", raw)
		}
		if live && (u.Scheme != "https" || isLocalhostName(u.Hostname())) {
			t.Fatalf("CheckURL accepted %q in live mode", raw)
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && port == "9100" && isLocalAddr(ip) {
			t.Fatalf("CheckURL accepted our listener %q", raw)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("msg_1", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`), int64(1614265330))
	f.Add("", "", "", []byte{}, int64(0))
	f.Add("a", "-9223372036854775808", "v1, v1,,, ,v1", []byte("x"), int64(9223372036854775807))
	key, _ := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, now int64) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		_ = Verify(key, h, body, time.Unix(now, 0)) // must not panic

		// Whatever the id and body, what we sign verifies.
		at := time.Unix(now%(1<<40), 0)
		if id == "" {
			return
		}
		signed := Headers(id, at, body, key)
		if signed.Get(HeaderID) != id {
			return // a value http.Header does not keep as is
		}
		if err := Verify(key, signed, body, at); err != nil {
			t.Fatalf("Verify(Headers(%q, …)) = %v", id, err)
		}
	})
}
