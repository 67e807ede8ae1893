// Package delivery turns domain events into signed webhook deliveries: a
// consumer stores each event from JetStream with one delivery per matching
// endpoint, and a worker sends due deliveries with retries kept in PostgreSQL,
// so that they survive restarts of hooks and of NATS.
package delivery

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/tillpoint/tillpoint/services/platform/collection"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/stripecompat"
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
	// Worker sends the deliveries: those it has a free slot for are
	// created already leased and handed to it after the commit, the others
	// are created due and it is woken to claim them. Nil: all are created
	// due, and nobody is told.
	Worker *Worker
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
	// Events are stored by storeConcurrency loops, each a batch at a time:
	// stored one after the other, events (a transaction of several round
	// trips each) fell behind the payments that produce them. Order does not
	// matter here; each event carries its per-object sequence. The buffer
	// holds what the loops will take next; a full one holds back JetStream.
	msgs := make(chan jetstream.Msg, storeConcurrency*storeBatch)
	var wg sync.WaitGroup
	for range storeConcurrency {
		wg.Go(func() { c.storeLoop(ctx, msgs) })
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done(): // not acknowledged: JetStream delivers it again
		}
	})
	if err != nil {
		return fmt.Errorf("consume events: %w", err)
	}
	<-ctx.Done()
	cc.Drain()
	wg.Wait()
	for { // Hand back what was received but not stored, for a prompt redelivery.
		select {
		case m := <-msgs:
			_ = m.Nak()
		default:
			return nil
		}
	}
}

// storeBatch is the most events stored in one transaction. Each event costs
// a transaction's BEGIN, COMMIT and WAL flush when stored alone (issue 12:
// two per payment); a batch shares them, and holds its locks a little longer.
const storeBatch = 16

// storeLoop stores the messages that have arrived, up to storeBatch at a
// time, and acknowledges each only once it is committed, so that none is
// lost; a message that could not be stored is delivered again later.
func (c *Consumer) storeLoop(ctx context.Context, msgs <-chan jetstream.Msg) {
	batch := make([]jetstream.Msg, 0, storeBatch)
	data := make([][]byte, 0, storeBatch)
	for {
		batch, data = batch[:0], data[:0]
		select {
		case <-ctx.Done():
			return
		case m := <-msgs:
			batch = append(batch, m)
		}
	more:
		for len(batch) < storeBatch {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			default:
				break more
			}
		}
		for _, m := range batch {
			data = append(data, m.Data())
		}
		for i, err := range c.storeAll(ctx, data) {
			if err != nil {
				c.Logger.ErrorContext(ctx, "storing event; will retry", "subject", batch[i].Subject(), "err", err)
				_ = batch[i].NakWithDelay(time.Second)
				continue
			}
			_ = batch[i].Ack()
		}
	}
}

// storeAll stores the events in one transaction; if that fails, each in a
// transaction of its own, so that one bad event does not hold back the
// others. Each event is decoded and rendered once, before any transaction,
// so that a batch holds its locks only for its statements. It returns one
// error per event: nil when the event is stored (or dropped because it does
// not decode).
func (c *Consumer) storeAll(ctx context.Context, data [][]byte) []error {
	errs := make([]error, len(data))
	ready := make([]rendered, 0, len(data))
	at := make([]int, 0, len(data)) // ready[k] is data[at[k]]
	for i, d := range data {
		var ev eventsv1.Event
		if err := proto.Unmarshal(d, &ev); err != nil {
			c.Logger.ErrorContext(ctx, "dropping an event that does not decode", "err", err)
			continue
		}
		body, err := Render(&ev)
		if err != nil {
			errs[i] = err
			continue
		}
		stripeObject, err := RenderStripeObject(&ev)
		if err != nil {
			errs[i] = err
			continue
		}
		notify, err := notifyBody(&ev, body)
		if err != nil {
			errs[i] = err
			continue
		}
		ready = append(ready, rendered{ev: &ev, body: body, stripeObject: stripeObject, notifyBody: notify})
		at = append(at, i)
	}
	if len(ready) > 1 && c.storeTx(ctx, ready...) == nil {
		return errs
	}
	for k, r := range ready {
		errs[at[k]] = c.storeTx(ctx, r)
	}
	return errs
}

// storeTx stores the events in one transaction, then hands the deliveries
// created leased to the worker and wakes it for those created due.
func (c *Consumer) storeTx(ctx context.Context, events ...rendered) error {
	h := handover{w: c.Worker}
	err := c.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		for _, r := range events {
			if err := c.storeIn(ctx, q, r, &h); err != nil {
				return err
			}
		}
		return nil
	})
	h.end(ctx, err == nil)
	return err
}

// handover is what one transaction of the consumer took from the worker:
// a slot per delivery created leased.
type handover struct {
	w      *Worker
	leased []store.Delivery
	due    bool // a delivery was created due: the worker must claim it
}

// end hands the leased deliveries to the worker once their transaction
// committed, or gives their slots back when it did not.
func (h *handover) end(ctx context.Context, committed bool) {
	if h.w == nil {
		return
	}
	for _, d := range h.leased {
		if committed {
			h.w.hand(ctx, d)
		} else {
			h.w.finished(d.EndpointID)
		}
	}
	if committed && h.due {
		h.w.Wake()
	}
}

// store stores one event in a transaction of its own.
func (c *Consumer) store(ctx context.Context, data []byte) error {
	return c.storeAll(ctx, [][]byte{data})[0]
}

// rendered is an event decoded and rendered as merchants receive it.
type rendered struct {
	ev   *eventsv1.Event
	body []byte
	// stripeObject is the object in Stripe's shape, or nil (see RenderStripeObject).
	stripeObject []byte
	// notifyBody is what the session's notify_url receives; nil when it
	// is told nothing of this event.
	notifyBody []byte
}

// storeIn stores one event with its deliveries in the caller's transaction.
func (c *Consumer) storeIn(ctx context.Context, q *db.Queries, r rendered, h *handover) error {
	ev, body := r.ev, r.body
	// One round trip stores the event and finds its endpoints (issue 12:
	// round trips were most of hooks' CPU per event).
	var ownNotifyBody []byte // stored only when it is not the event's
	if r.notifyBody != nil && !bytes.Equal(r.notifyBody, body) {
		ownNotifyBody = r.notifyBody
	}
	matched, err := q.InsertEventMatching(ctx, db.InsertEventMatchingParams{ID: ev.GetId(), OrganizationID: ev.GetOrganizationId(),
		Livemode: ev.GetLivemode(), Type: ev.GetType(), ObjectID: ev.GetObjectId(), Sequence: ev.GetSequence(),
		Created: ev.GetCreated().AsTime(), Body: body, StripeObject: r.stripeObject, NotifyBody: ownNotifyBody})
	if err != nil {
		return err
	}
	if len(matched) == 0 {
		return nil // stored before: its deliveries exist too
	}
	endpoints := slices.DeleteFunc(matched, func(id string) bool { return id == "" })
	if r.notifyBody != nil {
		notify, err := c.notifyEndpoint(ctx, q, ev)
		if err != nil {
			return err
		}
		if notify != "" {
			endpoints = append(endpoints, notify)
		}
	}
	if len(endpoints) == 0 {
		return nil
	}
	msgIDs := make([]string, len(endpoints))
	leased := make([]bool, len(endpoints))
	for i, ep := range endpoints {
		msgIDs[i] = ids.New("msg")
		leased[i] = h.w != nil && h.w.reserve(ep)
		h.due = h.due || !leased[i]
	}
	created, err := q.CreateDeliveries(ctx, db.CreateDeliveriesParams{Ids: msgIDs, EndpointIds: endpoints, Leased: leased,
		EventID: ev.GetId(), LeaseSeconds: lease.Seconds()})
	if err != nil {
		for i, ep := range endpoints {
			if leased[i] {
				h.w.finished(ep)
			}
		}
		return err
	}
	// A slot whose delivery existed already is given back now.
	for i, ep := range endpoints {
		if leased[i] && !slices.ContainsFunc(created, func(d db.CreateDeliveriesRow) bool { return d.EndpointID == ep }) {
			h.w.finished(ep)
		}
	}
	for _, d := range created {
		body := r.body
		if d.Kind == "notify" {
			body = r.notifyBody
		}
		h.leased = append(h.leased, store.Delivery{ID: d.ID, EndpointID: d.EndpointID, OrganizationID: d.OrganizationID,
			Livemode: d.Livemode, Url: d.Url, Secret: d.Secret, PreviousSecret: d.PreviousSecret,
			PreviousSecretExpiresAt: d.PreviousSecretExpiresAt, Body: body, SignatureFormat: d.SignatureFormat,
			ApiVersion: d.ApiVersion, EventID: ev.GetId(), EventType: ev.GetType(), EventCreated: ev.GetCreated().AsTime(),
			StripeObject: r.stripeObject})
	}
	return nil
}

// notifyTypes are the session events a notify_url is told of: the
// session's end (completed or expired) and its asynchronous payment's result.
var notifyTypes = []string{"checkout.session.completed", "checkout.session.expired",
	"checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed"}

// notifyBody is what ev's session's notify_url receives, in the session's
// notify_format: the event's own body, or seed 003's collection object;
// nil when the session has no notify_url or it is told nothing of ev.
func notifyBody(ev *eventsv1.Event, body []byte) ([]byte, error) {
	cs := ev.GetCheckoutSession()
	if cs.GetNotifyUrl() == "" || !slices.Contains(notifyTypes, ev.GetType()) {
		return nil, nil
	}
	if cs.GetNotifyFormat() == collection.NotifyFormat {
		return collection.Callback(ev.GetType(), cs)
	}
	return body, nil
}

// notifyEndpoint returns the hidden endpoint of the session's notify_url,
// or "" when it may not be called.
func (c *Consumer) notifyEndpoint(ctx context.Context, q *db.Queries, ev *eventsv1.Event) (string, error) {
	url := ev.GetCheckoutSession().GetNotifyUrl()
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
	case *eventsv1.Event_Subscription:
		obj = o.Subscription
	case *eventsv1.Event_Invoice:
		obj = o.Invoice
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

// RenderStripeObject is the event's object in Stripe's shape, for
// endpoints with the Stripe format: the checkout session as Stripe's API
// shows it (without line items, as Stripe's events have them), the
// subscription or the invoice, or nil for objects Stripe has no shape for.
// The envelope is made at delivery, with the endpoint's api_version (see
// Worker).
func RenderStripeObject(ev *eventsv1.Event) ([]byte, error) {
	switch o := ev.GetObject().(type) {
	case *eventsv1.Event_CheckoutSession:
		return json.Marshal(stripecompat.NewSession(o.CheckoutSession, false))
	case *eventsv1.Event_Subscription:
		return json.Marshal(stripecompat.NewSubscription(o.Subscription))
	case *eventsv1.Event_Invoice:
		return json.Marshal(stripecompat.NewInvoice(o.Invoice))
	}
	return nil, nil
}

// emptyData is how the envelope's empty data.object marshals.
var emptyData = []byte(`"data":{"object":null}`)
