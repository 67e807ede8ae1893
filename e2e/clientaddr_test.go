package e2e

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// browserFrom is newBrowser connecting from a given loopback address.
func browserFrom(t *testing.T, local string) *http.Client {
	t.Helper()
	c := newBrowser()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}}
	return c
}

// payFrom makes one declined card attempt on a new session, saying it was
// forwarded for xff, and returns the client address the runtime recorded:
// the one its attempt limits counted.
func payFrom(t *testing.T, c *http.Client, xff string) string {
	t.Helper()
	s := newSession(t, nil)
	_, csrf := open(t, c, s["url"].(string))
	req, _ := http.NewRequest("POST", s["url"].(string)+"/pay", strings.NewReader(cardForm(csrf, provider.TestCardDeclined).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPaymentRequired {
		t.Fatalf("declined attempt: %d", resp.StatusCode)
	}
	var ip string
	if err := queryRow(t, "SELECT host(client_ip) FROM runtime.payments WHERE session_id = $1", s["id"]).Scan(&ip); err != nil {
		t.Fatal(err)
	}
	return ip
}

// The dev stack trusts 127.0.0.1 as a reverse proxy (TRUSTED_PROXIES): what
// it forwards names the payer; anyone else's X-Forwarded-For is ignored.
func TestPayerAddressBehindTrustedProxy(t *testing.T) {
	if got := payFrom(t, browserFrom(t, "127.0.0.1"), "198.51.100.1, 203.0.113.77"); got != "203.0.113.77" {
		t.Fatalf("behind the trusted proxy the payer is %s, want 203.0.113.77", got)
	}
	// 127.0.0.2 is on loopback too, but not a trusted proxy: its header is
	// its own claim.
	if got := payFrom(t, browserFrom(t, "127.0.0.2"), "203.0.113.78"); got != "127.0.0.2" {
		t.Fatalf("an untrusted client chose its address: %s, want 127.0.0.2", got)
	}
}
