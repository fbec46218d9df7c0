DROP INDEX IF EXISTS predictions_newest_idx;
DROP INDEX IF EXISTS predictions_width_rank_idx;
DROP INDEX IF EXISTS predictions_rank_idx;
DROP INDEX IF EXISTS molecular_properties_rank_idx;
DROP INDEX IF EXISTS molecules_weight_rank_idx;
DROP INDEX IF EXISTS molecules_created_rank_idx;
DROP INDEX IF EXISTS molecules_name_rank_idx;
