package paystacktest

import (
	"net/http"
	"strconv"
	"strings"
)

// Refund is one refund the Fake made (POST /refund), as Paystack keeps it.
type Refund struct {
	ID           int64
	Reference    string // the refunded transaction's
	Amount       int64
	MerchantNote string
	Status       string // pending until SetRefundStatus
}

// firstRefundID is the id of the Fake's first refund (Paystack's ids are
// integers; this one is the specification's example).
const firstRefundID = 3018284

// Refunds lists the refunds the Fake made, oldest first.
func (f *Fake) Refunds() []Refund {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Refund(nil), f.refunds...)
}

// SetRefundStatus moves every refund made so far to status (processed,
// failed, …), as Paystack does once the money has moved.
func (f *Fake) SetRefundStatus(status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.refunds {
		f.refunds[i].Status = status
	}
}

// serveRefund answers POST /refund (a new refund each time, as Paystack,
// which takes no idempotency key), GET /refund/{id} and GET /refund (every
// refund on one page); ok is false for other paths.
func (f *Fake) serveRefund(w http.ResponseWriter, r *http.Request, body map[string]any) (ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/refund":
		ref, _ := body["transaction"].(string)
		amount, _ := body["amount"].(float64)
		note, _ := body["merchant_note"].(string)
		re := Refund{ID: firstRefundID + int64(len(f.refunds)), Reference: ref, Amount: int64(amount), MerchantNote: note, Status: "pending"}
		f.refunds = append(f.refunds, re)
		answer(w, http.StatusOK, true, "Refund has been queued for processing", RefundCreated(re))
	case r.Method == http.MethodGet && r.URL.Path == "/refund":
		AnswerRefunds(w, f.refunds, 1, 1)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/refund/"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/refund/"), 10, 64)
		for _, re := range f.refunds {
			if re.ID == id {
				answer(w, http.StatusOK, true, "Refund retrieved", RefundRecord(re))
				return true
			}
		}
		answer(w, http.StatusNotFound, false, "Refund not found", nil)
	default:
		return false
	}
	return true
}

// AnswerRefunds writes GET /refund's answer listing refunds as page of
// pageCount, with the data and meta RefundListResponse requires.
func AnswerRefunds(w http.ResponseWriter, refunds []Refund, page, pageCount int) {
	list := make([]any, len(refunds))
	for i, re := range refunds {
		list[i] = RefundRecord(re)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": true, "message": "Refunds retrieved", "data": list,
		"meta": map[string]any{"total": len(list), "skipped": 0, "perPage": "100", "page": page, "pageCount": pageCount, "failedRefundCount": 0}})
}

// RefundCreated is POST /refund's data for re, with every field Paystack's
// RefundCreateResponse requires (Prism checks answers too).
func RefundCreated(re Refund) map[string]any {
	return map[string]any{
		"transaction": map[string]any{"id": 4099260516, "domain": "test", "reference": re.Reference, "amount": 2500,
			"paid_at": "2026-11-30T10:00:00.000Z", "channel": "mobile_money", "currency": "GHS",
			"authorization": map[string]any{"exp_month": nil, "exp_year": nil, "account_name": nil},
			"customer":      map[string]any{"international_format_phone": nil}, "plan": map[string]any{},
			"subaccount": map[string]any{"currency": nil}, "split": map[string]any{}, "order_id": nil,
			"paidAt": "2026-11-30T10:00:00.000Z", "pos_transaction_data": nil, "source": nil, "fees_breakdown": nil},
		"integration": 463433, "deducted_amount": 0, "channel": nil, "merchant_note": re.MerchantNote, "customer_note": "",
		"status": re.Status, "refunded_by": "merchant@example.com", "expected_at": "2026-12-09T10:00:00.000Z",
		"currency": "GHS", "domain": "test", "amount": re.Amount, "fully_deducted": false, "id": re.ID,
		"createdAt": "2026-11-30T10:05:00.000Z", "updatedAt": "2026-11-30T10:05:00.000Z",
	}
}

// RefundRecord is a refund as GET /refund/{id} answers it and GET /refund
// lists it (RefundFetchResponse's data, RefundListResponseArray).
func RefundRecord(re Refund) map[string]any {
	return map[string]any{
		"integration": 463433, "transaction": 4099260516, "dispute": nil, "settlement": nil, "id": re.ID, "domain": "test",
		"currency": "GHS", "amount": re.Amount, "status": re.Status, "refunded_at": nil, "refunded_by": "merchant@example.com",
		"customer_note": "", "merchant_note": re.MerchantNote, "deducted_amount": 0, "fully_deducted": 0,
		"createdAt": "2026-11-30T10:05:00.000Z", "bank_reference": nil, "transaction_reference": re.Reference,
		"reason": "", "refund_type": "partial", "transaction_amount": 2500, "initiated_by": "api", "refund_channel": "mobile_money",
		"session_id": nil, "collect_account_number": false,
		"customer": map[string]any{"id": 1, "first_name": "Ama", "last_name": "Mensah", "email": "payer@example.com",
			"customer_code": "CUS_1", "phone": "+233551234987", "metadata": "", "risk_action": "default",
			"international_format_phone": "+233551234987"},
	}
}
