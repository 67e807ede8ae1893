package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
)

// The tests stand behind a reverse proxy on loopback (trusted), which names
// the client in X-Forwarded-For: that is how they speak from several
// addresses.
var loopbackProxy = httpx.NewTrustedProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})

// noRefill: a rate so slow that no token comes back during a test.
const noRefill = 1e-9

const badKey = "sk_test_000000000000000000000000000000000000000000000000"

func from(addr string) []string { return []string{"X-Forwarded-For", addr} }

// expectRateLimited checks a 429 in the API's error shape with Retry-After.
func expectRateLimited(t *testing.T, resp *http.Response, body map[string]any) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d %v, want 429", resp.StatusCode, body)
	}
	if _, typ, code := apiError(body); typ != "rate_limit_error" || code != "rate_limited" {
		t.Fatalf("error %v, want rate_limit_error/rate_limited", body)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
	}
}

// call sends a request and returns the response with its decoded body.
func (e *env) call(method, path, key string, body any, headers ...string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp := e.raw(method, path, key, body, headers...)
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: %d, not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp, out
}

func TestFailedAuthLimitedPerAddress(t *testing.T) {
	// 5 failures a minute: the 6th answer is a 429, with the wait (12 s for
	// one token at 5 a minute).
	e := newGuardedEnv(t, Guard{TrustedProxies: loopbackProxy, Limits: auth.Limits{
		AuthFailuresPerAddr: ratelimit.New(5.0/60, 5, 0)}})
	for i := range 5 {
		resp, body := e.call("GET", "/v1/sites", badKey, nil, from("203.0.113.1")...)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %v, want 401", i+1, resp.StatusCode, body)
		}
	}
	resp, body := e.call("GET", "/v1/sites", badKey, nil, from("203.0.113.1")...)
	expectRateLimited(t, resp, body)
	if got := resp.Header.Get("Retry-After"); got != "12" {
		t.Fatalf("Retry-After %q, want 12", got)
	}
	// A missing key counts too, and the address is refused even with a
	// valid key while it waits: its requests are not evaluated.
	resp, body = e.call("POST", "/v1/sites", e.keyA, map[string]any{"name": "x"}, from("203.0.113.1")...)
	expectRateLimited(t, resp, body)

	// A valid key from another address still works, and that address has
	// its own failures to spend.
	if status, body := e.do("GET", "/v1/sites", e.keyA, nil, from("203.0.113.2")...); status != http.StatusOK {
		t.Fatalf("valid key from another address: %d %v", status, body)
	}
	if status, _ := e.do("GET", "/v1/sites", badKey, nil, from("203.0.113.2")...); status != http.StatusUnauthorized {
		t.Fatalf("first failure of another address: %d, want 401", status)
	}
	// An IPv6 client is one /64: changing the interface id does not escape.
	for i := range 5 {
		e.do("GET", "/v1/sites", "", nil, from("2001:db8:1:2::"+strconv.Itoa(i+1))...)
	}
	resp, body = e.call("GET", "/v1/sites", "", nil, from("2001:db8:1:2:ffff::9")...)
	expectRateLimited(t, resp, body)
}

func TestFailedAuthSpoofedAddressIgnored(t *testing.T) {
	// No proxy trusted (the default): X-Forwarded-For is the client's own
	// claim, and a new value each time does not buy new attempts.
	e := newGuardedEnv(t, Guard{Limits: auth.Limits{AuthFailuresPerAddr: ratelimit.New(noRefill, 3, 0)}})
	for i := range 3 {
		if status, _ := e.do("GET", "/v1/sites", badKey, nil, from("198.51.100."+strconv.Itoa(i))...); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	resp, body := e.call("GET", "/v1/sites", badKey, nil, from("198.51.100.99")...)
	expectRateLimited(t, resp, body)
}

func TestWritesLimitedPerKey(t *testing.T) {
	e := newGuardedEnv(t, Guard{TrustedProxies: loopbackProxy, Limits: auth.Limits{
		WritesPerKey: ratelimit.New(noRefill, 3, 0)}})
	// keyB made no write while the environment was set up.
	site := map[string]any{"name": "B", "default_currency": "eur"}
	for i := range 3 {
		if status, body := e.do("POST", "/v1/sites", e.keyB, site); status != http.StatusCreated {
			t.Fatalf("write %d: %d %v", i+1, status, body)
		}
	}
	resp, body := e.call("POST", "/v1/sites", e.keyB, site)
	expectRateLimited(t, resp, body)
	// From another address too: the limit is the key's.
	resp, body = e.call("POST", "/v1/sites", e.keyB, site, from("203.0.113.50")...)
	expectRateLimited(t, resp, body)
	if n := e.count("SELECT count(*) FROM admin.sites WHERE name = 'B'"); n != 3 {
		t.Fatalf("%d sites written, want 3: a refused write must write nothing", n)
	}
	// Reads are not writes; another key has its own bucket.
	if status, _ := e.do("GET", "/v1/sites", e.keyB, nil); status != http.StatusOK {
		t.Fatalf("read after the write limit: %d", status)
	}
	if status, body := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, validSession()); status != http.StatusCreated {
		t.Fatalf("another key: %d %v", status, body)
	}
}

func TestWritesLimitedPerAddress(t *testing.T) {
	e := newGuardedEnv(t, Guard{TrustedProxies: loopbackProxy, Limits: auth.Limits{
		WritesPerAddr: ratelimit.New(noRefill, 4, 0)}})
	// Two keys from one address share its bucket.
	for i, key := range []string{e.keyA, e.keyB, e.keyA, e.keyB} {
		if status, body := e.do("POST", "/v1/sites", key, map[string]any{"name": "S", "default_currency": "eur"}, from("203.0.113.7")...); status != http.StatusCreated {
			t.Fatalf("write %d: %d %v", i+1, status, body)
		}
	}
	resp, body := e.call("POST", "/v1/sites", e.keyB, map[string]any{"name": "S"}, from("203.0.113.7")...)
	expectRateLimited(t, resp, body)
	if status, _ := e.do("POST", "/v1/sites", e.keyB, map[string]any{"name": "S", "default_currency": "eur"}, from("203.0.113.8")...); status != http.StatusCreated {
		t.Fatalf("another address: %d", status)
	}
}

func TestReadsLimitedPerKey(t *testing.T) {
	e := newGuardedEnv(t, Guard{Limits: auth.Limits{ReadsPerKey: ratelimit.New(noRefill, 2, 0)}})
	for range 2 {
		if status, _ := e.do("GET", "/v1/sites", e.keyB, nil); status != http.StatusOK {
			t.Fatalf("read: %d", status)
		}
	}
	resp, body := e.call("GET", "/v1/sites", e.keyB, nil)
	expectRateLimited(t, resp, body)
	if status, _ := e.do("POST", "/v1/sites", e.keyB, map[string]any{"name": "B", "default_currency": "eur"}); status != http.StatusCreated {
		t.Fatalf("a write is not a read: %d", status)
	}
}

// TestLimitsHoldUnderConcurrency: however the requests race, no more get
// through than the limit (run with -race).
func TestLimitsHoldUnderConcurrency(t *testing.T) {
	e := newGuardedEnv(t, Guard{TrustedProxies: loopbackProxy, Limits: auth.Limits{
		WritesPerKey:        ratelimit.New(noRefill, 10, 0),
		AuthFailuresPerAddr: ratelimit.New(noRefill, 10, 0)}})
	race := func(n int, send func() int) map[int]int {
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				s := send()
				mu.Lock()
				counts[s]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return counts
	}
	status := func(method, path, key string, body any, headers ...string) int {
		resp := e.raw(method, path, key, body, headers...)
		resp.Body.Close()
		return resp.StatusCode
	}
	writes := race(40, func() int {
		return status("POST", "/v1/sites", e.keyB, map[string]any{"name": "C", "default_currency": "eur"})
	})
	if writes[http.StatusCreated] != 10 || writes[http.StatusTooManyRequests] != 30 {
		t.Fatalf("40 concurrent writes with a limit of 10: %v", writes)
	}
	if n := e.count("SELECT count(*) FROM admin.sites WHERE name = 'C'"); n != 10 {
		t.Fatalf("%d sites written, want 10", n)
	}
	fails := race(40, func() int { return status("GET", "/v1/sites", badKey, nil, from("203.0.113.9")...) })
	if fails[http.StatusUnauthorized] != 10 || fails[http.StatusTooManyRequests] != 30 {
		t.Fatalf("40 concurrent failures with a limit of 10: %v", fails)
	}
}

func TestRateLimitsOverGRPC(t *testing.T) {
	e := newGuardedEnv(t, Guard{TrustedProxies: loopbackProxy, Limits: auth.Limits{
		AuthFailuresPerAddr: ratelimit.New(noRefill, 2, 0)}})
	client := adminv1.NewSiteServiceClient(serveGRPC(t, e.api.GRPC))
	// The gRPC peer is loopback, a trusted proxy: its x-forwarded-for names
	// the client.
	as := func(addr, key string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key, "x-forwarded-for", addr)
	}
	for range 2 {
		if _, err := client.ListSites(as("203.0.113.3", badKey), &adminv1.ListSitesRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("want Unauthenticated, got %v", err)
		}
	}
	var header metadata.MD
	_, err := client.ListSites(as("203.0.113.3", badKey), &adminv1.ListSitesRequest{}, grpc.Header(&header))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("want ResourceExhausted, got %v", err)
	}
	var info *errdetails.ErrorInfo
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	if info.GetReason() != "rate_limited" || info.GetMetadata()["type"] != "rate_limit_error" {
		t.Fatalf("error info %v", info)
	}
	if retry.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("retry info %v", retry)
	}
	if _, err := client.ListSites(as("203.0.113.4", e.keyA), &adminv1.ListSitesRequest{}); err != nil {
		t.Fatalf("valid key from another address over gRPC: %v", err)
	}
}
