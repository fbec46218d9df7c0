-- cryoprotect: rls-policy-set
-- Row-level security at the cost of an index scan (#23). The earlier policy sets decided every
-- row by calling SECURITY DEFINER helpers with the row's columns (`app.can_read(created_by, …)`)
-- and bare `auth.uid()`: functions PostgreSQL cannot inline, run once per row before any filter
-- (22× slower lists at 100k molecules). Here every policy compares the row's own columns with
-- sets computed once per statement: `(SELECT auth.uid())` and `(SELECT app.my_teams())` become
-- InitPlans, and `owner = $1 OR project_id = ANY ($2) OR id = ANY ($3)` can use indexes. (The
-- `::uuid[]` casts keep `ANY ((SELECT …))` an array comparison; without one it parses as a subquery.)
-- Who may read or write what is unchanged; `db rls verify` lints that it stays in this form.
-- Idempotent; `db rls apply` re-runs it last, after the sets it replaces.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

------------------------------------------------------------------------------------------------
-- The caller's sets, each computed once per statement. Empty (never NULL) for anonymous callers.
------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION app.my_teams() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(m.team_id), '{}') FROM public.team_members m WHERE m.user_id = auth.uid()
$$;

-- The teams where the caller holds one of `p_roles`.
CREATE OR REPLACE FUNCTION app.my_teams_as(p_roles text[]) RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(m.team_id), '{}') FROM public.team_members m
    WHERE m.user_id = auth.uid() AND m.role = ANY (p_roles)
$$;

-- Everyone who shares a team with the caller (the caller included when in a team).
CREATE OR REPLACE FUNCTION app.my_teammates() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT theirs.user_id), '{}')
    FROM public.team_members mine
    JOIN public.team_members theirs ON theirs.team_id = mine.team_id
    WHERE mine.user_id = auth.uid()
$$;

-- Projects whose rows the caller may read: app.project_access(id) IS NOT NULL.
CREATE OR REPLACE FUNCTION app.readable_projects() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(p.id), '{}') FROM public.projects p
    WHERE auth.uid() IS NOT NULL
      AND (p.created_by = auth.uid() OR p.is_public
           OR p.team_id IN (SELECT m.team_id FROM public.team_members m WHERE m.user_id = auth.uid()))
$$;

-- Projects whose rows the caller may write: app.project_access(id) = 'write'.
CREATE OR REPLACE FUNCTION app.writable_projects() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(p.id), '{}') FROM public.projects p
    WHERE p.created_by = auth.uid()
       OR p.team_id IN (SELECT m.team_id FROM public.team_members m
                        WHERE m.user_id = auth.uid() AND m.role IN ('admin', 'editor'))
$$;

-- Rows of kind `p_kind` shared with one of the caller's teams: app.shared_access(kind, id) IS NOT NULL.
CREATE OR REPLACE FUNCTION app.shared_with_me(p_kind text) RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT s.resource_id), '{}')
    FROM public.shared_resources s
    JOIN public.team_members m ON m.team_id = s.team_id AND m.user_id = auth.uid()
    WHERE s.resource_type = p_kind
$$;

-- … that the caller may write: a write share into a team where they edit or administer.
CREATE OR REPLACE FUNCTION app.shared_writable(p_kind text) RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT s.resource_id), '{}')
    FROM public.shared_resources s
    JOIN public.team_members m ON m.team_id = s.team_id AND m.user_id = auth.uid()
    WHERE s.resource_type = p_kind AND s.permission = 'write' AND m.role IN ('admin', 'editor')
$$;

-- Experiments the caller was asked to verify by a team-mate: app.is_named_verifier(id).
CREATE OR REPLACE FUNCTION app.experiments_to_verify() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT v.experiment_id), '{}')
    FROM public.lab_verifications v
    WHERE v.verifier_id = auth.uid() AND app.shares_team_with(v.requested_by)
$$;

ALTER FUNCTION app.my_teams() OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.my_teams_as(text[]) OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.my_teammates() OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.readable_projects() OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.writable_projects() OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.shared_with_me(text) OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.shared_writable(text) OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.experiments_to_verify() OWNER TO cryoprotect_rls_definer;
REVOKE ALL ON FUNCTION app.my_teams(), app.my_teams_as(text[]), app.my_teammates(), app.readable_projects(),
    app.writable_projects(), app.shared_with_me(text), app.shared_writable(text), app.experiments_to_verify()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.my_teams(), app.my_teams_as(text[]), app.my_teammates(), app.readable_projects(),
    app.writable_projects(), app.shared_with_me(text), app.shared_writable(text), app.experiments_to_verify()
    TO anon, authenticated, service_role, cryoprotect_rls_definer;

------------------------------------------------------------------------------------------------
-- Privileges the first policy set's blanket grant gives back on every re-run, narrowed again
-- (after `db rls apply` or a restore, `authenticated` held every command on these).
------------------------------------------------------------------------------------------------
REVOKE ALL ON alerts, alert_deliveries, alert_silences, login_throttle FROM anon, authenticated;

------------------------------------------------------------------------------------------------
-- service_role: everything, with the role read once per statement.
------------------------------------------------------------------------------------------------
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_service_role', t);
        EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO service_role USING ((SELECT auth.role()) = %L) WITH CHECK ((SELECT auth.role()) = %L)',
                       t || '_service_role', t, 'service_role', 'service_role');
    END LOOP;
END;
$$;

------------------------------------------------------------------------------------------------
-- People and teams.
------------------------------------------------------------------------------------------------
DROP POLICY IF EXISTS users_select ON users;
CREATE POLICY users_select ON users FOR SELECT TO authenticated
    USING (id = (SELECT auth.uid()) OR id = ANY ((SELECT app.my_teammates())::uuid[]));
DROP POLICY IF EXISTS users_update ON users;
CREATE POLICY users_update ON users FOR UPDATE TO authenticated
    USING (id = (SELECT auth.uid())) WITH CHECK (id = (SELECT auth.uid()));

DROP POLICY IF EXISTS user_profiles_select ON user_profiles;
CREATE POLICY user_profiles_select ON user_profiles FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()) OR user_id = ANY ((SELECT app.my_teammates())::uuid[]));
DROP POLICY IF EXISTS user_profiles_insert ON user_profiles;
CREATE POLICY user_profiles_insert ON user_profiles FOR INSERT TO authenticated
    WITH CHECK (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS user_profiles_update ON user_profiles;
CREATE POLICY user_profiles_update ON user_profiles FOR UPDATE TO authenticated
    USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS user_profiles_delete ON user_profiles;
CREATE POLICY user_profiles_delete ON user_profiles FOR DELETE TO authenticated
    USING (user_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS teams_select ON teams;
CREATE POLICY teams_select ON teams FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR id = ANY ((SELECT app.my_teams())::uuid[]));
DROP POLICY IF EXISTS teams_insert ON teams;
CREATE POLICY teams_insert ON teams FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS teams_update ON teams;
CREATE POLICY teams_update ON teams FOR UPDATE TO authenticated
    USING (id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]))
    WITH CHECK (id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]));
DROP POLICY IF EXISTS teams_delete ON teams;
CREATE POLICY teams_delete ON teams FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]));

DROP POLICY IF EXISTS team_members_select ON team_members;
CREATE POLICY team_members_select ON team_members FOR SELECT TO authenticated
    USING (team_id = ANY ((SELECT app.my_teams())::uuid[]));
-- Joining takes an unexpired invitation to that team in that role; the invitee reads their own.
DROP POLICY IF EXISTS team_members_insert ON team_members;
CREATE POLICY team_members_insert ON team_members FOR INSERT TO authenticated
    WITH CHECK (user_id = (SELECT auth.uid())
                AND EXISTS (SELECT 1 FROM team_invitations i
                            WHERE i.team_id = team_members.team_id AND i.user_id = (SELECT auth.uid())
                              AND i.role = team_members.role AND i.expires_at > now()));
DROP POLICY IF EXISTS team_members_update ON team_members;
CREATE POLICY team_members_update ON team_members FOR UPDATE TO authenticated
    USING (team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]))
    WITH CHECK (team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]));
DROP POLICY IF EXISTS team_members_delete ON team_members;
CREATE POLICY team_members_delete ON team_members FOR DELETE TO authenticated
    USING (team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]) OR user_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS team_invitations_select ON team_invitations;
CREATE POLICY team_invitations_select ON team_invitations FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()) OR team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]));
DROP POLICY IF EXISTS team_invitations_insert ON team_invitations;
CREATE POLICY team_invitations_insert ON team_invitations FOR INSERT TO authenticated
    WITH CHECK (team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]) AND invited_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS team_invitations_update ON team_invitations;
CREATE POLICY team_invitations_update ON team_invitations FOR UPDATE TO authenticated
    USING (team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]))
    WITH CHECK (team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]) AND invited_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS team_invitations_delete ON team_invitations;
CREATE POLICY team_invitations_delete ON team_invitations FOR DELETE TO authenticated
    USING (user_id = (SELECT auth.uid()) OR team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]));

DROP POLICY IF EXISTS projects_select ON projects;
CREATE POLICY projects_select ON projects FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR is_public OR team_id = ANY ((SELECT app.my_teams())::uuid[])
           OR id = ANY ((SELECT app.shared_with_me('project'))::uuid[]));
DROP POLICY IF EXISTS projects_insert ON projects;
CREATE POLICY projects_insert ON projects FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND (team_id IS NULL OR team_id = ANY ((SELECT app.my_teams_as('{admin,editor}'))::uuid[])));
DROP POLICY IF EXISTS projects_update ON projects;
CREATE POLICY projects_update ON projects FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR team_id = ANY ((SELECT app.my_teams_as('{admin,editor}'))::uuid[])
           OR id = ANY ((SELECT app.shared_writable('project'))::uuid[]))
    WITH CHECK ((created_by = (SELECT auth.uid()) AND (team_id IS NULL OR team_id = ANY ((SELECT app.my_teams())::uuid[])))
                OR team_id = ANY ((SELECT app.my_teams_as('{admin,editor}'))::uuid[])
                OR id = ANY ((SELECT app.shared_writable('project'))::uuid[]));
DROP POLICY IF EXISTS projects_delete ON projects;
CREATE POLICY projects_delete ON projects FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]));

------------------------------------------------------------------------------------------------
-- Research rows: the owner, the row's project (read or write), or a share with the caller's team.
------------------------------------------------------------------------------------------------
DROP POLICY IF EXISTS molecules_select ON molecules;
CREATE POLICY molecules_select ON molecules FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.readable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_with_me('molecule'))::uuid[]));
DROP POLICY IF EXISTS molecules_insert ON molecules;
CREATE POLICY molecules_insert ON molecules FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()) AND NOT is_reference
                AND (project_id IS NULL OR project_id = ANY ((SELECT app.writable_projects())::uuid[])));
DROP POLICY IF EXISTS molecules_update ON molecules;
CREATE POLICY molecules_update ON molecules FOR UPDATE TO authenticated
    USING (NOT is_reference AND (created_by = (SELECT auth.uid())
                                 OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
                                 OR id = ANY ((SELECT app.shared_writable('molecule'))::uuid[])))
    WITH CHECK (NOT is_reference AND (created_by = (SELECT auth.uid())
                                      OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
                                      OR id = ANY ((SELECT app.shared_writable('molecule'))::uuid[])));
DROP POLICY IF EXISTS molecules_delete ON molecules;
CREATE POLICY molecules_delete ON molecules FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()) AND NOT is_reference);

-- A property is written by whoever may write its (non-reference) molecule.
DROP POLICY IF EXISTS molecular_properties_insert ON molecular_properties;
CREATE POLICY molecular_properties_insert ON molecular_properties FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id AND NOT m.is_reference
                        AND (m.created_by = (SELECT auth.uid())
                             OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                             OR m.id = ANY ((SELECT app.shared_writable('molecule'))::uuid[]))));
DROP POLICY IF EXISTS molecular_properties_update ON molecular_properties;
CREATE POLICY molecular_properties_update ON molecular_properties FOR UPDATE TO authenticated
    USING (EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id AND NOT m.is_reference
                   AND (m.created_by = (SELECT auth.uid())
                        OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                        OR m.id = ANY ((SELECT app.shared_writable('molecule'))::uuid[]))))
    WITH CHECK (EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id AND NOT m.is_reference
                        AND (m.created_by = (SELECT auth.uid())
                             OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                             OR m.id = ANY ((SELECT app.shared_writable('molecule'))::uuid[]))));
DROP POLICY IF EXISTS molecular_properties_delete ON molecular_properties;
CREATE POLICY molecular_properties_delete ON molecular_properties FOR DELETE TO authenticated
    USING (EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id AND NOT m.is_reference
                   AND (m.created_by = (SELECT auth.uid())
                        OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                        OR m.id = ANY ((SELECT app.shared_writable('molecule'))::uuid[]))));

DROP POLICY IF EXISTS mixtures_select ON mixtures;
CREATE POLICY mixtures_select ON mixtures FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.readable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_with_me('mixture'))::uuid[]));
DROP POLICY IF EXISTS mixtures_insert ON mixtures;
CREATE POLICY mixtures_insert ON mixtures FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND (project_id IS NULL OR project_id = ANY ((SELECT app.writable_projects())::uuid[])));
DROP POLICY IF EXISTS mixtures_update ON mixtures;
CREATE POLICY mixtures_update ON mixtures FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_writable('mixture'))::uuid[]))
    WITH CHECK (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
                OR id = ANY ((SELECT app.shared_writable('mixture'))::uuid[]));
DROP POLICY IF EXISTS mixtures_delete ON mixtures;
CREATE POLICY mixtures_delete ON mixtures FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));

-- Components are written by whoever may write their mixture, with molecules the caller sees.
DROP POLICY IF EXISTS mixture_components_insert ON mixture_components;
CREATE POLICY mixture_components_insert ON mixture_components FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id
                        AND (x.created_by = (SELECT auth.uid())
                             OR x.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                             OR x.id = ANY ((SELECT app.shared_writable('mixture'))::uuid[])))
                AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
DROP POLICY IF EXISTS mixture_components_update ON mixture_components;
CREATE POLICY mixture_components_update ON mixture_components FOR UPDATE TO authenticated
    USING (EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id
                   AND (x.created_by = (SELECT auth.uid())
                        OR x.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                        OR x.id = ANY ((SELECT app.shared_writable('mixture'))::uuid[]))))
    WITH CHECK (EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id
                        AND (x.created_by = (SELECT auth.uid())
                             OR x.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                             OR x.id = ANY ((SELECT app.shared_writable('mixture'))::uuid[])))
                AND EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id));
DROP POLICY IF EXISTS mixture_components_delete ON mixture_components;
CREATE POLICY mixture_components_delete ON mixture_components FOR DELETE TO authenticated
    USING (EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id
                   AND (x.created_by = (SELECT auth.uid())
                        OR x.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                        OR x.id = ANY ((SELECT app.shared_writable('mixture'))::uuid[]))));

DROP POLICY IF EXISTS protocols_select ON protocols;
CREATE POLICY protocols_select ON protocols FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.readable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_with_me('protocol'))::uuid[]));
DROP POLICY IF EXISTS protocols_insert ON protocols;
CREATE POLICY protocols_insert ON protocols FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()) AND EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id)
                AND (project_id IS NULL OR project_id = ANY ((SELECT app.writable_projects())::uuid[])));
DROP POLICY IF EXISTS protocols_update ON protocols;
CREATE POLICY protocols_update ON protocols FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_writable('protocol'))::uuid[]))
    WITH CHECK (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
                OR id = ANY ((SELECT app.shared_writable('protocol'))::uuid[]));
DROP POLICY IF EXISTS protocols_delete ON protocols;
CREATE POLICY protocols_delete ON protocols FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));

-- Experiments are also readable by the verifier a team-mate named.
DROP POLICY IF EXISTS experiments_select ON experiments;
CREATE POLICY experiments_select ON experiments FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.readable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_with_me('experiment'))::uuid[])
           OR id = ANY ((SELECT app.experiments_to_verify())::uuid[]));
DROP POLICY IF EXISTS experiments_insert ON experiments;
CREATE POLICY experiments_insert ON experiments FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND (molecule_id IS NULL OR EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id))
                AND (mixture_id IS NULL OR EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id))
                AND (project_id IS NULL OR project_id = ANY ((SELECT app.writable_projects())::uuid[])));
DROP POLICY IF EXISTS experiments_update ON experiments;
CREATE POLICY experiments_update ON experiments FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_writable('experiment'))::uuid[]))
    WITH CHECK (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
                OR id = ANY ((SELECT app.shared_writable('experiment'))::uuid[]));
DROP POLICY IF EXISTS experiments_delete ON experiments;
CREATE POLICY experiments_delete ON experiments FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));

DROP POLICY IF EXISTS predictions_select ON predictions;
CREATE POLICY predictions_select ON predictions FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.readable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_with_me('prediction'))::uuid[]));
DROP POLICY IF EXISTS predictions_insert ON predictions;
CREATE POLICY predictions_insert ON predictions FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND (molecule_id IS NULL OR EXISTS (SELECT 1 FROM molecules m WHERE m.id = molecule_id))
                AND (mixture_id IS NULL OR EXISTS (SELECT 1 FROM mixtures x WHERE x.id = mixture_id))
                AND (project_id IS NULL OR project_id = ANY ((SELECT app.writable_projects())::uuid[])));
DROP POLICY IF EXISTS predictions_update ON predictions;
CREATE POLICY predictions_update ON predictions FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
           OR id = ANY ((SELECT app.shared_writable('prediction'))::uuid[]))
    WITH CHECK (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[])
                OR id = ANY ((SELECT app.shared_writable('prediction'))::uuid[]));
DROP POLICY IF EXISTS predictions_delete ON predictions;
CREATE POLICY predictions_delete ON predictions FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));

-- Verifications: the requester (who can write the experiment) asks; the named verifier decides.
DROP POLICY IF EXISTS lab_verifications_select ON lab_verifications;
CREATE POLICY lab_verifications_select ON lab_verifications FOR SELECT TO authenticated
    USING (requested_by = (SELECT auth.uid()) OR verifier_id = (SELECT auth.uid())
           OR EXISTS (SELECT 1 FROM experiments e WHERE e.id = experiment_id));
DROP POLICY IF EXISTS lab_verifications_insert ON lab_verifications;
CREATE POLICY lab_verifications_insert ON lab_verifications FOR INSERT TO authenticated
    WITH CHECK (requested_by = (SELECT auth.uid()) AND status = 'pending'
                AND EXISTS (SELECT 1 FROM experiments e WHERE e.id = experiment_id
                            AND (e.created_by = (SELECT auth.uid())
                                 OR e.project_id = ANY ((SELECT app.writable_projects())::uuid[])
                                 OR e.id = ANY ((SELECT app.shared_writable('experiment'))::uuid[]))));
DROP POLICY IF EXISTS lab_verifications_update ON lab_verifications;
CREATE POLICY lab_verifications_update ON lab_verifications FOR UPDATE TO authenticated
    USING (verifier_id = (SELECT auth.uid())) WITH CHECK (verifier_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS lab_verifications_delete ON lab_verifications;
CREATE POLICY lab_verifications_delete ON lab_verifications FOR DELETE TO authenticated
    USING (requested_by = (SELECT auth.uid()) AND status = 'pending');

------------------------------------------------------------------------------------------------
-- Sharing, comments, notifications, logs.
------------------------------------------------------------------------------------------------
-- Only a row's owner shares it (a reference molecule has no owner to share it).
DROP POLICY IF EXISTS shared_resources_select ON shared_resources;
CREATE POLICY shared_resources_select ON shared_resources FOR SELECT TO authenticated
    USING (team_id = ANY ((SELECT app.my_teams())::uuid[]) OR shared_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS shared_resources_insert ON shared_resources;
CREATE POLICY shared_resources_insert ON shared_resources FOR INSERT TO authenticated
    WITH CHECK (shared_by = (SELECT auth.uid()) AND team_id = ANY ((SELECT app.my_teams())::uuid[])
                AND CASE resource_type
                    WHEN 'project' THEN EXISTS (SELECT 1 FROM projects p WHERE p.id = resource_id
                                                AND p.created_by = (SELECT auth.uid()))
                    WHEN 'molecule' THEN EXISTS (SELECT 1 FROM molecules m WHERE m.id = resource_id
                                                 AND m.created_by = (SELECT auth.uid()) AND NOT m.is_reference)
                    WHEN 'mixture' THEN EXISTS (SELECT 1 FROM mixtures x WHERE x.id = resource_id
                                                AND x.created_by = (SELECT auth.uid()))
                    WHEN 'experiment' THEN EXISTS (SELECT 1 FROM experiments e WHERE e.id = resource_id
                                                   AND e.created_by = (SELECT auth.uid()))
                    WHEN 'protocol' THEN EXISTS (SELECT 1 FROM protocols r WHERE r.id = resource_id
                                                 AND r.created_by = (SELECT auth.uid()))
                    WHEN 'prediction' THEN EXISTS (SELECT 1 FROM predictions d WHERE d.id = resource_id
                                                   AND d.created_by = (SELECT auth.uid()))
                    ELSE false
                END);
DROP POLICY IF EXISTS shared_resources_update ON shared_resources;
CREATE POLICY shared_resources_update ON shared_resources FOR UPDATE TO authenticated
    USING (shared_by = (SELECT auth.uid())) WITH CHECK (shared_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS shared_resources_delete ON shared_resources;
CREATE POLICY shared_resources_delete ON shared_resources FOR DELETE TO authenticated
    USING (shared_by = (SELECT auth.uid()) OR team_id = ANY ((SELECT app.my_teams_as('{admin}'))::uuid[]));

-- Comments follow their resource: readable where the resource is.
DROP POLICY IF EXISTS comments_select ON comments;
CREATE POLICY comments_select ON comments FOR SELECT TO authenticated
    USING (CASE resource_type
               WHEN 'project' THEN EXISTS (SELECT 1 FROM projects p WHERE p.id = resource_id)
               WHEN 'molecule' THEN EXISTS (SELECT 1 FROM molecules m WHERE m.id = resource_id)
               WHEN 'mixture' THEN EXISTS (SELECT 1 FROM mixtures x WHERE x.id = resource_id)
               WHEN 'experiment' THEN EXISTS (SELECT 1 FROM experiments e WHERE e.id = resource_id)
               WHEN 'protocol' THEN EXISTS (SELECT 1 FROM protocols r WHERE r.id = resource_id)
               WHEN 'prediction' THEN EXISTS (SELECT 1 FROM predictions d WHERE d.id = resource_id)
               ELSE false
           END);
DROP POLICY IF EXISTS comments_insert ON comments;
CREATE POLICY comments_insert ON comments FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND CASE resource_type
                    WHEN 'project' THEN EXISTS (SELECT 1 FROM projects p WHERE p.id = resource_id)
                    WHEN 'molecule' THEN EXISTS (SELECT 1 FROM molecules m WHERE m.id = resource_id)
                    WHEN 'mixture' THEN EXISTS (SELECT 1 FROM mixtures x WHERE x.id = resource_id)
                    WHEN 'experiment' THEN EXISTS (SELECT 1 FROM experiments e WHERE e.id = resource_id)
                    WHEN 'protocol' THEN EXISTS (SELECT 1 FROM protocols r WHERE r.id = resource_id)
                    WHEN 'prediction' THEN EXISTS (SELECT 1 FROM predictions d WHERE d.id = resource_id)
                    ELSE false
                END);
DROP POLICY IF EXISTS comments_update ON comments;
CREATE POLICY comments_update ON comments FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid())) WITH CHECK (created_by = (SELECT auth.uid()));
DROP POLICY IF EXISTS comments_delete ON comments;
CREATE POLICY comments_delete ON comments FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));

DROP POLICY IF EXISTS notifications_select ON notifications;
CREATE POLICY notifications_select ON notifications FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS notifications_update ON notifications;
CREATE POLICY notifications_update ON notifications FOR UPDATE TO authenticated
    USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS notifications_delete ON notifications;
CREATE POLICY notifications_delete ON notifications FOR DELETE TO authenticated
    USING (user_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS activity_log_select ON activity_log;
CREATE POLICY activity_log_select ON activity_log FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()) OR team_id = ANY ((SELECT app.my_teams())::uuid[]));
DROP POLICY IF EXISTS activity_log_insert ON activity_log;
CREATE POLICY activity_log_insert ON activity_log FOR INSERT TO authenticated
    WITH CHECK (user_id = (SELECT auth.uid()) AND (team_id IS NULL OR team_id = ANY ((SELECT app.my_teams())::uuid[])));

DROP POLICY IF EXISTS audit_log_insert ON audit_log;
CREATE POLICY audit_log_insert ON audit_log FOR INSERT TO authenticated
    WITH CHECK (actor_id = (SELECT auth.uid()));

------------------------------------------------------------------------------------------------
-- The model registry: models are research rows without sharing; the rest follow their model.
------------------------------------------------------------------------------------------------
DROP POLICY IF EXISTS models_select ON models;
CREATE POLICY models_select ON models FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.readable_projects())::uuid[]));
DROP POLICY IF EXISTS models_insert ON models;
CREATE POLICY models_insert ON models FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND (project_id IS NULL OR project_id = ANY ((SELECT app.writable_projects())::uuid[])));
DROP POLICY IF EXISTS models_update ON models;
CREATE POLICY models_update ON models FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[]))
    WITH CHECK (created_by = (SELECT auth.uid()) OR project_id = ANY ((SELECT app.writable_projects())::uuid[]));
DROP POLICY IF EXISTS models_delete ON models;
CREATE POLICY models_delete ON models FOR DELETE TO authenticated
    USING (created_by = (SELECT auth.uid()));

DROP POLICY IF EXISTS model_versions_select ON model_versions;
CREATE POLICY model_versions_select ON model_versions FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM models m WHERE m.id = model_id));
DROP POLICY IF EXISTS model_versions_insert ON model_versions;
CREATE POLICY model_versions_insert ON model_versions FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                            AND (m.created_by = (SELECT auth.uid())
                                 OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))));
DROP POLICY IF EXISTS model_versions_update ON model_versions;
CREATE POLICY model_versions_update ON model_versions FOR UPDATE TO authenticated
    USING (EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                   AND (m.created_by = (SELECT auth.uid()) OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))))
    WITH CHECK (EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                        AND (m.created_by = (SELECT auth.uid())
                             OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))));
DROP POLICY IF EXISTS model_versions_delete ON model_versions;
CREATE POLICY model_versions_delete ON model_versions FOR DELETE TO authenticated
    USING (stage = 'archived'
           AND EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                       AND (m.created_by = (SELECT auth.uid())
                            OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))));

DROP POLICY IF EXISTS model_aliases_select ON model_aliases;
CREATE POLICY model_aliases_select ON model_aliases FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM models m WHERE m.id = model_id));
DROP POLICY IF EXISTS model_aliases_insert ON model_aliases;
CREATE POLICY model_aliases_insert ON model_aliases FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid())
                AND EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                            AND (m.created_by = (SELECT auth.uid())
                                 OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))));
DROP POLICY IF EXISTS model_aliases_update ON model_aliases;
CREATE POLICY model_aliases_update ON model_aliases FOR UPDATE TO authenticated
    USING (EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                   AND (m.created_by = (SELECT auth.uid()) OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))))
    WITH CHECK (EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                        AND (m.created_by = (SELECT auth.uid())
                             OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))));
DROP POLICY IF EXISTS model_aliases_delete ON model_aliases;
CREATE POLICY model_aliases_delete ON model_aliases FOR DELETE TO authenticated
    USING (EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                   AND (m.created_by = (SELECT auth.uid()) OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))));

DROP POLICY IF EXISTS training_jobs_select ON training_jobs;
CREATE POLICY training_jobs_select ON training_jobs FOR SELECT TO authenticated
    USING (created_by = (SELECT auth.uid()) OR EXISTS (SELECT 1 FROM models m WHERE m.id = model_id));
DROP POLICY IF EXISTS training_jobs_insert ON training_jobs;
CREATE POLICY training_jobs_insert ON training_jobs FOR INSERT TO authenticated
    WITH CHECK (created_by = (SELECT auth.uid()) AND state = 'queued'
                AND EXISTS (SELECT 1 FROM models m WHERE m.id = model_id
                            AND (m.created_by = (SELECT auth.uid())
                                 OR m.project_id = ANY ((SELECT app.writable_projects())::uuid[]))));
DROP POLICY IF EXISTS training_jobs_update ON training_jobs;
CREATE POLICY training_jobs_update ON training_jobs FOR UPDATE TO authenticated
    USING (created_by = (SELECT auth.uid())) WITH CHECK (created_by = (SELECT auth.uid()));

DROP POLICY IF EXISTS prediction_provenance_select ON prediction_provenance;
CREATE POLICY prediction_provenance_select ON prediction_provenance FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM predictions p WHERE p.id = prediction_id));
DROP POLICY IF EXISTS prediction_provenance_insert ON prediction_provenance;
CREATE POLICY prediction_provenance_insert ON prediction_provenance FOR INSERT TO authenticated
    WITH CHECK (EXISTS (SELECT 1 FROM predictions p WHERE p.id = prediction_id AND p.created_by = (SELECT auth.uid()))
                AND (model_version_id IS NULL
                     OR EXISTS (SELECT 1 FROM model_versions v WHERE v.id = model_version_id)));
