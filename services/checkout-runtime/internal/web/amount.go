package web

import (
	"golang.org/x/text/language"

	"github.com/tillpoint/tillpoint/services/platform/money"
)

// formatAmount renders amount (minor units of the currency code) for lang by
// money.Format, the language's CLDR pattern ("€13.50" in English, "13,50 €"
// in French and Spanish), as the Admin Panel does; an unknown code is shown
// as itself.
func formatAmount(amount int64, code, lang string) string {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return code
	}
	return money.Format(amount, cur, language.Make(lang))
}
