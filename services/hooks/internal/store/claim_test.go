package store

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// TestClaimDeliveries: a claim takes due deliveries oldest first, never more
// than an endpoint's bound counting what it already has in flight, skips
// endpoints at their bound, disabled endpoints and leased deliveries, and
// returns what the attempt needs.
func TestClaimDeliveries(t *testing.T) {
	s := New(testkit.NewDatabase(t, migrations.Set))
	ctx := t.Context()
	for _, ep := range []string{"we_a", "we_b", "we_c", "we_off"} {
		if _, err := s.Pool.Exec(ctx, `INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret)
			VALUES ($1, 'org_1', false, 'https://'||$1||'.example/hook', '{*}', 'whsec_'||$1)`, ep); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Pool.Exec(ctx, "UPDATE hooks.endpoints SET disabled_reason = 'manual' WHERE id = 'we_off'"); err != nil {
		t.Fatal(err)
	}
	// Five events, each with a delivery to every endpoint.
	eps := []string{"we_a", "we_b", "we_c", "we_off"}
	for i := range 5 {
		ev := fmt.Sprintf("evt_%d", i)
		if _, err := s.InsertEvent(ctx, db.InsertEventParams{ID: ev, OrganizationID: "org_1", Type: "payment.succeeded",
			ObjectID: "pay_1", Sequence: int64(i), Created: time.Now(), Body: []byte(`{"id":"` + ev + `"}`)}); err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, ep := range eps {
			msgs = append(msgs, "msg_"+ep+"_"+ev)
		}
		if _, err := s.CreateDeliveries(ctx, db.CreateDeliveriesParams{Ids: msgs, EndpointIds: eps, Leased: make([]bool, len(eps)), EventID: ev}); err != nil {
			t.Fatal(err)
		}
	}

	// Bound 3 per endpoint; we_a has 2 in flight, we_b 3 (at its bound).
	rows, err := s.ClaimDeliveries(ctx, db.ClaimDeliveriesParams{Busy: []string{"we_b"},
		InFlightEndpoints: []string{"we_a", "we_b"}, InFlightCounts: []int64{2, 3}, PerEndpoint: 3, MaxRows: 100, LeaseSeconds: 20})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range rows {
		per[r.EndpointID]++
		if r.Url != "https://"+r.EndpointID+".example/hook" || r.Secret != "whsec_"+r.EndpointID || len(r.Body) == 0 {
			t.Errorf("row %s lacks its context: %+v", r.ID, r)
		}
	}
	if want := map[string]int{"we_a": 1, "we_c": 3}; !maps.Equal(per, want) {
		t.Fatalf("claimed per endpoint %v; want %v", per, want)
	}
	// we_c's oldest three.
	var cIDs []string
	for _, r := range rows {
		if r.EndpointID == "we_c" {
			cIDs = append(cIDs, r.ID)
		}
	}
	slices.Sort(cIDs)
	if want := []string{"msg_we_c_evt_0", "msg_we_c_evt_1", "msg_we_c_evt_2"}; !slices.Equal(cIDs, want) {
		t.Errorf("we_c claimed %v; want %v", cIDs, want)
	}

	// Leased rows are not claimed again; max_rows bounds the claim.
	again, err := s.ClaimDeliveries(ctx, db.ClaimDeliveriesParams{Busy: []string{}, InFlightEndpoints: []string{},
		InFlightCounts: []int64{}, PerEndpoint: 10, MaxRows: 4, LeaseSeconds: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if slices.ContainsFunc(rows, func(o db.ClaimDeliveriesRow) bool { return o.ID == r.ID }) {
			t.Errorf("%s claimed twice", r.ID)
		}
		if r.EndpointID == "we_off" {
			t.Errorf("claimed %s of a disabled endpoint", r.ID)
		}
	}
	if len(again) != 4 {
		t.Errorf("second claim took %d rows; want max_rows 4", len(again))
	}
}
