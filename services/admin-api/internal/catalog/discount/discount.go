// Package discount is the merchant API's coupons and promotion codes, and
// the discount of a checkout session: which coupon it takes, what that takes
// off each line (catalog/totals), and the redemption it holds — reserved when
// the session takes the discount, counted when the session is paid,
// released when it expires or its payment fails. See docs/discounts.md.
package discount

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/totals"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Limits of coupons and promotion codes (Stripe's where it has one).
const (
	maxIDLen          = 64
	maxCouponNameLen  = 40
	maxMonths         = 36 // three years of a repeating coupon
	maxAppliesTo      = 100
	minCodeLen        = 3
	maxCodeLen        = 50
	generatedCodeLen  = 8
	maxProductIDLen   = 255
	maxCustomerLength = 255
)

// Durations of a coupon: how many billing periods a subscription keeps it.
var durations = []string{"once", "repeating", "forever"}

// idChars are the characters of merchant-chosen coupon ids and of codes.
func idChars(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// percentHundredths turns a percent_off such as 12.5 into hundredths of a
// percent (1250): 0 < p ≤ 100 with at most two decimals, else an error.
func percentHundredths(p float64) (int64, error) {
	h := math.Round(p * 100)
	if math.IsNaN(p) || p <= 0 || p > 100 || math.Abs(p*100-h) > 1e-6 {
		return 0, errs.Param("percent_off", "parameter_invalid", "percent_off must be more than 0 and at most 100, with at most 2 decimals.")
	}
	return int64(h), nil
}

// validateCoupon checks a create request and builds the row.
func validateCoupon(req *adminv1.CreateCouponRequest, org string, live bool, now time.Time) (db.CreateCouponParams, error) {
	p := db.CreateCouponParams{OrganizationID: org, Livemode: live, ID: req.GetId()}
	switch {
	case p.ID == "":
		p.ID = ids.New("coupon")
	case len(p.ID) > maxIDLen || !idChars(p.ID):
		return p, errs.Param("id", "parameter_invalid", "id may hold up to %d letters, digits, '_' and '-'.", maxIDLen)
	}
	var err error
	if p.Name, err = optionalName(req.GetName()); err != nil {
		return p, err
	}
	switch {
	case req.PercentOff != nil && req.AmountOff != nil:
		return p, errs.Param("amount_off", "parameter_invalid", "Give percent_off or amount_off, not both.")
	case req.PercentOff != nil:
		h, err := percentHundredths(req.GetPercentOff())
		if err != nil {
			return p, err
		}
		h32 := int32(h)
		p.PercentOff = &h32
		if req.GetCurrency() != "" {
			return p, errs.Param("currency", "parameter_invalid", "currency goes with amount_off only.")
		}
	case req.AmountOff != nil:
		if a := req.GetAmountOff(); a < 1 || a > money.MaxAmount {
			return p, errs.Param("amount_off", "amount_invalid", "amount_off must be a whole number of minor units from 1 to %d.", int64(money.MaxAmount))
		}
		p.AmountOff = req.AmountOff
		if req.GetCurrency() == "" {
			return p, errs.Missing("currency")
		}
		cur, err := money.ParseCurrency(req.GetCurrency())
		if err != nil {
			return p, errs.Param("currency", "parameter_invalid", "%s.", err.Error())
		}
		code := cur.Code()
		p.Currency = &code
	default:
		return p, errs.Param("percent_off", "parameter_missing", "Missing required param: percent_off (or amount_off).")
	}
	p.Duration = req.GetDuration()
	if p.Duration == "" {
		p.Duration = durations[0]
	}
	switch {
	case !slices.Contains(durations, p.Duration):
		return p, errs.Param("duration", "parameter_invalid", "duration must be one of %s.", strings.Join(durations, ", "))
	case p.Duration == "repeating" && req.DurationInMonths == nil:
		return p, errs.Param("duration_in_months", "parameter_missing", "Missing required param: duration_in_months (duration is repeating).")
	case p.Duration != "repeating" && req.DurationInMonths != nil:
		return p, errs.Param("duration_in_months", "parameter_invalid", "duration_in_months goes with duration repeating only.")
	case req.DurationInMonths != nil && (req.GetDurationInMonths() < 1 || req.GetDurationInMonths() > maxMonths):
		return p, errs.Param("duration_in_months", "parameter_invalid", "duration_in_months must be from 1 to %d.", maxMonths)
	}
	p.DurationInMonths = req.DurationInMonths
	if req.MaxRedemptions != nil && req.GetMaxRedemptions() < 1 {
		return p, errs.Param("max_redemptions", "parameter_invalid", "max_redemptions must be at least 1.")
	}
	p.MaxRedemptions = req.MaxRedemptions
	if rb := req.GetRedeemBy(); rb != nil {
		if rb.CheckValid() != nil || !rb.AsTime().After(now) {
			return p, errs.Param("redeem_by", "parameter_invalid", "redeem_by must be a timestamp in the future.")
		}
		t := rb.AsTime().UTC()
		p.RedeemBy = &t
	}
	if at := req.GetAppliesTo(); at != nil {
		products := at.GetProducts()
		if len(products) == 0 || len(products) > maxAppliesTo {
			return p, errs.Param("applies_to[products]", "parameter_invalid", "applies_to.products must list 1 to %d product ids.", maxAppliesTo)
		}
		for _, id := range products {
			if id == "" || len(id) > maxProductIDLen {
				return p, errs.Param("applies_to[products]", "parameter_invalid", "Product ids are 1 to %d characters.", maxProductIDLen)
			}
		}
		p.AppliesToProducts = products
	}
	meta, err := session.Metadata(req.GetMetadata())
	if err != nil {
		return p, err
	}
	p.Metadata, err = json.Marshal(meta)
	return p, err
}

// optionalName checks a coupon's name; "" (or spaces) is none.
func optionalName(n string) (*string, error) {
	n = strings.TrimSpace(n)
	if n == "" {
		return nil, nil
	}
	if utf8.RuneCountInString(n) > maxCouponNameLen {
		return nil, errs.Param("name", "parameter_invalid", "name is limited to %d characters.", maxCouponNameLen)
	}
	return &n, nil
}

// validatePromotionCode checks a create request (the coupon is looked up by
// the caller) and builds the row.
func validatePromotionCode(req *adminv1.CreatePromotionCodeRequest, org string, live bool, now time.Time) (db.CreatePromotionCodeParams, error) {
	p := db.CreatePromotionCodeParams{ID: ids.New("promo"), OrganizationID: org, Livemode: live,
		CouponID: req.GetCoupon(), Code: strings.TrimSpace(req.GetCode()), Active: true}
	if p.CouponID == "" {
		return p, errs.Missing("coupon")
	}
	switch {
	case p.Code == "":
		p.Code = strings.ToUpper(ids.Random(generatedCodeLen))
	case len(p.Code) < minCodeLen || len(p.Code) > maxCodeLen || !idChars(p.Code):
		return p, errs.Param("code", "parameter_invalid", "code must be %d to %d letters, digits, '_' and '-'.", minCodeLen, maxCodeLen)
	}
	if req.Active != nil {
		p.Active = req.GetActive()
	}
	if req.MaxRedemptions != nil && req.GetMaxRedemptions() < 1 {
		return p, errs.Param("max_redemptions", "parameter_invalid", "max_redemptions must be at least 1.")
	}
	p.MaxRedemptions = req.MaxRedemptions
	if e := req.GetExpiresAt(); e != nil {
		if e.CheckValid() != nil || !e.AsTime().After(now) {
			return p, errs.Param("expires_at", "parameter_invalid", "expires_at must be a timestamp in the future.")
		}
		t := e.AsTime().UTC()
		p.ExpiresAt = &t
	}
	if r := req.GetRestrictions(); r != nil {
		p.FirstTimeTransaction = r.GetFirstTimeTransaction()
		switch {
		case r.MinimumAmount == nil && r.MinimumAmountCurrency != nil:
			return p, errs.Missing("restrictions[minimum_amount]")
		case r.MinimumAmount != nil && r.GetMinimumAmount() < 1 || r.GetMinimumAmount() > money.MaxAmount:
			return p, errs.Param("restrictions[minimum_amount]", "amount_invalid", "minimum_amount must be from 1 to %d minor units.", int64(money.MaxAmount))
		case r.MinimumAmount != nil:
			if r.GetMinimumAmountCurrency() == "" {
				return p, errs.Missing("restrictions[minimum_amount_currency]")
			}
			cur, err := money.ParseCurrency(r.GetMinimumAmountCurrency())
			if err != nil {
				return p, errs.Param("restrictions[minimum_amount_currency]", "parameter_invalid", "%s.", err.Error())
			}
			code := cur.Code()
			p.MinimumAmount, p.MinimumAmountCurrency = r.MinimumAmount, &code
		}
	}
	if c := strings.TrimSpace(req.GetCustomer()); c != "" {
		if len(c) > maxCustomerLength {
			return p, errs.Param("customer", "parameter_invalid", "customer is limited to %d characters.", maxCustomerLength)
		}
		p.Customer = &c
	}
	meta, err := session.Metadata(req.GetMetadata())
	if err != nil {
		return p, err
	}
	p.Metadata, err = json.Marshal(meta)
	return p, err
}

// eligibleLines marks the lines a coupon applies to: all of them, or those
// made from a catalog price of one of its products (an inline line item
// names no product, so a coupon limited to products leaves it out).
func eligibleLines(items []session.LineItem, products []string) []totals.Line {
	out := make([]totals.Line, len(items))
	for i, it := range items {
		eligible := len(products) == 0 || (it.ProductID != "" && slices.Contains(products, it.ProductID))
		out[i] = totals.Line{Amount: it.UnitAmount * it.Quantity, Eligible: eligible}
	}
	return out
}
