package dashboard

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// maxFormItems is the API's limit on line items; the form offers no more.
const maxFormItems = 100

// itemRow is one line item row of the form, as typed.
type itemRow struct {
	Name, Price, Qty string
}

// newView is the Create checkout form's data.
type newView struct {
	Sites                                                                   []*adminv1.Site
	Site, Currency, Email, Expiry, OrderID, Metadata, SuccessURL, CancelURL string
	Items                                                                   []itemRow
	// Errors lists the problems in form order, for the summary; Field
	// maps an input's id to its message.
	Errors []formError
	Field  map[string]string
	// IdempotencyKey makes a double submit create one session.
	IdempotencyKey string
	CanAdd         bool
	// picker is the catalog part of the form.
	picker
	// lines maps the request's line items to the rows they came from.
	lines []lineRef
}

// formError is one problem: the input it is about (its id) and what to do.
type formError struct {
	ID, Message string
}

func (nv *newView) fail(id, msg string) {
	if _, dup := nv.Field[id]; dup {
		return
	}
	nv.Field[id] = msg
	nv.Errors = append(nv.Errors, formError{ID: id, Message: msg})
}

func (h *Handler) newCheckout(w http.ResponseWriter, r *http.Request, v visit) {
	h.showNewForm(w, r, v, http.StatusOK, &newView{Items: []itemRow{{Qty: "1"}}, Field: map[string]string{},
		picker: picker{Picks: []pickRow{{Qty: "1"}}}})
}

func (h *Handler) showNewForm(w http.ResponseWriter, r *http.Request, v visit, status int, nv *newView) {
	sites, err := h.listSites(v.principal(r.Context()))
	if err == nil {
		err = h.loadPicker(v.principal(r.Context()), &nv.picker)
	}
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	nv.Sites, nv.CanAdd = sites, len(nv.Items) < maxFormItems
	if nv.IdempotencyKey == "" {
		nv.IdempotencyKey = newToken()
	}
	h.render(w, r, status, "new", &v, "new", nv)
}

// readNewForm reads the posted form; rows are item_name, item_price and
// item_qty, repeated in order.
func readNewForm(f url.Values) *newView {
	nv := &newView{Site: f.Get("site"), Currency: strings.TrimSpace(f.Get("currency")), Email: strings.TrimSpace(f.Get("customer_email")),
		Expiry: strings.TrimSpace(f.Get("expires_in_hours")), OrderID: strings.TrimSpace(f.Get("order_id")), Metadata: f.Get("metadata"),
		SuccessURL: strings.TrimSpace(f.Get("success_url")), CancelURL: strings.TrimSpace(f.Get("cancel_url")),
		IdempotencyKey: f.Get("idempotency_key"), Field: map[string]string{}, picker: readPicker(f)}
	names, prices, qtys := f["item_name"], f["item_price"], f["item_qty"]
	for i := range min(max(len(names), len(prices), len(qtys)), maxFormItems) {
		at := func(s []string) string {
			if i < len(s) {
				return strings.TrimSpace(s[i])
			}
			return ""
		}
		nv.Items = append(nv.Items, itemRow{Name: at(names), Price: at(prices), Qty: at(qtys)})
	}
	return nv
}

// createCheckout handles the form's buttons: add or remove a row of either
// kind (which re-show the form, so they work without JavaScript), and
// create.
func (h *Handler) createCheckout(w http.ResponseWriter, r *http.Request, v visit) {
	nv := readNewForm(r.PostForm)
	op := r.PostForm.Get("op")
	switch {
	case op == "add":
		if len(nv.Items) < maxFormItems {
			nv.Items = append(nv.Items, itemRow{Qty: "1"})
		}
		h.showNewForm(w, r, v, http.StatusOK, nv)
		return
	case op == "add_price":
		if len(nv.Picks) < maxFormItems {
			nv.Picks = append(nv.Picks, pickRow{Qty: "1"})
		}
		h.showNewForm(w, r, v, http.StatusOK, nv)
		return
	case strings.HasPrefix(op, "remove_price:"):
		if i, err := strconv.Atoi(strings.TrimPrefix(op, "remove_price:")); err == nil && i >= 0 && i < len(nv.Picks) && len(nv.Picks) > 1 {
			nv.Picks = append(nv.Picks[:i], nv.Picks[i+1:]...)
		}
		h.showNewForm(w, r, v, http.StatusOK, nv)
		return
	case strings.HasPrefix(op, "remove:"):
		if i, err := strconv.Atoi(strings.TrimPrefix(op, "remove:")); err == nil && i >= 0 && i < len(nv.Items) && len(nv.Items) > 1 {
			nv.Items = append(nv.Items[:i], nv.Items[i+1:]...)
		}
		h.showNewForm(w, r, v, http.StatusOK, nv)
		return
	}
	tr := translator(pageLang(r))
	ctx := v.principal(r.Context())
	req := h.checkoutRequest(r, v, nv, tr)
	if len(nv.Errors) > 0 {
		nv.IdempotencyKey = ""
		h.showNewForm(w, r, v, http.StatusBadRequest, nv)
		return
	}
	ctx = metadata.AppendToOutgoingContext(ctx, idempotency.KeyHeader, nv.IdempotencyKey)
	resp, err := h.sessions.CreateCheckoutSession(ctx, req)
	if e := apiError(err); e != nil {
		nv.fail(nv.fieldOfParam(e.Param), e.Message)
		nv.IdempotencyKey = "" // the next attempt has other parameters
		h.showNewForm(w, r, v, http.StatusBadRequest, nv)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	id := resp.GetCheckoutSession().GetId()
	http.Redirect(w, r, Prefix+"/checkouts/"+url.PathEscape(id)+"?notice=created", http.StatusSeeOther)
}

// checkoutRequest turns the form into the API's request, recording in nv
// what cannot be turned: prices are decimals in the currency (the form's
// currency, else the site's), converted exactly to minor units.
func (h *Handler) checkoutRequest(r *http.Request, v visit, nv *newView, tr translator) *adminv1.CreateCheckoutSessionRequest {
	req := &adminv1.CreateCheckoutSessionRequest{SiteId: nv.Site, Currency: strings.ToUpper(nv.Currency),
		CustomerEmail: nv.Email, OrderId: nv.OrderID, SuccessUrl: nv.SuccessURL, CancelUrl: nv.CancelURL}
	if nv.Site == "" {
		nv.fail("site", tr.T("err.required"))
	}
	code := req.Currency
	if code == "" && nv.Site != "" {
		if site, err := h.sites.GetSite(v.principal(r.Context()), &adminv1.GetSiteRequest{Id: nv.Site}); err == nil {
			code = site.GetSite().GetDefaultCurrency()
		}
	}
	cur, curErr := money.ParseCurrency(code)
	if req.Currency != "" && curErr != nil {
		nv.fail("currency", curErr.Error())
	}
	if err := h.loadPicker(v.principal(r.Context()), &nv.picker); err != nil {
		h.Logger.WarnContext(r.Context(), "dashboard: load the catalog picker", "err", err)
	}
	nv.picker.request(req, nv, tr)
	for i, it := range nv.Items {
		n := strconv.Itoa(i)
		if it.Name == "" && it.Price == "" && nv.chosen() > 0 {
			continue // an empty free-form row beside catalog lines
		}
		if it.Name == "" {
			nv.fail("item_name_"+n, tr.T("err.required"))
		}
		amount, err := parseAmount(it.Price, cur)
		if err != nil && curErr == nil {
			nv.fail("item_price_"+n, tr.T("err.amount", cur.Exponent(), cur.Code()))
		}
		qty, qerr := strconv.ParseInt(it.Qty, 10, 64)
		if qerr != nil {
			nv.fail("item_qty_"+n, tr.T("err.integer"))
		}
		req.LineItems = append(req.LineItems, &adminv1.LineItemParams{Name: it.Name, UnitAmount: amount, Quantity: qty})
		nv.lines = append(nv.lines, lineRef{row: i})
	}
	if nv.Expiry != "" {
		hours, err := strconv.ParseInt(nv.Expiry, 10, 64)
		if err != nil {
			nv.fail("expires_in_hours", tr.T("err.integer"))
		}
		req.ExpiresInHours = proto.Int64(hours)
	}
	meta, ok := parseMetadata(nv.Metadata)
	if !ok {
		nv.fail("metadata", tr.T("err.metadata"))
	}
	req.Metadata = meta
	return req
}

// fieldOfParam is the form input an API error names: line_items[2][name]
// is the name of the row the third line item came from (item_name_1 after
// one catalog line); the others have the parameter's name.
func (nv *newView) fieldOfParam(param string) string {
	if m := lineItemParam.FindStringSubmatch(param); m != nil {
		i, _ := strconv.Atoi(m[1])
		if field := nv.lineField(i, m[2]); field != "" {
			return field
		}
	}
	switch param {
	case "site_id":
		return "site"
	case "currency", "customer_email", "order_id", "metadata", "expires_in_hours", "success_url", "cancel_url",
		"customer_id", "coupon_id", "promotion_code", "allow_promotion_codes":
		return param
	case "return_url":
		return "success_url"
	}
	// Not a field of the form: the summary links to the submit button.
	return "create"
}

var lineItemParam = regexp.MustCompile(`^line_items\[(\d+)\]\[([a-z_]+)\]$`)

// parseMetadata reads "key=value" lines; blank lines are skipped.
func parseMetadata(s string) (map[string]string, bool) {
	m := map[string]string{}
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, false
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return m, true
}

// parseAmount converts a decimal amount typed by a person ("12.50", or
// "12,50" as French writes it) to minor units of c exactly, by
// money.ParseDecimal: more decimals than the currency has is an error, never
// rounded.
func parseAmount(s string, c money.Currency) (int64, error) {
	return money.ParseDecimal(strings.Replace(strings.TrimSpace(s), ",", ".", 1), c)
}
