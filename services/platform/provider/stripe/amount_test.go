package stripe

import "testing"

func TestAmountsBothWays(t *testing.T) {
	for _, tc := range []struct {
		ours     int64
		currency string
		stripe   int64
	}{
		{1099, "EUR", 1099}, {500, "JPY", 500}, {5, "ISK", 500}, {50000, "MGA", 500},
		{5120, "KWD", 5120}, {100, "HUF", 100}, {300, "UGX", 300}, {99_999_999_999, "USD", 99_999_999_999},
	} {
		got, lower, err := ElementsAmount(tc.ours, tc.currency)
		if err != nil || got != tc.stripe {
			t.Errorf("%d %s → %d, %v; want %d", tc.ours, tc.currency, got, err, tc.stripe)
			continue
		}
		back, upper, err := fromStripe(got, lower)
		if err != nil || back != tc.ours || upper != tc.currency {
			t.Errorf("%d %s back → %d %s, %v", got, lower, back, upper, err)
		}
	}
	for _, bad := range []struct {
		amount   int64
		currency string
	}{{0, "EUR"}, {100_000_000_000, "USD"}, {5125, "KWD"}, {50001, "MGA"}, {1, "XAU"}} {
		if _, _, err := ElementsAmount(bad.amount, bad.currency); err == nil {
			t.Errorf("%d %s accepted", bad.amount, bad.currency)
		}
	}
	if _, _, err := fromStripe(1050, "isk"); err == nil {
		t.Error("10.50 krónur accepted from Stripe")
	}
}
