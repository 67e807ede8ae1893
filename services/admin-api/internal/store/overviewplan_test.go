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

// TestOverviewPlan: the Overview's sums read only the organization's
// sessions of the window, off checkout_sessions_list_idx, even when
// the organization has many older sessions and another organization many
// newer ones — and keep doing so once the prepared statement has run many
// times (the plan checked is the one it then runs, generic or not).
func TestOverviewPlan(t *testing.T) {
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
		`INSERT INTO admin.sites (id, organization_id, livemode, name, default_currency, payment_method_types)
		 VALUES ('site_small', 'org_small', false, 'S', 'EUR', '{card}'), ('site_big', 'org_big', false, 'S', 'EUR', '{card}')`,
		// Each organization has 5,000 sessions of a year ago (history is
		// most of the table); in the window, org_small has 20 (paid) and
		// org_big 500.
		sessionsSQL("org_small", "site_small", 5_000),
		sessionsSQL("org_big", "site_big", 5_000),
		`UPDATE admin.checkout_sessions SET created_at = now() - interval '1 year'`,
		`UPDATE admin.checkout_sessions SET created_at = now() - interval '2 days', payment_status = 'paid', status = 'complete'
		 WHERE id IN (SELECT id FROM admin.checkout_sessions WHERE organization_id = 'org_small' ORDER BY seq LIMIT 20)`,
		`UPDATE admin.checkout_sessions SET created_at = now() - interval '1 day'
		 WHERE id IN (SELECT id FROM admin.checkout_sessions WHERE organization_id = 'org_big' ORDER BY seq LIMIT 500)`,
		`VACUUM ANALYZE admin.checkout_sessions`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	params := db.OverviewDaysParams{OrganizationID: "org_small", TimeZone: "Europe/Paris", Since: today.AddDate(0, 0, -29), Until: today.AddDate(0, 0, 1)}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	q := db.New(conn)
	var rows []db.OverviewDaysRow
	for range 10 { // PostgreSQL weighs a generic plan after the fifth run
		if rows, err = q.OverviewDays(ctx, params); err != nil {
			t.Fatal(err)
		}
	}
	if len(rows) != 1 || rows[0].Created != 20 || rows[0].Paid != 20 || rows[0].PaidAmount != 2000 {
		t.Errorf("rows %+v, want one day of 20 created and paid, 2000", rows)
	}
	// The plan the statement now runs with (generic or not), and the pages
	// it reads.
	trace.mu.Lock()
	sql := trace.sql
	trace.mu.Unlock()
	var name string
	if err := conn.QueryRow(ctx, `SELECT name FROM pg_prepared_statements WHERE statement = $1`, sql).Scan(&name); err != nil {
		t.Fatalf("the prepared statement: %v", err)
	}
	var plan strings.Builder
	prows, err := conn.Query(ctx, fmt.Sprintf("EXPLAIN (ANALYZE, BUFFERS) EXECUTE %s('%s', '%s', %t, '%s', '%s')",
		pgx.Identifier{name}.Sanitize(), params.TimeZone, params.OrganizationID, params.Livemode, params.Since.Format(time.RFC3339), params.Until.Format(time.RFC3339)))
	if err != nil {
		t.Fatal(err)
	}
	for prows.Next() {
		var line string
		if err := prows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	prows.Close()
	if err := prows.Err(); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`).FindStringSubmatch(plan.String())
	if m == nil {
		t.Fatalf("no buffers in\n%s", plan.String())
	}
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi("0" + m[2])
	if !strings.Contains(plan.String(), "Index Only Scan using checkout_sessions_list_idx") || hit+read > maxOverviewPages {
		t.Errorf("the overview reads %d pages (at most %d), not only off checkout_sessions_list_idx:\n%s", hit+read, maxOverviewPages, plan.String())
	}
	t.Logf("%d pages:\n%s", hit+read, plan.String())
}

// maxOverviewPages bounds the pages the test's overview may read: a few
// index pages for 20 entries. A scan of the organization's older sessions,
// or of the other organization's, reads tens to hundreds.
const maxOverviewPages = 16
