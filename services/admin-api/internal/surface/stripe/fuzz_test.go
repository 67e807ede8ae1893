package stripe

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// FuzzCreateRequest feeds arbitrary form bodies through the translation:
// it may not panic, every refusal is an Invalid error naming a parameter,
// and what it accepts is a payment with line items in one currency and a
// Stripe parameter for each core parameter the core could refuse.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		base, base + "&expand[]=line_items&payment_method_types[0]=card&metadata[a]=b&expires_at=1900000000",
		base + "&line_items[1][quantity]=1", "mode=subscription", "line_items[0=1", "a[b]c=1", "metadata[]=x", "%zz",
		base + "&line_items[2][price_data][product_data][images][]=x", "line_items[999][quantity]=1&mode=payment", "=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		vals, err := url.ParseQuery(body)
		if err != nil {
			return // the handler refuses it before the translation
		}
		fm, err := parseForm(vals)
		var c create
		if err == nil {
			c, err = createRequest(fm)
		}
		if err != nil {
			e, ok := errs.As(err)
			_, nameless := vals[""]
			if !ok || e.Kind != errs.Invalid || (e.Param == "" && !nameless) || e.Message == "" {
				t.Fatalf("refusal %#v is not a 400 naming a parameter", err)
			}
			return
		}
		if len(c.req.GetLineItems()) == 0 || c.req.GetCurrency() == "" {
			t.Fatalf("accepted %q without line items or currency: %v", body, c.req)
		}
		for i := range c.req.GetLineItems() {
			at := "line_items[" + strconv.Itoa(i) + "]"
			if p := stripeParam(at+"[unit_amount]", c.currencyParam); p != at+"[price_data][unit_amount]" {
				t.Fatalf("core param %s[unit_amount] maps to %s", at, p)
			}
		}
	})
}
