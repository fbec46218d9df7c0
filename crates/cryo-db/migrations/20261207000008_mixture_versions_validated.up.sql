-- Validates the foreign key added NOT VALID by 20261207000006, in a transaction of its own so
-- the scan holds only a SHARE UPDATE EXCLUSIVE lock (reads and writes go on).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE experiments VALIDATE CONSTRAINT experiments_mixture_version_id_fkey;
