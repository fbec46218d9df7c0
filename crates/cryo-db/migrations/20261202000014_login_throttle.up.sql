-- Sign-in throttling that an attacker cannot turn against the account's owner: failures are
-- counted per (account, client address) pair and per client address, never per account alone,
-- so the right password from an address that has not failed is always heard. `account_key` is
-- the SHA-256 of the normalised e-mail (known or not, so the answer never says which), or '*' for
-- the address as a whole. A row is reserved under its lock before the password is checked, so
-- concurrent guesses are counted one by one. Service only: no user policy.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE login_throttle (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_key   text NOT NULL CHECK (length(account_key) BETWEEN 1 AND 64),
    client        text NOT NULL CHECK (length(client) BETWEEN 1 AND 64),
    attempts      bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    blocked_until timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT login_throttle_key UNIQUE (account_key, client)
);
CREATE INDEX login_throttle_updated_idx ON login_throttle (updated_at);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON login_throttle FOR EACH ROW EXECUTE FUNCTION set_updated_at();

REVOKE ALL ON login_throttle FROM anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO service_role;
GRANT SELECT ON login_throttle TO cryoprotect_rls_definer;
ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_throttle FORCE ROW LEVEL SECURITY;
CREATE POLICY login_throttle_service_role ON login_throttle FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');

-- The per-account lock is gone: its columns stay (append-only migrations) but nothing reads them.
COMMENT ON COLUMN users.failed_logins IS 'unused since migration 14 (login_throttle)';
COMMENT ON COLUMN users.locked_until IS 'unused since migration 14 (login_throttle)';
