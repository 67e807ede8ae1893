package callback

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// DefaultSecretTTL is how long a fetched webhook secret (or an account's
// absence) is reused: providers send bursts of events per account, and a
// minute keeps admin-api out of each one while a rotated secret or a new
// account takes effect soon.
const DefaultSecretTTL = time.Minute

// maxCachedAccounts bounds the cache: ids in URLs are the sender's choice,
// so unknown ones must not grow it without end. Past it, the cache restarts.
const maxCachedAccounts = 10000

// cachedAccount is an account as admin-api described it, or its absence.
type cachedAccount struct {
	found    bool // an account of the provider asked for
	livemode bool
	secret   string
	expires  time.Time
}

// errAccountsUnavailable: admin-api could not be asked; the provider should retry.
var errAccountsUnavailable = errors.New("provider accounts unavailable")

// accountCache holds the provider accounts hooks fetched from admin-api, by
// id, for a TTL.
type accountCache struct {
	mu sync.Mutex
	m  map[string]cachedAccount
}

// signingSecret picks, from an account's credentials, the secret its
// provider signs webhooks with: the webhook secret (Stripe, GoCardless), or
// the secret key itself (Paystack).
type signingSecret func(*internalapiv1.GetProviderAccountCredentialsResponse) string

func webhookSecret(c *internalapiv1.GetProviderAccountCredentialsResponse) string {
	return c.GetWebhookSecret()
}

// lookup returns the account's mode and signing secret, from the cache or
// admin-api. An unknown or deleted account, or one of another provider than
// providerName, is found=false; only admin-api being unreachable is an error.
func (a *accountCache) lookup(ctx context.Context, accounts internalapiv1.ProviderAccountServiceClient, id, providerName string,
	secretOf signingSecret, ttl time.Duration) (cachedAccount, error) {
	now := time.Now()
	a.mu.Lock()
	c, ok := a.m[id]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := accounts.GetProviderAccountCredentials(ctx, &internalapiv1.GetProviderAccountCredentialsRequest{AccountId: id})
	switch status.Code(err) {
	case codes.OK:
		c = cachedAccount{found: resp.GetProvider() == providerName && secretOf(resp) != "",
			livemode: resp.GetLivemode(), secret: secretOf(resp)}
	case codes.NotFound, codes.InvalidArgument:
		c = cachedAccount{}
	default:
		// Only the code: a status message is admin-api's and never holds a
		// secret, but there is nothing more the log needs.
		return cachedAccount{}, errors.Join(errAccountsUnavailable, errors.New(status.Code(err).String()))
	}
	if !c.found {
		c.secret = ""
	}
	if ttl <= 0 {
		ttl = DefaultSecretTTL
	}
	c.expires = now.Add(ttl)
	a.mu.Lock()
	if a.m == nil || len(a.m) >= maxCachedAccounts {
		a.m = make(map[string]cachedAccount)
	}
	a.m[id] = c
	a.mu.Unlock()
	return c, nil
}

// webhookRoute is what the webhook routes of the providers with accounts
// (/hooks/{provider}/{account}) share: the provider's name ("stripe") and
// its name for people ("Stripe"), the secret it signs with, the largest
// body it sends, and where the accounts are looked up.
type webhookRoute struct {
	name, label string
	secretOf    signingSecret
	maxBody     int64
	accounts    internalapiv1.ProviderAccountServiceClient
	cache       *accountCache
	ttl         time.Duration
	logger      *slog.Logger
}

// open resolves the route's {account} and reads the body. It answers the
// request itself and returns ok=false when it cannot go on: 404 for an
// unknown account or one of another provider, 503 when admin-api cannot be
// asked (the provider retries), 413 or 400 for the body.
func (rt webhookRoute) open(w http.ResponseWriter, r *http.Request) (cachedAccount, []byte, bool) {
	ctx := r.Context()
	accountID := r.PathValue("account")
	noAccount := func() {
		httpx.WriteError(w, http.StatusNotFound, httpx.TypeInvalidRequest, "provider_account_unknown", "account",
			"No such "+rt.label+" provider account.")
	}
	if !ids.HasPrefix(accountID, "pa") {
		noAccount()
		return cachedAccount{}, nil, false
	}
	acct, err := rt.cache.lookup(ctx, rt.accounts, accountID, rt.name, rt.secretOf, rt.ttl)
	if errors.Is(err, errAccountsUnavailable) {
		rt.logger.ErrorContext(ctx, rt.name+" webhook: provider account lookup failed", "account", accountID, "err", err)
		httpx.WriteError(w, http.StatusServiceUnavailable, httpx.TypeAPI, "unavailable", "", "The callback could not be verified now; retry it.")
		return acct, nil, false
	}
	if !acct.found {
		rt.logger.WarnContext(ctx, rt.name+" webhook for an unknown account", "account", accountID)
		noAccount()
		return acct, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rt.maxBody))
	if err != nil {
		if !httpx.RespondTooLarge(w, r, err) {
			httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "body_unreadable", "", "The request body could not be read.")
		}
		return acct, nil, false
	}
	return acct, body, true
}
