package catalog

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Lookups is what resolving a session's catalog references reads.
type Lookups interface {
	GetPricesForLineItems(ctx context.Context, arg db.GetPricesForLineItemsParams) ([]db.GetPricesForLineItemsRow, error)
	GetCustomer(ctx context.Context, arg db.GetCustomerParams) (db.AdminCustomer, error)
}

// SessionRequest is a create request whose catalog references are resolved:
// Request is a copy in which every line item made from a price has the
// product's name (and description and first image, unless given) and the
// price's unit_amount, the currency is the prices' when none was given, and
// customer is the catalog customer with its email and phone prefilled.
// session.Validate then checks it as it checks any request.
type SessionRequest struct {
	Request *adminv1.CreateCheckoutSessionRequest
	// refs[i] is the catalog origin of line item i (zero for inline items).
	refs []itemRef
	// Mode is "payment" or "subscription"; in subscription mode Recurrence
	// is what every recurring price shares.
	Mode       string
	Recurrence Recurrence
	// CustomerCreation is "if_required" or "always".
	CustomerCreation string
	// TrialDays is subscription_data.trial_period_days (0: no trial).
	TrialDays int32
	// SubscriptionFields are the validated params_for_sub.custom_fields
	// (stored JSON; nil: none), which the subscription carries.
	SubscriptionFields []byte
}

// MaxTrialDays is Stripe's limit on trial_period_days (two years).
const MaxTrialDays = 730

// Recurrence is a recurring price's billing interval.
type Recurrence struct {
	Interval string
	Count    int32
}

// Session modes and customer_creation values.
const (
	ModePayment        = "payment"
	ModeSubscription   = "subscription"
	CreationIfRequired = "if_required"
	CreationAlways     = "always"
)

// Subscription reports whether the session creates a subscription.
func (r SessionRequest) Subscription() bool { return r.Mode == ModeSubscription }

type itemRef struct{ price, product string }

// Annotate records on validated line items the prices and products they
// were made from.
func (r SessionRequest) Annotate(items []session.LineItem) {
	for i := range items {
		if i < len(r.refs) {
			items[i].PriceID, items[i].ProductID = r.refs[i].price, r.refs[i].product
		}
	}
}

// ResolveSession resolves the catalog references of a create request in the
// caller's organization and mode: line items' price_id (or price) and the
// customer (customer_id, or a customer shaped like a catalog id). An id
// another organization or mode owns is not found, like an unknown one.
func ResolveSession(ctx context.Context, q Lookups, org string, live bool, req *adminv1.CreateCheckoutSessionRequest) (SessionRequest, error) {
	out := SessionRequest{Request: req, Mode: strings.TrimSpace(req.GetMode()), CustomerCreation: strings.TrimSpace(req.GetCustomerCreation())}
	switch out.Mode {
	case "", ModePayment, ModeSubscription:
	default:
		return out, errs.Param("mode", "parameter_invalid", "mode must be %s or %s.", ModePayment, ModeSubscription)
	}
	switch out.CustomerCreation {
	case "":
		out.CustomerCreation = CreationIfRequired
	case CreationIfRequired, CreationAlways:
	default:
		return out, errs.Param("customer_creation", "parameter_invalid", "customer_creation must be %s or %s.", CreationAlways, CreationIfRequired)
	}
	priceIDs, err := linePriceIDs(req.GetLineItems())
	if err != nil {
		return out, err
	}
	customerID, param, err := customerRef(req)
	if err != nil {
		return out, err
	}
	if len(priceIDs) == 0 && customerID == "" {
		if err := out.checkMode(); err != nil {
			return out, err
		}
		return out, out.checkTrial(req)
	}
	out.Request = proto.Clone(req).(*adminv1.CreateCheckoutSessionRequest)
	var recurring []int
	if len(priceIDs) > 0 {
		if out.refs, out.Recurrence, recurring, err = resolvePrices(ctx, q, org, live, out.Request, priceIDs); err != nil {
			return out, err
		}
	}
	if err := out.checkMode(); err != nil {
		return out, err
	}
	if err := out.checkTrial(req); err != nil {
		return out, err
	}
	if out.TrialDays > 0 {
		// The trial is free: the checkout charges the recurring prices
		// nothing (their amounts are the subscription's, from the prices).
		for _, i := range recurring {
			out.Request.LineItems[i].UnitAmount = 0
		}
	}
	if out.Subscription() && customerID == "" && strings.TrimSpace(req.GetCustomer()) != "" {
		return out, errs.Param("customer", "parameter_invalid",
			"A subscription belongs to a catalog customer: give customer_id (cus_…), or no customer and one is created when the session is paid.")
	}
	if customerID != "" {
		c, err := q.GetCustomer(ctx, db.GetCustomerParams{ID: customerID, OrganizationID: org, Livemode: live})
		if err != nil {
			return out, customerErr(err, param, customerID)
		}
		out.Request.Customer, out.Request.CustomerId = c.ID, ""
		if out.Request.GetCustomerEmail() == "" {
			out.Request.CustomerEmail = deref(c.Email)
		}
		if out.Request.GetCustomerPhone() == "" {
			out.Request.CustomerPhone = deref(c.Phone)
		}
	}
	return out, nil
}

// checkMode infers the mode from the prices (subscription when one is
// recurring) and refuses a subscription without a recurring price or a
// payment with one.
func (r *SessionRequest) checkMode() error {
	recurring := r.Recurrence.Interval != ""
	switch {
	case r.Mode == "" && recurring:
		r.Mode = ModeSubscription
	case r.Mode == "":
		r.Mode = ModePayment
	case r.Mode == ModeSubscription && !recurring:
		return errs.Param("mode", "parameter_invalid", "mode=subscription needs at least one line item with a recurring price.")
	case r.Mode == ModePayment && recurring:
		return errs.Param("mode", "parameter_invalid", "A line item has a recurring price: use mode=subscription (or leave mode out).")
	}
	return nil
}

// checkTrial reads subscription_data.trial_period_days: 1–MaxTrialDays,
// subscription mode only.
func (r *SessionRequest) checkTrial(req *adminv1.CreateCheckoutSessionRequest) error {
	const param = "subscription_data[trial_period_days]"
	sd := req.GetSubscriptionData()
	if sd == nil || sd.TrialPeriodDays == nil {
		return nil
	}
	days := sd.GetTrialPeriodDays()
	switch {
	case days < 1 || days > MaxTrialDays:
		return errs.Param(param, "parameter_invalid", "trial_period_days must be from 1 to %d.", MaxTrialDays)
	case !r.Subscription():
		return errs.Param(param, "parameter_invalid", "A trial is for subscriptions: mode=subscription, with a recurring price.")
	}
	r.TrialDays = days
	return nil
}

// linePriceIDs returns the price id of each line item ("" for inline ones),
// or nil when no item names a price, refusing items that give a price and
// what a price determines.
func linePriceIDs(items []*adminv1.LineItemParams) ([]string, error) {
	var out []string
	for i, it := range items {
		id, _ := priceOf(it, i)
		if id == "" {
			continue
		}
		if it.GetPriceId() != "" && it.GetPrice() != "" && it.GetPriceId() != it.GetPrice() {
			return nil, errs.Param(fmt.Sprintf("line_items[%d][price]", i), "parameter_invalid",
				"price is another name for price_id; give one of them.")
		}
		for _, f := range []struct {
			field string
			given bool
		}{{"name", it.GetName() != ""}, {"unit_amount", it.GetUnitAmount() != 0}} {
			if f.given {
				return nil, errs.Param(fmt.Sprintf("line_items[%d][%s]", i, f.field), "parameter_invalid",
					"A line item with a price takes its name and unit_amount from the price; leave %s out.", f.field)
			}
		}
		if out == nil {
			out = make([]string, len(items))
		}
		out[i] = id
	}
	return out, nil
}

// priceOf is a line item's price id and the parameter that gave it.
func priceOf(it *adminv1.LineItemParams, i int) (id, param string) {
	if id = strings.TrimSpace(it.GetPriceId()); id != "" {
		return id, fmt.Sprintf("line_items[%d][price_id]", i)
	}
	if id = strings.TrimSpace(it.GetPrice()); id != "" {
		return id, fmt.Sprintf("line_items[%d][price]", i)
	}
	return "", ""
}

// resolvePrices fills the line items of req that name a price and sets the
// session currency from the prices when req has none. It returns the
// recurrence every recurring price shares (zero when none is recurring)
// and the indexes of the recurring line items, refusing, naming the line,
// a recurring price with another one.
func resolvePrices(ctx context.Context, q Lookups, org string, live bool, req *adminv1.CreateCheckoutSessionRequest,
	priceIDs []string) ([]itemRef, Recurrence, []int, error) {
	var (
		rec       Recurrence
		recurring []int
	)
	var distinct []string
	for _, id := range priceIDs {
		if id != "" {
			distinct = append(distinct, id)
		}
	}
	rows, err := q.GetPricesForLineItems(ctx, db.GetPricesForLineItemsParams{Ids: distinct, OrganizationID: org, Livemode: live})
	if err != nil {
		return nil, rec, nil, store.Wrap(err, "get prices")
	}
	byID := make(map[string]db.GetPricesForLineItemsRow, len(rows))
	for _, r := range rows {
		byID[r.AdminPrice.ID] = r
	}
	currency := ""
	if c := strings.TrimSpace(req.GetCurrency()); c != "" {
		cur, err := money.ParseCurrency(c)
		if err != nil {
			return nil, rec, nil, errs.Param("currency", "parameter_invalid", "%s.", err.Error())
		}
		currency = cur.Code()
	}
	refs := make([]itemRef, len(priceIDs))
	for i, id := range priceIDs {
		if id == "" {
			continue
		}
		_, param := priceOf(req.LineItems[i], i)
		row, ok := byID[id]
		if !ok {
			return nil, rec, nil, errs.NotFoundf(param, "No such price: '%s'.", id)
		}
		price, product := row.AdminPrice, row.AdminProduct
		switch {
		case !price.Active:
			return nil, rec, nil, errs.Param(param, "price_inactive", "Price %s is archived (active=false); new sessions cannot use it.", id)
		case !product.Active:
			return nil, rec, nil, errs.Param(param, "price_inactive", "The product %s of price %s is archived (active=false); new sessions cannot use it.", product.ID, id)
		case currency == "":
			currency = price.Currency
		case price.Currency != currency:
			return nil, rec, nil, errs.Param(param, "currency_mismatch", "Price %s is in %s but the session is in %s; all line items share the session's currency.", id, price.Currency, currency)
		}
		if price.Type == TypeRecurring {
			recurring = append(recurring, i)
			this := Recurrence{Interval: deref(price.RecurringInterval), Count: *price.RecurringIntervalCount}
			switch {
			case rec.Interval == "":
				rec = this
			case this != rec:
				return nil, rec, nil, errs.Param(param, "recurring_mismatch",
					"Price %s recurs every %d %s but another line item's price every %d %s; the recurring prices of a subscription share their interval and interval_count.",
					id, this.Count, this.Interval, rec.Count, rec.Interval)
			}
		}
		it := req.LineItems[i]
		it.PriceId, it.Price = "", ""
		it.Name, it.UnitAmount = product.Name, price.UnitAmount
		if it.Description == "" {
			it.Description = deref(product.Description)
		}
		if it.ImageUrl == "" && len(product.Images) > 0 {
			it.ImageUrl = product.Images[0]
		}
		refs[i] = itemRef{price: price.ID, product: product.ID}
	}
	req.Currency = currency
	return refs, rec, recurring, nil
}

// customerRef is the catalog customer a request names, and the parameter
// naming it: customer_id, or customer when it has the shape of a catalog id
// (any other customer value is the merchant's own reference, kept as given).
func customerRef(req *adminv1.CreateCheckoutSessionRequest) (id, param string, err error) {
	byID, legacy := strings.TrimSpace(req.GetCustomerId()), strings.TrimSpace(req.GetCustomer())
	switch {
	case byID != "" && legacy != "" && byID != legacy:
		return "", "", errs.Param("customer_id", "parameter_invalid", "customer_id and customer name different customers; give one of them.")
	case byID != "":
		return byID, "customer_id", nil
	case ids.IsNew(legacy, "cus"):
		return legacy, "customer", nil
	}
	return "", "", nil
}

// SetSessionMode records, in the transaction creating the session, its
// mode, recurrence and customer_creation.
func SetSessionMode(ctx context.Context, q *db.Queries, id string, r SessionRequest) (db.AdminCheckoutSession, error) {
	p := db.SetSessionSubscriptionModeParams{ID: id, Mode: r.Mode, CustomerCreation: r.CustomerCreation}
	if r.Subscription() {
		p.RecurringInterval, p.RecurringIntervalCount = &r.Recurrence.Interval, &r.Recurrence.Count
	}
	if r.TrialDays > 0 {
		p.TrialPeriodDays = &r.TrialDays
	}
	p.SubscriptionCustomFields = r.SubscriptionFields
	row, err := q.SetSessionSubscriptionMode(ctx, p)
	if err != nil {
		return row, store.Wrap(err, "set session mode")
	}
	return row, nil
}
