-- name: OverviewDays :many
-- The organization's sessions created in [since, until) in one mode, per
-- site, currency and day in time_zone (an IANA name; days since
-- 1970-01-01 of that calendar): how many were
-- created, how many of them are paid, and their paid total in minor units.
-- Read off checkout_sessions_list_idx (index only): only the
-- organization's rows of the window.
SELECT site_id, currency,
       ((created_at AT TIME ZONE sqlc.arg(time_zone)::text)::date - DATE '1970-01-01')::bigint AS day,
       count(*)::bigint AS created,
       count(*) FILTER (WHERE payment_status = 'paid')::bigint AS paid,
       coalesce(sum(amount_total) FILTER (WHERE payment_status = 'paid'), 0)::bigint AS paid_amount
FROM admin.checkout_sessions
WHERE organization_id = @organization_id AND livemode = @livemode
  AND created_at >= @since AND created_at < @until
GROUP BY site_id, currency, day
ORDER BY currency, site_id, day;
