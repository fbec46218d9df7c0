-- Authentication support and per-request identity, Supabase-compatible:
-- the API sets `request.jwt.claims` (transaction-local) and SET LOCAL ROLE to anon,
-- authenticated or service_role; auth.uid() and auth.role() read the claims.
--
-- The three roles are cluster-wide and must exist before this migration: `cryoprotect db
-- bootstrap` (or the embedded cluster) creates them with a privileged connection. Supabase
-- already has them.
DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(r, ', ') INTO missing
    FROM unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'database roles % are missing; run `cryoprotect db bootstrap` with a superuser connection first', missing;
    END IF;
END;
$$;

CREATE SCHEMA IF NOT EXISTS auth;

-- The caller's JWT claims, '{}' when none were set.
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

-- The caller's user id (claim `sub`), NULL for anonymous callers.
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN (auth.jwt() ->> 'sub') ~ '^[0-9a-fA-F-]{36}$' THEN (auth.jwt() ->> 'sub')::uuid END
$$;

-- The caller's role (claim `role`): anon, authenticated or service_role.
CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(auth.jwt() ->> 'role', 'anon')
$$;

-- Login bookkeeping: only the authentication service (service_role) reads or writes these.
ALTER TABLE users
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    ADD COLUMN locked_until timestamptz;

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the token: a database leak does not leak usable tokens.
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    replaced_by uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_replaced_by_idx ON refresh_tokens (replaced_by);

GRANT USAGE ON SCHEMA public, auth TO anon, authenticated, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role;
