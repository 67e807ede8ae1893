package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/provideracct"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/site"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// Sites implements adminv1.SiteServiceServer.
type Sites struct {
	adminv1.UnimplementedSiteServiceServer
	Store *store.Store
}

// CreateSite validates and stores a site in the caller's mode.
func (s *Sites) CreateSite(ctx context.Context, req *adminv1.CreateSiteRequest) (*adminv1.CreateSiteResponse, error) {
	p := auth.FromContext(ctx)
	st := &adminv1.Site{
		Id: ids.New("site"), Object: "site", Name: req.GetName(), Branding: req.GetBranding(),
		DefaultCurrency: req.GetDefaultCurrency(), DefaultSuccessUrl: req.GetDefaultSuccessUrl(),
		DefaultCancelUrl: req.GetDefaultCancelUrl(), PaymentMethodTypes: req.GetPaymentMethodTypes(),
		TaxRates: req.GetTaxRates(), BankTransferInstructions: req.GetBankTransferInstructions(),
		AppendTransactionId: req.AppendTransactionId == nil || req.GetAppendTransactionId(), Livemode: p.Livemode,
		ProviderAccounts: req.GetProviderAccounts(), InstallmentPlans: req.GetInstallmentPlans(), Default: req.GetDefault(),
		CustomFields: req.GetCustomFields(), SubscriptionCustomFields: req.GetSubscriptionCustomFields(),
		SubscriptionDunningEnd: req.GetSubscriptionDunningEnd(),
	}
	if len(st.PaymentMethodTypes) == 0 {
		st.PaymentMethodTypes = []string{"card"}
	}
	if err := site.Validate(st, p.Livemode); err != nil {
		return nil, err
	}
	params, err := siteParams(st)
	if err != nil {
		return nil, err
	}
	var resp *adminv1.CreateSiteResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if err := checkProviderAccounts(ctx, q, st.ProviderAccounts, p.OrganizationID, p.Livemode); err != nil {
			return err
		}
		if st.Default {
			if err := takeDefault(ctx, q, st.Id, p); err != nil {
				return err
			}
		}
		row, err := q.CreateSite(ctx, db.CreateSiteParams{ID: st.Id, OrganizationID: p.OrganizationID, Livemode: p.Livemode,
			Name: params.Name, LogoUrl: params.LogoUrl, PrimaryColor: params.PrimaryColor, AccentColor: params.AccentColor,
			DefaultCurrency: params.DefaultCurrency, DefaultSuccessUrl: params.DefaultSuccessUrl, DefaultCancelUrl: params.DefaultCancelUrl,
			PaymentMethodTypes: params.PaymentMethodTypes, TaxRates: params.TaxRates,
			BankTransferInstructions: params.BankTransferInstructions, AppendTransactionID: params.AppendTransactionID,
			ProviderAccounts: params.ProviderAccounts, InstallmentPlans: params.InstallmentPlans,
			IsDefault: pgtype.Bool{Bool: st.Default, Valid: true}, CustomFields: params.CustomFields,
			SubscriptionCustomFields: params.SubscriptionCustomFields, SubscriptionDunningEnd: &params.SubscriptionDunningEnd})
		if err != nil {
			return store.Wrap(err, "create site")
		}
		out, err := SiteProto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.CreateSiteResponse{Site: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	if st.Default {
		s.Store.Invalidate() // a new default: this replica's next request must see it
	}
	return resp, err
}

// takeDefault makes room for site id to be marked default in the caller's
// organization and mode: under a lock of the organization's row, so that
// concurrent requests marking different sites take turns, it unmarks the
// current default. The caller then writes the site with is_default set, in
// the same transaction (the unique index sites_one_default_idx is the last
// line of defence).
func takeDefault(ctx context.Context, q *db.Queries, id string, p auth.Principal) error {
	if err := q.LockOrganization(ctx, p.OrganizationID); err != nil {
		return store.Wrap(err, "lock organization")
	}
	if err := q.UnsetDefaultSites(ctx, db.UnsetDefaultSitesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, KeepID: id}); err != nil {
		return store.Wrap(err, "unset default site")
	}
	return nil
}

// GetSite returns one of the caller's sites.
func (s *Sites) GetSite(ctx context.Context, req *adminv1.GetSiteRequest) (*adminv1.GetSiteResponse, error) {
	row, err := s.get(ctx, s.Store.Queries, req.GetId())
	if err != nil {
		return nil, err
	}
	out, err := SiteProto(row)
	return &adminv1.GetSiteResponse{Site: out}, err
}

func (s *Sites) get(ctx context.Context, q *db.Queries, id string) (db.AdminSite, error) {
	p := auth.FromContext(ctx)
	row, err := q.GetSite(ctx, db.GetSiteParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if store.IsNoRows(err) {
		return row, errs.NotFoundf("id", "No such site: '%s'.", id)
	}
	if err != nil {
		return row, store.Wrap(err, "get site")
	}
	return row, nil
}

// updatable maps update-mask paths to the fields they change.
var updatable = map[string]func(req *adminv1.UpdateSiteRequest, site *adminv1.Site){
	"name":              func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.Name = r.GetName() },
	"branding":          func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.Branding = r.GetBranding() },
	"branding.logo_url": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.Branding.LogoUrl = r.GetBranding().GetLogoUrl() },
	"branding.primary_color": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) {
		s.Branding.PrimaryColor = r.GetBranding().GetPrimaryColor()
	},
	"branding.accent_color": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) {
		s.Branding.AccentColor = r.GetBranding().GetAccentColor()
	},
	"default_currency":     func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.DefaultCurrency = r.GetDefaultCurrency() },
	"default_success_url":  func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.DefaultSuccessUrl = r.GetDefaultSuccessUrl() },
	"default_cancel_url":   func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.DefaultCancelUrl = r.GetDefaultCancelUrl() },
	"payment_method_types": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.PaymentMethodTypes = r.GetPaymentMethodTypes() },
	"tax_rates":            func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.TaxRates = r.GetTaxRates() },
	"bank_transfer_instructions": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) {
		s.BankTransferInstructions = r.GetBankTransferInstructions()
	},
	"append_transaction_id": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) {
		s.AppendTransactionId = r.GetAppendTransactionId()
	},
	"provider_accounts": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.ProviderAccounts = r.GetProviderAccounts() },
	"installment_plans": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.InstallmentPlans = r.GetInstallmentPlans() },
	"default":           func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.Default = r.GetDefault() },
	"custom_fields":     func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) { s.CustomFields = r.GetCustomFields() },
	"subscription_custom_fields": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) {
		s.SubscriptionCustomFields = r.GetSubscriptionCustomFields()
	},
	"subscription_dunning_end": func(r *adminv1.UpdateSiteRequest, s *adminv1.Site) {
		s.SubscriptionDunningEnd = r.GetSubscriptionDunningEnd()
	},
}

// UpdateSite changes the fields named in the update mask (over REST, the
// fields present in the body) and validates the result as a whole.
func (s *Sites) UpdateSite(ctx context.Context, req *adminv1.UpdateSiteRequest) (*adminv1.UpdateSiteResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.UpdateSiteResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := s.get(ctx, q, req.GetId())
		if err != nil {
			return err
		}
		cur, err := SiteProto(row)
		if err != nil {
			return err
		}
		next := proto.Clone(cur).(*adminv1.Site)
		for _, path := range req.GetUpdateMask().GetPaths() {
			apply, ok := updatable[path]
			if !ok {
				if path == "id" {
					continue
				}
				return errs.Param(strings.ReplaceAll(path, ".", "_"), "parameter_unknown", "Received unknown parameter: %s.", path)
			}
			apply(req, next)
		}
		if err := site.Validate(next, p.Livemode); err != nil {
			return err
		}
		if err := checkProviderAccounts(ctx, q, next.ProviderAccounts, p.OrganizationID, p.Livemode); err != nil {
			return err
		}
		params, err := siteParams(next)
		if err != nil {
			return err
		}
		// Even when the site is marked already: another request may be
		// moving the mark right now, and the lock orders the two.
		if next.Default {
			if err := takeDefault(ctx, q, row.ID, p); err != nil {
				return err
			}
		}
		params.ID, params.OrganizationID, params.Livemode = row.ID, p.OrganizationID, p.Livemode
		updated, err := q.UpdateSite(ctx, params)
		if err != nil {
			return store.Wrap(err, "update site")
		}
		out, err := SiteProto(updated)
		if err != nil {
			return err
		}
		resp = &adminv1.UpdateSiteResponse{Site: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	s.Store.Invalidate() // this replica's next request must see the change
	return resp, err
}

// ListSites pages through the caller's sites.
func (s *Sites) ListSites(ctx context.Context, req *adminv1.ListSitesRequest) (*adminv1.ListSitesResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetSiteSeq(ctx, db.GetSiteSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListSites(ctx, db.ListSitesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list sites")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListSitesResponse{Object: "list", HasMore: more, Url: "/v1/sites", Data: make([]*adminv1.Site, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = SiteProto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// siteParams flattens a validated site into the columns UpdateSite writes.
func siteParams(s *adminv1.Site) (db.UpdateSiteParams, error) {
	rates, err := json.Marshal(taxRatesJSON(s.GetTaxRates()))
	if err != nil {
		return db.UpdateSiteParams{}, fmt.Errorf("tax rates: %w", err)
	}
	accounts := s.GetProviderAccounts()
	if accounts == nil {
		accounts = map[string]string{}
	}
	accountsJSON, err := json.Marshal(accounts)
	if err != nil {
		return db.UpdateSiteParams{}, fmt.Errorf("provider accounts: %w", err)
	}
	plans := make([]installmentPlan, len(s.GetInstallmentPlans()))
	for i, p := range s.GetInstallmentPlans() {
		plans[i] = installmentPlan{p.GetCurrency(), p.GetCount(), p.GetMonthlyInterestBps()}
	}
	plansJSON, err := json.Marshal(plans)
	if err != nil {
		return db.UpdateSiteParams{}, fmt.Errorf("installment plans: %w", err)
	}
	fields, err := CustomFieldsJSON(s.GetCustomFields())
	if err != nil {
		return db.UpdateSiteParams{}, err
	}
	subFields, err := CustomFieldsJSON(s.GetSubscriptionCustomFields())
	if err != nil {
		return db.UpdateSiteParams{}, err
	}
	b := s.GetBranding()
	return db.UpdateSiteParams{CustomFields: fields, SubscriptionCustomFields: subFields, ProviderAccounts: accountsJSON, InstallmentPlans: plansJSON, Name: s.Name, LogoUrl: b.GetLogoUrl(), PrimaryColor: b.GetPrimaryColor(),
		AccentColor: b.GetAccentColor(), DefaultCurrency: s.DefaultCurrency, DefaultSuccessUrl: s.DefaultSuccessUrl,
		DefaultCancelUrl: s.DefaultCancelUrl, PaymentMethodTypes: s.PaymentMethodTypes, TaxRates: rates,
		BankTransferInstructions: s.BankTransferInstructions, AppendTransactionID: s.AppendTransactionId, IsDefault: s.Default,
		SubscriptionDunningEnd: s.SubscriptionDunningEnd}, nil
}

// taxRate is the stored form of a tax rate.
type taxRate struct {
	Country       string `json:"country"`
	Region        string `json:"region"`
	PercentageBps int64  `json:"percentage_bps"`
	Inclusive     bool   `json:"inclusive"`
	DisplayName   string `json:"display_name"`
}

// installmentPlan is the stored form of an installment plan.
type installmentPlan struct {
	Currency           string `json:"currency"`
	Count              int32  `json:"count"`
	MonthlyInterestBps int64  `json:"monthly_interest_bps"`
}

func taxRatesJSON(rates []*adminv1.TaxRate) []taxRate {
	out := make([]taxRate, len(rates))
	for i, r := range rates {
		out[i] = taxRate{r.GetCountry(), r.GetRegion(), r.GetPercentageBps(), r.GetInclusive(), r.GetDisplayName()}
	}
	return out
}

// maxExclusiveBps is the highest exclusive rate among a site's stored tax
// rates (0 when it has none).
func maxExclusiveBps(stored []byte) (int64, error) {
	var rates []taxRate
	if err := json.Unmarshal(stored, &rates); err != nil {
		return 0, fmt.Errorf("tax rates: %w", err)
	}
	var highest int64
	for _, r := range rates {
		if !r.Inclusive {
			highest = max(highest, r.PercentageBps)
		}
	}
	return highest, nil
}

// SiteProto renders a stored site as the API object.
func SiteProto(r db.AdminSite) (*adminv1.Site, error) {
	var rates []taxRate
	if err := json.Unmarshal(r.TaxRates, &rates); err != nil {
		return nil, fmt.Errorf("site %s tax rates: %w", r.ID, err)
	}
	accounts := map[string]string{}
	if err := json.Unmarshal(r.ProviderAccounts, &accounts); err != nil {
		return nil, fmt.Errorf("site %s provider accounts: %w", r.ID, err)
	}
	var plans []installmentPlan
	err := json.Unmarshal(r.InstallmentPlans, &plans)
	if err != nil {
		return nil, fmt.Errorf("site %s installment plans: %w", r.ID, err)
	}
	out := &adminv1.Site{Id: r.ID, Object: "site", Name: r.Name, ProviderAccounts: accounts,
		Branding:        &adminv1.Branding{LogoUrl: r.LogoUrl, PrimaryColor: r.PrimaryColor, AccentColor: r.AccentColor},
		DefaultCurrency: r.DefaultCurrency, DefaultSuccessUrl: r.DefaultSuccessUrl, DefaultCancelUrl: r.DefaultCancelUrl,
		PaymentMethodTypes: r.PaymentMethodTypes, BankTransferInstructions: r.BankTransferInstructions,
		AppendTransactionId: r.AppendTransactionID, Livemode: r.Livemode, CreatedAt: timestamppb.New(r.CreatedAt), Default: r.IsDefault,
		SubscriptionDunningEnd: r.SubscriptionDunningEnd, TaxRates: make([]*adminv1.TaxRate, len(rates))}
	for i, t := range rates {
		out.TaxRates[i] = &adminv1.TaxRate{Country: t.Country, Region: t.Region, PercentageBps: t.PercentageBps,
			Inclusive: t.Inclusive, DisplayName: t.DisplayName}
	}
	if out.CustomFields, err = CustomFields(r.CustomFields); err != nil {
		return nil, fmt.Errorf("site %s: %w", r.ID, err)
	}
	if out.SubscriptionCustomFields, err = CustomFields(r.SubscriptionCustomFields); err != nil {
		return nil, fmt.Errorf("site %s: %w", r.ID, err)
	}
	out.InstallmentPlans = make([]*adminv1.InstallmentPlan, len(plans))
	for i, p := range plans {
		out.InstallmentPlans[i] = &adminv1.InstallmentPlan{Currency: p.Currency, Count: p.Count, MonthlyInterestBps: p.MonthlyInterestBps}
	}
	return out, nil
}

// checkProviderAccounts validates a site's method → account map: a known
// method, an account of the caller's organization and mode whose provider
// serves the method. It share-locks each account so that it cannot be
// deleted before the site's transaction ends.
func checkProviderAccounts(ctx context.Context, q *db.Queries, accounts map[string]string, org string, live bool) error {
	for _, method := range slices.Sorted(maps.Keys(accounts)) {
		param, id := "provider_accounts["+method+"]", accounts[method]
		if !slices.Contains(site.Methods, method) {
			return errs.Param(param, "parameter_invalid", "Unknown payment method %q; known: %s.", method, strings.Join(site.Methods, ", "))
		}
		if id == "" {
			return errs.Missing(param)
		}
		acct, err := q.LockProviderAccountShared(ctx, db.LockProviderAccountSharedParams{ID: id, OrganizationID: org, Livemode: live})
		if store.IsNoRows(err) {
			return errs.Param(param, "resource_missing", "No such provider account in this mode: '%s'.", id)
		} else if err != nil {
			return store.Wrap(err, "lock provider account")
		}
		if !slices.Contains(provideracct.Providers[acct.Provider], method) {
			return errs.Param(param, "parameter_invalid", "Provider account %s (%s) does not take %s payments.", id, acct.Provider, method)
		}
	}
	return nil
}

// customField is the stored form of a custom field definition.
type customField struct {
	Key           string              `json:"key"`
	Label         map[string]string   `json:"label"`
	Type          string              `json:"type"`
	Options       []customFieldOption `json:"options,omitempty"`
	Optional      bool                `json:"optional"`
	MaximumLength int32               `json:"maximum_length,omitempty"`
}

type customFieldOption struct {
	Value string            `json:"value"`
	Label map[string]string `json:"label"`
}

// CustomFieldsJSON is the stored form of a site's custom fields.
func CustomFieldsJSON(fields []*adminv1.CustomField) ([]byte, error) {
	out := make([]customField, len(fields))
	for i, f := range fields {
		out[i] = customField{Key: f.GetKey(), Label: f.GetLabel(), Type: f.GetType(), Optional: f.GetOptional(), MaximumLength: f.GetMaximumLength()}
		for _, o := range f.GetOptions() {
			out[i].Options = append(out[i].Options, customFieldOption{Value: o.GetValue(), Label: o.GetLabel()})
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("custom fields: %w", err)
	}
	return b, nil
}

// CustomFields reads a site's stored custom fields.
func CustomFields(stored []byte) ([]*adminv1.CustomField, error) {
	var fields []customField
	if err := json.Unmarshal(stored, &fields); err != nil {
		return nil, fmt.Errorf("custom fields: %w", err)
	}
	out := make([]*adminv1.CustomField, len(fields))
	for i, f := range fields {
		out[i] = &adminv1.CustomField{Key: f.Key, Label: f.Label, Type: f.Type, Optional: f.Optional, MaximumLength: f.MaximumLength}
		for _, o := range f.Options {
			out[i].Options = append(out[i].Options, &adminv1.CustomFieldOption{Value: o.Value, Label: o.Label})
		}
	}
	return out, nil
}
