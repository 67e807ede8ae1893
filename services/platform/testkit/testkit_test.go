package testkit_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var shopSet = pgkit.MigrationSet{Schema: "shop", FS: fstest.MapFS{
	"0001_items.sql":  {Data: []byte("CREATE TABLE shop.items (id int PRIMARY KEY, name text NOT NULL);")},
	"0002_prices.sql": {Data: []byte("ALTER TABLE shop.items ADD COLUMN price bigint NOT NULL DEFAULT 0;")},
}}

var auditSet = pgkit.MigrationSet{Schema: "audit", FS: fstest.MapFS{
	"0001_log.sql": {Data: []byte("CREATE TABLE audit.log (line text NOT NULL);")},
}}

func TestDatabasesFromOneTemplateAreIndependent(t *testing.T) {
	ctx := context.Background()
	a := testkit.NewDatabase(t, shopSet)
	b := testkit.NewDatabase(t, shopSet)

	if got, want := dbName(t, a), dbName(t, b); got == want {
		t.Fatalf("both pools are on database %s", got)
	}
	for _, pool := range []*pgxpool.Pool{a, b} {
		var version int
		if err := pool.QueryRow(ctx, "SELECT version FROM shop.schema_version").Scan(&version); err != nil || version != 2 {
			t.Fatalf("shop.schema_version = %d, %v; want 2", version, err)
		}
	}
	if _, err := a.Exec(ctx, "INSERT INTO shop.items (id, name, price) VALUES (1, 'tea', 250)"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, a, "shop.items"); n != 1 {
		t.Errorf("a has %d items, want 1", n)
	}
	if n := count(t, b, "shop.items"); n != 0 {
		t.Errorf("b has %d items, want 0: the databases are not independent", n)
	}
}

func TestTemplateHasExactlyTheGivenSets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sets    []pgkit.MigrationSet
		schemas []string // those of shop and audit present
	}{
		{"none", nil, nil},
		{"shop", []pgkit.MigrationSet{shopSet}, []string{"shop"}},
		{"shop and audit", []pgkit.MigrationSet{shopSet, auditSet}, []string{"audit", "shop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := testkit.NewDatabase(t, tc.sets...)
			var got []string
			rows, err := pool.Query(context.Background(),
				"SELECT nspname FROM pg_namespace WHERE nspname IN ('shop', 'audit') ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.schemas) {
				t.Errorf("schemas %v, want %v", got, tc.schemas)
			}
		})
	}
}

// TestParallelDatabases has many tests make databases at once, the first of
// them racing to create the template.
func TestParallelDatabases(t *testing.T) {
	set := pgkit.MigrationSet{Schema: "par", FS: fstest.MapFS{
		"0001_t.sql": {Data: []byte("CREATE TABLE par.t (v int); INSERT INTO par.t VALUES (1);")},
	}}
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			pool := testkit.NewDatabase(t, set)
			if _, err := pool.Exec(context.Background(), "INSERT INTO par.t VALUES (2)"); err != nil {
				t.Fatal(err)
			}
			if n := count(t, pool, "par.t"); n != 2 {
				t.Errorf("par.t has %d rows, want 2", n)
			}
		})
	}
}

func TestDatabaseIsDroppedWhenTestEnds(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		name = dbName(t, testkit.NewDatabase(t))
	})
	var exists bool
	err := testkit.NewDatabase(t).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil || exists {
		t.Fatalf("database %s exists=%v (%v) after its test ended", name, exists, err)
	}
}

func TestDatabaseURL(t *testing.T) {
	ctx := context.Background()
	var pool *pgxpool.Pool
	// Closed only after the drop, which must disconnect it (or fail the test).
	t.Cleanup(func() {
		if pool != nil {
			pool.Close()
		}
	})
	pool, err := pgkit.Connect(ctx, testkit.DatabaseURL(t, auditSet))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "audit.log"); n != 0 {
		t.Errorf("audit.log has %d rows, want 0", n)
	}
}

func TestNATSRestartKeepsMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := testkit.NewNATS(t)
	url := srv.URL()

	js := jetStream(t, url)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := js.Publish(ctx, "orders.created", fmt.Appendf(nil, "order %d", i)); err != nil {
			t.Fatal(err)
		}
	}

	srv.Shutdown()
	if _, err := nats.Connect(url, nats.MaxReconnects(0)); err == nil {
		t.Fatal("connected to a server that was shut down")
	}
	srv.Restart(t)
	if srv.URL() != url {
		t.Fatalf("URL changed across restart: %s → %s", url, srv.URL())
	}

	stream, err := jetStream(t, url).Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	if n := stream.CachedInfo().State.Msgs; n != 3 {
		t.Fatalf("stream has %d messages after restart, want 3", n)
	}
	msg, err := stream.GetMsg(ctx, 3)
	if err != nil || string(msg.Data) != "order 2" {
		t.Fatalf("message 3 = %v, %v; want \"order 2\"", msg, err)
	}
}

func jetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func dbName(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStripeMockValidatesRequests: stripe-mock answers a valid Stripe call
// with a fixture and refuses one that breaks Stripe's OpenAPI specification
// (an unknown parameter), which is what makes it a contract test.
func TestStripeMockValidatesRequests(t *testing.T) {
	base := testkit.StripeMock(t)
	call := func(form string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/payment_intents", strings.NewReader(form))
		req.Header.Set("Authorization", "Bearer "+testkit.StripeMockKey)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := call("amount=5000&currency=eur&capture_method=manual"); code != http.StatusOK {
		t.Errorf("a valid PaymentIntent: %d", code)
	}
	if code := call("amount=5000&currency=eur&no_such_param=1"); code != http.StatusBadRequest {
		t.Errorf("an unknown parameter: %d, want 400", code)
	}
	if base2 := testkit.StripeMock(t); base2 != base {
		t.Errorf("a second call started another stripe-mock: %s, %s", base, base2)
	}
}
