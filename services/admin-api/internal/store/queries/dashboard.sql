-- name: UpsertDashboardUser :one
-- Creates a user, or sets the password of the user with this email.
INSERT INTO admin.dashboard_users (id, email, password_hash) VALUES ($1, $2, $3)
ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash
RETURNING *;

-- name: GetDashboardUser :one
SELECT * FROM admin.dashboard_users WHERE id = $1;

-- name: SetDashboardUserPassword :exec
UPDATE admin.dashboard_users SET password_hash = $2 WHERE id = $1;

-- name: RehashDashboardUserPassword :execrows
-- Replaces the hash a sign-in just matched, made with older argon2
-- parameters, by one of the same password with today's: only while it is
-- still the stored one, so that a password changed meanwhile stays.
UPDATE admin.dashboard_users SET password_hash = @new_hash WHERE id = @id AND password_hash = @old_hash;

-- name: DeleteOtherDashboardSessions :execrows
-- Ends the user's sessions but this one (after a password change).
DELETE FROM admin.dashboard_sessions WHERE user_id = $1 AND token_hash <> $2;

-- name: GetDashboardUserByEmail :one
SELECT * FROM admin.dashboard_users WHERE email = $1;

-- name: SetDashboardMembership :one
-- Adds the user to the organization, or changes their role there.
INSERT INTO admin.dashboard_memberships (user_id, organization_id, role) VALUES ($1, $2, $3)
ON CONFLICT (user_id, organization_id) DO UPDATE SET role = EXCLUDED.role
RETURNING *;

-- name: ListDashboardMemberships :many
-- A user's organizations, oldest membership first (the one signed in to).
SELECT m.organization_id, m.role, o.name AS organization_name
FROM admin.dashboard_memberships m JOIN admin.organizations o ON o.id = m.organization_id
WHERE m.user_id = $1
ORDER BY m.created_at, m.organization_id;

-- name: CreateDashboardSession :exec
-- Starts a session and notes the user's sign-in.
WITH signed_in AS (UPDATE admin.dashboard_users SET last_sign_in_at = now() WHERE id = $2)
INSERT INTO admin.dashboard_sessions (token_hash, user_id, organization_id, livemode, csrf_secret, expires_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetDashboardSession :one
-- A live session with its user's email and role in the session's
-- organization; a session whose membership was removed finds nothing.
SELECT s.token_hash, s.user_id, s.organization_id, s.livemode, s.csrf_secret, s.created_at,
       s.last_seen_at, s.expires_at, u.email, u.time_zone, m.role, o.name AS organization_name,
       (SELECT count(*) FROM admin.dashboard_memberships WHERE user_id = s.user_id) AS organization_count
FROM admin.dashboard_sessions s
JOIN admin.dashboard_users u ON u.id = s.user_id
JOIN admin.dashboard_memberships m ON m.user_id = s.user_id AND m.organization_id = s.organization_id
JOIN admin.organizations o ON o.id = s.organization_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => sqlc.arg(idle_seconds)::float8);

-- name: TouchDashboardSession :exec
UPDATE admin.dashboard_sessions SET last_seen_at = now() WHERE token_hash = $1;

-- name: SetDashboardSessionMode :exec
UPDATE admin.dashboard_sessions SET livemode = $2 WHERE token_hash = $1;

-- name: SetDashboardSessionOrganization :execrows
-- Moves the session to another organization of its user, in test mode; a
-- user who is not a member there changes nothing (0 rows).
UPDATE admin.dashboard_sessions s SET organization_id = @organization_id, livemode = false
FROM admin.dashboard_memberships m
WHERE s.token_hash = @token_hash AND m.user_id = s.user_id AND m.organization_id = @organization_id;

-- name: DeleteDashboardSession :exec
DELETE FROM admin.dashboard_sessions WHERE token_hash = $1;

-- name: DeleteDashboardUserSessions :execrows
-- Logs the user out everywhere.
DELETE FROM admin.dashboard_sessions WHERE user_id = $1;

-- name: DeleteExpiredDashboardSessions :execrows
DELETE FROM admin.dashboard_sessions WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => sqlc.arg(idle_seconds)::float8);

-- name: CreateDashboardUser :one
-- Creates a user; an email that has one already creates nothing (no rows).
INSERT INTO admin.dashboard_users (id, email, password_hash) VALUES ($1, $2, $3)
ON CONFLICT (email) DO NOTHING
RETURNING *;

-- name: ListTeamMembers :many
-- An organization's members, owners first, then by email.
SELECT u.id AS user_id, u.email, m.role, m.created_at AS joined_at, u.last_sign_in_at
FROM admin.dashboard_memberships m JOIN admin.dashboard_users u ON u.id = m.user_id
WHERE m.organization_id = $1
ORDER BY m.role = 'owner' DESC, u.email;

-- name: GetTeamMemberRole :one
-- A member's role in the organization, locked for the change that follows.
SELECT role FROM admin.dashboard_memberships WHERE organization_id = $1 AND user_id = $2 FOR UPDATE;

-- name: CountOrganizationOwners :one
SELECT count(*) FROM admin.dashboard_memberships WHERE organization_id = $1 AND role = 'owner';

-- name: SetTeamMemberRole :exec
UPDATE admin.dashboard_memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2;

-- name: AddDashboardMembership :execrows
-- Adds the user to the organization; a member already keeps their role.
INSERT INTO admin.dashboard_memberships (user_id, organization_id, role) VALUES ($1, $2, $3)
ON CONFLICT (user_id, organization_id) DO NOTHING;

-- name: DeleteDashboardMembership :exec
DELETE FROM admin.dashboard_memberships WHERE organization_id = $1 AND user_id = $2;

-- name: DeleteDashboardOrganizationSessions :exec
-- Ends the user's sessions in the organization (after their removal).
DELETE FROM admin.dashboard_sessions WHERE organization_id = $1 AND user_id = $2;

-- name: CreateDashboardInvitation :one
INSERT INTO admin.dashboard_invitations (id, organization_id, email, role, token_hash, invited_by, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: ListDashboardInvitations :many
-- The organization's pending invitations, newest first.
SELECT * FROM admin.dashboard_invitations
WHERE organization_id = $1 AND accepted_at IS NULL AND expires_at > now()
ORDER BY created_at DESC, id;

-- name: DeleteDashboardInvitation :execrows
-- Revokes a pending invitation of the organization.
DELETE FROM admin.dashboard_invitations WHERE organization_id = $1 AND id = $2 AND accepted_at IS NULL;

-- name: GetDashboardInvitation :one
-- A usable invitation (pending, not expired) by its token's hash, with its
-- organization's name; locked when in a transaction that accepts it.
SELECT i.*, o.name AS organization_name
FROM admin.dashboard_invitations i JOIN admin.organizations o ON o.id = i.organization_id
WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.expires_at > now()
FOR UPDATE OF i;

-- name: AcceptDashboardInvitation :exec
UPDATE admin.dashboard_invitations SET accepted_at = now() WHERE id = $1;

-- name: SetDashboardUserTimeZone :exec
UPDATE admin.dashboard_users SET time_zone = $2 WHERE id = $1;
