package webhook

import (
	"fmt"
	"net/netip"
	"strings"
)

// BlockedAddressError is returned (wrapped in the *url.Error of the HTTP
// client) when a delivery would connect to an address that merchants must
// not reach through us: loopback, private networks, link-local (cloud
// metadata), and the like. Find it with errors.As.
type BlockedAddressError struct {
	Host string     // the host name of the URL, as given
	IP   netip.Addr // the refused address it resolved to
	// Port is set, with Listener, when the address and port are one of
	// our own services' listeners (see DenyList).
	Port     uint16
	Listener bool
}

// Error says which address was refused and why.
func (e *BlockedAddressError) Error() string {
	if e.Listener {
		return fmt.Sprintf("webhook: refusing to connect to %s (%s): one of our own listeners", e.Host,
			netip.AddrPortFrom(e.IP, e.Port))
	}
	reason, _ := blockedReason(e.IP)
	if reason == "" {
		reason = "non-public"
	}
	if e.Host == e.IP.String() {
		return fmt.Sprintf("webhook: refusing to connect to %s: %s address", e.IP, reason)
	}
	return fmt.Sprintf("webhook: refusing to connect to %s (%s): %s address", e.Host, e.IP, reason)
}

// blockedRange is a network that deliveries may not reach, with the name
// used in error messages.
type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// blockedRanges lists the special-purpose networks (IANA IPv4 and IPv6
// Special-Purpose Address Registries) that are not globally reachable, or
// that reach into our own network. IPv4-mapped IPv6 addresses are unmapped
// before the check; NAT64 and 6to4 addresses are checked by the IPv4 address
// they embed (see blockedReason).
var blockedRanges = func() []blockedRange {
	list := []struct{ cidr, reason string }{
		{"0.0.0.0/8", "\"this network\""},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "carrier-grade NAT"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local (cloud metadata)"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "IETF protocol assignment"},
		{"192.0.2.0/24", "documentation"},
		{"192.88.99.0/24", "6to4 relay anycast"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "benchmarking"},
		{"198.51.100.0/24", "documentation"},
		{"203.0.113.0/24", "documentation"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"}, // includes the broadcast address 255.255.255.255

		{"::/96", "unspecified, loopback or IPv4-compatible"}, // ::, ::1, deprecated ::a.b.c.d
		{"64:ff9b:1::/48", "local-use NAT64"},
		{"100::/64", "discard-only"},
		{"2001::/32", "Teredo"},
		{"2001:2::/48", "benchmarking"},
		{"2001:db8::/32", "documentation"},
		{"fc00::/7", "unique-local (private)"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local"},
		{"ff00::/8", "multicast"},
	}
	out := make([]blockedRange, len(list))
	for i, r := range list {
		out[i] = blockedRange{netip.MustParsePrefix(r.cidr), r.reason}
	}
	return out
}()

var (
	// nat64Prefix is the well-known NAT64 prefix (RFC 6052): the last 32
	// bits are an IPv4 address that a NAT64 gateway would connect to.
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	// sixToFourPrefix is 6to4 (RFC 3056): bits 16–47 are an IPv4 address.
	sixToFourPrefix = netip.MustParsePrefix("2002::/16")
)

// blockedReason reports whether deliveries must not connect to ip, and why.
func blockedReason(ip netip.Addr) (string, bool) {
	if !ip.IsValid() {
		return "invalid", true
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64Prefix.Contains(ip):
			if r, bad := blockedReason(netip.AddrFrom4([4]byte(b[12:16]))); bad {
				return "NAT64 of a " + r, true
			}
			return "", false
		case sixToFourPrefix.Contains(ip):
			if r, bad := blockedReason(netip.AddrFrom4([4]byte(b[2:6]))); bad {
				return "6to4 of a " + r, true
			}
			return "", false
		}
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.reason, true
		}
	}
	return "", false
}

// isLocalhostName reports whether host is "localhost" or a name under it,
// which RFC 6761 reserves for loopback (browsers and curl resolve them so;
// Go's resolver does not).
func isLocalhostName(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
