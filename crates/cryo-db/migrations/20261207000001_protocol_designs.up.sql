-- Protocols designed with membrane-transport physics (#22): the problem they were designed for
-- (cell, loading or removal, target, temperature, volume limits), the toxicity model their cost
-- uses, which designer made them, and what the server's own re-simulation of their steps gave
-- (total time, toxicity cost, volume extremes, whether they kept the limits). Nullable, no
-- defaults: a metadata-only change, and protocols from before have none of it. The checks are
-- validated by the next migration, in its own transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS problem jsonb;
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS toxicity jsonb;
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS designer text;
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS total_time_min double precision;
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS toxicity_cost double precision;
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS min_relative_volume double precision;
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS max_relative_volume double precision;
ALTER TABLE protocols ADD COLUMN IF NOT EXISTS within_limits boolean;
ALTER TABLE protocols ADD CONSTRAINT protocols_designer_known
    CHECK (designer IN ('stepwise', 'fewest_steps', 'toxicity_optimal', 'shortest_time', 'manual')) NOT VALID;
ALTER TABLE protocols ADD CONSTRAINT protocols_problem_object
    CHECK (jsonb_typeof(problem) = 'object' AND jsonb_typeof(toxicity) = 'object') NOT VALID;
ALTER TABLE protocols ADD CONSTRAINT protocols_simulated_complete
    CHECK (problem IS NULL OR (total_time_min > 0 AND toxicity_cost >= 0 AND min_relative_volume > 0
                               AND max_relative_volume >= min_relative_volume
                               AND within_limits IS NOT NULL) IS TRUE) NOT VALID;
