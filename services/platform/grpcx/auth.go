package grpcx

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/textproto"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/logging"
)

// InternalTokenKey is the metadata key of the token that authenticates calls
// on the internal listener.
const InternalTokenKey = "x-tillpoint-internal-token"

// tokenChecker compares a presented token with the configured ones in
// constant time. All are hashed first so that neither the comparison's time
// nor its early exit on unequal lengths tells anything about a token, and
// the presented one is compared with every configured one, so that the time
// does not tell which matched.
type tokenChecker struct {
	want [][sha256.Size]byte
}

// newTokenChecker accepts tokens; empty ones are left out, so that an empty
// configured token admits nobody rather than a caller sending none.
func newTokenChecker(tokens []string) tokenChecker {
	var t tokenChecker
	for _, tok := range tokens {
		if tok != "" {
			t.want = append(t.want, sha256.Sum256([]byte(tok)))
		}
	}
	return t
}

func (t tokenChecker) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get(InternalTokenKey)
	// No configured token fails closed rather than letting anyone in.
	if len(t.want) == 0 || len(got) != 1 {
		return unauthenticated()
	}
	h := sha256.Sum256([]byte(got[0]))
	match := 0
	for _, w := range t.want {
		match |= subtle.ConstantTimeCompare(h[:], w[:])
	}
	if match != 1 {
		return unauthenticated()
	}
	return nil
}

func unauthenticated() error {
	return ErrorStatus(errs.E(errs.Unauthenticated, "invalid_internal_token",
		"Missing or invalid internal token.")).Err()
}

// InternalAuth returns a unary interceptor for the internal listener that
// admits only calls whose x-tillpoint-internal-token metadata equals one of
// tokens (compared in constant time: config.Common.InternalTokens, the
// current token and those accepted during a rotation) and answers
// Unauthenticated otherwise. Empty tokens admit nobody. Put it in
// Chain.Inner.
func InternalAuth(tokens ...string) grpc.UnaryServerInterceptor {
	t := newTokenChecker(tokens)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := t.check(ctx); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// InternalAuthStream is InternalAuth for streaming calls.
func InternalAuthStream(tokens ...string) grpc.StreamServerInterceptor {
	t := newTokenChecker(tokens)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := t.check(ss.Context()); err != nil {
			return err
		}
		return h(srv, ss)
	}
}

// SingleMetadata returns a unary interceptor refusing (InvalidArgument, 400
// over REST) a call that carries any of keys more than once, naming it as the
// HTTP header it comes from ("Authorization"). Handlers read the first value
// of a key; a request with two Authorization headers, or two
// Idempotency-Keys, is ambiguous (a proxy may have added one, or the client
// may believe the other is used), and guessing would act on a request the
// caller did not mean. Put it in Chain.Inner before authentication.
func SingleMetadata(keys ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		for _, key := range keys {
			if n := len(md.Get(key)); n > 1 {
				name := textproto.CanonicalMIMEHeaderKey(key)
				return nil, errs.Param(name, "header_duplicate", "The %s header was sent %d times; send it once.", name, n)
			}
		}
		return h(ctx, req)
	}
}

// internalToken sends the internal token with every call.
type internalToken string

// InternalToken returns per-call credentials sending token as
// x-tillpoint-internal-token; use it with grpc.WithPerRPCCredentials. They do
// not require transport security: the internal listener lives on the
// cluster network (add TLS there when the network is not trusted).
func InternalToken(token string) credentials.PerRPCCredentials { return internalToken(token) }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t internalToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{InternalTokenKey: string(t)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (internalToken) RequireTransportSecurity() bool { return false }

// PropagateRequestID is a client interceptor sending the context's request
// id (logging.RequestID) as x-request-id, so one id follows a request across
// services. Install it with grpc.WithChainUnaryInterceptor.
func PropagateRequestID() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if id := logging.RequestID(ctx); id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, RequestIDKey, id)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}
