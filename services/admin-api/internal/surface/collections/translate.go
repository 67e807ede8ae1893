package collections

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/collection"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Rules of the seed's create call.
const (
	// currencyCode: the seed's API collects US dollars only. Another
	// currency is refused (400), where the seed says it is ignored: taking
	// dollars for an amount meant in another currency would charge the
	// payer a different sum than the merchant asked for.
	currencyCode = "USD"
	// minMajorUnits: the seed's `x >= 1` on amount, in dollars.
	minMajorUnits = 1
	maxOrderIDLen = 100
	// maxDescriptionLen: the seed's 100 (the core allows 500).
	maxDescriptionLen = 100
	// expiresInMinutes: the seed's collections expire after 60 minutes.
	expiresInMinutes = 60
	// placeholder is the core's session id placeholder in redirect URLs.
	placeholder = "{CHECKOUT_SESSION_ID}"
)

// createRequest is the seed's create body.
type createRequest struct {
	Amount      json.Number                `json:"amount"`
	Currency    string                     `json:"currency"`
	OrderID     string                     `json:"orderId"`
	Description string                     `json:"description"`
	CallbackURL string                     `json:"callbackUrl"`
	WebhookURL  string                     `json:"webhookUrl"`
	Metadata    map[string]json.RawMessage `json:"metadata"`
}

// sessionRequest translates the body to a checkout session on the
// organization's default site (no site_id):
// amount in exact minor units, callbackUrl as the success and cancel URLs
// (with batch and status), webhookUrl as the notify_url in the collection
// format, expiry in 60 minutes.
func (b createRequest) sessionRequest() (*adminv1.CreateCheckoutSessionRequest, error) {
	cur, err := money.ParseCurrency(currencyCode)
	if err != nil {
		return nil, err
	}
	if c := strings.TrimSpace(b.Currency); c != "" && !strings.EqualFold(c, currencyCode) {
		return nil, errs.Param("currency", "currency_unsupported", "Only USD is supported.")
	}
	amount, err := MinorUnits(b.Amount, cur)
	if err != nil {
		return nil, err
	}
	if b.OrderID == "" {
		return nil, errs.Missing("orderId")
	}
	if utf8.RuneCountInString(b.OrderID) > maxOrderIDLen {
		return nil, errs.Param("orderId", "parameter_invalid", "orderId is limited to %d characters.", maxOrderIDLen)
	}
	if strings.TrimSpace(b.Description) == "" {
		return nil, errs.Missing("description")
	}
	if utf8.RuneCountInString(b.Description) > maxDescriptionLen {
		return nil, errs.Param("description", "parameter_invalid", "description is limited to %d characters.", maxDescriptionLen)
	}
	meta, err := metadataOf(b.Metadata)
	if err != nil {
		return nil, err
	}
	minutes := int64(expiresInMinutes)
	req := &adminv1.CreateCheckoutSessionRequest{Amount: &amount, Currency: cur.Code(), OrderId: b.OrderID,
		Description: b.Description, Metadata: meta, ExpiresInMinutes: &minutes, NotifyUrl: b.WebhookURL}
	if b.WebhookURL != "" {
		req.NotifyFormat = collection.NotifyFormat
	}
	if b.CallbackURL != "" {
		if req.SuccessUrl, err = callbackURL(b.CallbackURL, collection.StatusCompleted); err != nil {
			return nil, err
		}
		if req.CancelUrl, err = callbackURL(b.CallbackURL, collection.StatusCancelled); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// MinorUnits converts the seed's decimal dollars to minor units of cur,
// exactly (money.ParseDecimal): more decimals than cur has is a 400, never
// rounded; so is less than 1 (major unit).
func MinorUnits(amount json.Number, cur money.Currency) (int64, error) {
	if amount == "" {
		return 0, errs.Missing("amount")
	}
	minor, err := money.ParseDecimal(amount.String(), cur)
	if err != nil {
		return 0, errs.Param("amount", "amount_invalid", "amount must be a number of %s with at most %d decimals: %s.",
			cur.Code(), cur.Exponent(), err)
	}
	one := int64(minMajorUnits)
	for range cur.Exponent() {
		one *= 10
	}
	if minor < one {
		return 0, errs.Param("amount", "amount_too_small", "amount must be at least %d %s.", minMajorUnits, cur.Code())
	}
	return minor, nil
}

// callbackURL is the payer's return to raw with batch (the collection id,
// filled in by the page) and status added to its query.
func callbackURL(raw, status string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", errs.Param("callbackUrl", "url_invalid", "callbackUrl must be an absolute URL.")
	}
	u.Fragment, u.RawFragment = "", ""
	q := u.RawQuery
	if q != "" {
		q += "&"
	}
	// The placeholder is added after encoding: url.Values would escape its
	// braces, and the page would no longer find it.
	u.RawQuery = q + "batch=" + placeholder + "&status=" + status
	return u.String(), nil
}

// metadataOf is the seed's free-form object as the core's string map:
// strings are kept, numbers and booleans kept as their JSON text; objects,
// arrays and null are refused (the core's metadata is flat text).
func metadataOf(in map[string]json.RawMessage) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, raw := range in {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, errs.Param("metadata."+k, "parameter_invalid", "metadata.%s is not valid JSON.", k)
		}
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = string(raw)
		default:
			return nil, errs.Param("metadata."+k, "parameter_invalid_type", "metadata.%s must be a string, number or boolean.", k)
		}
	}
	return out, nil
}

// fields are the core's parameter names in the surface's words.
var fields = map[string]string{
	"amount":      "amount",
	"currency":    "currency",
	"order_id":    "orderId",
	"description": "description",
	"success_url": "callbackUrl",
	"cancel_url":  "callbackUrl",
	"notify_url":  "webhookUrl",
	"id":          "collectionId",
}

// fieldOf translates a core parameter name (already the surface's when it
// has no translation: the surface's own checks name its fields).
func fieldOf(param string) string {
	if f, ok := fields[param]; ok {
		return f
	}
	if rest, ok := strings.CutPrefix(param, "metadata"); ok {
		return "metadata" + rest
	}
	return param
}

// translateMessage renames param, in the core's message, to the surface's
// field name.
func translateMessage(msg, param string) string {
	if f := fieldOf(param); param != "" && f != param {
		return strings.ReplaceAll(msg, param, f)
	}
	return msg
}
