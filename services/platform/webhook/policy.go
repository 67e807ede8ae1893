package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/config"
)

// TargetPolicy is the one rule for every URL a merchant gives Tillpoint to
// call from its servers: webhook endpoints and a session's notify_url. Both
// admin-api (notify_url, at creation) and hooks (endpoints at creation, and
// every delivery at dial time) load it with LoadTargetPolicy from the same
// variables, so a URL accepted at creation is one that hooks will call.
//
// URLs that only a payer's browser loads (success_url, cancel_url, a site's
// logo, line-item images) are not ours to call and are not subject to it.
//
// The zero value is the production policy: https only, no internal
// addresses, for every organization in both modes.
type TargetPolicy struct {
	// PrivateInTestMode lets test-mode targets use http and be loopback or
	// private addresses (the dev stack, so merchants can test on localhost).
	PrivateInTestMode bool
	// PrivateOrgs are organizations whose targets may be private addresses
	// in both modes (an operator's own shop inside its network); live mode
	// still needs https.
	PrivateOrgs []string
	// Deny lists the listeners that are never called, whatever else is
	// allowed: the services' own HTTP, gRPC and metrics listeners.
	Deny DenyList
}

// AllowsPrivate reports whether org's targets in this mode may be loopback,
// private or other internal addresses.
func (p TargetPolicy) AllowsPrivate(org string, live bool) bool {
	return (p.PrivateInTestMode && !live) || slices.Contains(p.PrivateOrgs, org)
}

// CheckURL checks a target URL of org in this mode when the merchant gives
// it: ValidateURL's rules (https, except in test mode where private targets
// are allowed; no internal address or .localhost name unless allowed), and
// not one of the denied listeners when the host is an IP address or a
// .localhost name. Host names are checked again against what they resolve
// to at every delivery (Clients). The error wraps ErrInvalidURL and its
// message is fit to show the merchant.
func (p TargetPolicy) CheckURL(raw, org string, live bool) error {
	private := p.AllowsPrivate(org, live)
	if err := validateURL(raw, private && !live, private); err != nil {
		return err
	}
	u, _ := url.Parse(raw) // validateURL parsed it
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, _ := strconv.Atoi(port)
	ip, err := netip.ParseAddr(host)
	switch {
	case err == nil:
	case isLocalhostName(host):
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	default:
		return nil
	}
	if p.Deny.denies(ip.WithZone("").Unmap(), uint16(n), nil) {
		return fmt.Errorf("%w: %s is an address of this Tillpoint's own services, which webhooks cannot reach", ErrInvalidURL, u.Host)
	}
	return nil
}

// Private-target settings of WEBHOOK_ALLOW_PRIVATE_TARGETS.
const (
	privateTest = "test"
	// privateTrue is the old boolean form; it always meant test mode only.
	privateTrue = "true"
)

// LoadTargetPolicy reads the policy: WEBHOOK_ALLOW_PRIVATE_TARGETS ("test",
// a comma-separated list of organization ids, or both; "true" is "test" and
// "false" or empty is none) and WEBHOOK_DENY_TARGETS (comma-separated
// host:port listeners never to call). own are the calling service's own
// listen addresses, always denied.
func LoadTargetPolicy(l *config.Loader, own ...string) TargetPolicy {
	var p TargetPolicy
	const allowVar, denyVar = "WEBHOOK_ALLOW_PRIVATE_TARGETS", "WEBHOOK_DENY_TARGETS"
	for _, item := range splitList(l.String(allowVar, "")) {
		switch strings.ToLower(item) {
		case privateTest, privateTrue, "1":
			p.PrivateInTestMode = true
		case "false", "0":
		default:
			if !strings.HasPrefix(item, "org_") || strings.ContainsAny(item, " /:") {
				l.Fail(allowVar, "must be \"test\" (test mode only), organization ids (org_…), or both, comma-separated; got %q", item)
				continue
			}
			p.PrivateOrgs = append(p.PrivateOrgs, item)
		}
	}
	addrs := splitList(l.String(denyVar, ""))
	for _, a := range own {
		if a != "" { // a missing address is reported by its own variable
			addrs = append(addrs, a)
		}
	}
	deny, err := ParseDenyList(addrs...)
	if err != nil {
		l.Fail(denyVar, "%v", err)
	}
	p.Deny = deny
	return p
}

func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// DenyList is a set of listeners (host:port) that deliveries never connect
// to. An entry whose host is empty, unspecified (0.0.0.0, ::), loopback, a
// .localhost name or an address of this machine stands for every address
// of this machine on that port: a listener bound to all interfaces answers
// on 127.0.0.2, [::1] and the machine's own addresses alike. Other entries
// are that address (or what that name resolves to, at dial time).
type DenyList struct {
	entries []denyEntry
}

type denyEntry struct {
	port  uint16
	local bool       // any address of this machine
	ip    netip.Addr // when not local and given as an address
	name  string     // when not local and given as a name
}

// ParseDenyList parses host:port listener addresses (":9100",
// "127.0.0.1:8080", "[::]:9090", "admin-api.internal:9090").
func ParseDenyList(addrs ...string) (DenyList, error) {
	var d DenyList
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return d, fmt.Errorf("%q is not host:port", a)
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return d, fmt.Errorf("%q: port %q is not a number from 1 to 65535", a, port)
		}
		e := denyEntry{port: uint16(n)}
		ip, err := netip.ParseAddr(host)
		switch {
		case host == "" || isLocalhostName(host):
			e.local = true
		case err == nil:
			ip = ip.WithZone("").Unmap()
			if e.local = isLocalAddr(ip); !e.local {
				e.ip = ip
			}
		default:
			e.name = strings.ToLower(strings.TrimSuffix(host, "."))
		}
		d.entries = append(d.entries, e)
	}
	return d, nil
}

// Len is the number of listeners in the list.
func (d DenyList) Len() int { return len(d.entries) }

// denies reports whether connecting to ip:port would reach a listed
// listener. Entries given by name are resolved with lookup; with a nil
// lookup they are skipped (the dial-time check resolves them).
func (d DenyList) denies(ip netip.Addr, port uint16, lookup func(string) []netip.Addr) bool {
	// Whether ip is local is asked at most once: the answer lists the
	// machine's interfaces, a system call, on every delivery's connection.
	local, knownLocal := false, false
	ipLocal := func() bool {
		if !knownLocal {
			local, knownLocal = isLocalAddr(ip), true
		}
		return local
	}
	for _, e := range d.entries {
		if e.port != port {
			continue
		}
		switch {
		case e.local:
			if ipLocal() {
				return true
			}
		case e.name != "":
			if lookup == nil {
				continue
			}
			for _, a := range lookup(e.name) {
				if a = a.WithZone("").Unmap(); a == ip || (ipLocal() && isLocalAddr(a)) {
					return true
				}
			}
		case e.ip == ip:
			return true
		}
	}
	return false
}

// isLocalAddr reports whether ip reaches this machine: loopback, the
// unspecified address (which Linux connects to locally), or one of the
// addresses of its network interfaces.
func isLocalAddr(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		// Without the list, only loopback counts as local; listeners
		// bound to all interfaces are still caught on loopback.
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().WithZone("").Unmap() == ip {
			return true
		}
	}
	return false
}

// resolverLookup adapts a dialer's resolver to DenyList.denies, which needs
// only the addresses and treats a failed lookup as none.
func resolverLookup(ctx context.Context, lookup func(context.Context, string) ([]netip.Addr, error)) func(string) []netip.Addr {
	return func(name string) []netip.Addr {
		ips, _ := lookup(ctx, name)
		return ips
	}
}
