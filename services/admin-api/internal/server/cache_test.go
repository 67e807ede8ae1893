package server

import (
	"net/http"
	"testing"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/apikey"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// TestCacheForgetsOtherReplicasChanges changes keys and sites the way another
// admin-api replica would, straight in the database, and checks that this
// replica's cache lets go of what it held.
func TestCacheForgetsOtherReplicasChanges(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}

	// The key is served from memory: a change that no notification reports
	// (its name, which authentication does not use) stays unseen.
	hash := apikey.Hash(e.keyA)
	before, err := e.store.CachedAPIKey(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	exec("UPDATE admin.api_keys SET name = 'renamed elsewhere' WHERE id = $1", before.ID)
	if k, err := e.store.CachedAPIKey(ctx, hash); err != nil || k.Name != before.Name {
		t.Fatalf("second lookup: name %q, %v; want the cached %q", k.Name, err, before.Name)
	}

	// Another replica revokes it: this one refuses the key shortly after,
	// by its secret and by its id (which access tokens name).
	if status, _ := e.do("GET", "/v1/checkout/sessions", e.keyA, nil); status != http.StatusOK {
		t.Fatalf("list before the revocation: %d", status)
	}
	if k, err := e.store.CachedAPIKeyByID(ctx, before.ID); err != nil || k.RevokedAt != nil {
		t.Fatalf("key by id before the revocation: %+v, %v", k, err)
	}
	exec("UPDATE admin.api_keys SET revoked_at = now() WHERE id = $1", before.ID)
	testkit.Eventually(t, "the revoked key is refused", func() bool {
		status, body := e.do("GET", "/v1/checkout/sessions", e.keyA, nil)
		_, _, code := apiError(body)
		return status == http.StatusUnauthorized && code == "api_key_revoked"
	})
	testkit.Eventually(t, "the key by id is seen revoked", func() bool {
		k, err := e.store.CachedAPIKeyByID(ctx, before.ID)
		return err == nil && k.RevokedAt != nil
	})

	// Likewise a site changed elsewhere.
	site := db.GetSiteParams{ID: e.siteA, OrganizationID: e.orgA}
	if _, err := e.store.CachedSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	exec("UPDATE admin.sites SET default_currency = 'CHF' WHERE id = $1", e.siteA)
	testkit.Eventually(t, "the site change is seen", func() bool {
		s, err := e.store.CachedSite(ctx, site)
		return err == nil && s.DefaultCurrency == "CHF"
	})

	// And fee rules: a completion takes the rule another replica wrote.
	rules := db.ListFeeRulesParams{OrganizationID: e.orgA}
	if got, err := e.store.CachedFeeRules(ctx, rules); err != nil || len(got) != 0 {
		t.Fatalf("fee rules %v, %v; want none", got, err)
	}
	exec("INSERT INTO admin.fee_rules (organization_id, livemode, payment_method, currency, percent_bps, fixed_amount) VALUES ($1, false, '', '', 100, 0)", e.orgA)
	testkit.Eventually(t, "the fee rule is seen", func() bool {
		got, err := e.store.CachedFeeRules(ctx, rules)
		return err == nil && len(got) == 1 && got[0].PercentBps == 100
	})
}

// TestCacheOffWithoutListener: with no listener connected nothing is kept,
// so a change no notification could report is seen at once.
func TestCacheOffWithoutListener(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.stopListening()
	if e.store.Caching() {
		t.Fatal("caching still on after the listener stopped")
	}
	hash := apikey.Hash(e.keyA)
	k, err := e.store.CachedAPIKey(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "UPDATE admin.api_keys SET name = 'renamed' WHERE id = $1", k.ID); err != nil {
		t.Fatal(err)
	}
	if k, err := e.store.CachedAPIKey(ctx, hash); err != nil || k.Name != "renamed" {
		t.Fatalf("lookup without a listener: name %q, %v; want the database's", k.Name, err)
	}
}
