package paystack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Refund is Paystack's answer about a refund (create, fetch, list).
type Refund struct {
	ID           int64  `json:"id"`
	Status       string `json:"status"` // pending, processing, processed, failed, needs-attention
	Amount       int64  `json:"amount"`
	MerchantNote string `json:"merchant_note"`
	// TransactionReference is the refunded transaction's reference, in the
	// fetch and list answers (create's names it in a transaction object).
	TransactionReference string `json:"transaction_reference"`
}

// merchantNote is what a refund carries to Paystack to name ours: Paystack
// takes no idempotency key, and this note is how FindRefund recognises a
// refund an unanswered call made.
func merchantNote(refundID string) string { return "refund " + refundID }

// Refund gives back amount (minor units) of the transaction (POST /refund).
// Paystack has no idempotency key for refunds: each call makes a refund.
// refundID is sent as the merchant note; a retry reads the refund back
// (FetchRefund) or looks for it (FindRefund) instead of calling this again.
func (c *Client) Refund(ctx context.Context, reference string, amount int64, currency, refundID string) (Refund, error) {
	if !validReference(reference) {
		return Refund{}, fmt.Errorf("%w: bad reference", provider.ErrUnknownReference)
	}
	var out Refund
	body := map[string]any{"transaction": reference, "amount": amount, "merchant_note": merchantNote(refundID)}
	if Supports(currency) {
		body["currency"] = currency
	}
	_, err := c.call(ctx, "POST", "/refund", body, &out)
	return out, err
}

// FetchRefund reads the refund Paystack answered with id (GET /refund/{id}).
// Paystack not knowing it is ErrUnavailable, never a refusal: it named the
// refund itself, so the refund stays pending for another look.
func (c *Client) FetchRefund(ctx context.Context, id string) (Refund, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return Refund{}, fmt.Errorf("%w: Paystack refund id %q is not a positive integer", provider.ErrInvalidRequest, truncate(id))
	}
	var out Refund
	_, err = c.call(ctx, "GET", "/refund/"+strconv.FormatInt(n, 10), nil, &out)
	if errors.Is(err, provider.ErrUnknownReference) {
		return Refund{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return out, err
}

// Searching for a refund an unanswered POST /refund may have made.
const (
	// refundsPerPage is the page size asked of GET /refund (Paystack's
	// default is 50); the pages are walked by the answer's meta.pageCount,
	// so a smaller page Paystack imposes costs calls, never a miss.
	refundsPerPage = 100
	// maxRefundPages bounds one search: 2,000 refunds on the account since
	// ours was first tried. Beyond, the search gives up (ErrUnavailable)
	// rather than refund again without having looked everywhere.
	maxRefundPages = 20
	// refundSearchSlack widens the search back from when ours was first
	// tried: Paystack's clock is not ours.
	refundSearchSlack = time.Hour
)

// FindRefund looks among the account's refunds made since since (GET
// /refund, walking its pages) for the one refundID made of reference: its
// merchant note names refundID and its amount is amount. Paystack's
// specification documents no filter by transaction for this list, only
// dates, so it is searched here.
func (c *Client) FindRefund(ctx context.Context, reference string, amount int64, refundID string, since time.Time) (Refund, bool, error) {
	q := url.Values{"from": {since.Add(-refundSearchSlack).UTC().Format(time.RFC3339)}, "perPage": {strconv.Itoa(refundsPerPage)}}
	for page := 1; page <= maxRefundPages; page++ {
		q.Set("page", strconv.Itoa(page))
		var list []Refund
		env, err := c.call(ctx, "GET", "/refund?"+q.Encode(), nil, &list)
		if err != nil {
			return Refund{}, false, err
		}
		for _, re := range list {
			if re.MerchantNote == merchantNote(refundID) && re.Amount == amount &&
				(re.TransactionReference == "" || re.TransactionReference == reference) {
				return re, true, nil
			}
		}
		if env.Meta == nil || page >= env.Meta.PageCount {
			return Refund{}, false, nil
		}
	}
	return Refund{}, false, fmt.Errorf("%w: more than %d pages of refunds since %s; not refunding again unsearched",
		ErrUnavailable, maxRefundPages, since.UTC().Format(time.RFC3339))
}
