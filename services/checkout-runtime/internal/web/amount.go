package web

import (
	"strings"
	"unicode"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Amounts on the page follow the language's CLDR currency pattern: where
// the symbol goes ("€13.50" in English, "13,50 €" in French, Spanish and
// German), the digits' separators and the currency's symbol in that
// language (x/text's CLDR data: "$US" in French). x/text formats the number
// and names the symbol but always puts the symbol first; the placement is
// the "money.pattern" message of each catalog, CLDR's pattern reduced to
// where "¤" (the symbol) stands beside "#" (the number).

// formatAmount renders amount (minor units of the currency code) for lang;
// an unknown code is shown as itself.
func formatAmount(amount int64, code, lang string) string {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return code
	}
	tag := language.Make(lang)
	p := message.NewPrinter(tag)
	neg := amount < 0
	if neg {
		amount = -amount
	}
	major := float64(amount)
	for range cur.Exponent() {
		major /= 10
	}
	// Exact to the exponent's digits for every amount ≤ MaxAmount, well
	// inside float64's 53 bits.
	digits := p.Sprint(number.Decimal(major, number.Scale(cur.Exponent())))
	s := placeSymbol(newTranslator(lang).T("money.pattern"), currencySymbol(p, cur), digits)
	if neg {
		s = "-" + s
	}
	return s
}

// currencySymbol is the currency's symbol in the printer's language, or its
// ISO code where x/text does not know it or rounds it to other digits than
// ISO's minor unit (it shows IDR without decimals).
func currencySymbol(p *message.Printer, cur money.Currency) string {
	u, err := currency.ParseISO(cur.Code())
	if err != nil {
		return cur.Code()
	}
	if scale, _ := currency.Standard.Rounding(u); scale != cur.Exponent() {
		return cur.Code()
	}
	return p.Sprint(currency.Symbol(u))
}

// placeSymbol lays symbol and digits out by pattern ("¤#" or "#\u00a0¤").
// As CLDR's currency spacing asks, a symbol whose letter touches the digits
// is kept apart from them by a no-break space: "CHF\u00a012.00", not
// "CHF12.00".
func placeSymbol(pattern, symbol, digits string) string {
	r := []rune(symbol)
	if len(r) == 0 {
		return digits
	}
	sym := symbol
	if strings.Contains(pattern, "¤#") && unicode.IsLetter(r[len(r)-1]) {
		sym += "\u00a0"
	} else if strings.Contains(pattern, "#¤") && unicode.IsLetter(r[0]) {
		sym = "\u00a0" + sym
	}
	return strings.NewReplacer("¤", sym, "#", digits).Replace(pattern)
}
