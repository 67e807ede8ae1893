package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// TestAuditListPlan: a page of the audit log reads a few index pages off
// audit_log_org_idx — the first page, and one 15,000 entries deep, beside
// another organization's 50,000 entries of the same hours — also in the
// generic plan PostgreSQL may switch a prepared statement to (forced here):
// the position is an index bound, not a filter walked up to.
func TestAuditListPlan(t *testing.T) {
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
		`INSERT INTO admin.organizations (id, name) VALUES ('org_small', 'Small'), ('org_big', 'Big')`,
		auditSQL("org_small", 20_000, 5),
		auditSQL("org_big", 50_000, 2),
		`VACUUM ANALYZE admin.audit_log`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var deepAt time.Time
	if err := pool.QueryRow(ctx, `SELECT occurred_at FROM admin.audit_log WHERE id = 'org_small_15000'`).Scan(&deepAt); err != nil {
		t.Fatal(err)
	}
	for what, params := range map[string]db.ListAuditEntriesParams{
		"first page": {OrganizationID: "org_small", BeforeAt: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), RowLimit: 51},
		"deep page":  {OrganizationID: "org_small", BeforeAt: deepAt, BeforeID: "org_small_15000", RowLimit: 51},
	} {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The plan made without the values, which PostgreSQL may choose
		// after five runs: it must bound the scan by the position too.
		if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
			t.Fatal(err)
		}
		q := db.New(conn)
		var rows []db.AdminAuditLog
		for range 2 {
			if rows, err = q.ListAuditEntries(ctx, params); err != nil {
				t.Fatal(err)
			}
		}
		if len(rows) != 51 || rows[0].OrganizationID != "org_small" {
			t.Fatalf("%s: %d rows", what, len(rows))
		}
		trace.mu.Lock()
		sql := trace.sql
		trace.mu.Unlock()
		var name string
		if err := conn.QueryRow(ctx, `SELECT name FROM pg_prepared_statements WHERE statement = $1`, sql).Scan(&name); err != nil {
			t.Fatalf("%s: the prepared statement: %v", what, err)
		}
		plan := explain(t, conn, fmt.Sprintf("EXPLAIN (ANALYZE, BUFFERS) EXECUTE %s('%s', '%s', '%s', '%s', NULL, NULL, NULL, %d)",
			pgx.Identifier{name}.Sanitize(), params.OrganizationID, params.BeforeAt.Format(time.RFC3339Nano), params.BeforeID,
			params.Since.Format(time.RFC3339), params.RowLimit))
		conn.Release()
		m := regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`).FindStringSubmatch(plan)
		if m == nil {
			t.Fatalf("%s: no buffers in\n%s", what, plan)
		}
		hit, _ := strconv.Atoi(m[1])
		read, _ := strconv.Atoi("0" + m[2])
		if !strings.Contains(plan, "audit_log_org_idx") || hit+read > maxAuditPages {
			t.Errorf("%s reads %d pages (at most %d), not off audit_log_org_idx:\n%s", what, hit+read, maxAuditPages, plan)
		}
	}
}

// maxAuditPages bounds the pages a page of 51 entries may touch: a few
// index pages and a heap page or two (the entries were written in order).
// Walking to the position through 15,000 newer entries reads hundreds.
const maxAuditPages = 30

// auditSQL inserts n entries of an organization, one every step seconds
// back from now; entry g is org_g, the g-th newest.
func auditSQL(org string, n, step int) string {
	return `INSERT INTO admin.audit_log (id, organization_id, livemode, occurred_at, actor_kind, actor_id, action, target_id)
		SELECT '` + org + `_' || g, '` + org + `', false, now() - make_interval(secs => g * ` + strconv.Itoa(step) + `),
		'api_key', 'key_1', 'site.update', 'site_1'
		FROM generate_series(1, ` + strconv.Itoa(n) + `) g`
}

func explain(t *testing.T, conn *pgxpool.Conn, query string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}
