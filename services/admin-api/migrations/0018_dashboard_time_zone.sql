-- A dashboard user's time zone (an IANA name, chosen on "Your account"):
-- the pages show times in it, the Overview's days are its days, and the
-- Checkouts created range is typed in it. The CSV export stays in UTC.
SET lock_timeout = '5s';

ALTER TABLE admin.dashboard_users ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';
