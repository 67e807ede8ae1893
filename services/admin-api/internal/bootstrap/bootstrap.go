// Package bootstrap creates the first organization and key of a deployment
// (`admin-api orgs create`, `admin-api keys create`) and the dev stack's demo
// data (`admin-api seed-demo`).
package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/apikey"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// CreateOrganization makes an organization.
func CreateOrganization(ctx context.Context, s *store.Store, name string) (db.AdminOrganization, error) {
	if name == "" || len(name) > 200 {
		return db.AdminOrganization{}, errs.Param("name", "parameter_invalid", "an organization needs a name of 1–200 characters")
	}
	return s.CreateOrganization(ctx, db.CreateOrganizationParams{ID: ids.New("org"), Name: name})
}

// CreateKey makes a secret key for an organization and returns its one
// and only plaintext copy.
func CreateKey(ctx context.Context, s *store.Store, orgID string, live bool, name string) (db.AdminApiKey, string, error) {
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		if store.IsNoRows(err) {
			return db.AdminApiKey{}, "", errs.NotFoundf("org", "no organization %q", orgID)
		}
		return db.AdminApiKey{}, "", store.Wrap(err, "get organization")
	}
	secret := apikey.Generate(live)
	k, err := s.CreateAPIKey(ctx, db.CreateAPIKeyParams{
		ID: ids.New("key"), OrganizationID: orgID, Livemode: live, Name: name,
		Prefix: apikey.DisplayPrefix(secret), SecretHash: apikey.Hash(secret),
	})
	return k, secret, err
}

// Demo is what seed-demo made.
type Demo struct {
	OrganizationID string `json:"organization_id"`
	SiteID         string `json:"site_id"`
}

// The demo's fixed ids make seeding idempotent: a second run finds them.
const (
	demoOrgID  = "org_demo"
	demoSiteID = "site_demo"
)

// demoTaxRates show both kinds of rate on the hosted page: French VAT included
// in prices, California sales tax added on top.
var demoTaxRates = []map[string]any{
	{"country": "FR", "region": "", "percentage_bps": 2000, "inclusive": true, "display_name": "TVA"},
	{"country": "US", "region": "CA", "percentage_bps": 725, "inclusive": false, "display_name": "Sales tax"},
	{"country": "GB", "region": "", "percentage_bps": 2000, "inclusive": false, "display_name": "VAT"},
}

// SeedDemo makes (or finds) the demo organization, its test-mode site, and a
// test key with the given secret, so that the dev stack can hand the same key
// out on every start.
func SeedDemo(ctx context.Context, s *store.Store, secret string) (Demo, error) {
	if live, ok := apikey.Parse(secret); !ok || live {
		return Demo{}, fmt.Errorf("the demo key must be a well-formed sk_test_ key")
	}
	taxRates, err := json.Marshal(demoTaxRates)
	if err != nil {
		return Demo{}, err
	}
	err = s.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if _, err := q.UpsertOrganization(ctx, db.UpsertOrganizationParams{ID: demoOrgID, Name: "Demo Shop"}); err != nil {
			return store.Wrap(err, "upsert organization")
		}
		_, err := q.CreateSite(ctx, db.CreateSiteParams{
			ID: demoSiteID, OrganizationID: demoOrgID, Livemode: false, Name: "Demo Shop",
			PrimaryColor: "#4f46e5", AccentColor: "#0f766e", DefaultCurrency: "EUR",
			DefaultSuccessUrl:        "http://localhost:8000/success?session_id={CHECKOUT_SESSION_ID}",
			DefaultCancelUrl:         "http://localhost:8000/cart",
			PaymentMethodTypes:       []string{"card", "bank_transfer"},
			TaxRates:                 taxRates,
			BankTransferInstructions: "Pay by bank transfer to Demo Shop, IBAN FR76 3000 6000 0112 3456 7890 189, BIC AGRIFRPP. Quote the reference shown on this page.",
			AppendTransactionID:      true,
		})
		if err != nil && !store.IsNoRows(err) { // no rows: it exists already
			return store.Wrap(err, "create site")
		}
		if _, err := q.EnsureAPIKey(ctx, db.EnsureAPIKeyParams{
			ID: ids.New("key"), OrganizationID: demoOrgID, Livemode: false, Name: "demo",
			Prefix: apikey.DisplayPrefix(secret), SecretHash: apikey.Hash(secret),
		}); err != nil {
			return store.Wrap(err, "ensure key")
		}
		return nil
	})
	return Demo{OrganizationID: demoOrgID, SiteID: demoSiteID}, err
}
