package gocardless

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
)

// fixture returns the response body of GoCardless's published fixture
// testdata/<file>.json, entry key (create, get, cancel, …), verbatim when
// edit is nil; edit changes the resource inside the envelope (its status,
// as the stripe tests vary stripe-mock's fixtures).
func fixture(t *testing.T, file, key string, edit func(res map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	body, ok := all[key]
	if !ok {
		t.Fatalf("no %q in %s.json", key, file)
	}
	if edit == nil {
		return body.Body
	}
	var env map[string]map[string]any
	if err := json.Unmarshal(body.Body, &env); err != nil {
		t.Fatal(err)
	}
	for _, res := range env {
		edit(res)
	}
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withStatus is a fixture edit that sets the resource's status.
func withStatus(s string) func(map[string]any) {
	return func(res map[string]any) { res["status"] = s }
}

// request is one request the client sent, as it arrived.
type request struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// answer is a canned response: a status and a body.
type answer struct {
	Status int
	Body   []byte
}

// gcServer serves canned answers by "METHOD /path" (fixture bodies) and
// records every request.
type gcServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]answer
	reqs    []request
}

func newServer(t *testing.T, answers map[string]answer) *gcServer {
	t.Helper()
	s := &gcServer{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &req.Body); err != nil {
				t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
			}
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		a, ok := s.answers[r.Method+" "+r.URL.Path]
		s.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":404,"type":"invalid_api_usage","message":"Resource not found","errors":[{"reason":"resource_not_found","message":"Resource not found"}],"request_id":"req_404"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
	}))
	t.Cleanup(s.Close)
	return s
}

// set replaces the answer to "METHOD /path".
func (s *gcServer) set(route string, a answer) {
	s.mu.Lock()
	s.answers[route] = a
	s.mu.Unlock()
}

// sent returns the requests so far.
func (s *gcServer) sent() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// find returns the last request to "METHOD /path".
func (s *gcServer) find(t *testing.T, route string) request {
	t.Helper()
	reqs := s.sent()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method+" "+reqs[i].Path == route {
			return reqs[i]
		}
	}
	t.Fatalf("no request %s; sent %v", route, reqs)
	return request{}
}

func ok(body []byte) answer { return answer{Status: http.StatusOK, Body: body} }

func created(body []byte) answer { return answer{Status: http.StatusCreated, Body: body} }

func testClient(t *testing.T, s *gcServer) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: s.URL, AccessToken: "sandbox_token123"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
