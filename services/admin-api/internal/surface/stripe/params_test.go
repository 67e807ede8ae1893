package stripe

import (
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/stripecompat"
)

// base is the smallest valid Stripe creation body.
const base = "mode=payment&line_items[0][price_data][currency]=eur&line_items[0][price_data][unit_amount]=450" +
	"&line_items[0][price_data][product_data][name]=Tea&line_items[0][quantity]=3"

func decodeCreate(t *testing.T, body string) (create, error) {
	t.Helper()
	vals, err := url.ParseQuery(body)
	if err != nil {
		t.Fatalf("bad test body %q: %v", body, err)
	}
	f, err := parseForm(vals)
	if err != nil {
		return create{}, err
	}
	return createRequest(f)
}

// TestCreateTranslation: Stripe's parameters → the core's request.
func TestCreateTranslation(t *testing.T) {
	tea := &adminv1.LineItemParams{Name: "Tea", UnitAmount: 450, Quantity: 3}
	for _, tc := range []struct {
		name, body string
		want       *adminv1.CreateCheckoutSessionRequest
		expand     bool
		currency   string
	}{
		{"minimal", base, &adminv1.CreateCheckoutSessionRequest{Currency: "EUR", LineItems: []*adminv1.LineItemParams{tea}}, false, "line_items[0][price_data][currency]"},
		{"everything", base + "&success_url=https://shop.example/ok?s={CHECKOUT_SESSION_ID}&cancel_url=https://shop.example/cart" +
			"&customer_email=ada@example.com&client_reference_id=cart_9&metadata[order]=1234&metadata[channel]=web" +
			"&expires_at=1900000000&payment_method_types[0]=card&payment_method_types[1]=bank_transfer&locale=fr&expand[0]=line_items" +
			"&line_items[1][price_data][currency]=EUR&line_items[1][price_data][unit_amount]=1299" +
			"&line_items[1][price_data][product_data][name]=Cup&line_items[1][price_data][product_data][description]=Blue" +
			"&line_items[1][price_data][product_data][images][0]=https://shop.example/cup.png&line_items[1][quantity]=1",
			&adminv1.CreateCheckoutSessionRequest{
				Currency: "EUR", SuccessUrl: "https://shop.example/ok?s={CHECKOUT_SESSION_ID}", CancelUrl: "https://shop.example/cart",
				CustomerEmail: "ada@example.com", ClientReferenceId: "cart_9", Metadata: map[string]string{"order": "1234", "channel": "web"},
				ExpiresAt: &timestamppb.Timestamp{Seconds: 1_900_000_000}, PaymentMethodTypes: []string{"card", "bank_transfer"}, Locale: "fr",
				LineItems: []*adminv1.LineItemParams{tea, {Name: "Cup", Description: "Blue", UnitAmount: 1299, Quantity: 1, ImageUrl: "https://shop.example/cup.png"}},
			}, true, "line_items[0][price_data][currency]"},
		// Node's qs and curl users write lists as x[]=a&x[]=b.
		{"empty brackets", base + "&payment_method_types[]=card&expand[]=line_items",
			&adminv1.CreateCheckoutSessionRequest{Currency: "EUR", LineItems: []*adminv1.LineItemParams{tea}, PaymentMethodTypes: []string{"card"}}, true, "line_items[0][price_data][currency]"},
		{"top-level currency", base + "&currency=eur", &adminv1.CreateCheckoutSessionRequest{Currency: "EUR", LineItems: []*adminv1.LineItemParams{tea}}, false, "currency"},
		{"a trial", base + "&subscription_data[trial_period_days]=14", &adminv1.CreateCheckoutSessionRequest{Currency: "EUR",
			LineItems: []*adminv1.LineItemParams{tea}, SubscriptionData: &adminv1.SubscriptionDataParams{TrialPeriodDays: proto.Int32(14)}}, false,
			"line_items[0][price_data][currency]"},
		{"catalog price, customer and adjustable quantity",
			"mode=payment&customer=cus_9&line_items[0][price]=price_123&line_items[0][quantity]=2" +
				"&line_items[0][adjustable_quantity][enabled]=true&line_items[0][adjustable_quantity][maximum]=5" +
				"&line_items[1][price_data][currency]=eur&line_items[1][price_data][unit_amount]=450" +
				"&line_items[1][price_data][product_data][name]=Tea&line_items[1][quantity]=3",
			&adminv1.CreateCheckoutSessionRequest{Currency: "EUR", CustomerId: "cus_9", LineItems: []*adminv1.LineItemParams{
				{Price: "price_123", Quantity: 2, AdjustableQuantity: &adminv1.AdjustableQuantity{Enabled: true, Maximum: proto.Int64(5)}}, tea}},
			false, "line_items[1][price_data][currency]"},
		{"discounts", base + "&discounts[0][coupon]=SPRING",
			&adminv1.CreateCheckoutSessionRequest{Currency: "EUR", LineItems: []*adminv1.LineItemParams{tea},
				Discounts: []*adminv1.DiscountParams{{Coupon: "SPRING"}}}, false, "line_items[0][price_data][currency]"},
		{"promotion code by id", base + "&discounts[][promotion_code]=promo_123",
			&adminv1.CreateCheckoutSessionRequest{Currency: "EUR", LineItems: []*adminv1.LineItemParams{tea},
				Discounts: []*adminv1.DiscountParams{{PromotionCode: "promo_123"}}}, false, "line_items[0][price_data][currency]"},
		{"allow_promotion_codes", base + "&allow_promotion_codes=true",
			&adminv1.CreateCheckoutSessionRequest{Currency: "EUR", LineItems: []*adminv1.LineItemParams{tea}, AllowPromotionCodes: true}, false, "line_items[0][price_data][currency]"},
		{"metadata emptied", base + "&metadata=", &adminv1.CreateCheckoutSessionRequest{Currency: "EUR", LineItems: []*adminv1.LineItemParams{tea}}, false, "line_items[0][price_data][currency]"},
		{"subscription", "mode=subscription&customer_creation=always&line_items[0][price]=price_monthly&line_items[0][quantity]=1",
			&adminv1.CreateCheckoutSessionRequest{Mode: "subscription", CustomerCreation: "always",
				LineItems: []*adminv1.LineItemParams{{Price: "price_monthly", Quantity: 1}}}, false, "line_items[0][price_data][currency]"},
	} {
		if tc.want.Mode == "" {
			tc.want.Mode = "payment" // the bodies above say mode=payment
		}
		c, err := decodeCreate(t, tc.body)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !proto.Equal(c.req, tc.want) || c.expand != tc.expand || c.currencyParam != tc.currency {
			t.Errorf("%s:\n got %v expand=%v currency=%s\nwant %v expand=%v currency=%s", tc.name, c.req, c.expand, c.currencyParam, tc.want, tc.expand, tc.currency)
		}
	}
}

// TestCreateRefusals: what Tillpoint cannot honour is a 400 naming the
// parameter, never dropped.
func TestCreateRefusals(t *testing.T) {
	for _, tc := range []struct{ body, param, code string }{
		{"line_items[0][price_data][currency]=eur&line_items[0][price_data][unit_amount]=1&line_items[0][price_data][product_data][name]=A&line_items[0][quantity]=1", "mode", codeMissing},
		{base[len("mode=payment&"):] + "&mode=setup", "mode", codeUnsupported},
		{"mode=payment", "line_items", codeMissing},
		{base + "&line_items[0][price_data][recurring][interval]=month", "line_items[0][price_data][recurring][interval]", codeUnsupported},
		{base + "&line_items[0][price_data][unit_amount_decimal]=4.5", "line_items[0][price_data][unit_amount_decimal]", codeUnsupported},
		{base + "&line_items[0][price_data][product_data][metadata][sku]=1", "line_items[0][price_data][product_data][metadata][sku]", codeUnsupported},
		{base + "&line_items[0][bogus]=1", "line_items[0][bogus]", codeUnknown},
		{"mode=payment&line_items[0][price]=price_123&line_items[0][price_data][currency]=eur&line_items[0][quantity]=1", "line_items[0][price_data]", codeInvalid},
		{"mode=payment&line_items[0][price]=price_123", "line_items[0][quantity]", codeMissing},
		{base + "&line_items[0][adjustable_quantity][enabled]=yes", "line_items[0][adjustable_quantity][enabled]", codeInvalid},
		{base + "&line_items[0][adjustable_quantity][maximum]=lots", "line_items[0][adjustable_quantity][maximum]", codeInvalidInteger},
		{base + "&line_items[0][adjustable_quantity][step]=2", "line_items[0][adjustable_quantity][step]", codeUnknown},
		{base + "&discounts[0][amount]=1", "discounts[0][amount]", codeUnknown},
		{base + "&discounts[x][coupon]=A", "discounts[x][coupon]", codeInvalid},
		{base + "&allow_promotion_codes=maybe", "allow_promotion_codes", codeInvalid},
		{base + "&ui_mode=embedded", "ui_mode", codeUnsupported},
		{base + "&subscription_data[trial_period_days]=two", "subscription_data[trial_period_days]", codeInvalidInteger},
		{base + "&subscription_data[trial_end]=1900000000", "subscription_data[trial_end]", codeUnsupported},
		{base + "&subscription_data=1", "subscription_data", codeUnsupported},
		{base + "&frobnicate=1", "frobnicate", codeUnknown},
		{base + "&success_url[x]=1", "success_url[x]", codeUnknown},
		{base + "&expires_at=tomorrow", "expires_at", codeInvalidInteger},
		{base + "&expand[0]=payment_intent", "expand[0]", codeUnsupported},
		{base + "&payment_method_types[1]=card", "payment_method_types[0]", codeMissing},
		{base + "&line_items[2][quantity]=1", "line_items[1]", codeMissing},
		{base + "&line_items[1][quantity]=1", "line_items[1][price_data][currency]", codeMissing},
		{base + "&line_items[1][price_data][currency]=usd&line_items[1][price_data][unit_amount]=1&line_items[1][price_data][product_data][name]=B&line_items[1][quantity]=1",
			"line_items[1][price_data][currency]", codeInvalid},
		{"mode=payment&line_items[0][price_data][currency]=eur&line_items[0][price_data][product_data][name]=Tea&line_items[0][quantity]=3", "line_items[0][price_data][unit_amount]", codeMissing},
		{"mode=payment&line_items[0][price_data][currency]=eur&line_items[0][price_data][unit_amount]=1&line_items[0][quantity]=3", "line_items[0][price_data][product_data][name]", codeMissing},
		{"mode=payment&line_items[0][price_data][currency]=eur&line_items[0][price_data][unit_amount]=1&line_items[0][price_data][product_data][name]=A", "line_items[0][quantity]", codeMissing},
		{base + "&line_items[0][quantity]=2", "line_items[0][quantity]", codeInvalid},
		{strings.Replace(base, "[unit_amount]=450", "[unit_amount]=4.50", 1), "line_items[0][price_data][unit_amount]", codeInvalidInteger},
		{base + "&line_items[x][quantity]=1", "line_items[x][quantity]", codeInvalid},
		{base + "&line_items[99999][quantity]=1", "line_items[99999][quantity]", codeInvalid},
		{base + "&line_items[0][price_data][product_data][images][0]=a&line_items[0][price_data][product_data][images][1]=b",
			"line_items[0][price_data][product_data][images][1]", codeUnsupported},
		{base + "&metadata[]=x", "metadata[]", codeInvalid},
		{base + "&line_items[0=1", "line_items[0", codeInvalid},
	} {
		_, err := decodeCreate(t, tc.body)
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.Invalid || e.Param != tc.param || e.Code != tc.code {
			t.Errorf("%s:\n got %v\nwant param %s code %s", tc.body, err, tc.param, tc.code)
		}
	}
}

// TestErrorParams: the core's parameter names → Stripe's (the inverse of
// the create translation).
func TestErrorParams(t *testing.T) {
	const lineCurrency = "line_items[0][price_data][currency]"
	for _, tc := range []struct{ core, currency, want string }{
		{"line_items[0][name]", lineCurrency, "line_items[0][price_data][product_data][name]"},
		{"line_items[3][description]", lineCurrency, "line_items[3][price_data][product_data][description]"},
		{"line_items[1][image_url]", lineCurrency, "line_items[1][price_data][product_data][images][0]"},
		{"line_items[12][unit_amount]", lineCurrency, "line_items[12][price_data][unit_amount]"},
		{"line_items[0][quantity]", lineCurrency, "line_items[0][quantity]"},
		{"currency", lineCurrency, lineCurrency},
		{"currency", "currency", "currency"},
		{"amount", lineCurrency, "line_items"},
		{"line_items", lineCurrency, "line_items"},
		{"success_url", lineCurrency, "success_url"},
		{"expires_at", lineCurrency, "expires_at"},
		{"metadata[k]", lineCurrency, "metadata[k]"},
		{"client_reference_id", lineCurrency, "client_reference_id"},
		{"payment_method_types", lineCurrency, "payment_method_types"},
	} {
		if got := stripeParam(tc.core, tc.currency); got != tc.want {
			t.Errorf("stripeParam(%s) = %s, want %s", tc.core, got, tc.want)
		}
	}
}

// TestListTranslation: Stripe's list parameters → the core's.
func TestListTranslation(t *testing.T) {
	for _, tc := range []struct {
		query  string
		want   *adminv1.ListCheckoutSessionsRequest
		expand bool
	}{
		{"", &adminv1.ListCheckoutSessionsRequest{}, false},
		{"limit=3&starting_after=cs_1", &adminv1.ListCheckoutSessionsRequest{Limit: proto.Int32(3), StartingAfter: "cs_1"}, false},
		{"ending_before=cs_2&status=complete&payment_intent=pay_1&expand[0]=data.line_items",
			&adminv1.ListCheckoutSessionsRequest{EndingBefore: "cs_2", Status: "complete", Payment: "pay_1"}, true},
		{"created[gte]=100&created[lt]=200", &adminv1.ListCheckoutSessionsRequest{Created: &adminv1.TimeRange{
			Gte: &timestamppb.Timestamp{Seconds: 100}, Lt: &timestamppb.Timestamp{Seconds: 200}}}, false},
		{"created=100", &adminv1.ListCheckoutSessionsRequest{Created: &adminv1.TimeRange{
			Gte: &timestamppb.Timestamp{Seconds: 100}, Lt: &timestamppb.Timestamp{Seconds: 101}}}, false},
	} {
		vals, _ := url.ParseQuery(tc.query)
		f, err := parseForm(vals)
		if err != nil {
			t.Fatal(err)
		}
		got, expand, err := listRequest(f)
		if err != nil || !proto.Equal(got, tc.want) || expand != tc.expand {
			t.Errorf("%q: got %v %v %v, want %v %v", tc.query, got, expand, err, tc.want, tc.expand)
		}
	}
	for query, param := range map[string]string{
		"limit=x": "limit", "customer=cus_1": "customer", "customer_details[email]=a@b.c": "customer_details[email]",
		"created[since]=1": "created[since]", "created=yesterday": "created", "expand[0]=line_items": "expand[0]", "bogus=1": "bogus",
	} {
		vals, _ := url.ParseQuery(query)
		f, _ := parseForm(vals)
		if _, _, err := listRequest(f); paramOf(err) != param {
			t.Errorf("%q: %v, want an error about %s", query, err, param)
		}
	}
}

// paramOf is the parameter an *errs.Error names ("" for none).
func paramOf(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Param
	}
	return ""
}

// TestLineItemPages: the line item list pages as Stripe's lists do.
func TestLineItemPages(t *testing.T) {
	var all []*stripecompat.LineItem
	for _, id := range []string{"li_a", "li_b", "li_c", "li_d", "li_e"} {
		all = append(all, &stripecompat.LineItem{ID: id})
	}
	for _, tc := range []struct {
		query string
		want  string
		more  bool
		param string
	}{
		{"", "li_a li_b li_c li_d li_e", false, ""},
		{"limit=2", "li_a li_b", true, ""},
		{"limit=2&starting_after=li_b", "li_c li_d", true, ""},
		{"limit=2&starting_after=li_d", "li_e", false, ""},
		{"limit=2&ending_before=li_e", "li_c li_d", true, ""},
		{"limit=2&ending_before=li_b", "li_a", false, ""},
		{"starting_after=li_x", "", false, "starting_after"},
		{"limit=0", "", false, "limit"},
		{"limit=2&starting_after=li_a&ending_before=li_e", "", false, "ending_before"},
		{"expand[0]=data", "", false, "expand[0]"},
	} {
		vals, _ := url.ParseQuery(tc.query)
		f, _ := parseForm(vals)
		pg, err := lineItemPageOf(f)
		var page []*stripecompat.LineItem
		var more bool
		if err == nil {
			page, more, err = pg.apply(all)
		}
		var ids []string
		for _, it := range page {
			ids = append(ids, it.ID)
		}
		if got := strings.Join(ids, " "); got != tc.want || more != tc.more || paramOf(err) != tc.param {
			t.Errorf("%q: %q more=%v err=%v; want %q more=%v about %q", tc.query, got, more, err, tc.want, tc.more, tc.param)
		}
	}
}
