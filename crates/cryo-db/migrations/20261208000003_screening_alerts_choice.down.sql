-- cryoprotect: data-loss
-- Forgets which screening jobs left out structural alerts.
ALTER TABLE screening_jobs DROP COLUMN IF EXISTS with_alerts;
