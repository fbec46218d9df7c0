-- Screening jobs may leave out structural alerts (#20): matching RDKit's whole FilterCatalog
-- costs a few milliseconds per structure, most of a screening's time when the models are fast.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE screening_jobs ADD COLUMN with_alerts boolean NOT NULL DEFAULT true;
