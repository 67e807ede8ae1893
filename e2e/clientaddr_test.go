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

// The stack's admin-api runs with the default limits: 60 failed
// authentications a minute per address. Beyond them an address gets 429s
// with Retry-After, and a valid key from another address still works.
func TestMerchantAPILimitsFailedAuthentication(t *testing.T) {
	send := func(key, from string) *http.Response {
		req, _ := http.NewRequest("GET", sys.AdminAPIURL+"/v1/sites", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Forwarded-For", from)
		resp, err := merchant.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	const bad = "sk_test_111111111111111111111111111111111111111111111111"
	failures := 0
	var limited *http.Response
	for range 200 { // tokens refill at one a second while this runs
		resp := send(bad, "203.0.113.90")
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = resp
			break
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad key: %d", resp.StatusCode)
		}
		failures++
	}
	if limited == nil || failures < 60 {
		t.Fatalf("after %d failed authentications: limited=%v, want a 429 after at least 60", failures, limited != nil)
	}
	if limited.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if resp := send(sys.SecretKey, "203.0.113.91"); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid key from another address: %d", resp.StatusCode)
	}
}
