// Package stripe is the Stripe adapter: the deferred-intent, server-confirmed
// Payment Element flow, for one merchant's Stripe account per [Client].
//
// The hosted page mounts Stripe's Payment Element and makes a
// ConfirmationToken in the browser; [Client.Authorize] creates and confirms a
// PaymentIntent with it (capture_method=manual) and maps the answer to an
// outcome. An intent that needs the payer (3-D Secure, a redirect) comes
// back as provider.ChallengeRequired with its client secret, for Stripe.js
// handleNextAction; [Client.Resume] reads the intent afterwards. The runtime
// then completes the session and calls [Client.Capture], or [Client.Cancel]
// when the session closed meanwhile. [Client.Refund] refunds a captured
// intent. [ParseWebhook] verifies and normalises Stripe's signed events.
//
// Several merchants' accounts live in one process, so each Client has its own
// stripe-go client (stripe.NewClient) with its key and backend; the global
// stripe.Key is never set. The API base URL is configuration, so tests run
// against Stripe's stripe-mock.
//
// # Decisions
//
//   - A refusal (a card error, an intent back in requires_payment_method, a
//     canceled intent) is a Declined [Result], not an error. Errors are for
//     requests that could not be made or were wrong: [ErrUnavailable]
//     (network, 5xx, 429, a concurrent request with the same idempotency key;
//     retry), [ErrAuthentication] (the account's key), and the provider
//     package's ErrInvalidRequest, ErrUnknownReference, ErrAlreadyCaptured,
//     ErrAlreadyVoided, ErrNotCapturable for the rest.
//   - Every POST carries an Idempotency-Key derived from our ids: the payment
//     id for Authorize (a retry gets the first intent back, never a second
//     one), the intent id and amount for Capture, the intent id for Cancel,
//     our refund id for Refund. Stripe keeps keys for 24 hours; past that,
//     Capture and Cancel read the intent's state to answer a retry the same.
//     So one payment id is one intent: a payer trying another card is a new
//     payment (as the runtime already records each attempt), and a
//     ConfirmationToken is single-use anyway.
//   - Decline codes are provider's stable codes, mapped from Stripe's
//     decline_code and code; lost, stolen and fraud declines become the
//     generic card_declined so the payer is not told why (Stripe's advice).
//     The payer-facing message is ours (provider.DeclineMessage), not
//     Stripe's.
//   - "succeeded" after Authorize (a payment method that ignores manual
//     capture) is Authorized with Captured set: Capture of it succeeds
//     without a second charge, and Cancel refuses it (ErrAlreadyCaptured), so
//     the runtime refunds instead.
//   - [Client.FindIntent] finds a payment's intent by its metadata with
//     Stripe's Search API, for the payment reconciler when the runtime died
//     between Stripe's answer and recording it. Search is eventually
//     consistent (normally under a minute, up to an hour in an outage at
//     Stripe): the reconciler asks only after its grace, and an intent not
//     yet searchable then is missed (it holds the payer's funds until
//     Stripe's authorisation lapses, seven days for most cards; nothing is
//     captured). A list by creation time would be consistent but needs the
//     payment's time, which the finder is not given.
//   - Amounts are our ISO 4217 minor units; see stripeExponent for the
//     currencies where Stripe counts otherwise.
//   - ParseWebhook verifies with stripe-go's webhook package and applies the
//     300 s tolerance itself against the given clock, both ways (stripe-go's
//     own check uses the wall clock and lets a future timestamp through).
//     It does not deduplicate: the same event parses the same every time, and
//     the caller drops repeats by Event.ID (the hooks inbox does).
//   - Events are read whatever API version the merchant's endpoint uses
//     (stripe-go's version check is off): only fields that have been stable
//     across versions are read (ids, amount, currency, metadata, status,
//     last_payment_error, amount_refunded, reason).
package stripe
