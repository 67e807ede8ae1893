package payment

import (
	"context"
	"errors"
	"sync"
	"testing"

	"google.golang.org/grpc"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// completions stands in for admin-api's session API and records what each
// completion was told the session's total is.
type completions struct {
	sessionsRecorder
	mu     sync.Mutex
	totals []int64
}

func (c *completions) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.totals = append(c.totals, req.GetAmountTotal())
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetSessionId()}}, nil
}

// tryCheckout is a 100.50 TRY session allowing up to 6 installments, on a
// site with plans of 3, 6 and 9 in TRY and of 2 in EUR.
func tryCheckout(id, paidBy string) *internalapiv1.GetCheckoutResponse {
	return &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1",
		Site: &adminv1.Site{InstallmentPlans: []*adminv1.InstallmentPlan{{Currency: "TRY", Count: 9, MonthlyInterestBps: 210},
			{Currency: "TRY", Count: 6, MonthlyInterestBps: 199}, {Currency: "TRY", Count: 3, MonthlyInterestBps: 150},
			{Currency: "EUR", Count: 2}}},
		CheckoutSession: &adminv1.CheckoutSession{Id: id, Status: "open", Currency: "TRY", AmountSubtotal: 10050, AmountTotal: 10050,
			Reference: "TP-TRY", MaxInstallmentCount: 6, InstallmentInterestPaidBy: paidBy}}
}

func TestInstallmentOptions(t *testing.T) {
	counts := func(opts []Option) (out []int) {
		for _, o := range opts {
			out = append(out, o.Count)
		}
		return out
	}
	co := tryCheckout("cs_1", InterestPaidByCustomer)
	opts := InstallmentOptions(co, 10050)
	if got := counts(opts); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 6 {
		t.Fatalf("counts %v, want [1 3 6] (sorted, within the max, in the currency)", got)
	}
	if six := opts[2]; six.Total != 11250 || six.Each != 1875 || six.Last != 1875 || six.Interest != 1200 || six.MonthlyBps != 199 {
		t.Errorf("6 installments: %+v", six)
	}
	co.CardProviderAccount = &internalapiv1.CardProviderAccount{Id: "pa_1", Provider: "stripe"}
	if got := counts(InstallmentOptions(co, 10050)); len(got) != 1 {
		t.Errorf("with a Stripe account: %v, want the single payment only", got)
	}
	co = tryCheckout("cs_2", InterestPaidByCustomer)
	co.CheckoutSession.MaxInstallmentCount = 1
	if got := counts(InstallmentOptions(co, 10050)); len(got) != 1 {
		t.Errorf("max 1: %v", got)
	}
}

func TestPayInInstallments(t *testing.T) {
	s := newService(t)
	admin := &completions{}
	s.Admin = admin
	attempt := func(co *internalapiv1.GetCheckoutResponse, method string, n int) Attempt {
		a := Attempt{Checkout: co, Method: method, Installments: n,
			Billing: Billing{Name: "Ada", Email: "ada@example.com", Country: "TR", PostalCode: "34000"}}
		if method == "card" {
			a.Card = &provider.Card{Number: provider.TestCardSuccess, Exp: "12/34", CVC: "123"}
		}
		return a
	}
	for _, tc := range []struct {
		name   string
		method string
		n      int
	}{{"above the max", "card", 9}, {"no plan of 4", "card", 4}, {"above 12", "card", 13}, {"bank transfer", "bank_transfer", 3}} {
		if _, err := s.Pay(t.Context(), attempt(tryCheckout("cs_refused", InterestPaidByCustomer), tc.method, tc.n)); !errors.Is(err, ErrInstallments) {
			t.Errorf("%s: err = %v, want ErrInstallments", tc.name, err)
		}
	}
	var n int
	if err := s.Store.Pool.QueryRow(t.Context(), "SELECT count(*) FROM runtime.payments").Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused plans recorded %d payments (%v)", n, err)
	}

	for _, tc := range []struct {
		paidBy                       string
		amount, interest, each, last int64
	}{
		// The customer pays 100.50 + 12.00 in 6 × 18.75; the test
		// provider authorises and captures the 112.50.
		{InterestPaidByCustomer, 11250, 1200, 1875, 1875},
		// The merchant bears the 12.00: the payer pays 100.50 in 5 × 16.75 + 16.75.
		{InterestPaidByMerchant, 10050, 1200, 1675, 1675},
	} {
		res, err := s.Pay(t.Context(), attempt(tryCheckout("cs_"+tc.paidBy, tc.paidBy), "card", 6))
		if err != nil {
			t.Fatalf("%s pays: %v", tc.paidBy, err)
		}
		p := res.Payment
		if p.Status != StatusSucceeded || p.Amount != tc.amount || p.InstallmentCount != 6 || p.InstallmentInterest != tc.interest ||
			p.InstallmentMonthlyBps != 199 || p.InstallmentInterestPaidBy != tc.paidBy {
			t.Errorf("%s: payment %+v", tc.paidBy, p)
		}
		in := Proto(p).GetInstallments()
		if in.GetCount() != 6 || in.GetAmountInterest() != tc.interest || in.GetAmountPerInstallment() != tc.each ||
			in.GetAmountLastInstallment() != tc.last || in.GetInterestPaidBy() != tc.paidBy {
			t.Errorf("%s: API installments %v", tc.paidBy, in)
		}
	}
	// The session is completed with its own total, the interest aside.
	if len(admin.totals) != 2 || admin.totals[0] != 10050 || admin.totals[1] != 10050 {
		t.Errorf("completions told totals %v, want the session's 10050 twice", admin.totals)
	}
	// A single payment says so.
	res, err := s.Pay(t.Context(), attempt(tryCheckout("cs_single", InterestPaidByCustomer), "card", 1))
	if in := Proto(res.Payment).GetInstallments(); err != nil || res.Payment.Amount != 10050 || in.GetCount() != 1 || in.GetAmountInterest() != 0 {
		t.Errorf("single payment: %v %+v %v", err, res.Payment, in)
	}
}
