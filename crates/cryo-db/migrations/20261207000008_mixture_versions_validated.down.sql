-- A validated constraint cannot be made "not valid" again, and need not be: reverting
-- 20261207000006 drops the column and its constraint.
SELECT 1;
