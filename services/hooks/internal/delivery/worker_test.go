package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// counting is an HTTP server on loopback that counts its requests.
type counting struct {
	*httptest.Server
	reqs atomic.Int64
}

func newCounting(t *testing.T, status int, body string) *counting {
	t.Helper()
	c := &counting{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c.reqs.Add(1)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *counting) port() string {
	u, _ := url.Parse(c.URL)
	return u.Port()
}

// TestWorkerRecordsRefusalsWithoutLeaks runs the worker against a real
// database with the dev stack's policy (private targets in test mode) and
// one of "our" listeners denied: a test-mode endpoint at that listener, by
// any of its local names, is refused without a request and without an
// excerpt of its body; a live-mode endpoint on loopback is refused too; an
// unreachable one records "connection refused", not the raw dial error
// with its addresses; and the merchant's own test server is reached.
func TestWorkerRecordsRefusalsWithoutLeaks(t *testing.T) {
	ctx := t.Context()
	st := store.New(testkit.NewDatabase(t, migrations.Set))
	metrics := newCounting(t, http.StatusOK, "# HELP tillpoint_internal_metric our internals\n")
	merchant := newCounting(t, http.StatusOK, "ok")
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	deny, err := webhook.ParseDenyList("127.0.0.1:" + metrics.port())
	if err != nil {
		t.Fatal(err)
	}
	policy := webhook.TargetPolicy{PrivateInTestMode: true, Deny: deny}

	endpoints := []struct {
		id, url string
		live    bool
		// wantError is the attempt's error as the merchant reads it.
		wantError string
		wantOK    bool
	}{
		{"we_metrics", metrics.URL + "/metrics", false, "refused: the address is one of this Tillpoint's own services", false},
		{"we_metrics_localhost", "http://localhost:" + metrics.port() + "/metrics", false, "refused: the address is one of this Tillpoint's own services", false},
		{"we_metrics_other_loopback", "http://127.0.0.2:" + metrics.port() + "/metrics", false, "refused: the address is one of this Tillpoint's own services", false},
		{"we_metrics_zero", "http://0.0.0.0:" + metrics.port() + "/metrics", false, "refused: the address is one of this Tillpoint's own services", false},
		{"we_metrics_v6", "http://[::1]:" + metrics.port() + "/metrics", false, "refused: the address is one of this Tillpoint's own services", false},
		{"we_live_loopback", merchant.URL + "/live", true, "refused: 127.0.0.1 is a loopback address, which webhooks cannot reach", false},
		{"we_closed", "http://" + closed + "/hook", false, "connection refused", false},
		{"we_merchant", merchant.URL + "/hook", false, "", true},
	}
	var ids []string
	for _, ep := range endpoints {
		if _, err := st.Pool.Exec(ctx, `INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret)
			VALUES ($1, 'org_1', $2, $3, '{*}', $4)`, ep.id, ep.live, ep.url, webhook.NewSecret()); err != nil {
			t.Fatal(err)
		}
		ev := "evt_" + ep.id
		if _, err := st.InsertEvent(ctx, db.InsertEventParams{ID: ev, OrganizationID: "org_1", Livemode: ep.live, Type: "payment.succeeded",
			ObjectID: "pay_1", Created: time.Now(), Body: []byte(`{"id":"` + ev + `"}`)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, "msg_"+ep.id)
		if _, err := st.CreateDeliveries(ctx, db.CreateDeliveriesParams{Ids: []string{"msg_" + ep.id}, EndpointIds: []string{ep.id}, Leased: []bool{false}, EventID: ev}); err != nil {
			t.Fatal(err)
		}
	}

	w := &Worker{Store: st, Clients: webhook.NewClients(policy, webhook.ClientOptions{}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Concurrency: 8, PerEndpoint: 2, RetryScale: 1}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	w.Wake()

	attempts := map[string]db.HooksDeliveryAttempt{}
	testkit.Eventually(t, "every delivery to have an attempt", func() bool {
		for _, id := range ids {
			if _, ok := attempts[id]; ok {
				continue
			}
			rows, err := st.ListAttempts(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) > 0 {
				attempts[id] = rows[len(rows)-1]
			}
		}
		return len(attempts) == len(ids)
	})
	for _, ep := range endpoints {
		a := attempts["msg_"+ep.id]
		ok := a.StatusCode/100 == 2
		if ok != ep.wantOK || a.Error != ep.wantError {
			t.Errorf("%s: attempt status %d, error %q; want ok=%v, error %q", ep.id, a.StatusCode, a.Error, ep.wantOK, ep.wantError)
		}
		if !ep.wantOK && a.ResponseExcerpt != "" {
			t.Errorf("%s: the merchant reads %q of a response", ep.id, a.ResponseExcerpt)
		}
		if strings.Contains(a.Error, closed) || strings.Contains(a.ResponseExcerpt, "tillpoint_internal_metric") {
			t.Errorf("%s: attempt leaks an internal address or body: %+v", ep.id, a)
		}
	}
	if n := metrics.reqs.Load(); n != 0 {
		t.Errorf("our metrics listener got %d requests", n)
	}
	if n := merchant.reqs.Load(); n != 1 {
		t.Errorf("the merchant's server got %d requests, want 1 (the test-mode one)", n)
	}
}

// TestWorkerKeepsConnectionsToASharedHost: endpoints on one host (one
// merchant's receivers) get their deliveries over connections kept for
// reuse, not a new connection for most attempts. With idle connections kept
// per endpoint's bound (2 here) rather than per the worker's (16), each
// round of 16 attempts closed 14 connections and opened 14 again.
func TestWorkerKeepsConnectionsToASharedHost(t *testing.T) {
	ctx := t.Context()
	st := store.New(testkit.NewDatabase(t, migrations.Set))
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	const concurrency, endpoints, events = 16, 8, 40
	var eps []string
	for i := range endpoints {
		id := fmt.Sprintf("we_%d", i)
		if _, err := st.Pool.Exec(ctx, `INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret)
			VALUES ($1, 'org_1', false, $2, '{*}', $3)`, id, fmt.Sprintf("%s/%d", srv.URL, i), webhook.NewSecret()); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, id)
	}
	for e := range events {
		ev := fmt.Sprintf("evt_%d", e)
		if _, err := st.InsertEvent(ctx, db.InsertEventParams{ID: ev, OrganizationID: "org_1", Type: "payment.succeeded",
			ObjectID: "pay_1", Created: time.Now(), Body: []byte(`{"id":"` + ev + `"}`)}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ep := range eps {
			ids = append(ids, "msg_"+ev+"_"+ep)
		}
		if _, err := st.CreateDeliveries(ctx, db.CreateDeliveriesParams{Ids: ids, EndpointIds: eps, Leased: make([]bool, len(eps)), EventID: ev}); err != nil {
			t.Fatal(err)
		}
	}

	w := &Worker{Store: st, Clients: NewClients(webhook.TargetPolicy{PrivateInTestMode: true}, concurrency),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: concurrency, PerEndpoint: 2, RetryScale: 1}
	runWorker(t, w)
	w.Wake()
	testkit.Eventually(t, "every delivery to succeed", func() bool {
		var left int
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM hooks.deliveries WHERE status <> 'succeeded'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		return left == 0
	})
	// At most one connection per attempt in flight, and as many again
	// dialled by attempts that then found one freed (kept, not closed).
	if n := conns.Load(); n > 2*concurrency {
		t.Errorf("%d connections opened for %d deliveries with %d in flight; want at most %d", n, endpoints*events, concurrency, 2*concurrency)
	}
}
