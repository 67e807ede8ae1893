package server

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// seedSession is seed 001's URL-parameters example: no site, no currency.
func seedSession() map[string]any {
	return map[string]any{"amount": 5000, "success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url": "https://yoursite.com/cancel"}
}

// defaultSiteOf creates a session without site_id and returns its site.
func (e *env) defaultSiteOf(key string) string {
	e.t.Helper()
	status, s := e.do("POST", "/v1/checkout/sessions", key, seedSession())
	if status != http.StatusCreated {
		e.t.Fatalf("create without site_id: %d %v", status, s)
	}
	return s["site_id"].(string)
}

func (e *env) markDefault(key, site string, on bool) map[string]any {
	e.t.Helper()
	status, body := e.do("POST", "/v1/sites/"+site, key, map[string]any{"default": on})
	if status != http.StatusOK || body["default"] != on {
		e.t.Fatalf("mark %s default=%v: %d %v", site, on, status, body)
	}
	return body
}

func (e *env) isDefault(key, site string) bool {
	e.t.Helper()
	status, body := e.do("GET", "/v1/sites/"+site, key, nil)
	if status != http.StatusOK {
		e.t.Fatalf("get site: %d %v", status, body)
	}
	return body["default"] == true
}

func TestSessionWithoutSiteIDUsesTheDefaultSite(t *testing.T) {
	e := newEnv(t)
	// Without a mark, the oldest site of the mode; its currency.
	status, s := e.do("POST", "/v1/checkout/sessions", e.keyA, seedSession())
	if status != http.StatusCreated || s["site_id"] != e.siteA || s["currency"] != "EUR" || s["amount"] != 5000.0 {
		t.Fatalf("create without site_id: %d %v", status, s)
	}
	if got := e.defaultSiteOf(e.liveKeyA); got != e.liveSiteA {
		t.Errorf("live mode's default = %s, want its own site %s", got, e.liveSiteA)
	}
	second := e.createSite(e.keyA, "http")
	if got := e.defaultSiteOf(e.keyA); got != e.siteA || e.isDefault(e.keyA, e.siteA) {
		t.Errorf("a newer unmarked site: default %s, want the oldest %s, unmarked", got, e.siteA)
	}

	// Marking one unmarks the other, in the API and in the database.
	e.markDefault(e.keyA, second, true)
	if got := e.defaultSiteOf(e.keyA); got != second {
		t.Errorf("after marking %s: default %s", second, got)
	}
	body := validSite()
	body["default"] = true
	status, third := e.do("POST", "/v1/sites", e.keyA, body)
	if status != http.StatusCreated || third["default"] != true {
		t.Fatalf("create a default site: %d %v", status, third)
	}
	if e.isDefault(e.keyA, second) || e.defaultSiteOf(e.keyA) != third["id"] {
		t.Errorf("creating %s default left %s marked", third["id"], second)
	}
	if n := e.count("SELECT count(*) FROM admin.sites WHERE is_default AND organization_id = $1 AND NOT livemode", e.orgA); n != 1 {
		t.Errorf("%d default sites, want 1", n)
	}
	// The live site is another mode: its default never moved.
	if got := e.defaultSiteOf(e.liveKeyA); got != e.liveSiteA {
		t.Errorf("live default = %s after test-mode changes", got)
	}

	// Unmarking falls back to the oldest.
	e.markDefault(e.keyA, third["id"].(string), false)
	if got := e.defaultSiteOf(e.keyA); got != e.siteA {
		t.Errorf("after unmarking: default %s, want the oldest %s", got, e.siteA)
	}
	// An explicit site_id still wins, and the currency is that site's.
	if status, s := e.do("POST", "/v1/checkout/sessions", e.keyA, map[string]any{"site_id": second, "amount": 1}); status != http.StatusCreated || s["site_id"] != second {
		t.Errorf("explicit site_id: %d %v", status, s)
	}
}

func TestSessionWithoutAnySiteNamesSiteID(t *testing.T) {
	e := newEnv(t)
	before := e.count("SELECT count(*) FROM admin.checkout_sessions")
	status, body := e.do("POST", "/v1/checkout/sessions", e.keyB, seedSession())
	if param, typ, code := apiError(body); status != http.StatusBadRequest || param != "site_id" || typ != "invalid_request_error" || code != "parameter_missing" {
		t.Fatalf("organization without sites: %d %v", status, body)
	}
	if after := e.count("SELECT count(*) FROM admin.checkout_sessions"); after != before {
		t.Errorf("%d sessions written by a refused create", after-before)
	}
	// Another organization's site is never a default.
	if status, body := e.do("POST", "/v1/checkout/sessions", e.keyB, map[string]any{"site_id": e.siteA, "amount": 1}); status != http.StatusNotFound {
		t.Errorf("another organization's site: %d %v", status, body)
	}
}

// TestConcurrentDefaultMarksLeaveOne: requests marking different sites at
// once take turns; the last one wins and exactly one site stays marked.
func TestConcurrentDefaultMarksLeaveOne(t *testing.T) {
	e := newEnv(t)
	sites := []string{e.siteA}
	for range 5 {
		sites = append(sites, e.createSite(e.keyA, "http"))
	}
	// One of them is marked already, and is marked again among the others.
	e.markDefault(e.keyA, sites[0], true)
	var wg sync.WaitGroup
	fails := make(chan string, 2*len(sites))
	for _, id := range append(sites, sites[0], sites[0]) {
		wg.Go(func() {
			status, body := e.do("POST", "/v1/sites/"+id, e.keyA, map[string]any{"default": true})
			if status != http.StatusOK {
				fails <- fmt.Sprintf("%s: %d %v", id, status, body)
			}
		})
	}
	wg.Wait()
	close(fails)
	for f := range fails {
		t.Error(f)
	}
	if n := e.count("SELECT count(*) FROM admin.sites WHERE is_default AND organization_id = $1 AND NOT livemode", e.orgA); n != 1 {
		t.Fatalf("%d default sites, want 1", n)
	}
	var marked string
	for _, id := range sites {
		if e.isDefault(e.keyA, id) {
			marked = id
		}
	}
	if got := e.defaultSiteOf(e.keyA); got != marked {
		t.Errorf("sessions go to %s, the marked site is %s", got, marked)
	}
}

// TestDefaultSiteCacheForgetsOtherReplicasSites: a site another replica
// inserts as the default (straight in the database here) is this replica's
// default shortly after: INSERTs notify the cache too.
func TestDefaultSiteCacheForgetsOtherReplicasSites(t *testing.T) {
	e := newEnv(t)
	if got := e.defaultSiteOf(e.keyA); got != e.siteA {
		t.Fatalf("default %s, want %s", got, e.siteA)
	}
	if _, err := e.pool.Exec(t.Context(), `INSERT INTO admin.sites (id, organization_id, livemode, name, default_currency, payment_method_types, is_default)
		VALUES ('site_elsewhere', $1, false, 'Elsewhere', 'GBP', '{card}', true)`, e.orgA); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the other replica's default site is used", func() bool {
		s, err := e.store.CachedDefaultSite(t.Context(), db.GetDefaultSiteParams{OrganizationID: e.orgA})
		return err == nil && s.ID == "site_elsewhere"
	})
}
