package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// receiver is a merchant's webhook endpoint on loopback: it records when
// each delivery arrived, by endpoint path, session and webhook-id.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	// first arrival per path+webhook-id (a retry of a delivery has the same id).
	byWebhookID map[string]arrival
	redelivered int
	// conns counts the connections hooks opened to it.
	conns atomic.Int64
}

type arrival struct {
	path, sessionID string
	at              time.Time
}

func newReceiver() *receiver {
	r := &receiver{byWebhookID: map[string]arrival{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(req.Body)
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Object struct {
					ID string `json:"id"`
				} `json:"object"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &ev) == nil && ev.Type == "checkout.session.completed" {
			key := req.URL.Path + " " + req.Header.Get("webhook-id")
			r.mu.Lock()
			if _, seen := r.byWebhookID[key]; seen {
				r.redelivered++
			} else {
				r.byWebhookID[key] = arrival{req.URL.Path, ev.Data.Object.ID, at}
			}
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	r.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.srv.Start()
	return r
}

// count returns the distinct deliveries received so far.
func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byWebhookID)
}

func (r *receiver) arrivals() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]arrival, 0, len(r.byWebhookID))
	for _, a := range r.byWebhookID {
		out = append(out, a)
	}
	return out
}

// createEndpoint registers url for checkout.session.completed.
func createEndpoint(ctx context.Context, a apiClient, u string) (string, error) {
	body, _ := json.Marshal(map[string]any{"url": u, "enabled_events": []string{"checkout.session.completed"}})
	var ep struct {
		ID string `json:"id"`
	}
	err := a.do(ctx, http.MethodPost, "/v1/webhook_endpoints", body, &ep)
	return ep.ID, err
}

func deleteEndpoint(ctx context.Context, a apiClient, id string) error {
	return a.do(ctx, http.MethodDelete, "/v1/webhook_endpoints/"+id, nil, nil)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// payable is an open session whose page was loaded: its cookie jar holds
// tp_csrf and token is the form's csrf_token.
type payable struct {
	session
	client *http.Client
	token  string
}

// preparePayables creates n sessions and loads their pages, 16 at a time,
// before the measured run (so that only the payment is measured).
func preparePayables(ctx context.Context, a apiClient, tr http.RoundTripper, n int) ([]payable, error) {
	body, _ := json.Marshal(createBody())
	out := make([]payable, n)
	err := prepare(n, func(i int) (err error) {
		out[i], err = preparePayable(ctx, a, tr, body)
		return err
	})
	return out, err
}

// prepare runs do(0) … do(n-1), 16 at a time, and returns the first error
// (the rest of the work stops at it).
func prepare(n int, do func(i int) error) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := do(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

func preparePayable(ctx context.Context, a apiClient, tr http.RoundTripper, body []byte) (payable, error) {
	s, err := a.createSession(ctx, body)
	if err != nil {
		return payable{}, err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		return payable{}, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(b)
	if resp.StatusCode != http.StatusOK || m == nil {
		return payable{}, fmt.Errorf("GET %s: %s, csrf token found: %v", s.URL, resp.Status, m != nil)
	}
	return payable{session: s, client: c, token: string(m[1])}, nil
}

// payer pays prepared sessions in turn through the form contract with the
// 4242 card and notes when each payment's form post started.
type payer struct {
	sessions []payable
	next     atomic.Int64
	mu       sync.Mutex
	started  map[string]time.Time
	paid     map[string]bool
}

// payers counts the payments of the whole run, for payerAddr.
var payers atomic.Int64

// payerAddr is the client address of the i-th payer, in the range set
// aside for benchmarks (198.18.0.0/15, RFC 2544), sent as X-Forwarded-For
// from 127.0.0.1, which the dev stack trusts as a proxy: every payer has its
// own address, as real payers do. From one address, every payment would
// wait on that address's attempt-limit lock and count its growing history
// (docs/perf/payment-path.md), which no real checkout sees.
func payerAddr(i int) string {
	// Beyond the range's 131,072 addresses (no run pays that many) they
	// would repeat; the attempt limit counts per hour.
	return fmt.Sprintf("198.%d.%d.%d", 18+(i>>16&1), i>>8&255, i&255)
}

func newPayer(s []payable) *payer {
	return &payer{sessions: s, started: map[string]time.Time{}, paid: map[string]bool{}}
}

func (p *payer) pay(ctx context.Context) error {
	i := int(p.next.Add(1) - 1)
	if i >= len(p.sessions) {
		return fmt.Errorf("no prepared session left (%d prepared)", len(p.sessions))
	}
	s := p.sessions[i]
	form := url.Values{"csrf_token": {s.token}, "method": {"card"}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"},
		"country": {"FR"}, "postal_code": {"75001"}, "card_number": {"4242424242424242"}, "card_exp": {"12/34"}, "card_cvc": {"123"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/pay", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-For", payerAddr(int(payers.Add(1))))
	start := time.Now()
	p.mu.Lock()
	p.started[s.ID] = start
	p.mu.Unlock()
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var res struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(b, &res) != nil || res.Status != "succeeded" {
		return fmt.Errorf("POST %s/pay: %s %.200s", s.URL, resp.Status, b)
	}
	p.mu.Lock()
	p.paid[s.ID] = true
	p.mu.Unlock()
	return nil
}

// deliveryStats matches the receiver's arrivals to the payments.
type deliveryStats struct {
	hist       *hdrhistogram.Histogram
	delivered  int
	lost       int // paid sessions × endpoints with no delivery by the deadline
	dupEffect  int // extra distinct webhook-ids for one session and endpoint
	redeliver  int // same webhook-id again (counted once)
	first, end time.Time
}

func matchDeliveries(p *payer, r *receiver, endpoints int) deliveryStats {
	st := deliveryStats{hist: newHist()}
	perSessionPath := map[string]int{}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range r.arrivals() {
		start, ok := p.started[a.sessionID]
		if !ok {
			continue
		}
		perSessionPath[a.sessionID+" "+a.path]++
		if perSessionPath[a.sessionID+" "+a.path] > 1 {
			st.dupEffect++
			continue
		}
		st.delivered++
		_ = st.hist.RecordValue(a.at.Sub(start).Microseconds())
		if st.first.IsZero() || a.at.Before(st.first) {
			st.first = a.at
		}
		if a.at.After(st.end) {
			st.end = a.at
		}
	}
	st.lost = len(p.paid)*endpoints - st.delivered
	r.mu.Lock()
	st.redeliver = r.redelivered
	r.mu.Unlock()
	return st
}

// waitDeliveries waits until want deliveries arrived or the deadline passed.
func waitDeliveries(r *receiver, want int, deadline time.Duration) {
	end := time.Now().Add(deadline)
	for r.count() < want && time.Now().Before(end) {
		time.Sleep(50 * time.Millisecond)
	}
}
