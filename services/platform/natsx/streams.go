package natsx

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// EventsStream is the JetStream stream that holds every domain event.
	EventsStream = "EVENTS"
	// eventsSubjectPrefix starts every event subject; the stream captures
	// events.> so that a new event type needs no stream change.
	eventsSubjectPrefix = "events."
	// eventsMaxAge is how long events are kept: merchants may ask for an
	// event again (GET /v1/events, resend) for at least 30 days.
	eventsMaxAge = 30 * 24 * time.Hour
	// eventsDuplicateWindow is how long JetStream remembers a Nats-Msg-Id to
	// drop a second copy. The outbox relay publishes a row again when it was
	// published but not yet deleted: its acknowledgement was lost, or the
	// relay or PostgreSQL failed between the ack and the commit. The copy goes
	// out when the relay next claims the row — as soon as PostgreSQL is back,
	// so the window must exceed the longest such outage we expect to ride out
	// (the relay's retry horizon). Two hours covers a database failover or a
	// crash loop several times over, while the id index stays small. Beyond
	// it consumers still deduplicate by event id (their inbox), so a longer
	// outage costs a redundant message, never a double effect.
	eventsDuplicateWindow = 2 * time.Hour
	// defaultReplicas is 1 for a single server (dev stack, tests); a
	// cluster sets ReplicasVariable (3 for a three-node cluster).
	defaultReplicas = 1
	// ReplicasVariable names the environment variable that sets how many
	// servers of a JetStream cluster keep each stream (1 to 5; a quorum of
	// them acknowledges every write).
	ReplicasVariable = "NATS_STREAM_REPLICAS"
)

// streamReplicas is ReplicasVariable when it is a number from 1 to 5, else 1.
func streamReplicas() int {
	if n, err := strconv.Atoi(os.Getenv(ReplicasVariable)); err == nil && n >= 1 && n <= 5 {
		return n
	}
	return defaultReplicas
}

// EventSubject returns the subject an event of the given type is published
// on: "checkout.session.completed" → "events.checkout.session.completed".
func EventSubject(eventType string) string {
	return eventsSubjectPrefix + eventType
}

// EventsStreamConfig returns the definition of the [EventsStream] stream:
// file-backed, kept by age (limits retention) so several consumers can each
// read every event, with a duplicate window for the outbox relay's retries.
func EventsStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "Tillpoint domain events, published by the services' outbox relays",
		Subjects:    []string{eventsSubjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      eventsMaxAge,
		Duplicates:  eventsDuplicateWindow,
		Replicas:    streamReplicas(),
	}
}

// ProviderStream holds provider callbacks that hooks has verified and stored,
// for checkout-runtime to apply. Subjects are provider.<name>.<mode>
// ("provider.bank_transfer.live"): the mode is that of the secret that
// verified the callback, and a result applies only to payments of that mode.
const ProviderStream = "PROVIDER"

// ProviderSubject is the subject of a verified callback from key,
// "<name>.<mode>".
func ProviderSubject(key string) string { return "provider." + key }

// ProviderStreamConfig returns the definition of [ProviderStream]: file-backed,
// with the same duplicate window as events (hooks publishes through its
// outbox too). Callbacks are kept 30 days for investigation.
func ProviderStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        ProviderStream,
		Description: "Verified payment-provider callbacks, published by hooks for checkout-runtime",
		Subjects:    []string{"provider.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      eventsMaxAge,
		Duplicates:  eventsDuplicateWindow,
		Replicas:    streamReplicas(),
	}
}

// EnsureStreams creates the streams Tillpoint uses, or updates them to the
// definitions in this package. It is idempotent and safe to run from every
// service at start-up.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range []jetstream.StreamConfig{EventsStreamConfig(), ProviderStreamConfig()} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}
