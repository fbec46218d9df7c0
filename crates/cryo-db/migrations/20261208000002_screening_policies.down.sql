-- Removes the screening tables' policies and privileges (the tables stay, closed to all but
-- their owner until the policy set is applied again).
DROP POLICY IF EXISTS screening_results_select ON screening_results;
DROP POLICY IF EXISTS screening_results_service_role ON screening_results;
DROP POLICY IF EXISTS screening_chunks_insert ON screening_chunks;
DROP POLICY IF EXISTS screening_chunks_select ON screening_chunks;
DROP POLICY IF EXISTS screening_chunks_service_role ON screening_chunks;
DROP POLICY IF EXISTS screening_rows_insert ON screening_rows;
DROP POLICY IF EXISTS screening_rows_select ON screening_rows;
DROP POLICY IF EXISTS screening_rows_service_role ON screening_rows;
DROP POLICY IF EXISTS screening_jobs_delete ON screening_jobs;
DROP POLICY IF EXISTS screening_jobs_update ON screening_jobs;
DROP POLICY IF EXISTS screening_jobs_insert ON screening_jobs;
DROP POLICY IF EXISTS screening_jobs_select ON screening_jobs;
DROP POLICY IF EXISTS screening_jobs_service_role ON screening_jobs;
REVOKE ALL ON screening_jobs, screening_rows, screening_chunks, screening_results
    FROM anon, authenticated, service_role, cryoprotect_rls_definer;
DROP FUNCTION IF EXISTS app.my_screenings();
