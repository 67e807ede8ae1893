package routing

import (
	"context"
	"errors"
	"slices"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// retryableDeclines are, per provider, the decline codes that say the
// provider or the issuer failed, not the payer: the same payer action may
// go on to the next account of the route. Anything else a provider declines
// for (insufficient_funds, stolen_card, incorrect_cvc, do_not_honor,
// authentication_failed, …) is the payer's own and is never cascaded: a
// second acquirer would refuse it too, or worse, accept what the issuer
// meant to stop. docs/routing.md carries the same table; an adapter that
// joins adds its row here.
var retryableDeclines = map[string][]string{
	// Every provider: our normalised codes for a provider-side failure.
	"": {provider.DeclineProcessingError, provider.DeclineIssuerUnavailable},
	// The test provider: card 4000 0000 0000 0119 declines its first
	// attempt with processing_error.
	provider.NameTest: {provider.DeclineProcessingError},
	// Stripe's decline_codes that Stripe itself documents as "try again".
	provider.NameStripe: {"processing_error", "issuer_not_available", "try_again_later", "reenter_transaction"},
}

// RetryableDeclines lists the decline codes of prov that cascade (the
// codes of every provider first), for documentation and tests.
func RetryableDeclines(prov string) []string {
	return append(slices.Clone(retryableDeclines[""]), retryableDeclines[prov]...)
}

// Retryable reports whether an attempt on an account of prov that ended
// with res or err may be tried again on the next account. An error is the
// provider's or the account's (unreachable, 5xx, 429, timeout, refused
// credentials) and cascades, except a request no provider could accept
// (provider.ErrInvalidRequest) and the payer going away (context.Canceled).
// A Declined result cascades only with a code of RetryableDeclines.
func Retryable(prov string, res provider.Result, err error) bool {
	if err != nil {
		return !errors.Is(err, provider.ErrInvalidRequest) && !errors.Is(err, context.Canceled)
	}
	if res.Outcome != provider.Declined {
		return false
	}
	return slices.Contains(retryableDeclines[""], res.DeclineCode) || slices.Contains(retryableDeclines[prov], res.DeclineCode)
}
