package pgkit_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func sqlFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, sql := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return fsys
}

// The migrations are not idempotent (a plain CREATE TABLE, an INSERT), so
// applying one twice fails or shows in the row count.
var (
	billing = pgkit.MigrationSet{Schema: "billing", FS: sqlFS(map[string]string{
		"0001_invoices.sql": "SET lock_timeout = '5s';\nCREATE TABLE billing.invoices (id int PRIMARY KEY);",
		"0002_seed.sql":     "INSERT INTO billing.invoices VALUES (1);",
	})}
	ledger = pgkit.MigrationSet{Schema: "ledger", FS: sqlFS(map[string]string{
		"0001_entries.sql": "CREATE TABLE ledger.entries (invoice_id int REFERENCES billing.invoices (id));",
	})}
)

func TestMigrateTwiceIsANoop(t *testing.T) {
	ctx := context.Background()
	pool := testkit.NewDatabase(t)
	for range 2 {
		if err := pgkit.Migrate(ctx, pool, billing, ledger); err != nil {
			t.Fatal(err)
		}
	}
	assertMigrated(t, pool)
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	dbURL := testkit.DatabaseURL(t)
	const replicas = 4
	pools := make([]*pgxpool.Pool, replicas)
	for i := range pools {
		pool, err := pgkit.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		pools[i] = pool
	}
	start := make(chan struct{})
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, pool := range pools {
		wg.Go(func() {
			<-start
			errs[i] = pgkit.Migrate(ctx, pool, billing, ledger)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	assertMigrated(t, pools[0])
}

func TestMigrateAppliesOnlyNewMigrations(t *testing.T) {
	ctx := context.Background()
	pool := testkit.NewDatabase(t)
	v1 := pgkit.MigrationSet{Schema: "billing", FS: sqlFS(map[string]string{
		"0001_invoices.sql": "CREATE TABLE billing.invoices (id int PRIMARY KEY);",
	})}
	if err := pgkit.Migrate(ctx, pool, v1); err != nil {
		t.Fatal(err)
	}
	if err := pgkit.Migrate(ctx, pool, billing); err != nil {
		t.Fatal(err)
	}
	if v := version(t, pool, "billing"); v != 2 {
		t.Errorf("billing version %d, want 2", v)
	}
	// A binary with fewer migrations than the database has refuses to run.
	if err := pgkit.Migrate(ctx, pool, v1); err == nil {
		t.Error("migrating back to an older set succeeded")
	}
}

func TestMigrateFailureRollsBackThatMigration(t *testing.T) {
	ctx := context.Background()
	pool := testkit.NewDatabase(t)
	broken := pgkit.MigrationSet{Schema: "billing", FS: sqlFS(map[string]string{
		"0001_invoices.sql": "CREATE TABLE billing.invoices (id int PRIMARY KEY);",
		"0002_broken.sql":   "CREATE TABLE billing.half (id int); SELECT no_such_column FROM billing.invoices;",
	})}
	err := pgkit.Migrate(ctx, pool, broken)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("Migrate = %v; want an error naming 0002_broken.sql", err)
	}
	if v := version(t, pool, "billing"); v != 1 {
		t.Errorf("billing version %d, want 1", v)
	}
	var half *string
	if err := pool.QueryRow(ctx, "SELECT to_regclass('billing.half')::text").Scan(&half); err != nil || half != nil {
		t.Errorf("billing.half exists (%v, %v): the failed migration was not rolled back", half, err)
	}
}

func TestMigrateRejectsBadSets(t *testing.T) {
	pool := testkit.NewDatabase(t)
	for _, tc := range []struct {
		name string
		sets []pgkit.MigrationSet
		want string
	}{
		{"quoted schema", []pgkit.MigrationSet{{Schema: `x"; DROP`, FS: billing.FS}}, "invalid schema name"},
		{"upper-case schema", []pgkit.MigrationSet{{Schema: "Billing", FS: billing.FS}}, "invalid schema name"},
		{"same schema twice", []pgkit.MigrationSet{billing, billing}, "given twice"},
		{"no FS", []pgkit.MigrationSet{{Schema: "billing"}}, "no migrations"},
		{"no migrations", []pgkit.MigrationSet{{Schema: "billing", FS: sqlFS(map[string]string{"README": "x"})}}, "no NNNN_name.sql"},
		{"gap", []pgkit.MigrationSet{{Schema: "billing", FS: sqlFS(map[string]string{
			"0001_a.sql": "SELECT 1", "0003_c.sql": "SELECT 1"})}}, "Missing migration 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pgkit.Migrate(context.Background(), pool, tc.sets...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Migrate = %v; want an error containing %q", err, tc.want)
			}
		})
	}
	// Nothing was created.
	var n int
	if err := pool.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_namespace WHERE nspname IN ('billing', 'Billing')").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d schemas created (%v), want 0", n, err)
	}
}

func TestConnect(t *testing.T) {
	pool, err := pgkit.Connect(context.Background(), testkit.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var one int
	if err := pool.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func TestConnectErrorsHidePassword(t *testing.T) {
	const secret = "Sup3rS3cretPw"
	for _, url := range []string{
		// Nothing listens on port 1: the connection is refused.
		"postgres://app:" + secret + "@127.0.0.1:1/app?sslmode=disable",
		"postgres://app:" + secret + "@127.0.0.1:notaport/app",
		"postgres://app:" + secret + "/x@127.0.0.1/app",
		"host=127.0.0.1 port=1 user=app password=" + secret + " sslmode=disable",
		"host=127.0.0.1 port=x user=app password=" + secret,
	} {
		_, err := pgkit.Connect(context.Background(), url)
		if err == nil {
			t.Errorf("Connect(%q) succeeded", url)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func assertMigrated(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if v := version(t, pool, "billing"); v != 2 {
		t.Errorf("billing version %d, want 2", v)
	}
	if v := version(t, pool, "ledger"); v != 1 {
		t.Errorf("ledger version %d, want 1", v)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM billing.invoices").Scan(&n); err != nil || n != 1 {
		t.Errorf("billing.invoices has %d rows (%v), want 1: a migration ran twice", n, err)
	}
}

func version(t *testing.T, pool *pgxpool.Pool, schema string) int {
	t.Helper()
	var v int
	if err := pool.QueryRow(context.Background(), "SELECT version FROM "+schema+".schema_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
