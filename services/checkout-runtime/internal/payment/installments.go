package payment

import (
	"slices"
	"strings"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Who pays the installment interest (the session's installment_interest_paid_by).
const (
	InterestPaidByCustomer = "customer"
	InterestPaidByMerchant = "merchant"
)

// ErrInstallments refuses an installment count the session does not offer.
var ErrInstallments = errs.Param("installments", "installments_invalid",
	"This number of installments is not offered for this checkout.")

// Option is an installment count the page offers, applied to a total.
type Option struct {
	money.Plan
	MonthlyBps int64
}

// InstallmentOptions lists what a card payment of total may be split into:
// a single payment, then each of the site's plans in the session's currency
// up to the session's max_installment_count, by count. Installments are for
// the built-in card provider: a site whose cards go through its own provider
// account (Stripe) is offered the single payment only.
func InstallmentOptions(co *internalapiv1.GetCheckoutResponse, total int64) []Option {
	cs := co.GetCheckoutSession()
	customer := cs.GetInstallmentInterestPaidBy() == InterestPaidByCustomer
	out := []Option{{Plan: money.InstallmentPlan(total, 1, 0, customer)}}
	if co.GetCardProviderAccount().GetId() != "" {
		return out
	}
	for _, p := range co.GetSite().GetInstallmentPlans() {
		if n := int(p.GetCount()); n > 1 && n <= int(cs.GetMaxInstallmentCount()) && strings.EqualFold(p.GetCurrency(), cs.GetCurrency()) {
			out = append(out, Option{Plan: money.InstallmentPlan(total, n, p.GetMonthlyInterestBps(), customer), MonthlyBps: p.GetMonthlyInterestBps()})
		}
	}
	slices.SortFunc(out, func(a, b Option) int { return a.Count - b.Count })
	return out
}

// installmentOption is the offered option of count installments for a
// payment by method of total, or ErrInstallments.
func installmentOption(co *internalapiv1.GetCheckoutResponse, method string, count int, total int64) (Option, error) {
	if count <= 1 {
		return InstallmentOptions(co, total)[0], nil
	}
	if method != "card" {
		return Option{}, ErrInstallments
	}
	for _, o := range InstallmentOptions(co, total) {
		if o.Count == count {
			return o, nil
		}
	}
	return Option{}, ErrInstallments
}

// storedPlan is how a payment records its option.
func (o Option) storedPlan() store.Installments {
	paidBy := InterestPaidByMerchant
	if o.CustomerPays {
		paidBy = InterestPaidByCustomer
	}
	return store.Installments{Count: int32(o.Count), MonthlyBps: o.MonthlyBps, Interest: o.Interest, PaidBy: paidBy}
}

// sessionTotal is what p pays of its session's total: its amount without the
// installment interest the customer pays on top.
func sessionTotal(p db.RuntimePayment) int64 {
	if p.InstallmentInterestPaidBy == InterestPaidByCustomer {
		return p.Amount - p.InstallmentInterest
	}
	return p.Amount
}
