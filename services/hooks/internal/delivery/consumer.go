// Package delivery turns domain events into signed webhook deliveries: a
// consumer stores each event from JetStream with one delivery per matching
// endpoint, and a worker sends due deliveries with retries kept in PostgreSQL,
// so that they survive restarts of hooks and of NATS.
package delivery

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// consumerName is the durable consumer of events shared by hooks replicas.
const consumerName = "hooks-webhooks"

// storeConcurrency is how many events one replica stores at once.
const storeConcurrency = 8

// Consumer stores events and creates their deliveries.
type Consumer struct {
	JS     jetstream.JetStream
	Store  *store.Store
	Logger *slog.Logger
	// Wake is called after new deliveries were created.
	Wake func()
	// Targets is the policy a notify_url must pass to be called; admin-api
	// checked it at creation with the same policy, so this only catches a
	// change of configuration since.
	Targets webhook.TargetPolicy
}

// Run consumes until ctx ends. An event is acknowledged only once it and its
// deliveries are committed, so none is lost; a redelivered one is stored once.
func (c *Consumer) Run(ctx context.Context) error {
	var cons jetstream.Consumer
	for {
		var err error
		cons, err = c.JS.CreateOrUpdateConsumer(ctx, natsx.EventsStream, jetstream.ConsumerConfig{
			Durable: consumerName, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxDeliver: -1,
			FilterSubject: "events.>", DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		c.Logger.WarnContext(ctx, "event consumer not ready; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	// Events are stored storeConcurrency at a time: one after the other,
	// storing (a transaction of several round trips) fell behind the
	// payments that produce them. Order does not matter here; each event
	// carries its per-object sequence.
	sem := make(chan struct{}, storeConcurrency)
	var wg sync.WaitGroup
	cc, err := cons.Consume(func(m jetstream.Msg) {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.store(ctx, m.Data()); err != nil {
				c.Logger.ErrorContext(ctx, "storing event; will retry", "subject", m.Subject(), "err", err)
				_ = m.NakWithDelay(time.Second)
				return
			}
			_ = m.Ack()
			if c.Wake != nil {
				c.Wake()
			}
		}()
	})
	if err != nil {
		return fmt.Errorf("consume events: %w", err)
	}
	<-ctx.Done()
	cc.Drain()
	wg.Wait()
	return nil
}

func (c *Consumer) store(ctx context.Context, data []byte) error {
	var ev eventsv1.Event
	if err := proto.Unmarshal(data, &ev); err != nil {
		c.Logger.ErrorContext(ctx, "dropping an event that does not decode", "err", err)
		return nil
	}
	body, err := Render(&ev)
	if err != nil {
		return err
	}
	return c.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		// One round trip stores the event and finds its endpoints (issue 12:
		// round trips were most of hooks' CPU per event).
		matched, err := q.InsertEventMatching(ctx, db.InsertEventMatchingParams{ID: ev.GetId(), OrganizationID: ev.GetOrganizationId(),
			Livemode: ev.GetLivemode(), Type: ev.GetType(), ObjectID: ev.GetObjectId(), Sequence: ev.GetSequence(),
			Created: ev.GetCreated().AsTime(), Body: body})
		if err != nil {
			return err
		}
		if len(matched) == 0 {
			return nil // stored before: its deliveries exist too
		}
		endpoints := slices.DeleteFunc(matched, func(id string) bool { return id == "" })
		notify, err := c.notifyEndpoint(ctx, q, &ev)
		if err != nil {
			return err
		}
		if notify != "" {
			endpoints = append(endpoints, notify)
		}
		if len(endpoints) == 0 {
			return nil
		}
		msgIDs := make([]string, len(endpoints))
		for i := range endpoints {
			msgIDs[i] = ids.New("msg")
		}
		return q.CreateDeliveries(ctx, db.CreateDeliveriesParams{Ids: msgIDs, EndpointIds: endpoints, EventID: ev.GetId()})
	})
}

// notifyEndpoint returns the hidden endpoint of a completed session's
// notify_url, or "" when it has none (or one that may not be called).
func (c *Consumer) notifyEndpoint(ctx context.Context, q *db.Queries, ev *eventsv1.Event) (string, error) {
	url := ev.GetCheckoutSession().GetNotifyUrl()
	if ev.GetType() != "checkout.session.completed" || url == "" {
		return "", nil
	}
	if err := c.Targets.CheckURL(url, ev.GetOrganizationId(), ev.GetLivemode()); err != nil {
		c.Logger.WarnContext(ctx, "not calling a notify_url", "event", ev.GetId(), "err", err)
		return "", nil
	}
	secret, err := q.EnsureNotifySecret(ctx, db.EnsureNotifySecretParams{OrganizationID: ev.GetOrganizationId(),
		Livemode: ev.GetLivemode(), Secret: webhook.NewSecret()})
	if err != nil {
		return "", err
	}
	return q.EnsureNotifyEndpoint(ctx, db.EnsureNotifyEndpointParams{ID: ids.New("we"), OrganizationID: ev.GetOrganizationId(),
		Livemode: ev.GetLivemode(), Url: url, Secret: secret})
}

// Render is the event as merchants receive it:
// {"id","object":"event","type","created","livemode","data":{"object":{…}},"sequence"}.
// The object is the one the API returns, in the API's JSON; the envelope is
// marshalled with an empty data.object, which the object's JSON then fills.
func Render(ev *eventsv1.Event) ([]byte, error) {
	var obj proto.Message
	switch o := ev.GetObject().(type) {
	case *eventsv1.Event_CheckoutSession:
		obj = o.CheckoutSession
	case *eventsv1.Event_Payment:
		obj = o.Payment
	case *eventsv1.Event_Refund:
		obj = o.Refund
	default:
		return nil, fmt.Errorf("event %s carries no object", ev.GetId())
	}
	objJSON, err := gateway.Marshal(obj)
	if err != nil {
		return nil, err
	}
	env, err := gateway.Marshal(&adminv1.Event{Id: ev.GetId(), Object: "event", Type: ev.GetType(), Created: ev.GetCreated(),
		Livemode: ev.GetLivemode(), Data: &adminv1.EventData{}, Sequence: ev.GetSequence()})
	if err != nil {
		return nil, err
	}
	i := bytes.Index(env, emptyData)
	if i < 0 {
		return nil, fmt.Errorf("event %s: no %s in the envelope", ev.GetId(), emptyData)
	}
	out := make([]byte, 0, len(env)+len(objJSON))
	out = append(out, env[:i]...)
	out = append(out, `"data":{"object":`...)
	out = append(out, objJSON...)
	out = append(out, '}')
	return append(out, env[i+len(emptyData):]...), nil
}

// emptyData is how the envelope's empty data.object marshals.
var emptyData = []byte(`"data":{"object":null}`)
