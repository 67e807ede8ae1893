package provider

import "slices"

// cascadeDeclines are the decline codes after which a session with
// fallback pricing tiers (seed 002's cascade_line_items) offers the payer
// its next tier: declines of the payer's bank about this charge, which a
// smaller charge may pass. card_declined is the generic decline (Stripe's
// generic_decline and do_not_honor, among others, become it). Declines about
// what the payer typed (number, expiry, CVC), authentication and test-mode
// refusals are not: a cheaper tier would be declined the same way. This is
// the only list; provider errors (timeouts, outages) are not declines and
// belong to routing, not to cascades.
var cascadeDeclines = []string{DeclineCardDeclined, DeclineInsufficientFunds}

// CascadeRetryable reports whether a payment declined with code lets a
// session move to its next cascade tier.
func CascadeRetryable(code string) bool { return slices.Contains(cascadeDeclines, code) }
