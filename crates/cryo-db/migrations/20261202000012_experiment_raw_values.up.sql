-- A measurement is stored in its property's unit (numeric_value, unit); what the lab sent, when
-- it was in another unit, is kept beside it. Nullable, no default: a metadata-only change.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE experiments ADD COLUMN IF NOT EXISTS raw_value double precision;
ALTER TABLE experiments ADD COLUMN IF NOT EXISTS raw_unit text;
