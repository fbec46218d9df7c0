-- cryoprotect: data-loss
-- Drops the stored fingerprints, scaffolds and densities (fingerprints and scaffolds can be
-- recomputed from the structures; densities cannot).
DROP INDEX IF EXISTS molecules_name_idx;
ALTER TABLE molecules DROP COLUMN IF EXISTS morgan_fp, DROP COLUMN IF EXISTS murcko_scaffold,
    DROP COLUMN IF EXISTS density_g_per_ml;
