-- A stored model prediction keeps where its input stood in the model's applicability domain:
-- the flag, the Tanimoto similarity to the nearest training molecule, and whether the value lies
-- beyond the training targets' range. Nullable, no default: a metadata-only change (and
-- predictions from the reference table or from before this have no domain). The checks are
-- validated by the next migration, in its own transaction.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS domain_flag text;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS nearest_similarity double precision;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS beyond_training_range boolean;
ALTER TABLE predictions ADD CONSTRAINT predictions_domain_flag_known
    CHECK (domain_flag IN ('in', 'edge', 'out')) NOT VALID;
ALTER TABLE predictions ADD CONSTRAINT predictions_nearest_similarity_range
    CHECK (nearest_similarity >= 0 AND nearest_similarity <= 1) NOT VALID;
