package payment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Simulator plays the remote side of the test provider's "succeeds later"
// card (4000 0000 0000 0077): when a payment's async_due_at comes, it sends
// the signed payment.succeeded callback to hooks, exactly as a real provider
// would. Due times are in the database, so a restart loses none.
type Simulator struct {
	Store       *store.Store
	Secret      []byte
	CallbackURL string // POST /hooks/test on MAIN_BACKEND_DOMAIN
	Client      *http.Client
	Interval    time.Duration
	Logger      *slog.Logger
}

// retryAfter is when a callback that hooks did not accept is tried again.
const retryAfter = 5 * time.Second

// Run sends due callbacks every Interval until ctx ends.
func (s *Simulator) Run(ctx context.Context) error {
	return every(ctx, s.Interval, s.SendDue, s.Logger, "sending test provider callbacks")
}

// SendDue sends the callbacks that are due; each is cleared once hooks has
// acknowledged it (2xx), else put off by retryAfter.
func (s *Simulator) SendDue(ctx context.Context) error {
	return s.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		due, err := q.ClaimDueAsync(ctx, 20)
		if err != nil {
			return err
		}
		for _, p := range due {
			var next *time.Time
			if err := s.send(ctx, p); err != nil {
				s.Logger.WarnContext(ctx, "test provider callback not accepted; will retry", "payment", p.ID, "err", err)
				t := time.Now().Add(retryAfter)
				next = &t
			}
			if err := q.PostponeAsync(ctx, db.PostponeAsyncParams{ID: p.ID, AsyncDueAt: next}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Simulator) send(ctx context.Context, p db.RuntimePayment) error {
	body := provider.NewPaymentSucceeded(p.ID, deref(p.ProviderRef), p.Amount, p.Currency).Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(provider.SignatureHeader, provider.Sign(s.Secret, body, time.Now()))
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hooks answered %s", resp.Status)
	}
	return nil
}

// Callbacks applies the provider callbacks that hooks verified, stored and
// published on the PROVIDER stream. Delivery is at least once; applying a
// callback twice has no second effect.
type Callbacks struct {
	JS      jetstream.JetStream
	Service *Service
	Logger  *slog.Logger
}

// consumerName is the durable consumer shared by all runtime replicas.
const consumerName = "checkout-runtime-callbacks"

// Run consumes until ctx ends.
func (c *Callbacks) Run(ctx context.Context) error {
	var cons jetstream.Consumer
	for {
		var err error
		cons, err = c.JS.CreateOrUpdateConsumer(ctx, natsx.ProviderStream, jetstream.ConsumerConfig{
			Durable: consumerName, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
			MaxDeliver: -1, BackOff: nil, FilterSubject: "provider.>",
		})
		if err == nil {
			break
		}
		c.Logger.WarnContext(ctx, "provider callback consumer not ready; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { c.handle(ctx, m) })
	if err != nil {
		return fmt.Errorf("consume callbacks: %w", err)
	}
	<-ctx.Done()
	cc.Drain()
	return nil
}

func (c *Callbacks) handle(ctx context.Context, m jetstream.Msg) {
	// hooks publishes on provider.<name>.<mode>, the mode being that of the
	// secret that verified the callback (never a field of its body).
	src, err := provider.ParseCallbackSource(strings.TrimPrefix(m.Subject(), "provider."))
	var cb provider.Callback
	switch {
	case err != nil:
	case src.Provider == provider.NameStripe: // a Stripe event and its account (stripe_events.go)
		cb.ID, err = c.applyStripe(ctx, src, m.Data())
	case src.Provider == provider.NamePaystack: // a Paystack event and its account (paystack.go)
		cb.ID, err = c.applyPaystack(ctx, src, m.Data())
	case src.Provider == provider.NameGoCardless: // a GoCardless event and its account (gocardless_events.go)
		cb.ID, err = c.applyGoCardless(ctx, src, m.Data())
	default:
		if cb, err = provider.ParseCallback(src.Provider, m.Data()); err == nil {
			err = c.apply(ctx, src, cb)
		}
	}
	switch k := errs.KindOf(err); {
	case err == nil:
		_ = m.Ack()
	case k == errs.NotFound || k == errs.Invalid || errors.Is(err, provider.ErrInvalidCallback) || errors.Is(err, provider.ErrUnknownProvider):
		// Will never apply (an unknown payment or reference, another
		// provider's or mode's payment, a bad amount): keep it in the stream
		// for investigation, stop redelivering.
		c.Logger.WarnContext(ctx, "provider callback does not apply", "provider", src.Provider, "mode", src.Mode,
			"subject", m.Subject(), "id", cb.ID, "err", err)
		_ = m.Term()
	default:
		c.Logger.ErrorContext(ctx, "applying provider callback; will retry", "provider", src.Provider, "mode", src.Mode, "id", cb.ID, "err", err)
		_ = m.NakWithDelay(2 * time.Second)
	}
}

// apply applies one verified callback from src, only ever to a payment that
// src's provider made in src's mode.
func (c *Callbacks) apply(ctx context.Context, src provider.CallbackSource, cb provider.Callback) error {
	if src.Provider == provider.NameTest && src.Livemode() {
		// The test provider is test mode only; hooks holds no live secret for it.
		return errs.Param("mode", "mode_invalid", "The test provider has no live mode.")
	}
	switch cb.Type {
	case provider.CallbackPaymentSucceeded, provider.CallbackPaymentFailed:
		_, err := c.Service.AsyncResult(ctx, src, cb.PaymentID, cb.Type == provider.CallbackPaymentSucceeded, cb.FailureCode)
		return err
	case provider.CallbackFundsReceived:
		if src.Provider != provider.NameBankTransfer {
			return errs.Param("type", "callback_type_unknown", "Only the bank feed reports funds.")
		}
		p, err := c.Service.Store.FindBankPaymentByReference(ctx, db.FindBankPaymentByReferenceParams{Reference: cb.Reference, Livemode: src.Livemode()})
		if store.IsNoRows(err) {
			return errs.NotFoundf("reference", "No bank transfer in %s mode has reference %q.", src.Mode, cb.Reference)
		} else if err != nil {
			return err
		}
		// Receipts of the live feed keep the id they had before modes (a
		// live event retried across that upgrade counts once); the test
		// feed's are its own: "bank_transfer.test:" never starts a live one.
		receipt := src.Provider + ":" + cb.ID
		if !src.Livemode() {
			receipt = src.Key() + ":" + cb.ID
		}
		_, err = c.Service.FundsReceived(ctx, Receipt{ID: receipt, Livemode: src.Livemode(),
			Amount: cb.Amount, Currency: cb.Currency}, p.ID)
		return err
	}
	return errs.Param("type", "callback_type_unknown", "Unknown callback type %q.", cb.Type)
}
