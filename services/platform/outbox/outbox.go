// Package outbox is Tillpoint's transactional outbox: a service writes its
// events into its own outbox table in the same transaction as the change they
// describe ([Add]), and a [Relay] publishes them to JetStream and deletes
// them. An event exists if and only if its change committed, and it reaches
// NATS even if NATS (or the service) was down at the time.
//
// Each service has one outbox table, <schema>.outbox, created by its own
// migrations from [DDL].
package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

// Message is one event to publish.
type Message struct {
	// ID is the event id (evt_…). It is unique in the table and is sent as
	// Nats-Msg-Id, so JetStream drops a copy published twice.
	ID string
	// Subject is the NATS subject, e.g. natsx.EventSubject(eventType).
	Subject string
	// Payload is the message body (the event's JSON).
	Payload []byte
	// Headers are extra NATS headers; may be nil.
	Headers map[string]string
}

// ddlTemplate is the outbox's schema. {{table}}, {{func}} and {{channel}} are
// replaced by DDL. The trigger is per statement: one notification per INSERT
// is enough to wake the relay, and PostgreSQL folds identical notifications
// of one transaction into one anyway.
const ddlTemplate = `-- Transactional outbox (services/platform/outbox): events written in the
-- transaction of the change they describe, published to NATS JetStream by the
-- outbox relay in seq order and then deleted.
CREATE TABLE {{table}} (
    seq        bigserial PRIMARY KEY,
    -- The event id; also the Nats-Msg-Id, so JetStream drops a re-publish.
    id         text NOT NULL UNIQUE,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    -- Extra NATS headers as a JSON object of strings, or NULL.
    headers    jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Wakes the relay (LISTEN {{channel}}) as soon as events commit; it also
-- polls, so a missed notification only delays an event.
CREATE FUNCTION {{func}}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify({{channel_literal}}, '');
    RETURN NULL;
END
$fn$;

CREATE TRIGGER outbox_notify AFTER INSERT ON {{table}}
    FOR EACH STATEMENT EXECUTE FUNCTION {{func}}();
`

// DDL returns the SQL that creates schema's outbox table, <schema>.outbox,
// and the trigger that notifies the channel <schema>_outbox on insert. Each
// service's migrations include it (the schema itself must already exist), and
// tests build their migrations from it, so both run the same text.
func DDL(schema string) string {
	return strings.NewReplacer(
		"{{table}}", tableName(schema),
		"{{func}}", pgx.Identifier{schema, "outbox_notify"}.Sanitize(),
		"{{channel_literal}}", quoteLiteral(channelName(schema)),
		"{{channel}}", channelName(schema),
	).Replace(ddlTemplate)
}

// Add writes msgs to schema's outbox table (<schema>.outbox) in the caller's
// transaction tx: they are published only if tx commits, in the order given.
// In a pgkit.InTx transaction the INSERTs run at COMMIT: their errors (an ID
// already in the table is a unique violation) fail the commit.
func Add(ctx context.Context, tx pgx.Tx, schema string, msgs ...Message) error {
	if schema == "" {
		return errors.New("outbox: schema is required")
	}
	if len(msgs) == 0 {
		return nil
	}
	query := "INSERT INTO " + tableName(schema) + " (id, subject, payload, headers) VALUES ($1, $2, $3, $4)"
	batch := &pgx.Batch{}
	for _, m := range msgs {
		if m.ID == "" || m.Subject == "" {
			return fmt.Errorf("outbox: message %q on subject %q: id and subject are required", m.ID, m.Subject)
		}
		payload := m.Payload
		if payload == nil {
			payload = []byte{} // the column is NOT NULL; an empty body is valid
		}
		var headers any // NULL when there are none
		if len(m.Headers) > 0 {
			headers = m.Headers
		}
		batch.Queue(query, m.ID, m.Subject, payload, headers)
	}
	// A batch keeps the messages' order (their seq); in a pgkit.InTx
	// transaction it goes out with the COMMIT, in the same round trip.
	if err := pgkit.AtCommit(ctx, tx, batch); err != nil {
		return fmt.Errorf("outbox: insert into %s: %w", tableName(schema), err)
	}
	return nil
}

// tableName is the quoted, schema-qualified name of schema's outbox table.
func tableName(schema string) string {
	return pgx.Identifier{schema, "outbox"}.Sanitize()
}

// channelName is the LISTEN/NOTIFY channel of schema's outbox.
func channelName(schema string) string {
	return schema + "_outbox"
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
