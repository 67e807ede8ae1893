package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// receiver is a merchant's webhook endpoint on this machine.
type receiver struct {
	mu       sync.Mutex
	failures int // answer 500 to this many requests first
	got      []delivery
	srv      *httptest.Server
}

type delivery struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T, failures int) *receiver {
	r := &receiver{failures: failures}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		status := http.StatusOK
		if r.failures > 0 {
			r.failures--
			status = http.StatusInternalServerError
		}
		r.got = append(r.got, delivery{req.Header.Clone(), body, status})
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// accepted returns the 2xx deliveries of an event type, verified.
func (r *receiver) accepted(t *testing.T, secret, typ string) []map[string]any {
	t.Helper()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, d := range r.deliveries() {
		var ev map[string]any
		if json.Unmarshal(d.body, &ev) != nil || ev["type"] != typ || d.status != http.StatusOK {
			continue
		}
		if err := webhook.Verify(key, d.header, d.body, time.Now()); err != nil {
			t.Fatalf("delivery %s does not verify: %v", d.header.Get("webhook-id"), err)
		}
		out = append(out, ev)
	}
	return out
}

func createEndpoint(t *testing.T, url string, events ...string) (id, secret string) {
	t.Helper()
	body := map[string]any{"url": url}
	if len(events) > 0 {
		body["enabled_events"] = events
	}
	status, ep := api(t, "POST", "/v1/webhook_endpoints", body)
	if status != http.StatusCreated {
		t.Fatalf("create endpoint: %d %v", status, ep)
	}
	t.Cleanup(func() { api(t, "DELETE", "/v1/webhook_endpoints/"+ep["id"].(string), nil) })
	return ep["id"].(string), ep["secret"].(string)
}

// paySession creates a session and pays it with the 4242 card.
func paySession(t *testing.T) string {
	t.Helper()
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	if _, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), true); out["status"] != "succeeded" {
		t.Fatalf("pay: %v", out)
	}
	return s["id"].(string)
}

func TestWebhooksAreSignedAndCarryTheWholeObject(t *testing.T) {
	r := newReceiver(t, 0)
	epID, secret := createEndpoint(t, r.srv.URL+"/hooks")
	id := paySession(t)
	var ev map[string]any
	eventually(t, "checkout.session.completed to arrive", 30*time.Second, func() bool {
		for _, e := range r.accepted(t, secret, "checkout.session.completed") {
			if obj := e["data"].(map[string]any)["object"].(map[string]any); obj["id"] == id {
				ev = e
				return true
			}
		}
		return false
	})
	obj := ev["data"].(map[string]any)["object"].(map[string]any)
	if obj["payment_status"] != "paid" || obj["amount_total"] != 2649.0 || ev["object"] != "event" || ev["livemode"] != false {
		t.Fatalf("event: %v", ev)
	}
	eventually(t, "payment.succeeded to arrive", 30*time.Second, func() bool {
		return len(r.accepted(t, secret, "payment.succeeded")) > 0
	})
	// The event is in the API, with its delivery to this endpoint.
	status, got := api(t, "GET", "/v1/events/"+ev["id"].(string), nil)
	if status != http.StatusOK || got["type"] != "checkout.session.completed" {
		t.Fatalf("GET event: %d %v", status, got)
	}
	_, list := api(t, "GET", "/v1/events?type=checkout.session.completed&limit=100", nil)
	if len(list["data"].([]any)) == 0 {
		t.Fatalf("events list is empty")
	}
	// object_id gives one object's events, and only its.
	_, mine := api(t, "GET", "/v1/events?object_id="+id, nil)
	var types []string
	for _, e := range mine["data"].([]any) {
		em := e.(map[string]any)
		if obj := em["data"].(map[string]any)["object"].(map[string]any); obj["id"] != id {
			t.Errorf("object_id=%s lists an event of %v", id, obj["id"])
		}
		types = append(types, em["type"].(string))
	}
	if !slices.Contains(types, "checkout.session.completed") {
		t.Errorf("object_id=%s: %v", id, types)
	}
	var msgID string
	eventually(t, "the delivery to be recorded", 10*time.Second, func() bool {
		_, ds := api(t, "GET", "/v1/events/"+ev["id"].(string)+"/deliveries", nil)
		for _, d := range ds["data"].([]any) {
			dm := d.(map[string]any)
			if dm["webhook_endpoint"] == epID && dm["status"] == "succeeded" && len(dm["attempts"].([]any)) == 1 {
				msgID = dm["id"].(string)
				return true
			}
		}
		return false
	})
	// Resend: the same message (webhook-id) arrives again.
	before := len(r.deliveries())
	if status, d := api(t, "POST", "/v1/events/"+ev["id"].(string)+"/resend", map[string]any{"webhook_endpoint": epID}); status != http.StatusOK || d["id"] != msgID {
		t.Fatalf("resend: %d %v", status, d)
	}
	eventually(t, "the resent delivery to arrive", 10*time.Second, func() bool {
		for _, d := range r.deliveries()[before:] {
			if d.header.Get("webhook-id") == msgID {
				return true
			}
		}
		return false
	})
}

func TestWebhookRetriesUntilSuccessWithTheSameID(t *testing.T) {
	r := newReceiver(t, 3)
	_, secret := createEndpoint(t, r.srv.URL, "checkout.session.completed")
	id := paySession(t)
	eventually(t, "the fourth attempt to succeed", 30*time.Second, func() bool {
		return len(r.accepted(t, secret, "checkout.session.completed")) == 1
	})
	var ids []string
	for _, d := range r.deliveries() {
		ids = append(ids, d.header.Get("webhook-id"))
	}
	if len(ids) != 4 || ids[0] != ids[3] || ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("attempts carried webhook-ids %v; want the same id four times", ids)
	}
	_ = id
}

func TestWebhookEndpointGoneIsDisabled(t *testing.T) {
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer gone.Close()
	epID, _ := createEndpoint(t, gone.URL)
	paySession(t)
	eventually(t, "the endpoint to be disabled", 30*time.Second, func() bool {
		_, ep := api(t, "GET", "/v1/webhook_endpoints/"+epID, nil)
		return ep["status"] == "disabled" && ep["disabled_reason"] == "gone"
	})
}

func TestWebhookEndpointValidation(t *testing.T) {
	for _, body := range []map[string]any{
		{"url": "not a url"}, {"url": "ftp://x.example/"}, {"url": "https://x.example/", "enabled_events": []string{"nope"}},
	} {
		if status, out := api(t, "POST", "/v1/webhook_endpoints", body); status != http.StatusBadRequest {
			t.Errorf("%v: %d %v", body, status, out)
		}
	}
	status, out := api(t, "GET", "/v1/webhook_endpoints/we_nope", nil)
	if status != http.StatusNotFound {
		t.Fatalf("unknown endpoint: %d %v", status, out)
	}
}

func TestRotatedSecretsBothSign(t *testing.T) {
	r := newReceiver(t, 0)
	epID, oldSecret := createEndpoint(t, r.srv.URL, "checkout.session.completed")
	status, ep := api(t, "POST", "/v1/webhook_endpoints/"+epID+"/rotate_secret", nil)
	newSecret, _ := ep["secret"].(string)
	if status != http.StatusOK || newSecret == "" || newSecret == oldSecret {
		t.Fatalf("rotate: %d %v", status, ep)
	}
	id := paySession(t)
	eventually(t, "the completion to arrive", 30*time.Second, func() bool {
		return r.completedSessions(t, newSecret)[id]
	})
	// During the overlap the same delivery verifies with the old secret too.
	if !r.completedSessions(t, oldSecret)[id] {
		t.Fatal("the old secret does not verify during the rotation overlap")
	}
}

func TestSlowEndpointDoesNotStarveOthers(t *testing.T) {
	hold := make(chan struct{})
	var inFlight, most atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m; m = most.Load() { // most = max(most, n)
			if most.CompareAndSwap(m, n) {
				break
			}
		}
		select { // answers only when the test ends (or hooks gives up after 15 s)
		case <-hold:
		case <-req.Context().Done():
		}
	}))
	// Release the held requests before closing, which waits for them.
	defer slow.Close()
	defer close(hold)
	createEndpoint(t, slow.URL)
	fast := newReceiver(t, 0)
	_, secret := createEndpoint(t, fast.srv.URL, "checkout.session.completed")
	want := map[string]bool{}
	for range 4 { // 8 deliveries for the slow endpoint, more than the worker's 4 slots
		want[paySession(t)] = true
	}
	eventually(t, "the fast endpoint to get every completion while the slow one hangs", 10*time.Second, func() bool {
		got := fast.completedSessions(t, secret)
		for id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
	// The stack allows 2 attempts in flight per endpoint (e2e's TestMain).
	if m := most.Load(); m > 2 {
		t.Errorf("the slow endpoint had %d requests in flight at once; the bound is 2", m)
	}
}

func TestEndpointFailingFiveDaysIsDisabled(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	epID, _ := createEndpoint(t, failing.URL, "checkout.session.completed")
	// The endpoint has been failing since six days ago (no time travel here:
	// the start of its run of failures is what the rule reads).
	conn := queryRow(t, "UPDATE hooks.endpoints SET failing_since = now() - interval '6 days' WHERE id = $1 RETURNING id", epID)
	var id string
	if err := conn.Scan(&id); err != nil {
		t.Fatal(err)
	}
	paySession(t)
	eventually(t, "the endpoint to be disabled", 30*time.Second, func() bool {
		_, ep := api(t, "GET", "/v1/webhook_endpoints/"+epID, nil)
		return ep["status"] == "disabled" && ep["disabled_reason"] == "failing"
	})
	// Enabling it again clears the run of failures.
	if status, ep := api(t, "POST", "/v1/webhook_endpoints/"+epID, map[string]any{"disabled": false}); status != http.StatusOK || ep["status"] != "enabled" {
		t.Fatalf("re-enable: %d %v", status, ep)
	}
}

func TestNotifyURLGetsTheSignedCompletion(t *testing.T) {
	r := newReceiver(t, 0)
	status, ns := api(t, "GET", "/v1/notify_secret", nil)
	secret, _ := ns["secret"].(string)
	if status != http.StatusOK || secret == "" {
		t.Fatalf("notify secret: %d %v", status, ns)
	}
	s := newSession(t, map[string]any{"notify_url": r.srv.URL + "/ipn"})
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	if _, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), true); out["status"] != "succeeded" {
		t.Fatalf("pay: %v", out)
	}
	eventually(t, "the notify_url callback", 30*time.Second, func() bool {
		return r.completedSessions(t, secret)[s["id"].(string)]
	})
	// Only this session's completion went there, and the hidden endpoint is
	// not among the merchant's endpoints.
	if n := len(r.deliveries()); n != 1 {
		t.Fatalf("notify_url received %d requests, want 1", n)
	}
	_, list := api(t, "GET", "/v1/webhook_endpoints?limit=100", nil)
	for _, ep := range list["data"].([]any) {
		if ep.(map[string]any)["url"] == r.srv.URL+"/ipn" {
			t.Fatal("the notify_url shows as a webhook endpoint")
		}
	}
}
