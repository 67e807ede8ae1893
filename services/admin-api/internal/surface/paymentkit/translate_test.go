package paymentkit

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	pkv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/surface/paymentkit/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// decode reads a body as the handler does.
func decode(t *testing.T, body string) *pkv1.CreatePaymentKitSessionParams {
	t.Helper()
	var in pkv1.CreatePaymentKitSessionParams
	if err := gateway.DecodeBody(strings.NewReader(body), &in); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return &in
}

func TestCreateRequestTranslates(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       *adminv1.CreateCheckoutSessionRequest
	}{
		{"return_url is the cancel URL",
			`{"amount":5000,"currency":"GHS","success_url":"https://shop.example/ok","return_url":"https://shop.example/cancel"}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(5000), Currency: "GHS", SuccessUrl: "https://shop.example/ok",
				CancelUrl: "https://shop.example/cancel", IssueSecureToken: true}},
		{"inline line items, expiry in hours, extensions",
			`{"line_items":[{"name":"Tea","unit_amount":450,"quantity":3,"description":"Green"},{"name":"Cup","unit_amount":1299,"quantity":1,"image_url":"https://shop.example/cup.png"}],` +
				`"currency":"EUR","expires_in_hours":48,"customer_email":"ada@example.com","metadata":{"order":"7"},"description":"Order 7"}`,
			&adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{
				{Name: "Tea", UnitAmount: 450, Quantity: 3, Description: "Green"},
				{Name: "Cup", UnitAmount: 1299, Quantity: 1, ImageUrl: "https://shop.example/cup.png"}},
				Currency: "EUR", ExpiresInHours: proto.Int64(48), CustomerEmail: "ada@example.com",
				Metadata: map[string]string{"order": "7"}, Description: "Order 7", IssueSecureToken: true}},
		{"the line items' currency is the session's",
			`{"line_items":[{"name":"Tea","unit_amount":450,"quantity":1,"currency":"eur"},{"name":"Cup","unit_amount":1,"quantity":1,"currency":"EUR"}]}`,
			&adminv1.CreateCheckoutSessionRequest{LineItems: []*adminv1.LineItemParams{
				{Name: "Tea", UnitAmount: 450, Quantity: 1}, {Name: "Cup", UnitAmount: 1, Quantity: 1}},
				Currency: "eur", IssueSecureToken: true}},
		{"catalog prices and customer (seed 002)",
			`{"customer_id":"cus_abc123","line_items":[{"price_id":"price_xyz","quantity":2},{"name":"Wrap","unit_amount":250,"quantity":1}],` +
				`"success_url":"https://yoursite.com/success","return_url":"https://yoursite.com/cancel"}`,
			&adminv1.CreateCheckoutSessionRequest{CustomerId: "cus_abc123", LineItems: []*adminv1.LineItemParams{
				{PriceId: "price_xyz", Quantity: 2}, {Name: "Wrap", UnitAmount: 250, Quantity: 1}},
				SuccessUrl: "https://yoursite.com/success", CancelUrl: "https://yoursite.com/cancel", IssueSecureToken: true}},
		{"a null processor route is the default route",
			`{"amount":100,"processor_route_id":null}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(100), IssueSecureToken: true}},
		{"seed 002's coupon and promotion code",
			`{"amount":100,"coupon_id":"coupon_dev_abc123"}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(100), CouponId: "coupon_dev_abc123", IssueSecureToken: true}},
		{"seed 002's promotion code is the code customers type",
			`{"amount":100,"promotion_code":"SAVE20"}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(100), PromotionCode: "SAVE20", IssueSecureToken: true}},
		{"seed 002's custom fields; numbers as their digits",
			`{"amount":100,"custom_fields":{"order_id":"order_12345","campaign":"halloween_sale","seats":12}}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(100), IssueSecureToken: true,
				CustomFields: map[string]string{"order_id": "order_12345", "campaign": "halloween_sale", "seats": "12"}}},
		{"seed 002's cascade tiers, each with its route or none",
			`{"line_items":[{"price_id":"price_premium","quantity":1}],"cascade_line_items":[` +
				`{"line_items":[{"price_id":"price_standard","quantity":1}],"processor_route_id":null},` +
				`{"line_items":[{"price_id":"price_basic","quantity":1}],"processor_route_id":"proute_dev_fallback"}]}`,
			&adminv1.CreateCheckoutSessionRequest{IssueSecureToken: true, LineItems: []*adminv1.LineItemParams{{PriceId: "price_premium", Quantity: 1}},
				CascadeLineItems: []*adminv1.CascadeTierParams{
					{LineItems: []*adminv1.LineItemParams{{PriceId: "price_standard", Quantity: 1}}},
					{LineItems: []*adminv1.LineItemParams{{PriceId: "price_basic", Quantity: 1}}, ProcessorRouteId: proto.String("proute_dev_fallback")}}}},
		{"nothing: the service names what is missing", `{}`, &adminv1.CreateCheckoutSessionRequest{IssueSecureToken: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CreateRequest(decode(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestCreateRequestProcessorRoute: a named route carries over; the service
// checks that it exists (404 across organizations and modes).
func TestCreateRequestProcessorRoute(t *testing.T) {
	got, err := CreateRequest(decode(t, `{"amount":1,"processor_route_id":"rt_abc"}`))
	if err != nil || got.GetRoute() != "rt_abc" {
		t.Fatalf("route %q, %v", got.GetRoute(), err)
	}
}

func TestCreateRequestRefuses(t *testing.T) {
	for _, tc := range []struct {
		body, param, code string
	}{
		{`{"custom_fields":"order_12345","amount":1}`, "custom_fields", "parameter_invalid"},
		{`{"custom_fields":{"n":1.5},"amount":1}`, "custom_fields[n]", "parameter_invalid"},
		{`{"custom_fields":{"n":-1},"amount":1}`, "custom_fields[n]", "parameter_invalid"},
		{`{"custom_fields":{"n":{"a":"b"}},"amount":1}`, "custom_fields[n]", "parameter_invalid"},
		{`{"params_for_sub":{"trial_period_days":7},"amount":1}`, "params_for_sub[trial_period_days]", "parameter_unsupported"},
		{`{"params_for_sub":"tier","amount":1}`, "params_for_sub", "parameter_invalid"},
		{`{"params_for_sub":{"custom_fields":{"seats":1.5}},"amount":1}`, "params_for_sub[custom_fields][seats]", "parameter_invalid"},
		{`{"processor_route_id":5,"amount":1}`, "processor_route_id", "parameter_invalid"},
		{`{"processor_route_id":"","amount":1}`, "processor_route_id", "parameter_invalid"},
		{`{"cascade_line_items":{"line_items":[]},"amount":1}`, "cascade_line_items", "parameter_invalid"},
		{`{"cascade_line_items":[{"line_items":[{"name":"Tea","quantity":1}]}],"amount":1}`, "cascade_line_items[0][line_items][0][unit_amount]", "parameter_missing"},
		{`{"currency":"EUR","cascade_line_items":[{"line_items":[{"name":"Tea","unit_amount":1,"quantity":1,"currency":"USD"}]}],"amount":1}`, "cascade_line_items[0][line_items][0][currency]", "parameter_invalid"},
		{`{"line_items":[{"name":"Tea","quantity":1}]}`, "line_items[0][unit_amount]", "parameter_missing"},
		{`{"currency":"EUR","line_items":[{"name":"Tea","unit_amount":1,"quantity":1,"currency":"GBP"}]}`, "line_items[0][currency]", "parameter_invalid"},
		{`{"line_items":[{"name":"Tea","unit_amount":1,"quantity":1,"currency":"EUR"},{"name":"Cup","unit_amount":1,"quantity":1,"currency":"USD"}]}`, "line_items[1][currency]", "parameter_invalid"},
	} {
		_, err := CreateRequest(decode(t, tc.body))
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.Invalid || e.Param != tc.param || e.Code != tc.code || !strings.Contains(e.Message, tc.param) {
			t.Errorf("CreateRequest(%s) = %v, want a 400 %s naming %s", tc.body, err, tc.code, tc.param)
		}
	}
}

// TestDecodeRefusesUnknownAndMistyped: the surface's bodies go through the
// API's own decoder, so its errors name PaymentKit's parameters.
func TestDecodeRefusesUnknownAndMistyped(t *testing.T) {
	for _, tc := range []struct{ body, param string }{
		{`{"cancel_url":"https://shop.example/cart"}`, "cancel_url"},
		{`{"expires_in_hours":"48"}`, "expires_in_hours"},
		{`{"line_items":[{"price_id":"price_xyz","quantity":"1"}]}`, "line_items[0][quantity]"},
		{`{"line_items":[{"name":"Tea","unit_amount":1.5,"quantity":1}]}`, "line_items[0][unit_amount]"},
	} {
		var in pkv1.CreatePaymentKitSessionParams
		e, ok := errs.As(gateway.DecodeBody(strings.NewReader(tc.body), &in))
		if !ok || e.Kind != errs.Invalid || e.Param != tc.param {
			t.Errorf("decode %s = %v, want a 400 naming %s", tc.body, e, tc.param)
		}
	}
}

func TestSessionTranslates(t *testing.T) {
	created, expires := timestamppb.New(mustTime(t, "2026-11-30T08:00:00Z")), timestamppb.New(mustTime(t, "2026-12-02T08:00:00Z"))
	core := &adminv1.CheckoutSession{
		Id: "cs_1", Object: "checkout.session", SiteId: "site_1", Status: "complete", PaymentStatus: "paid",
		Url: "https://secure.test/checkout/cs_1", AmountSubtotal: 2649, AmountTax: 0, AmountTotal: 2649, Amount: 2649, Currency: "EUR",
		LineItems: []*adminv1.LineItem{{Name: "Tea", Description: proto.String("Green"), UnitAmount: 450, Quantity: 3, AmountTotal: 1350},
			{Name: "Cup", UnitAmount: 1299, Quantity: 1, AmountTotal: 1299}},
		CustomerEmail: proto.String("ada@example.com"), SuccessUrl: "https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}",
		CancelUrl: "https://shop.example/cancel", Metadata: map[string]string{"order": "7"}, Reference: "TP-AAAA-BBBB",
		Payment: proto.String("pay_1"), ExpiresAt: expires, CreatedAt: created, CompletedAt: created, Locale: "auto",
	}
	base := &pkv1.PaymentKitSession{
		Id: "cs_1", Object: "checkout_session", AccountId: "org_1", Status: "complete", PaymentStatus: "paid", Currency: "EUR",
		AmountSubtotal: 2649, AmountTotal: 2649,
		LineItems: []*pkv1.PaymentKitLineItem{{Quantity: 3, Name: "Tea", Description: proto.String("Green"), UnitAmount: 450, Currency: "EUR", AmountTotal: 1350},
			{Quantity: 1, Name: "Cup", UnitAmount: 1299, Currency: "EUR", AmountTotal: 1299}},
		CustomerEmail: proto.String("ada@example.com"), SuccessUrl: "https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}",
		ReturnUrl: "https://shop.example/cancel", Metadata: map[string]string{"order": "7"}, PaymentId: proto.String("pay_1"),
		Reference: "TP-AAAA-BBBB", ExpiresAt: expires, CreatedAt: created, CompletedAt: created,
	}
	withToken := proto.Clone(base).(*pkv1.PaymentKitSession)
	withToken.SecureToken, withToken.Url = proto.String("cst_x"), proto.String("https://secure.test/c/cst_x")
	for _, tc := range []struct {
		name, token string
		want        *pkv1.PaymentKitSession
	}{
		{"retrieved: no token", "", base},
		{"created: the token and its page", "cst_x", withToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Session(core, "org_1", tc.token, "https://secure.test"); !proto.Equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestErrorsUseTheSurfaceNames: an error of the service about cancel_url is
// about return_url here; others keep their names, and internal errors their
// status (with its logged id).
func TestErrorsUseTheSurfaceNames(t *testing.T) {
	for _, tc := range []struct {
		in                 *errs.Error
		wantParam, wantMsg string
	}{
		{errs.Param("cancel_url", "url_invalid", "Not a valid absolute URL: \"x\"."), "return_url", "Not a valid absolute URL: \"x\"."},
		{errs.Param("cancel_url", "parameter_missing", "Missing required param: cancel_url (the site has no default)."), "return_url",
			"Missing required param: return_url (the site has no default)."},
		{errs.Param("success_url", "url_invalid", "Live mode needs https URLs."), "success_url", "Live mode needs https URLs."},
		{errs.Param("line_items[0][quantity]", "parameter_invalid", "quantity must be from 1 to 10000."), "line_items[0][quantity]", ""},
	} {
		// As it comes back from the in-process connection: a status.
		got, ok := errs.As(grpcx.DomainError(surfaceError(grpcx.ErrorStatus(tc.in).Err())))
		if !ok || got.Param != tc.wantParam || got.Code != tc.in.Code || (tc.wantMsg != "" && got.Message != tc.wantMsg) {
			t.Errorf("surfaceError(%v) = %+v, want param %s, message %q", tc.in, got, tc.wantParam, tc.wantMsg)
		}
	}
	internal := status.Error(codes.Internal, "An internal error occurred (error id err_1).")
	if got := surfaceError(internal); got != internal {
		t.Errorf("surfaceError(internal) = %v, want it unchanged", got)
	}
}

func mustTime(t *testing.T, s string) (tm time.Time) {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestSessionCustomerID: customer_id is the session's catalog customer; a
// merchant's own reference (given through another API) is not one.
func TestSessionCustomerID(t *testing.T) {
	catalog := ids.New("cus")
	for customer, want := range map[string]*string{catalog: &catalog, "cus_1": nil, "c_42": nil, "": nil} {
		cs := &adminv1.CheckoutSession{Id: "cs_1"}
		if customer != "" {
			cs.Customer = &customer
		}
		if got := Session(cs, "org_1", "", "https://secure.test").CustomerId; (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("customer %q: customer_id %v", customer, got)
		}
	}
}
