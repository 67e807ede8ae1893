package money

import (
	"fmt"
	"strings"
)

// ParseDecimal converts a decimal number of major units ("10", "10.5",
// "10.50") to minor units of c, exactly: the digits are read as text, never
// through a float. A value with more decimals than c's exponent is refused,
// never rounded ("1.001" USD, "1.5" JPY); so are signs, exponents, empty
// parts ("1.", ".5") and amounts above MaxAmount.
func ParseDecimal(s string, c Currency) (int64, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%q is not a plain decimal number", s)
	}
	if len(frac) > c.exponent {
		return 0, fmt.Errorf("%s has at most %d decimals; %q has %d", c.code, c.exponent, s, len(frac))
	}
	whole = strings.TrimLeft(whole, "0")
	minor := whole + frac + strings.Repeat("0", c.exponent-len(frac))
	minor = strings.TrimLeft(minor, "0")
	if len(minor) > len(fmt.Sprint(MaxAmount)) {
		return 0, fmt.Errorf("%q is more than the largest amount", s)
	}
	var n int64
	for _, d := range minor {
		n = n*10 + int64(d-'0')
	}
	if n > MaxAmount {
		return 0, fmt.Errorf("%q is more than the largest amount", s)
	}
	return n, nil
}

// FormatDecimal renders minor units of c as a decimal number of major units
// with all of c's decimals ("10.50" USD, "1000" JPY, "1.234" KWD): the
// inverse of ParseDecimal.
func FormatDecimal(amount int64, c Currency) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	s := fmt.Sprint(amount)
	if c.exponent == 0 {
		return sign + s
	}
	if len(s) <= c.exponent {
		s = strings.Repeat("0", c.exponent-len(s)+1) + s
	}
	return sign + s[:len(s)-c.exponent] + "." + s[len(s)-c.exponent:]
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
