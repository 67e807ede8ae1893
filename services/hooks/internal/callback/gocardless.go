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
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
)

// GoCardlessHandler serves POST /hooks/gocardless/{account}: GoCardless's
// webhooks for one merchant's provider account (pa_…), verified with that
// account's webhook endpoint secret, which admin-api holds. A webhook is a
// batch of events; each is stored once by its id and published alone on
// provider.gocardless.<mode> with the account, for checkout-runtime.
type GoCardlessHandler struct {
	Pool     *pgxpool.Pool
	Accounts internalapiv1.ProviderAccountServiceClient
	Logger   *slog.Logger
	// SecretTTL is how long a fetched account is reused (DefaultSecretTTL when 0).
	SecretTTL time.Duration

	cache accountCache
}

// ServeHTTP handles one webhook. A bad signature is GoCardless's 498; once
// every event of the batch is durably stored (or was already), 204.
func (h *GoCardlessHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	accountID := r.PathValue("account")
	acct, body, ok := webhookRoute{name: provider.NameGoCardless, label: "GoCardless", secretOf: webhookSecret, maxBody: gocardless.MaxWebhookPayload,
		accounts: h.Accounts, cache: &h.cache, ttl: h.SecretTTL, logger: h.Logger}.open(w, r)
	if !ok {
		return
	}
	events, err := gocardless.ParseWebhook(body, r.Header.Get(gocardless.SignatureHeader), acct.secret)
	if errors.Is(err, gocardless.ErrMalformedEvent) {
		h.Logger.WarnContext(ctx, "gocardless webhook invalid", "account", accountID, "err", err.Error())
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "callback_invalid", "", "The events could not be read.")
		return
	} else if err != nil {
		// The reason (missing or mismatched), never the secret or the
		// signature.
		h.Logger.WarnContext(ctx, "gocardless webhook refused", "account", accountID, "reason", err.Error())
		httpx.WriteError(w, gocardless.StatusInvalidSignature, httpx.TypeInvalidRequest, "signature_invalid", gocardless.SignatureHeader,
			"The Webhook-Signature is missing or does not match.")
		return
	}
	src := provider.CallbackSource{Provider: provider.NameGoCardless, Mode: provider.ModeTest}
	if acct.livemode {
		src.Mode = provider.ModeLive
	}
	stored, duplicates := 0, 0
	for _, ev := range events {
		if ev.Effect() == gocardless.EffectNone {
			continue // created, submitted, payouts, …: nothing of ours changes
		}
		ok, err := h.store(ctx, accountID, src, ev)
		if err != nil {
			// Those stored so far are deduplicated when GoCardless retries
			// the whole batch.
			h.Logger.ErrorContext(ctx, "storing gocardless event", "account", accountID, "id", ev.ID, "err", err)
			httpx.WriteError(w, http.StatusServiceUnavailable, httpx.TypeAPI, "unavailable", "", "The webhook could not be stored; retry it.")
			return
		}
		if ok {
			stored++
		} else {
			duplicates++
		}
	}
	h.Logger.InfoContext(ctx, "gocardless webhook received", "account", accountID, "mode", src.Mode,
		"events", len(events), "stored", stored, "duplicates", duplicates)
	w.WriteHeader(http.StatusNoContent)
}

// store writes one event once to the inbox and the outbox, in one
// transaction; false when the inbox had it already.
func (h *GoCardlessHandler) store(ctx context.Context, accountID string, src provider.CallbackSource, ev gocardless.Event) (bool, error) {
	msg, err := json.Marshal(gocardless.Message{ProviderAccount: accountID, Event: ev})
	if err != nil {
		return false, err
	}
	// Keyed by account as Stripe's are: GoCardless's event ids are unique
	// per GoCardless account, and two merchants are different senders.
	return storeOnce(ctx, h.Pool, src.Key()+"."+accountID, ev.ID, msg, src.Key(), msg)
}
