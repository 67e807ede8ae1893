package delivery

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// TestConsumerStoresEventWithDeliveriesInFewRoundTrips: storing an event
// creates one delivery per matching endpoint in three round trips (BEGIN with
// the event and its endpoints, the deliveries, COMMIT; issue 12), a redelivered
// event is stored once with no new delivery, and an event no endpoint wants
// is stored without deliveries.
func TestConsumerStoresEventWithDeliveriesInFewRoundTrips(t *testing.T) {
	ctx := t.Context()
	pool, trace := testkit.TracedPool(t, testkit.DatabaseURL(t, migrations.Set), 1)
	st := store.New(pool)
	for _, ep := range []struct{ id, events string }{{"we_all", "{*}"}, {"we_paid", "{payment.succeeded}"}, {"we_refunds", "{refund.created}"}} {
		if _, err := pool.Exec(ctx, `INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret)
			VALUES ($1, 'org_1', false, 'https://shop.example/hook', $2, $3)`, ep.id, ep.events, webhook.NewSecret()); err != nil {
			t.Fatal(err)
		}
	}
	c := &Consumer{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	event := func(id, typ string) []byte {
		b, err := proto.Marshal(&eventsv1.Event{Id: id, Type: typ, OrganizationId: "org_1", ObjectId: "pay_1", Sequence: 1,
			Created: timestamppb.New(time.Now()), Object: &eventsv1.Event_Payment{Payment: &adminv1.Payment{Id: "pay_1", Object: "payment"}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	deliveries := func(ev string) []string {
		rows, _ := pool.Query(ctx, "SELECT endpoint_id FROM hooks.deliveries WHERE event_id = $1 ORDER BY endpoint_id", ev)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// The first event prepares the statements on the pool's one connection.
	if err := c.store(ctx, event("evt_0", "payment.succeeded")); err != nil {
		t.Fatal(err)
	}
	before := trace.RoundTrips()
	if err := c.store(ctx, event("evt_1", "payment.succeeded")); err != nil {
		t.Fatal(err)
	}
	if n := trace.RoundTrips() - before; n != 3 {
		t.Errorf("storing an event took %d round trips; want 3", n)
	}
	if got := deliveries("evt_1"); len(got) != 2 || got[0] != "we_all" || got[1] != "we_paid" {
		t.Errorf("deliveries of evt_1 to %v; want [we_all we_paid]", got)
	}
	if err := c.store(ctx, event("evt_1", "payment.succeeded")); err != nil { // JetStream redelivers it
		t.Fatal(err)
	}
	if got := deliveries("evt_1"); len(got) != 2 {
		t.Errorf("after a redelivery evt_1 has %d deliveries; want 2", len(got))
	}
	// Only we_all wants payment.failed: disabled, nothing matches.
	if _, err := pool.Exec(ctx, "UPDATE hooks.endpoints SET disabled_reason = 'manual' WHERE id = 'we_all'"); err != nil {
		t.Fatal(err)
	}
	if err := c.store(ctx, event("evt_2", "payment.failed")); err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM hooks.events WHERE id = 'evt_2'").Scan(&stored); err != nil || stored != 1 {
		t.Errorf("evt_2 stored %d times (%v); want 1", stored, err)
	}
	if got := deliveries("evt_2"); len(got) != 0 {
		t.Errorf("deliveries of evt_2 to %v; want none", got)
	}
}

// TestConsumerStoresABatchInOneTransaction: the events received together
// are stored in one transaction (issue 12: one commit per event was two per
// payment); an event that cannot be stored fails alone, and the others of
// its batch are stored all the same; one that does not decode is dropped.
func TestConsumerStoresABatchInOneTransaction(t *testing.T) {
	ctx := t.Context()
	pool, trace := testkit.TracedPool(t, testkit.DatabaseURL(t, migrations.Set), 1)
	if _, err := pool.Exec(ctx, `INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret)
		VALUES ('we_all', 'org_1', false, 'https://shop.example/hook', '{*}', $1)`, webhook.NewSecret()); err != nil {
		t.Fatal(err)
	}
	c := &Consumer{Store: store.New(pool), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
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
	storedWithDelivery := func(id string) bool {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM hooks.events e JOIN hooks.deliveries d ON d.event_id = e.id
			WHERE e.id = $1 AND d.endpoint_id = 'we_all'`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	before := trace.Count("begin")
	errs := c.storeAll(ctx, [][]byte{event("evt_a", true), event("evt_b", true), []byte("not an event"), event("evt_c", true)})
	for i, err := range errs {
		if err != nil {
			t.Errorf("event %d: %v", i, err)
		}
	}
	if n := trace.Count("begin") - before; n != 1 {
		t.Errorf("a batch of 4 events took %d transactions; want 1", n)
	}
	for _, id := range []string{"evt_a", "evt_b", "evt_c"} {
		if !storedWithDelivery(id) {
			t.Errorf("%s not stored with its delivery", id)
		}
	}

	// An event without an object cannot be rendered: it fails, the rest of its batch is stored.
	errs = c.storeAll(ctx, [][]byte{event("evt_d", true), event("evt_bad", false), event("evt_e", true)})
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors %v; want only the second", errs)
	}
	if !storedWithDelivery("evt_d") || !storedWithDelivery("evt_e") {
		t.Error("the good events of a batch with a bad one were not stored")
	}
	var bad int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM hooks.events WHERE id = 'evt_bad'").Scan(&bad); err != nil || bad != 0 {
		t.Errorf("the bad event stored %d times (%v)", bad, err)
	}
}
