package outbox_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tillpoint/tillpoint/services/platform/outbox"
)

// gauges gathers reg's outbox gauges as name → value, checking the outbox
// label.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "outbox" || m.GetLabel()[0].GetValue() != schema {
				t.Fatalf("%s labels %v, want outbox=%s", f.GetName(), m.GetLabel(), schema)
			}
			out[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestBacklogGauges: against a real outbox table, the gauges read nothing
// waiting, then the waiting events and the age of the oldest (its
// created_at moved back 90 s: the relay is not running), then nothing once
// the relay has published them.
func TestBacklogGauges(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	if err := outbox.RegisterBacklog(reg, f.pool, schema); err != nil {
		t.Fatal(err)
	}
	const age, count = "outbox_oldest_event_age_seconds", "outbox_unpublished_events"
	if got := gauges(t, reg); got[age] != 0 || got[count] != 0 || len(got) != 2 {
		t.Fatalf("empty outbox: %v", got)
	}
	write(t, f.pool, event("evt_old"), event("evt_b"))
	write(t, f.pool, event("evt_c"))
	if _, err := f.pool.Exec(t.Context(), "UPDATE "+schema+".outbox SET created_at = now() - interval '90 seconds' WHERE id = 'evt_old'"); err != nil {
		t.Fatal(err)
	}
	if got := gauges(t, reg); got[count] != 3 || got[age] < 90 || got[age] > 120 {
		t.Fatalf("three waiting, the oldest 90 s old: %v", got)
	}
	stop := startRelay(t, &outbox.Relay{Pool: f.pool, JS: f.js, Schema: schema, Logger: discard()})
	receive(t, f.cons, 3)
	stop() // returns once the batch's DELETE has committed
	if got := gauges(t, reg); got[age] != 0 || got[count] != 0 {
		t.Fatalf("after the relay: %v", got)
	}
	// Registered twice on one registry: an error, not a panic.
	if err := outbox.RegisterBacklog(reg, f.pool, schema); err == nil {
		t.Error("a second registration succeeded")
	}
}
