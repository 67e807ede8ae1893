// Package fee holds the rules of fee schedules: what the gateway keeps of a
// payment (its processing fee) and what the merchant receives (the net
// amount). No I/O.
//
// Rounding rule: the percentage part is percent_bps basis points of the
// amount, rounded half up to the minor unit (money.Rate, as taxes); the fixed
// part is added; the fee is never more than the amount, so the net amount is
// never negative.
package fee

import (
	"fmt"
	"slices"
	"strings"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Limits of a schedule.
const (
	// MaxRules bounds a schedule: a rule per method and currency is far
	// fewer for any real merchant.
	MaxRules   = 100
	maxBps     = 10_000 // 100 %
	maxFixed   = money.MaxAmount
	anyValue   = "" // a rule's method or currency that matches all
	paramRules = "rules"
)

// Rule is one line of a schedule. An empty Method or Currency matches every
// method or currency.
type Rule struct {
	Method      string
	Currency    string
	PercentBps  int64
	FixedAmount int64 // minor units of Currency
}

// Fee is the rule's fee on amount (minor units, ≥ 0), by the package's
// rounding rule.
func (r Rule) Fee(amount int64) int64 {
	return min(money.Rate(amount, r.PercentBps)+r.FixedAmount, amount)
}

// specificity ranks a matching rule: method and currency beat method alone,
// which beats currency alone, which beats the default.
func (r Rule) specificity() int {
	n := 0
	if r.Method != anyValue {
		n += 2
	}
	if r.Currency != anyValue {
		n++
	}
	return n
}

func (r Rule) matches(method, currency string) bool {
	return (r.Method == anyValue || r.Method == method) && (r.Currency == anyValue || r.Currency == currency)
}

// Select returns the most specific rule of rules for a payment by method in
// currency (upper case); false when none matches (no fee).
func Select(rules []Rule, method, currency string) (Rule, bool) {
	best, found := Rule{}, false
	for _, r := range rules {
		if r.matches(method, currency) && (!found || r.specificity() > best.specificity()) {
			best, found = r, true
		}
	}
	return best, found
}

// Compute is the processing fee and the net amount of a payment of amount
// by method in currency under rules; no matching rule means no fee.
func Compute(rules []Rule, method, currency string, amount int64) (fee, net int64) {
	if r, ok := Select(rules, method, currency); ok {
		fee = r.Fee(amount)
	}
	return fee, amount - fee
}

// Validate checks a whole schedule against methods (the methods the page
// can offer) and normalises currencies to upper case. Errors name the
// parameter, e.g. rules[2].percent_bps.
func Validate(rules []Rule, methods []string) error {
	if len(rules) > MaxRules {
		return errs.Param(paramRules, "parameter_invalid", "A fee schedule has at most %d rules.", MaxRules)
	}
	seen := map[[2]string]bool{}
	for i := range rules {
		r := &rules[i]
		param := func(field string) string { return fmt.Sprintf("%s[%d].%s", paramRules, i, field) }
		if r.Method != anyValue && !slices.Contains(methods, r.Method) {
			return errs.Param(param("payment_method"), "parameter_invalid", "payment_method must be one of %s, or absent for every method.",
				strings.Join(methods, ", "))
		}
		if r.Currency != anyValue {
			c, err := money.ParseCurrency(r.Currency)
			if err != nil {
				return errs.Param(param("currency"), "parameter_invalid", "%s.", err)
			}
			r.Currency = c.Code()
		}
		if r.PercentBps < 0 || r.PercentBps > maxBps {
			return errs.Param(param("percent_bps"), "parameter_invalid", "percent_bps must be 0 to %d (100 %%).", maxBps)
		}
		if r.FixedAmount < 0 || r.FixedAmount > maxFixed {
			return errs.Param(param("fixed_amount"), "parameter_invalid", "fixed_amount must be 0 to %d minor units.", maxFixed)
		}
		if r.FixedAmount != 0 && r.Currency == anyValue {
			return errs.Param(param("fixed_amount"), "parameter_invalid",
				"A rule for every currency cannot have a fixed_amount: minor units differ between currencies. Give the currency.")
		}
		key := [2]string{r.Method, r.Currency}
		if seen[key] {
			return errs.Param(param("currency"), "parameter_invalid", "Two rules for the same payment_method and currency.")
		}
		seen[key] = true
	}
	return nil
}

// FromProto is the API's rules as the package's.
func FromProto(in []*adminv1.FeeRule) []Rule {
	out := make([]Rule, len(in))
	for i, r := range in {
		out[i] = Rule{Method: r.GetPaymentMethod(), Currency: r.GetCurrency(), PercentBps: r.GetPercentBps(), FixedAmount: r.GetFixedAmount()}
	}
	return out
}

// Proto is r as the API shows it (absent method or currency: every one).
func (r Rule) Proto() *adminv1.FeeRule {
	out := &adminv1.FeeRule{PercentBps: r.PercentBps, FixedAmount: r.FixedAmount}
	if r.Method != anyValue {
		out.PaymentMethod = &r.Method
	}
	if r.Currency != anyValue {
		out.Currency = &r.Currency
	}
	return out
}
