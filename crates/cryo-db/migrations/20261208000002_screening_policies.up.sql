-- cryoprotect: rls-policy-set
-- Privileges and row-level security of screening jobs (migration 20261208000001). Idempotent;
-- re-run by `cryoprotect db rls apply`. A job is its requester's alone. Its rows and chunks are
-- written by the requester when they create it (as themselves, so the library snapshot is what
-- they can read); chunks' progress and results are written by workers as service_role. Rows,
-- chunks and results follow their job through app.my_screenings(), read once per statement.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE OR REPLACE FUNCTION app.my_screenings() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(j.id), '{}') FROM public.screening_jobs j WHERE j.created_by = auth.uid()
$$;
ALTER FUNCTION app.my_screenings() OWNER TO cryoprotect_rls_definer;
REVOKE ALL ON FUNCTION app.my_screenings() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.my_screenings() TO anon, authenticated, service_role, cryoprotect_rls_definer;

REVOKE ALL ON screening_jobs, screening_rows, screening_chunks, screening_results FROM anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON screening_jobs TO authenticated;
GRANT SELECT, INSERT ON screening_rows, screening_chunks TO authenticated;
GRANT SELECT ON screening_results TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON screening_jobs, screening_rows, screening_chunks, screening_results TO service_role;
-- The BYPASSRLS helper role reads every table (backups dump through it).
GRANT SELECT ON screening_jobs, screening_rows, screening_chunks, screening_results TO cryoprotect_rls_definer;

ALTER TABLE screening_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening_jobs FORCE ROW LEVEL SECURITY;
ALTER TABLE screening_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening_rows FORCE ROW LEVEL SECURITY;
ALTER TABLE screening_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening_chunks FORCE ROW LEVEL SECURITY;
ALTER TABLE screening_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE screening_results FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS screening_jobs_service_role ON screening_jobs;
CREATE POLICY screening_jobs_service_role ON screening_jobs FOR ALL TO service_role
    USING ((SELECT auth.role()) = 'service_role') WITH CHECK ((SELECT auth.role()) = 'service_role');
DROP POLICY IF EXISTS screening_jobs_select ON screening_jobs;
CREATE POLICY screening_jobs_select ON screening_jobs FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS screening_jobs_insert ON screening_jobs;
CREATE POLICY screening_jobs_insert ON screening_jobs FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()) AND state = 'queued'
                AND (project_id IS NULL OR project_id = ANY ((SELECT app.readable_projects())::uuid[])));
DROP POLICY IF EXISTS screening_jobs_update ON screening_jobs;
CREATE POLICY screening_jobs_update ON screening_jobs FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid())) WITH CHECK (created_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS screening_jobs_delete ON screening_jobs;
CREATE POLICY screening_jobs_delete ON screening_jobs FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));

DROP POLICY IF EXISTS screening_rows_service_role ON screening_rows;
CREATE POLICY screening_rows_service_role ON screening_rows FOR ALL TO service_role
    USING ((SELECT auth.role()) = 'service_role') WITH CHECK ((SELECT auth.role()) = 'service_role');
DROP POLICY IF EXISTS screening_rows_select ON screening_rows;
CREATE POLICY screening_rows_select ON screening_rows FOR SELECT TO authenticated
    USING (job_id = ANY ((SELECT app.my_screenings())::uuid[]));
DROP POLICY IF EXISTS screening_rows_insert ON screening_rows;
CREATE POLICY screening_rows_insert ON screening_rows FOR INSERT TO authenticated
    WITH CHECK (job_id = ANY ((SELECT app.my_screenings())::uuid[]));

DROP POLICY IF EXISTS screening_chunks_service_role ON screening_chunks;
CREATE POLICY screening_chunks_service_role ON screening_chunks FOR ALL TO service_role
    USING ((SELECT auth.role()) = 'service_role') WITH CHECK ((SELECT auth.role()) = 'service_role');
DROP POLICY IF EXISTS screening_chunks_select ON screening_chunks;
CREATE POLICY screening_chunks_select ON screening_chunks FOR SELECT TO authenticated
    USING (job_id = ANY ((SELECT app.my_screenings())::uuid[]));
DROP POLICY IF EXISTS screening_chunks_insert ON screening_chunks;
CREATE POLICY screening_chunks_insert ON screening_chunks FOR INSERT TO authenticated
    WITH CHECK (job_id = ANY ((SELECT app.my_screenings())::uuid[]) AND state = 'queued' AND attempts = 0);

DROP POLICY IF EXISTS screening_results_service_role ON screening_results;
CREATE POLICY screening_results_service_role ON screening_results FOR ALL TO service_role
    USING ((SELECT auth.role()) = 'service_role') WITH CHECK ((SELECT auth.role()) = 'service_role');
DROP POLICY IF EXISTS screening_results_select ON screening_results;
CREATE POLICY screening_results_select ON screening_results FOR SELECT TO authenticated
    USING (job_id = ANY ((SELECT app.my_screenings())::uuid[]));
