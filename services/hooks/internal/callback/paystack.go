package callback

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
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

	cache accountCache
}

// ServeHTTP handles one Paystack event. Paystack expects 200; a bad
// signature is 401 (the sender is not Paystack), a body we cannot read 400.
func (h *PaystackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	accountID := r.PathValue("account")
	acct, body, ok := webhookRoute{name: provider.NamePaystack, label: "Paystack", secretOf: func(c *internalapiv1.GetProviderAccountCredentialsResponse) string { return c.GetSecretKey() }, maxBody: paystack.MaxWebhookPayload,
		accounts: h.Accounts, cache: &h.cache, ttl: h.SecretTTL, logger: h.Logger}.open(w, r)
	if !ok {
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
