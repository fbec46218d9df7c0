-- cryoprotect: data-loss
-- Drops refresh tokens and login bookkeeping.
REVOKE ALL ON SCHEMA public FROM anon, authenticated, service_role;
DROP TABLE IF EXISTS refresh_tokens;
ALTER TABLE users DROP COLUMN IF EXISTS failed_logins, DROP COLUMN IF EXISTS locked_until;
DROP SCHEMA IF EXISTS auth CASCADE;
