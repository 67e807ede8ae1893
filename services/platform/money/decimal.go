package money

import (
	"errors"
	"fmt"
	"strings"
)

// ErrTooManyDecimals is returned by ParseDecimal for an amount with more
// decimals than its currency has (100.505 TRY): such an amount is refused,
// never rounded.
var ErrTooManyDecimals = errors.New("more decimals than the currency has")

// ParseDecimal converts a decimal amount in major units ("100.50", as a JSON
// number's literal text) into exact minor units of c, by c's ISO 4217
// exponent: "100.50" and "100.5" TRY are 10050, "100" JPY is 100. A digit
// beyond the exponent, even a zero ("100.505" or "100.500" TRY, "1.5" JPY),
// is ErrTooManyDecimals: nothing is ever rounded. Signs, exponents ("1e2")
// and amounts above MaxAmount are refused.
func ParseDecimal(s string, c Currency) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !digits(whole) || (strings.Contains(s, ".") && (frac == "" || !digits(frac))) {
		return 0, fmt.Errorf("%q is not a decimal amount such as 100.50", s)
	}
	if len(frac) > c.exponent {
		return 0, fmt.Errorf("%q: %w (%s has %d)", s, ErrTooManyDecimals, c.code, c.exponent)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 12 { // far above MaxAmount in any exponent; keeps the sum below in range
		return 0, fmt.Errorf("%q is larger than the maximum amount", s)
	}
	var minor int64
	for _, d := range whole + frac + strings.Repeat("0", c.exponent-len(frac)) {
		minor = minor*10 + int64(d-'0')
	}
	if minor > MaxAmount {
		return 0, fmt.Errorf("%q is larger than the maximum amount", s)
	}
	return minor, nil
}

// FormatDecimal renders minor units of c as a plain decimal in major units,
// with exactly c's exponent of decimals: 10050 TRY is "100.50", 100 JPY
// "100". It is ParseDecimal's inverse.
func FormatDecimal(minor int64, c Currency) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := fmt.Sprintf("%0*d", c.exponent+1, minor)
	if c.exponent == 0 {
		return sign + s
	}
	return sign + s[:len(s)-c.exponent] + "." + s[len(s)-c.exponent:]
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
