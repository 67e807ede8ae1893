package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDescribeError: every kind of transport failure maps to a fixed text
// that carries no address of ours (resolver, listeners, what a name
// resolved to inside our network).
func TestDescribeError(t *testing.T) {
	resolver := &net.DNSError{Err: "no such host", Name: "a.example", Server: "10.255.255.53:53", IsNotFound: true}
	dial := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://a.example/hook", Err: &net.OpError{Op: "dial", Net: "tcp",
			Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 443}, Err: err}}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no such host", &url.Error{Op: "Post", URL: "https://a.example/", Err: resolver}, "DNS lookup failed: no such host"},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "a.example", Server: "10.255.255.53:53", IsTimeout: true}, "DNS lookup failed: timed out"},
		{"DNS server failure", &net.DNSError{Err: "server misbehaving", Name: "a.example", Server: "10.255.255.53:53"}, "DNS lookup failed"},
		{"refused", dial(syscall.ECONNREFUSED), "connection refused"},
		{"reset", dial(syscall.ECONNRESET), "connection reset by the server"},
		{"unreachable", dial(syscall.EHOSTUNREACH), "host unreachable"},
		{"dial timeout", dial(timeoutErr{}), "could not connect within 5s"},
		{"whole timeout", &url.Error{Op: "Post", URL: "https://a.example/", Err: context.DeadlineExceeded}, "timed out after 15s"},
		{"client timeout", &url.Error{Op: "Post", URL: "https://a.example/", Err: timeoutErr{}}, "timed out after 15s"},
		{"handshake timeout", errors.New("net/http: TLS handshake timeout"), "TLS handshake timed out after 10s"},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "TLS handshake failed: certificate signed by an unknown authority"},
		{"wrong host", x509.HostnameError{Host: "a.example", Certificate: &x509.Certificate{}}, "TLS handshake failed: certificate is not valid for the URL's host name"},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{}}, "TLS handshake failed: certificate has expired or is not yet valid"},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "TLS handshake failed: the server did not answer with TLS"},
		{"alert", tls.AlertError(40), "TLS handshake failed: remote error: handshake failure"},
		{"anything else", fmt.Errorf("read from 10.1.2.3: %w", errors.New("odd")), "the request failed"},
		{"EOF", &url.Error{Op: "Post", URL: "https://a.example/", Err: fmt.Errorf("read tcp 10.0.0.1:1->10.1.2.3:443: %w", io.EOF)}, "the server closed the connection without answering"},
		{"blocked literal", &BlockedAddressError{Host: "127.0.0.1", IP: netip.MustParseAddr("127.0.0.1")}, "refused: 127.0.0.1 is a loopback address, which webhooks cannot reach"},
		{"blocked name", &BlockedAddressError{Host: "a.example", IP: netip.MustParseAddr("10.1.2.3")}, "refused: the host resolves to an internal address, which webhooks cannot reach"},
		{"our listener", &BlockedAddressError{Host: "localhost", IP: netip.MustParseAddr("127.0.0.1"), Port: 9100, Listener: true}, "refused: the address is one of this Tillpoint's own services"},
	}
	for _, tt := range tests {
		got := DescribeError(tt.err, DefaultTimeout)
		if got != tt.want {
			t.Errorf("%s: DescribeError(%v) = %q, want %q", tt.name, tt.err, got, tt.want)
		}
		for _, leak := range []string{"10.255.255.53", "10.1.2.3", ":53", "9100"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: %q leaks %q", tt.name, got, leak)
			}
		}
	}
	if got := DescribeError(nil, DefaultTimeout); got != "" {
		t.Errorf("DescribeError(nil) = %q", got)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout talking to 10.1.2.3" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestDeliverMessages: real failures, through the real client, give the
// merchant the fixed texts.
func TestDeliverMessages(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	plain := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	tlsSrv := newCountingServer(t, "127.0.0.1:0", true, nil)
	release := make(chan struct{})
	slow := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before slow.Close, which waits for handlers
	open := NewClient(ClientOptions{AllowPrivate: true, lookup: testLookup})
	guarded := NewClient(ClientOptions{lookup: testLookup})
	quick := NewClient(ClientOptions{AllowPrivate: true, Timeout: 100 * time.Millisecond, lookup: testLookup})
	tests := []struct {
		name   string
		client *http.Client
		url    string
		want   string
	}{
		{"no such host", open, "https://nowhere.test/hook", "DNS lookup failed: no such host"},
		{"refused", open, "http://" + closed + "/hook", "connection refused"},
		{"status", open, plain.URL, "the endpoint answered 500, not 2xx"},
		{"unknown authority", open, tlsSrv.URL, "TLS handshake failed: certificate signed by an unknown authority"},
		{"not TLS", open, "https://" + strings.TrimPrefix(plain.URL, "http://"), "TLS handshake failed: the server answered with plain http"},
		{"timeout", quick, slow.URL, "timed out after 100ms"},
		{"internal name", guarded, "https://metadata.test/latest", "refused: the host resolves to an internal address, which webhooks cannot reach"},
	}
	for _, tt := range tests {
		res := Deliver(t.Context(), tt.client, tt.url, nil, []byte("{}"))
		if res.Message != tt.want {
			t.Errorf("%s: Message = %q, want %q (error: %v)", tt.name, res.Message, tt.want, res.Err)
		}
	}
}
