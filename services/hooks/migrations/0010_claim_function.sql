-- The whole claim of due deliveries runs in a function planned at each
-- call, with sequential and bitmap scans off (issue 12, the delivery-only
-- fan-out).
--
-- As one prepared statement, the claim was planned once per connection:
-- after five executions PostgreSQL keeps a generic plan when it looks no
-- dearer than the custom ones, and the hooks worker claims every 250 ms
-- from its start, when hooks.deliveries is empty. That generic plan leased
-- the picked rows by a nested loop over a sequential scan of the whole
-- table (estimated at one row), rescanning the picked rows for each row of
-- it: with 10,000 deliveries, 1.9 million join filter tests and 560 ms per
-- claim, at one core, until an ANALYZE of the table happened to replace the
-- plan — the delivery-only bench row's 380–7,400 deliveries/s from run to
-- run. A SQL function with SET clauses is not inlined, and its statement
-- is planned at each call with the table's size then; the SET clauses keep
-- every access by key (the deliveries' and events' primary keys, the due
-- index) whatever the statistics say.
SET lock_timeout = '5s';

CREATE FUNCTION hooks.claim_deliveries(busy text[], scan_rows bigint, in_flight_endpoints text[], in_flight_counts bigint[],
                                       per_endpoint bigint, max_rows bigint, lease_seconds float8)
RETURNS TABLE (id text, endpoint_id text, attempt_count integer, organization_id text, livemode boolean, url text,
               secret text, previous_secret text, previous_secret_expires_at timestamptz, body bytea,
               signature_format text, api_version text, event_id text, event_type text, event_created timestamptz,
               stripe_object bytea)
LANGUAGE sql VOLATILE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_indexscan = on
AS $$
    WITH picked AS (
        SELECT ranked.id, ranked.next_attempt_at, ranked.leased_until FROM (
            -- n: the attempts the endpoint would have in flight with this one.
            SELECT d.id, d.next_attempt_at, d.leased_until,
                   coalesce(f.n, 0) + row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at) AS n
            FROM hooks.due_deliveries(busy, scan_rows) AS d (id, endpoint_id, next_attempt_at, leased_until)
            JOIN hooks.endpoints e ON e.id = d.endpoint_id
            LEFT JOIN (
                SELECT unnest(in_flight_endpoints) AS endpoint_id, unnest(in_flight_counts) AS n
            ) f ON f.endpoint_id = d.endpoint_id
            WHERE e.disabled_reason IS NULL
        ) ranked
        WHERE ranked.n <= per_endpoint
        ORDER BY ranked.next_attempt_at
        LIMIT max_rows
    ), claimed AS (
        UPDATE hooks.deliveries d
        SET leased_until = now() + make_interval(secs => lease_seconds), updated_at = now()
        FROM picked
        WHERE d.id = picked.id AND d.next_attempt_at = picked.next_attempt_at
          AND d.leased_until IS NOT DISTINCT FROM picked.leased_until
        RETURNING d.id, d.endpoint_id, d.event_id, d.attempt_count
    )
    SELECT c.id, c.endpoint_id, c.attempt_count, e.organization_id, e.livemode, e.url, e.secret, e.previous_secret,
           e.previous_secret_expires_at,
           coalesce(CASE WHEN e.kind = 'notify' THEN ev.notify_body END, ev.body),
           e.signature_format, e.api_version, c.event_id, ev.type, ev.created, ev.stripe_object
    FROM claimed c
    JOIN hooks.endpoints e ON e.id = c.endpoint_id
    JOIN hooks.events ev ON ev.id = c.event_id
$$;
