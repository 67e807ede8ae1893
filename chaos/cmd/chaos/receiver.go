package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// The soak's webhook endpoints: what each subscribes to and how it answers.
type endpointSpec struct {
	path   string
	events []string
	// answer is the status the endpoint gives at t, after waiting.
	answer func(t time.Time) (int, time.Duration)
}

func endpointSpecs(flakyUntil time.Time) []endpointSpec {
	return []endpointSpec{
		{"/fast", []string{"*"}, func(time.Time) (int, time.Duration) { return http.StatusOK, 0 }},
		{"/slow", []string{"checkout.session.completed", "checkout.session.async_payment_succeeded"},
			func(time.Time) (int, time.Duration) { return http.StatusOK, 1500 * time.Millisecond }},
		// Failing (500) until flakyUntil, then recovered.
		{"/flaky", []string{"checkout.session.completed", "checkout.session.expired"}, func(t time.Time) (int, time.Duration) {
			if t.Before(flakyUntil) {
				return http.StatusInternalServerError, 0
			}
			return http.StatusOK, 0
		}},
	}
}

// arrival is one delivery received (its first arrival; retries of the same
// webhook-id are counted).
type arrival struct {
	EventID, Type, ObjectID string
	At                      time.Time
	Count                   int
	Accepted                bool // answered 2xx at least once
}

// receiver is the merchant's server on loopback.
type receiver struct {
	srv   *httptest.Server
	specs map[string]endpointSpec
	mu    sync.Mutex
	// path → webhook-id → arrival
	got map[string]map[string]*arrival
}

func newReceiver(specs []endpointSpec) *receiver {
	r := &receiver{specs: map[string]endpointSpec{}, got: map[string]map[string]*arrival{}}
	for _, s := range specs {
		r.specs[s.path] = s
		r.got[s.path] = map[string]*arrival{}
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	spec, ok := r.specs[req.URL.Path]
	if !ok {
		http.NotFound(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	code, wait := spec.answer(now)
	if wait > 0 {
		time.Sleep(wait)
	}
	r.mu.Lock()
	id := req.Header.Get("webhook-id")
	a := r.got[req.URL.Path][id]
	if a == nil {
		a = &arrival{EventID: ev.ID, Type: ev.Type, ObjectID: ev.Data.Object.ID, At: now}
		r.got[req.URL.Path][id] = a
	}
	a.Count++
	a.Accepted = a.Accepted || code/100 == 2
	r.mu.Unlock()
	w.WriteHeader(code)
}

// createEndpoints registers the endpoints; it returns path → endpoint id.
func createEndpoints(l *loader, r *receiver) (map[string]string, error) {
	out := map[string]string{}
	for path, s := range r.specs {
		var ep struct {
			ID string `json:"id"`
		}
		if err := l.api("create endpoint", http.MethodPost, "/v1/webhook_endpoints",
			map[string]any{"url": r.srv.URL + path, "enabled_events": s.events}, &ep); err != nil {
			return nil, err
		}
		out[path] = ep.ID
	}
	return out, nil
}

func subscribed(events []string, typ string) bool {
	for _, e := range events {
		if e == "*" || e == typ || (strings.HasSuffix(e, ".*") && strings.HasPrefix(typ, strings.TrimSuffix(e, "*"))) {
			return true
		}
	}
	return false
}
