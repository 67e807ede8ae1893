-- name: InsertEvent :one
INSERT INTO hooks.events (id, organization_id, livemode, type, object_id, sequence, created, body)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: GetEvent :one
SELECT * FROM hooks.events WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetEventSeq :one
SELECT seq FROM hooks.events WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: ListEvents :many
SELECT * FROM hooks.events
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type))
  AND (sqlc.narg(object_id)::text IS NULL OR object_id = sqlc.narg(object_id))
  AND (sqlc.narg(created_gte)::timestamptz IS NULL OR created >= sqlc.narg(created_gte))
  AND (sqlc.narg(created_gt)::timestamptz IS NULL OR created > sqlc.narg(created_gt))
  AND (sqlc.narg(created_lte)::timestamptz IS NULL OR created <= sqlc.narg(created_lte))
  AND (sqlc.narg(created_lt)::timestamptz IS NULL OR created < sqlc.narg(created_lt))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: PurgeEvents :execrows
-- Events are kept 30 days (their deliveries go with them).
DELETE FROM hooks.events WHERE created < now() - interval '30 days';

-- name: CreateEndpoint :one
INSERT INTO hooks.endpoints (id, organization_id, livemode, url, description, enabled_events, secret,
    signature_format, api_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: GetEndpoint :one
SELECT * FROM hooks.endpoints WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND kind = 'endpoint';

-- name: GetEndpointSeq :one
SELECT seq FROM hooks.endpoints WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND kind = 'endpoint';

-- name: ListEndpoints :many
SELECT * FROM hooks.endpoints
WHERE organization_id = @organization_id AND livemode = @livemode AND kind = 'endpoint'
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: UpdateEndpoint :one
UPDATE hooks.endpoints SET url = $4, description = $5, enabled_events = $6, disabled_reason = $7,
    failing_since = CASE WHEN $7::text IS NULL THEN NULL ELSE failing_since END
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND kind = 'endpoint'
RETURNING *;

-- name: DeleteEndpoint :execrows
DELETE FROM hooks.endpoints WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND kind = 'endpoint';

-- name: RotateEndpointSecret :one
UPDATE hooks.endpoints SET previous_secret = secret, previous_secret_expires_at = now() + interval '24 hours', secret = $4
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND kind = 'endpoint'
RETURNING *;

-- name: InsertEventMatching :many
-- Stores an event and returns the enabled endpoints it goes to, in one round
-- trip: one row per endpoint, or one empty string when none matches. A stored
-- event (a redelivery) inserts nothing and returns no row.
WITH ins AS (
    INSERT INTO hooks.events (id, organization_id, livemode, type, object_id, sequence, created, body, stripe_object, notify_body)
    VALUES (@id, @organization_id, @livemode, @type, @object_id, @sequence, @created, @body, @stripe_object, @notify_body)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT coalesce(e.id, '')::text AS endpoint_id
FROM ins LEFT JOIN hooks.endpoints e
  ON e.organization_id = @organization_id AND e.livemode = @livemode AND e.disabled_reason IS NULL AND e.kind = 'endpoint'
 AND ('*' = ANY(e.enabled_events) OR @type::text = ANY(e.enabled_events));

-- name: CreateDeliveries :many
-- One pending delivery of the event per endpoint, in one statement. Those
-- @leased (the worker has reserved an attempt for them, Worker.reserve) are
-- created already leased for their first attempt, as ClaimDeliveries would
-- lease them, so that no claim is needed; the others are due now. It returns
-- what the leased ones' attempts need; a delivery that existed already (the
-- event was stored before) is left as it is and not returned.
WITH want AS (
    SELECT unnest(@ids::text[]) AS id, unnest(@endpoint_ids::text[]) AS endpoint_id, unnest(@leased::bool[]) AS leased
), ins AS (
    INSERT INTO hooks.deliveries (id, endpoint_id, event_id, status, next_attempt_at, leased_until)
    SELECT id, endpoint_id, @event_id, 'pending', now(),
           CASE WHEN leased THEN now() + make_interval(secs => @lease_seconds::float8) END
    FROM want
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING id, endpoint_id, leased_until IS NOT NULL AS leased
)
SELECT ins.id, ins.endpoint_id, e.organization_id, e.livemode, e.kind, e.url, e.secret, e.previous_secret,
       e.previous_secret_expires_at, e.signature_format, e.api_version
FROM ins JOIN hooks.endpoints e ON e.id = ins.endpoint_id
WHERE ins.leased;

-- name: RecordSuccesses :exec
-- Successful attempts, many in one statement: the attempts, their
-- deliveries done, and their endpoints no longer failing.
WITH done AS (
    SELECT unnest(@delivery_ids::text[]) AS delivery_id, unnest(@endpoint_ids::text[]) AS endpoint_id,
           unnest(@attempted_at::timestamptz[]) AS attempted_at, unnest(@status_codes::int[]) AS status_code,
           unnest(@latencies_ms::bigint[]) AS latency_ms, unnest(@excerpts::text[]) AS response_excerpt
), attempt AS (
    INSERT INTO hooks.delivery_attempts (delivery_id, attempted_at, status_code, latency_ms, response_excerpt)
    SELECT delivery_id, attempted_at, status_code, latency_ms, response_excerpt FROM done
), delivery AS (
    UPDATE hooks.deliveries dl
    SET status = 'succeeded', attempt_count = dl.attempt_count + 1, next_attempt_at = NULL, leased_until = NULL, updated_at = now()
    FROM done WHERE dl.id = done.delivery_id
)
UPDATE hooks.endpoints e SET failing_since = NULL
WHERE e.id IN (SELECT endpoint_id FROM done) AND e.failing_since IS NOT NULL;

-- name: RecordAttempt :exec
INSERT INTO hooks.delivery_attempts (delivery_id, status_code, latency_ms, error, response_excerpt)
VALUES ($1, $2, $3, $4, $5);

-- name: FinishDelivery :exec
UPDATE hooks.deliveries SET status = $2, attempt_count = attempt_count + 1, next_attempt_at = $3, leased_until = NULL, updated_at = now()
WHERE id = $1;

-- name: MarkEndpointSucceeded :exec
UPDATE hooks.endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL;

-- name: MarkEndpointFailed :one
UPDATE hooks.endpoints SET failing_since = coalesce(failing_since, now())
WHERE id = $1
RETURNING failing_since;

-- name: DisableEndpoint :exec
UPDATE hooks.endpoints SET disabled_reason = $2 WHERE id = $1 AND disabled_reason IS NULL;

-- name: GetDelivery :one
SELECT sqlc.embed(d), ev.type AS event_type FROM hooks.deliveries d JOIN hooks.events ev ON ev.id = d.event_id WHERE d.id = $1;

-- name: ListEndpointDeliveries :many
SELECT sqlc.embed(d), ev.type AS event_type FROM hooks.deliveries d JOIN hooks.events ev ON ev.id = d.event_id
WHERE d.endpoint_id = @endpoint_id
  AND (sqlc.narg(before_seq)::bigint IS NULL OR d.seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR d.seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN d.seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN d.seq END ASC
LIMIT @row_limit;

-- name: GetDeliverySeq :one
SELECT seq FROM hooks.deliveries WHERE id = $1 AND endpoint_id = $2;

-- name: ListEventDeliveries :many
SELECT sqlc.embed(d), ev.type AS event_type FROM hooks.deliveries d JOIN hooks.events ev ON ev.id = d.event_id
WHERE d.event_id = $1 ORDER BY d.seq DESC;

-- name: ListAttempts :many
SELECT * FROM hooks.delivery_attempts WHERE delivery_id = $1 ORDER BY id DESC LIMIT 20;

-- name: ResendDelivery :one
INSERT INTO hooks.deliveries (id, endpoint_id, event_id, status, next_attempt_at)
VALUES ($1, $2, $3, 'pending', now())
ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', next_attempt_at = now(), leased_until = NULL, updated_at = now()
RETURNING *;

-- name: EnsureNotifySecret :one
-- The organization's notify secret for the mode, made on first use.
INSERT INTO hooks.notify_secrets (organization_id, livemode, secret) VALUES ($1, $2, $3)
ON CONFLICT (organization_id, livemode) DO UPDATE SET secret = hooks.notify_secrets.secret
RETURNING secret;

-- name: EnsureNotifyEndpoint :one
-- The hidden endpoint of a notify_url, made on first use.
INSERT INTO hooks.endpoints (id, organization_id, livemode, url, enabled_events, secret, kind, description)
VALUES ($1, $2, $3, $4, '{}', $5, 'notify', 'notify_url')
ON CONFLICT (organization_id, livemode, url) WHERE kind = 'notify' DO UPDATE SET url = EXCLUDED.url
RETURNING id;
