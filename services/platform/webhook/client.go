package webhook

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// ClientOptions configures NewClient.
type ClientOptions struct {
	// AllowPrivate lets deliveries reach loopback, private and other
	// internal addresses. Only the local dev stack sets it, so that a
	// merchant can receive webhooks on localhost.
	AllowPrivate bool
	// Deny lists listeners never connected to, AllowPrivate or not: our own
	// services' (see TargetPolicy).
	Deny DenyList
	// Timeout bounds a whole delivery: connecting, sending, the response
	// headers and reading the response excerpt. Zero means DefaultTimeout.
	Timeout time.Duration
	// IdleConnsPerHost is how many idle connections to one host are kept
	// for reuse; set it to the attempts allowed in flight at once (over all
	// endpoints, which may share a host), so that a busy host does not get
	// a new connection for most of them. Zero means defaultIdleConnsPerHost.
	// The idle connections over all hosts are at least as many.
	IdleConnsPerHost int

	// lookup resolves a host name; nil means net.DefaultResolver. Tests
	// set it to make names resolve where they need them to.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// DefaultTimeout is the delivery timeout of DESIGN §3. Receivers are told
// to answer quickly and do their work later; 15 s is generous for that and
// keeps a slow endpoint from holding a worker.
const DefaultTimeout = 15 * time.Second

const (
	// dialTimeout bounds one TCP connect, so that a name with several
	// addresses can move on from a black-holed one within the timeout.
	dialTimeout = 5 * time.Second
	// tlsHandshakeTimeout bounds the handshake separately so a server that
	// accepts and then stalls is noticed early.
	tlsHandshakeTimeout = 10 * time.Second
	// defaultIdleConnsPerHost keeps a few warm connections to busy
	// endpoints without letting one merchant hold many sockets open.
	defaultIdleConnsPerHost = 4
	// maxIdleConns caps idle connections over all endpoints.
	maxIdleConns = 256
	// idleConnTimeout closes idle connections before most servers'
	// keep-alive timeouts would, avoiding races with their close.
	idleConnTimeout = 60 * time.Second
	// maxResponseHeaderBytes: we only need the status; a hostile endpoint
	// should not make us buffer megabytes of headers.
	maxResponseHeaderBytes = 64 << 10
)

// NewClient returns the HTTP client for webhook deliveries. It
//   - never follows redirects: a 3xx is returned as the response, a failed
//     delivery (a redirect could lead anywhere, including inside our network);
//   - resolves the host when it connects and refuses, with a
//     *BlockedAddressError, if any of its addresses is internal (see
//     blockedRanges), then connects to the very address it checked, so a DNS
//     answer that changes between check and connect (rebinding) cannot
//     slip an internal address through; unless opts.AllowPrivate is set;
//   - dials names under .localhost on 127.0.0.1;
//   - ignores proxy settings in the environment, requires TLS 1.2 or later,
//     and applies opts.Timeout to the whole exchange.
func NewClient(opts ClientOptions) *http.Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	g := &guardedDialer{
		allowPrivate: opts.AllowPrivate,
		deny:         opts.Deny,
		lookup:       opts.lookup,
		dialer: net.Dialer{
			Timeout:   min(dialTimeout, timeout),
			KeepAlive: 30 * time.Second,
		},
	}
	if g.lookup == nil {
		g.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	// A second check on the socket address itself, right before
	// connect(2): nothing but guardedDialer dials, so this only catches a
	// mistake in it.
	g.dialer.Control = controlBlocked(opts.AllowPrivate, opts.Deny)
	tr := &http.Transport{
		Proxy:                  nil, // never from the environment: the proxy would make the connection, unchecked
		DialContext:            g.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    min(tlsHandshakeTimeout, timeout),
		ResponseHeaderTimeout:  timeout,
		MaxIdleConns:           max(maxIdleConns, opts.IdleConnsPerHost),
		MaxIdleConnsPerHost:    cmp.Or(opts.IdleConnsPerHost, defaultIdleConnsPerHost),
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// guardedDialer resolves, checks and dials, in that order, so that the
// address connected to is always one that was checked.
type guardedDialer struct {
	allowPrivate bool
	deny         DenyList
	lookup       func(ctx context.Context, host string) ([]netip.Addr, error)
	dialer       net.Dialer
}

// DialContext is the http.Transport dial function.
func (g *guardedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("webhook: bad port in dial address %q", addr)
	}
	// Every address must pass, not just the one we would try first: the
	// others would be tried when it fails.
	for _, ip := range ips {
		if _, bad := blockedReason(ip); bad && !g.allowPrivate {
			return nil, &BlockedAddressError{Host: host, IP: ip}
		}
		if g.deny.denies(ip, uint16(n), resolverLookup(ctx, g.lookup)) {
			return nil, &BlockedAddressError{Host: host, IP: ip, Port: uint16(n), Listener: true}
		}
	}
	var errs []error
	for _, ip := range ips {
		conn, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// resolve returns the addresses to dial for host: the address itself for an
// IP literal, loopback for .localhost names, the resolver's answer otherwise.
func (g *guardedDialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	if isLocalhostName(host) {
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}, nil
	}
	ips, err := g.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	for i := range ips {
		// The resolver may hand IPv4 answers back as IPv4-mapped IPv6.
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}

// controlBlocked returns a net.Dialer.Control function that refuses blocked
// socket addresses (unless allowPrivate) and denied listeners (those given
// by address; names were resolved and checked by guardedDialer).
func controlBlocked(allowPrivate bool, deny DenyList) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhook: unexpected dial address %q: %w", address, err)
		}
		ip := ap.Addr().WithZone("").Unmap()
		if _, bad := blockedReason(ip); bad && !allowPrivate {
			return &BlockedAddressError{Host: ip.String(), IP: ip}
		}
		if deny.denies(ip, ap.Port(), nil) {
			return &BlockedAddressError{Host: ip.String(), IP: ip, Port: ap.Port(), Listener: true}
		}
		return nil
	}
}

// Clients are the delivery clients of a TargetPolicy: one that refuses
// internal addresses and one that allows them, both refusing the denied
// listeners. Two transports, so that a connection opened for a target that
// may be private is never reused for one that may not.
type Clients struct {
	policy          TargetPolicy
	public, private *http.Client
}

// NewClients makes the clients of policy; opts.AllowPrivate and opts.Deny
// are set from it.
func NewClients(policy TargetPolicy, opts ClientOptions) *Clients {
	opts.Deny = policy.Deny
	opts.AllowPrivate = false
	public := NewClient(opts)
	opts.AllowPrivate = true
	return &Clients{policy: policy, public: public, private: NewClient(opts)}
}

// For returns the client for a delivery to a target of org in this mode.
func (c *Clients) For(org string, live bool) *http.Client {
	if c.policy.AllowsPrivate(org, live) {
		return c.private
	}
	return c.public
}
