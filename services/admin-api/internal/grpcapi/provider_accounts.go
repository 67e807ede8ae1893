package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/provideracct"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/paging"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
)

// maxAccountNameLen bounds an account's label.
const maxAccountNameLen = 100

// ProviderAccounts implements adminv1.ProviderAccountServiceServer.
type ProviderAccounts struct {
	adminv1.UnimplementedProviderAccountServiceServer
	Store *store.Store
	// Keys encrypt the credentials at rest.
	Keys *secretbox.Keyring
	// Stripe checks Stripe keys.
	Stripe provideracct.Stripe
	// GoCardless checks GoCardless access tokens.
	GoCardless provideracct.GoCardless
	// HooksBase is scheme://MAIN_BACKEND_DOMAIN, for webhook_url.
	HooksBase string
}

// CreateProviderAccount checks the credentials (shape, mode, then with the
// provider) and stores them encrypted.
func (s *ProviderAccounts) CreateProviderAccount(ctx context.Context, req *adminv1.CreateProviderAccountRequest) (*adminv1.CreateProviderAccountResponse, error) {
	p := auth.FromContext(ctx)
	if req.GetProvider() == "" {
		return nil, errs.Missing("provider")
	}
	if _, ok := provideracct.Providers[req.GetProvider()]; !ok {
		return nil, errs.Param("provider", "parameter_invalid", "Unknown provider %q; known: stripe, gocardless, paystack, test.", req.GetProvider())
	}
	name, err := accountName(req.GetName())
	if err != nil {
		return nil, err
	}
	meta, err := session.Metadata(req.GetMetadata())
	if err != nil {
		return nil, err
	}
	if err := checkMandate(req.GetProvider(), req.GetReusableMandate()); err != nil {
		return nil, err
	}
	var creds provideracct.Credentials
	if req.GetProvider() == provideracct.ProviderTest {
		if err := provideracct.CheckTestAccount(p.Livemode, req.GetCredentials() != nil); err != nil {
			return nil, err
		}
	} else {
		if req.GetCredentials() == nil {
			return nil, errs.Missing(provideracct.ParamSecretKey)
		}
		in := req.GetCredentials()
		creds = provideracct.Credentials{SecretKey: in.GetSecretKey(), PublishableKey: in.GetPublishableKey(), WebhookSecret: in.GetWebhookSecret()}
		if err := creds.Validate(req.GetProvider(), p.Livemode); err != nil {
			return nil, err
		}
		if err := s.check(ctx, req.GetProvider(), creds.SecretKey, p.Livemode); err != nil {
			return nil, err
		}
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	id := ids.New("pa")
	sealed, err := s.seal(creds, id, p.OrganizationID, p.Livemode)
	if err != nil {
		return nil, err
	}
	var resp *adminv1.CreateProviderAccountResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.CreateProviderAccount(ctx, db.CreateProviderAccountParams{ID: id, OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Provider: req.GetProvider(), Name: name, PublishableKey: creds.PublishableKey,
			SecretKeyLast4: provideracct.Last4(creds.SecretKey), WebhookSecretLast4: provideracct.Last4(creds.WebhookSecret),
			Credentials: sealed, Metadata: metaJSON, ReusableMandate: req.GetReusableMandate()})
		if err != nil {
			return store.Wrap(err, "create provider account")
		}
		out, err := s.proto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.CreateProviderAccountResponse{ProviderAccount: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// GetProviderAccount returns one of the caller's accounts.
func (s *ProviderAccounts) GetProviderAccount(ctx context.Context, req *adminv1.GetProviderAccountRequest) (*adminv1.GetProviderAccountResponse, error) {
	p := auth.FromContext(ctx)
	row, err := s.Store.GetProviderAccount(ctx, db.GetProviderAccountParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, accountErr(err, req.GetId())
	}
	out, err := s.proto(row)
	return &adminv1.GetProviderAccountResponse{ProviderAccount: out}, err
}

func accountErr(err error, id string) error {
	if store.IsNoRows(err) {
		return errs.NotFoundf("id", "No such provider account: '%s'.", id)
	}
	return store.Wrap(err, "get provider account")
}

// UpdateProviderAccount changes the name, metadata, credentials and
// disabled flag given.
// New credentials are merged with the stored ones and checked as a whole;
// a changed secret key is checked with the provider. The credentials are
// re-encrypted under the current key on every update, which is how rows
// move to a new key after a rotation.
func (s *ProviderAccounts) UpdateProviderAccount(ctx context.Context, req *adminv1.UpdateProviderAccountRequest) (*adminv1.UpdateProviderAccountResponse, error) {
	p := auth.FromContext(ctx)
	cur, err := s.Store.GetProviderAccount(ctx, db.GetProviderAccountParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, accountErr(err, req.GetId())
	}
	creds, err := s.open(cur)
	if err != nil {
		return nil, err
	}
	name, metaJSON, mandate, disabled := cur.Name, cur.Metadata, cur.ReusableMandate, cur.Disabled
	oldSecret := creds.SecretKey
	in := req.GetCredentials()
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "id":
		case "name":
			if name, err = accountName(req.GetName()); err != nil {
				return nil, err
			}
		case "metadata":
			meta, err := session.Metadata(req.GetMetadata())
			if err != nil {
				return nil, err
			}
			if metaJSON, err = json.Marshal(meta); err != nil {
				return nil, fmt.Errorf("metadata: %w", err)
			}
		case "credentials":
			// The whole object given at once (gRPC): each field set replaces.
			creds = mergeCredentials(creds, in, "secret_key", "publishable_key", "webhook_secret")
		case "reusable_mandate":
			if err := checkMandate(cur.Provider, req.GetReusableMandate()); err != nil {
				return nil, err
			}
			mandate = req.GetReusableMandate()
		case "disabled":
			// Only new payments stop: refunds and callbacks use the
			// credentials of a disabled account as before.
			disabled = req.GetDisabled()
		case "credentials.secret_key", "credentials.publishable_key", "credentials.webhook_secret":
			creds = mergeCredentials(creds, in, strings.TrimPrefix(path, "credentials."))
		default:
			return nil, errs.Param(strings.ReplaceAll(path, ".", "_"), "parameter_unknown", "Received unknown parameter: %s.", path)
		}
	}
	if cur.Provider == provideracct.ProviderTest {
		if creds != (provideracct.Credentials{}) {
			return nil, provideracct.CheckTestAccount(p.Livemode, true)
		}
	} else if err := creds.Validate(cur.Provider, p.Livemode); err != nil {
		return nil, err
	}
	if creds.SecretKey != oldSecret {
		if err := s.check(ctx, cur.Provider, creds.SecretKey, p.Livemode); err != nil {
			return nil, err
		}
	}
	sealed, err := s.seal(creds, cur.ID, p.OrganizationID, p.Livemode)
	if err != nil {
		return nil, err
	}
	var resp *adminv1.UpdateProviderAccountResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		// The checks above ran on cur, outside the transaction (Stripe is
		// called there): refuse rather than overwrite a change made meanwhile.
		locked, err := q.LockProviderAccount(ctx, db.LockProviderAccountParams{ID: cur.ID, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return accountErr(err, cur.ID)
		}
		if !locked.UpdatedAt.Equal(cur.UpdatedAt) {
			return errs.E(errs.Conflict, "resource_changed", "The provider account changed while this update was checked; retry it.")
		}
		row, err := q.UpdateProviderAccount(ctx, db.UpdateProviderAccountParams{ID: cur.ID, OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Name: name, Metadata: metaJSON, PublishableKey: creds.PublishableKey,
			SecretKeyLast4: provideracct.Last4(creds.SecretKey), WebhookSecretLast4: provideracct.Last4(creds.WebhookSecret),
			Credentials: sealed, ReusableMandate: mandate, Disabled: disabled})
		if err != nil {
			return store.Wrap(err, "update provider account")
		}
		out, err := s.proto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.UpdateProviderAccountResponse{ProviderAccount: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// checkMandate refuses a reusable mandate for a provider without mandates.
func checkMandate(providerName string, mandate bool) error {
	if mandate && providerName != "gocardless" {
		return errs.Param("reusable_mandate", "parameter_invalid", "Only GoCardless accounts take reusable mandates.")
	}
	return nil
}

// check asks the provider whether the secret key works: Stripe's balance,
// GoCardless's creditors. A Paystack key is checked by its shape and mode
// only (Validate): a wrong one shows at the first charge, which Paystack
// refuses with 401 (the payment fails as provider_error).
func (s *ProviderAccounts) check(ctx context.Context, providerName, secretKey string, live bool) error {
	switch providerName {
	case "gocardless":
		return s.GoCardless.Check(ctx, secretKey, live)
	case "paystack":
		return nil
	}
	return s.Stripe.Check(ctx, secretKey, live)
}

// mergeCredentials replaces the named fields of c by those given in in;
// an empty value given replaces too, so that Validate names it missing.
func mergeCredentials(c provideracct.Credentials, in *adminv1.ProviderCredentialsInput, fields ...string) provideracct.Credentials {
	for _, f := range fields {
		switch f {
		case "secret_key":
			c.SecretKey = in.GetSecretKey()
		case "publishable_key":
			c.PublishableKey = in.GetPublishableKey()
		case "webhook_secret":
			c.WebhookSecret = in.GetWebhookSecret()
		}
	}
	return c
}

// ListProviderAccounts pages through the caller's accounts.
func (s *ProviderAccounts) ListProviderAccounts(ctx context.Context, req *adminv1.ListProviderAccountsRequest) (*adminv1.ListProviderAccountsResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetProviderAccountSeq(ctx, db.GetProviderAccountSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListProviderAccounts(ctx, db.ListProviderAccountsParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list provider accounts")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListProviderAccountsResponse{Object: "list", HasMore: more, Url: "/v1/provider_accounts",
		Data: make([]*adminv1.ProviderAccount, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = s.proto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteProviderAccount deletes an account and its credentials, unless a
// site uses it. The account's row lock orders this against a site being
// pointed at it (which takes a share lock on the row): whichever commits
// first wins, and the other sees it.
func (s *ProviderAccounts) DeleteProviderAccount(ctx context.Context, req *adminv1.DeleteProviderAccountRequest) (*adminv1.DeleteProviderAccountResponse, error) {
	p := auth.FromContext(ctx)
	resp := &adminv1.DeleteProviderAccountResponse{Id: req.GetId(), Object: "provider_account", Deleted: true}
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if _, err := q.LockProviderAccount(ctx, db.LockProviderAccountParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode}); err != nil {
			return accountErr(err, req.GetId())
		}
		sites, err := q.SitesUsingProviderAccount(ctx, db.SitesUsingProviderAccountParams{OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, AccountID: req.GetId()})
		if err != nil {
			return store.Wrap(err, "sites using provider account")
		}
		if len(sites) > 0 {
			return &errs.Error{Kind: errs.FailedPrecondition, Code: "resource_in_use", Param: "id",
				Message: fmt.Sprintf("Provider account %s is used by site %s: remove it from the site's provider_accounts first.",
					req.GetId(), strings.Join(sites, ", "))}
		}
		if _, err := q.DeleteProviderAccount(ctx, db.DeleteProviderAccountParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode}); err != nil {
			return store.Wrap(err, "delete provider account")
		}
		return audit.Record(ctx, tx, resp)
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func accountName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxAccountNameLen {
		return "", errs.Param("name", "parameter_invalid", "name is limited to %d characters.", maxAccountNameLen)
	}
	return name, nil
}

// accountAD binds an account's ciphertext to its row.
func accountAD(id, org string, live bool) []byte {
	mode := "test"
	if live {
		mode = "live"
	}
	return secretbox.AD("admin.provider_accounts", id, org, mode)
}

func (s *ProviderAccounts) seal(c provideracct.Credentials, id, org string, live bool) (string, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	return s.Keys.Seal(plain, accountAD(id, org, live))
}

func (s *ProviderAccounts) open(row db.AdminProviderAccount) (provideracct.Credentials, error) {
	return openCredentials(s.Keys, row)
}

// openCredentials decrypts a stored account's credentials. The error says
// which account and key id, never anything of the plaintext.
func openCredentials(keys *secretbox.Keyring, row db.AdminProviderAccount) (provideracct.Credentials, error) {
	var c provideracct.Credentials
	plain, err := keys.Open(row.Credentials, accountAD(row.ID, row.OrganizationID, row.Livemode))
	if err != nil {
		return c, errs.Wrap(err, "open provider account "+row.ID+" credentials")
	}
	if err := json.Unmarshal(plain, &c); err != nil {
		return c, errs.Wrap(fmt.Errorf("malformed plaintext"), "open provider account "+row.ID+" credentials")
	}
	c.PublishableKey = row.PublishableKey
	return c, nil
}

func (s *ProviderAccounts) proto(r db.AdminProviderAccount) (*adminv1.ProviderAccount, error) {
	meta := map[string]string{}
	if err := json.Unmarshal(r.Metadata, &meta); err != nil {
		return nil, fmt.Errorf("provider account %s metadata: %w", r.ID, err)
	}
	return &adminv1.ProviderAccount{Id: r.ID, Object: "provider_account", Provider: r.Provider, Name: r.Name,
		Livemode: r.Livemode, Status: r.Status,
		Credentials: &adminv1.ProviderCredentials{SecretKeyLast4: r.SecretKeyLast4, WebhookSecretLast4: r.WebhookSecretLast4,
			PublishableKey: r.PublishableKey},
		WebhookUrl: s.HooksBase + "/hooks/" + r.Provider + "/" + r.ID,
		CreatedAt:  timestamppb.New(r.CreatedAt), Metadata: meta, ReusableMandate: r.ReusableMandate, Disabled: r.Disabled}, nil
}

// InternalProviderAccounts implements internalapiv1.ProviderAccountServiceServer
// for checkout-runtime and hooks.
type InternalProviderAccounts struct {
	internalapiv1.UnimplementedProviderAccountServiceServer
	Store *store.Store
	Keys  *secretbox.Keyring
}

// GetProviderAccountCredentials returns an account with its decrypted
// credentials.
func (s *InternalProviderAccounts) GetProviderAccountCredentials(ctx context.Context, req *internalapiv1.GetProviderAccountCredentialsRequest) (*internalapiv1.GetProviderAccountCredentialsResponse, error) {
	if req.GetAccountId() == "" {
		return nil, errs.Missing("account_id")
	}
	row, err := s.Store.GetProviderAccountByID(ctx, req.GetAccountId())
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("account_id", "No such provider account: '%s'.", req.GetAccountId())
	} else if err != nil {
		return nil, store.Wrap(err, "get provider account")
	}
	c, err := openCredentials(s.Keys, row)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: row.ID, Provider: row.Provider,
		OrganizationId: row.OrganizationID, Livemode: row.Livemode, SecretKey: c.SecretKey,
		PublishableKey: c.PublishableKey, WebhookSecret: c.WebhookSecret, ReusableMandate: row.ReusableMandate}, nil
}

// reencryptBatch bounds the rows one transaction re-seals.
const reencryptBatch = 100

// ReencryptProviderAccounts re-seals, under keys' current key, every
// account's credentials sealed under another key, and returns how many it
// changed: after it, the old keys can leave TILLPOINT_ENCRYPTION_KEY. Safe
// to run while the service runs (rows are locked one batch at a time) and to
// run again.
func ReencryptProviderAccounts(ctx context.Context, st *store.Store, keys *secretbox.Keyring) (int, error) {
	total := 0
	for {
		n := 0
		err := st.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
			rows, err := q.StaleProviderAccounts(ctx, db.StaleProviderAccountsParams{KeyPrefix: keys.PrimaryID() + ":", RowLimit: reencryptBatch})
			if err != nil {
				return store.Wrap(err, "stale provider accounts")
			}
			for _, row := range rows {
				c, err := openCredentials(keys, row)
				if err != nil {
					return err
				}
				plain, err := json.Marshal(c)
				if err != nil {
					return fmt.Errorf("credentials: %w", err)
				}
				sealed, err := keys.Seal(plain, accountAD(row.ID, row.OrganizationID, row.Livemode))
				if err != nil {
					return err
				}
				if err := q.SetProviderAccountCredentials(ctx, db.SetProviderAccountCredentialsParams{ID: row.ID, Credentials: sealed}); err != nil {
					return store.Wrap(err, "re-seal provider account")
				}
			}
			n = len(rows)
			return nil
		})
		total += n
		if err != nil || n < reencryptBatch {
			return total, err
		}
	}
}
