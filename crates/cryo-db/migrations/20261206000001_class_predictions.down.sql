-- cryoprotect: data-loss
-- Drops the classes of stored class predictions (their probabilities stay as numeric_value).
ALTER TABLE predictions DROP CONSTRAINT IF EXISTS predictions_class_complete;
ALTER TABLE predictions DROP COLUMN IF EXISTS prediction_set_level;
ALTER TABLE predictions DROP COLUMN IF EXISTS prediction_set;
ALTER TABLE predictions DROP COLUMN IF EXISTS class_probabilities;
ALTER TABLE predictions DROP COLUMN IF EXISTS class_label;
