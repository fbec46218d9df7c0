-- Access tokens issued before this instant are refused (logout, a reused refresh token). Set to
-- whole seconds, the resolution of a token's `iat`. Nullable, no default: metadata-only.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE users ADD COLUMN IF NOT EXISTS sessions_valid_after timestamptz;
