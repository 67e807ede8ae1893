package auth

import (
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// Reads are the methods bound to an HTTP GET; everything else, unknown
// methods included, is a write.
func TestIsWrite(t *testing.T) {
	for method, want := range map[string]bool{
		adminv1.CheckoutSessionService_CreateCheckoutSession_FullMethodName: true,
		adminv1.CheckoutSessionService_ExpireCheckoutSession_FullMethodName: true,
		adminv1.WebhookEndpointService_DeleteWebhookEndpoint_FullMethodName: true,
		adminv1.ApiKeyService_RevokeApiKey_FullMethodName:                   true,
		adminv1.CheckoutSessionService_GetCheckoutSession_FullMethodName:    false,
		adminv1.CheckoutSessionService_ListCheckoutSessions_FullMethodName:  false,
		adminv1.WebhookEndpointService_GetNotifySecret_FullMethodName:       false,
		"/tillpoint.admin.v1.Nothing/Here":                                  true,
		"garbage":                                                           true,
	} {
		if got := isWrite(method); got != want {
			t.Errorf("isWrite(%s) = %v, want %v", method, got, want)
		}
	}
}
