package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newStore(t *testing.T) *Store {
	t.Helper()
	pool := testkit.NewDatabase(t, migrations.Set)
	for _, q := range []string{
		"INSERT INTO admin.organizations (id, name) VALUES ('org_1', 'Org')",
		"INSERT INTO admin.sites (id, organization_id, livemode, name, default_currency, payment_method_types) " +
			"VALUES ('site_1', 'org_1', false, 'Shop', 'EUR', '{card}')",
	} {
		if _, err := pool.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	return New(pool)
}

func ptr(s string) *string { return &s }

func sessionParams(n int) db.CreateSessionParams {
	return db.CreateSessionParams{ID: fmt.Sprintf("cs_batch_%d", n), OrganizationID: "org_1", SiteID: "site_1",
		Currency: "EUR", AmountSubtotal: int64(1000 + n), LineItems: []byte(`[{"name":"Tea","quantity":1}]`),
		SuccessUrl: "https://shop.example/ok", CancelUrl: "https://shop.example/cart", Metadata: []byte(`{"n":"x"}`),
		Reference: fmt.Sprintf("TP-BATCH-%d", n), PaymentMethodTypes: []string{"card"}, Locale: "auto", NotifyFormat: "event",
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), MaxInstallmentCount: int32(1 + n%12),
		InstallmentInterestPaidBy: []string{"merchant", "customer"}[n%2], ReturnMethod: []string{"redirect", "post"}[n%2]}
}

// withoutDefaults drops what the database sets itself.
func withoutDefaults(row db.AdminCheckoutSession) db.AdminCheckoutSession {
	row.Seq, row.CreatedAt, row.Uuid = 0, time.Time{}, ""
	return row
}

// TestBatchWritesWhatOneInsertWrites: rows written together are the rows
// CreateSession writes, NULLs and arrays included; a row whose unique key
// is taken is left for its caller, and the others are written.
func TestBatchWritesWhatOneInsertWrites(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	plain := sessionParams(1)
	full := sessionParams(2)
	full.Customer, full.CustomerEmail, full.CustomerPhone = ptr("cus_1"), ptr("ada@example.com"), ptr("+33 1 23 45 67 89")
	full.OrderID, full.Description, full.NotifyUrl = ptr("order-7"), ptr("Tea, cups"), ptr("https://shop.example/notify")
	full.PaymentMethodTypes = []string{"card", "bank_transfer"}
	taken := sessionParams(3)
	taken.OrderID = ptr("order-7") // the same site and mode as full's

	var reqs []*insertRequest
	for _, p := range []db.CreateSessionParams{plain, full, taken} {
		reqs = append(reqs, &insertRequest{params: p, done: make(chan insertResult, 1)})
	}
	s.writeBatch(discard, reqs)
	results := make([]insertResult, len(reqs))
	for i, r := range reqs {
		results[i] = <-r.done
	}
	if results[0].alone || results[1].alone || !results[2].alone {
		t.Fatalf("alone = %v %v %v; want only the row with the taken order_id", results[0].alone, results[1].alone, results[2].alone)
	}

	// The same rows, one at a time, in a fresh database.
	single := newStore(t)
	for i, p := range []db.CreateSessionParams{plain, full} {
		want, err := single.CreateSession(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := results[i].row; !reflect.DeepEqual(withoutDefaults(got), withoutDefaults(want)) {
			t.Errorf("row %s:\n batched %+v\n  single %+v", p.ID, withoutDefaults(got), withoutDefaults(want))
		}
	}
	if n := count(t, s, "SELECT count(*) FROM admin.checkout_sessions"); n != 2 {
		t.Errorf("%d rows written; want 2", n)
	}
}

// TestInsertSessionConcurrently goes through the running batchers: every
// row is written once, and of the requests sharing an order_id exactly one
// succeeds while the others get the unique violation CreateSession gives.
func TestInsertSessionConcurrently(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = s.RunBatchers(ctx, discard) }()
	t.Cleanup(func() { cancel(); <-stopped })
	testkit.Eventually(t, "the batchers start", func() bool {
		s.batch.mu.Lock()
		defer s.batch.mu.Unlock()
		return s.batch.quit != nil
	})

	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := sessionParams(100 + i)
			if i%10 == 0 {
				p.OrderID = ptr("shared") // 20 requests, one order
			}
			row, err := s.InsertSession(ctx, p)
			if err == nil && (row.ID != p.ID || row.AmountTotal != p.AmountSubtotal) {
				err = fmt.Errorf("got row %s (%d) for %s", row.ID, row.AmountTotal, p.ID)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	shared := 0
	for i, err := range errs {
		constraint, dup := UniqueViolation(err)
		switch {
		case i%10 == 0 && err == nil:
			shared++
		case i%10 == 0 && dup && constraint == "checkout_sessions_order_idx":
		case err != nil:
			t.Errorf("request %d: %v", i, err)
		}
	}
	if shared != 1 {
		t.Errorf("%d requests with the shared order_id succeeded; want 1", shared)
	}
	if got := count(t, s, "SELECT count(*) FROM admin.checkout_sessions"); got != n-19 {
		t.Errorf("%d rows; want %d", got, n-19)
	}
}

func count(t *testing.T, s *Store, query string) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
