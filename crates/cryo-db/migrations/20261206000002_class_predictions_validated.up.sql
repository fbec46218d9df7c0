-- Validates the check added NOT VALID by 20261206000001, in a transaction of its own so the
-- scan holds only a SHARE UPDATE EXCLUSIVE lock (reads and writes go on).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE predictions VALIDATE CONSTRAINT predictions_class_complete;
