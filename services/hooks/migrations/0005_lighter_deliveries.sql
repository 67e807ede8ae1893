-- Every delivery row is inserted, leased and finished: three writes, each
-- touching every index of the table (the lease and the finish change
-- indexed columns). Two indexes go:
--   - seq's UNIQUE constraint: an identity column is unique by itself, and
--     lookups by seq go through (endpoint_id, seq DESC);
--   - (event_id): the unique key is reordered to lead with event_id, so it
--     serves the per-event listing and the cascade from events as well.
ALTER TABLE hooks.deliveries DROP CONSTRAINT deliveries_seq_key;
DROP INDEX hooks.deliveries_event_idx;
ALTER TABLE hooks.deliveries DROP CONSTRAINT deliveries_endpoint_id_event_id_key;
ALTER TABLE hooks.deliveries ADD CONSTRAINT deliveries_event_id_endpoint_id_key UNIQUE (event_id, endpoint_id);
