-- cryoprotect: rls-policy-set
-- Row-level security for the model registry. Idempotent, like the main policy set (which
-- `cryoprotect db rls apply` runs first; it drops every policy in `public`, so this one must
-- follow it). A model is read and written like any research row (owner, project, team); its
-- versions, aliases and jobs follow the model. Versions can only be deleted once archived.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE OR REPLACE FUNCTION app.model_access(p_model uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT app.row_access(m.created_by, m.project_id, NULL, m.id) FROM public.models m WHERE m.id = p_model
$$;
CREATE OR REPLACE FUNCTION app.can_read_model(p_model uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT app.model_access(p_model) IS NOT NULL $$;
CREATE OR REPLACE FUNCTION app.can_write_model(p_model uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce(app.model_access(p_model) IN ('owner', 'write'), false) $$;
ALTER FUNCTION app.model_access(uuid) OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.can_read_model(uuid) OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.can_write_model(uuid) OWNER TO cryoprotect_rls_definer;
REVOKE ALL ON FUNCTION app.model_access(uuid), app.can_read_model(uuid), app.can_write_model(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.model_access(uuid), app.can_read_model(uuid), app.can_write_model(uuid)
    TO anon, authenticated, service_role, cryoprotect_rls_definer;

-- Privileges: roles get the commands (and, for versions and jobs, only the columns users may
-- change); policies decide the rows.
REVOKE ALL ON models, model_versions, model_aliases, training_jobs, prediction_provenance FROM anon, authenticated, service_role;
GRANT SELECT ON models, model_versions, model_aliases, training_jobs, prediction_provenance TO cryoprotect_rls_definer;
GRANT SELECT, INSERT, UPDATE, DELETE ON models, model_versions, model_aliases, training_jobs, prediction_provenance TO service_role;
GRANT SELECT, INSERT, DELETE ON models, model_versions, model_aliases TO authenticated;
GRANT SELECT, INSERT ON prediction_provenance TO authenticated;
GRANT UPDATE (name, description, project_id) ON models TO authenticated;
GRANT UPDATE (stage, last_production_at) ON model_versions TO authenticated;
GRANT UPDATE (version_id) ON model_aliases TO authenticated;
GRANT SELECT, INSERT ON training_jobs TO authenticated;
GRANT UPDATE (cancel_requested) ON training_jobs TO authenticated;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['models', 'model_versions', 'model_aliases', 'training_jobs', 'prediction_provenance'] LOOP
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_service_role', t);
        EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO service_role USING (auth.role() = %L) WITH CHECK (auth.role() = %L)',
                       t || '_service_role', t, 'service_role', 'service_role');
    END LOOP;
END;
$$;

DROP POLICY IF EXISTS models_select ON models;
DROP POLICY IF EXISTS models_insert ON models;
DROP POLICY IF EXISTS models_update ON models;
DROP POLICY IF EXISTS models_delete ON models;
CREATE POLICY models_select ON models FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, NULL, id));
CREATE POLICY models_insert ON models FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
CREATE POLICY models_update ON models FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, NULL, id))
    WITH CHECK (app.can_write(created_by, project_id, NULL, id));
CREATE POLICY models_delete ON models FOR DELETE TO authenticated USING (created_by = auth.uid());

DROP POLICY IF EXISTS model_versions_select ON model_versions;
DROP POLICY IF EXISTS model_versions_insert ON model_versions;
DROP POLICY IF EXISTS model_versions_update ON model_versions;
DROP POLICY IF EXISTS model_versions_delete ON model_versions;
CREATE POLICY model_versions_select ON model_versions FOR SELECT TO authenticated
    USING (app.can_read_model(model_id));
CREATE POLICY model_versions_insert ON model_versions FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND app.can_write_model(model_id));
CREATE POLICY model_versions_update ON model_versions FOR UPDATE TO authenticated
    USING (app.can_write_model(model_id)) WITH CHECK (app.can_write_model(model_id));
CREATE POLICY model_versions_delete ON model_versions FOR DELETE TO authenticated
    USING (stage = 'archived' AND app.can_write_model(model_id));

DROP POLICY IF EXISTS model_aliases_select ON model_aliases;
DROP POLICY IF EXISTS model_aliases_insert ON model_aliases;
DROP POLICY IF EXISTS model_aliases_update ON model_aliases;
DROP POLICY IF EXISTS model_aliases_delete ON model_aliases;
CREATE POLICY model_aliases_select ON model_aliases FOR SELECT TO authenticated
    USING (app.can_read_model(model_id));
CREATE POLICY model_aliases_insert ON model_aliases FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND app.can_write_model(model_id));
CREATE POLICY model_aliases_update ON model_aliases FOR UPDATE TO authenticated
    USING (app.can_write_model(model_id)) WITH CHECK (app.can_write_model(model_id));
CREATE POLICY model_aliases_delete ON model_aliases FOR DELETE TO authenticated
    USING (app.can_write_model(model_id));

-- Jobs: whoever can read the model sees them; only the requester may ask to cancel (the one
-- column they may update); workers run as service_role. History is never deleted by users.
DROP POLICY IF EXISTS training_jobs_select ON training_jobs;
DROP POLICY IF EXISTS training_jobs_insert ON training_jobs;
DROP POLICY IF EXISTS training_jobs_update ON training_jobs;
CREATE POLICY training_jobs_select ON training_jobs FOR SELECT TO authenticated
    USING (created_by = auth.uid() OR app.can_read_model(model_id));
CREATE POLICY training_jobs_insert ON training_jobs FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND state = 'queued' AND app.can_write_model(model_id));
CREATE POLICY training_jobs_update ON training_jobs FOR UPDATE TO authenticated
    USING (created_by = auth.uid()) WITH CHECK (created_by = auth.uid());

-- Provenance follows its prediction; it is written once, by the prediction's author.
DROP POLICY IF EXISTS prediction_provenance_select ON prediction_provenance;
DROP POLICY IF EXISTS prediction_provenance_insert ON prediction_provenance;
CREATE POLICY prediction_provenance_select ON prediction_provenance FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM predictions p WHERE p.id = prediction_id));
CREATE POLICY prediction_provenance_insert ON prediction_provenance FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM predictions p WHERE p.id = prediction_id AND p.created_by = auth.uid())
                AND (model_version_id IS NULL OR app.can_read_model(
                        (SELECT v.model_id FROM model_versions v WHERE v.id = model_version_id))));
