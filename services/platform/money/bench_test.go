package money

import (
	"testing"

	"golang.org/x/text/language"
)

func BenchmarkFormat(b *testing.B) {
	eur, _ := ParseCurrency("EUR")
	for b.Loop() {
		Format(123456, eur, language.French)
	}
}
