-- Server-side ranking (#20): every ranked list walks an index in the order it returns rows and
-- stops at the page, whatever the library's size. Molecules by name, creation time or molecular
-- weight; by any stored property (the newest value per molecule, so `(property_type_id,
-- numeric_value, molecule_id)`); by the newest prediction of a property or its interval width.
-- The (molecule, property, time) indexes answer "the newest value of this molecule" per row.
-- CONCURRENTLY cannot run inside a transaction (sqlx runs each migration in one, so a failure
-- leaves nothing behind); these tables are small where this first runs.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '120s';

-- squawk-ignore require-concurrent-index-creation
CREATE INDEX molecules_name_rank_idx ON molecules (lower(name), id);
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX molecules_created_rank_idx ON molecules (created_at, id);
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX molecules_weight_rank_idx ON molecules (molecular_weight, id);
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX molecular_properties_rank_idx
    ON molecular_properties (property_type_id, numeric_value, molecule_id) WHERE numeric_value IS NOT NULL;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX predictions_rank_idx
    ON predictions (property_type_id, numeric_value, molecule_id) WHERE molecule_id IS NOT NULL;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX predictions_width_rank_idx
    ON predictions (property_type_id, (interval_upper - interval_lower), molecule_id) WHERE molecule_id IS NOT NULL;
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX predictions_newest_idx ON predictions (molecule_id, property_type_id, created_at, id);
