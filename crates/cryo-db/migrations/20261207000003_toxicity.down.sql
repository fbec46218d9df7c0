-- cryoprotect: data-loss
-- Drops the toxicity data model: imported assay activities are lost.
DROP TABLE IF EXISTS toxicity_activities;
DROP TABLE IF EXISTS toxicity_assay_endpoints;
DROP TABLE IF EXISTS toxicity_assays;
DROP TABLE IF EXISTS toxicity_endpoints;
DROP TABLE IF EXISTS toxicity_sources;
