// Package routing chooses which provider accounts a payment is tried on, in
// which order, and whether a failed attempt may go on to the next (cascade).
// Hyperswitch is the model: a route is a priority list of provider accounts
// or a weighted volume split, refined by rules (currency, amount, billing
// country); a site has a default route per payment method. The package holds
// no I/O: admin-api validates and stores routes, the runtime selects one at
// payment time and runs the attempts, with a per-account circuit breaker.
package routing

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/country"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Route types.
const (
	// TypePriority tries the accounts in the order listed.
	TypePriority = "priority"
	// TypeVolumeSplit sends each payment first to one account picked by
	// weight (a share of 100), then cascades over the others in list order.
	TypeVolumeSplit = "volume_split"
)

// The payment methods routes serve.
const (
	MethodCard        = "card"
	MethodDirectDebit = "direct_debit"
	MethodMobileMoney = "mobile_money"
)

// Methods lists them, in the order the API's messages name them.
var Methods = []string{MethodCard, MethodDirectDebit, MethodMobileMoney}

// PayerApproved reports whether a method's payments are approved by the
// payer at the provider (GoCardless's authorisation page, the prompt or
// code of Paystack's mobile money): such a payment never cascades, since a
// second account would ask the payer to approve it again, or charge twice
// if the first approval comes late. A route of such a method chooses one
// account (a volume split shares payments between accounts) and a priority
// route of it has exactly one.
func PayerApproved(method string) bool {
	return method == MethodDirectDebit || method == MethodMobileMoney
}

// MaxTargets bounds a route's accounts: each one can cost the payer a
// provider round trip on a cascade, so a long list only adds waiting.
const MaxTargets = 10

// TotalWeight is what a volume split's weights sum to: a percentage.
const TotalWeight = 100

// Target is one provider account of a route.
type Target struct {
	AccountID string // pa_…
	Provider  string // the account's provider ("test", "stripe", …)
	Weight    int32  // volume splits only: 1–100, the route's summing to 100
}

// Rules narrow the payments a route applies to; an empty rule matches all.
type Rules struct {
	Currencies       []string // ISO 4217 (Normalize: upper case)
	AmountMin        *int64   // minor units, inclusive
	AmountMax        *int64   // minor units, inclusive
	BillingCountries []string // ISO 3166-1 alpha-2 (Normalize: upper case)
}

// Route is one way of sending a site's payments of a method.
type Route struct {
	ID      string // rt_…
	Type    string // TypePriority or TypeVolumeSplit
	Method  string // one of Methods
	Default bool   // the site's route for the method when no other applies
	Targets []Target
	Rules   Rules
}

// Facts are what the rules look at: known when the payer submits.
type Facts struct {
	Currency       string
	Amount         int64 // minor units, the total the payer pays
	BillingCountry string
}

// Normalize upper-cases the rules' codes, as they are stored and matched.
func (r *Rules) Normalize() {
	for i, c := range r.Currencies {
		r.Currencies[i] = strings.ToUpper(c)
	}
	for i, c := range r.BillingCountries {
		r.BillingCountries[i] = strings.ToUpper(c)
	}
}

// Match reports whether the rules admit a payment with these facts.
func (r Rules) Match(f Facts) bool {
	switch {
	case len(r.Currencies) > 0 && !slices.Contains(r.Currencies, strings.ToUpper(f.Currency)):
		return false
	case r.AmountMin != nil && f.Amount < *r.AmountMin:
		return false
	case r.AmountMax != nil && f.Amount > *r.AmountMax:
		return false
	case len(r.BillingCountries) > 0 && !slices.Contains(r.BillingCountries, strings.ToUpper(f.BillingCountry)):
		return false
	}
	return true
}

// Choose picks the route for a payment among a site's routes for its method
// (in the order the site created them): the session's named route when its
// rules admit the payment, else the first non-default route whose rules do,
// else the default route (its rules applying too). ok is false when none
// applies: the caller keeps its behaviour without routes.
func Choose(routes []Route, named string, f Facts) (Route, bool) {
	if named != "" {
		for _, r := range routes {
			if r.ID == named && r.Rules.Match(f) {
				return r, true
			}
		}
	}
	for _, r := range routes {
		if !r.Default && r.Rules.Match(f) {
			return r, true
		}
	}
	for _, r := range routes {
		if r.Default && r.Rules.Match(f) {
			return r, true
		}
	}
	return Route{}, false
}

// Order lists the accounts a payment is tried on, first to last. A priority
// route keeps its order. A volume split puts first the account whose weight
// band holds the payment's bucket (Bucket(seed)), then the others in list
// order: the same seed (the payment id) always gives the same order, and over
// many payments each account leads in its weight's share of them.
func Order(r Route, seed string) []Target {
	out := slices.Clone(r.Targets)
	if r.Type != TypeVolumeSplit || len(out) < 2 {
		return out
	}
	b, acc := Bucket(seed), int32(0)
	for i, t := range out {
		acc += t.Weight
		if b < acc {
			lead := out[i]
			copy(out[1:i+1], out[:i])
			out[0] = lead
			break
		}
	}
	return out
}

// Bucket maps seed to 0–99, uniformly: the first 8 bytes of its SHA-256
// modulo 100 (the bias of a 64-bit modulo 100 is below 1e-17).
func Bucket(seed string) int32 {
	sum := sha256.Sum256([]byte(seed))
	return int32(binary.BigEndian.Uint64(sum[:8]) % TotalWeight)
}

// Validate checks a route before it is stored; errors name the parameter
// in the API's style (accounts[1][weight], rules[amount_min], …). The
// accounts' existence, mode and provider are the caller's to check.
func Validate(r Route) error {
	switch {
	case r.Method == "":
		return errs.Missing("payment_method")
	case !slices.Contains(Methods, r.Method):
		return errs.Param("payment_method", "parameter_invalid", "Routes serve the payment methods %s.", strings.Join(Methods, ", "))
	case r.Type == "":
		return errs.Missing("type")
	case r.Type != TypePriority && r.Type != TypeVolumeSplit:
		return errs.Param("type", "parameter_invalid", "type is priority or volume_split.")
	case len(r.Targets) == 0:
		return errs.Missing("accounts")
	case len(r.Targets) > MaxTargets:
		return errs.Param("accounts", "parameter_invalid", "A route has at most %d accounts.", MaxTargets)
	case PayerApproved(r.Method) && r.Type == TypePriority && len(r.Targets) > 1:
		return errs.Param("accounts", "parameter_invalid",
			"A %s payment is approved by the payer at the provider and never cascades to another account: a priority route of it has one account (a volume_split shares payments between accounts).", r.Method)
	}
	sum := int32(0)
	seen := map[string]bool{}
	for i, t := range r.Targets {
		p := fmt.Sprintf("accounts[%d]", i)
		switch {
		case t.AccountID == "":
			return errs.Missing(p + "[provider_account]")
		case seen[t.AccountID]:
			return errs.Param(p+"[provider_account]", "parameter_invalid", "Account %s is listed twice.", t.AccountID)
		case r.Type == TypePriority && t.Weight != 0:
			return errs.Param(p+"[weight]", "parameter_invalid", "A priority route's accounts have no weight; their order is the priority.")
		case r.Type == TypeVolumeSplit && (t.Weight < 1 || t.Weight > TotalWeight):
			return errs.Param(p+"[weight]", "parameter_invalid", "Each weight of a volume split is 1–%d.", TotalWeight)
		}
		seen[t.AccountID] = true
		sum += t.Weight
	}
	if r.Type == TypeVolumeSplit && sum != TotalWeight {
		return errs.Param("accounts", "parameter_invalid", "The weights of a volume split sum to %d, not %d.", TotalWeight, sum)
	}
	return validateRules(r.Rules)
}

// validateRules checks the rules' codes and amount range.
func validateRules(r Rules) error {
	for i, c := range r.Currencies {
		if _, err := money.ParseCurrency(c); err != nil {
			return errs.Param(fmt.Sprintf("rules[currencies][%d]", i), "parameter_invalid", "Not an ISO 4217 currency code payments can be made in: %q.", c)
		}
	}
	for i, c := range r.BillingCountries {
		if _, ok := country.Parse(c); !ok {
			return errs.Param(fmt.Sprintf("rules[billing_countries][%d]", i), "parameter_invalid", "Not an ISO 3166-1 alpha-2 country code: %q.", c)
		}
	}
	for _, a := range []struct {
		param string
		v     *int64
	}{{"rules[amount_min]", r.AmountMin}, {"rules[amount_max]", r.AmountMax}} {
		if a.v != nil && (*a.v < 0 || *a.v > money.MaxAmount) {
			return errs.Param(a.param, "parameter_invalid", "An amount in minor units, 0–%d.", money.MaxAmount)
		}
	}
	if r.AmountMin != nil && r.AmountMax != nil && *r.AmountMin > *r.AmountMax {
		return errs.Param("rules[amount_max]", "parameter_invalid", "amount_max is below amount_min.")
	}
	return nil
}
