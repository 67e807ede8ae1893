package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is a test endpoint that counts the connections it accepts
// and the requests it serves.
type countingServer struct {
	*httptest.Server
	conns, reqs atomic.Int64
	lastHost    atomic.Value // string: the Host header of the last request
}

// newCountingServer starts a server on addr ("127.0.0.1:0", "[::1]:0").
// With tlsOn it serves https with httptest's certificate.
func newCountingServer(t *testing.T, addr string, tlsOn bool, h http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{}
	if h == nil {
		h = func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reqs.Add(1)
		s.lastHost.Store(r.Host)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s.Listener.Close()
	s.Listener = ln
	if tlsOn {
		// Handshakes the test makes fail on purpose would be logged.
		s.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// port is the server's port, to build URLs with other host names.
func (s *countingServer) port() string {
	u, _ := url.Parse(s.URL)
	return u.Port()
}

// staticLookup resolves names from a map and fails for others, so tests
// never reach a real resolver.
func staticLookup(m map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ips, ok := m[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host (test)", Name: host, IsNotFound: true}
		}
		out := make([]netip.Addr, len(ips))
		for i, s := range ips {
			out[i] = netip.MustParseAddr(s)
		}
		return out, nil
	}
}

var testLookup = staticLookup(map[string][]string{
	"loopback.test":   {"127.0.0.1"},
	"mapped.test":     {"::ffff:127.0.0.1"},
	"mixed.test":      {"1.1.1.1", "127.0.0.1"},
	"metadata.test":   {"169.254.169.254"},
	"merchant.test":   {"127.0.0.1"},
	"example.com":     {"127.0.0.1"}, // httptest's certificate is for example.com
	"v6loopback.test": {"::1"},
})

func TestClientRefusesInternalAddressesWithoutConnecting(t *testing.T) {
	v4 := newCountingServer(t, "127.0.0.1:0", false, nil)
	p := v4.port()
	guarded := NewClient(ClientOptions{lookup: testLookup})
	open := NewClient(ClientOptions{AllowPrivate: true, lookup: testLookup})

	tests := []struct {
		url  string
		host string
		ip   string
	}{
		{"http://127.0.0.1:" + p + "/hook", "127.0.0.1", "127.0.0.1"},
		{"http://localhost:" + p + "/hook", "localhost", "127.0.0.1"},
		{"http://api.localhost:" + p + "/hook", "api.localhost", "127.0.0.1"},
		{"http://loopback.test:" + p + "/hook", "loopback.test", "127.0.0.1"},
		{"http://mapped.test:" + p + "/hook", "mapped.test", "127.0.0.1"},
		{"http://mixed.test:" + p + "/hook", "mixed.test", "127.0.0.1"},
		{"http://[::ffff:127.0.0.1]:" + p + "/hook", "::ffff:127.0.0.1", "127.0.0.1"},
		{"https://metadata.test/latest/meta-data", "metadata.test", "169.254.169.254"},
		{"http://169.254.169.254/latest/meta-data", "169.254.169.254", "169.254.169.254"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			res := Deliver(t.Context(), guarded, tt.url, Headers("evt_1", time.Now(), []byte("{}")), []byte("{}"))
			var be *BlockedAddressError
			if !errors.As(res.Err, &be) {
				t.Fatalf("Deliver = %+v, want a *BlockedAddressError", res)
			}
			if be.Host != tt.host || be.IP != netip.MustParseAddr(tt.ip) {
				t.Errorf("BlockedAddressError{%q, %v}, want {%q, %v}", be.Host, be.IP, tt.host, tt.ip)
			}
			if res.Status != 0 || res.OK() {
				t.Errorf("Result = %+v, want no status and not OK", res)
			}
		})
	}
	// The socket-level check alone refuses too (it backs up the resolver
	// check should a future change dial something unchecked).
	d := net.Dialer{Control: controlBlocked(false, DenyList{})}
	if conn, err := d.DialContext(t.Context(), "tcp", v4.Listener.Addr().String()); err == nil {
		conn.Close()
		t.Error("a dialer with controlBlocked connected to loopback")
	} else if be := (*BlockedAddressError)(nil); !errors.As(err, &be) {
		t.Errorf("controlBlocked dial error = %v, want a *BlockedAddressError", err)
	}
	// The accept loop counts a connection before serving the next one, so
	// once this allowed request is served every earlier connection, had
	// there been one, is counted.
	if res := Deliver(t.Context(), open, "http://merchant.test:"+p+"/hook", nil, []byte("{}")); !res.OK() {
		t.Fatalf("allowed delivery: %+v", res)
	}
	if c, r := v4.conns.Load(), v4.reqs.Load(); c != 1 || r != 1 {
		t.Errorf("server saw %d connections and %d requests, want only the allowed one", c, r)
	}
	if h := v4.lastHost.Load(); h != "merchant.test:"+p {
		t.Errorf("Host = %v, want the URL's host merchant.test:%s", h, p)
	}
}

func TestClientRefusesIPv6Loopback(t *testing.T) {
	v6 := newCountingServer(t, "[::1]:0", false, nil)
	p := v6.port()
	guarded := NewClient(ClientOptions{lookup: testLookup})
	for _, u := range []string{"http://[::1]:" + p + "/", "http://v6loopback.test:" + p + "/"} {
		res := Deliver(t.Context(), guarded, u, nil, []byte("{}"))
		var be *BlockedAddressError
		if !errors.As(res.Err, &be) || be.IP != netip.IPv6Loopback() {
			t.Errorf("Deliver(%s) = %+v, want a *BlockedAddressError for ::1", u, res)
		}
	}
	open := NewClient(ClientOptions{AllowPrivate: true, lookup: testLookup})
	if res := Deliver(t.Context(), open, "http://v6loopback.test:"+p+"/", nil, []byte("{}")); !res.OK() {
		t.Fatalf("allowed delivery: %+v", res)
	}
	if c, r := v6.conns.Load(), v6.reqs.Load(); c != 1 || r != 1 {
		t.Errorf("server saw %d connections and %d requests, want only the allowed one", c, r)
	}
}

// TestClientAllowPrivateDevStack is the dev stack's case: a merchant's
// endpoint on localhost and on a *.localhost name.
func TestClientAllowPrivateDevStack(t *testing.T) {
	srv := newCountingServer(t, "127.0.0.1:0", false, nil)
	client := NewClient(ClientOptions{AllowPrivate: true})
	for _, u := range []string{srv.URL + "/hook", "http://localhost:" + srv.port() + "/hook", "http://webhook.localhost:" + srv.port() + "/hook"} {
		if res := Deliver(t.Context(), client, u, nil, []byte("{}")); !res.OK() || res.ResponseExcerpt != "ok" {
			t.Errorf("Deliver(%s) = %+v, want 200 ok", u, res)
		}
	}
	if h := srv.lastHost.Load(); h != "webhook.localhost:"+srv.port() {
		t.Errorf("Host = %v, want webhook.localhost:%s", h, srv.port())
	}
}

// TestClientTLSVerifiesTheURLHost dials the resolved address while checking
// the certificate against the URL's host name.
func TestClientTLSVerifiesTheURLHost(t *testing.T) {
	srv := newCountingServer(t, "127.0.0.1:0", true, nil)
	client := NewClient(ClientOptions{AllowPrivate: true, lookup: testLookup})
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool

	if res := Deliver(t.Context(), client, "https://example.com:"+srv.port()+"/hook", nil, []byte("{}")); !res.OK() {
		t.Fatalf("https delivery: %+v", res)
	}
	res := Deliver(t.Context(), client, "https://merchant.test:"+srv.port()+"/hook", nil, []byte("{}"))
	var certErr *tls.CertificateVerificationError
	if !errors.As(res.Err, &certErr) {
		t.Errorf("delivery to a host the certificate does not name = %+v, want a certificate error", res)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	target := newCountingServer(t, "127.0.0.1:0", false, nil)
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", code)
		})
		client := NewClient(ClientOptions{AllowPrivate: true})
		res := Deliver(t.Context(), client, redirector.URL+"/hook", nil, []byte("{}"))
		if res.Status != code || !errors.Is(res.Err, ErrStatus) || res.OK() {
			t.Errorf("redirect %d: Result = %+v, want status %d and ErrStatus", code, res, code)
		}
		if redirector.reqs.Load() != 1 {
			t.Errorf("redirect %d: redirector saw %d requests, want 1", code, redirector.reqs.Load())
		}
	}
	if n := target.conns.Load(); n != 0 {
		t.Errorf("redirect target saw %d connections, want 0", n)
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close, which waits for handlers

	const timeout = 200 * time.Millisecond
	client := NewClient(ClientOptions{AllowPrivate: true, Timeout: timeout})
	res := Deliver(t.Context(), client, srv.URL+"/hook", nil, []byte("{}"))
	var ne net.Error
	if !errors.As(res.Err, &ne) || !ne.Timeout() {
		t.Fatalf("Result = %+v, want a timeout error", res)
	}
	if res.Status != 0 || res.Latency < timeout || res.Latency > DefaultTimeout {
		t.Errorf("Result = %+v, want no status and a latency of about %v", res, timeout)
	}
}

func TestClientContextCancel(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-arrived; cancel() }()
	res := Deliver(ctx, NewClient(ClientOptions{AllowPrivate: true}), srv.URL, nil, []byte("{}"))
	if !errors.Is(res.Err, context.Canceled) {
		t.Errorf("Result = %+v, want context.Canceled", res)
	}
}

func TestNewClientSettings(t *testing.T) {
	c := NewClient(ClientOptions{})
	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v, want %v", c.Timeout, DefaultTimeout)
	}
	if c.CheckRedirect == nil || c.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("CheckRedirect does not stop at the first response")
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T", c.Transport)
	}
	if tr.Proxy != nil {
		t.Error("Proxy is set; it must not come from the environment")
	}
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
		t.Error("TLS below 1.2 allowed")
	}
	if tr.MaxIdleConnsPerHost <= 0 || tr.MaxIdleConnsPerHost > 8 || tr.ResponseHeaderTimeout <= 0 || tr.ResponseHeaderTimeout > DefaultTimeout {
		t.Errorf("MaxIdleConnsPerHost = %d, ResponseHeaderTimeout = %v", tr.MaxIdleConnsPerHost, tr.ResponseHeaderTimeout)
	}
	if c := NewClient(ClientOptions{Timeout: time.Second}); c.Timeout != time.Second {
		t.Errorf("Timeout option ignored: %v", c.Timeout)
	}
}
