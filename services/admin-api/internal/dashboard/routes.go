package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// routeRow is one account row of the route form, as typed.
type routeRow struct {
	Account, Weight string
}

// routeView is the route form: a new route of a site, or a stored one. The
// accounts are rows of a choice and a weight (the weight counts for a
// volume split only); blank rows are left out, and the form always offers
// spareRows more, so that accounts are added without JavaScript.
type routeView struct {
	// ID is empty on the new-route form.
	ID, Site, Name, Method, Type string
	Rows                         []routeRow
	Currencies, Countries        string
	AmountMin, AmountMax         string
	Default, Disabled            bool
	// Choices are the organization's provider accounts in the mode.
	Choices   []*adminv1.ProviderAccount
	Methods   []string
	Errors    []formError
	Field     map[string]string
	CanManage bool
	Notice    string
}

// spareRows is how many blank account rows the form offers.
const spareRows = 2

func (rv *routeView) fail(id, msg string) {
	if _, dup := rv.Field[id]; dup {
		return
	}
	rv.Field[id] = msg
	rv.Errors = append(rv.Errors, formError{ID: id, Message: msg})
}

// RowID is the input id of row i's field ("account", "weight").
func (rv *routeView) RowID(field string, i int) string { return fmt.Sprintf("%s_%d", field, i) }

func (h *Handler) newRoute(w http.ResponseWriter, r *http.Request, v visit) {
	rv := &routeView{Site: r.PathValue("id"), Method: routing.MethodCard, Type: routing.TypePriority, Field: map[string]string{}}
	if _, err := h.sites.GetSite(v.principal(r.Context()), &adminv1.GetSiteRequest{Id: rv.Site}); err != nil {
		h.fail(w, r, &v, err)
		return
	}
	h.showRouteForm(w, r, v, http.StatusOK, rv)
}

func (h *Handler) editRoute(w http.ResponseWriter, r *http.Request, v visit) {
	resp, err := h.routes.GetRoute(v.principal(r.Context()), &adminv1.GetRouteRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	rv := routeForm(resp.GetRoute())
	if r.URL.Query().Get("notice") == "saved" {
		rv.Notice = "routes.saved"
	}
	h.showRouteForm(w, r, v, http.StatusOK, rv)
}

// showRouteForm adds the account choices and the spare rows and renders.
func (h *Handler) showRouteForm(w http.ResponseWriter, r *http.Request, v visit, status int, rv *routeView) {
	resp, err := h.accountsClient().ListProviderAccounts(v.principal(r.Context()), &adminv1.ListProviderAccountsRequest{Limit: proto.Int32(100)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	rv.Choices, rv.Methods, rv.CanManage = resp.GetData(), routing.Methods, Allowed(v.role, ActionManageProviders)
	for len(rv.Rows) > 0 && rv.Rows[len(rv.Rows)-1] == (routeRow{}) {
		rv.Rows = rv.Rows[:len(rv.Rows)-1]
	}
	for n := 0; n < spareRows && len(rv.Rows) < routing.MaxTargets; n++ {
		rv.Rows = append(rv.Rows, routeRow{})
	}
	h.render(w, r, status, "route", &v, "sites", rv)
}

// routeForm is a stored route as the form shows it.
func routeForm(rt *adminv1.Route) *routeView {
	rv := &routeView{ID: rt.GetId(), Site: rt.GetSite(), Name: rt.GetName(), Method: rt.GetPaymentMethod(), Type: rt.GetType(),
		Currencies: strings.Join(rt.GetRules().GetCurrencies(), ", "), Countries: strings.Join(rt.GetRules().GetBillingCountries(), ", "),
		Default: rt.GetDefault(), Disabled: rt.GetDisabled(), Field: map[string]string{}}
	if rt.GetRules().AmountMin != nil {
		rv.AmountMin = strconv.FormatInt(rt.GetRules().GetAmountMin(), 10)
	}
	if rt.GetRules().AmountMax != nil {
		rv.AmountMax = strconv.FormatInt(rt.GetRules().GetAmountMax(), 10)
	}
	for _, a := range rt.GetAccounts() {
		row := routeRow{Account: a.GetProviderAccount()}
		if a.GetWeight() > 0 {
			row.Weight = strconv.Itoa(int(a.GetWeight()))
		}
		rv.Rows = append(rv.Rows, row)
	}
	return rv
}

// postedRoute is a posted route form: what it shows again, the API's route,
// and for each of the route's accounts the form row it came from (the API
// numbers accounts without the blank rows).
func postedRoute(f url.Values, tr translator) (*routeView, *adminv1.Route, []int) {
	tv := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	rv := &routeView{Name: tv("name"), Method: tv("payment_method"), Type: tv("type"), Currencies: tv("currencies"),
		Countries: tv("billing_countries"), AmountMin: tv("amount_min"), AmountMax: tv("amount_max"),
		Default: f.Get("default") == "on", Disabled: f.Get("disabled") == "on", Field: map[string]string{}}
	rt := &adminv1.Route{Name: rv.Name, PaymentMethod: rv.Method, Type: rv.Type, Default: rv.Default, Disabled: rv.Disabled,
		Rules: &adminv1.RouteRules{Currencies: codes(rv.Currencies), BillingCountries: codes(rv.Countries)}}
	weights := f["weight"]
	var rows []int
	for i, account := range f["account"] {
		row := routeRow{Account: strings.TrimSpace(account)}
		if i < len(weights) {
			row.Weight = strings.TrimSpace(weights[i])
		}
		rv.Rows = append(rv.Rows, row)
		if row.Account == "" {
			continue
		}
		ra := &adminv1.RouteAccount{ProviderAccount: row.Account}
		if rv.Type == routing.TypeVolumeSplit {
			n, err := strconv.ParseInt(row.Weight, 10, 32)
			if err != nil {
				rv.fail(rv.RowID("weight", i), tr.T("routes.err_weight"))
			}
			ra.Weight = int32(n)
		}
		rt.Accounts = append(rt.Accounts, ra)
		rows = append(rows, i)
	}
	for _, a := range []struct {
		field, text string
		dst         **int64
	}{{"amount_min", rv.AmountMin, &rt.Rules.AmountMin}, {"amount_max", rv.AmountMax, &rt.Rules.AmountMax}} {
		if a.text == "" {
			continue
		}
		n, err := strconv.ParseInt(a.text, 10, 64)
		if err != nil {
			rv.fail(a.field, tr.T("routes.err_amount"))
		}
		*a.dst = &n
	}
	return rv, rt, rows
}

// codes splits a list of codes typed with commas or spaces.
func codes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}

// createRoute makes a route of the site in the path.
func (h *Handler) createRoute(w http.ResponseWriter, r *http.Request, v visit) {
	rv, rt, rows := postedRoute(r.PostForm, translator(pageLang(r)))
	rv.Site = r.PathValue("id")
	if len(rv.Errors) > 0 {
		h.showRouteForm(w, r, v, http.StatusBadRequest, rv)
		return
	}
	resp, err := h.routes.CreateRoute(v.principal(r.Context()), &adminv1.CreateRouteRequest{Site: rv.Site, PaymentMethod: rt.GetPaymentMethod(),
		Type: rt.GetType(), Accounts: rt.GetAccounts(), Rules: rt.GetRules(), Default: rt.GetDefault(), Name: rt.GetName()})
	h.routeSaved(w, r, v, rv, rows, resp.GetRoute(), err)
}

// routeFields are the update-mask paths the edit form sets: all of them,
// since it shows every field.
var routeFields = []string{"name", "type", "accounts", "rules", "default", "disabled"}

// updateRoute changes a route with every field of the form.
func (h *Handler) updateRoute(w http.ResponseWriter, r *http.Request, v visit) {
	rv, rt, rows := postedRoute(r.PostForm, translator(pageLang(r)))
	rv.ID = r.PathValue("id")
	ctx := v.principal(r.Context())
	cur, err := h.routes.GetRoute(ctx, &adminv1.GetRouteRequest{Id: rv.ID})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	// The site and method of a route do not change: show the stored ones.
	rv.Site, rv.Method = cur.GetRoute().GetSite(), cur.GetRoute().GetPaymentMethod()
	if len(rv.Errors) > 0 {
		h.showRouteForm(w, r, v, http.StatusBadRequest, rv)
		return
	}
	resp, err := h.routes.UpdateRoute(ctx, &adminv1.UpdateRouteRequest{Id: rv.ID, Name: rt.GetName(), Type: rt.GetType(),
		Accounts: rt.GetAccounts(), Rules: rt.GetRules(), Default: rt.GetDefault(), Disabled: rt.GetDisabled(),
		UpdateMask: &fieldmaskpb.FieldMask{Paths: routeFields}})
	h.routeSaved(w, r, v, rv, rows, resp.GetRoute(), err)
}

// routeSaved answers a create or update: the form again with the API's
// refusal next to its field, or the saved route's page.
func (h *Handler) routeSaved(w http.ResponseWriter, r *http.Request, v visit, rv *routeView, rows []int, saved *adminv1.Route, err error) {
	if e := apiError(err); e != nil && !(isNotFound(err) && (e.Param == "id" || e.Param == "site")) {
		rv.fail(routeFieldOfParam(e.Param, rows), e.Message)
		h.showRouteForm(w, r, v, http.StatusBadRequest, rv)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/routes/"+url.PathEscape(saved.GetId())+"?notice=saved", http.StatusSeeOther)
}

// deleteRoute deletes a route and goes back to its site.
func (h *Handler) deleteRoute(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := v.principal(r.Context())
	cur, err := h.routes.GetRoute(ctx, &adminv1.GetRouteRequest{Id: r.PathValue("id")})
	if err == nil {
		_, err = h.routes.DeleteRoute(ctx, &adminv1.DeleteRouteRequest{Id: cur.GetRoute().GetId()})
	}
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/sites/"+url.PathEscape(cur.GetRoute().GetSite())+"?notice=route_deleted", http.StatusSeeOther)
}

var accountParam = regexp.MustCompile(`^accounts\[(\d+)\]\[(provider_account|weight)\]$`)

// routeFieldOfParam is the form input an API error names: accounts[1][weight]
// is the weight of the form row the route's second account came from,
// rules[currencies][0] the currencies.
func routeFieldOfParam(param string, rows []int) string {
	if m := accountParam.FindStringSubmatch(param); m != nil {
		n, _ := strconv.Atoi(m[1])
		field := map[string]string{"provider_account": "account", "weight": "weight"}[m[2]]
		if n < len(rows) {
			return fmt.Sprintf("%s_%d", field, rows[n])
		}
		return fmt.Sprintf("%s_%d", field, n)
	}
	switch {
	case strings.HasPrefix(param, "rules[currencies]"):
		return "currencies"
	case strings.HasPrefix(param, "rules[billing_countries]"):
		return "billing_countries"
	case param == "rules[amount_min]", param == "rules[amount_max]":
		return strings.TrimSuffix(strings.TrimPrefix(param, "rules["), "]")
	case param == "name", param == "type", param == "payment_method", param == "accounts":
		return param
	}
	return "accounts"
}
