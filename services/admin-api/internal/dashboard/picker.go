package dashboard

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// The Create checkout form's catalog picker: lines chosen from the active
// prices of the mode, with quantities, beside the free-form lines; a
// catalog customer; a coupon, a promotion code, or a code field on the page.
// The API prices the lines and checks everything (currencies, recurring
// prices, the code's restrictions); the form only checks that a chosen
// price is one it offered and that quantities are whole numbers.

// maxOffered bounds the prices and coupons the picker offers (the API's page
// limit): the newest active ones. A catalog with more can still be sold
// from by the API.
const maxOffered = 100

// pickRow is one catalog line of the form, as typed: a price id and a
// quantity.
type pickRow struct {
	Price, Qty string
}

// offer is a price the picker offers, with its product's name.
type offer struct {
	Product string
	Price   *adminv1.Price
}

// picker is the picker's part of the Create checkout form.
type picker struct {
	Picks []pickRow
	// Offers are the active prices of active products; Coupons the valid
	// coupons. Both are loaded once per request.
	Offers              []offer
	Coupons             []*adminv1.Coupon
	loaded              bool
	CustomerID          string
	CouponID            string
	PromotionCode       string
	AllowPromotionCodes bool
	CanAddPick          bool
}

// readPicker reads the picker's fields: rows are cat_price and cat_qty,
// repeated in order.
func readPicker(f url.Values) picker {
	p := picker{CustomerID: strings.TrimSpace(f.Get("customer_id")), CouponID: f.Get("coupon_id"),
		PromotionCode: strings.TrimSpace(f.Get("promotion_code")), AllowPromotionCodes: f.Get("allow_promotion_codes") == "on"}
	prices, qtys := f["cat_price"], f["cat_qty"]
	for i := range min(max(len(prices), len(qtys)), maxFormItems) {
		row := pickRow{}
		if i < len(prices) {
			row.Price = strings.TrimSpace(prices[i])
		}
		if i < len(qtys) {
			row.Qty = strings.TrimSpace(qtys[i])
		}
		p.Picks = append(p.Picks, row)
	}
	return p
}

// loadPicker fetches what the picker offers, once.
func (h *Handler) loadPicker(ctx context.Context, p *picker) error {
	if p.loaded {
		return nil
	}
	products, err := h.products.ListProducts(ctx, &adminv1.ListProductsRequest{Limit: proto.Int32(maxOffered)})
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, prod := range products.GetData() {
		if prod.GetActive() {
			names[prod.GetId()] = prod.GetName()
		}
	}
	prices, err := h.prices.ListPrices(ctx, &adminv1.ListPricesRequest{Active: proto.Bool(true), Limit: proto.Int32(maxOffered)})
	if err != nil {
		return err
	}
	for _, pr := range prices.GetData() {
		if name, ok := names[pr.GetProduct()]; ok {
			p.Offers = append(p.Offers, offer{Product: name, Price: pr})
		}
	}
	coupons, err := h.coupons.ListCoupons(ctx, &adminv1.ListCouponsRequest{Limit: proto.Int32(maxOffered)})
	if err != nil {
		return err
	}
	for _, c := range coupons.GetData() {
		if c.GetValid() {
			p.Coupons = append(p.Coupons, c)
		}
	}
	p.loaded = true
	p.CanAddPick = len(p.Picks) < maxFormItems
	return nil
}

// offered reports whether the picker offers price id.
func (p *picker) offered(id string) bool {
	for _, o := range p.Offers {
		if o.Price.GetId() == id {
			return true
		}
	}
	return false
}

// chosen is the number of catalog rows with a price.
func (p *picker) chosen() int {
	n := 0
	for _, row := range p.Picks {
		if row.Price != "" {
			n++
		}
	}
	return n
}

// request adds the picker's lines (before the free-form ones), customer and
// discount to req, recording in nv what the form refuses and, for the API's
// errors, which row each line item came from.
func (p *picker) request(req *adminv1.CreateCheckoutSessionRequest, nv *newView, tr translator) {
	for i, row := range p.Picks {
		if row.Price == "" {
			continue
		}
		n := strconv.Itoa(i)
		if !p.offered(row.Price) {
			nv.fail("cat_price_"+n, tr.T("new.err_price"))
		}
		qty, err := strconv.ParseInt(row.Qty, 10, 64)
		if err != nil {
			nv.fail("cat_qty_"+n, tr.T("err.integer"))
		}
		req.LineItems = append(req.LineItems, &adminv1.LineItemParams{PriceId: row.Price, Quantity: qty})
		nv.lines = append(nv.lines, lineRef{catalog: true, row: i})
	}
	req.CustomerId, req.CouponId, req.PromotionCode, req.AllowPromotionCodes = p.CustomerID, p.CouponID, p.PromotionCode, p.AllowPromotionCodes
}

// lineRef is the form row a request's line item came from.
type lineRef struct {
	catalog bool
	row     int
}

// lineField is the form input of an API error on line item i's field
// (unit_amount, price_id…), or "" when the line or field has none.
func (nv *newView) lineField(i int, field string) string {
	if i < 0 || i >= len(nv.lines) {
		return ""
	}
	ref := nv.lines[i]
	n := strconv.Itoa(ref.row)
	prefixes := map[string]string{"name": "item_name_", "unit_amount": "item_price_", "quantity": "item_qty_"}
	if ref.catalog {
		prefixes = map[string]string{"price_id": "cat_price_", "price": "cat_price_", "quantity": "cat_qty_"}
	}
	if prefix := prefixes[field]; prefix != "" {
		return prefix + n
	}
	return ""
}
