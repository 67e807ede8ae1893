package fee

import (
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

func TestRuleFeeRounding(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rule   Rule
		amount int64
		want   int64
	}{
		{"2.9% + 30 of 10.00", Rule{PercentBps: 290, FixedAmount: 30}, 1000, 59},
		{"half rounds up: 1.5% of 100 = 1.5 → 2", Rule{PercentBps: 150}, 100, 2},
		{"below half rounds down: 1.4% of 100 = 1.4 → 1", Rule{PercentBps: 140}, 100, 1},
		{"0.05% of 1000 = 0.5 → 1", Rule{PercentBps: 5}, 1000, 1},
		{"0.04% of 1000 = 0.4 → 0", Rule{PercentBps: 4}, 1000, 0},
		{"fixed only", Rule{FixedAmount: 25}, 1000, 25},
		{"never above the amount", Rule{PercentBps: 500, FixedAmount: 300}, 100, 100},
		{"100 %", Rule{PercentBps: 10_000}, 12345, 12345},
		{"largest amount does not overflow", Rule{PercentBps: 10_000}, 99_999_999_999, 99_999_999_999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.Fee(tc.amount); got != tc.want {
				t.Fatalf("Fee(%d) = %d, want %d", tc.amount, got, tc.want)
			}
		})
	}
}

func TestSelectMostSpecific(t *testing.T) {
	rules := []Rule{
		{PercentBps: 100},                  // default
		{Currency: "USD", PercentBps: 200}, // USD, any method
		{Method: "card", PercentBps: 300},  // card, any currency
		{Method: "card", Currency: "USD", PercentBps: 400, FixedAmount: 30},
	}
	for _, tc := range []struct {
		method, currency string
		want             int64
	}{
		{"card", "USD", 400},
		{"card", "EUR", 300},
		{"bank_transfer", "USD", 200},
		{"bank_transfer", "EUR", 100},
	} {
		r, ok := Select(rules, tc.method, tc.currency)
		if !ok || r.PercentBps != tc.want {
			t.Errorf("Select(%s, %s) = %+v, %v; want the %d bps rule", tc.method, tc.currency, r, ok, tc.want)
		}
	}
	if _, ok := Select(rules[1:2], "card", "EUR"); ok {
		t.Error("a USD rule matched EUR")
	}
	if fee, net := Compute(nil, "card", "USD", 1000); fee != 0 || net != 1000 {
		t.Errorf("no schedule: fee %d net %d, want 0 and 1000", fee, net)
	}
	if fee, net := Compute(rules, "card", "USD", 1000); fee != 70 || net != 930 {
		t.Errorf("card USD 10.00: fee %d net %d, want 70 and 930", fee, net)
	}
}

func TestValidate(t *testing.T) {
	methods := []string{"card", "bank_transfer"}
	for _, tc := range []struct {
		name  string
		rules []Rule
		param string
	}{
		{"ok", []Rule{{PercentBps: 100}, {Method: "card", Currency: "usd", PercentBps: 290, FixedAmount: 30}}, ""},
		{"unknown method", []Rule{{Method: "cash"}}, "rules[0].payment_method"},
		{"bad currency", []Rule{{}, {Currency: "XXX"}}, "rules[1].currency"},
		{"negative percentage", []Rule{{PercentBps: -1}}, "rules[0].percent_bps"},
		{"over 100 %", []Rule{{PercentBps: 10_001}}, "rules[0].percent_bps"},
		{"negative fixed", []Rule{{Currency: "USD", FixedAmount: -1}}, "rules[0].fixed_amount"},
		{"fixed without currency", []Rule{{FixedAmount: 30}}, "rules[0].fixed_amount"},
		{"duplicate", []Rule{{Method: "card", Currency: "USD"}, {Method: "card", Currency: "usd"}}, "rules[1].currency"},
		{"too many", make([]Rule, MaxRules+1), "rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.rules, methods)
			if tc.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.rules[1].Currency != "USD" {
					t.Fatalf("currency not normalised: %q", tc.rules[1].Currency)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Invalid || e.Param != tc.param {
				t.Fatalf("err = %v, want Invalid naming %s", err, tc.param)
			}
		})
	}
}

func TestProtoBothWays(t *testing.T) {
	for _, r := range []Rule{
		{PercentBps: 150},
		{Method: "card", PercentBps: 290},
		{Currency: "USD", PercentBps: 100, FixedAmount: 30},
		{Method: "bank_transfer", Currency: "EUR", FixedAmount: 50},
	} {
		p := r.Proto()
		if (r.Method == "") != (p.PaymentMethod == nil) || (r.Currency == "") != (p.Currency == nil) {
			t.Errorf("%+v as proto: %v (absent means every one)", r, p)
		}
		if back := FromProto([]*adminv1.FeeRule{p}); len(back) != 1 || back[0] != r {
			t.Errorf("%+v → %v → %+v", r, p, back)
		}
	}
}
