package money

import (
	"strings"
	"unicode"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// Amounts for people follow the language's CLDR currency pattern: where the
// symbol goes ("€13.50" in English, "13,50 €" in French and Spanish), the
// digits' separators and the currency's symbol in that language (x/text's
// CLDR data: "$US" in French). x/text formats the number and names the
// symbol, but it has no currency patterns: its currency formatter always
// puts the symbol first ("€ 13,50" in French). So the placement is data
// here, CLDR's standard currency pattern of each language reduced to where
// "¤" (the symbol) stands beside "#" (the number). Every screen that shows
// amounts (the hosted page, the Admin Panel, the dev tool) formats them with
// Format, so they agree.

// patterns are the languages' placements, by base language, from CLDR's
// numbers.xml (currencyFormats, standard): en "¤#,##0.00", fr and es
// "#,##0.00 ¤". A language the product's screens speak must be here (their
// catalog tests check it with HasPattern).
var patterns = map[string]string{
	"en": "¤#",
	"es": "#\u00a0¤",
	"fr": "#\u00a0¤",
}

// rootPattern is CLDR's root currency pattern ("¤ #,##0.00"), for a
// language without its own in patterns.
const rootPattern = "¤\u00a0#"

// HasPattern reports whether Format lays amounts out by lang's own CLDR
// pattern; any other language gets CLDR's root one ("€ 13.50").
func HasPattern(lang language.Tag) bool {
	_, ok := patterns[baseOf(lang)]
	return ok
}

// Format renders amount (in minor units of c) for people in lang:
// "€1,234.56" in English, "1 234,56 €" in French (no-break spaces), "$US"
// for dollars in French, the ISO code where x/text has no symbol of c's
// digits ("IDR 1,234.56"). A negative amount starts with "-".
func Format(amount int64, c Currency, lang language.Tag) string {
	p := message.NewPrinter(lang)
	neg := amount < 0
	if neg {
		amount = -amount
	}
	major := float64(amount)
	for range c.exponent {
		major /= 10
	}
	// Exact to the exponent's digits for every amount ≤ MaxAmount, well
	// inside float64's 53 bits.
	digits := p.Sprint(number.Decimal(major, number.Scale(c.exponent)))
	symbol := c.code
	if c.unit != nil {
		symbol = p.Sprint(currency.Symbol(*c.unit))
	}
	pattern, ok := patterns[baseOf(lang)]
	if !ok {
		pattern = rootPattern
	}
	s := placeSymbol(pattern, symbol, digits)
	if neg {
		s = "-" + s
	}
	return s
}

// baseOf is lang's base language ("fr" for fr-CA).
func baseOf(lang language.Tag) string {
	base, _ := lang.Base()
	return base.String()
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
