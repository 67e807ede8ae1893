package delivery

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// runWorker runs w until the end of the test and returns once it sends, so
// that slots may be reserved.
func runWorker(t *testing.T, w *Worker) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	for !w.isRunning() {
		runtime.Gosched()
	}
}

func (w *Worker) isRunning() bool {
	w.init()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}

// assertHandedOver checks how the first deliveries to the endpoints were
// created: leased for their first attempt (leased_until is the lease from
// the creating transaction's time, and no claim ever updated the row),
// or due at creation.
func assertHandedOver(t *testing.T, st *store.Store, want bool, endpoints ...string) {
	t.Helper()
	for _, ep := range endpoints {
		var leased bool
		if err := st.Pool.QueryRow(t.Context(), `SELECT coalesce(leased_until = created_at + make_interval(secs => $2), false) AND updated_at = created_at
			FROM hooks.deliveries WHERE endpoint_id = $1 ORDER BY seq LIMIT 1`, ep, lease.Seconds()).Scan(&leased); err != nil {
			t.Fatal(err)
		}
		if leased != want {
			t.Errorf("the delivery to %s was created leased: %v; want %v", ep, leased, want)
		}
	}
}

// TestConsumerHandsDeliveriesToTheWorker (issue 12): a delivery the worker
// has a free slot for is created already leased and sent without a claim;
// one whose endpoint is at its bound is created due and claimed as soon as
// the slot frees; a transaction that fails gives its slots back.
func TestConsumerHandsDeliveriesToTheWorker(t *testing.T) {
	ctx := t.Context()
	st := store.New(testkit.NewDatabase(t, migrations.Set))
	arrived := make(chan *http.Request)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r
		<-release
	}))
	t.Cleanup(srv.Close)
	secret := webhook.NewSecret()
	if _, err := st.Pool.Exec(ctx, `INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret)
		VALUES ('we_a', 'org_1', false, $1, '{*}', $2)`, srv.URL, secret); err != nil {
		t.Fatal(err)
	}
	w := &Worker{Store: st, Clients: webhook.NewClients(webhook.TargetPolicy{PrivateInTestMode: true}, webhook.ClientOptions{}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Concurrency: 4, PerEndpoint: 1, RetryScale: 1}
	c := &Consumer{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Worker: w}
	runWorker(t, w)
	event := func(id string, withObject bool) []byte {
		ev := &eventsv1.Event{Id: id, Type: "payment.succeeded", OrganizationId: "org_1", ObjectId: "pay_1", Sequence: 1,
			Created: timestamppb.New(time.Now())}
		if withObject {
			ev.Object = &eventsv1.Event_Payment{Payment: &adminv1.Payment{Id: "pay_1", Object: "payment"}}
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	// next answers the request that has arrived and returns its delivery's event.
	next := func() string {
		t.Helper()
		var r *http.Request
		select {
		case r = <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("no delivery arrived")
		}
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(key, r.Header, body, time.Now()); err != nil {
			t.Errorf("delivery does not verify: %v", err)
		}
		var ev string
		if err := st.Pool.QueryRow(ctx, `SELECT d.event_id FROM hooks.deliveries d JOIN hooks.events e ON e.id = d.event_id
			WHERE d.id = $1 AND e.body = $2`, r.Header.Get("webhook-id"), body).Scan(&ev); err != nil {
			t.Errorf("delivery %s is not its stored event (%v)", r.Header.Get("webhook-id"), err)
		}
		return ev
	}
	createdLeased := func(ev string) bool {
		var leased bool
		if err := st.Pool.QueryRow(ctx, `SELECT coalesce(leased_until > created_at, false) FROM hooks.deliveries WHERE event_id = $1`, ev).Scan(&leased); err != nil {
			t.Fatal(err)
		}
		return leased
	}

	if err := c.store(ctx, event("evt_1", true)); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev != "evt_1" {
		t.Fatalf("first delivery is of %s", ev)
	}
	assertHandedOver(t, st, true, "we_a")
	// we_a has its one attempt in flight: the next delivery is created due.
	if err := c.store(ctx, event("evt_2", true)); err != nil {
		t.Fatal(err)
	}
	if createdLeased("evt_2") {
		t.Error("a delivery was leased beyond its endpoint's bound")
	}
	release <- struct{}{}
	if ev := next(); ev != "evt_2" {
		t.Fatalf("second delivery is of %s", ev)
	}
	release <- struct{}{}

	// A batch with an event that cannot be stored fails whole, then each
	// event is stored alone: the batch's slots were given back.
	errs := c.storeAll(ctx, [][]byte{event("evt_3", true), event("evt_bad", false)})
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("errors %v; want only the second", errs)
	}
	if ev := next(); ev != "evt_3" {
		t.Fatalf("third delivery is of %s", ev)
	}
	release <- struct{}{}
	// Once that attempt is done, no slot stays taken.
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		w.mu.Lock()
		taken := w.total
		w.mu.Unlock()
		if taken == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d slots still taken after every attempt ended", taken)
		}
	}
}
