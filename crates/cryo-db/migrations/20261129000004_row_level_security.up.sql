-- cryoprotect: rls-policy-set
-- The row-level security policy set. Idempotent: `cryoprotect db rls apply` re-runs every
-- migration marked as a policy set to restore it. Every table holding user data has RLS enabled
-- and FORCED (so even the table owner is filtered), and every command is covered by a policy or
-- denied by having none. Cross-table checks go through SECURITY DEFINER helpers owned by
-- cryoprotect_rls_definer (BYPASSRLS), which breaks the recursion a policy on team_members that
-- reads team_members would otherwise hit.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cryoprotect_rls_definer') THEN
        RAISE EXCEPTION 'role cryoprotect_rls_definer is missing; run `cryoprotect db bootstrap` first';
    END IF;
    IF NOT pg_has_role(current_user, 'cryoprotect_rls_definer', 'MEMBER') THEN
        RAISE EXCEPTION 'the migrating role % must be a member of cryoprotect_rls_definer; run `cryoprotect db bootstrap`', current_user;
    END IF;
END;
$$;

CREATE SCHEMA IF NOT EXISTS app;
GRANT USAGE ON SCHEMA app TO anon, authenticated, service_role, cryoprotect_rls_definer;
GRANT CREATE ON SCHEMA app TO cryoprotect_rls_definer;
GRANT USAGE ON SCHEMA public, auth TO cryoprotect_rls_definer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO cryoprotect_rls_definer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cryoprotect_rls_definer;

-- The caller's role in a team, NULL if not a member.
CREATE OR REPLACE FUNCTION app.team_role(p_team uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.role FROM public.team_members m WHERE m.team_id = p_team AND m.user_id = auth.uid()
$$;

-- Whether the caller and another user share a team.
CREATE OR REPLACE FUNCTION app.shares_team_with(p_user uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.team_members mine
        JOIN public.team_members theirs ON theirs.team_id = mine.team_id
        WHERE mine.user_id = auth.uid() AND theirs.user_id = p_user)
$$;

-- 'write', 'read' or NULL: the caller's access to a project (owner, team role, public flag).
CREATE OR REPLACE FUNCTION app.project_access(p_project uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN p.created_by = auth.uid() THEN 'write'
        WHEN app.team_role(p.team_id) IN ('admin', 'editor') THEN 'write'
        WHEN app.team_role(p.team_id) = 'viewer' OR p.is_public THEN 'read'
    END
    FROM public.projects p WHERE p.id = p_project
$$;

-- 'write', 'read' or NULL: access granted by sharing the row with one of the caller's teams.
-- Write needs a write share and an editor or admin role in that team.
CREATE OR REPLACE FUNCTION app.shared_access(p_kind text, p_id uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN bool_or(s.permission = 'write' AND m.role IN ('admin', 'editor')) THEN 'write'
        WHEN count(*) > 0 THEN 'read'
    END
    FROM public.shared_resources s
    JOIN public.team_members m ON m.team_id = s.team_id AND m.user_id = auth.uid()
    WHERE s.resource_type = p_kind AND s.resource_id = p_id
$$;

-- The caller's access to a row from its owner, project and sharing: 'owner', 'write', 'read'.
CREATE OR REPLACE FUNCTION app.row_access(p_owner uuid, p_project uuid, p_kind text, p_id uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN auth.uid() IS NULL THEN NULL
        WHEN p_owner = auth.uid() THEN 'owner'
        WHEN app.project_access(p_project) = 'write' OR app.shared_access(p_kind, p_id) = 'write' THEN 'write'
        WHEN app.project_access(p_project) = 'read' OR app.shared_access(p_kind, p_id) = 'read' THEN 'read'
    END
$$;

CREATE OR REPLACE FUNCTION app.can_read(p_owner uuid, p_project uuid, p_kind text, p_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT app.row_access(p_owner, p_project, p_kind, p_id) IS NOT NULL $$;

CREATE OR REPLACE FUNCTION app.can_write(p_owner uuid, p_project uuid, p_kind text, p_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce(app.row_access(p_owner, p_project, p_kind, p_id) IN ('owner', 'write'), false) $$;

-- Whether the caller may read / write the row a polymorphic reference points at.
CREATE OR REPLACE FUNCTION app.resource_access(p_kind text, p_id uuid) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_owner uuid;
    v_project uuid;
    v_reference boolean := false;
BEGIN
    CASE p_kind
        WHEN 'project' THEN SELECT created_by, id INTO v_owner, v_project FROM public.projects WHERE id = p_id;
        WHEN 'molecule' THEN SELECT created_by, project_id, is_reference INTO v_owner, v_project, v_reference FROM public.molecules WHERE id = p_id;
        WHEN 'mixture' THEN SELECT created_by, project_id INTO v_owner, v_project FROM public.mixtures WHERE id = p_id;
        WHEN 'experiment' THEN SELECT created_by, project_id INTO v_owner, v_project FROM public.experiments WHERE id = p_id;
        WHEN 'protocol' THEN SELECT created_by, project_id INTO v_owner, v_project FROM public.protocols WHERE id = p_id;
        WHEN 'prediction' THEN SELECT created_by, project_id INTO v_owner, v_project FROM public.predictions WHERE id = p_id;
        ELSE RETURN NULL;
    END CASE;
    IF v_reference THEN
        RETURN 'read';
    END IF;
    IF v_owner IS NULL AND v_project IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN app.row_access(v_owner, v_project, p_kind, p_id);
END;
$$;

CREATE OR REPLACE FUNCTION app.can_write_molecule(p_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT NOT m.is_reference AND app.can_write(m.created_by, m.project_id, 'molecule', m.id)
                     FROM public.molecules m WHERE m.id = p_id), false)
$$;

CREATE OR REPLACE FUNCTION app.can_write_mixture(p_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT app.can_write(x.created_by, x.project_id, 'mixture', x.id)
                     FROM public.mixtures x WHERE x.id = p_id), false)
$$;

CREATE OR REPLACE FUNCTION app.can_write_experiment(p_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT app.can_write(e.created_by, e.project_id, 'experiment', e.id)
                     FROM public.experiments e WHERE e.id = p_id), false)
$$;

CREATE OR REPLACE FUNCTION app.is_team_creator(p_team uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.teams t WHERE t.id = p_team AND t.created_by = auth.uid())
$$;

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.pronamespace = 'app'::regnamespace AND p.prosecdef
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO cryoprotect_rls_definer', f);
    END LOOP;
END;
$$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA app FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app TO anon, authenticated, service_role, cryoprotect_rls_definer;

-- A team's creator becomes its first admin.
CREATE OR REPLACE FUNCTION app.add_team_creator() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.team_members (team_id, user_id, role) VALUES (NEW.id, NEW.created_by, 'admin')
    ON CONFLICT (team_id, user_id) DO NOTHING;
    RETURN NEW;
END;
$$;
ALTER FUNCTION app.add_team_creator() OWNER TO cryoprotect_rls_definer;
GRANT INSERT ON public.team_members TO cryoprotect_rls_definer;
DROP TRIGGER IF EXISTS teams_add_creator ON teams;
CREATE TRIGGER teams_add_creator AFTER INSERT ON teams FOR EACH ROW EXECUTE FUNCTION app.add_team_creator();

------------------------------------------------------------------------------------------------
-- Table privileges: roles get the commands; policies decide the rows.
------------------------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM anon, authenticated, service_role;
GRANT SELECT ON property_types, calculation_methods, molecules TO anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO authenticated, service_role;
REVOKE ALL ON refresh_tokens FROM authenticated;
REVOKE ALL ON _sqlx_migrations FROM anon, authenticated;
GRANT SELECT ON _sqlx_migrations TO service_role;
-- Password hashes and lockout state are for the authentication service only.
REVOKE SELECT, UPDATE ON users FROM authenticated;
GRANT SELECT (id, email, display_name, global_role, is_active, created_at, updated_at) ON users TO authenticated;
GRANT UPDATE (display_name) ON users TO authenticated;

------------------------------------------------------------------------------------------------
-- Policies. Every table: RLS enabled and forced; service_role may do everything.
------------------------------------------------------------------------------------------------
DO $$
DECLARE
    t text;
    p record;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
    LOOP
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', t);
        -- Drop every existing policy so a re-run leaves exactly this set.
        FOR p IN SELECT policyname FROM pg_policies WHERE schemaname = 'public' AND tablename = t LOOP
            EXECUTE format('DROP POLICY %I ON public.%I', p.policyname, t);
        END LOOP;
        EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO service_role USING (auth.role() = %L) WITH CHECK (auth.role() = %L)',
                       t || '_service_role', t, 'service_role', 'service_role');
    END LOOP;
END;
$$;

-- users: yourself and your team-mates; you may rename yourself. Accounts are created by the
-- authentication service.
CREATE POLICY users_select ON users FOR SELECT TO authenticated
    USING (id = auth.uid() OR app.shares_team_with(id));
CREATE POLICY users_update ON users FOR UPDATE TO authenticated
    USING (id = auth.uid()) WITH CHECK (id = auth.uid());

CREATE POLICY user_profiles_select ON user_profiles FOR SELECT TO authenticated
    USING (user_id = auth.uid() OR app.shares_team_with(user_id));
CREATE POLICY user_profiles_insert ON user_profiles FOR INSERT TO authenticated WITH CHECK (user_id = auth.uid());
CREATE POLICY user_profiles_update ON user_profiles FOR UPDATE TO authenticated
    USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
CREATE POLICY user_profiles_delete ON user_profiles FOR DELETE TO authenticated USING (user_id = auth.uid());

-- teams: members see them; anyone signed in may create one (and becomes its admin).
CREATE POLICY teams_select ON teams FOR SELECT TO authenticated
    USING (created_by = auth.uid() OR app.team_role(id) IS NOT NULL);
CREATE POLICY teams_insert ON teams FOR INSERT TO authenticated WITH CHECK (created_by = auth.uid());
CREATE POLICY teams_update ON teams FOR UPDATE TO authenticated
    USING (app.team_role(id) = 'admin') WITH CHECK (app.team_role(id) = 'admin');
CREATE POLICY teams_delete ON teams FOR DELETE TO authenticated
    USING (created_by = auth.uid() OR app.team_role(id) = 'admin');

-- team_members: visible to the team; managed by its admins; anyone may leave.
CREATE POLICY team_members_select ON team_members FOR SELECT TO authenticated
    USING (app.team_role(team_id) IS NOT NULL);
CREATE POLICY team_members_insert ON team_members FOR INSERT TO authenticated
    WITH CHECK (app.team_role(team_id) = 'admin');
CREATE POLICY team_members_update ON team_members FOR UPDATE TO authenticated
    USING (app.team_role(team_id) = 'admin') WITH CHECK (app.team_role(team_id) = 'admin');
CREATE POLICY team_members_delete ON team_members FOR DELETE TO authenticated
    USING (app.team_role(team_id) = 'admin' OR user_id = auth.uid());

-- projects: owner, the project's own team (editors and admins write), public projects readable.
-- Written over the row's own columns, so INSERT … RETURNING and WITH CHECK judge the new row.
CREATE POLICY projects_select ON projects FOR SELECT TO authenticated
    USING (created_by = auth.uid() OR is_public OR app.team_role(team_id) IS NOT NULL
           OR app.shared_access('project', id) IS NOT NULL);
CREATE POLICY projects_insert ON projects FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND (team_id IS NULL OR app.team_role(team_id) IN ('admin', 'editor')));
CREATE POLICY projects_update ON projects FOR UPDATE TO authenticated
    USING (created_by = auth.uid() OR app.team_role(team_id) IN ('admin', 'editor')
           OR app.shared_access('project', id) = 'write')
    WITH CHECK ((created_by = auth.uid() AND (team_id IS NULL OR app.team_role(team_id) IS NOT NULL))
                OR app.team_role(team_id) IN ('admin', 'editor')
                OR app.shared_access('project', id) = 'write');
CREATE POLICY projects_delete ON projects FOR DELETE TO authenticated
    USING (created_by = auth.uid() OR app.team_role(team_id) = 'admin');

-- Reference data: readable by everyone, written by service_role only.
CREATE POLICY property_types_select ON property_types FOR SELECT TO anon, authenticated USING (true);
CREATE POLICY calculation_methods_select ON calculation_methods FOR SELECT TO anon, authenticated USING (true);

-- Research data owned through created_by, shared through projects and shared_resources.
CREATE POLICY molecules_select_reference ON molecules FOR SELECT TO anon, authenticated USING (is_reference);
CREATE POLICY molecules_select ON molecules FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'molecule', id));
CREATE POLICY molecules_insert ON molecules FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND NOT is_reference
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
CREATE POLICY molecules_update ON molecules FOR UPDATE TO authenticated
    USING (NOT is_reference AND app.can_write(created_by, project_id, 'molecule', id))
    WITH CHECK (NOT is_reference AND app.can_write(created_by, project_id, 'molecule', id));
CREATE POLICY molecules_delete ON molecules FOR DELETE TO authenticated
    USING (created_by = auth.uid() AND NOT is_reference);

CREATE POLICY molecular_properties_select ON molecular_properties FOR SELECT TO anon, authenticated
    USING (EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
CREATE POLICY molecular_properties_insert ON molecular_properties FOR INSERT TO authenticated
    WITH CHECK (app.can_write_molecule(molecule_id));
CREATE POLICY molecular_properties_update ON molecular_properties FOR UPDATE TO authenticated
    USING (app.can_write_molecule(molecule_id)) WITH CHECK (app.can_write_molecule(molecule_id));
CREATE POLICY molecular_properties_delete ON molecular_properties FOR DELETE TO authenticated
    USING (app.can_write_molecule(molecule_id));
GRANT SELECT ON molecular_properties TO anon;

CREATE POLICY mixtures_select ON mixtures FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'mixture', id));
CREATE POLICY mixtures_insert ON mixtures FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
CREATE POLICY mixtures_update ON mixtures FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'mixture', id))
    WITH CHECK (app.can_write(created_by, project_id, 'mixture', id));
CREATE POLICY mixtures_delete ON mixtures FOR DELETE TO authenticated USING (created_by = auth.uid());

-- Components follow their mixture; a component may only use molecules the caller can see.
CREATE POLICY mixture_components_select ON mixture_components FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id));
CREATE POLICY mixture_components_insert ON mixture_components FOR INSERT TO authenticated
    WITH CHECK (app.can_write_mixture(mixture_id) AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
CREATE POLICY mixture_components_update ON mixture_components FOR UPDATE TO authenticated
    USING (app.can_write_mixture(mixture_id))
    WITH CHECK (app.can_write_mixture(mixture_id) AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
CREATE POLICY mixture_components_delete ON mixture_components FOR DELETE TO authenticated
    USING (app.can_write_mixture(mixture_id));

CREATE POLICY protocols_select ON protocols FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'protocol', id));
CREATE POLICY protocols_insert ON protocols FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id)
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
CREATE POLICY protocols_update ON protocols FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'protocol', id))
    WITH CHECK (app.can_write(created_by, project_id, 'protocol', id));
CREATE POLICY protocols_delete ON protocols FOR DELETE TO authenticated USING (created_by = auth.uid());

CREATE POLICY experiments_select ON experiments FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'experiment', id));
CREATE POLICY experiments_insert ON experiments FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid()
                AND (molecule_id IS NULL OR EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id))
                AND (mixture_id IS NULL OR EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id))
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
CREATE POLICY experiments_update ON experiments FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'experiment', id))
    WITH CHECK (app.can_write(created_by, project_id, 'experiment', id));
CREATE POLICY experiments_delete ON experiments FOR DELETE TO authenticated USING (created_by = auth.uid());

CREATE POLICY predictions_select ON predictions FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'prediction', id));
CREATE POLICY predictions_insert ON predictions FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid()
                AND (molecule_id IS NULL OR EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id))
                AND (mixture_id IS NULL OR EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id))
                AND (project_id IS NULL OR app.project_access(project_id) = 'write'));
CREATE POLICY predictions_update ON predictions FOR UPDATE TO authenticated
    USING (app.can_write(created_by, project_id, 'prediction', id))
    WITH CHECK (app.can_write(created_by, project_id, 'prediction', id));
CREATE POLICY predictions_delete ON predictions FOR DELETE TO authenticated USING (created_by = auth.uid());

-- Lab verifications: the requester (who can write the experiment) asks a verifier; only the
-- named verifier decides. Both, and whoever can read the experiment, see the record.
CREATE POLICY lab_verifications_select ON lab_verifications FOR SELECT TO authenticated
    USING (requested_by = auth.uid() OR verifier_id = auth.uid()
           OR EXISTS (SELECT 1 FROM experiments e WHERE e.id = experiment_id));
CREATE POLICY lab_verifications_insert ON lab_verifications FOR INSERT TO authenticated
    WITH CHECK (requested_by = auth.uid() AND status = 'pending' AND app.can_write_experiment(experiment_id));
CREATE POLICY lab_verifications_update ON lab_verifications FOR UPDATE TO authenticated
    USING (verifier_id = auth.uid()) WITH CHECK (verifier_id = auth.uid());
CREATE POLICY lab_verifications_delete ON lab_verifications FOR DELETE TO authenticated
    USING (requested_by = auth.uid() AND status = 'pending');

-- Sharing: visible to the team; only a row's owner shares it, into a team they belong to.
CREATE POLICY shared_resources_select ON shared_resources FOR SELECT TO authenticated
    USING (app.team_role(team_id) IS NOT NULL OR shared_by = auth.uid());
CREATE POLICY shared_resources_insert ON shared_resources FOR INSERT TO authenticated
    WITH CHECK (shared_by = auth.uid() AND app.team_role(team_id) IS NOT NULL
                AND app.resource_access(resource_type, resource_id) = 'owner');
CREATE POLICY shared_resources_update ON shared_resources FOR UPDATE TO authenticated
    USING (shared_by = auth.uid()) WITH CHECK (shared_by = auth.uid());
CREATE POLICY shared_resources_delete ON shared_resources FOR DELETE TO authenticated
    USING (shared_by = auth.uid() OR app.team_role(team_id) = 'admin');

-- Comments follow their resource.
CREATE POLICY comments_select ON comments FOR SELECT TO authenticated
    USING (app.resource_access(resource_type, resource_id) IS NOT NULL);
CREATE POLICY comments_insert ON comments FOR INSERT TO authenticated
    WITH CHECK (created_by = auth.uid() AND app.resource_access(resource_type, resource_id) IS NOT NULL);
CREATE POLICY comments_update ON comments FOR UPDATE TO authenticated
    USING (created_by = auth.uid()) WITH CHECK (created_by = auth.uid());
CREATE POLICY comments_delete ON comments FOR DELETE TO authenticated USING (created_by = auth.uid());

-- Notifications: the recipient only; created by the service.
CREATE POLICY notifications_select ON notifications FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY notifications_update ON notifications FOR UPDATE TO authenticated
    USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
CREATE POLICY notifications_delete ON notifications FOR DELETE TO authenticated USING (user_id = auth.uid());

-- Activity log: the team sees its activity; you see your own; entries are written as yourself.
CREATE POLICY activity_log_select ON activity_log FOR SELECT TO authenticated
    USING (user_id = auth.uid() OR (team_id IS NOT NULL AND app.team_role(team_id) IS NOT NULL));
CREATE POLICY activity_log_insert ON activity_log FOR INSERT TO authenticated
    WITH CHECK (user_id = auth.uid() AND (team_id IS NULL OR app.team_role(team_id) IS NOT NULL));

-- Audit log: written as yourself, read by administrators (service_role) only.
CREATE POLICY audit_log_insert ON audit_log FOR INSERT TO authenticated WITH CHECK (actor_id = auth.uid());
