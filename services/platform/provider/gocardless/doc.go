// Package gocardless is the GoCardless adapter: one-off Direct Debit
// payments through a Billing Request and its hosted Billing Request Flow, for
// one merchant's GoCardless account per [Adapter].
//
// [Adapter.Authorize] creates a billing request (a payment_request for the
// amount, and a mandate_request when the account wants a reusable mandate)
// and a flow whose authorisation_url the payer is sent to
// (provider.ChallengeRequired with RedirectURL); GoCardless sends the payer
// back to our return URL, done or leaving. [Adapter.Resume] reads the billing
// request then: fulfilled is provider.Pending (a direct debit is collected
// days later), unfinished is cancelled at GoCardless and declined. The
// result comes by webhook: [ParseWebhook] verifies GoCardless's
// Webhook-Signature and reads its batch of events; [Event.Effect] says what
// each means for a payment.
//
// The client is a small net/http one for the few endpoints used (no Go client
// of GoCardless's resolves here). Every creation carries an Idempotency-Key
// from our ids (the payment id for the billing request, the refund id for a
// refund); a repeated key's 409 idempotent_creation_conflict is answered with
// the first resource, as GoCardless's own libraries do. Errors: 5xx and 429
// are [ErrUnavailable] (retry), 401/403 [ErrAuthentication], 404
// provider.ErrUnknownReference, a payment past cancellation
// provider.ErrAlreadyCaptured, and other 4xx provider.ErrInvalidRequest.
//
// The tests run the client against GoCardless's own published fixtures (the
// response bodies of gocardless-pro-go's testdata, see testdata/README.md)
// and the webhook signature vector of that library.
package gocardless
