package money

import (
	"errors"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	try, jpy, kwd := mustCurrency(t, "TRY"), mustCurrency(t, "JPY"), mustCurrency(t, "KWD")
	for _, tc := range []struct {
		in    string
		cur   Currency
		want  int64
		extra bool // ErrTooManyDecimals
		bad   bool // any other error
	}{
		{in: "100.50", cur: try, want: 10050},
		{in: "100.5", cur: try, want: 10050},
		{in: "100", cur: try, want: 10000},
		{in: "0.01", cur: try, want: 1},
		{in: "007.10", cur: try, want: 710},
		{in: "100.505", cur: try, extra: true},
		{in: "100.500", cur: try, extra: true},
		{in: "1.5", cur: jpy, extra: true},
		{in: "1500", cur: jpy, want: 1500},
		{in: "1.234", cur: kwd, want: 1234},
		{in: "1.2345", cur: kwd, extra: true},
		{in: "999999999.99", cur: try, want: MaxAmount},
		{in: "1000000000.00", cur: try, bad: true},
		{in: "99999999999999999999", cur: try, bad: true},
		{in: "-1.00", cur: try, bad: true},
		{in: "1e2", cur: try, bad: true},
		{in: "1.", cur: try, bad: true},
		{in: ".5", cur: try, bad: true},
		{in: "", cur: try, bad: true},
		{in: "1,50", cur: try, bad: true},
	} {
		got, err := ParseDecimal(tc.in, tc.cur)
		switch {
		case tc.extra != errors.Is(err, ErrTooManyDecimals):
			t.Errorf("ParseDecimal(%q, %s) error %v, want too many decimals %v", tc.in, tc.cur.Code(), err, tc.extra)
		case tc.bad != (err != nil && !tc.extra):
			t.Errorf("ParseDecimal(%q, %s) error %v, want an error %v", tc.in, tc.cur.Code(), err, tc.bad)
		case err == nil && got != tc.want:
			t.Errorf("ParseDecimal(%q, %s) = %d, want %d", tc.in, tc.cur.Code(), got, tc.want)
		}
	}
}

func TestFormatDecimal(t *testing.T) {
	for _, tc := range []struct {
		minor int64
		code  string
		want  string
	}{
		{10050, "TRY", "100.50"}, {1, "TRY", "0.01"}, {0, "EUR", "0.00"}, {1500, "JPY", "1500"},
		{1234, "KWD", "1.234"}, {5, "KWD", "0.005"}, {-250, "EUR", "-2.50"},
	} {
		c := mustCurrency(t, tc.code)
		got := FormatDecimal(tc.minor, c)
		if got != tc.want {
			t.Errorf("FormatDecimal(%d, %s) = %q, want %q", tc.minor, tc.code, got, tc.want)
		}
		if back, err := ParseDecimal(got, c); tc.minor >= 0 && (err != nil || back != tc.minor) {
			t.Errorf("ParseDecimal(FormatDecimal(%d, %s)) = %d, %v", tc.minor, tc.code, back, err)
		}
	}
}

func TestInstallmentPlan(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		amount                      int64
		count                       int
		bps                         int64
		customerPays                bool
		interest, total, each, last int64
	}{
		{"single payment has no interest", 10050, 1, 199, true, 0, 10050, 10050, 10050},
		{"count below one is one", 10050, 0, 199, true, 0, 10050, 10050, 10050},
		// 10050 × 1.99 % × 6 = 1199.97 → 1200 (half up); 11250 / 6 = 1875.
		{"seed example, customer pays", 10050, 6, 199, true, 1200, 11250, 1875, 1875},
		{"seed example, merchant bears it", 10050, 6, 199, false, 1200, 10050, 1675, 1675},
		// 10000 × 0.25 % × 3 = 75; 10075 / 3 = 3358 r 1 → the last is 3359.
		{"remainder goes to the last", 10000, 3, 25, true, 75, 10075, 3358, 3359},
		// 1000 / 12 = 83 r 4.
		{"interest free, remainder", 1000, 12, 0, true, 0, 1000, 83, 87},
		// 150 × 0.5 % × 2 = 1.5 → 2 (an exact half rounds up); 149 → 1.49 → 1.
		{"half rounds up", 150, 2, 50, true, 2, 152, 76, 76},
		{"below half rounds down", 149, 2, 50, true, 1, 150, 75, 75},
		{"largest plan stays exact", MaxAmount, 12, 10_000, true, MaxAmount * 12, MaxAmount * 13, MaxAmount * 13 / 12, MaxAmount*13 - MaxAmount*13/12*11},
	} {
		p := InstallmentPlan(tc.amount, tc.count, tc.bps, tc.customerPays)
		if p.Interest != tc.interest || p.Total != tc.total || p.Each != tc.each || p.Last != tc.last {
			t.Errorf("%s: got interest %d total %d each %d last %d, want %d %d %d %d", tc.name,
				p.Interest, p.Total, p.Each, p.Last, tc.interest, tc.total, tc.each, tc.last)
		}
		if sum := p.Each*int64(p.Count-1) + p.Last; sum != p.Total {
			t.Errorf("%s: installments add up to %d, not the total %d", tc.name, sum, p.Total)
		}
	}
}

func mustCurrency(t *testing.T, code string) Currency {
	t.Helper()
	c, err := ParseCurrency(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
