package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/provideracct"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/paging"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// Routes implements adminv1.RouteServiceServer (docs/routing.md).
type Routes struct {
	adminv1.UnimplementedRouteServiceServer
	Store *store.Store
}

// routeAccount is one element of admin.routes.accounts.
type routeAccount struct {
	ProviderAccount string `json:"provider_account"`
	Weight          int32  `json:"weight,omitempty"`
}

// CreateRoute validates a route (shape, then that the site and every
// account are the caller's, in its mode, and serve the method) and stores it.
func (s *Routes) CreateRoute(ctx context.Context, req *adminv1.CreateRouteRequest) (*adminv1.CreateRouteResponse, error) {
	p := auth.FromContext(ctx)
	r := routing.Route{Type: req.GetType(), Method: req.GetPaymentMethod(), Default: req.GetDefault(),
		Targets: routeTargets(req.GetAccounts()), Rules: routeRules(req.GetRules())}
	if req.GetSite() == "" {
		return nil, errs.Missing("site")
	}
	name, err := accountName(req.GetName())
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.GetSite(ctx, db.GetSiteParams{ID: req.GetSite(), OrganizationID: p.OrganizationID, Livemode: p.Livemode}); store.IsNoRows(err) {
		return nil, errs.NotFoundf("site", "No such site: '%s'.", req.GetSite())
	} else if err != nil {
		return nil, store.Wrap(err, "get site")
	}
	var resp *adminv1.CreateRouteResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		accountsJSON, err := checkRoute(ctx, q, p, &r)
		if err != nil {
			return err
		}
		if r.Default {
			if err := q.ClearDefaultRoute(ctx, db.ClearDefaultRouteParams{SiteID: req.GetSite(), Livemode: p.Livemode, PaymentMethod: r.Method}); err != nil {
				return store.Wrap(err, "clear default route")
			}
		}
		row, err := q.CreateRoute(ctx, db.CreateRouteParams{ID: ids.New("rt"), OrganizationID: p.OrganizationID, Livemode: p.Livemode,
			SiteID: req.GetSite(), PaymentMethod: r.Method, Type: r.Type, Name: name, Accounts: accountsJSON,
			Currencies: nonNil(r.Rules.Currencies), AmountMin: r.Rules.AmountMin, AmountMax: r.Rules.AmountMax,
			BillingCountries: nonNil(r.Rules.BillingCountries), IsDefault: r.Default})
		if err != nil {
			return store.Wrap(err, "create route")
		}
		out, err := RouteProto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.CreateRouteResponse{Route: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// UpdateRoute changes the fields named in the update mask and checks the
// route that results as a whole, as CreateRoute does. The route is read
// under its row lock in the transaction that writes it, so that concurrent
// updates apply one after the other. The runtime reads a site's routes
// from the database on every payment (GetCheckout), so the change applies
// to the next payment with nothing cached to forget.
func (s *Routes) UpdateRoute(ctx context.Context, req *adminv1.UpdateRouteRequest) (*adminv1.UpdateRouteResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.UpdateRouteResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		cur, err := q.LockRoute(ctx, db.LockRouteParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if store.IsNoRows(err) {
			return errs.NotFoundf("id", "No such route: '%s'.", req.GetId())
		} else if err != nil {
			return store.Wrap(err, "lock route")
		}
		r, err := storedRoute(cur)
		if err != nil {
			return err
		}
		name, disabled := cur.Name, cur.Disabled
		for _, path := range req.GetUpdateMask().GetPaths() {
			if strings.HasPrefix(path, "rules.") {
				// Over REST the mask names the rules' fields given: the
				// rules given replace all the rules.
				path = "rules"
			}
			switch path {
			case "id":
			case "name":
				if name, err = accountName(req.GetName()); err != nil {
					return err
				}
			case "type":
				r.Type = req.GetType()
			case "accounts":
				r.Targets = routeTargets(req.GetAccounts())
			case "rules":
				r.Rules = routeRules(req.GetRules())
			case "default":
				r.Default = req.GetDefault()
			case "disabled":
				disabled = req.GetDisabled()
			default:
				return errs.Param(strings.ReplaceAll(path, ".", "_"), "parameter_unknown", "Received unknown parameter: %s.", path)
			}
		}
		accountsJSON, err := checkRoute(ctx, q, p, &r)
		if err != nil {
			return err
		}
		if r.Default && !cur.IsDefault {
			if err := q.ClearDefaultRoute(ctx, db.ClearDefaultRouteParams{SiteID: cur.SiteID, Livemode: p.Livemode, PaymentMethod: r.Method}); err != nil {
				return store.Wrap(err, "clear default route")
			}
		}
		row, err := q.UpdateRoute(ctx, db.UpdateRouteParams{ID: cur.ID, OrganizationID: p.OrganizationID, Livemode: p.Livemode,
			Type: r.Type, Name: name, Accounts: accountsJSON, Currencies: nonNil(r.Rules.Currencies), AmountMin: r.Rules.AmountMin,
			AmountMax: r.Rules.AmountMax, BillingCountries: nonNil(r.Rules.BillingCountries), IsDefault: r.Default, Disabled: disabled})
		if err != nil {
			return store.Wrap(err, "update route")
		}
		out, err := RouteProto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.UpdateRouteResponse{Route: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// checkRoute validates r (normalising its rules' codes) and checks that
// every account is the caller's, in its mode, and serves the route's
// method; it returns the accounts as stored.
func checkRoute(ctx context.Context, q *db.Queries, p auth.Principal, r *routing.Route) ([]byte, error) {
	if err := routing.Validate(*r); err != nil {
		return nil, err
	}
	r.Rules.Normalize()
	accounts := make([]routeAccount, len(r.Targets))
	for i, t := range r.Targets {
		param := fmt.Sprintf("accounts[%d][provider_account]", i)
		acct, err := q.GetProviderAccount(ctx, db.GetProviderAccountParams{ID: t.AccountID, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if store.IsNoRows(err) {
			return nil, errs.NotFoundf(param, "No such provider account: '%s'.", t.AccountID)
		} else if err != nil {
			return nil, store.Wrap(err, "get provider account")
		}
		if !slices.Contains(provideracct.Providers[acct.Provider], r.Method) {
			return nil, errs.Param(param, "parameter_invalid", "Account %s (%s) does not serve %s payments.", acct.ID, acct.Provider, r.Method)
		}
		accounts[i] = routeAccount{ProviderAccount: t.AccountID, Weight: t.Weight}
	}
	out, err := json.Marshal(accounts)
	if err != nil {
		return nil, fmt.Errorf("route accounts: %w", err)
	}
	return out, nil
}

// routeTargets are the API's accounts of a route for routing.
func routeTargets(in []*adminv1.RouteAccount) []routing.Target {
	out := make([]routing.Target, 0, len(in))
	for _, a := range in {
		out = append(out, routing.Target{AccountID: a.GetProviderAccount(), Weight: a.GetWeight()})
	}
	return out
}

// routeRules are the API's rules for routing (none: match everything).
func routeRules(in *adminv1.RouteRules) routing.Rules {
	if in == nil {
		return routing.Rules{}
	}
	return routing.Rules{Currencies: slices.Clone(in.GetCurrencies()), BillingCountries: slices.Clone(in.GetBillingCountries()),
		AmountMin: in.AmountMin, AmountMax: in.AmountMax}
}

// storedRoute is a stored route for routing, to be changed and checked.
func storedRoute(row db.AdminRoute) (routing.Route, error) {
	rt, err := RouteProto(row)
	if err != nil {
		return routing.Route{}, err
	}
	return routing.Route{ID: rt.GetId(), Type: rt.GetType(), Method: rt.GetPaymentMethod(), Default: rt.GetDefault(),
		Targets: routeTargets(rt.GetAccounts()), Rules: routeRules(rt.GetRules())}, nil
}

// GetRoute returns one of the caller's routes.
func (s *Routes) GetRoute(ctx context.Context, req *adminv1.GetRouteRequest) (*adminv1.GetRouteResponse, error) {
	p := auth.FromContext(ctx)
	row, err := s.Store.GetRoute(ctx, db.GetRouteParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("id", "No such route: '%s'.", req.GetId())
	} else if err != nil {
		return nil, store.Wrap(err, "get route")
	}
	out, err := RouteProto(row)
	return &adminv1.GetRouteResponse{Route: out}, err
}

// ListRoutes pages through the caller's routes, newest first.
func (s *Routes) ListRoutes(ctx context.Context, req *adminv1.ListRoutesRequest) (*adminv1.ListRoutesResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), "", func(id string) (int64, error) {
		return s.Store.GetRouteSeq(ctx, db.GetRouteSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	var site *string
	if req.GetSite() != "" {
		site = &req.Site
	}
	rows, err := s.Store.ListRoutes(ctx, db.ListRoutesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		SiteID: site, BeforeSeq: pg.Before, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list routes")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListRoutesResponse{Object: "list", HasMore: more, Url: "/v1/routes", Data: make([]*adminv1.Route, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = RouteProto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteRoute deletes one of the caller's routes.
func (s *Routes) DeleteRoute(ctx context.Context, req *adminv1.DeleteRouteRequest) (*adminv1.DeleteRouteResponse, error) {
	p := auth.FromContext(ctx)
	resp := &adminv1.DeleteRouteResponse{Id: req.GetId(), Object: "route", Deleted: true}
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		n, err := q.DeleteRoute(ctx, db.DeleteRouteParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return store.Wrap(err, "delete route")
		} else if n == 0 {
			return errs.NotFoundf("id", "No such route: '%s'.", req.GetId())
		}
		return audit.Record(ctx, tx, resp)
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// RouteProto renders a stored route.
func RouteProto(r db.AdminRoute) (*adminv1.Route, error) {
	var accounts []routeAccount
	if err := json.Unmarshal(r.Accounts, &accounts); err != nil {
		return nil, fmt.Errorf("route %s accounts: %w", r.ID, err)
	}
	out := &adminv1.Route{Id: r.ID, Object: "route", Site: r.SiteID, PaymentMethod: r.PaymentMethod, Type: r.Type,
		Default: r.IsDefault, Name: r.Name, Livemode: r.Livemode, CreatedAt: timestamppb.New(r.CreatedAt), Disabled: r.Disabled,
		Rules: &adminv1.RouteRules{Currencies: r.Currencies, AmountMin: r.AmountMin, AmountMax: r.AmountMax, BillingCountries: r.BillingCountries}}
	for _, a := range accounts {
		out.Accounts = append(out.Accounts, &adminv1.RouteAccount{ProviderAccount: a.ProviderAccount, Weight: a.Weight})
	}
	return out, nil
}

// sessionRoute checks the route a new session names (none: nil): the
// caller's, in its mode (else 404), and the session's site's.
func (s *Sessions) sessionRoute(ctx context.Context, org string, live bool, siteID, id string) (*string, error) {
	if id == "" {
		return nil, nil
	}
	row, err := s.Store.GetRoute(ctx, db.GetRouteParams{ID: id, OrganizationID: org, Livemode: live})
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("route", "No such route: '%s'.", id)
	} else if err != nil {
		return nil, store.Wrap(err, "get route")
	}
	if row.SiteID != siteID {
		return nil, errs.Param("route", "parameter_invalid", "Route %s routes the payments of site %s, not of this session's site %s.", id, row.SiteID, siteID)
	}
	return &row.ID, nil
}

// checkoutRoutes are a site's enabled routes in a mode, of every method,
// with their accounts' providers, for the runtime. An account deleted since
// keeps its place with no provider: the runtime's attempt on it fails and
// the payment cascades (a card payment) or goes to another account.
func checkoutRoutes(ctx context.Context, q *db.Queries, siteID string, live bool) ([]*internalapiv1.CheckoutRoute, error) {
	rows, err := q.SiteRoutes(ctx, db.SiteRoutesParams{SiteID: siteID, Livemode: live})
	if err != nil {
		return nil, store.Wrap(err, "site routes")
	}
	out := make([]*internalapiv1.CheckoutRoute, 0, len(rows))
	for _, row := range rows {
		rt, err := RouteProto(row.AdminRoute)
		if err != nil {
			return nil, err
		}
		out = append(out, &internalapiv1.CheckoutRoute{Route: rt, Providers: row.Providers})
	}
	return out, nil
}

// nonNil is s, or an empty slice for a NOT NULL array column.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
