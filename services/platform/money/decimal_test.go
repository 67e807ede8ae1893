package money

import "testing"

func TestDecimalBothWays(t *testing.T) {
	usd, jpy, kwd := mustCurrency(t, "USD"), mustCurrency(t, "JPY"), mustCurrency(t, "KWD")
	for _, tc := range []struct {
		in    string
		c     Currency
		minor int64
		out   string // FormatDecimal(minor)
	}{
		{"1", usd, 100, "1.00"},
		{"10.5", usd, 1050, "10.50"},
		{"10.50", usd, 1050, "10.50"},
		{"0.01", usd, 1, "0.01"},
		{"0.1", usd, 10, "0.10"},
		{"007.25", usd, 725, "7.25"},
		{"999999999.99", usd, 99_999_999_999, "999999999.99"},
		{"1500", jpy, 1500, "1500"},
		{"1.234", kwd, 1234, "1.234"},
		{"0.005", kwd, 5, "0.005"},
	} {
		got, err := ParseDecimal(tc.in, tc.c)
		if err != nil || got != tc.minor {
			t.Errorf("ParseDecimal(%q, %s) = %d, %v; want %d", tc.in, tc.c.Code(), got, err, tc.minor)
		}
		if s := FormatDecimal(tc.minor, tc.c); s != tc.out {
			t.Errorf("FormatDecimal(%d, %s) = %q, want %q", tc.minor, tc.c.Code(), s, tc.out)
		}
		if back, err := ParseDecimal(FormatDecimal(tc.minor, tc.c), tc.c); err != nil || back != tc.minor {
			t.Errorf("round trip of %d %s: %d, %v", tc.minor, tc.c.Code(), back, err)
		}
	}
}

func TestParseDecimalRefuses(t *testing.T) {
	usd, jpy := mustCurrency(t, "USD"), mustCurrency(t, "JPY")
	for _, tc := range []struct {
		in string
		c  Currency
	}{
		{"1.001", usd}, // more decimals than USD has: never rounded
		{"1.5", jpy},
		{"", usd}, {".5", usd}, {"1.", usd}, {"-1", usd}, {"+1", usd}, {"1e2", usd},
		{"1,50", usd}, {" 1", usd}, {"0x10", usd}, {"1.2.3", usd},
		{"1000000000.00", usd}, // above MaxAmount
		{"99999999999999999999999", usd},
	} {
		if got, err := ParseDecimal(tc.in, tc.c); err == nil {
			t.Errorf("ParseDecimal(%q, %s) = %d, want an error", tc.in, tc.c.Code(), got)
		}
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1", "10.50", "1.001", "0.00", "999999999.99"} {
		f.Add(s)
	}
	usd := Currency{code: "USD", exponent: 2}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseDecimal(s, usd)
		if err != nil {
			return
		}
		if n < 0 || n > MaxAmount {
			t.Fatalf("ParseDecimal(%q) = %d out of range", s, n)
		}
		if back, err := ParseDecimal(FormatDecimal(n, usd), usd); err != nil || back != n {
			t.Fatalf("round trip of %q: %d → %d, %v", s, n, back, err)
		}
	})
}

func mustCurrency(t *testing.T, code string) Currency {
	t.Helper()
	c, err := ParseCurrency(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
