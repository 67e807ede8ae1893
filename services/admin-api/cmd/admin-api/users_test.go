package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/bootstrap"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// TestUsersCreate: the first owner is made from the command line with a
// generated password, printed once, that signs in (its hash verifies).
func TestUsersCreate(t *testing.T) {
	ctx := context.Background()
	dbURL := testkit.DatabaseURL(t, migrations.Set)
	t.Setenv("DATABASE_URL", dbURL)
	pool, err := pgkit.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	org, err := bootstrap.CreateOrganization(ctx, st, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := usersCommand(ctx, []string{"create", "--email", "Alice@Acme.example", "--org", org.ID, "--role", "owner"}, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "alice@acme.example") || !strings.Contains(out.String(), "owner") {
		t.Fatalf("output:\n%s", out.String())
	}
	user, err := st.GetDashboardUserByEmail(ctx, "alice@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dashboard.VerifyPassword(ctx, m[1], user.PasswordHash); !ok || err != nil || strings.Contains(user.PasswordHash, m[1]) {
		t.Fatalf("the printed password does not verify against the stored hash: %v %v", ok, err)
	}
	orgs, err := st.ListDashboardMemberships(ctx, user.ID)
	if err != nil || len(orgs) != 1 || orgs[0].OrganizationID != org.ID || orgs[0].Role != "owner" {
		t.Fatalf("memberships %+v %v", orgs, err)
	}
	for _, args := range [][]string{
		{"create", "--email", "bob@acme.example", "--org", org.ID, "--role", "admin"},
		{"create", "--email", "bob@acme.example", "--org", "org_nope", "--role", "viewer"},
		{"create", "--email", "not an email", "--org", org.ID, "--role", "viewer"},
		{"create", "--org", org.ID, "--role", "viewer"},
		{"delete", "--email", "alice@acme.example"},
	} {
		if err := usersCommand(ctx, args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, err := st.GetDashboardUserByEmail(ctx, "bob@acme.example"); !store.IsNoRows(err) {
		t.Errorf("a refused command made a user: %v", err)
	}
}

// TestUsersResetTwoFactor: an operator turns off the two-factor sign-in of
// a user who lost their phone and recovery codes; the password stays.
func TestUsersResetTwoFactor(t *testing.T) {
	ctx := context.Background()
	dbURL := testkit.DatabaseURL(t, migrations.Set)
	t.Setenv("DATABASE_URL", dbURL)
	pool, err := pgkit.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	org, err := bootstrap.CreateOrganization(ctx, st, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	user, err := dashboard.SetUser(ctx, st, "carol@acme.example", org.ID, dashboard.RoleOwner, pw)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`UPDATE admin.dashboard_users SET totp_secret = 'k1:sealed', totp_last_step = 7 WHERE id = $1`,
		`INSERT INTO admin.dashboard_recovery_codes (user_id, code_hash) VALUES ($1, '\x01'), ($1, '\x02')`} {
		if _, err := pool.Exec(ctx, stmt, user.ID); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := usersCommand(ctx, []string{"reset-two-factor", "--email", "Carol@Acme.example"}, &out); err != nil {
		t.Fatal(err)
	}
	var on bool
	var codes int
	_ = pool.QueryRow(ctx, `SELECT totp_secret IS NOT NULL, (SELECT count(*) FROM admin.dashboard_recovery_codes WHERE user_id = $1) FROM admin.dashboard_users WHERE id = $1`, user.ID).Scan(&on, &codes)
	if on || codes != 0 || !strings.Contains(out.String(), "carol@acme.example") {
		t.Errorf("after the reset: on %v, %d recovery codes; output %q", on, codes, out.String())
	}
	after, err := st.GetDashboardUser(ctx, user.ID)
	if err != nil || after.PasswordHash != user.PasswordHash {
		t.Errorf("the reset changed the password: %v", err)
	}
	for _, args := range [][]string{{"reset-two-factor", "--email", "nobody@acme.example"}, {"reset-two-factor"}} {
		if err := usersCommand(ctx, args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }
