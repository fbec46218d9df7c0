-- cryoprotect: data-loss
-- Drops the values as sent in another unit (the converted values stay).
ALTER TABLE experiments DROP COLUMN IF EXISTS raw_unit;
ALTER TABLE experiments DROP COLUMN IF EXISTS raw_value;
