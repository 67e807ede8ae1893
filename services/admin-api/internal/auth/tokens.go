package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/apikey"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
)

// Access tokens stand for an API key on surfaces whose clients exchange a
// key pair for a bearer token first (seed 003's POST /auth/token): HS256 JWTs
// signed with a key from configuration (ACCESS_TOKEN_SIGNING_KEY). A token
// names the key (sub) and expires after TokenTTL; every request re-reads the
// key, so that revoking it ends its tokens at once.
const (
	// TokenTTL is short, as a token cannot be revoked by itself: a stolen
	// one is good for an hour at most (seed 003's clients ask for a new one
	// when they get a 401).
	TokenTTL = time.Hour
	// MinTokenKeyLen: HS256 wants a key of at least its 256-bit output.
	MinTokenKeyLen = 32
	tokenIssuer    = "tillpoint"
	tokenAudience  = "tillpoint-api"
)

// Tokens signs and verifies access tokens with Key.
type Tokens struct {
	Key []byte
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// tokenClaims are the claims of an access token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Livemode bool `json:"livemode"`
}

// Issue exchanges a key pair (the key's id, `key_…`, and its secret) for
// an access token. The pair must match and the key must not be revoked;
// every failure is the same 401, so that it tells nothing about which part
// was wrong. Failures count against the address's limit of failed
// authentications, as bad keys do.
func (a *Authenticator) Issue(ctx context.Context, keyID, secret string) (token string, expires time.Time, err error) {
	addr := ratelimit.AddrKey(clientAddr(ctx, a.TrustedProxies))
	if err := a.Limits.beforeAuth(ctx, addr); err != nil {
		return "", time.Time{}, err
	}
	token, expires, err = a.issue(ctx, keyID, secret)
	if err != nil {
		return "", time.Time{}, a.Limits.authFailed(ctx, addr, err)
	}
	return token, expires, nil
}

func (a *Authenticator) issue(ctx context.Context, keyID, secret string) (token string, expires time.Time, err error) {
	if a.Tokens == nil {
		return "", time.Time{}, errs.E(errs.Unavailable, "access_tokens_disabled", "Access tokens are not configured on this server.")
	}
	bad := errs.E(errs.Unauthenticated, "client_credentials_invalid", "Invalid client id or client secret.")
	if _, ok := apikey.Parse(secret); !ok {
		return "", time.Time{}, bad
	}
	k, err := a.Store.CachedAPIKey(ctx, apikey.Hash(secret))
	switch {
	case store.IsNoRows(err):
		return "", time.Time{}, bad
	case err != nil:
		return "", time.Time{}, store.Wrap(err, "look up api key")
	case subtle.ConstantTimeCompare([]byte(k.ID), []byte(keyID)) != 1:
		return "", time.Time{}, bad
	case k.RevokedAt != nil:
		return "", time.Time{}, errs.E(errs.Unauthenticated, "api_key_revoked", "This API key was revoked.")
	}
	now := a.Tokens.now()
	expires = now.Add(TokenTTL)
	claims := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: tokenIssuer, Audience: jwt.ClaimStrings{tokenAudience},
		Subject: k.ID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(expires)}, Livemode: k.Livemode}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.Tokens.Key)
	if err != nil {
		return "", time.Time{}, errs.Wrap(err, "sign access token")
	}
	return token, expires, nil
}

// looksLikeToken tells an access token (three dot-separated parts) from a
// secret key.
func looksLikeToken(s string) bool { return strings.Count(s, ".") == 2 }

// authenticateToken resolves an access token to its key's principal.
func (a *Authenticator) authenticateToken(ctx context.Context, raw string) (Principal, error) {
	invalid := errs.E(errs.Unauthenticated, "access_token_invalid", "Invalid access token: get a new one from POST /auth/token.")
	if a.Tokens == nil {
		return Principal{}, invalid
	}
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.Tokens.Key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(tokenAudience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.Tokens.now))
	if errors.Is(err, jwt.ErrTokenExpired) {
		return Principal{}, errs.E(errs.Unauthenticated, "access_token_expired", "The access token expired: get a new one from POST /auth/token.")
	} else if err != nil {
		return Principal{}, invalid
	}
	k, err := a.Store.CachedAPIKeyByID(ctx, claims.Subject)
	switch {
	case store.IsNoRows(err):
		return Principal{}, invalid
	case err != nil:
		return Principal{}, store.Wrap(err, "look up api key")
	case k.RevokedAt != nil:
		return Principal{}, errs.E(errs.Unauthenticated, "api_key_revoked", "The API key of this access token was revoked.")
	case k.Livemode != claims.Livemode:
		return Principal{}, invalid
	}
	return a.touched(ctx, k)
}
