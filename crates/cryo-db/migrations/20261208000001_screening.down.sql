-- cryoprotect: data-loss
-- Drops the screening jobs and everything they computed.
DROP TABLE IF EXISTS screening_results;
DROP TABLE IF EXISTS screening_chunks;
DROP TABLE IF EXISTS screening_rows;
DROP TABLE IF EXISTS screening_jobs;
