package subscription

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"time"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Proration behaviours of an items change.
const (
	prorateCreate = "create_prorations"
	prorateNone   = "none"
)

// Limits of an update's items: Stripe's 20 items per subscription, and the
// quantity bound of checkout line items.
const (
	maxItems    = 20
	maxQuantity = 999_999
)

// newItems checks an update's items against the catalog: recurring prices
// of sub's organization, mode, currency and recurrence, active, each once,
// with quantities in 1–maxQuantity (default 1). Refusals name the item.
func newItems(ctx context.Context, q *db.Queries, sub db.AdminSubscription, params []*adminv1.SubscriptionItemParams) ([]Item, error) {
	if len(params) > maxItems {
		return nil, errs.Param("items", "parameter_invalid", "At most %d items.", maxItems)
	}
	ids := make([]string, len(params))
	for i, it := range params {
		if ids[i] = strings.TrimSpace(it.GetPrice()); ids[i] == "" {
			return nil, errs.Missing(fmt.Sprintf("items[%d][price]", i))
		}
	}
	rows, err := q.GetPricesForLineItems(ctx, db.GetPricesForLineItemsParams{Ids: ids, OrganizationID: sub.OrganizationID, Livemode: sub.Livemode})
	if err != nil {
		return nil, store.Wrap(err, "get prices")
	}
	byID := make(map[string]db.GetPricesForLineItemsRow, len(rows))
	for _, r := range rows {
		byID[r.AdminPrice.ID] = r
	}
	out := make([]Item, len(params))
	seen := map[string]bool{}
	for i, it := range params {
		param := fmt.Sprintf("items[%d][price]", i)
		row, ok := byID[ids[i]]
		if !ok {
			return nil, errs.NotFoundf(param, "No such price: '%s'.", ids[i])
		}
		price, product := row.AdminPrice, row.AdminProduct
		switch {
		case seen[price.ID]:
			return nil, errs.Param(param, "parameter_invalid", "Price %s is given twice; give one item per price with its quantity.", price.ID)
		case !price.Active || !product.Active:
			return nil, errs.Param(param, "price_inactive", "Price %s (or its product) is archived.", price.ID)
		case price.Type != "recurring" || *price.RecurringInterval != sub.RecurringInterval || *price.RecurringIntervalCount != sub.RecurringIntervalCount:
			return nil, errs.Param(param, "recurring_mismatch", "Price %s must recur every %d %s, as the subscription does.",
				price.ID, sub.RecurringIntervalCount, sub.RecurringInterval)
		case price.Currency != sub.Currency:
			return nil, errs.Param(param, "currency_mismatch", "Price %s is in %s but the subscription in %s.", price.ID, price.Currency, sub.Currency)
		}
		seen[price.ID] = true
		qty := int64(1)
		if it.Quantity != nil {
			qty = it.GetQuantity()
		}
		if qty < 1 || qty > maxQuantity {
			return nil, errs.Param(fmt.Sprintf("items[%d][quantity]", i), "parameter_invalid", "quantity must be from 1 to %d.", maxQuantity)
		}
		out[i] = Item{Price: price.ID, Product: product.ID, Name: product.Name, UnitAmount: price.UnitAmount, Quantity: qty}
	}
	return out, nil
}

// Prorate returns the proration lines of changing items from old to
// updated at now within the period [start, end), whose invoice coupon c
// discounts: for each item no longer there as it was, a credit for the
// unused time (negative), and for each new or changed item, a charge for
// the time left. Each line is unit amount × quantity × seconds left ÷
// seconds in the period, and its discount the item's discount on a
// period's invoice of its items (Coupon.itemDiscounts) × the same
// fraction, each rounded half up (a credit and its discount are the
// negatives of their rounded magnitudes). Items unchanged (same price and
// quantity) have none. Outside the period, nothing is prorated.
func Prorate(old, updated []Item, c Coupon, start, end, now time.Time) []Line {
	left, total := int64(end.Sub(now)/time.Second), int64(end.Sub(start)/time.Second)
	if left <= 0 || total <= 0 || left > total {
		return nil
	}
	oldDiscounts, newDiscounts := c.itemDiscounts(old), c.itemDiscounts(updated)
	key := func(it Item) string { return fmt.Sprintf("%s×%d", it.Price, it.Quantity) }
	kept := map[string]int{}
	for _, it := range updated {
		kept[key(it)]++
	}
	var lines []Line
	stays := map[string]int{}
	for i, it := range old {
		if kept[key(it)] > stays[key(it)] {
			stays[key(it)]++
			continue
		}
		a, d := share(it.UnitAmount*it.Quantity, left, total), share(oldDiscounts[i], left, total)
		lines = append(lines, Line{Price: it.Price, Name: "Unused time on " + it.Name, UnitAmount: -a, Quantity: 1, AmountSubtotal: -a,
			AmountDiscount: -d, Proration: true})
	}
	for i, it := range updated {
		if stays[key(it)] > 0 {
			stays[key(it)]--
			continue
		}
		a, d := share(it.UnitAmount*it.Quantity, left, total), share(newDiscounts[i], left, total)
		lines = append(lines, Line{Price: it.Price, Name: "Remaining time on " + it.Name, UnitAmount: a, Quantity: 1, AmountSubtotal: a,
			AmountDiscount: d, Proration: true})
	}
	return lines
}

// share is amount × part ÷ whole rounded half up (0 ≤ part ≤ whole, amount
// ≥ 0), exact for any int64 amount: the product is 128-bit, and since the
// quotient is at most amount the division cannot overflow.
func share(amount, part, whole int64) int64 {
	hi, lo := bits.Mul64(uint64(amount), uint64(part))
	quo, rem := bits.Div64(hi, lo, uint64(whole))
	if rem >= uint64(whole)-rem { // rem ≥ whole/2, exactly: half up
		quo++
	}
	return int64(quo)
}

// changeItems replaces locked sub's items at now, adding the proration
// lines (behaviour create_prorations, outside a trial) to those pending for
// the next invoice.
func changeItems(ctx context.Context, q *db.Queries, sub db.AdminSubscription, req *adminv1.UpdateSubscriptionRequest, now time.Time) (db.AdminSubscription, error) {
	behavior := strings.TrimSpace(req.GetProrationBehavior())
	switch behavior {
	case "":
		behavior = prorateCreate
	case prorateCreate, prorateNone:
	default:
		return sub, errs.Param("proration_behavior", "parameter_invalid", "proration_behavior must be %s or %s.", prorateCreate, prorateNone)
	}
	if len(req.GetItems()) == 0 {
		return sub, nil
	}
	switch sub.Status {
	case "active", "trialing", "past_due":
	default:
		return sub, errs.Param("items", "subscription_not_active", "Subscription %s is %s: its items cannot change.", sub.ID, sub.Status)
	}
	updated, err := newItems(ctx, q, sub, req.GetItems())
	if err != nil {
		return sub, err
	}
	var (
		oldItems []Item
		pending  []Line
	)
	if err := json.Unmarshal(sub.Items, &oldItems); err != nil {
		return sub, fmt.Errorf("subscription %s items: %w", sub.ID, err)
	}
	if err := json.Unmarshal(sub.PendingLines, &pending); err != nil {
		return sub, fmt.Errorf("subscription %s pending lines: %w", sub.ID, err)
	}
	if behavior == prorateCreate && sub.Status != "trialing" {
		// The coupon as it discounted the current period's invoice.
		c, _, err := couponFor(ctx, q, sub, sub.CurrentPeriodStart, sub.PeriodNumber == 0)
		if err != nil {
			return sub, err
		}
		pending = append(pending, Prorate(oldItems, updated, c, sub.CurrentPeriodStart, sub.CurrentPeriodEnd, now)...)
	}
	items, err := json.Marshal(updated)
	if err != nil {
		return sub, err
	}
	lines, err := json.Marshal(pending)
	if err != nil {
		return sub, err
	}
	out, err := q.ChangeSubscriptionItems(ctx, db.ChangeSubscriptionItemsParams{ID: sub.ID, Items: items, PendingLines: lines})
	if err != nil {
		return sub, store.Wrap(err, "change subscription items")
	}
	return out, nil
}

// subscriptionNow is the time of locked subscription row: its test
// clock's, or now.
func subscriptionNow(ctx context.Context, q *db.Queries, row db.AdminSubscription, now time.Time) (time.Time, error) {
	if row.TestClockID == nil {
		return now, nil
	}
	clock, err := q.GetTestClock(ctx, db.GetTestClockParams{ID: *row.TestClockID, OrganizationID: row.OrganizationID})
	if err != nil {
		return now, store.Wrap(err, "get test clock")
	}
	return clock.FrozenTime, nil
}
