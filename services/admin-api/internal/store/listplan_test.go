package store

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// lastQuery remembers the SQL and arguments of the last statement a pool
// sent, so that a test can ask PostgreSQL how it runs it.
type lastQuery struct {
	mu   sync.Mutex
	sql  string
	args []any
}

func (l *lastQuery) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql, l.args = d.SQL, d.Args
	return ctx
}

func (l *lastQuery) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestListSessionsPlan: a page of an organization's sessions, in both
// directions, reads a few pages (straight off checkout_sessions_org_idx),
// even when another organization has many newer sessions (the Checkouts page
// and GET /v1/checkout/sessions must stay a few index pages deep at a
// million sessions) — and stays so once pgx's prepared statement has run
// many times, when PostgreSQL may switch to a generic plan made without the
// organization's value. Ordering by seq alone let PostgreSQL walk the seq
// key backwards through every newer session of the other organization
// (it assumes an organization's sessions are spread evenly over time).
func TestListSessionsPlan(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testkit.DatabaseURL(t, migrations.Set))
	if err != nil {
		t.Fatal(err)
	}
	trace := &lastQuery{}
	cfg.ConnConfig.Tracer = trace
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, q := range []string{
		`INSERT INTO admin.organizations (id, name) VALUES ('org_old', 'Old'), ('org_big', 'Big')`,
		`INSERT INTO admin.sites (id, organization_id, livemode, name, default_currency, payment_method_types)
		 VALUES ('site_old', 'org_old', false, 'S', 'EUR', '{card}'), ('site_big', 'org_big', false, 'S', 'EUR', '{card}')`,
		sessionsSQL("org_old", "site_old", 50_000),
		sessionsSQL("org_big", "site_big", 100_000),
		`ANALYZE admin.checkout_sessions`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	before := int64(25_000) // the middle of org_old's sessions
	for what, list := range map[string]func(*db.Queries) error{
		"first page": func(q *db.Queries) error {
			_, err := q.ListSessions(ctx, db.ListSessionsParams{OrganizationID: "org_old", RowLimit: 26})
			return err
		},
		"a page down": func(q *db.Queries) error {
			_, err := q.ListSessions(ctx, db.ListSessionsParams{OrganizationID: "org_old", BeforeSeq: &before, RowLimit: 26})
			return err
		},
		"a page up": func(q *db.Queries) error {
			_, err := q.ListSessionsAfter(ctx, db.ListSessionsAfterParams{OrganizationID: "org_old", AfterSeq: 10, RowLimit: 26})
			return err
		},
	} {
		checkPlan(t, pool, what, trace, list)
	}
}

// sessionsSQL inserts n open sessions of an organization.
func sessionsSQL(org, site string, n int) string {
	return `INSERT INTO admin.checkout_sessions (id, organization_id, site_id, livemode, status, payment_status, currency,
		amount_subtotal, amount_tax, amount_total, line_items, success_url, cancel_url, reference, payment_method_types, locale, expires_at)
		SELECT '` + org + `_' || g, '` + org + `', '` + site + `', false, 'open', 'unpaid', 'EUR', 100, 0, 100, '[]',
		'https://x.example', 'https://x.example', '` + org + `-' || g, '{card}', 'auto', now() + interval '1 day'
		FROM generate_series(1, ` + strconv.Itoa(n) + `) g`
}

// maxPagePages bounds the 8 KB pages one page of 26 sessions may touch: a
// few index pages and a heap page per session at worst. Walking past other
// organizations' sessions costs thousands.
const maxPagePages = 100

// checkPlan runs list ten times on one connection, as a busy replica does
// (PostgreSQL weighs a generic plan after the fifth run of a prepared
// statement), then checks that it kept planning with the values and that
// the plan for them reads a few pages, not the other organization's.
func checkPlan(t *testing.T, pool *pgxpool.Pool, what string, trace *lastQuery, list func(*db.Queries) error) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	q := db.New(conn)
	for range 10 {
		if err := list(q); err != nil {
			t.Fatal(err)
		}
	}
	trace.mu.Lock()
	sql, args := trace.sql, trace.args
	trace.mu.Unlock()
	var generic int64
	if err := conn.QueryRow(ctx, `SELECT generic_plans FROM pg_prepared_statements WHERE statement = $1`, sql).Scan(&generic); err != nil {
		t.Fatalf("%s: the prepared statement: %v", what, err)
	}
	if generic > 0 {
		t.Errorf("%s: PostgreSQL switched to a generic plan (%d runs)", what, generic)
	}
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	rows.Close()
	// The plan's first Buffers line is its top node's: every page read.
	m := regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`).FindStringSubmatch(plan.String())
	if m == nil {
		t.Fatalf("%s: no buffers in\n%s", what, plan.String())
	}
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi("0" + m[2])
	if hit+read > maxPagePages {
		t.Errorf("%s reads %d pages, more than %d:\n%s", what, hit+read, maxPagePages, plan.String())
	}
}
