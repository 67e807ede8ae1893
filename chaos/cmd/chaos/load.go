package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// The kinds of checkout the load makes, with their share of the sessions.
const (
	kindCard   = "card (4242)"
	kindAsync  = "async card (0077)"
	kindBank   = "bank transfer"
	kindExpire = "expired by the merchant"
	kindOpen   = "left open (5 min expiry)"
)

var kindWeights = []struct {
	kind   string
	weight int
}{{kindCard, 45}, {kindAsync, 15}, {kindBank, 20}, {kindExpire, 10}, {kindOpen, 10}}

// stepDeadline bounds the retries of one step of a checkout (a merchant or a
// payer retries for about this long before giving up).
const stepDeadline = 90 * time.Second

// attempt is one HTTP request of the load: which service answered (by its
// public name), when, and how.
type attempt struct {
	Service    string
	Start, End time.Time
	Status     int    // 0: no answer
	Err        string // the transport error when Status is 0
	Step       string
}

// flow is one checkout of the load and what the system acknowledged.
type flow struct {
	Kind      string
	SessionID string
	Reference string
	Amount    int64
	PayStart  time.Time
	PayAnswer string // the pay form's "status" answer
	Expired   bool   // POST …/expire answered 200
	FeedSent  bool   // the bank feed callback answered 200
	Err       string // a step that gave up
}

type loader struct {
	st     *stack
	rng    *rand.Rand
	rngMu  sync.Mutex
	client *http.Client

	mu       sync.Mutex
	attempts []attempt
	flows    []*flow
	retries  atomic.Int64
	payers   atomic.Int64
}

func newLoader(st *stack, rng *rand.Rand) *loader {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if strings.HasSuffix(host, ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
	}
	return &loader{st: st, rng: rng, client: &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// pick draws the next checkout's kind from the seeded source.
func (l *loader) pick() string {
	l.rngMu.Lock()
	defer l.rngMu.Unlock()
	total := 0
	for _, k := range kindWeights {
		total += k.weight
	}
	n := l.rng.IntN(total)
	for _, k := range kindWeights {
		if n < k.weight {
			return k.kind
		}
		n -= k.weight
	}
	panic("unreachable")
}

// run starts checkouts at rate per second until ctx ends, then waits for
// those under way to finish their steps.
func (l *loader) run(ctx context.Context, rate float64) {
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		f := &flow{Kind: l.pick()}
		l.mu.Lock()
		l.flows = append(l.flows, f)
		l.mu.Unlock()
		wg.Go(func() {
			if err := l.checkout(f); err != nil {
				f.Err = err.Error()
			}
		})
	}
}

// call makes one request, retrying a missing answer, a 5xx or a 429 until
// stepDeadline (the same request: its idempotency key, form and cookies),
// and records every attempt. Any other answer is final.
func (l *loader) call(service, step string, c *http.Client, mk func() *http.Request) (int, []byte, error) {
	if c == nil {
		c = l.client
	}
	end := time.Now().Add(stepDeadline)
	for n := 0; ; n++ {
		if n > 0 {
			l.retries.Add(1)
			time.Sleep(time.Duration(min(n, 10)) * 200 * time.Millisecond)
		}
		a := attempt{Service: service, Step: step, Start: time.Now()}
		resp, err := c.Do(mk())
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		a.End = time.Now()
		if err != nil {
			a.Err = err.Error()
		} else {
			a.Status = resp.StatusCode
		}
		l.mu.Lock()
		l.attempts = append(l.attempts, a)
		l.mu.Unlock()
		if err == nil && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return resp.StatusCode, body, nil
		}
		if time.Now().After(end) {
			if err != nil {
				return 0, nil, fmt.Errorf("%s: %w", step, err)
			}
			return resp.StatusCode, body, fmt.Errorf("%s: %d %.200s", step, resp.StatusCode, body)
		}
	}
}

// api calls the merchant API with the demo key.
func (l *loader) api(step, method, path string, body any, out any) error {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	key := ids.Random(24)
	code, resp, err := l.call("admin-api", step, nil, func() *http.Request {
		req, _ := http.NewRequest(method, "http://"+l.st.p.host("api")+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+l.st.sec.SecretKey)
		req.Header.Set("Content-Type", "application/json")
		if method == http.MethodPost {
			req.Header.Set("Idempotency-Key", key)
		}
		return req
	})
	if err != nil {
		return err
	}
	if code/100 != 2 {
		return fmt.Errorf("%s: %d %.300s", step, code, resp)
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}

// expireOpen expires, as the merchant does, every session still open when
// the load stops: those left open and those whose payment gave up. Without
// it admin-api's sweeper would go on expiring them for up to five minutes
// (their expiry), making events while the checks read JetStream and hooks'
// store one after the other. It returns how many it expired; a session the
// sweeper expired first answers 400 and is not counted.
func (l *loader) expireOpen(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	rows, err := pool.Query(ctx, `SELECT id FROM admin.checkout_sessions WHERE status = 'open'`)
	if err != nil {
		return 0, err
	}
	open, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range open {
		if l.api("expire at the end", http.MethodPost, "/v1/checkout/sessions/"+id+"/expire", map[string]any{}, nil) == nil {
			n++
		}
	}
	return n, nil
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (l *loader) checkout(f *flow) error {
	body := map[string]any{
		"line_items": []map[string]any{{"name": "Tea", "unit_amount": 450, "quantity": 3}, {"name": "Cup", "unit_amount": 1299, "quantity": 1}},
		"currency":   "EUR", "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart",
		"metadata": map[string]string{"chaos_kind": f.Kind},
	}
	if f.Kind == kindOpen || f.Kind == kindExpire {
		body["expires_in_minutes"] = 5
	}
	var s struct {
		ID          string `json:"id"`
		URL         string `json:"url"`
		Reference   string `json:"reference"`
		AmountTotal int64  `json:"amount_total"`
	}
	if err := l.api("create session", http.MethodPost, "/v1/checkouts/"+l.st.siteID+"/create", body, &s); err != nil {
		return err
	}
	f.SessionID, f.Reference, f.Amount = s.ID, s.Reference, s.AmountTotal
	switch f.Kind {
	case kindOpen:
		return nil
	case kindExpire:
		if err := l.api("expire session", http.MethodPost, "/v1/checkout/sessions/"+s.ID+"/expire", map[string]any{}, nil); err != nil {
			return err
		}
		f.Expired = true
		return nil
	}
	jar, _ := cookiejar.New(nil)
	payer := &http.Client{Jar: jar, Transport: l.client.Transport, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, page, err := l.call("checkout-runtime", "load page", payer, func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
		return req
	})
	if err != nil {
		return err
	}
	m := csrfRE.FindSubmatch(page)
	if code != http.StatusOK || m == nil {
		return fmt.Errorf("load page: %d, csrf token found: %v", code, m != nil)
	}
	form := url.Values{"csrf_token": {string(m[1])}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"},
		"country": {"FR"}, "postal_code": {"75001"}}
	switch f.Kind {
	case kindCard, kindAsync:
		number := provider.TestCardSuccess
		if f.Kind == kindAsync {
			number = provider.TestCardPending
		}
		form.Set("method", "card")
		form.Set("card_number", number)
		form.Set("card_exp", "12/34")
		form.Set("card_cvc", "123")
	case kindBank:
		form.Set("method", "bank_transfer")
		form.Set("action", "pay")
	}
	// Each payer has its own address (X-Forwarded-For from the trusted
	// 127.0.0.1), as in the benchmark, under the default per-address limit.
	n := int(l.payers.Add(1))
	from := fmt.Sprintf("198.%d.%d.%d", 18+(n>>16&1), n>>8&255, n&255)
	f.PayStart = time.Now()
	code, ans, err := l.call("checkout-runtime", "pay", payer, func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/pay", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Forwarded-For", from)
		return req
	})
	if err != nil {
		return err
	}
	var res struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(ans, &res)
	f.PayAnswer = res.Status
	if code != http.StatusOK && code != http.StatusConflict {
		return fmt.Errorf("pay: %d %.300s", code, ans)
	}
	// A pay form retried after a lost answer may hear "closed" (the first
	// post completed the session): the payer has the instructions either way.
	if f.Kind != kindBank || (res.Status != "processing" && res.Status != "closed") {
		return nil
	}
	// The bank feed reports the whole amount a moment later.
	time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
	cb := provider.NewFundsReceived(f.Reference, f.Amount, "EUR").Encode()
	code, ans, err = l.call("hooks", "bank feed", nil, func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "http://"+l.st.p.host("webhook")+"/hooks/bank_transfer", bytes.NewReader(cb))
		req.Header.Set(provider.SignatureHeader, provider.Sign([]byte(l.st.sec.BankFeedTest), cb, time.Now()))
		return req
	})
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("bank feed: %d %.300s", code, ans)
	}
	f.FeedSent = true
	return nil
}
