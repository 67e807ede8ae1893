package callback

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
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

// lookup returns the account's mode and webhook secret, from the cache or
// admin-api. An unknown or deleted account, or one of another provider than
// providerName, is found=false; only admin-api being unreachable is an error.
func (a *accountCache) lookup(ctx context.Context, accounts internalapiv1.ProviderAccountServiceClient, id, providerName string, ttl time.Duration) (cachedAccount, error) {
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
		c = cachedAccount{found: resp.GetProvider() == providerName && resp.GetWebhookSecret() != "",
			livemode: resp.GetLivemode(), secret: resp.GetWebhookSecret()}
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
