// Package auth authenticates merchant API calls by organization secret key,
// given in one of two forms: `authorization: Bearer sk_…`, or a key pair —
// the key's public id (`key_…`) in `x-api-key` and its secret in
// `x-api-secret` (PayPorter's X-API-KEY and X-API-SECRET headers). Both
// resolve the same principal under the same revocation and mode rules. It
// runs as a gRPC interceptor, so REST (through the gateway's in-process
// connection), the surfaces and gRPC share it. An access token issued for a
// key (tokens.go) stands for the key.
package auth

import (
	"context"
	"crypto/subtle"
	"net/netip"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/apikey"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
)

// Principal is the authenticated caller: an organization in one mode, acting
// through an API key (KeyID) or, in the dashboard, as a signed-in user (UserID).
type Principal struct {
	OrganizationID string
	Livemode       bool
	KeyID          string
	UserID         string
	// UserEmail is the dashboard user's email, for the audit log.
	UserEmail string
	// ClientAddr is where the call came from (the interceptor sets it),
	// for the audit log; invalid when unknown.
	ClientAddr netip.Addr
}

// limitKey is who the per-caller rate limits count: the key, or the user.
func (p Principal) limitKey() string {
	if p.KeyID != "" {
		return p.KeyID
	}
	return "user:" + p.UserID
}

// Metadata keys of the key-pair credential form.
const (
	MetadataKeyID     = "x-api-key"
	MetadataKeySecret = "x-api-secret"
)

type ctxKey struct{}

// trustedKey marks a principal set by in-process code (AsUser), which the
// interceptor accepts instead of an API key. A gRPC or REST request cannot
// put a Go value in its context, so only admin-api's own code can set it.
type trustedKey struct{}

// AsUser returns ctx for a call through admin-api's in-process connection on
// behalf of a dashboard user that the caller has already authenticated and
// authorised: the interceptor takes p as the caller instead of looking for
// an API key, and every other interceptor (validation, idempotency, rate
// limits) runs as for a key.
func AsUser(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, trustedKey{}, p)
}

// FromContext returns the caller; handlers behind the interceptor always have one.
func FromContext(ctx context.Context) Principal {
	p, _ := ctx.Value(ctxKey{}).(Principal)
	return p
}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// touchEvery: last_used_at is precise to this, so that authentication is a
// read, not a write, on all but one request a minute per key.
const touchEvery = time.Minute

// Authenticator checks bearer secret keys against the store, and applies
// the rate limits.
type Authenticator struct {
	Store *store.Store
	// Limits are the rate limits; the zero value limits nothing.
	Limits Limits
	// TrustedProxies may name, in gRPC metadata, the client of a call they
	// forward (REST calls get their address from the HTTP edge).
	TrustedProxies *httpx.TrustedProxies
	// Tokens verifies access tokens (tokens.go); nil accepts none.
	Tokens *Tokens
}

// Unary is the interceptor: every method of the services it guards needs a
// key, and is counted against the limits.
func (a *Authenticator) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	client := clientAddr(ctx, a.TrustedProxies)
	addr := ratelimit.AddrKey(client)
	p, trusted := ctx.Value(trustedKey{}).(Principal)
	if !trusted {
		if err := a.Limits.beforeAuth(ctx, addr); err != nil {
			return nil, err
		}
		var err error
		if p, err = a.authenticate(ctx); err != nil {
			return nil, a.Limits.authFailed(ctx, addr, err)
		}
	}
	if err := a.Limits.request(ctx, info.FullMethod, p, addr); err != nil {
		return nil, err
	}
	p.ClientAddr = client
	return handler(WithPrincipal(ctx, p), req)
}

func (a *Authenticator) authenticate(ctx context.Context) (Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get(MetadataKeyID)) > 0 || len(md.Get(MetadataKeySecret)) > 0 {
		return a.keyPair(ctx, md)
	}
	vals := md.Get("authorization")
	if len(vals) == 0 || vals[0] == "" {
		return Principal{}, errs.E(errs.Unauthenticated, "api_key_missing",
			"No API key provided. Send it as a bearer token: 'Authorization: Bearer sk_test_…'.")
	}
	secret, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok {
		return Principal{}, errs.E(errs.Unauthenticated, "api_key_invalid",
			"The Authorization header must be 'Bearer' followed by a secret key.")
	}
	secret = strings.TrimSpace(secret)
	if looksLikeToken(secret) {
		return a.authenticateToken(ctx, secret)
	}
	if _, ok := apikey.Parse(secret); !ok {
		return Principal{}, errs.E(errs.Unauthenticated, "api_key_invalid", "Invalid API key provided: "+redact(secret)+".")
	}
	k, err := a.Store.CachedAPIKey(ctx, apikey.Hash(secret))
	if store.IsNoRows(err) {
		return Principal{}, errs.E(errs.Unauthenticated, "api_key_invalid", "Invalid API key provided: "+redact(secret)+".")
	}
	return a.principal(ctx, k, err, secret)
}

// keyPair authenticates the key-pair form: the secret finds the key, whose
// id must be the one given (compared in constant time). A wrong or unknown
// secret and a mismatched pair get the same answer, which names neither.
func (a *Authenticator) keyPair(ctx context.Context, md metadata.MD) (Principal, error) {
	keyIDs, secrets := md.Get(MetadataKeyID), md.Get(MetadataKeySecret)
	if len(keyIDs) == 0 || keyIDs[0] == "" || len(secrets) == 0 || secrets[0] == "" {
		return Principal{}, errs.E(errs.Unauthenticated, "api_key_missing",
			"Send both X-API-KEY (the key's id, key_…) and X-API-SECRET (its secret, sk_…).")
	}
	id, secret := strings.TrimSpace(keyIDs[0]), strings.TrimSpace(secrets[0])
	invalid := errs.E(errs.Unauthenticated, "api_key_invalid", "Invalid API key pair: X-API-KEY "+redactID(id)+" with X-API-SECRET "+redact(secret)+".")
	if _, ok := apikey.Parse(secret); !ok {
		return Principal{}, invalid
	}
	k, err := a.Store.CachedAPIKey(ctx, apikey.Hash(secret))
	if store.IsNoRows(err) || (err == nil && subtle.ConstantTimeCompare([]byte(k.ID), []byte(id)) != 1) {
		return Principal{}, invalid
	}
	return a.principal(ctx, k, err, secret)
}

// principal is the caller of the key k found for secret (err: the look-up's
// error): refused when revoked, and its last use recorded.
func (a *Authenticator) principal(ctx context.Context, k db.AdminApiKey, err error, secret string) (Principal, error) {
	switch {
	case err != nil:
		return Principal{}, store.Wrap(err, "look up api key")
	case k.RevokedAt != nil:
		return Principal{}, errs.E(errs.Unauthenticated, "api_key_revoked", "This API key was revoked: "+redact(secret)+".")
	}
	return a.touched(ctx, k)
}

// touched is the caller using key k (not revoked), whose last use is
// recorded (at most once per touchEvery).
func (a *Authenticator) touched(ctx context.Context, k db.AdminApiKey) (Principal, error) {
	if k.LastUsedAt == nil || time.Since(*k.LastUsedAt) > touchEvery {
		if err := a.Store.TouchAPIKey(ctx, k.ID); err != nil {
			return Principal{}, store.Wrap(err, "touch api key")
		}
		now := time.Now()
		k.LastUsedAt = &now // k is a copy: the cached row is not changed in place
		a.Store.UpdateCachedAPIKey(k)
	}
	return Principal{OrganizationID: k.OrganizationID, Livemode: k.Livemode, KeyID: k.ID}, nil
}

// redactID shows a key id given with a pair: ids are not secret, but the
// header may hold anything, so only the shape of a key id is echoed.
func redactID(id string) string {
	if !ids.HasPrefix(id, "key") {
		return "(not a key id)"
	}
	return id
}

// redact keeps the mode prefix and the last four characters, as a person
// needs to tell which key they sent, and nothing a log reader could use.
func redact(secret string) string {
	if len(secret) < 12 {
		return "****"
	}
	return secret[:8] + "****" + secret[len(secret)-4:]
}
