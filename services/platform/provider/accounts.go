package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// Credentials are one provider account's decrypted credentials. They are
// never logged: the type has no String method and callers log AccountID only.
type Credentials struct {
	AccountID      string // pa_…
	Provider       string // "stripe"
	OrganizationID string
	Livemode       bool
	SecretKey      string
	PublishableKey string
	WebhookSecret  string
	// ReusableMandate (GoCardless): each payment also asks the payer for a
	// mandate the merchant may charge again.
	ReusableMandate bool
}

// CredentialSource fetches an account's credentials (admin-api's internal
// RPC in the runtime, see GRPCCredentials).
type CredentialSource func(ctx context.Context, accountID string) (Credentials, error)

// Factory builds the provider for one account from its credentials (the
// Stripe adapter's is stripe.Factory).
type Factory func(Credentials) (Provider, error)

// ErrNoAccountProvider: the account's provider has no factory here.
var ErrNoAccountProvider = errors.New("provider: no adapter for this account's provider")

// accountTTL is how long a built account provider is reused: a payment's
// few calls (authorise, capture) share one, while a key the merchant
// rotated or an account it deleted takes effect within a minute.
const accountTTL = time.Minute

// accounts caches the providers built per account.
type accounts struct {
	source    CredentialSource
	factories map[string]Factory
	now       func() time.Time

	mu    sync.Mutex
	built map[string]builtAccount
}

type builtAccount struct {
	p       Provider
	expires time.Time
}

// WithAccounts lets r build providers for merchants' provider accounts
// (ForAccount): credentials come from source, adapters from factories by
// provider name. Call it once at start-up, before r is shared.
func (r *Registry) WithAccounts(source CredentialSource, factories map[string]Factory) *Registry {
	r.accounts = &accounts{source: source, factories: factories, now: time.Now, built: map[string]builtAccount{}}
	return r
}

// ForAccount returns the provider for the provider account accountID,
// building it from the account's credentials when it is not cached (at most
// accountTTL old). Errors name the account, never its credentials.
func (r *Registry) ForAccount(ctx context.Context, accountID string) (Provider, error) {
	a := r.accounts
	if a == nil {
		return nil, fmt.Errorf("provider: account %s: this registry has no account source", accountID)
	}
	now := a.now()
	a.mu.Lock()
	if b, ok := a.built[accountID]; ok && now.Before(b.expires) {
		a.mu.Unlock()
		return b.p, nil
	}
	a.mu.Unlock()
	creds, err := a.source(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("provider: account %s: credentials: %w", accountID, err)
	}
	factory, ok := a.factories[creds.Provider]
	if !ok {
		return nil, fmt.Errorf("%w: account %s is %q", ErrNoAccountProvider, accountID, creds.Provider)
	}
	p, err := factory(creds)
	if err != nil {
		return nil, fmt.Errorf("provider: account %s: %w", accountID, err)
	}
	a.mu.Lock()
	a.built[accountID] = builtAccount{p: p, expires: now.Add(accountTTL)}
	a.mu.Unlock()
	return p, nil
}

// GRPCCredentials is a CredentialSource over admin-api's internal
// ProviderAccountService.
func GRPCCredentials(c internalapiv1.ProviderAccountServiceClient) CredentialSource {
	return func(ctx context.Context, accountID string) (Credentials, error) {
		resp, err := c.GetProviderAccountCredentials(ctx, &internalapiv1.GetProviderAccountCredentialsRequest{AccountId: accountID})
		if err != nil {
			return Credentials{}, err
		}
		return Credentials{AccountID: resp.GetAccountId(), Provider: resp.GetProvider(), OrganizationID: resp.GetOrganizationId(),
			Livemode: resp.GetLivemode(), SecretKey: resp.GetSecretKey(), PublishableKey: resp.GetPublishableKey(),
			WebhookSecret: resp.GetWebhookSecret(), ReusableMandate: resp.GetReusableMandate()}, nil
	}
}
