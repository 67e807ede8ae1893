package web

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// ibanCandidate finds what may be an IBAN in a site's free-text bank details:
// a country code, two check digits, then letters and digits, in groups or
// not. findIBAN then keeps the longest run of its groups that passes the
// ISO 13616 check, so that a word after the number ("… 189 BIC") is not
// taken for part of it.
var ibanCandidate = regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{1,4}){3,9}\b`)

// findIBAN returns the first valid IBAN in text, grouped by four as printed
// on statements ("FR76 3000 6000 0112 3456 7890 189"), or "".
func findIBAN(text string) string {
	for _, m := range ibanCandidate.FindAllString(strings.ToUpper(text), -1) {
		groups := strings.Fields(m)
		for n := len(groups); n > 0; n-- {
			compact := strings.Join(groups[:n], "")
			if validIBAN(compact) {
				return groupByFour(compact)
			}
		}
	}
	return ""
}

// validIBAN checks an IBAN's length (15 – 34) and its mod-97 check digits.
func validIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	var digits strings.Builder
	for _, r := range s[4:] + s[:4] {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			digits.WriteString(strconv.Itoa(int(r - 'A' + 10)))
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

func groupByFour(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
