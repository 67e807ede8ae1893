package callback

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
)

// StripeHandler serves POST /hooks/stripe/{account}: Stripe's webhooks for
// one merchant's provider account (pa_…), verified with that account's
// webhook secret, which admin-api holds (encrypted) and hands over its
// internal gRPC listener.
type StripeHandler struct {
	Pool     *pgxpool.Pool
	Accounts internalapiv1.ProviderAccountServiceClient
	Logger   *slog.Logger
	Now      func() time.Time
	// SecretTTL is how long a fetched account is reused (DefaultSecretTTL when 0).
	SecretTTL time.Duration

	cache accountCache
}

// ServeHTTP handles one Stripe event.
func (h *StripeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	accountID := r.PathValue("account")
	acct, body, ok := webhookRoute{name: provider.NameStripe, label: "Stripe", secretOf: webhookSecret, maxBody: stripe.MaxWebhookPayload,
		accounts: h.Accounts, cache: &h.cache, ttl: h.SecretTTL, logger: h.Logger}.open(w, r)
	if !ok {
		return
	}
	ev, err := stripe.ParseWebhook(body, r.Header.Get(stripeSignatureHeader), acct.secret, h.Now())
	if errors.Is(err, stripe.ErrMalformedEvent) {
		h.Logger.WarnContext(ctx, "stripe webhook invalid", "account", accountID, "err", err.Error())
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "callback_invalid", "", "The event could not be read.")
		return
	} else if err != nil {
		// The reason (missing, malformed, stale, mismatched), never the
		// secret or the signature.
		h.Logger.WarnContext(ctx, "stripe webhook refused", "account", accountID, "reason", err.Error())
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "signature_invalid", stripeSignatureHeader,
			"The Stripe-Signature is missing, malformed, too old, or does not match.")
		return
	}
	mode := provider.ModeTest
	if acct.livemode {
		mode = provider.ModeLive
	}
	if ev.Livemode != acct.livemode {
		// Signed with this account's secret but of the other mode: a test
		// event must never settle a live payment, nor the reverse.
		h.Logger.WarnContext(ctx, "stripe webhook of the other mode refused", "account", accountID, "mode", mode, "id", ev.ID, "event_livemode", ev.Livemode)
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "livemode_mismatch", "livemode",
			"The event's livemode does not match the provider account's mode.")
		return
	}
	if ev.Ignorable {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"received": true, "ignored": true})
		return
	}
	stored, err := h.store(ctx, accountID, mode, ev, body)
	if err != nil {
		h.Logger.ErrorContext(ctx, "storing stripe webhook", "account", accountID, "id", ev.ID, "err", err)
		httpx.WriteError(w, http.StatusServiceUnavailable, httpx.TypeAPI, "unavailable", "", "The callback could not be stored; retry it.")
		return
	}
	if !stored {
		h.Logger.InfoContext(ctx, "stripe webhook replayed", "account", accountID, "mode", mode, "id", ev.ID)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"received": true, "duplicate": !stored})
}

// stripeSignatureHeader carries Stripe's signature.
const stripeSignatureHeader = "Stripe-Signature"

// store writes the event once to the inbox and the outbox, in one
// transaction; false when the inbox had it already (a replay or a retry).
func (h *StripeHandler) store(ctx context.Context, accountID, mode string, ev stripe.Event, body []byte) (bool, error) {
	msg, err := json.Marshal(stripe.Message{ProviderAccount: accountID, Event: ev})
	if err != nil {
		return false, err
	}
	src := provider.CallbackSource{Provider: provider.NameStripe, Mode: mode}
	// Keyed by account as well: event ids are Stripe's, one sequence per
	// Stripe account, and two merchants' accounts are different senders.
	// "stripe.<mode>.<pa_…>" is never another source's key (those have one
	// dot).
	return storeOnce(ctx, h.Pool, src.Key()+"."+accountID, ev.ID, body, src.Key(), msg)
}
