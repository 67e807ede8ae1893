-- Custom fields (issue 15, seed 002): a site's field definitions and a
-- session's values. Both are small JSON documents validated by admin-api
-- (internal/site/customfields.go): a site's list of definitions, a
-- session's object of key → string value. No CHECK constraints: validating
-- one would scan every session under the ALTER's exclusive lock; a constant
-- default makes these ALTERs instant.
SET lock_timeout = '5s';

ALTER TABLE admin.sites
    ADD COLUMN custom_fields jsonb NOT NULL DEFAULT '[]';

ALTER TABLE admin.checkout_sessions
    ADD COLUMN custom_fields jsonb NOT NULL DEFAULT '{}';
