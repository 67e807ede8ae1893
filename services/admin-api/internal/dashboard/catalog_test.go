package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// TestCatalogProducts: a developer creates a product with its first price
// (the decimal amount converted exactly), adds a price, archives one; a
// refused amount comes back with the form as typed; a viewer sees the pages
// without their forms and cannot post; another organization's product is
// not found.
func TestCatalogProducts(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["developer"])
	form := url.Values{"csrf_token": {csrf}, "name": {"Loose-leaf tea"}, "description": {"100 g"}, "currency": {"eur"},
		"unit_amount": {"4.505"}, "idempotency_key": {"k1"}}
	status, _, page := b.post("/dashboard/catalog/products", form)
	if status != http.StatusBadRequest || !strings.Contains(page, `id="errors"`) || !strings.Contains(page, `value="Loose-leaf tea"`) {
		t.Fatalf("three decimals of EUR: %d", status)
	}
	form.Set("unit_amount", "4.50")
	status, loc, _ := b.post("/dashboard/catalog/products", form)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/catalog/products/prod_") {
		t.Fatalf("create: %d %s", status, loc)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/catalog/products/"), "?notice=saved")
	ctx := e.as(e.orgA, false)
	prices, err := adminv1.NewPriceServiceClient(e.conn.Inline).ListPrices(ctx, &adminv1.ListPricesRequest{Product: id})
	if err != nil || len(prices.GetData()) != 1 || prices.GetData()[0].GetUnitAmount() != 450 || prices.GetData()[0].GetCurrency() != "EUR" {
		t.Fatalf("first price: %v %v", prices, err)
	}
	first := prices.GetData()[0].GetId()
	if s, _, _ := b.post("/dashboard/catalog/products/"+id+"/prices", url.Values{"csrf_token": {csrf}, "currency": {"EUR"}, "unit_amount": {"5"},
		"nickname": {"2027"}, "idempotency_key": {"k2"}}); s != http.StatusSeeOther {
		t.Fatalf("add price: %d", s)
	}
	if s, _, _ := b.post("/dashboard/catalog/prices/"+first+"/archive", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Fatalf("archive price: %d", s)
	}
	_, _, page = b.get("/dashboard/catalog/products/" + id)
	contains(t, "the product page", page, "Loose-leaf tea", `id="nav-catalog" aria-current="page"`, `id="price-form"`, "2027", `id="archive-product"`)
	if strings.Contains(page, `id="archive-`+first+`"`) || !strings.Contains(page, `id="row-`+first+`"`) {
		t.Error("the archived price still offers archiving, or is not listed")
	}
	got, _ := adminv1.NewPriceServiceClient(e.conn.Inline).GetPrice(ctx, &adminv1.GetPriceRequest{Id: first})
	if got.GetPrice().GetActive() {
		t.Error("the price is still active")
	}

	v := e.browser()
	vcsrf := v.login(e.users["viewer"])
	v.get("/dashboard/lang?to=fr&back=%2Fdashboard")
	status, _, page = v.get("/dashboard/catalog/products")
	contains(t, "the viewer's list (fr)", page, "Catalogue", "Produits", "Loose-leaf tea")
	if status != http.StatusOK || strings.Contains(page, `id="product-form"`) {
		t.Errorf("viewer list: %d, or with the create form", status)
	}
	if s, _, _ := v.post("/dashboard/catalog/prices/"+id+"/archive", url.Values{"csrf_token": {vcsrf}}); s != http.StatusForbidden {
		t.Errorf("viewer archives: %d", s)
	}
	o := e.browser()
	o.login(e.users["ownerB"])
	if s, _, _ := o.get("/dashboard/catalog/products/" + id); s != http.StatusNotFound {
		t.Errorf("another organization's product: %d", s)
	}
}

// TestCatalogCustomersAndDiscounts: customers are listed and searched by
// email, a customer's page lists their sessions; coupons and codes are made
// on the discounts page, show their redemption counts, and deactivate.
func TestCatalogCustomersAndDiscounts(t *testing.T) {
	e := newEnv(t)
	ctx := e.as(e.orgA, false)
	people := adminv1.NewCustomerServiceClient(e.conn.Inline)
	ada, err := people.CreateCustomer(ctx, &adminv1.CreateCustomerRequest{Email: "ada@example.com", Name: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := people.CreateCustomer(ctx, &adminv1.CreateCustomerRequest{Email: "grace@example.com"}); err != nil {
		t.Fatal(err)
	}
	cs, err := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline).CreateCheckoutSession(ctx, &adminv1.CreateCheckoutSessionRequest{
		SiteId: e.siteA, CustomerId: ada.GetCustomer().GetId(), Amount: proto.Int64(1234), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	csrf := b.login(e.users["owner"])
	_, _, page := b.get("/dashboard/catalog/customers?email=ADA@example.com")
	contains(t, "the search", page, "ada@example.com", `id="row-`+ada.GetCustomer().GetId()+`"`)
	if strings.Contains(page, "grace@example.com") {
		t.Error("the search lists another customer")
	}
	_, _, page = b.get("/dashboard/catalog/customers/" + ada.GetCustomer().GetId())
	contains(t, "the customer's page", page, "Ada", cs.GetCheckoutSession().GetId())

	if s, _, _ := b.post("/dashboard/catalog/coupons", url.Values{"csrf_token": {csrf}, "percent_off": {"abc"}, "idempotency_key": {"c0"}}); s != http.StatusBadRequest {
		t.Errorf("a bad percentage: %d", s)
	}
	if s, _, _ := b.post("/dashboard/catalog/coupons", url.Values{"csrf_token": {csrf}, "name": {"Spring"}, "amount_off": {"5"}, "currency": {"EUR"},
		"duration": {"once"}, "max_redemptions": {"10"}, "idempotency_key": {"c1"}}); s != http.StatusSeeOther {
		t.Fatalf("create coupon: %d", s)
	}
	coupons, err := adminv1.NewCouponServiceClient(e.conn.Inline).ListCoupons(ctx, &adminv1.ListCouponsRequest{})
	if err != nil || len(coupons.GetData()) != 1 || coupons.GetData()[0].GetAmountOff() != 500 {
		t.Fatalf("coupons: %v %v", coupons, err)
	}
	coupon := coupons.GetData()[0].GetId()
	if s, _, _ := b.post("/dashboard/catalog/promotion-codes", url.Values{"csrf_token": {csrf}, "coupon": {coupon}, "code": {"SPRING5"},
		"idempotency_key": {"p1"}}); s != http.StatusSeeOther {
		t.Fatalf("create code: %d", s)
	}
	status, _, page := b.post("/dashboard/catalog/promotion-codes", url.Values{"csrf_token": {csrf}, "coupon": {coupon}, "code": {"SPRING5"},
		"idempotency_key": {"p2"}})
	if status != http.StatusBadRequest || !strings.Contains(page, `id="errors"`) {
		t.Errorf("the same code twice: %d", status)
	}
	_, _, page = b.get("/dashboard/catalog/discounts")
	contains(t, "the discounts page", page, "SPRING5", `id="redeemed-`+coupon+`">0 / 10<`, `id="create-coupon"`)
	codes, _ := adminv1.NewPromotionCodeServiceClient(e.conn.Inline).ListPromotionCodes(ctx, &adminv1.ListPromotionCodesRequest{})
	promo := codes.GetData()[0].GetId()
	if s, _, _ := b.post("/dashboard/catalog/promotion-codes/"+promo+"/deactivate", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", s)
	}
	if s, _, _ := b.post("/dashboard/catalog/coupons/"+coupon+"/delete", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Fatalf("delete coupon: %d", s)
	}
	_, _, page = b.get("/dashboard/catalog/discounts")
	if strings.Contains(page, `id="deactivate-`+promo+`"`) || strings.Contains(page, `id="delete-`+coupon+`"`) {
		t.Error("deactivated code or deleted coupon still offers it")
	}
	// Without the form's token nothing happens.
	if s, _, _ := b.post("/dashboard/catalog/coupons", url.Values{"percent_off": {"10"}, "idempotency_key": {"c9"}}); s != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", s)
	}
}
