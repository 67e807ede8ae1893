package stripe

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Stripe's error codes for bad parameters.
const (
	codeUnknown        = "parameter_unknown"
	codeUnsupported    = "parameter_unsupported"
	codeInvalid        = "parameter_invalid"
	codeInvalidInteger = "parameter_invalid_integer"
	codeMissing        = "parameter_missing"
)

// unsupported names the Stripe parameters of session creation that Tillpoint
// knows but does not implement yet, with the reason given to the caller.
// They are refused, never ignored: a merchant relying on one must learn that
// it has no effect here.
var unsupported = map[string]string{
	"setup_intent_data":             "only mode=payment is supported",
	"payment_intent_data":           "Tillpoint captures every payment itself",
	"automatic_tax":                 "Tillpoint computes tax from the site's tax rates",
	"ui_mode":                       "Tillpoint serves the hosted page only",
	"return_url":                    "return_url is for embedded sessions; use success_url",
	"redirect_on_completion":        "Tillpoint serves the hosted page only",
	"shipping_address_collection":   "shipping is not supported",
	"shipping_options":              "shipping is not supported",
	"billing_address_collection":    "the hosted page always asks for the billing address it needs for tax",
	"phone_number_collection":       "phone number collection is not supported",
	"tax_id_collection":             "tax id collection is not supported",
	"custom_fields":                 "custom fields are not supported yet",
	"custom_text":                   "custom text is not supported",
	"consent_collection":            "consent collection is not supported",
	"invoice_creation":              "invoices are not supported",
	"payment_method_options":        "payment method options are not supported",
	"payment_method_configuration":  "payment method configurations are not supported; use payment_method_types",
	"payment_method_collection":     "only mode=payment is supported",
	"submit_type":                   "submit_type is not supported",
	"after_expiration":              "session recovery is not supported",
	"adaptive_pricing":              "adaptive pricing is not supported",
	"saved_payment_method_options":  "saved payment methods are not supported",
	"optional_items":                "optional items are not supported",
	"permissions":                   "permissions are not supported",
	"wallet_options":                "wallet options are not supported",
	"origin_context":                "origin_context is not supported",
	"branding_settings":             "set branding on the site",
	"name_collection":               "name collection is not supported",
	"excluded_payment_method_types": "use payment_method_types",
}

// unsupportedLine is the same for the keys of a line item and its price_data.
var unsupportedLine = map[string]string{
	"dynamic_tax_rates":                    "Tillpoint computes tax from the site's tax rates",
	"tax_rates":                            "Tillpoint computes tax from the site's tax rates",
	"price_data[product]":                  "catalog products are not supported yet; give product_data",
	"price_data[recurring]":                "recurring prices are not supported yet (only mode=payment)",
	"price_data[tax_behavior]":             "Tillpoint computes tax from the site's tax rates",
	"price_data[unit_amount_decimal]":      "amounts are whole minor units; give unit_amount",
	"price_data[product_data][metadata]":   "product metadata is not stored; use the session's metadata",
	"price_data[product_data][tax_code]":   "tax codes are not supported",
	"price_data[product_data][unit_label]": "unit labels are not supported",
}

// form is a parsed Stripe form body or query string: each parameter split
// into its bracketed path (`line_items[0][quantity]` → line_items, 0,
// quantity).
type form struct {
	params []param
}

type param struct {
	name  string   // as sent
	path  []string // name split at its brackets
	value string
}

// parseForm splits every key of vals; a key whose brackets do not close is
// refused naming it. Parameters are kept in key order, so that errors are
// the same whatever order the caller sent them in.
func parseForm(vals url.Values) (form, error) {
	var f form
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		path, ok := splitKey(k)
		if k == "" {
			return f, errs.Param("", codeInvalid, "Received a parameter without a name.")
		}
		if !ok {
			return f, errs.Param(k, codeInvalid, "Invalid parameter name: %s.", k)
		}
		vs := vals[k]
		if len(vs) > 1 && !strings.HasSuffix(k, "[]") {
			return f, errs.Param(k, codeInvalid, "Received parameter %s more than once.", k)
		}
		for _, v := range vs {
			f.params = append(f.params, param{name: k, path: path, value: v})
		}
	}
	return f, nil
}

// splitKey splits `a[b][c]` into a, b, c; `a[]` gives a, "".
func splitKey(k string) ([]string, bool) {
	name, rest, _ := strings.Cut(k, "[")
	if name == "" {
		return nil, false
	}
	path := []string{name}
	if rest == "" && !strings.Contains(k, "[") {
		return path, true
	}
	rest = "[" + rest
	for rest != "" {
		if rest[0] != '[' {
			return nil, false
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, false
		}
		path = append(path, rest[1:end])
		rest = rest[end+1:]
	}
	return path, true
}

// index reads a list index (`0` in line_items[0]); `[]` is the next one.
func index(p param, at, next int) (int, error) {
	s := p.path[at]
	if s == "" {
		return next, nil
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i > maxIndex {
		return 0, errs.Param(p.name, codeInvalid, "Invalid array index in %s.", p.name)
	}
	return i, nil
}

// maxIndex bounds list indices, so that line_items[99999999] cannot make us
// allocate; the core refuses more than 100 line items anyway.
const maxIndex = 999

// list gathers the values of a list parameter sent as name[0], name[1] or
// name[] in order; gaps are refused.
type list struct {
	name   string
	values map[int]string
	next   int
}

func (l *list) add(p param) error {
	if len(p.path) != 2 {
		return errs.Param(p.name, codeInvalid, "Invalid value for %s: expected a list of strings.", l.name)
	}
	i, err := index(p, 1, l.next)
	if err != nil {
		return err
	}
	if l.values == nil {
		l.values = map[int]string{}
	}
	l.values[i] = p.value
	l.next = max(l.next, i+1)
	return nil
}

func (l *list) slice() ([]string, error) {
	out := make([]string, len(l.values))
	for i := range out {
		v, ok := l.values[i]
		if !ok {
			return nil, errs.Param(l.name+"["+strconv.Itoa(i)+"]", codeMissing, "Missing %s[%d]: list indices must start at 0 without gaps.", l.name, i)
		}
		out[i] = v
	}
	return out, nil
}

// lineItem is one line_items[i] as sent.
type lineItem struct {
	set                         bool
	currency, name, description string
	unitAmount, quantity        *int64
	images                      list
	// price is a catalog price (`price_…`), instead of price_data.
	price string
	// priceData: some price_data[…] was given.
	priceData  bool
	adjustable *adminv1.AdjustableQuantity
}

// create is a translated session creation.
type create struct {
	req *adminv1.CreateCheckoutSessionRequest
	// expand: the answer includes the line items (`expand[]=line_items`).
	expand bool
	// currencyParam is the parameter the currency came from, for errors.
	currencyParam string
}

// createRequest translates Stripe's session creation parameters into the
// core's request.
//
// The translation: line_items[i][price_data][product_data][name|description]
// → line_items[i][name|description], …[images][0] → image_url,
// …[price_data][unit_amount] → unit_amount (minor units, unchanged),
// …[quantity] → quantity, every line's price_data[currency] (which must
// agree) → currency (upper case); line_items[i][price] (a catalog price,
// instead of price_data) and …[adjustable_quantity] keep their names;
// customer (a catalog customer) → customer_id; expires_at Unix seconds → timestamp;
// success_url, cancel_url, customer_email, client_reference_id, metadata,
// payment_method_types and locale keep their names. mode must be payment.
func createRequest(f form) (create, error) {
	req := &adminv1.CreateCheckoutSessionRequest{}
	c := create{req: req, currencyParam: "line_items[0][price_data][currency]"}
	var err error
	var items []lineItem
	var methods, expands list
	methods.name, expands.name = "payment_method_types", "expand"
	mode := ""
	for _, p := range f.params {
		name := p.path[0]
		if reason, ok := unsupported[name]; ok {
			return c, errs.Param(p.name, codeUnsupported, "Tillpoint does not support %s: %s.", name, reason)
		}
		if len(p.path) > 1 && name != "metadata" && name != "line_items" && name != "payment_method_types" && name != "expand" && name != "discounts" &&
			name != "subscription_data" {
			return c, unknown(p)
		}
		switch name {
		case "mode":
			mode = p.value
		case "customer_creation":
			req.CustomerCreation = p.value
		case "line_items":
			if items, err = addLineItem(items, p); err != nil {
				return c, err
			}
		case "currency":
			req.Currency, c.currencyParam = strings.ToUpper(p.value), "currency"
		case "success_url":
			req.SuccessUrl = p.value
		case "cancel_url":
			req.CancelUrl = p.value
		case "customer":
			req.CustomerId = p.value
		case "customer_email":
			req.CustomerEmail = p.value
		case "client_reference_id":
			req.ClientReferenceId = p.value
		case "locale":
			req.Locale = p.value
		case "metadata":
			if err := addMetadata(req, p); err != nil {
				return c, err
			}
		case "discounts":
			if err := addDiscount(req, p); err != nil {
				return c, err
			}
		case "allow_promotion_codes":
			on, err := strconv.ParseBool(p.value)
			if err != nil {
				return c, errs.Param(p.name, codeInvalid, "Invalid boolean: %s.", p.value)
			}
			req.AllowPromotionCodes = on
		case "expires_at":
			sec, err := strconv.ParseInt(p.value, 10, 64)
			if err != nil {
				return c, errs.Param(p.name, codeInvalidInteger, "Invalid integer: %s (expires_at is a Unix time in seconds).", p.value)
			}
			req.ExpiresAt = &timestamppb.Timestamp{Seconds: sec}
		case "payment_method_types":
			if err := methods.add(p); err != nil {
				return c, err
			}
		case "expand":
			if err := expands.add(p); err != nil {
				return c, err
			}
		case "subscription_data":
			if err := addSubscriptionData(req, p); err != nil {
				return c, err
			}
		default:
			return c, unknown(p)
		}
	}
	switch mode {
	case "payment", "subscription":
		req.Mode = mode
	case "":
		return c, errs.Param("mode", codeMissing, "Missing required param: mode.")
	default:
		return c, errs.Param("mode", codeUnsupported, "Tillpoint supports mode=payment and mode=subscription, not %q.", mode)
	}
	fromItem, err := lineItems(req, items)
	if err != nil {
		return c, err
	}
	if c.currencyParam != "currency" {
		c.currencyParam = fromItem
	}
	if req.PaymentMethodTypes, err = methods.slice(); err != nil {
		return c, err
	}
	c.expand, err = expandLineItems(expands, "line_items")
	return c, err
}

// expandLineItems checks the expand list: the line items (as path) are the
// only expandable field.
func expandLineItems(l list, path string) (bool, error) {
	vals, err := l.slice()
	if err != nil {
		return false, err
	}
	for i, v := range vals {
		if v != path {
			return false, errs.Param("expand["+strconv.Itoa(i)+"]", codeUnsupported,
				"Tillpoint can expand only %s, not %q.", path, v)
		}
	}
	return len(vals) > 0, nil
}

func unknown(p param) error {
	return errs.Param(p.name, codeUnknown, "Received unknown parameter: %s.", p.name)
}

// addDiscount adds discounts[i][coupon] or discounts[i][promotion_code]
// (a `promo_…` id); the core allows one discount and says so.
func addDiscount(req *adminv1.CreateCheckoutSessionRequest, p param) error {
	if len(p.path) != 3 {
		return unknown(p)
	}
	i, err := index(p, 1, len(req.Discounts))
	if err != nil {
		return err
	}
	for len(req.Discounts) <= i {
		req.Discounts = append(req.Discounts, &adminv1.DiscountParams{})
	}
	switch p.path[2] {
	case "coupon":
		req.Discounts[i].Coupon = p.value
	case "promotion_code":
		req.Discounts[i].PromotionCode = p.value
	default:
		return unknown(p)
	}
	return nil
}

func addMetadata(req *adminv1.CreateCheckoutSessionRequest, p param) error {
	switch {
	case len(p.path) == 1 && p.value == "": // metadata= : none
		return nil
	case len(p.path) != 2 || p.path[1] == "":
		return errs.Param(p.name, codeInvalid, "Invalid metadata: give metadata[key]=value.")
	}
	if req.Metadata == nil {
		req.Metadata = map[string]string{}
	}
	req.Metadata[p.path[1]] = p.value
	return nil
}

// addLineItem records one line_items[i][…] parameter.
func addLineItem(items []lineItem, p param) ([]lineItem, error) {
	if len(p.path) < 3 {
		return nil, errs.Param(p.name, codeInvalid, "Invalid line_items: give line_items[0][price_data][…] and line_items[0][quantity].")
	}
	i, err := index(p, 1, -1)
	if err != nil || i < 0 {
		return nil, errs.Param(p.name, codeInvalid, "Invalid array index in %s.", p.name)
	}
	for len(items) <= i {
		items = append(items, lineItem{})
	}
	it := &items[i]
	it.set = true
	it.images.name = "line_items[" + strconv.Itoa(i) + "][price_data][product_data][images]"
	// sub is the path inside the line item; it and each of its prefixes
	// (line_items[0][price_data][recurring] for …[recurring][interval])
	// may be an unsupported parameter.
	sub := p.path[2]
	for k := 3; ; k++ {
		if reason, ok := unsupportedLine[sub]; ok {
			return nil, errs.Param(p.name, codeUnsupported, "Tillpoint does not support %s: %s.", p.name, reason)
		}
		if k == len(p.path) {
			break
		}
		sub += "[" + p.path[k] + "]"
	}
	it.priceData = it.priceData || p.path[2] == "price_data"
	switch {
	case sub == "quantity":
		it.quantity, err = integer(p)
	case sub == "price":
		it.price = p.value
	case strings.HasPrefix(sub, "adjustable_quantity["):
		err = addAdjustable(it, sub, p)
	case sub == "price_data[currency]":
		it.currency = p.value
	case sub == "price_data[unit_amount]":
		it.unitAmount, err = integer(p)
	case sub == "price_data[product_data][name]":
		it.name = p.value
	case sub == "price_data[product_data][description]":
		it.description = p.value
	case len(p.path) == 6 && p.path[2] == "price_data" && p.path[3] == "product_data" && p.path[4] == "images":
		err = it.images.add(param{name: p.name, path: p.path[4:], value: p.value})
	default:
		err = unknown(p)
	}
	return items, err
}

// addAdjustable records one line_items[i][adjustable_quantity][…] parameter.
func addAdjustable(it *lineItem, sub string, p param) error {
	if it.adjustable == nil {
		it.adjustable = &adminv1.AdjustableQuantity{}
	}
	var err error
	switch sub {
	case "adjustable_quantity[enabled]":
		if p.value != "true" && p.value != "false" {
			return errs.Param(p.name, codeInvalid, "Invalid boolean: %s.", p.value)
		}
		it.adjustable.Enabled = p.value == "true"
	case "adjustable_quantity[minimum]":
		it.adjustable.Minimum, err = integer(p)
	case "adjustable_quantity[maximum]":
		it.adjustable.Maximum, err = integer(p)
	default:
		err = unknown(p)
	}
	return err
}

func integer(p param) (*int64, error) {
	n, err := strconv.ParseInt(p.value, 10, 64)
	if err != nil {
		return nil, errs.Param(p.name, codeInvalidInteger, "Invalid integer: %s.", p.value)
	}
	return &n, nil
}

// lineItems checks the gathered line items and sets them, and the session
// currency, on req; it returns the parameter the currency came from (the
// first price_data[currency]; the first line's when only catalog prices give
// it).
func lineItems(req *adminv1.CreateCheckoutSessionRequest, items []lineItem) (string, error) {
	currencyParam := "line_items[0][price_data][currency]"
	if len(items) == 0 {
		return currencyParam, errs.Param("line_items", codeMissing, "Missing required param: line_items.")
	}
	for i, it := range items {
		at := "line_items[" + strconv.Itoa(i) + "]"
		if it.set && it.price != "" {
			// A catalog price: the core takes the name, amount and
			// currency from it.
			switch {
			case it.priceData:
				return currencyParam, errs.Param(at+"[price_data]", codeInvalid, "Give %s[price] or %s[price_data], not both.", at, at)
			case it.quantity == nil:
				return currencyParam, errs.Param(at+"[quantity]", codeMissing, "Missing required param: %s[quantity].", at)
			}
			req.LineItems = append(req.LineItems, &adminv1.LineItemParams{Price: it.price, Quantity: *it.quantity, AdjustableQuantity: it.adjustable})
			continue
		}
		switch {
		case !it.set:
			return currencyParam, errs.Param(at, codeMissing, "Missing %s: list indices must start at 0 without gaps.", at)
		case it.currency == "":
			return currencyParam, errs.Param(at+"[price_data][currency]", codeMissing, "Missing required param: %s[price_data][currency].", at)
		case it.unitAmount == nil:
			return currencyParam, errs.Param(at+"[price_data][unit_amount]", codeMissing, "Missing required param: %s[price_data][unit_amount].", at)
		case it.name == "":
			return currencyParam, errs.Param(at+"[price_data][product_data][name]", codeMissing, "Missing required param: %s[price_data][product_data][name].", at)
		case it.quantity == nil:
			return currencyParam, errs.Param(at+"[quantity]", codeMissing, "Missing required param: %s[quantity].", at)
		}
		cur := strings.ToUpper(it.currency)
		if req.Currency == "" {
			req.Currency, currencyParam = cur, at+"[price_data][currency]"
		} else if cur != req.Currency {
			return currencyParam, errs.Param(at+"[price_data][currency]", codeInvalid,
				"All line items must have the same currency: %s is not %s.", it.currency, strings.ToLower(req.Currency))
		}
		images, err := it.images.slice()
		if err != nil {
			return currencyParam, err
		}
		if len(images) > 1 {
			return currencyParam, errs.Param(at+"[price_data][product_data][images][1]", codeUnsupported, "Tillpoint shows one image per line item.")
		}
		li := &adminv1.LineItemParams{Name: it.name, Description: it.description, UnitAmount: *it.unitAmount, Quantity: *it.quantity,
			AdjustableQuantity: it.adjustable}
		if len(images) == 1 {
			li.ImageUrl = images[0]
		}
		req.LineItems = append(req.LineItems, li)
	}
	return currencyParam, nil
}

// addSubscriptionData reads subscription_data[trial_period_days], the one
// subscription parameter Tillpoint implements; the others are refused.
func addSubscriptionData(req *adminv1.CreateCheckoutSessionRequest, p param) error {
	if len(p.path) != 2 || p.path[1] != "trial_period_days" {
		return errs.Param(p.name, codeUnsupported, "Tillpoint supports subscription_data[trial_period_days] only.")
	}
	days, err := strconv.ParseInt(p.value, 10, 32)
	if err != nil {
		return errs.Param(p.name, codeInvalidInteger, "Invalid integer: %s.", p.value)
	}
	if req.SubscriptionData == nil {
		req.SubscriptionData = &adminv1.SubscriptionDataParams{}
	}
	d := int32(days)
	req.SubscriptionData.TrialPeriodDays = &d
	return nil
}
