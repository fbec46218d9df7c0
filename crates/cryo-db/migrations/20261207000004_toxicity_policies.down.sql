-- Removes the toxicity tables' policies and privileges (the tables stay, closed to all but
-- their owner until the policy set is applied again).
DROP POLICY IF EXISTS toxicity_activities_delete ON toxicity_activities;
DROP POLICY IF EXISTS toxicity_activities_update ON toxicity_activities;
DROP POLICY IF EXISTS toxicity_activities_insert ON toxicity_activities;
DROP POLICY IF EXISTS toxicity_activities_select ON toxicity_activities;
DROP POLICY IF EXISTS toxicity_activities_select_reference ON toxicity_activities;
DROP POLICY IF EXISTS toxicity_activities_service_role ON toxicity_activities;
DROP POLICY IF EXISTS toxicity_assay_endpoints_select ON toxicity_assay_endpoints;
DROP POLICY IF EXISTS toxicity_assay_endpoints_service_role ON toxicity_assay_endpoints;
DROP POLICY IF EXISTS toxicity_assays_select ON toxicity_assays;
DROP POLICY IF EXISTS toxicity_assays_service_role ON toxicity_assays;
DROP POLICY IF EXISTS toxicity_endpoints_select ON toxicity_endpoints;
DROP POLICY IF EXISTS toxicity_endpoints_service_role ON toxicity_endpoints;
DROP POLICY IF EXISTS toxicity_sources_select ON toxicity_sources;
DROP POLICY IF EXISTS toxicity_sources_service_role ON toxicity_sources;
REVOKE ALL ON toxicity_sources, toxicity_endpoints, toxicity_assays, toxicity_assay_endpoints, toxicity_activities
    FROM anon, authenticated, service_role;
