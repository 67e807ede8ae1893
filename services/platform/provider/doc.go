// Package provider is the payment-provider layer: checkout-runtime authorises,
// captures and voids through a [Provider], and hooks verifies and parses the
// providers' signed callbacks with [Verify] and [ParseCallback].
//
// Two providers exist today, both found through a [Registry]:
//
//   - "test" ([Test]): test mode only. It accepts the documented test cards
//     ([TestCards]) and nothing else, so a real card number typed into a test
//     page is refused (test_card_unknown) rather than "working".
//   - "bank_transfer" ([BankTransfer]): the payer is shown instructions with the
//     session reference; the money is confirmed later by a signed
//     funds.received callback from the bank feed, or by an admin.
//
// # Card data
//
// Card numbers never leave this package: a [Result] carries only the brand and
// the last four digits. [Card] formats itself redacted through every fmt verb
// (it is an [fmt.Formatter], so %d or %x cannot reach its fields either),
// through log/slog ([slog.LogValuer]) and through encoding/json. Card data is
// never stored, not even hashed: a hash of a 16-digit number with a known
// prefix is cheap to reverse. Live mode never sends card numbers to our
// servers at all (PCI DSS SAQ A), which is why the test provider declines live
// requests before it looks at the card.
//
// # Decisions the brief left open
//
//   - Outcome starts at 1: the zero Result is not "authorised".
//   - Every test authorisation gets a reference, declines included, so support
//     can find an attempt; only authorised (or pending) ones can be captured.
//   - Capture may take less than the authorised amount, never more; a repeated
//     Capture with the same amount succeeds (retries are safe), with another
//     amount it fails. Void is idempotent too. A Pending test authorisation may
//     be captured or voided like an authorised one, so the runtime treats both
//     paths alike.
//   - Authorize is not idempotent by payment id: each call is a new attempt
//     with a new reference (a retry after a decline is a new attempt). The
//     runtime's payment rows, not the provider, make one capture per session.
//   - Refund gives back part or all of a captured payment; the refunds of a
//     reference never total more than its capture, and a repeated refund id
//     (ours, re_…) with the same amount answers as the first call did, so a
//     refund the runtime left pending after a crash is settled by asking
//     again. The test provider takes a reference recalled from another
//     process as captured in full (the runtime only refunds payments it
//     recorded captured, and its tables bound the total); a bank transfer's
//     refund is recorded as sent by the merchant and succeeds at once.
//   - CompleteChallenge is first-decision-wins: a repeated call returns the
//     recorded result, as a double-submitted 3-D Secure form would.
//   - The test provider keeps its references in memory for seven days (as a
//     card network lets an authorisation lapse) and at most 100 000 of them.
//     Each reference also records the authorisation as issued (state, amount,
//     issue time, brand, last four digits), so another replica, or the same
//     one after a restart, carries it on: a challenge completed elsewhere or a
//     late capture works. What happened to it since in another process is not
//     known here; the runtime's own tables enforce one capture per session.
//   - Card numbers may contain spaces and hyphens; expiry is "MM/YY" (also
//     "MM/YYYY", spaces ignored) and is valid to the end of that month, UTC.
//   - Callback signatures use the Stripe-style header "t=…,v1=…": unknown
//     schemes in the header are ignored (so a v2 can be added), several v1
//     entries let the sender sign with an old and a new secret during
//     rotation, and [VerifyAny] lets the receiver hold both during rotation.
//   - ParseCallback upper-cases currencies and requires a real ISO 4217 code;
//     ids and references must be printable ASCII without spaces (they end up
//     in logs and database keys).
package provider
