-- A stored prediction of a classifier holds a class: the most probable class, the probability
-- of every class, and the conformal prediction set with its level (the interval columns stay
-- empty). numeric_value stays a number for every reader: for a class prediction it holds the
-- predicted class's probability. Nullable, no default: a metadata-only change. The check is validated by the next
-- migration in its own transaction. Row-level security is the table's own: the new columns
-- are read and written exactly as the rest of the row.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS class_label text;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS class_probabilities jsonb;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS prediction_set text[];
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS prediction_set_level double precision;
-- (a IS NULL) >= (b IS NULL) reads "a only with b": a set only with a label.
ALTER TABLE predictions ADD CONSTRAINT predictions_class_complete
    CHECK ((class_label IS NULL) = (class_probabilities IS NULL)
           AND (prediction_set IS NULL) >= (class_label IS NULL)
           AND (prediction_set IS NULL) = (prediction_set_level IS NULL)
           AND prediction_set_level > 0 AND prediction_set_level < 1
           AND (class_label IS NULL OR (jsonb_typeof(class_probabilities) = 'object'
                                        AND length(class_label) BETWEEN 1 AND 200
                                        AND numeric_value BETWEEN 0 AND 1
                                        AND interval_level IS NULL))) NOT VALID;
