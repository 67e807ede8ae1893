package httpx

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the networks of the reverse proxies (load balancers,
// the Ingress controller) in front of a service. Only a connection from one
// of them may tell us, in X-Forwarded-For or Forwarded, who the client is;
// from anyone else those headers are the client's own words and are ignored.
// The zero value (and nil) trusts no one.
type TrustedProxies struct {
	nets []netip.Prefix
}

// NewTrustedProxies trusts the given networks (config's TRUSTED_PROXIES).
func NewTrustedProxies(nets []netip.Prefix) *TrustedProxies {
	return &TrustedProxies{nets: append([]netip.Prefix(nil), nets...)}
}

func (t *TrustedProxies) trusts(a netip.Addr) bool {
	if t == nil {
		return false
	}
	for _, n := range t.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr derives the client's address of a request that arrived from
// remoteAddr (the TCP peer, "ip:port" as in http.Request.RemoteAddr) with
// the headers h:
//
//   - a peer that is not a trusted proxy is the client; its forwarding
//     headers are ignored (a client cannot spoof its address by sending them);
//   - from a trusted proxy, X-Forwarded-For and Forwarded (RFC 7239 "for=")
//     are each read as a list of hops (all lines of the header, in order)
//     and walked from the right — the end the proxies appended — skipping
//     trusted addresses; the first untrusted one is the client (when every
//     hop is trusted, the leftmost is). Hops left of it are not read;
//   - reaching a hop that is not an address ("unknown", an obfuscated
//     "_hidden", garbage), a header longer than maxHeaderLen, or two headers
//     that name different clients (the proxy wrote one, the client the
//     other) makes the peer the answer: the proxy's own address, never one
//     the client chose.
//
// IPv4-mapped IPv6 addresses are returned as IPv4, without zone. The result
// is invalid only when remoteAddr is not an address (never from net/http).
func (t *TrustedProxies) ClientAddr(remoteAddr string, h http.Header) netip.Addr {
	peer, ok := parseHop(remoteAddr)
	if !ok || !t.trusts(peer) {
		return peer
	}
	xff, xffState := t.walk(forwardedForHops(h.Values("X-Forwarded-For")))
	fwd, fwdState := t.walk(forwardedHops(h.Values("Forwarded")))
	switch {
	case xffState == found && fwdState == found:
		if xff == fwd {
			return xff
		}
		return peer // two answers: one of them was written by the client
	case xffState == found && fwdState == absent:
		return xff
	case fwdState == found && xffState == absent:
		return fwd
	}
	return peer // no forwarding header (the proxy's own request), or a malformed one
}

// hopsState is what a forwarding header told.
type hopsState int

const (
	absent    hopsState = iota // no such header
	malformed                  // present but not a list of addresses
	found                      // a client address
)

// walk returns the first untrusted hop from the right, or the leftmost hop
// when all are trusted. Hops left of the client's are the client's own
// words and are not read at all, so garbage there changes nothing.
func (t *TrustedProxies) walk(hops []string, present bool) (netip.Addr, hopsState) {
	if !present {
		return netip.Addr{}, absent
	}
	if len(hops) == 0 {
		return netip.Addr{}, malformed
	}
	var a netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		var ok bool
		if a, ok = parseHop(hops[i]); !ok {
			return netip.Addr{}, malformed
		}
		if !t.trusts(a) {
			return a, found
		}
	}
	return a, found
}

// maxHeaderLen bounds the work spent on one request's forwarding headers:
// real chains have a handful of proxies, and a longer header (which a
// client can pad freely) is treated as malformed.
const maxHeaderLen = 4096

// joinLines joins the lines of a header in order, as RFC 9110 says they
// combine; ok is false when there are none or they are too long.
func joinLines(lines []string) (joined string, present, ok bool) {
	if len(lines) == 0 {
		return "", false, false
	}
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	if n > maxHeaderLen {
		return "", true, false
	}
	return strings.Join(lines, ","), true, true
}

// forwardedForHops splits X-Forwarded-For lines into hops. present is false
// when there is no such header.
func forwardedForHops(lines []string) (hops []string, present bool) {
	s, present, ok := joinLines(lines)
	if !ok {
		return nil, present
	}
	hops = strings.Split(s, ",")
	for i := range hops {
		hops[i] = strings.TrimSpace(hops[i])
	}
	return hops, true
}

// forwardedHops reads the for= value of each element of RFC 7239 Forwarded
// lines (elements separated by commas, pairs by semicolons, values a token
// or a quoted string). An element without one for=, or that does not parse,
// is a hop we cannot name: it is returned as "", which walk refuses when it
// reaches it.
func forwardedHops(lines []string) (hops []string, present bool) {
	s, present, ok := joinLines(lines)
	if !ok {
		return nil, present
	}
	for _, elem := range splitOutsideQuotes(s, ',') {
		hops = append(hops, forwardedFor(elem))
	}
	return hops, true
}

// splitOutsideQuotes splits s at each sep that is not inside a quoted string.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// forwardedFor returns the for= value of one Forwarded element, unquoted, or
// "" when the element has none, has two, or is malformed.
func forwardedFor(elem string) string {
	var value string
	found := false
	for _, pair := range splitOutsideQuotes(elem, ';') {
		name, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !isToken(name) {
			return ""
		}
		if v, ok = unquote(v); !ok {
			return ""
		}
		if strings.EqualFold(name, "for") {
			if found {
				return ""
			}
			value, found = v, true
		}
	}
	return value
}

// unquote reads a token or a quoted string (RFC 7230 §3.2.6).
func unquote(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v, isToken(v)
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		c := v[i]
		if c == '\\' {
			if i+1 >= len(v)-1 {
				return "", false
			}
			i++
			c = v[i]
		} else if c == '"' {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseHop reads one hop's address: "192.0.2.1", "192.0.2.1:8080",
// "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:4711".
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return normalize(a), true
		}
	}
	return netip.Addr{}, false
}

func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

type clientAddrKey struct{}

// ClientAddrs is a middleware storing each request's client address, as
// t.ClientAddr derives it, for ClientAddr to return. Install it on every
// public handler whose limits are per address.
func ClientAddrs(t *TrustedProxies) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := t.ClientAddr(r.RemoteAddr, r.Header)
			next.ServeHTTP(w, r.WithContext(WithClientAddr(r.Context(), a)))
		})
	}
}

// WithClientAddr returns ctx carrying the client address a.
func WithClientAddr(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, a)
}

// ClientAddrFromContext returns the address ClientAddrs (or WithClientAddr)
// stored; ok is false when there is none.
func ClientAddrFromContext(ctx context.Context) (a netip.Addr, ok bool) {
	a, ok = ctx.Value(clientAddrKey{}).(netip.Addr)
	return a, ok
}

// ClientAddr returns the request's client address: the one ClientAddrs
// derived, or, without that middleware, the TCP peer (no proxy trusted).
func ClientAddr(r *http.Request) netip.Addr {
	if a, ok := ClientAddrFromContext(r.Context()); ok {
		return a
	}
	return (*TrustedProxies)(nil).ClientAddr(r.RemoteAddr, r.Header)
}
