-- cryoprotect: data-loss
-- Drops the composition history (every version but the current composition, which stays in
-- mixture_components) and which version each experiment used.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
DROP TRIGGER IF EXISTS pin_mixture_version ON experiments;
DROP FUNCTION IF EXISTS app.pin_mixture_version();
ALTER TABLE experiments DROP COLUMN IF EXISTS mixture_version_id;
DROP TABLE IF EXISTS mixture_version_components;
DROP TABLE IF EXISTS mixture_versions;
ALTER TABLE mixtures DROP COLUMN IF EXISTS version;
