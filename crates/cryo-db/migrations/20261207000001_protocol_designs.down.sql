-- cryoprotect: data-loss
-- Drops what designed protocols carried beyond their steps (the steps stay).
ALTER TABLE protocols DROP CONSTRAINT IF EXISTS protocols_simulated_complete;
ALTER TABLE protocols DROP CONSTRAINT IF EXISTS protocols_problem_object;
ALTER TABLE protocols DROP CONSTRAINT IF EXISTS protocols_designer_known;
ALTER TABLE protocols DROP COLUMN IF EXISTS within_limits;
ALTER TABLE protocols DROP COLUMN IF EXISTS max_relative_volume;
ALTER TABLE protocols DROP COLUMN IF EXISTS min_relative_volume;
ALTER TABLE protocols DROP COLUMN IF EXISTS toxicity_cost;
ALTER TABLE protocols DROP COLUMN IF EXISTS total_time_min;
ALTER TABLE protocols DROP COLUMN IF EXISTS designer;
ALTER TABLE protocols DROP COLUMN IF EXISTS toxicity;
ALTER TABLE protocols DROP COLUMN IF EXISTS problem;
