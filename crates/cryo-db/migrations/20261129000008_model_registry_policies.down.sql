-- Removes the registry's policies and helpers; data is untouched.
DROP POLICY IF EXISTS models_select ON models;
DROP POLICY IF EXISTS models_insert ON models;
DROP POLICY IF EXISTS models_update ON models;
DROP POLICY IF EXISTS models_delete ON models;
DROP POLICY IF EXISTS model_versions_select ON model_versions;
DROP POLICY IF EXISTS model_versions_insert ON model_versions;
DROP POLICY IF EXISTS model_versions_update ON model_versions;
DROP POLICY IF EXISTS model_versions_delete ON model_versions;
DROP POLICY IF EXISTS model_aliases_select ON model_aliases;
DROP POLICY IF EXISTS model_aliases_insert ON model_aliases;
DROP POLICY IF EXISTS model_aliases_update ON model_aliases;
DROP POLICY IF EXISTS model_aliases_delete ON model_aliases;
DROP POLICY IF EXISTS training_jobs_select ON training_jobs;
DROP POLICY IF EXISTS training_jobs_insert ON training_jobs;
DROP POLICY IF EXISTS training_jobs_update ON training_jobs;
DROP POLICY IF EXISTS prediction_provenance_select ON prediction_provenance;
DROP POLICY IF EXISTS prediction_provenance_insert ON prediction_provenance;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['models', 'model_versions', 'model_aliases', 'training_jobs', 'prediction_provenance'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_service_role', t);
        EXECUTE format('ALTER TABLE public.%I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE public.%I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END;
$$;
REVOKE ALL ON models, model_versions, model_aliases, training_jobs, prediction_provenance
    FROM anon, authenticated, service_role, cryoprotect_rls_definer;
DROP FUNCTION IF EXISTS app.can_write_model(uuid);
DROP FUNCTION IF EXISTS app.can_read_model(uuid);
DROP FUNCTION IF EXISTS app.model_access(uuid);
