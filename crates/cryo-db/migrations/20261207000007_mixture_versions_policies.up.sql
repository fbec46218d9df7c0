-- cryoprotect: rls-policy-set
-- Privileges and row-level security of the composition history (migration 20261207000006).
-- Idempotent; re-run by `cryoprotect db rls apply`. A version is read with its mixture and
-- written by whoever may write the mixture, as themselves; nobody updates or deletes one (the
-- history is append-only; it goes with its mixture, by cascade).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

REVOKE ALL ON mixture_versions, mixture_version_components FROM anon, authenticated;
GRANT SELECT, INSERT ON mixture_versions, mixture_version_components TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON mixture_versions, mixture_version_components TO service_role;
-- The BYPASSRLS helper role reads every table (backups dump through it).
GRANT SELECT ON mixture_versions, mixture_version_components TO cryoprotect_rls_definer;

ALTER TABLE mixture_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE mixture_versions FORCE ROW LEVEL SECURITY;
ALTER TABLE mixture_version_components ENABLE ROW LEVEL SECURITY;
ALTER TABLE mixture_version_components FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS mixture_versions_service_role ON mixture_versions;
CREATE POLICY mixture_versions_service_role ON mixture_versions FOR ALL TO service_role
    USING ((SELECT auth.role()) = 'service_role') WITH CHECK ((SELECT auth.role()) = 'service_role');
DROP POLICY IF EXISTS mixture_versions_select ON mixture_versions;
CREATE POLICY mixture_versions_select ON mixture_versions FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id));
DROP POLICY IF EXISTS mixture_versions_insert ON mixture_versions;
CREATE POLICY mixture_versions_insert ON mixture_versions FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id
                            AND (x.created_by = (SELECT auth.uid())
                                 OR x.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                                 OR x.id = ANY ((SELECT app.shared_writable('mixture'))::uuid[]))));

DROP POLICY IF EXISTS mixture_version_components_service_role ON mixture_version_components;
CREATE POLICY mixture_version_components_service_role ON mixture_version_components FOR ALL TO service_role
    USING ((SELECT auth.role()) = 'service_role') WITH CHECK ((SELECT auth.role()) = 'service_role');
DROP POLICY IF EXISTS mixture_version_components_select ON mixture_version_components;
CREATE POLICY mixture_version_components_select ON mixture_version_components FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM mixture_versions v WHERE v.id = version_id));
-- Components join a version its author is writing now (their own), with molecules they see.
DROP POLICY IF EXISTS mixture_version_components_insert ON mixture_version_components;
CREATE POLICY mixture_version_components_insert ON mixture_version_components FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM mixture_versions v
                        WHERE v.id = version_id AND v.created_by = (SELECT auth.uid()))
                AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
