-- A claimed delivery's lease gets a column of its own (issue 12, the
-- delivery-only fan-out), and the claim's scan of the due deliveries a plan
-- that does not depend on the table's statistics.
--
-- Until now a claim leased a delivery by moving next_attempt_at past the
-- attempt's time limit. next_attempt_at is the key of deliveries_due_idx,
-- so every claim was a non-HOT update: a new entry in each of the table's
-- four indexes, and a dead one left at the front of the due range that the
-- next claims walked until vacuum; the success then left a second one.
-- leased_until is in no index and no index predicate, so a claim is a HOT
-- update (the row keeps its index entries) when its page has room, which
-- the lower fillfactor keeps for it (new pages only; old rows are finished).
SET lock_timeout = '5s';

ALTER TABLE hooks.deliveries
    -- The end of the lease of an attempt in flight; NULL when none. A
    -- worker that dies leaves the delivery due again when the lease ends.
    ADD COLUMN leased_until timestamptz,
    SET (fillfactor = 80);

-- The due deliveries a claim looks at: up to n, oldest first, not leased,
-- none of an endpoint in busy. A delivery is due from next_attempt_at.
--
-- The only plan that stays cheap is the ordered scan of deliveries_due_idx
-- that stops after n rows. The planner's estimate of the due range is
-- always stale for it: pending deliveries are a sliver of the table when
-- it is analyzed, and a backlog of thousands appears between two analyzes.
-- With the estimate of a few rows it chose a bitmap scan of the whole due
-- range and a sort, once per claim: 10,000 pending deliveries made each
-- claim read them all (40 ms), each round of the backlog again. The SET
-- clauses pin the ordered index scan for this one query (they keep the
-- function from being inlined, which is what makes them apply).
CREATE FUNCTION hooks.due_deliveries(busy text[], n bigint)
RETURNS TABLE (id text, endpoint_id text, next_attempt_at timestamptz, leased_until timestamptz)
LANGUAGE sql STABLE
SET enable_bitmapscan = off
SET enable_seqscan = off
SET enable_sort = off
AS $$
    SELECT d.id, d.endpoint_id, d.next_attempt_at, d.leased_until FROM hooks.deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.leased_until IS NULL OR d.leased_until <= now())
      AND NOT (d.endpoint_id = ANY(busy))
    ORDER BY d.next_attempt_at
    LIMIT n
$$;
