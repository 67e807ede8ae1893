package callback

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
)

// PaystackHandler serves POST /hooks/paystack/{account}: Paystack's webhooks
// for one merchant's provider account (pa_…). Paystack signs them with the
// account's secret key (x-paystack-signature, HMAC-SHA512), which admin-api
// holds encrypted and hands over its internal gRPC listener. A verified
// charge.success or charge.failed is stored once (by type, transaction and
// reference) and published on provider.paystack.<mode> with its account;
// the runtime then verifies the transaction with Paystack before it settles
// anything (the body is a hint, never the result).
type PaystackHandler struct {
	Pool     *pgxpool.Pool
	Accounts internalapiv1.ProviderAccountServiceClient
	Logger   *slog.Logger
	// SecretTTL is how long a fetched account is reused (DefaultSecretTTL when 0).
	SecretTTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedAccount
}

// ServeHTTP handles one Paystack event. Paystack expects 200; a bad
// signature is 401 (the sender is not Paystack), a body we cannot read 400.
func (h *PaystackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	accountID := r.PathValue("account")
	if !ids.HasPrefix(accountID, "pa") {
		h.noAccount(w)
		return
	}
	acct, err := h.account(ctx, accountID)
	if errors.Is(err, errAccountsUnavailable) {
		h.Logger.ErrorContext(ctx, "paystack webhook: provider account lookup failed", "account", accountID, "err", err)
		httpx.WriteError(w, http.StatusServiceUnavailable, httpx.TypeAPI, "unavailable", "", "The callback could not be verified now; retry it.")
		return
	}
	if !acct.found {
		h.Logger.WarnContext(ctx, "paystack webhook for an unknown account", "account", accountID)
		h.noAccount(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, paystack.MaxWebhookPayload))
	if err != nil {
		if httpx.RespondTooLarge(w, r, err) {
			return
		}
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "body_unreadable", "", "The request body could not be read.")
		return
	}
	ev, err := paystack.ParseWebhook(body, r.Header.Get(paystack.SignatureHeader), acct.secret)
	if errors.Is(err, paystack.ErrSignature) {
		// The reason, never the key or the signature.
		h.Logger.WarnContext(ctx, "paystack webhook refused", "account", accountID, "reason", err.Error())
		httpx.WriteError(w, http.StatusUnauthorized, httpx.TypeInvalidRequest, "signature_invalid", paystack.SignatureHeader,
			"The x-paystack-signature is missing, malformed, or does not match.")
		return
	} else if err != nil {
		h.Logger.WarnContext(ctx, "paystack webhook invalid", "account", accountID, "err", err.Error())
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "callback_invalid", "", "The event could not be read.")
		return
	}
	if ev.Ignorable {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"received": true, "ignored": true})
		return
	}
	mode := provider.ModeTest
	if acct.livemode {
		mode = provider.ModeLive
	}
	if ev.Livemode != acct.livemode {
		h.Logger.WarnContext(ctx, "paystack webhook of the other mode refused", "account", accountID, "mode", mode, "id", ev.ID)
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "livemode_mismatch", "domain",
			"The event's domain does not match the provider account's mode.")
		return
	}
	msg, err := json.Marshal(paystack.Message{ProviderAccount: accountID, Event: ev})
	if err != nil {
		httpx.WriteError(w, http.StatusInternalServerError, httpx.TypeAPI, "internal", "", "The callback could not be stored.")
		return
	}
	src := provider.CallbackSource{Provider: provider.NamePaystack, Mode: mode}
	// Keyed by account: two merchants' Paystack accounts are two senders.
	stored, err := storeOnce(ctx, h.Pool, src.Key()+"."+accountID, ev.ID, body, src.Key(), msg)
	if err != nil {
		h.Logger.ErrorContext(ctx, "storing paystack webhook", "account", accountID, "id", ev.ID, "err", err)
		httpx.WriteError(w, http.StatusServiceUnavailable, httpx.TypeAPI, "unavailable", "", "The callback could not be stored; retry it.")
		return
	}
	if !stored {
		h.Logger.InfoContext(ctx, "paystack webhook replayed", "account", accountID, "mode", mode, "id", ev.ID)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"received": true, "duplicate": !stored})
}

// noAccount answers as for an unknown provider.
func (h *PaystackHandler) noAccount(w http.ResponseWriter) {
	httpx.WriteError(w, http.StatusNotFound, httpx.TypeInvalidRequest, "provider_account_unknown", "account", "No such Paystack provider account.")
}

// account returns the account's mode and secret key (Paystack signs
// webhooks with it), from the cache or admin-api, as StripeHandler.account
// does for Stripe's webhook secret.
func (h *PaystackHandler) account(ctx context.Context, id string) (cachedAccount, error) {
	now := time.Now()
	h.mu.Lock()
	c, ok := h.cache[id]
	h.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := h.Accounts.GetProviderAccountCredentials(ctx, &internalapiv1.GetProviderAccountCredentialsRequest{AccountId: id})
	switch status.Code(err) {
	case codes.OK:
		c = cachedAccount{found: resp.GetProvider() == provider.NamePaystack && resp.GetSecretKey() != "",
			livemode: resp.GetLivemode(), secret: resp.GetSecretKey()}
	case codes.NotFound, codes.InvalidArgument:
		c = cachedAccount{}
	default:
		return cachedAccount{}, errors.Join(errAccountsUnavailable, errors.New(status.Code(err).String()))
	}
	if !c.found {
		c.secret = ""
	}
	ttl := h.SecretTTL
	if ttl <= 0 {
		ttl = DefaultSecretTTL
	}
	c.expires = now.Add(ttl)
	h.mu.Lock()
	if h.cache == nil || len(h.cache) >= maxCachedAccounts {
		h.cache = make(map[string]cachedAccount)
	}
	h.cache[id] = c
	h.mu.Unlock()
	return c, nil
}
