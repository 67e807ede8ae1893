package httpx

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"
)

// LocalhostClient is an HTTP client that dials names under .localhost on
// loopback, as browsers and curl do (RFC 6761) and Go's resolver does not, so
// that services can call each other by their dev hostnames with the right
// Host header. Other names resolve as usual.
func LocalhostClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: timeout, Transport: tr}
}
