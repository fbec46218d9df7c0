-- A validated constraint cannot be made "not valid" again, and need not be: reverting
-- 20261207000001 drops the constraints themselves.
SELECT 1;
