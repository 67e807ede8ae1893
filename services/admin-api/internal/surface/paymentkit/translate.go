package paymentkit

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	pkv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/surface/paymentkit/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// objectName is the `object` of a PaymentKit session.
const objectName = "checkout_session"

// SecurePagePath starts the hosted page's address for a secure token:
// {scheme}://{MAIN_FRONTEND_DOMAIN}/c/{secure_token}.
const SecurePagePath = "/c/"

// SecureURL is the hosted page a secure token opens.
func SecureURL(checkoutBase, token string) string { return checkoutBase + SecurePagePath + token }

// CreateRequest translates a PaymentKit create body into Tillpoint's request:
// return_url is the cancel URL (Tillpoint's own `return_url` is the success
// URL, seed 000), expires_in_hours carries over, line items name a catalog
// price (`price_id`) or give theirs inline, `customer_id` names a catalog
// customer, coupon_id and promotion_code apply a discount (docs/discounts.md),
// and the session gets a secure token. The parameters of features Tillpoint
// lacks are refused, each with a 400 naming it, rather than ignored. Everything else —
// amounts, URLs, expiry bounds — is validated by the service, once.
func CreateRequest(in *pkv1.CreatePaymentKitSessionParams) (*adminv1.CreateCheckoutSessionRequest, error) {
	out := &adminv1.CreateCheckoutSessionRequest{
		Amount: in.Amount, Currency: in.GetCurrency(), SuccessUrl: in.GetSuccessUrl(), CancelUrl: in.GetReturnUrl(),
		ExpiresInHours: in.ExpiresInHours, CustomerEmail: in.GetCustomerEmail(), Metadata: in.GetMetadata(),
		Description: in.GetDescription(), IssueSecureToken: true, CustomerId: in.GetCustomerId(),
		CouponId: in.GetCouponId(), PromotionCode: in.GetPromotionCode(),
	}
	// processor_route_id names a route (docs/routing.md); null is
	// PaymentKit's "the default route", as is leaving it out.
	if v := in.GetProcessorRouteId(); given(v) {
		id, ok := v.GetKind().(*structpb.Value_StringValue)
		if !ok || id.StringValue == "" {
			return nil, errs.Param("processor_route_id", "parameter_invalid", "processor_route_id is a route id (rt_…) or null.")
		}
		out.Route = id.StringValue
	}
	var err error
	if out.CustomFields, err = customFields(in.GetCustomFields(), "custom_fields"); err != nil {
		return nil, err
	}
	if out.ParamsForSub, err = paramsForSub(in.GetParamsForSub()); err != nil {
		return nil, err
	}
	c := &currencyOf{code: strings.TrimSpace(in.GetCurrency()), param: "currency"}
	if out.LineItems, err = c.lineItems(in.GetLineItems(), "line_items"); err != nil {
		return nil, err
	}
	tiers, err := cascade(in.GetCascadeLineItems())
	if err != nil {
		return nil, err
	}
	for i, t := range tiers {
		prefix := fmt.Sprintf("cascade_line_items[%d]", i)
		items, err := c.lineItems(t.GetLineItems(), prefix+"[line_items]")
		if err != nil {
			return nil, err
		}
		out.CascadeLineItems = append(out.CascadeLineItems, &adminv1.CascadeTierParams{LineItems: items, ProcessorRouteId: t.ProcessorRouteId})
	}
	out.Currency = c.code
	return out, nil
}

// currencyOf is the session's currency as the request gives it: the
// `currency` parameter or the first line item's, and the parameter that
// gave it.
type currencyOf struct{ code, param string }

// lineItems translates line items (named prefix[i][…]), checking that the
// currencies they give are the session's.
func (c *currencyOf) lineItems(items []*pkv1.PaymentKitLineItemParams, prefix string) ([]*adminv1.LineItemParams, error) {
	var out []*adminv1.LineItemParams
	for i, it := range items {
		p := func(field string) string { return fmt.Sprintf("%s[%d][%s]", prefix, i, field) }
		if it.PriceId == nil && it.UnitAmount == nil {
			return nil, errs.Param(p("unit_amount"), "parameter_missing",
				"Missing required param: %s (or price_id: a line item names a catalog price or gives its price inline).", p("unit_amount"))
		}
		if code := strings.TrimSpace(it.GetCurrency()); code != "" {
			if c.code != "" && !strings.EqualFold(code, c.code) {
				return nil, errs.Param(p("currency"), "parameter_invalid",
					"A session has one currency: %s is %s but %s is %s.", p("currency"), code, c.param, c.code)
			}
			if c.code == "" {
				c.code, c.param = code, p("currency")
			}
		}
		out = append(out, &adminv1.LineItemParams{Name: it.GetName(), Description: it.GetDescription(),
			UnitAmount: it.GetUnitAmount(), Quantity: it.GetQuantity(), ImageUrl: it.GetImageUrl(), PriceId: it.GetPriceId()})
	}
	return out, nil
}

// cascade decodes cascade_line_items, a list of {line_items,
// processor_route_id}, with the gateway's decoder (the same rules as a
// request body: unknown fields are refused, naming them).
func cascade(v *structpb.Value) ([]*pkv1.PaymentKitCascadeTier, error) {
	if !given(v) {
		return nil, nil
	}
	if v.GetListValue() == nil {
		return nil, errs.Param("cascade_line_items", "parameter_invalid", "cascade_line_items is a list of {line_items, processor_route_id}.")
	}
	raw, err := protojson.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out pkv1.PaymentKitCascade
	if err := gateway.DecodeBody(strings.NewReader(`{"tiers":`+string(raw)+`}`), &out); err != nil {
		e, ok := errs.As(err)
		if !ok {
			return nil, err
		}
		renamed := *e
		renamed.Param = strings.Replace(e.Param, "tiers", "cascade_line_items", 1)
		renamed.Message = strings.ReplaceAll(e.Message, "tiers", "cascade_line_items")
		return nil, &renamed
	}
	return out.GetTiers(), nil
}

// paramsForSub reads PaymentKit's `params_for_sub`: an object (or null)
// whose only parameter is `custom_fields` (seed 002: "currently supports
// custom_fields"); any other is refused by name.
func paramsForSub(v *structpb.Value) (*adminv1.ParamsForSubParams, error) {
	if !given(v) {
		return nil, nil
	}
	obj := v.GetStructValue()
	if obj == nil {
		return nil, errs.Param("params_for_sub", "parameter_invalid", "params_for_sub is an object.")
	}
	for _, k := range slices.Sorted(maps.Keys(obj.GetFields())) {
		if k != "custom_fields" {
			return nil, unsupported("params_for_sub["+k+"]", "subscription parameter "+k, "params_for_sub takes custom_fields.")
		}
	}
	fields, err := customFields(obj.GetFields()["custom_fields"], "params_for_sub[custom_fields]")
	return &adminv1.ParamsForSubParams{CustomFields: fields}, err
}

// customFields reads PaymentKit's `custom_fields`: an object (or null) whose
// values are strings, or whole numbers, taken as their decimal digits (a
// numeric field's value). The values are checked against the site's
// definitions by the service.
func customFields(v *structpb.Value, param string) (map[string]string, error) {
	if !given(v) {
		return nil, nil
	}
	obj := v.GetStructValue()
	if obj == nil {
		return nil, errs.Param(param, "parameter_invalid", "%s is an object of key → value.", param)
	}
	out := make(map[string]string, len(obj.GetFields()))
	for k, f := range obj.GetFields() {
		switch x := f.GetKind().(type) {
		case *structpb.Value_StringValue:
			out[k] = x.StringValue
		case *structpb.Value_NumberValue:
			if x.NumberValue < 0 || x.NumberValue != math.Trunc(x.NumberValue) || x.NumberValue > maxExactNumber {
				return nil, errs.Param(param+"["+k+"]", "parameter_invalid", "%s must be a whole number from 0 to %d, or a string.", param+"["+k+"]", int64(maxExactNumber))
			}
			out[k] = strconv.FormatInt(int64(x.NumberValue), 10)
		default:
			return nil, errs.Param(param+"["+k+"]", "parameter_invalid", "%s must be a string or a number.", param+"["+k+"]")
		}
	}
	return out, nil
}

// maxExactNumber is the largest whole number a JSON number (a double) holds
// exactly: 2^53.
const maxExactNumber = 1 << 53

// given reports whether a free-form parameter was sent with a value other
// than null.
func given(v *structpb.Value) bool {
	if v == nil {
		return false
	}
	_, null := v.GetKind().(*structpb.Value_NullValue)
	return !null
}

func unsupported(param, feature, hint string) error {
	msg := fmt.Sprintf("%s is not supported yet: Tillpoint has no %s.", param, feature)
	if hint != "" {
		msg += " " + hint
	}
	return &errs.Error{Kind: errs.Invalid, Code: "parameter_unsupported", Param: param, Message: msg}
}

// Session translates a Tillpoint session into PaymentKit's object.
// accountID is the organization (the route's {account_id}); token, when the
// answer is the creation's, is the session's secure token, shown with the
// page it opens. Amounts stay integers in minor units.
func Session(cs *adminv1.CheckoutSession, accountID, token, checkoutBase string) *pkv1.PaymentKitSession {
	out := &pkv1.PaymentKitSession{
		Id: cs.GetId(), Object: objectName, AccountId: accountID, Status: cs.GetStatus(), PaymentStatus: cs.GetPaymentStatus(),
		Currency: cs.GetCurrency(), AmountSubtotal: cs.GetAmountSubtotal(), AmountTax: cs.GetAmountTax(),
		AmountTotal: cs.GetAmountTotal(), CustomerEmail: cs.CustomerEmail, SuccessUrl: cs.GetSuccessUrl(),
		ReturnUrl: cs.GetCancelUrl(), Metadata: cs.GetMetadata(), Description: cs.Description, PaymentId: cs.Payment,
		Reference: cs.GetReference(), Livemode: cs.GetLivemode(), ExpiresAt: cs.GetExpiresAt(), CreatedAt: cs.GetCreatedAt(),
		CompletedAt: cs.GetCompletedAt(), CustomFields: cs.GetCustomFields(),
	}
	if c := cs.GetCustomer(); ids.IsNew(c, "cus") {
		// A catalog customer; a merchant's own reference (a session made
		// through another API) is not a PaymentKit customer id.
		out.CustomerId = &c
	}
	if token != "" {
		u := SecureURL(checkoutBase, token)
		out.SecureToken, out.Url = &token, &u
	}
	for _, it := range cs.GetLineItems() {
		out.LineItems = append(out.LineItems, &pkv1.PaymentKitLineItem{Quantity: it.GetQuantity(), Name: it.GetName(),
			Description: it.Description, UnitAmount: it.GetUnitAmount(), Currency: cs.GetCurrency(), AmountTotal: it.GetAmountTotal(),
			PriceId: it.PriceId})
	}
	return out
}

// coreParams are the service's parameter names that this surface calls
// otherwise; any other parameter has the same name on both.
var coreParams = map[string]string{"cancel_url": "return_url", "route": "processor_route_id"}

// surfaceError renames the parameter of an error from the service to this
// surface's name for it, in its message too.
func surfaceError(err error) error {
	e, ok := errs.As(grpcx.DomainError(err))
	if !ok || e.Kind == errs.Internal {
		return err // as it is: an internal error's status holds its logged id
	}
	name, ok := coreParams[e.Param]
	if !ok {
		return err
	}
	renamed := *e
	// The cause (the service's status) would name the service's parameter.
	renamed.Param, renamed.Message, renamed.Err = name, strings.ReplaceAll(e.Message, e.Param, name), nil
	return &renamed
}
