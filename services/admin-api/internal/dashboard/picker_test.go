package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// TestCreateFromCatalog: the Create checkout form offers the active prices
// of the mode (not archived ones) and the valid coupons; a row is added
// without JavaScript; a checkout is created from a catalog price with a
// quantity, a customer and a coupon, the empty free-form row left out; refusals point at the row they are about, the form's own (a price
// it did not offer, a quantity that is not a number) and the API's (a
// free-form line's quantity, counted after the catalog lines; an unknown
// customer).
func TestCreateFromCatalog(t *testing.T) {
	e := newEnv(t)
	ctx := e.as(e.orgA, false)
	prod, err := adminv1.NewProductServiceClient(e.conn.Inline).CreateProduct(ctx, &adminv1.CreateProductRequest{Name: "Loose-leaf tea"})
	if err != nil {
		t.Fatal(err)
	}
	prices := adminv1.NewPriceServiceClient(e.conn.Inline)
	newPrice := func(amount int64) string {
		p, err := prices.CreatePrice(ctx, &adminv1.CreatePriceRequest{Product: prod.GetProduct().GetId(), Currency: "EUR", UnitAmount: proto.Int64(amount)})
		if err != nil {
			t.Fatal(err)
		}
		return p.GetPrice().GetId()
	}
	tea, old := newPrice(450), newPrice(400)
	if _, err := prices.UpdatePrice(ctx, &adminv1.UpdatePriceRequest{Id: old, Active: false,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}}}); err != nil {
		t.Fatal(err)
	}
	pct := 10.0
	coupon, err := adminv1.NewCouponServiceClient(e.conn.Inline).CreateCoupon(ctx, &adminv1.CreateCouponRequest{Name: "Ten", PercentOff: &pct, Duration: "once"})
	if err != nil {
		t.Fatal(err)
	}
	ada, err := adminv1.NewCustomerServiceClient(e.conn.Inline).CreateCustomer(ctx, &adminv1.CreateCustomerRequest{Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	csrf := b.login(e.users["support"])
	_, _, page := b.get("/dashboard/checkouts/new")
	contains(t, "the form", page, `id="catalog-lines"`, `<option value="`+tea+`"`, "Loose-leaf tea · €4.50", `<option value="`+coupon.GetCoupon().GetId()+`"`,
		`id="allow_promotion_codes"`, `id="customer_id"`)
	if strings.Contains(page, `<option value="`+old+`"`) {
		t.Error("an archived price is offered")
	}

	form := e.createForm(csrf, e.siteA)
	form.Set("op", "add_price")
	form["cat_price"], form["cat_qty"] = []string{tea}, []string{"3"}
	_, _, page = b.post("/dashboard/checkouts/new", form)
	contains(t, "after adding a catalog row", page, `id="cat_price_1"`, `id="remove-price-1"`)

	for name, c := range map[string]struct {
		change func(url.Values)
		field  string
	}{
		"a price not offered": {func(f url.Values) { f["cat_price"] = []string{old} }, "cat_price_0"},
		"a quantity in words": {func(f url.Values) { f["cat_qty"] = []string{"three"} }, "cat_qty_0"},
		"the API refuses the second free-form line's quantity": {func(f url.Values) { f["item_qty"] = []string{"2", "0"} }, "item_qty_1"},
		"an unknown customer": {func(f url.Values) { f.Set("customer_id", "cus_doesnotexist") }, "customer_id"},
		"a coupon and the code field": {func(f url.Values) {
			f.Set("coupon_id", coupon.GetCoupon().GetId())
			f.Set("allow_promotion_codes", "on")
		}, "allow_promotion_codes"},
	} {
		f := e.createForm(csrf, e.siteA)
		f["cat_price"], f["cat_qty"] = []string{tea}, []string{"3"}
		f.Set("idempotency_key", "k-"+name) // each case is a new request
		c.change(f)
		status, _, page := b.post("/dashboard/checkouts/new", f)
		if status != http.StatusBadRequest || !strings.Contains(page, `href="#`+c.field+`"`) {
			t.Errorf("%s: %d, the summary does not link to #%s: %s", name, status, c.field, summary(page))
		}
	}

	// Only catalog lines: the empty free-form row is left out.
	f := url.Values{"csrf_token": {csrf}, "op": {"create"}, "site": {e.siteA}, "item_name": {""}, "item_price": {""}, "item_qty": {"1"},
		"cat_price": {tea, ""}, "cat_qty": {"3", "1"}, "customer_id": {ada.GetCustomer().GetId()}, "coupon_id": {coupon.GetCoupon().GetId()},
		"idempotency_key": {"k-catalog"}}
	status, loc, page := b.post("/dashboard/checkouts/new", f)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/checkouts/cs_") {
		t.Fatalf("create: %d %s %s", status, loc, page)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/checkouts/"), "?notice=created")
	got, err := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline).GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	s := got.GetCheckoutSession()
	if len(s.GetLineItems()) != 1 || s.GetLineItems()[0].GetPriceId() != tea || s.GetLineItems()[0].GetQuantity() != 3 {
		t.Fatalf("line items: %v", s.GetLineItems())
	}
	// 3 × 450 = 1350, 10 % off = 135.
	if s.GetAmountSubtotal() != 1350 || s.GetTotalDetails().GetAmountDiscount() != 135 ||
		s.GetCustomer() != ada.GetCustomer().GetId() || len(s.GetDiscounts()) != 1 || s.GetDiscounts()[0].GetCoupon() != coupon.GetCoupon().GetId() {
		t.Fatalf("session: %v", s)
	}
}

// summary is the form's error summary in page.
func summary(page string) string {
	start, end := strings.Index(page, `id="errors"`), strings.Index(page, "</ul>")
	if start < 0 || end < start {
		return "(no summary)"
	}
	return page[start:end]
}
