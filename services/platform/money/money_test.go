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

func TestFormat(t *testing.T) {
	eur, _ := ParseCurrency("EUR")
	jpy, _ := ParseCurrency("JPY")
	kwd, _ := ParseCurrency("KWD")
	idr, _ := ParseCurrency("IDR") // CLDR shows no decimals; ISO has two
	ves, _ := ParseCurrency("VES") // unknown to x/text
	for _, c := range []struct {
		amount int64
		cur    Currency
		lang   language.Tag
		want   string
	}{
		{5000, eur, language.English, "€ 50.00"},
		{123456, eur, language.French, "€ 1\u00a0234,56"},
		{5000, jpy, language.English, "¥ 5,000"},
		{1234, kwd, language.English, "KWD 1.234"},
		{123456, idr, language.English, "IDR 1,234.56"},
		{123456, ves, language.French, "VES 1\u00a0234,56"},
	} {
		if got := Format(c.amount, c.cur, c.lang); got != c.want {
			t.Errorf("Format(%d %s, %s) = %q, want %q", c.amount, c.cur.Code(), c.lang, got, c.want)
		}
	}
}
