-- Validates the checks added NOT VALID by 20261207000001, in a transaction of its own so the
-- scan holds only a SHARE UPDATE EXCLUSIVE lock (reads and writes go on).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE protocols VALIDATE CONSTRAINT protocols_designer_known;
ALTER TABLE protocols VALIDATE CONSTRAINT protocols_problem_object;
ALTER TABLE protocols VALIDATE CONSTRAINT protocols_simulated_complete;
