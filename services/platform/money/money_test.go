package money

import (
	"strings"
	"testing"

	"golang.org/x/text/language"
)

func TestParseCurrencyExponents(t *testing.T) {
	// ISO 4217 minor units, also where CLDR shows other digits (IDR, IQD)
	// and for codes x/text does not know (VES, XCG, SLE, ZWG, MRU).
	for code, exp := range map[string]int{"EUR": 2, "usd": 2, "JPY": 0, "KWD": 3, "GHS": 2, "CLP": 0,
		"IDR": 2, "IQD": 3, "VES": 2, "XCG": 2, "SLE": 2, "ZWG": 2, "MRU": 2, "XOF": 0} {
		c, err := ParseCurrency(code)
		if err != nil {
			t.Fatalf("ParseCurrency(%q): %v", code, err)
		}
		if c.Exponent() != exp {
			t.Errorf("%s exponent = %d, want %d", code, c.Exponent(), exp)
		}
		if len(c.Code()) != 3 || c.Code() != upper(code) {
			t.Errorf("Code() = %q", c.Code())
		}
	}
	for _, bad := range []string{"", "EU", "EURO", "ZZZ", "12$"} {
		if _, err := ParseCurrency(bad); err == nil {
			t.Errorf("ParseCurrency(%q) accepted", bad)
		}
	}
}

// TestParseCurrencyRefusesUnpayable: codes that are ISO 4217 but that no
// payment can be made in — test, no-currency, metals, SDR and bond units,
// funds, withdrawn currencies — are refused with a message that says why.
func TestParseCurrencyRefusesUnpayable(t *testing.T) {
	for _, code := range []string{"XXX", "XTS", "xts", "XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD",
		"XSU", "XUA", "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW",
		"DEM", "FRF", "HRK", "SLL", "VEF", "ZWL", "MRO", "STD", "BYR", "ANG", "CUC", "BGN"} {
		_, err := ParseCurrency(code)
		if err == nil {
			t.Errorf("ParseCurrency(%q) accepted a currency nobody can pay in", code)
		}
	}
	_, err := ParseCurrency("XAU")
	if err == nil || !strings.Contains(err.Error(), "payments can be made in") {
		t.Errorf("ParseCurrency(XAU) error = %v, want it to say the code is not payable", err)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 32
		}
	}
	return string(b)
}

func TestTaxRounding(t *testing.T) {
	cases := []struct {
		amount, bps, excl int64
	}{
		{10000, 2000, 2000}, // 100.00 at 20 %: 20.00 on top
		{1, 2000, 0},        // 0.2 rounds down
		{3, 2000, 1},        // 0.6 rounds up
		{5, 1000, 1},        // 0.5: halves round up
		{999, 725, 72},      // 72.4275 rounds down
		{5000, 0, 0},
	}
	for _, c := range cases {
		if got := ExclusiveTax(c.amount, c.bps); got != c.excl {
			t.Errorf("ExclusiveTax(%d, %d) = %d, want %d", c.amount, c.bps, got, c.excl)
		}
	}
	// Inclusive tax is amount − round(amount / (1 + rate)): 100.00 at 20 %
	// holds 16.67; 120.00 holds exactly 20.00; 3 / 1.2 = 2.5 rounds to 3,
	// leaving no tax; 999 / 1.0725 = 931.47 → 931, leaving 68.
	for _, c := range []struct{ amount, bps, want int64 }{{10000, 2000, 1667}, {12000, 2000, 2000}, {3, 2000, 0}, {999, 725, 68}} {
		if got := InclusiveTax(c.amount, c.bps); got != c.want {
			t.Errorf("InclusiveTax(%d, %d) = %d, want %d", c.amount, c.bps, got, c.want)
		}
	}
}

// TestFormat: the symbol where the language's CLDR pattern puts it, its
// separators, the currency's symbol in that language, a letter symbol kept
// apart from the digits, and the code where x/text has no symbol of the
// currency's digits.
func TestFormat(t *testing.T) {
	for _, c := range []struct {
		amount int64
		code   string
		lang   language.Tag
		want   string
	}{
		{1350, "EUR", language.English, "€13.50"},
		{1350, "EUR", language.French, "13,50\u00a0€"},
		{1350, "EUR", language.Spanish, "13,50\u00a0€"},
		{1350, "EUR", language.Make("fr-CA"), "13,50\u00a0€"},
		{123456, "EUR", language.French, "1\u00a0234,56\u00a0€"},
		{123456, "USD", language.English, "$1,234.56"},
		{123456, "USD", language.French, "1\u00a0234,56\u00a0$US"},
		{1200, "CHF", language.English, "CHF\u00a012.00"},
		{1200, "CHF", language.French, "12,00\u00a0CHF"},
		{5000, "JPY", language.English, "¥5,000"},
		{1234, "KWD", language.English, "KWD\u00a01.234"},
		{123456, "IDR", language.English, "IDR\u00a01,234.56"},     // CLDR shows no decimals, ISO has two: the code
		{123456, "VES", language.French, "1\u00a0234,56\u00a0VES"}, // unknown to x/text
		{-398, "EUR", language.French, "-3,98\u00a0€"},
		{1350, "EUR", language.Japanese, "€\u00a013.50"}, // no pattern of its own: CLDR's root
	} {
		cur, err := ParseCurrency(c.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := Format(c.amount, cur, c.lang); got != c.want {
			t.Errorf("Format(%d %s, %s) = %q, want %q", c.amount, c.code, c.lang, got, c.want)
		}
	}
	for lang, want := range map[language.Tag]bool{language.English: true, language.Make("fr-BE"): true, language.Spanish: true, language.Japanese: false} {
		if got := HasPattern(lang); got != want {
			t.Errorf("HasPattern(%s) = %v, want %v", lang, got, want)
		}
	}
}
