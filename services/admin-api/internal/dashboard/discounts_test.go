package dashboard_test

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// TestCheckoutShowsItsDiscount: a discounted session's page lists its lines
// before the discount and a discount row naming the coupon, so that the
// table adds up (subtotal − discount + tax = total).
func TestCheckoutShowsItsDiscount(t *testing.T) {
	e := newEnv(t)
	ctx := e.as(e.orgA, false)
	c, err := adminv1.NewCouponServiceClient(e.conn.Inline).CreateCoupon(ctx, &adminv1.CreateCouponRequest{Id: "SPRING", PercentOff: proto.Float64(20)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline).CreateCheckoutSession(ctx, &adminv1.CreateCheckoutSessionRequest{
		SiteId: e.siteA, CouponId: c.GetCoupon().GetId(),
		LineItems: []*adminv1.LineItemParams{{Name: "Tea", UnitAmount: 450, Quantity: 3}, {Name: "Cup", UnitAmount: 1299, Quantity: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login(e.users["support"])
	status, _, page := b.get("/dashboard/checkouts/" + resp.GetCheckoutSession().GetId())
	// 20 % of 1350 and 1299: 270 + 260 (259.8) = 530 off 2649.
	// (The amounts are matched without the currency sign's spacing.)
	for _, want := range []string{`<td class="num">3</td><td class="num">€`, `13.50</td>`, `12.99</td>`, `<tr id="discount">`, `SPRING`,
		`<td class="num">−€`, `5.30</td>`, `21.19</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if status != http.StatusOK || t.Failed() {
		i := strings.Index(page, `id="items"`)
		t.Fatalf("%d %s", status, page[max(i, 0):min(len(page), max(i, 0)+2500)])
	}
}
