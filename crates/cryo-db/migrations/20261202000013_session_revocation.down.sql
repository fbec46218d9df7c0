-- Revocation instants are only meaningful while tokens of that age may still be presented.
ALTER TABLE users DROP COLUMN IF EXISTS sessions_valid_after;
