-- Back to the per-row policies of the earlier sets (their text, as they last defined them),
-- then the helpers this migration added. Privileges it narrowed stay narrowed.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

DROP POLICY IF EXISTS users_select ON users;
CREATE POLICY users_select ON users FOR SELECT TO authenticated
    USING (id = auth.uid() OR app.shares_team_with(id));
DROP POLICY IF EXISTS users_update ON users;
CREATE POLICY users_update ON users FOR UPDATE TO authenticated
    USING (id = auth.uid()) WITH CHECK (id = auth.uid());
DROP POLICY IF EXISTS user_profiles_select ON user_profiles;
CREATE POLICY user_profiles_select ON user_profiles FOR SELECT TO authenticated
    USING (user_id = auth.uid() OR app.shares_team_with(user_id));
DROP POLICY IF EXISTS user_profiles_insert ON user_profiles;
CREATE POLICY user_profiles_insert ON user_profiles FOR INSERT TO authenticated WITH CHECK (user_id = auth.uid());
DROP POLICY IF EXISTS user_profiles_update ON user_profiles;
CREATE POLICY user_profiles_update ON user_profiles FOR UPDATE TO authenticated
    USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
DROP POLICY IF EXISTS user_profiles_delete ON user_profiles;
CREATE POLICY user_profiles_delete ON user_profiles FOR DELETE TO authenticated USING (user_id = auth.uid());
DROP POLICY IF EXISTS teams_select ON teams;
CREATE POLICY teams_select ON teams FOR SELECT TO authenticated
    USING (created_by = auth.uid() OR app.team_role(id) IS NOT NULL);
DROP POLICY IF EXISTS teams_insert ON teams;
CREATE POLICY teams_insert ON teams FOR INSERT TO authenticated WITH CHECK (created_by = auth.uid());
DROP POLICY IF EXISTS teams_update ON teams;
CREATE POLICY teams_update ON teams FOR UPDATE TO authenticated
    USING (app.team_role(id) = 'admin') WITH CHECK (app.team_role(id) = 'admin');
DROP POLICY IF EXISTS teams_delete ON teams;
CREATE POLICY teams_delete ON teams FOR DELETE TO authenticated
    USING (created_by = auth.uid() OR app.team_role(id) = 'admin');
DROP POLICY IF EXISTS team_members_select ON team_members;
CREATE POLICY team_members_select ON team_members FOR SELECT TO authenticated
    USING (app.team_role(team_id) IS NOT NULL);
DROP POLICY IF EXISTS team_members_insert ON team_members;
CREATE POLICY team_members_insert ON team_members FOR INSERT TO authenticated
    WITH CHECK (user_id = auth.uid() AND app.invited_as(team_id, role));
DROP POLICY IF EXISTS team_members_update ON team_members;
CREATE POLICY team_members_update ON team_members FOR UPDATE TO authenticated
    USING (app.team_role(team_id) = 'admin') WITH CHECK (app.team_role(team_id) = 'admin');
DROP POLICY IF EXISTS team_members_delete ON team_members;
CREATE POLICY team_members_delete ON team_members FOR DELETE TO authenticated
    USING (app.team_role(team_id) = 'admin' OR user_id = auth.uid());
DROP POLICY IF EXISTS team_invitations_select ON team_invitations;
CREATE POLICY team_invitations_select ON team_invitations FOR SELECT TO authenticated
    USING (user_id = auth.uid() OR app.team_role(team_id) = 'admin');
DROP POLICY IF EXISTS team_invitations_insert ON team_invitations;
CREATE POLICY team_invitations_insert ON team_invitations FOR INSERT TO authenticated
    WITH CHECK (app.team_role(team_id) = 'admin' AND invited_by = auth.uid());
DROP POLICY IF EXISTS team_invitations_update ON team_invitations;
CREATE POLICY team_invitations_update ON team_invitations FOR UPDATE TO authenticated
    USING (app.team_role(team_id) = 'admin')
    WITH CHECK (app.team_role(team_id) = 'admin' AND invited_by = auth.uid());
DROP POLICY IF EXISTS team_invitations_delete ON team_invitations;
CREATE POLICY team_invitations_delete ON team_invitations FOR DELETE TO authenticated
    USING (user_id = auth.uid() OR app.team_role(team_id) = 'admin');
DROP POLICY IF EXISTS projects_select ON projects;
CREATE POLICY projects_select ON projects FOR SELECT TO authenticated
    USING (created_by = auth.uid() OR is_public OR app.team_role(team_id) IS NOT NULL
           OR app.shared_access('project', id) IS NOT NULL);
DROP POLICY IF EXISTS projects_insert ON projects;
CREATE POLICY projects_insert ON projects FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND (team_id IS NULL OR app.team_role(team_id) IN ('admin', 'editor')));
DROP POLICY IF EXISTS projects_update ON projects;
CREATE POLICY projects_update ON projects FOR UPDATE TO authenticated
    USING (created_by = auth.uid() OR app.team_role(team_id) IN ('admin', 'editor')
           OR app.shared_access('project', id) = 'write')
    WITH CHECK ((created_by = auth.uid() AND (team_id IS NULL OR app.team_role(team_id) IS NOT NULL))
                OR app.team_role(team_id) IN ('admin', 'editor')
                OR app.shared_access('project', id) = 'write');
DROP POLICY IF EXISTS projects_delete ON projects;
CREATE POLICY projects_delete ON projects FOR DELETE TO authenticated
    USING (created_by = auth.uid() OR app.team_role(team_id) = 'admin');
DROP POLICY IF EXISTS molecules_select ON molecules;
CREATE POLICY molecules_select ON molecules FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'molecule', id));
DROP POLICY IF EXISTS molecules_insert ON molecules;
CREATE POLICY molecules_insert ON molecules FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND NOT is_reference
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
DROP POLICY IF EXISTS molecules_update ON molecules;
CREATE POLICY molecules_update ON molecules FOR UPDATE TO authenticated
    USING (NOT is_reference AND app.can_write(created_by, project_id, 'molecule', id))
    WITH CHECK (NOT is_reference AND app.can_write(created_by, project_id, 'molecule', id));
DROP POLICY IF EXISTS molecules_delete ON molecules;
CREATE POLICY molecules_delete ON molecules FOR DELETE TO authenticated
    USING (created_by = auth.uid() AND NOT is_reference);
DROP POLICY IF EXISTS molecular_properties_insert ON molecular_properties;
CREATE POLICY molecular_properties_insert ON molecular_properties FOR INSERT TO authenticated
    WITH CHECK (app.can_write_molecule(molecule_id));
DROP POLICY IF EXISTS molecular_properties_update ON molecular_properties;
CREATE POLICY molecular_properties_update ON molecular_properties FOR UPDATE TO authenticated
    USING (app.can_write_molecule(molecule_id)) WITH CHECK (app.can_write_molecule(molecule_id));
DROP POLICY IF EXISTS molecular_properties_delete ON molecular_properties;
CREATE POLICY molecular_properties_delete ON molecular_properties FOR DELETE TO authenticated
    USING (app.can_write_molecule(molecule_id));
DROP POLICY IF EXISTS mixtures_select ON mixtures;
CREATE POLICY mixtures_select ON mixtures FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'mixture', id));
DROP POLICY IF EXISTS mixtures_insert ON mixtures;
CREATE POLICY mixtures_insert ON mixtures FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
DROP POLICY IF EXISTS mixtures_update ON mixtures;
CREATE POLICY mixtures_update ON mixtures FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'mixture', id))
    WITH CHECK (app.can_write(created_by, project_id, 'mixture', id));
DROP POLICY IF EXISTS mixtures_delete ON mixtures;
CREATE POLICY mixtures_delete ON mixtures FOR DELETE TO authenticated USING (created_by = auth.uid());
DROP POLICY IF EXISTS mixture_components_insert ON mixture_components;
CREATE POLICY mixture_components_insert ON mixture_components FOR INSERT TO authenticated
    WITH CHECK (app.can_write_mixture(mixture_id) AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
DROP POLICY IF EXISTS mixture_components_update ON mixture_components;
CREATE POLICY mixture_components_update ON mixture_components FOR UPDATE TO authenticated
    USING (app.can_write_mixture(mixture_id))
    WITH CHECK (app.can_write_mixture(mixture_id) AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
DROP POLICY IF EXISTS mixture_components_delete ON mixture_components;
CREATE POLICY mixture_components_delete ON mixture_components FOR DELETE TO authenticated
    USING (app.can_write_mixture(mixture_id));
DROP POLICY IF EXISTS protocols_select ON protocols;
CREATE POLICY protocols_select ON protocols FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'protocol', id));
DROP POLICY IF EXISTS protocols_insert ON protocols;
CREATE POLICY protocols_insert ON protocols FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id)
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
DROP POLICY IF EXISTS protocols_update ON protocols;
CREATE POLICY protocols_update ON protocols FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'protocol', id))
    WITH CHECK (app.can_write(created_by, project_id, 'protocol', id));
DROP POLICY IF EXISTS protocols_delete ON protocols;
CREATE POLICY protocols_delete ON protocols FOR DELETE TO authenticated USING (created_by = auth.uid());
DROP POLICY IF EXISTS experiments_select ON experiments;
CREATE POLICY experiments_select ON experiments FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'experiment', id) OR app.is_named_verifier(id));
DROP POLICY IF EXISTS experiments_insert ON experiments;
CREATE POLICY experiments_insert ON experiments FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid()
                AND (molecule_id IS NULL OR EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id))
                AND (mixture_id IS NULL OR EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id))
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
DROP POLICY IF EXISTS experiments_update ON experiments;
CREATE POLICY experiments_update ON experiments FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'experiment', id))
    WITH CHECK (app.can_write(created_by, project_id, 'experiment', id));
DROP POLICY IF EXISTS experiments_delete ON experiments;
CREATE POLICY experiments_delete ON experiments FOR DELETE TO authenticated USING (created_by = auth.uid());
DROP POLICY IF EXISTS predictions_select ON predictions;
CREATE POLICY predictions_select ON predictions FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'prediction', id));
DROP POLICY IF EXISTS predictions_insert ON predictions;
CREATE POLICY predictions_insert ON predictions FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid()
                AND (molecule_id IS NULL OR EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id))
                AND (mixture_id IS NULL OR EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id))
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
DROP POLICY IF EXISTS predictions_update ON predictions;
CREATE POLICY predictions_update ON predictions FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'prediction', id))
    WITH CHECK (app.can_write(created_by, project_id, 'prediction', id));
DROP POLICY IF EXISTS predictions_delete ON predictions;
CREATE POLICY predictions_delete ON predictions FOR DELETE TO authenticated USING (created_by = auth.uid());
DROP POLICY IF EXISTS lab_verifications_select ON lab_verifications;
CREATE POLICY lab_verifications_select ON lab_verifications FOR SELECT TO authenticated
    USING (requested_by = auth.uid() OR verifier_id = auth.uid()
           OR EXISTS (SELECT 1 FROM experiments e WHERE e.id = experiment_id));
DROP POLICY IF EXISTS lab_verifications_insert ON lab_verifications;
CREATE POLICY lab_verifications_insert ON lab_verifications FOR INSERT TO authenticated
    WITH CHECK (requested_by = auth.uid() AND status = 'pending' AND app.can_write_experiment(experiment_id));
DROP POLICY IF EXISTS lab_verifications_update ON lab_verifications;
CREATE POLICY lab_verifications_update ON lab_verifications FOR UPDATE TO authenticated
    USING (verifier_id = auth.uid()) WITH CHECK (verifier_id = auth.uid());
DROP POLICY IF EXISTS lab_verifications_delete ON lab_verifications;
CREATE POLICY lab_verifications_delete ON lab_verifications FOR DELETE TO authenticated
    USING (requested_by = auth.uid() AND status = 'pending');
DROP POLICY IF EXISTS shared_resources_select ON shared_resources;
CREATE POLICY shared_resources_select ON shared_resources FOR SELECT TO authenticated
    USING (app.team_role(team_id) IS NOT NULL OR shared_by = auth.uid());
DROP POLICY IF EXISTS shared_resources_insert ON shared_resources;
CREATE POLICY shared_resources_insert ON shared_resources FOR INSERT TO authenticated
    WITH CHECK (shared_by = auth.uid() AND app.team_role(team_id) IS NOT NULL
                AND app.resource_access(resource_type, resource_id) = 'owner');
DROP POLICY IF EXISTS shared_resources_update ON shared_resources;
CREATE POLICY shared_resources_update ON shared_resources FOR UPDATE TO authenticated
    USING (shared_by = auth.uid()) WITH CHECK (shared_by = auth.uid());
DROP POLICY IF EXISTS shared_resources_delete ON shared_resources;
CREATE POLICY shared_resources_delete ON shared_resources FOR DELETE TO authenticated
    USING (shared_by = auth.uid() OR app.team_role(team_id) = 'admin');
DROP POLICY IF EXISTS comments_select ON comments;
CREATE POLICY comments_select ON comments FOR SELECT TO authenticated
    USING (app.resource_access(resource_type, resource_id) IS NOT NULL);
DROP POLICY IF EXISTS comments_insert ON comments;
CREATE POLICY comments_insert ON comments FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND app.resource_access(resource_type, resource_id) IS NOT NULL);
DROP POLICY IF EXISTS comments_update ON comments;
CREATE POLICY comments_update ON comments FOR UPDATE TO authenticated
    USING (created_by = auth.uid()) WITH CHECK (created_by = auth.uid());
DROP POLICY IF EXISTS comments_delete ON comments;
CREATE POLICY comments_delete ON comments FOR DELETE TO authenticated USING (created_by = auth.uid());
DROP POLICY IF EXISTS notifications_select ON notifications;
CREATE POLICY notifications_select ON notifications FOR SELECT TO authenticated USING (user_id = auth.uid());
DROP POLICY IF EXISTS notifications_update ON notifications;
CREATE POLICY notifications_update ON notifications FOR UPDATE TO authenticated
    USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
DROP POLICY IF EXISTS notifications_delete ON notifications;
CREATE POLICY notifications_delete ON notifications FOR DELETE TO authenticated USING (user_id = auth.uid());
DROP POLICY IF EXISTS activity_log_select ON activity_log;
CREATE POLICY activity_log_select ON activity_log FOR SELECT TO authenticated
    USING (user_id = auth.uid() OR (team_id IS NOT NULL AND app.team_role(team_id) IS NOT NULL));
DROP POLICY IF EXISTS activity_log_insert ON activity_log;
CREATE POLICY activity_log_insert ON activity_log FOR INSERT TO authenticated
    WITH CHECK (user_id = auth.uid() AND (team_id IS NULL OR app.team_role(team_id) IS NOT NULL));
DROP POLICY IF EXISTS audit_log_insert ON audit_log;
CREATE POLICY audit_log_insert ON audit_log FOR INSERT TO authenticated WITH CHECK (actor_id = auth.uid());
DROP POLICY IF EXISTS models_select ON models;
CREATE POLICY models_select ON models FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, NULL, id));
DROP POLICY IF EXISTS models_insert ON models;
CREATE POLICY models_insert ON models FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
DROP POLICY IF EXISTS models_update ON models;
CREATE POLICY models_update ON models FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, NULL, id))
    WITH CHECK (app.can_write(created_by, project_id, NULL, id));
DROP POLICY IF EXISTS models_delete ON models;
CREATE POLICY models_delete ON models FOR DELETE TO authenticated USING (created_by = auth.uid());
DROP POLICY IF EXISTS model_versions_select ON model_versions;
CREATE POLICY model_versions_select ON model_versions FOR SELECT TO authenticated
    USING (app.can_read_model(model_id));
DROP POLICY IF EXISTS model_versions_insert ON model_versions;
CREATE POLICY model_versions_insert ON model_versions FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND app.can_write_model(model_id));
DROP POLICY IF EXISTS model_versions_update ON model_versions;
CREATE POLICY model_versions_update ON model_versions FOR UPDATE TO authenticated
    USING (app.can_write_model(model_id)) WITH CHECK (app.can_write_model(model_id));
DROP POLICY IF EXISTS model_versions_delete ON model_versions;
CREATE POLICY model_versions_delete ON model_versions FOR DELETE TO authenticated
    USING (stage = 'archived' AND app.can_write_model(model_id));
DROP POLICY IF EXISTS model_aliases_select ON model_aliases;
CREATE POLICY model_aliases_select ON model_aliases FOR SELECT TO authenticated
    USING (app.can_read_model(model_id));
DROP POLICY IF EXISTS model_aliases_insert ON model_aliases;
CREATE POLICY model_aliases_insert ON model_aliases FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND app.can_write_model(model_id));
DROP POLICY IF EXISTS model_aliases_update ON model_aliases;
CREATE POLICY model_aliases_update ON model_aliases FOR UPDATE TO authenticated
    USING (app.can_write_model(model_id)) WITH CHECK (app.can_write_model(model_id));
DROP POLICY IF EXISTS model_aliases_delete ON model_aliases;
CREATE POLICY model_aliases_delete ON model_aliases FOR DELETE TO authenticated
    USING (app.can_write_model(model_id));
DROP POLICY IF EXISTS training_jobs_select ON training_jobs;
CREATE POLICY training_jobs_select ON training_jobs FOR SELECT TO authenticated
    USING (created_by = auth.uid() OR app.can_read_model(model_id));
DROP POLICY IF EXISTS training_jobs_insert ON training_jobs;
CREATE POLICY training_jobs_insert ON training_jobs FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND state = 'queued' AND app.can_write_model(model_id));
DROP POLICY IF EXISTS training_jobs_update ON training_jobs;
CREATE POLICY training_jobs_update ON training_jobs FOR UPDATE TO authenticated
    USING (created_by = auth.uid()) WITH CHECK (created_by = auth.uid());
DROP POLICY IF EXISTS prediction_provenance_select ON prediction_provenance;
CREATE POLICY prediction_provenance_select ON prediction_provenance FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM predictions p WHERE p.id = prediction_id));
DROP POLICY IF EXISTS prediction_provenance_insert ON prediction_provenance;
CREATE POLICY prediction_provenance_insert ON prediction_provenance FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM predictions p WHERE p.id = prediction_id AND p.created_by = auth.uid())
                AND (model_version_id IS NULL OR app.can_read_model(
                        (SELECT v.model_id FROM model_versions v WHERE v.id = model_version_id))));

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_service_role', t);
        EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO service_role USING (auth.role() = %L) WITH CHECK (auth.role() = %L)',
                       t || '_service_role', t, 'service_role', 'service_role');
    END LOOP;
END;
$$;

DROP FUNCTION app.my_teams(), app.my_teams_as(text[]), app.my_teammates(), app.readable_projects(),
    app.writable_projects(), app.shared_with_me(text), app.shared_writable(text), app.experiments_to_verify();
