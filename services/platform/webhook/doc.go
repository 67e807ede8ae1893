// Package webhook holds the parts of webhook delivery that do not touch the
// database or the broker: endpoint secrets, Standard Webhooks signing and
// verification (https://www.standardwebhooks.com), the retry schedule, an
// HTTP client that refuses to connect to internal addresses and to our own
// listeners (SSRF), the one URL policy of everything we call for merchants
// (TargetPolicy), and a single delivery attempt whose failure the merchant
// sees only as a fixed text (DescribeError).
//
// A delivery worker uses it as follows:
//
//	clients := webhook.NewClients(policy, webhook.ClientOptions{})
//	h := webhook.Headers(evt.ID, time.Now(), body, secrets...)
//	res := webhook.Deliver(ctx, clients.For(endpoint.Org, endpoint.Live), endpoint.URL, h, body)
//	if res.Err != nil { // log res.Err; show the merchant res.Message
//		next, ok := webhook.NextAttempt(attempts, time.Now())
//		…
//	}
package webhook
