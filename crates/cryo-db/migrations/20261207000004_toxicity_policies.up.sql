-- cryoprotect: rls-policy-set
-- Privileges and row-level security of the toxicity tables (migration 20261207000003).
-- Idempotent; re-run by `cryoprotect db rls apply` after the main policy set, whose blanket
-- grants it narrows again: reference tables are read-only to everyone but service_role.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

REVOKE ALL ON toxicity_sources, toxicity_endpoints, toxicity_assays, toxicity_assay_endpoints, toxicity_activities
    FROM anon, authenticated;
GRANT SELECT ON toxicity_sources, toxicity_endpoints, toxicity_assays, toxicity_assay_endpoints, toxicity_activities
    TO anon, authenticated;
GRANT INSERT, UPDATE, DELETE ON toxicity_activities TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON toxicity_sources, toxicity_endpoints, toxicity_assays, toxicity_assay_endpoints, toxicity_activities
    TO service_role;
-- The BYPASSRLS helper role reads every table (backups dump through it).
GRANT SELECT ON toxicity_sources, toxicity_endpoints, toxicity_assays, toxicity_assay_endpoints, toxicity_activities
    TO cryoprotect_rls_definer;

ALTER TABLE toxicity_sources ENABLE ROW LEVEL SECURITY;
ALTER TABLE toxicity_sources FORCE ROW LEVEL SECURITY;
ALTER TABLE toxicity_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE toxicity_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE toxicity_assays ENABLE ROW LEVEL SECURITY;
ALTER TABLE toxicity_assays FORCE ROW LEVEL SECURITY;
ALTER TABLE toxicity_assay_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE toxicity_assay_endpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE toxicity_activities ENABLE ROW LEVEL SECURITY;
ALTER TABLE toxicity_activities FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS toxicity_sources_service_role ON toxicity_sources;
CREATE POLICY toxicity_sources_service_role ON toxicity_sources FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
DROP POLICY IF EXISTS toxicity_sources_select ON toxicity_sources;
CREATE POLICY toxicity_sources_select ON toxicity_sources FOR SELECT TO anon, authenticated USING (true);
DROP POLICY IF EXISTS toxicity_endpoints_service_role ON toxicity_endpoints;
CREATE POLICY toxicity_endpoints_service_role ON toxicity_endpoints FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
DROP POLICY IF EXISTS toxicity_endpoints_select ON toxicity_endpoints;
CREATE POLICY toxicity_endpoints_select ON toxicity_endpoints FOR SELECT TO anon, authenticated USING (true);
DROP POLICY IF EXISTS toxicity_assays_service_role ON toxicity_assays;
CREATE POLICY toxicity_assays_service_role ON toxicity_assays FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
DROP POLICY IF EXISTS toxicity_assays_select ON toxicity_assays;
CREATE POLICY toxicity_assays_select ON toxicity_assays FOR SELECT TO anon, authenticated USING (true);
DROP POLICY IF EXISTS toxicity_assay_endpoints_service_role ON toxicity_assay_endpoints;
CREATE POLICY toxicity_assay_endpoints_service_role ON toxicity_assay_endpoints FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
DROP POLICY IF EXISTS toxicity_assay_endpoints_select ON toxicity_assay_endpoints;
CREATE POLICY toxicity_assay_endpoints_select ON toxicity_assay_endpoints FOR SELECT TO anon, authenticated
    USING (true);

DROP POLICY IF EXISTS toxicity_activities_service_role ON toxicity_activities;
CREATE POLICY toxicity_activities_service_role ON toxicity_activities FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
DROP POLICY IF EXISTS toxicity_activities_select_reference ON toxicity_activities;
CREATE POLICY toxicity_activities_select_reference ON toxicity_activities FOR SELECT TO anon, authenticated
    USING (created_by IS NULL);
-- Your own measurements, and the measurements a molecule's owner made on it wherever that
-- molecule is visible to you (shared with your team or project).
DROP POLICY IF EXISTS toxicity_activities_select ON toxicity_activities;
CREATE POLICY toxicity_activities_select ON toxicity_activities FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid())
           OR EXISTS (SELECT 1 FROM molecules m
                      WHERE m.id = molecule_id AND m.created_by = toxicity_activities.created_by));
DROP POLICY IF EXISTS toxicity_activities_insert ON toxicity_activities;
CREATE POLICY toxicity_activities_insert ON toxicity_activities FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()) AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
DROP POLICY IF EXISTS toxicity_activities_update ON toxicity_activities;
CREATE POLICY toxicity_activities_update ON toxicity_activities FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()))
    WITH CHECK (created_by = (SELECT auth.uid()) AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
DROP POLICY IF EXISTS toxicity_activities_delete ON toxicity_activities;
CREATE POLICY toxicity_activities_delete ON toxicity_activities FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));
