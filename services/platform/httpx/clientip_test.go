package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	// The Ingress controller's pods are in 10.0.0.0/8, a CDN edge in
	// 2001:db8:cdn::/48 in front of it.
	trusted := NewTrustedProxies([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:cd::/48"),
	})
	const ingress = "10.1.2.3:34567"
	type hdr = []string // name, value, name, value, …
	cases := []struct {
		name    string
		t       *TrustedProxies
		peer    string
		headers hdr
		want    string
	}{
		// No trusted proxies (the default): the peer, whatever it says.
		{"nothing trusted", nil, "203.0.113.7:5000", hdr{"X-Forwarded-For", "198.51.100.1"}, "203.0.113.7"},
		{"nothing trusted, ingress peer", NewTrustedProxies(nil), ingress, hdr{"X-Forwarded-For", "198.51.100.1"}, "10.1.2.3"},

		// Spoofing: an untrusted client sends the headers itself.
		{"spoof xff directly", trusted, "203.0.113.7:5000", hdr{"X-Forwarded-For", "198.51.100.1"}, "203.0.113.7"},
		{"spoof forwarded directly", trusted, "203.0.113.7:5000", hdr{"Forwarded", "for=198.51.100.1"}, "203.0.113.7"},
		{"spoof a trusted address directly", trusted, "203.0.113.7:5000", hdr{"X-Forwarded-For", "10.9.9.9"}, "203.0.113.7"},
		{"ipv6 peer, spoofed", trusted, "[2001:db8:1::5]:443", hdr{"X-Forwarded-For", "198.51.100.1"}, "2001:db8:1::5"},
		// Through the proxy, which appends the real address: the client's
		// own entries are to the left and never read.
		{"spoof xff through the proxy", trusted, ingress, hdr{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{"spoof a trusted hop through the proxy", trusted, ingress, hdr{"X-Forwarded-For", "10.9.9.9, 203.0.113.7"}, "203.0.113.7"},
		{"garbage left of the client is not read", trusted, ingress, hdr{"X-Forwarded-For", "<script>, unknown, 203.0.113.7"}, "203.0.113.7"},
		{"spoof forwarded through an xff proxy", trusted, ingress,
			hdr{"Forwarded", "for=198.51.100.1", "X-Forwarded-For", "203.0.113.7"}, "10.1.2.3"},
		{"spoof xff through a forwarded proxy", trusted, ingress,
			hdr{"X-Forwarded-For", "198.51.100.1", "Forwarded", "for=203.0.113.7"}, "10.1.2.3"},
		{"both headers agree", trusted, ingress,
			hdr{"X-Forwarded-For", "203.0.113.7", "Forwarded", `for="203.0.113.7:1234";proto=https`}, "203.0.113.7"},

		// X-Forwarded-For from a trusted proxy.
		{"xff one hop", trusted, ingress, hdr{"X-Forwarded-For", "203.0.113.7"}, "203.0.113.7"},
		{"xff skips trusted hops", trusted, ingress, hdr{"X-Forwarded-For", "203.0.113.7, 10.0.0.5, 2001:db8:cd::1"}, "203.0.113.7"},
		{"xff all trusted: leftmost", trusted, ingress, hdr{"X-Forwarded-For", "10.0.0.9, 10.0.0.5"}, "10.0.0.9"},
		{"xff several lines in order", trusted, ingress, hdr{"X-Forwarded-For", "198.51.100.1", "X-Forwarded-For", "203.0.113.7, 10.0.0.5"}, "203.0.113.7"},
		{"xff with port", trusted, ingress, hdr{"X-Forwarded-For", "203.0.113.7:4711"}, "203.0.113.7"},
		{"xff ipv6", trusted, ingress, hdr{"X-Forwarded-For", "2001:db8::1"}, "2001:db8::1"},
		{"xff bracketed ipv6 with port", trusted, ingress, hdr{"X-Forwarded-For", "[2001:db8::1]:4711"}, "2001:db8::1"},
		{"xff bracketed ipv6", trusted, ingress, hdr{"X-Forwarded-For", "[2001:db8::1]"}, "2001:db8::1"},
		{"xff ipv4-mapped", trusted, ingress, hdr{"X-Forwarded-For", "::ffff:203.0.113.7"}, "203.0.113.7"},
		{"xff ipv6 zone dropped", trusted, ingress, hdr{"X-Forwarded-For", "fe80::1%eth0"}, "fe80::1"},
		{"xff no spaces", trusted, ingress, hdr{"X-Forwarded-For", "198.51.100.1,203.0.113.7"}, "203.0.113.7"},

		// Malformed from a trusted proxy: the peer.
		{"xff garbage", trusted, ingress, hdr{"X-Forwarded-For", "not-an-ip"}, "10.1.2.3"},
		{"xff unknown", trusted, ingress, hdr{"X-Forwarded-For", "unknown"}, "10.1.2.3"},
		{"xff empty", trusted, ingress, hdr{"X-Forwarded-For", ""}, "10.1.2.3"},
		{"xff empty entry reached", trusted, ingress, hdr{"X-Forwarded-For", "203.0.113.7, , 10.0.0.5"}, "10.1.2.3"},
		{"xff trailing comma", trusted, ingress, hdr{"X-Forwarded-For", "203.0.113.7,"}, "10.1.2.3"},
		{"xff hostname", trusted, ingress, hdr{"X-Forwarded-For", "evil.example"}, "10.1.2.3"},
		{"xff cidr", trusted, ingress, hdr{"X-Forwarded-For", "203.0.113.0/24"}, "10.1.2.3"},
		{"xff too long", trusted, ingress, hdr{"X-Forwarded-For", strings.Repeat("198.51.100.1, ", 400) + "203.0.113.7"}, "10.1.2.3"},
		{"no headers: the proxy's own request", trusted, ingress, nil, "10.1.2.3"},

		// RFC 7239 Forwarded from a trusted proxy.
		{"forwarded ipv4", trusted, ingress, hdr{"Forwarded", "for=203.0.113.7"}, "203.0.113.7"},
		{"forwarded case and params", trusted, ingress, hdr{"Forwarded", "proto=https; For=203.0.113.7 ;by=10.0.0.1"}, "203.0.113.7"},
		{"forwarded quoted ipv6 with port", trusted, ingress, hdr{"Forwarded", `for="[2001:db8::1]:4711"`}, "2001:db8::1"},
		{"forwarded quoted ipv6", trusted, ingress, hdr{"Forwarded", `for="[2001:db8::1]"`}, "2001:db8::1"},
		{"forwarded quoted ipv4 with port", trusted, ingress, hdr{"Forwarded", `for="203.0.113.7:80"`}, "203.0.113.7"},
		{"forwarded escaped quote char", trusted, ingress, hdr{"Forwarded", `for="\203.0.113.7"`}, "203.0.113.7"},
		{"forwarded several hops", trusted, ingress, hdr{"Forwarded", `for=198.51.100.1, for=203.0.113.7, for="[2001:db8:cd::9]"`}, "203.0.113.7"},
		{"forwarded several lines", trusted, ingress, hdr{"Forwarded", "for=198.51.100.1", "Forwarded", "for=203.0.113.7;proto=https"}, "203.0.113.7"},
		{"forwarded garbage left is not read", trusted, ingress, hdr{"Forwarded", `for=unknown;;;"", for=203.0.113.7`}, "203.0.113.7"},
		{"forwarded quoted comma elsewhere", trusted, ingress, hdr{"Forwarded", `for=203.0.113.7;ext="a,b"`}, "203.0.113.7"},
		{"forwarded unknown", trusted, ingress, hdr{"Forwarded", "for=unknown"}, "10.1.2.3"},
		{"forwarded obfuscated", trusted, ingress, hdr{"Forwarded", "for=_hidden"}, "10.1.2.3"},
		{"forwarded unquoted ipv6", trusted, ingress, hdr{"Forwarded", "for=2001:db8::1"}, "10.1.2.3"},
		{"forwarded no for", trusted, ingress, hdr{"Forwarded", "proto=https"}, "10.1.2.3"},
		{"forwarded two for", trusted, ingress, hdr{"Forwarded", "for=203.0.113.7;for=198.51.100.1"}, "10.1.2.3"},
		{"forwarded unterminated quote", trusted, ingress, hdr{"Forwarded", `for="203.0.113.7`}, "10.1.2.3"},
		{"forwarded no value", trusted, ingress, hdr{"Forwarded", "for="}, "10.1.2.3"},
		{"forwarded garbage", trusted, ingress, hdr{"Forwarded", "\x00\xff=="}, "10.1.2.3"},
		{"forwarded garbage plus xff", trusted, ingress, hdr{"Forwarded", "garbage", "X-Forwarded-For", "203.0.113.7"}, "10.1.2.3"},

		// The peer itself.
		{"peer ipv4-mapped", nil, "[::ffff:203.0.113.7]:5000", nil, "203.0.113.7"},
		{"peer without port", nil, "203.0.113.7", nil, "203.0.113.7"},
		{"peer not an address", trusted, "pipe", hdr{"X-Forwarded-For", "203.0.113.7"}, "invalid IP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i+1 < len(c.headers); i += 2 {
				h.Add(c.headers[i], c.headers[i+1])
			}
			if got := c.t.ClientAddr(c.peer, h).String(); got != c.want {
				t.Fatalf("ClientAddr(%q, %v) = %s, want %s", c.peer, h, got, c.want)
			}
		})
	}
}

func TestClientAddrsMiddleware(t *testing.T) {
	trusted := NewTrustedProxies([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")})
	var got netip.Addr
	h := ClientAddrs(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientAddr(r) }))

	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.10:4000"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got.String() != "203.0.113.7" {
		t.Fatalf("behind a trusted proxy: %s", got)
	}

	// Without the middleware, ClientAddr is the peer.
	if a := ClientAddr(r); a.String() != "192.0.2.10" {
		t.Fatalf("without middleware: %s", a)
	}
}

func FuzzClientAddr(f *testing.F) {
	trusted := NewTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	f.Add("203.0.113.7, 10.0.0.1", `for="[2001:db8::1]:4711";proto=https`)
	f.Add("", `for=unknown, for="\"`)
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		h := http.Header{"X-Forwarded-For": {xff}, "Forwarded": {fwd}}
		a := trusted.ClientAddr("10.1.1.1:80", h)
		if !a.IsValid() {
			t.Fatalf("no address for %q %q", xff, fwd)
		}
		// Whatever the headers say, an untrusted peer is the answer.
		if b := trusted.ClientAddr("203.0.113.9:80", h); b.String() != "203.0.113.9" {
			t.Fatalf("untrusted peer became %s", b)
		}
	})
}
