package paystack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack/paystacktest"
)

// firstTried is when the retried refunds of these tests were first sent.
var firstTried = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

// ours is the refund re_ours of 1000 of pay_r1 as Paystack lists it.
var ours = paystacktest.Refund{ID: 3018290, Reference: "pay_r1", Amount: 1000, MerchantNote: "refund re_ours", Status: "pending"}

// retry is the adapter's retry of re_ours, whose first call got no answer.
func retry(t *testing.T, c *Client) (provider.RefundResult, error) {
	t.Helper()
	return (&Adapter{c: c}).Refund(context.Background(), provider.RefundRequest{Reference: "pay_r1", RefundID: "re_ours",
		Amount: 1000, Currency: "GHS", FirstTried: firstTried})
}

// calls renders requests as "METHOD path".
func calls(requests []recorded) []string {
	out := make([]string, len(requests))
	for i, r := range requests {
		out[i] = r.Method + " " + r.Path
	}
	return out
}

// TestRefundRetryReadsTheAnsweredRefund: a refund Paystack answered before
// is read back (GET /refund/{id}), never made again.
func TestRefundRetryReadsTheAnsweredRefund(t *testing.T) {
	done := ours
	done.Status = "processed"
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, true, "Refund retrieved", paystacktest.RefundRecord(done))
	})
	res, err := (&Adapter{c: c}).Refund(context.Background(), provider.RefundRequest{Reference: "pay_r1", RefundID: "re_ours",
		Amount: 1000, Currency: "GHS", ProviderRef: "3018290", FirstTried: firstTried})
	if err != nil || res.Status != provider.RefundSucceeded || res.Reference != "3018290" {
		t.Fatalf("%+v, %v", res, err)
	}
	if got := fmt.Sprint(calls(requests())); got != "[GET /refund/3018290]" {
		t.Errorf("requests %s, want only the fetch", got)
	}
}

// TestRefundRetryAdoptsTheUnansweredRefund: the first POST /refund made
// the refund but its answer was lost; the retry finds it by its merchant
// note and amount (on the list's second page, past another transaction's
// refund and one of another amount) and makes none.
func TestRefundRetryAdoptsTheUnansweredRefund(t *testing.T) {
	other := paystacktest.Refund{ID: 3018285, Reference: "pay_other", Amount: 1000, MerchantNote: "refund re_other", Status: "processed"}
	otherAmount := ours
	otherAmount.ID, otherAmount.Amount = 3018286, 999
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			answer(w, 200, true, "queued", paystacktest.RefundCreated(ours))
			return
		}
		if r.URL.Query().Get("page") == "1" {
			paystacktest.AnswerRefunds(w, []paystacktest.Refund{other, otherAmount}, 1, 2)
			return
		}
		paystacktest.AnswerRefunds(w, []paystacktest.Refund{ours}, 2, 2)
	})
	res, err := retry(t, c)
	if err != nil || res.Status != provider.RefundPending || res.Reference != "3018290" {
		t.Fatalf("%+v, %v", res, err)
	}
	got := requests()
	if fmt.Sprint(calls(got)) != "[GET /refund GET /refund]" {
		t.Fatalf("requests %v, want two pages of the list and no POST", calls(got))
	}
	q, _ := url.ParseQuery(got[0].Query)
	if from := q.Get("from"); from != firstTried.Add(-refundSearchSlack).Format(time.RFC3339) {
		t.Errorf("from %q, want an hour before the first try", from)
	}
}

// TestRefundRetryMakesTheRefundNobodyMade: the list holds no refund of
// ours (the first call never reached Paystack), so the retry makes it.
func TestRefundRetryMakesTheRefundNobodyMade(t *testing.T) {
	other := paystacktest.Refund{ID: 3018285, Reference: "pay_r1", Amount: 1000, MerchantNote: "refund re_earlier", Status: "processed"}
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			paystacktest.AnswerRefunds(w, []paystacktest.Refund{other}, 1, 1)
			return
		}
		answer(w, 200, true, "queued", paystacktest.RefundCreated(ours))
	})
	res, err := retry(t, c)
	if err != nil || res.Status != provider.RefundPending || res.Reference != "3018290" {
		t.Fatalf("%+v, %v", res, err)
	}
	got := requests()
	if fmt.Sprint(calls(got)) != "[GET /refund POST /refund]" {
		t.Fatalf("requests %v, want the search then the refund", calls(got))
	}
	if note := got[1].Body["merchant_note"]; note != "refund re_ours" {
		t.Errorf("merchant_note %v", note)
	}
}

// TestRefundFirstCallMakesTheRefund: a first call (no FirstTried) has
// nothing to look for.
func TestRefundFirstCallMakesTheRefund(t *testing.T) {
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, true, "queued", paystacktest.RefundCreated(ours))
	})
	res, err := (&Adapter{c: c}).Refund(context.Background(), provider.RefundRequest{Reference: "pay_r1", RefundID: "re_ours", Amount: 1000, Currency: "GHS"})
	if err != nil || res.Status != provider.RefundPending || res.Reference != "3018290" {
		t.Fatalf("%+v, %v", res, err)
	}
	if got := fmt.Sprint(calls(requests())); got != "[POST /refund]" {
		t.Errorf("requests %s", got)
	}
}

// TestRefundRetryGivesUpUnsearched: more pages than the search walks, none
// with ours: unavailable (the refund stays pending), never a new refund.
func TestRefundRetryGivesUpUnsearched(t *testing.T) {
	other := paystacktest.Refund{ID: 3018285, Reference: "pay_other", Amount: 1000, MerchantNote: "refund re_other", Status: "processed"}
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		paystacktest.AnswerRefunds(w, []paystacktest.Refund{other}, 1, 1000)
	})
	if _, err := retry(t, c); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v, want unavailable", err)
	}
	for _, r := range requests() {
		if r.Method != http.MethodGet {
			t.Fatalf("%s %s after a search that did not finish", r.Method, r.Path)
		}
	}
	if n := len(requests()); n != maxRefundPages {
		t.Errorf("%d pages asked, want %d", n, maxRefundPages)
	}
}

// TestFetchRefundUnknownStaysPending: Paystack not knowing a refund it
// named is not a refusal of the refund.
func TestFetchRefundUnknownStaysPending(t *testing.T) {
	c, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusNotFound, false, "Refund not found", nil)
	})
	if _, err := c.FetchRefund(context.Background(), "3018290"); !errors.Is(err, ErrUnavailable) || errors.Is(err, provider.ErrUnknownReference) {
		t.Errorf("err %v, want unavailable only", err)
	}
	if _, err := c.FetchRefund(context.Background(), "re_x"); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("non-numeric id: %v", err)
	}
}
