package paystack

import (
	"fmt"
	"slices"
	"strings"
)

// Network is one mobile-money operator Paystack charges, by its code in
// Paystack's mobile_money.provider.
type Network struct {
	Code string // Paystack's code: "mtn", "vod", "atl", "mpesa"
	Name string // the name payers know
}

// wallets are the mobile-money markets Paystack serves that we offer: per
// currency, the country's calling code, the national number's length and
// its mobile prefixes, and the operators. Ghana's numbers are 0 + 9 digits
// (mobile ranges 2x and 5x); Kenya's 0 + 9 digits (7xx and 1xx).
var wallets = map[string]struct {
	callingCode string
	digits      int
	prefixes    []string
	networks    []Network
}{
	"GHS": {"233", 9, []string{"2", "5"}, []Network{{"mtn", "MTN"}, {"vod", "Telecel (Vodafone)"}, {"atl", "AirtelTigo"}}},
	"KES": {"254", 9, []string{"7", "1"}, []Network{{"mpesa", "M-Pesa"}}},
}

// Networks lists the operators offered for currency (upper-case ISO 4217),
// or nil where Paystack's mobile money is not offered.
func Networks(currency string) []Network {
	return slices.Clone(wallets[currency].networks)
}

// Supports reports whether mobile money is offered for currency.
func Supports(currency string) bool { _, ok := wallets[currency]; return ok }

// Field error codes of ParseWallet, for the page's messages (English and
// French in checkout-runtime's i18n).
const (
	CodePhoneRequired   = "phone_required"
	CodePhoneInvalid    = "phone_invalid"
	CodeNetworkRequired = "network_required"
	CodeNetworkInvalid  = "network_invalid"
	CodeCurrency        = "currency_not_supported"
)

// FieldError is a payer's input error on one form field.
type FieldError struct {
	Param   string // "phone" or "network" (or "currency")
	Code    string // one of the Code… constants
	Message string // English; the page translates by Code
}

func (e *FieldError) Error() string { return e.Param + ": " + e.Message }

// ParseWallet validates what the payer typed for a payment in currency:
// network must be one of Networks(currency), and phone a mobile number of
// the currency's country, written nationally ("055 123 4987"), or
// internationally ("+233 55 123 4987", "00233…", "233…"). Spaces, dots,
// dashes and parentheses are ignored. It returns the number in E.164.
func ParseWallet(currency, phone, network string) (e164 string, err *FieldError) {
	w, ok := wallets[currency]
	if !ok {
		return "", &FieldError{"currency", CodeCurrency, fmt.Sprintf("Mobile money is not available for %s.", currency)}
	}
	switch {
	case network == "":
		return "", &FieldError{"network", CodeNetworkRequired, "Choose your mobile-money network."}
	case !slices.ContainsFunc(w.networks, func(n Network) bool { return n.Code == network }):
		return "", &FieldError{"network", CodeNetworkInvalid, "Choose one of the networks listed."}
	}
	digits := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" .-()\u00a0", r) {
			return -1
		}
		return r
	}, strings.TrimSpace(phone))
	if digits == "" {
		return "", &FieldError{"phone", CodePhoneRequired, "Enter your mobile-money phone number."}
	}
	national, ok := nationalNumber(digits, w.callingCode)
	invalid := &FieldError{"phone", CodePhoneInvalid,
		fmt.Sprintf("Enter a mobile number of %d digits after 0, or in +%s format.", w.digits, w.callingCode)}
	if !ok || len(national) != w.digits || strings.Trim(national, "0123456789") != "" ||
		!slices.ContainsFunc(w.prefixes, func(p string) bool { return strings.HasPrefix(national, p) }) {
		return "", invalid
	}
	return "+" + w.callingCode + national, nil
}

// nationalNumber strips the trunk 0 or the international prefix (+, 00, or
// the bare calling code) from a number; ok is false for another country's.
func nationalNumber(n, callingCode string) (string, bool) {
	switch {
	case strings.HasPrefix(n, "+"):
		rest, ok := strings.CutPrefix(n[1:], callingCode)
		return rest, ok
	case strings.HasPrefix(n, "00"):
		rest, ok := strings.CutPrefix(n[2:], callingCode)
		return rest, ok
	case strings.HasPrefix(n, "0"):
		return n[1:], true
	case strings.HasPrefix(n, callingCode) && len(n) > len(callingCode)+6:
		return n[len(callingCode):], true
	}
	return n, true
}

// paystackPhone is the number as Paystack's mobile-money examples write it:
// Ghana's nationally ("0551234987"), Kenya's in E.164 ("+254710000000").
func paystackPhone(currency, e164 string) string {
	if currency == "GHS" {
		return "0" + strings.TrimPrefix(e164, "+233")
	}
	return e164
}
