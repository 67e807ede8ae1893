package stripe

import "regexp"

// coreLineParam matches a core error's parameter inside a line item.
var coreLineParam = regexp.MustCompile(`^line_items\[(\d+)\]\[(name|description|image_url|unit_amount|quantity)\]$`)

// stripeParam names, in Stripe's parameters, the parameter a core error is
// about: the inverse of createRequest's translation. Names that are the same
// on both sides pass through. currency is the parameter the session's
// currency came from (a line item's price_data[currency], or currency).
func stripeParam(core, currency string) string {
	if m := coreLineParam.FindStringSubmatch(core); m != nil {
		at := "line_items[" + m[1] + "]"
		switch m[2] {
		case "name", "description":
			return at + "[price_data][product_data][" + m[2] + "]"
		case "image_url":
			return at + "[price_data][product_data][images][0]"
		case "unit_amount":
			return at + "[price_data][unit_amount]"
		}
		return at + "[quantity]"
	}
	switch core {
	case "currency":
		return currency
	case "amount": // the core's "amount or line_items"
		return "line_items"
	case "customer_id":
		return "customer"
	}
	return core
}
