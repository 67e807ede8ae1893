// Package webhook holds the parts of webhook delivery that do not touch the
// database or the broker: endpoint secrets, Standard Webhooks signing and
// verification (https://www.standardwebhooks.com), the retry schedule, an
// HTTP client that refuses to connect to internal addresses (SSRF), endpoint
// URL validation, and a single delivery attempt.
//
// A delivery worker uses it as follows:
//
//	client := webhook.NewClient(webhook.ClientOptions{AllowPrivate: cfg.DevStack})
//	h := webhook.Headers(evt.ID, time.Now(), body, secrets...)
//	res := webhook.Deliver(ctx, client, endpoint.URL, h, body)
//	if res.Err != nil {
//		next, ok := webhook.NextAttempt(attempts, time.Now())
//		…
//	}
package webhook
