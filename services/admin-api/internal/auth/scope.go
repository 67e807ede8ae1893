package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// MetadataAccount is the gRPC metadata key by which a caller states the
// organization it means to act on: surfaces whose routes name the account
// (PaymentKit's /api/{account_id}/…) send it. It only narrows: REST never
// forwards it from a client, and a gRPC caller that sets it can reach no
// more than its key allows.
const MetadataAccount = "tillpoint-account-id"

// AccountScope is the interceptor, after the Authenticator, that answers a
// call stating another organization than its key's (MetadataAccount) with
// 404 naming `account_id`, exactly as for an account that does not exist:
// a key never learns that another organization exists (invariant 3).
func AccountScope(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, acct := range md.Get(MetadataAccount) {
		if acct != FromContext(ctx).OrganizationID {
			return nil, errs.NotFoundf("account_id", "No such account: '%s'.", acct)
		}
	}
	return handler(ctx, req)
}
