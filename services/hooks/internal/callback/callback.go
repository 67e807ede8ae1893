// Package callback receives payment-provider callbacks on
// POST /hooks/{provider}: it checks the signature, stores each callback once
// in the inbox and, in the same transaction, in the outbox that publishes it
// to JetStream for checkout-runtime. It answers 2xx only once the callback is
// durably stored.
//
// Each provider has secrets per mode; the one that verifies a callback gives
// its mode, which is published with it (subject provider.<name>.<mode>), so
// that the runtime applies it only to payments of that provider in that mode.
//
// Stripe's webhooks come to POST /hooks/stripe/{account} instead
// (StripeHandler): each merchant's provider account has its own signing
// secret, which admin-api holds; the account whose secret verified an event
// is published with it, on provider.stripe.<mode>.
package callback

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// OutboxSchema is hooks' schema.
const OutboxSchema = "hooks"

// Handler serves POST /hooks/{provider}.
type Handler struct {
	Pool *pgxpool.Pool
	// Secrets holds each known provider's signing secrets per mode (several
	// during a rotation).
	Secrets map[string]provider.ModeSecrets
	Logger  *slog.Logger
	Now     func() time.Time
}

// ServeHTTP handles one callback.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	secrets, ok := h.Secrets[name]
	if !ok {
		httpx.WriteError(w, http.StatusNotFound, httpx.TypeInvalidRequest, "provider_unknown", "provider", "No such provider: '"+name+"'.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, provider.MaxCallbackBody))
	if err != nil {
		if httpx.RespondTooLarge(w, r, err) {
			return
		}
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "body_unreadable", "", "The request body could not be read.")
		return
	}
	mode, err := secrets.Verify(r.Header.Get(provider.SignatureHeader), body, h.Now())
	if err != nil {
		// The reason (missing, malformed, stale, mismatched) but never a
		// secret or a signature.
		h.Logger.WarnContext(r.Context(), "provider callback refused", "provider", name, "reason", err.Error())
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "signature_invalid", provider.SignatureHeader,
			"The callback signature is missing, malformed, too old, or does not match.")
		return
	}
	cb, err := provider.ParseCallback(name, body)
	if err != nil {
		h.Logger.WarnContext(r.Context(), "provider callback invalid", "provider", name, "mode", mode, "err", err.Error())
		httpx.WriteError(w, http.StatusBadRequest, httpx.TypeInvalidRequest, "callback_invalid", "", err.Error())
		return
	}
	// Keyed by the source (provider and mode), not the provider alone: the
	// live and the test feed are different senders with their own event
	// ids, and a test event must never shadow a live one that shares its
	// id. (Provider names hold no ".", so no key of one source is another's.)
	src := provider.CallbackSource{Provider: name, Mode: mode}
	stored, err := storeOnce(r.Context(), h.Pool, src.Key(), cb.ID, body, src.Key(), body)
	if err != nil {
		h.Logger.ErrorContext(r.Context(), "storing provider callback", "provider", name, "err", err)
		httpx.WriteError(w, http.StatusServiceUnavailable, httpx.TypeAPI, "unavailable", "", "The callback could not be stored; retry it.")
		return
	}
	if !stored {
		h.Logger.InfoContext(r.Context(), "provider callback replayed", "provider", name, "mode", mode, "id", cb.ID)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"received": true, "duplicate": !stored})
}

// storeOnce writes a verified callback to the inbox under (key, eventID)
// and, in the same transaction, to the outbox that publishes payload on
// provider.<subjectKey>; false when the inbox had it already (a replay or a
// retry), which then writes nothing.
func storeOnce(ctx context.Context, pool *pgxpool.Pool, key, eventID string, body []byte, subjectKey string, payload []byte) (bool, error) {
	stored := false
	err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO hooks.provider_events (provider, event_id, body) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, key, eventID, body)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		stored = true
		return outbox.Add(ctx, tx, OutboxSchema, outbox.Message{
			ID: "pcb_" + key + "_" + eventID, Subject: natsx.ProviderSubject(subjectKey), Payload: payload})
	})
	return stored, err
}
