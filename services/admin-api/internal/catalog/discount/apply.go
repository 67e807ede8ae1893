package discount

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/totals"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Spec is the discount a create request asks for: a coupon id, a promotion
// code id, or the text of a code; Param names the parameter that gave it.
type Spec struct {
	CouponID, PromotionCodeID, Code string
	Param                           string
}

// Requested reads the discount parameters of a create request: Stripe's
// `discounts` (one entry) or seed 002's `coupon_id` / `promotion_code`, and
// `allow_promotion_codes`. ok is false when no discount is asked for.
func Requested(req *adminv1.CreateCheckoutSessionRequest) (spec Spec, ok bool, err error) {
	given := 0
	if len(req.GetDiscounts()) > 0 {
		given++
		if len(req.GetDiscounts()) > 1 {
			return spec, false, errs.Param("discounts", "parameter_invalid", "A checkout session takes one discount.")
		}
		d := req.GetDiscounts()[0]
		switch {
		case d.GetCoupon() != "" && d.GetPromotionCode() != "":
			return spec, false, errs.Param("discounts[0][promotion_code]", "parameter_invalid", "Give coupon or promotion_code, not both.")
		case d.GetCoupon() != "":
			spec = Spec{CouponID: d.GetCoupon(), Param: "discounts[0][coupon]"}
		case d.GetPromotionCode() != "":
			spec = Spec{PromotionCodeID: d.GetPromotionCode(), Param: "discounts[0][promotion_code]"}
		default:
			return spec, false, errs.Param("discounts[0][coupon]", "parameter_missing", "Missing required param: discounts[0][coupon] (or promotion_code).")
		}
	}
	if c := req.GetCouponId(); c != "" {
		given++
		spec = Spec{CouponID: c, Param: "coupon_id"}
	}
	if c := strings.TrimSpace(req.GetPromotionCode()); c != "" {
		given++
		spec = Spec{Code: c, Param: "promotion_code"}
	}
	switch {
	case given > 1:
		return spec, false, errs.Param(spec.Param, "parameter_invalid", "Give one of discounts, coupon_id and promotion_code.")
	case given == 1 && req.GetAllowPromotionCodes():
		return spec, false, errs.Param("allow_promotion_codes", "parameter_invalid",
			"allow_promotion_codes lets the payer enter a code; it cannot go with a discount given here.")
	}
	return spec, given == 1, nil
}

// Apply gives the new or open session row (locked or created in q's
// transaction) the discount of spec: it checks the code's and the coupon's
// terms, reserves one redemption of each atomically, and stores the
// discounted line items and totals with the redemption. Any refusal is an
// errs.Invalid naming spec.Param, with a message fit for the payer.
func Apply(ctx context.Context, q *db.Queries, row db.AdminCheckoutSession, spec Spec) (db.AdminCheckoutSession, error) {
	org, live, now := row.OrganizationID, row.Livemode, time.Now()
	var promo *db.AdminPromotionCode
	couponID := spec.CouponID
	if spec.PromotionCodeID != "" || spec.Code != "" {
		p, err := findPromotionCode(ctx, q, org, live, spec)
		if err != nil {
			return row, err
		}
		if err := checkRestrictions(ctx, q, p, row, spec.Param); err != nil {
			return row, err
		}
		promo, couponID = &p, p.CouponID
	}
	c, err := q.GetCoupon(ctx, db.GetCouponParams{OrganizationID: org, Livemode: live, ID: couponID})
	if store.IsNoRows(err) {
		if promo != nil {
			return row, refuse(spec.Param, CodeUnknown, "This promotion code is no longer valid.")
		}
		return row, refuse(spec.Param, CodeUnknown, fmt.Sprintf("No such coupon: '%s'.", couponID))
	} else if err != nil {
		return row, store.Wrap(err, "get coupon")
	}
	if c.AmountOff != nil && *c.Currency != row.Currency {
		return row, refuse(spec.Param, CodeNotApplicable, fmt.Sprintf("This discount is in %s; the checkout is in %s.", *c.Currency, row.Currency))
	}
	var items []session.LineItem
	if err := json.Unmarshal(row.LineItems, &items); err != nil {
		return row, fmt.Errorf("session %s line items: %w", row.ID, err)
	}
	r, err := discountLines(items, c, spec.Param)
	if err != nil {
		return row, err
	}
	// A limited coupon or code is reserved: its row is locked, the coupon's
	// then the code's (every writer of both, Apply and End, takes them in
	// this order, so they cannot deadlock), and each UPDATE re-checks the
	// limit on the latest row once it holds the lock, so concurrent sessions
	// never take more than max_redemptions. One without a limit has nothing
	// to hold: it is checked as read, and concurrent sessions do not queue on
	// its row (its redemptions are counted when paid, by End).
	if c.MaxRedemptions == nil {
		if c.RedeemBy != nil && !c.RedeemBy.After(now) {
			return row, refuse(spec.Param, CodeExpired, "This discount has expired.")
		}
	} else if _, err := q.ReserveCoupon(ctx, db.ReserveCouponParams{OrganizationID: org, Livemode: live, ID: c.ID}); store.IsNoRows(err) {
		if c.RedeemBy != nil && !c.RedeemBy.After(now) {
			return row, refuse(spec.Param, CodeExpired, "This discount has expired.")
		}
		return row, refuse(spec.Param, CodeUsedUp, "This discount has been used up.")
	} else if err != nil {
		return row, store.Wrap(err, "reserve coupon")
	}
	if promo != nil && promo.MaxRedemptions != nil {
		// findPromotionCode checked the code active and unexpired as read.
		if _, err := q.ReservePromotionCode(ctx, promo.ID); store.IsNoRows(err) {
			return row, refuse(spec.Param, CodeUsedUp, "This promotion code has been used up.")
		} else if err != nil {
			return row, store.Wrap(err, "reserve promotion code")
		}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return row, err
	}
	var promoID *string
	if promo != nil {
		promoID = &promo.ID
	}
	out, err := q.SetSessionDiscount(ctx, db.SetSessionDiscountParams{ID: row.ID, AmountDiscount: r.Discount,
		LineItems: b, DiscountCoupon: &c.ID, DiscountPromotionCode: promoID})
	if err != nil {
		return row, store.Wrap(err, "set session discount")
	}
	if err := q.CreateRedemption(ctx, db.CreateRedemptionParams{SessionID: row.ID, OrganizationID: org, Livemode: live,
		CouponID: c.ID, PromotionCodeID: promoID}); err != nil {
		return row, store.Wrap(err, "create redemption")
	}
	return out, nil
}

// discountLines computes coupon c's discount on items and writes each line's
// share into them (amount_subtotal, amount_discount, amount_total); a
// discount that takes nothing off, or everything, is refused naming param.
func discountLines(items []session.LineItem, c db.AdminCoupon, param string) (totals.Result, error) {
	d := totals.Discount{}
	if c.PercentOff != nil {
		d.PercentOff = int64(*c.PercentOff)
	} else {
		d.AmountOff = *c.AmountOff
	}
	r := totals.Compute(eligibleLines(items, c.AppliesToProducts), d, totals.Tax{})
	switch {
	case r.Discount == 0:
		return r, refuse(param, CodeNotApplicable, "This discount does not apply to any item of the checkout.")
	case r.Total < 1:
		// A payment of 0 is not a payment any provider takes: free
		// checkouts are not supported yet.
		return r, refuse(param, CodeNotApplicable, "This discount would leave nothing to pay, which checkouts do not support.")
	}
	for i := range items {
		items[i].AmountSubtotal = items[i].UnitAmount * items[i].Quantity
		items[i].AmountDiscount = r.LineDiscounts[i]
		items[i].AmountTotal = items[i].AmountSubtotal - r.LineDiscounts[i]
	}
	return r, nil
}

// Reprice computes again the discount of row's coupon, already reserved,
// on its changed items (a quantity the payer changed), writing each line's
// share into them, and returns the session's new discount: 0 without one.
// The code's minimum amount holds for the new subtotal, as when it was
// applied; a refusal names param.
func Reprice(ctx context.Context, q *db.Queries, row db.AdminCheckoutSession, items []session.LineItem, subtotal int64, param string) (int64, error) {
	if row.DiscountCoupon == nil {
		return 0, nil
	}
	c, err := q.GetAnyCoupon(ctx, db.GetAnyCouponParams{OrganizationID: row.OrganizationID, Livemode: row.Livemode, ID: *row.DiscountCoupon})
	if err != nil {
		return 0, store.Wrap(err, "get coupon")
	}
	if row.DiscountPromotionCode != nil {
		p, err := q.GetPromotionCode(ctx, db.GetPromotionCodeParams{OrganizationID: row.OrganizationID, Livemode: row.Livemode, ID: *row.DiscountPromotionCode})
		if err != nil {
			return 0, store.Wrap(err, "get promotion code")
		}
		if p.MinimumAmount != nil && subtotal < *p.MinimumAmount {
			return 0, refuse(param, CodeMinimumAmount, fmt.Sprintf("With this quantity the order is below the promotion code's minimum of %d minor units.", *p.MinimumAmount))
		}
	}
	r, err := discountLines(items, c, param)
	return r.Discount, err
}

// findPromotionCode looks a code up by id or by its text and checks that it
// is active and unexpired.
func findPromotionCode(ctx context.Context, q *db.Queries, org string, live bool, spec Spec) (db.AdminPromotionCode, error) {
	var (
		p   db.AdminPromotionCode
		err error
	)
	if spec.PromotionCodeID != "" {
		p, err = q.GetPromotionCode(ctx, db.GetPromotionCodeParams{ID: spec.PromotionCodeID, OrganizationID: org, Livemode: live})
	} else {
		p, err = q.FindPromotionCode(ctx, db.FindPromotionCodeParams{OrganizationID: org, Livemode: live, Code: spec.Code})
	}
	switch {
	case store.IsNoRows(err) && spec.Code != "":
		return p, refuse(spec.Param, CodeUnknown, fmt.Sprintf("The promotion code '%s' is not valid.", spec.Code))
	case store.IsNoRows(err):
		return p, refuse(spec.Param, CodeUnknown, fmt.Sprintf("No such promotion code: '%s'.", spec.PromotionCodeID))
	case err != nil:
		return p, store.Wrap(err, "find promotion code")
	case !p.Active:
		return p, refuse(spec.Param, CodeInactive, "This promotion code is no longer active.")
	case p.ExpiresAt != nil && !p.ExpiresAt.After(time.Now()):
		return p, refuse(spec.Param, CodeExpired, "This promotion code has expired.")
	}
	return p, nil
}

// checkRestrictions applies a code's conditions to the session.
func checkRestrictions(ctx context.Context, q *db.Queries, p db.AdminPromotionCode, row db.AdminCheckoutSession, param string) error {
	if p.Customer != nil && (row.Customer == nil || *row.Customer != *p.Customer) {
		return refuse(param, CodeOtherCustomer, "This promotion code is for another customer.")
	}
	if p.MinimumAmount != nil {
		if *p.MinimumAmountCurrency != row.Currency {
			return refuse(param, CodeMinimumAmount, fmt.Sprintf("This promotion code is for orders in %s.", *p.MinimumAmountCurrency))
		}
		if row.AmountSubtotal < *p.MinimumAmount {
			return refuse(param, CodeMinimumAmount, fmt.Sprintf("This promotion code needs an order of at least %d minor units of %s.", *p.MinimumAmount, row.Currency))
		}
	}
	if p.FirstTimeTransaction {
		if row.Customer == nil && row.CustomerEmail == nil {
			return refuse(param, CodeFirstTimeOnly, "This promotion code is for first-time customers: the checkout must name the customer.")
		}
		paid, err := q.CustomerHasPaidSession(ctx, db.CustomerHasPaidSessionParams{OrganizationID: row.OrganizationID,
			Livemode: row.Livemode, Customer: row.Customer, CustomerEmail: row.CustomerEmail})
		if err != nil {
			return store.Wrap(err, "customer's paid sessions")
		}
		if paid {
			return refuse(param, CodeFirstTimeOnly, "This promotion code is for first-time customers only.")
		}
	}
	return nil
}

// Why a discount is refused: the error's code, which the hosted page turns
// into a message in the payer's language.
const (
	CodeUnknown       = "discount_unknown"        // no such code or coupon (or deleted)
	CodeInactive      = "discount_inactive"       // the code was turned off
	CodeExpired       = "discount_expired"        // past expires_at or redeem_by
	CodeUsedUp        = "discount_used_up"        // max_redemptions reached (counting reservations)
	CodeNotApplicable = "discount_not_applicable" // other currency, no eligible item, or nothing left to pay
	CodeMinimumAmount = "discount_minimum_amount" // below the code's minimum_amount
	CodeFirstTimeOnly = "discount_first_time_only"
	CodeOtherCustomer = "discount_other_customer"
)

// refuse is a discount's refusal: a 400 naming param, worded for the payer.
func refuse(param, code, message string) error {
	return &errs.Error{Kind: errs.Invalid, Code: code, Param: param, Message: message}
}

// End ends a session's reservation, if it holds one: counted as a redemption
// (redeemed, the session is paid) or given back (it expired, or its payment
// failed). It runs in the transaction that changes the session; a second
// call does nothing.
func End(ctx context.Context, q *db.Queries, row db.AdminCheckoutSession, redeemed bool) error {
	if row.DiscountCoupon == nil {
		return nil
	}
	status := "released"
	if redeemed {
		status = "redeemed"
	}
	r, err := q.EndRedemption(ctx, db.EndRedemptionParams{SessionID: row.ID, Status: status})
	if store.IsNoRows(err) {
		return nil
	} else if err != nil {
		return store.Wrap(err, "end redemption")
	}
	// The coupon's row, then the code's: Apply's lock order.
	if err := q.CouponReservationDone(ctx, db.CouponReservationDoneParams{OrganizationID: r.OrganizationID, Livemode: r.Livemode,
		ID: r.CouponID, Redeemed: redeemed}); err != nil {
		return store.Wrap(err, "coupon redemption")
	}
	if r.PromotionCodeID != nil {
		if err := q.PromotionCodeReservationDone(ctx, db.PromotionCodeReservationDoneParams{ID: *r.PromotionCodeID, Redeemed: redeemed}); err != nil {
			return store.Wrap(err, "promotion code redemption")
		}
	}
	return nil
}
