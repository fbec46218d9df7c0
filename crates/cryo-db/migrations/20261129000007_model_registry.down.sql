-- cryoprotect: data-loss
-- Drops the registry: every model, version, alias and training job is lost.
DROP TABLE IF EXISTS prediction_provenance;
DROP TABLE IF EXISTS training_jobs;
DROP TABLE IF EXISTS model_aliases;
DROP TABLE IF EXISTS model_versions;
DROP TABLE IF EXISTS models;
DROP FUNCTION IF EXISTS model_versions_are_immutable();
