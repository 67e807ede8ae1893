package stripe

import (
	"context"
	"fmt"
	"strings"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// searchLimit bounds the intents one search reads. Authorize's
// Idempotency-Key makes one intent per payment id (two only if a retry came
// after Stripe forgot the key, 24 hours on), so a handful is plenty.
const searchLimit = 10

// FindIntent finds the PaymentIntent that Authorize or ChargeSaved made for
// our payment paymentID, by its MetadataPaymentID, through Stripe's Search
// API (GET /v1/payment_intents/search), and maps it as Authorize does. It is
// for a payment whose Authorize answer was lost (the runtime died before
// recording it). An intent that holds or may still hold money is answered
// (authorised, captured, waiting on the payer, processing), an authorised
// one before the others; a declined or cancelled one holds nothing, so with
// none of the others the answer is provider.ErrUnknownReference.
//
// Stripe's search is eventually consistent: an intent is normally
// searchable within a minute of its creation, but during an outage at
// Stripe up to an hour later. A caller that asks right after the
// authorisation may not find it yet; the payment reconciler asks only after
// its grace (a minute untouched), which covers the normal case.
func (c *Client) FindIntent(ctx context.Context, paymentID string) (Result, error) {
	if err := checkID("payment id", paymentID); err != nil {
		return Result{}, err
	}
	if strings.ContainsAny(paymentID, `'\`) {
		// The id is quoted in the query; ours never hold quotes anyway.
		return Result{}, fmt.Errorf("%w: payment id %q has a quote or backslash", provider.ErrInvalidRequest, paymentID)
	}
	params := &stripeapi.PaymentIntentSearchParams{SearchParams: stripeapi.SearchParams{
		Query: fmt.Sprintf("metadata['%s']:'%s'", MetadataPaymentID, paymentID),
		Limit: stripeapi.Int64(searchLimit), Single: true}}
	params.AddExpand("data.payment_method") // the card's brand and last four digits
	var found Result
	for pi, err := range c.api.V1PaymentIntents.Search(ctx, params) {
		if err != nil {
			return Result{}, classify("search payment intents", err)
		}
		if pi.Metadata[MetadataPaymentID] != paymentID {
			continue // not ours, whatever the search matched: never act on another payment's intent
		}
		res, err := c.result(pi)
		if err != nil {
			return Result{}, err
		}
		if res.Outcome != provider.Declined && (found.Outcome == 0 || (found.Outcome != provider.Authorized && res.Outcome == provider.Authorized)) {
			found = res
		}
	}
	if found.Outcome == 0 {
		return Result{}, fmt.Errorf("%w: Stripe finds no live PaymentIntent for payment %s", provider.ErrUnknownReference, paymentID)
	}
	return found, nil
}
