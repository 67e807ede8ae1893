package routing

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

func accountIDs(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.AccountID
	}
	return out
}

func TestOrderPriorityKeepsTheList(t *testing.T) {
	r := Route{Type: TypePriority, Targets: []Target{{AccountID: "pa_b"}, {AccountID: "pa_a"}, {AccountID: "pa_c"}}}
	for _, seed := range []string{"pay_1", "pay_2", "pay_3"} {
		if got := fmt.Sprint(accountIDs(Order(r, seed))); got != "[pa_b pa_a pa_c]" {
			t.Fatalf("Order(%s) = %s", seed, got)
		}
	}
}

// A 70/30 split over 1,000 payments: the share led by pa_70 is binomial
// (n=1000, p=0.7, σ≈1.45 points), so ±5 points is more than 3σ; the
// payment ids are fixed, so the test is deterministic.
func TestOrderVolumeSplitSharesAndCascades(t *testing.T) {
	r := Route{Type: TypeVolumeSplit, Targets: []Target{{AccountID: "pa_70", Weight: 70}, {AccountID: "pa_30", Weight: 30}}}
	led := map[string]int{}
	for i := range 1000 {
		order := Order(r, fmt.Sprintf("pay_%06d", i))
		if len(order) != 2 || order[0].AccountID == order[1].AccountID {
			t.Fatalf("order %v: want both accounts, each once", accountIDs(order))
		}
		led[order[0].AccountID]++
	}
	if share := led["pa_70"]; share < 650 || share > 750 {
		t.Fatalf("pa_70 led %d of 1000 payments, want 700 ± 50", share)
	}
	if a, b := Order(r, "pay_x"), Order(r, "pay_x"); a[0] != b[0] {
		t.Fatal("the same payment id gave two orders")
	}
}

func TestBucketBands(t *testing.T) {
	// The lead is the account whose band [sum before, sum incl.) holds the bucket.
	r := Route{Type: TypeVolumeSplit, Targets: []Target{{AccountID: "a", Weight: 20}, {AccountID: "b", Weight: 50}, {AccountID: "c", Weight: 30}}}
	for i := range 200 {
		seed := fmt.Sprint(i)
		b, want := Bucket(seed), "c"
		if b < 20 {
			want = "a"
		} else if b < 70 {
			want = "b"
		}
		order := accountIDs(Order(r, seed))
		if order[0] != want {
			t.Fatalf("bucket %d: lead %s, want %s", b, order[0], want)
		}
	}
}

func ptr(v int64) *int64 { return &v }

func TestChooseByRules(t *testing.T) {
	routes := []Route{
		{ID: "rt_default", Default: true},
		{ID: "rt_eur", Rules: Rules{Currencies: []string{"EUR"}}},
		{ID: "rt_big", Rules: Rules{AmountMin: ptr(100_000)}},
		{ID: "rt_gh", Rules: Rules{BillingCountries: []string{"GH"}, AmountMax: ptr(5_000)}},
		{ID: "rt_named", Rules: Rules{Currencies: []string{"USD"}}},
	}
	for _, c := range []struct {
		named string
		f     Facts
		want  string
	}{
		{"", Facts{Currency: "eur", Amount: 100}, "rt_eur"},
		{"", Facts{Currency: "usd", Amount: 100_000}, "rt_big"},
		{"", Facts{Currency: "usd", Amount: 99_999}, "rt_named"},
		{"", Facts{Currency: "ghs", Amount: 5_000, BillingCountry: "GH"}, "rt_gh"},
		{"", Facts{Currency: "ghs", Amount: 5_001, BillingCountry: "GH"}, "rt_default"},
		{"", Facts{Currency: "ghs", Amount: 10, BillingCountry: "NG"}, "rt_default"},
		{"rt_gh", Facts{Currency: "eur", Amount: 10, BillingCountry: "GH"}, "rt_gh"},
		{"rt_gh", Facts{Currency: "eur", Amount: 10, BillingCountry: "FR"}, "rt_eur"}, // its rules refuse: the site's choice
	} {
		got, ok := Choose(routes, c.named, c.f)
		if !ok || got.ID != c.want {
			t.Errorf("Choose(%q, %+v) = %s %v, want %s", c.named, c.f, got.ID, ok, c.want)
		}
	}
	if _, ok := Choose([]Route{{ID: "rt_eur", Rules: Rules{Currencies: []string{"EUR"}}}}, "", Facts{Currency: "usd"}); ok {
		t.Error("a payment no route admits was routed")
	}
}

func TestValidateNamesTheParameter(t *testing.T) {
	two := []Target{{AccountID: "pa_1", Weight: 70}, {AccountID: "pa_2", Weight: 30}}
	for _, c := range []struct {
		r     Route
		param string
	}{
		{Route{Type: TypePriority, Targets: two[:1]}, "payment_method"},
		{Route{Method: "sepa", Type: TypePriority, Targets: two[:1]}, "payment_method"},
		{Route{Method: "card", Targets: two}, "type"},
		{Route{Method: "card", Type: "random"}, "type"},
		{Route{Method: "card", Type: TypePriority}, "accounts"},
		{Route{Method: "card", Type: TypePriority, Targets: []Target{{AccountID: "pa_1"}, {AccountID: "pa_1"}}}, "accounts[1][provider_account]"},
		{Route{Method: "card", Type: TypePriority, Targets: []Target{{}}}, "accounts[0][provider_account]"},
		{Route{Method: "card", Type: TypePriority, Targets: two}, "accounts[0][weight]"},
		{Route{Method: "card", Type: TypeVolumeSplit, Targets: []Target{{AccountID: "pa_1", Weight: 70}, {AccountID: "pa_2"}}}, "accounts[1][weight]"},
		{Route{Method: "card", Type: TypeVolumeSplit, Targets: []Target{{AccountID: "pa_1", Weight: 70}, {AccountID: "pa_2", Weight: 20}}}, "accounts"},
		{Route{Method: "card", Type: TypeVolumeSplit, Targets: two, Rules: Rules{Currencies: []string{"usd", "XAU"}}}, "rules[currencies][1]"},
		{Route{Method: "card", Type: TypeVolumeSplit, Targets: two, Rules: Rules{BillingCountries: []string{"UK"}}}, "rules[billing_countries][0]"},
		{Route{Method: "card", Type: TypeVolumeSplit, Targets: two, Rules: Rules{AmountMin: ptr(-1)}}, "rules[amount_min]"},
		{Route{Method: "card", Type: TypeVolumeSplit, Targets: two, Rules: Rules{AmountMin: ptr(10), AmountMax: ptr(9)}}, "rules[amount_max]"},
		// Payer-approved methods never cascade: a priority list of two is refused.
		{Route{Method: MethodMobileMoney, Type: TypePriority, Targets: []Target{{AccountID: "pa_1"}, {AccountID: "pa_2"}}}, "accounts"},
		{Route{Method: MethodDirectDebit, Type: TypePriority, Targets: []Target{{AccountID: "pa_1"}, {AccountID: "pa_2"}}}, "accounts"},
	} {
		err := Validate(c.r)
		var e *errs.Error
		if !errors.As(err, &e) || e.Param != c.param {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c.r, err, c.param)
		}
	}
	ok := Route{Method: "card", Type: TypeVolumeSplit, Targets: two, Rules: Rules{Currencies: []string{"usd"}, BillingCountries: []string{"gh"}, AmountMin: ptr(0), AmountMax: ptr(0)}}
	if err := Validate(ok); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	ok.Rules.Normalize()
	if ok.Rules.Currencies[0] != "USD" || ok.Rules.BillingCountries[0] != "GH" {
		t.Fatalf("Normalize: %+v", ok.Rules)
	}
	// What payer-approved methods may have: one account by priority, or a
	// volume split (one account chosen per payment, no cascade).
	for _, r := range []Route{
		{Method: MethodMobileMoney, Type: TypePriority, Targets: []Target{{AccountID: "pa_1"}}},
		{Method: MethodMobileMoney, Type: TypeVolumeSplit, Targets: two, Rules: Rules{Currencies: []string{"GHS"}}},
		{Method: MethodDirectDebit, Type: TypeVolumeSplit, Targets: two},
	} {
		if err := Validate(r); err != nil {
			t.Errorf("Validate(%+v) = %v", r, err)
		}
	}
}

func TestPayerApprovedMethods(t *testing.T) {
	for m, want := range map[string]bool{MethodCard: false, MethodDirectDebit: true, MethodMobileMoney: true} {
		if PayerApproved(m) != want {
			t.Errorf("PayerApproved(%s) = %v", m, !want)
		}
	}
}

func TestRetryableTable(t *testing.T) {
	declined := func(code string) provider.Result {
		return provider.Result{Outcome: provider.Declined, DeclineCode: code}
	}
	for _, c := range []struct {
		prov string
		res  provider.Result
		err  error
		want bool
	}{
		{provider.NameTest, declined(provider.DeclineProcessingError), nil, true},
		{provider.NameStripe, declined("issuer_not_available"), nil, true},
		{provider.NameStripe, declined("try_again_later"), nil, true},
		{"gocardless", declined(provider.DeclineIssuerUnavailable), nil, true},
		{provider.NameStripe, provider.Result{}, errors.New("stripe: unavailable: 503"), true},
		{provider.NameStripe, provider.Result{}, context.DeadlineExceeded, true},
		// Never cascaded: the payer's own reasons, a bad request, the payer gone.
		{provider.NameStripe, declined("insufficient_funds"), nil, false},
		{provider.NameStripe, declined("stolen_card"), nil, false},
		{provider.NameStripe, declined("incorrect_cvc"), nil, false},
		{provider.NameStripe, declined("do_not_honor"), nil, false},
		{provider.NameTest, declined(provider.DeclineCardDeclined), nil, false},
		{provider.NameTest, declined(provider.DeclineAuthenticationFailed), nil, false},
		{provider.NameTest, declined("try_again_later"), nil, false}, // Stripe's code, not the test provider's
		{provider.NameTest, provider.Result{}, fmt.Errorf("%w: no card", provider.ErrInvalidRequest), false},
		{provider.NameTest, provider.Result{}, context.Canceled, false},
		{provider.NameTest, provider.Result{Outcome: provider.Authorized}, nil, false},
	} {
		if got := Retryable(c.prov, c.res, c.err); got != c.want {
			t.Errorf("Retryable(%s, %q, %v) = %v, want %v", c.prov, c.res.DeclineCode, c.err, got, c.want)
		}
	}
}

func TestBreakerOpensSkipsProbesAndCloses(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	b, err := NewBreaker(BreakerConfig{Threshold: 3, Window: time.Minute, Cooldown: 30 * time.Second}, func() time.Time { return now }, reg)
	if err != nil {
		t.Fatal(err)
	}
	acct, other := Target{AccountID: "pa_1", Provider: "test"}, Target{AccountID: "pa_2", Provider: "test"}
	opened := b.transitions.WithLabelValues("test", stateOpen)

	// Failures spread beyond the window do not open it.
	b.Report(acct, true)
	b.Report(acct, true)
	now = now.Add(2 * time.Minute)
	b.Report(acct, true)
	if !b.Allow(acct) || testutil.ToFloat64(opened) != 0 {
		t.Fatal("opened on failures spread over more than the window")
	}
	// A provider's answer resets the count.
	b.Report(acct, false)
	b.Report(acct, true)
	b.Report(acct, true)
	if !b.Allow(acct) {
		t.Fatal("opened after 2 consecutive failures")
	}
	b.Report(acct, true) // the third in a row
	if b.Allow(acct) || testutil.ToFloat64(opened) != 1 {
		t.Fatal("not open after 3 consecutive failures")
	}
	if !b.Allow(other) {
		t.Fatal("another account skipped")
	}
	if got := testutil.ToFloat64(b.skips.WithLabelValues("test")); got != 1 {
		t.Fatalf("skips = %v, want 1", got)
	}

	// After the cool-down: one probe, the others still skipped.
	now = now.Add(30 * time.Second)
	if !b.Allow(acct) {
		t.Fatal("no probe after the cool-down")
	}
	if b.Allow(acct) {
		t.Fatal("a second probe while the first is out")
	}
	b.Report(acct, true) // the probe failed: open again
	if b.Allow(acct) || testutil.ToFloat64(opened) != 2 {
		t.Fatal("a failed probe did not reopen")
	}
	now = now.Add(30 * time.Second)
	if !b.Allow(acct) {
		t.Fatal("no probe after the second cool-down")
	}
	b.Report(acct, false) // the probe passed: closed
	if !b.Allow(acct) || !b.Allow(acct) {
		t.Fatal("not closed after a passing probe")
	}
	if got := testutil.ToFloat64(b.transitions.WithLabelValues("test", stateClosed)); got != 1 {
		t.Fatalf("closes = %v, want 1", got)
	}
	if got := testutil.ToFloat64(b.transitions.WithLabelValues("test", stateHalfOpen)); got != 2 {
		t.Fatalf("half-opens = %v, want 2", got)
	}
}
