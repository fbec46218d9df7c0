-- cryoprotect: data-loss
-- Drops where stored predictions stood in their model's domain (the values stay).
ALTER TABLE predictions DROP CONSTRAINT IF EXISTS predictions_nearest_similarity_range;
ALTER TABLE predictions DROP CONSTRAINT IF EXISTS predictions_domain_flag_known;
ALTER TABLE predictions DROP COLUMN IF EXISTS beyond_training_range;
ALTER TABLE predictions DROP COLUMN IF EXISTS nearest_similarity;
ALTER TABLE predictions DROP COLUMN IF EXISTS domain_flag;
