package grpcx

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Metadata keys that carry the merchant a forwarded call acts for. admin-api
// authenticates the merchant's key, then calls another service's copy of the
// API with these; they are trusted only on the internal listener, behind
// InternalAuth.
const (
	organizationKey = "x-tillpoint-organization"
	livemodeKey     = "x-tillpoint-livemode"
)

// ForPrincipal returns ctx carrying the organization and mode to the
// service it calls.
func ForPrincipal(ctx context.Context, organizationID string, livemode bool) context.Context {
	mode := "false"
	if livemode {
		mode = "true"
	}
	return metadata.AppendToOutgoingContext(ctx, organizationKey, organizationID, livemodeKey, mode)
}

// PrincipalFromMetadata reads what ForPrincipal sent.
func PrincipalFromMetadata(ctx context.Context) (organizationID string, livemode bool, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	orgs, modes := md.Get(organizationKey), md.Get(livemodeKey)
	if len(orgs) != 1 || orgs[0] == "" || len(modes) != 1 || (modes[0] != "true" && modes[0] != "false") {
		return "", false, errs.E(errs.Unauthenticated, "principal_missing", "The call does not say which organization it is for.")
	}
	return orgs[0], modes[0] == "true", nil
}
