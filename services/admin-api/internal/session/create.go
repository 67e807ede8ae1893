// Package session holds the rules of checkout sessions: validation of create
// parameters, totals in exact minor units, expiry bounds, references. No I/O.
package session

import (
	"fmt"
	"maps"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/collection"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// Limits of the create parameters, from docs/design.md §2 and the seeds.
const (
	maxLineItems = 100
	maxQuantity  = 10_000
	// defaultMaxAdjustable is the largest quantity a payer may choose when
	// adjustable_quantity gives no maximum (Stripe's default).
	defaultMaxAdjustable = 99
	maxNameLen           = 250
	maxDescriptionLen    = 500
	maxURLLen            = 2048
	maxCustomerLen       = 255
	maxEmailLen          = 254 // RFC 5321 path limit
	maxPhoneLen          = 32
	maxOrderIDLen        = 100 // seed 003
	maxClientRefLen      = 200 // Stripe's client_reference_id
	maxMetadataKeys      = 50
	maxMetadataKeyLen    = 40
	maxMetadataValLen    = 500
	minExpiry            = 5 * time.Minute
	maxExpiry            = 30 * 24 * time.Hour
	defaultExpiry        = 24 * time.Hour
	// IDPlaceholder is replaced by the session id when the customer is redirected.
	IDPlaceholder = "{CHECKOUT_SESSION_ID}"
)

// The bodies a notify_url can receive: the event, as webhook endpoints get
// it, or seed 003's collection object.
const (
	NotifyFormatEvent      = "event"
	NotifyFormatCollection = collection.NotifyFormat
)

// Payment methods the hosted page offers.
var knownMethods = []string{"card", "bank_transfer", "direct_debit", "mobile_money"}

// Locales the hosted page speaks; "auto" follows the browser.
var knownLocales = []string{"auto", "en", "fr", "es"}

// Who may pay installment interest, and how the payer may be sent back
// (see CheckoutSession in checkout_session.proto); the first is the default.
var (
	interestPayers = []string{"merchant", "customer"}
	returnMethods  = []string{"redirect", "post"}
)

// Site is what session creation needs to know of a site.
type Site struct {
	ID                 string
	DefaultCurrency    string
	DefaultSuccessURL  string
	DefaultCancelURL   string
	PaymentMethodTypes []string
	// MaxExclusiveTaxBps is the site's highest exclusive tax rate: the most
	// a payer's billing address can add on top of the subtotal.
	MaxExclusiveTaxBps int64
	// CheckNotifyURL applies the URL policy of everything Tillpoint calls
	// (webhook.TargetPolicy.CheckURL) for the caller's organization and
	// mode; nil applies the production policy (https, no internal address).
	CheckNotifyURL func(raw string) error
}

// LineItem is a validated line item.
type LineItem struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	UnitAmount  int64  `json:"unit_amount"`
	Quantity    int64  `json:"quantity"`
	ImageURL    string `json:"image_url,omitempty"`
	// AmountTotal is AmountSubtotal − AmountDiscount.
	AmountTotal int64 `json:"amount_total"`
	// AmountSubtotal is UnitAmount × Quantity; stored only once a discount
	// applies (until then it is AmountTotal).
	AmountSubtotal int64 `json:"amount_subtotal,omitempty"`
	// AmountDiscount is what the session's discount takes off the line.
	AmountDiscount int64 `json:"amount_discount,omitempty"`
	// PriceID and ProductID name the catalog price the item was made from.
	PriceID   string `json:"price_id,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	// Adjustable, when set, lets the payer change Quantity on the hosted page.
	Adjustable *Adjustable `json:"adjustable_quantity,omitempty"`
}

// Adjustable is the range within which the payer may change a line item's
// quantity; it always contains the quantity.
type Adjustable struct {
	Minimum int64 `json:"minimum"`
	Maximum int64 `json:"maximum"`
}

// New is a validated session, ready to be stored.
type New struct {
	ID                 string
	SiteID             string
	Livemode           bool
	Currency           string
	LineItems          []LineItem
	Subtotal           int64
	SuccessURL         string
	CancelURL          string
	Customer           *string
	CustomerEmail      *string
	CustomerPhone      *string
	Metadata           map[string]string
	OrderID            *string
	ClientReferenceID  *string
	Description        *string
	Reference          string
	PaymentMethodTypes []string
	Locale             string
	NotifyURL          *string
	NotifyFormat       string
	ExpiresAt          time.Time
	// MaxInstallmentCount is 1 – money.MaxInstallments.
	MaxInstallmentCount int32
	// InterestPaidBy is "merchant" or "customer".
	InterestPaidBy string
	// ReturnMethod is "redirect" or "post".
	ReturnMethod string
}

// Validate checks a create request against the site and builds the session.
// The first problem found is returned as an errs.Invalid naming its parameter.
func Validate(req *adminv1.CreateCheckoutSessionRequest, site Site, live bool, now time.Time) (New, error) {
	n := New{ID: ids.New("cs"), SiteID: site.ID, Livemode: live, Reference: NewReference()}

	code := strings.TrimSpace(req.GetCurrency())
	if code == "" {
		code = site.DefaultCurrency
	}
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return n, errs.Param("currency", "parameter_invalid", "%s.", capitalise(err.Error()))
	}
	n.Currency = cur.Code()

	if n.LineItems, n.Subtotal, err = lineItems(req); err != nil {
		return n, err
	}
	if err := checkTotalAfterTax(req, n.Subtotal, site.MaxExclusiveTaxBps); err != nil {
		return n, err
	}

	success := req.GetSuccessUrl()
	if alias := req.GetReturnUrl(); alias != "" {
		if success != "" && success != alias {
			return n, errs.Param("return_url", "parameter_invalid", "return_url is another name for success_url; give one of them.")
		}
		success = alias
	}
	if success == "" {
		success = site.DefaultSuccessURL
	}
	if n.SuccessURL, err = redirectURL("success_url", success, live); err != nil {
		return n, err
	}
	cancel := req.GetCancelUrl()
	if cancel == "" {
		cancel = site.DefaultCancelURL
	}
	if n.CancelURL, err = redirectURL("cancel_url", cancel, live); err != nil {
		return n, err
	}
	if v := req.GetNotifyUrl(); v != "" {
		if v, err = notifyURL(v, site.CheckNotifyURL, live); err != nil {
			return n, err
		}
		n.NotifyURL = &v
	}
	switch n.NotifyFormat = req.GetNotifyFormat(); n.NotifyFormat {
	case "":
		n.NotifyFormat = NotifyFormatEvent
	case NotifyFormatEvent, NotifyFormatCollection:
	default:
		return n, errs.Param("notify_format", "parameter_invalid", "notify_format must be %s or %s.", NotifyFormatEvent, NotifyFormatCollection)
	}

	if n.Customer, err = optionalText("customer", req.GetCustomer(), maxCustomerLen); err != nil {
		return n, err
	}
	if v := strings.TrimSpace(req.GetCustomerEmail()); v != "" {
		if !ValidEmail(v) {
			return n, errs.Param("customer_email", "email_invalid", "Invalid email address: %q.", v)
		}
		n.CustomerEmail = &v
	}
	if v := strings.TrimSpace(req.GetCustomerPhone()); v != "" {
		if err := CheckPhone("customer_phone", v); err != nil {
			return n, err
		}
		n.CustomerPhone = &v
	}
	if n.OrderID, err = optionalText("order_id", req.GetOrderId(), maxOrderIDLen); err != nil {
		return n, err
	}
	if n.ClientReferenceID, err = optionalText("client_reference_id", req.GetClientReferenceId(), maxClientRefLen); err != nil {
		return n, err
	}
	if n.Description, err = optionalText("description", req.GetDescription(), maxDescriptionLen); err != nil {
		return n, err
	}
	if n.Metadata, err = Metadata(req.GetMetadata()); err != nil {
		return n, err
	}
	if n.PaymentMethodTypes, err = methods(req.GetPaymentMethodTypes(), site.PaymentMethodTypes); err != nil {
		return n, err
	}
	if err := checkSetupMethod(req, n); err != nil {
		return n, err
	}
	n.Locale = req.GetLocale()
	if n.Locale == "" {
		n.Locale = "auto"
	}
	if !slices.Contains(knownLocales, n.Locale) {
		return n, errs.Param("locale", "parameter_invalid", "locale must be one of %s.", strings.Join(knownLocales, ", "))
	}
	if n.ExpiresAt, err = expiry(req, now); err != nil {
		return n, err
	}
	n.MaxInstallmentCount = 1
	if req.MaxInstallmentCount != nil {
		if c := req.GetMaxInstallmentCount(); c < 1 || c > money.MaxInstallments {
			return n, errs.Param("max_installment_count", "parameter_invalid", "max_installment_count must be from 1 to %d.", money.MaxInstallments)
		}
		n.MaxInstallmentCount = req.GetMaxInstallmentCount()
	}
	if n.InterestPaidBy, err = oneOf("installment_interest_paid_by", req.GetInstallmentInterestPaidBy(), interestPayers); err != nil {
		return n, err
	}
	if n.ReturnMethod, err = oneOf("return_method", req.GetReturnMethod(), returnMethods); err != nil {
		return n, err
	}
	return n, nil
}

// oneOf returns v if it is one of allowed, allowed[0] when v is empty.
func oneOf(param, v string, allowed []string) (string, error) {
	if v == "" {
		return allowed[0], nil
	}
	if !slices.Contains(allowed, v) {
		return "", errs.Param(param, "parameter_invalid", "%s must be one of %s.", param, strings.Join(allowed, ", "))
	}
	return v, nil
}

func lineItems(req *adminv1.CreateCheckoutSessionRequest) ([]LineItem, int64, error) {
	items := req.GetLineItems()
	switch {
	case req.Amount != nil && len(items) > 0:
		return nil, 0, errs.Param("amount", "parameter_invalid", "Give either amount or line_items, not both.")
	case req.Amount == nil && len(items) == 0:
		return nil, 0, errs.Param("amount", "parameter_missing", "Missing required param: amount (or line_items).")
	case req.Amount != nil:
		a := req.GetAmount()
		if a < 1 || a > money.MaxAmount {
			return nil, 0, errs.Param("amount", "amount_invalid", "amount must be a whole number of minor units from 1 to %d.", int64(money.MaxAmount))
		}
		name := req.GetDescription()
		if name == "" {
			name = "Payment"
		}
		return []LineItem{{Name: truncate(name, maxNameLen), UnitAmount: a, Quantity: 1, AmountTotal: a}}, a, nil
	}
	if len(items) > maxLineItems {
		return nil, 0, errs.Param("line_items", "parameter_invalid", "At most %d line items.", maxLineItems)
	}
	out := make([]LineItem, 0, len(items))
	var subtotal int64
	for i, it := range items {
		p := func(field string) string { return fmt.Sprintf("line_items[%d][%s]", i, field) }
		name := strings.TrimSpace(it.GetName())
		switch {
		case name == "":
			return nil, 0, errs.Missing(p("name"))
		case utf8.RuneCountInString(name) > maxNameLen:
			return nil, 0, errs.Param(p("name"), "parameter_invalid", "At most %d characters.", maxNameLen)
		case utf8.RuneCountInString(it.GetDescription()) > maxDescriptionLen:
			return nil, 0, errs.Param(p("description"), "parameter_invalid", "At most %d characters.", maxDescriptionLen)
		case it.GetUnitAmount() < 0 || it.GetUnitAmount() > money.MaxAmount:
			return nil, 0, errs.Param(p("unit_amount"), "amount_invalid", "unit_amount must be a whole number of minor units from 0 to %d.", int64(money.MaxAmount))
		case it.GetQuantity() < 1 || it.GetQuantity() > maxQuantity:
			return nil, 0, errs.Param(p("quantity"), "parameter_invalid", "quantity must be from 1 to %d.", maxQuantity)
		}
		if it.GetImageUrl() != "" {
			if _, err := AbsoluteURL(p("image_url"), it.GetImageUrl(), true); err != nil {
				return nil, 0, err
			}
		}
		// Both factors are capped, so the product (≤ 10^15) cannot overflow.
		total := it.GetUnitAmount() * it.GetQuantity()
		subtotal += total
		if subtotal > money.MaxAmount {
			return nil, 0, errs.Param("line_items", "amount_too_large", "The line items add up to more than %d minor units.", int64(money.MaxAmount))
		}
		adj, err := adjustable(it, p)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, LineItem{Name: name, Description: it.GetDescription(), UnitAmount: it.GetUnitAmount(),
			Quantity: it.GetQuantity(), ImageURL: it.GetImageUrl(), AmountTotal: total, Adjustable: adj})
	}
	// A subscription's free trial may charge nothing at checkout (the
	// catalog set its recurring prices' amounts to 0; trial_period_days is
	// only accepted in subscription mode).
	if subtotal < 1 && req.GetSubscriptionData().GetTrialPeriodDays() < 1 {
		return nil, 0, errs.Param("line_items", "amount_invalid", "The line items must add up to at least 1 minor unit.")
	}
	return out, subtotal, nil
}

// adjustable validates a line item's adjustable_quantity: nil unless
// enabled; bounds within 1 – maxQuantity (default 1 – 99) that contain the
// item's quantity.
func adjustable(it *adminv1.LineItemParams, p func(string) string) (*Adjustable, error) {
	aq := it.GetAdjustableQuantity()
	if !aq.GetEnabled() {
		if aq != nil && (aq.Minimum != nil || aq.Maximum != nil) {
			return nil, errs.Param(p("adjustable_quantity][enabled"), "parameter_invalid", "Give enabled=true with minimum or maximum.")
		}
		return nil, nil
	}
	a := &Adjustable{Minimum: 1, Maximum: max(defaultMaxAdjustable, it.GetQuantity())}
	if aq.Minimum != nil {
		a.Minimum = aq.GetMinimum()
	}
	if aq.Maximum != nil {
		a.Maximum = aq.GetMaximum()
	}
	switch {
	case a.Minimum < 1 || a.Minimum > maxQuantity:
		return nil, errs.Param(p("adjustable_quantity][minimum"), "parameter_invalid", "minimum must be from 1 to %d.", maxQuantity)
	case a.Maximum < a.Minimum || a.Maximum > maxQuantity:
		return nil, errs.Param(p("adjustable_quantity][maximum"), "parameter_invalid", "maximum must be from minimum (%d) to %d.", a.Minimum, maxQuantity)
	case it.GetQuantity() < a.Minimum || it.GetQuantity() > a.Maximum:
		return nil, errs.Param(p("quantity"), "parameter_invalid", "quantity must lie within adjustable_quantity: from %d to %d.", a.Minimum, a.Maximum)
	}
	return a, nil
}

// checkTotalAfterTax keeps the total a payer can be asked for within
// money.MaxAmount: the subtotal plus the tax of the site's highest exclusive
// rate (tax is added at payment time, from the billing address).
func checkTotalAfterTax(req *adminv1.CreateCheckoutSessionRequest, subtotal, maxBps int64) error {
	worst := subtotal + money.ExclusiveTax(subtotal, maxBps)
	if worst <= money.MaxAmount {
		return nil
	}
	param := "line_items"
	if req.Amount != nil {
		param = "amount"
	}
	return errs.Param(param, "amount_too_large",
		"With the site's highest exclusive tax rate (%d bps) the total could reach %d, more than the maximum of %d minor units.",
		maxBps, worst, int64(money.MaxAmount))
}

// redirectURL validates a success or cancel URL; the id placeholder may stand
// anywhere in it.
func redirectURL(param, raw string, live bool) (string, error) {
	if raw == "" {
		return "", errs.Param(param, "parameter_missing", "Missing required param: %s (the site has no default).", param)
	}
	if _, err := AbsoluteURL(param, strings.ReplaceAll(raw, IDPlaceholder, "cs_x"), live); err != nil {
		return "", err
	}
	return raw, nil
}

// AbsoluteURL checks an http(s) URL with a host; live mode requires https.
func AbsoluteURL(param, raw string, live bool) (string, error) {
	if len(raw) > maxURLLen {
		return "", errs.Param(param, "url_invalid", "URLs are limited to %d characters.", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return "", errs.Param(param, "url_invalid", "Not a valid absolute URL: %q.", raw)
	}
	if live && u.Scheme != "https" {
		return "", errs.Param(param, "url_invalid", "Live mode needs https URLs.")
	}
	return raw, nil
}

// notifyURL checks a notify_url: our servers call it, so it follows the same
// policy, with the same messages, as webhook endpoints (hooks checks it again
// against the addresses the host resolves to when it calls).
func notifyURL(raw string, check func(string) error, live bool) (string, error) {
	if check == nil {
		check = func(raw string) error { return webhook.TargetPolicy{}.CheckURL(raw, "", live) }
	}
	if err := check(raw); err != nil {
		return "", errs.Param("notify_url", "url_invalid", "%s", err.Error())
	}
	return raw, nil
}

func optionalText(param, v string, max int) (*string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if utf8.RuneCountInString(v) > max {
		return nil, errs.Param(param, "parameter_invalid", "%s is limited to %d characters.", param, max)
	}
	return &v, nil
}

// Metadata validates a metadata map (Stripe's limits) and returns it, never nil.
func Metadata(m map[string]string) (map[string]string, error) {
	if len(m) > maxMetadataKeys {
		return nil, errs.Param("metadata", "parameter_invalid", "metadata may have at most %d keys.", maxMetadataKeys)
	}
	// Sorted, so that the same request always names the same key.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v, param := m[k], "metadata["+k+"]"
		switch {
		case k == "" || utf8.RuneCountInString(k) > maxMetadataKeyLen:
			return nil, errs.Param("metadata", "parameter_invalid", "metadata keys must be 1 to %d characters.", maxMetadataKeyLen)
		case utf8.RuneCountInString(v) > maxMetadataValLen:
			return nil, errs.Param(param, "parameter_invalid", "metadata values are limited to %d characters.", maxMetadataValLen)
		}
	}
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

func methods(asked, enabled []string) ([]string, error) {
	if len(asked) == 0 {
		return slices.Clone(enabled), nil
	}
	out := make([]string, 0, len(asked))
	for i, m := range asked {
		param := fmt.Sprintf("payment_method_types[%d]", i)
		switch {
		case !slices.Contains(knownMethods, m):
			return nil, errs.Param(param, "parameter_invalid", "Unknown payment method %q; known: %s.", m, strings.Join(knownMethods, ", "))
		case !slices.Contains(enabled, m):
			return nil, errs.Param(param, "payment_method_unavailable", "The site does not have %q enabled.", m)
		case !slices.Contains(out, m):
			out = append(out, m)
		}
	}
	return out, nil
}

// checkSetupMethod refuses a checkout that charges nothing today (its
// recurring prices are in a free trial) without the card among its
// methods: such a checkout saves a card for the trial's end without a
// payment (every card provider, the test provider and Stripe, can), and no
// other method can be saved so. It names payment_method_types when they
// were given, else the trial that made the checkout free (the site's
// methods lack the card).
func checkSetupMethod(req *adminv1.CreateCheckoutSessionRequest, n New) error {
	if n.Subtotal > 0 || slices.Contains(n.PaymentMethodTypes, "card") {
		return nil
	}
	param := "subscription_data[trial_period_days]"
	if len(req.GetPaymentMethodTypes()) > 0 {
		param = "payment_method_types"
	}
	return errs.Param(param, "payment_method_unavailable",
		"A checkout that charges nothing today (a free trial) saves a card for the trial's end: it needs the card among its payment methods.")
}

func expiry(req *adminv1.CreateCheckoutSessionRequest, now time.Time) (time.Time, error) {
	given := 0
	at, param := now.Add(defaultExpiry), "expires_at"
	if req.ExpiresAt != nil {
		given++
		if err := req.GetExpiresAt().CheckValid(); err != nil {
			return at, errs.Param(param, "parameter_invalid", "expires_at is not a valid timestamp.")
		}
		at = req.GetExpiresAt().AsTime()
	}
	if req.ExpiresInMinutes != nil {
		given++
		at, param = now.Add(time.Duration(clamp(req.GetExpiresInMinutes(), 0, 1e6))*time.Minute), "expires_in_minutes"
	}
	if req.ExpiresInHours != nil {
		given++
		at, param = now.Add(time.Duration(clamp(req.GetExpiresInHours(), 0, 1e5))*time.Hour), "expires_in_hours"
	}
	if given > 1 {
		return at, errs.Param(param, "parameter_invalid", "Give only one of expires_at, expires_in_minutes and expires_in_hours.")
	}
	if d := at.Sub(now); d < minExpiry || d > maxExpiry {
		return at, errs.Param(param, "parameter_invalid", "Sessions must expire between 5 minutes and 30 days after creation.")
	}
	return at.UTC().Truncate(time.Second), nil
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

// ValidEmail reports whether s is a plain email address (no display name)
// of at most 254 characters, with a dot in its domain.
func ValidEmail(s string) bool { return len(s) <= maxEmailLen && isEmail(s) }

// CheckPhone validates a phone number: up to 32 digits, spaces and + - ( ) .
// characters.
func CheckPhone(param, v string) error {
	if len(v) > maxPhoneLen || strings.Trim(v, "0123456789+-(). ") != "" {
		return errs.Param(param, "parameter_invalid", "%s may hold up to %d digits, spaces and + - ( ) . characters.", param, maxPhoneLen)
	}
	return nil
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// referenceAlphabet leaves out 0/O and 1/I/L, which payers misread when they
// copy a bank-transfer reference.
const referenceAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewReference returns a short reference such as "TP-7K3M-Q9XD": 8 characters
// of a 31-letter alphabet, about 40 bits; the store retries on the rare clash.
func NewReference() string {
	b := []byte("TP-xxxx-xxxx")
	for _, i := range []int{3, 4, 5, 6, 8, 9, 10, 11} {
		b[i] = referenceAlphabet[ids.RandomBig(int64(len(referenceAlphabet)))]
	}
	return string(b)
}
