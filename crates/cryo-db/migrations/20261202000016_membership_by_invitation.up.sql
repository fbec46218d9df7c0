-- cryoprotect: rls-policy-set
-- Joining a team takes the invitee's consent: team admins invite (and change the roles of
-- members), only the invited user inserts their own membership, with the role they were
-- offered, while the invitation stands. Idempotent; re-run by `cryoprotect db rls apply` after
-- the main policy set.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- Whether the caller holds a standing invitation to a team with this role.
CREATE OR REPLACE FUNCTION app.invited_as(p_team uuid, p_role text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.team_invitations i
                   WHERE i.team_id = p_team AND i.user_id = auth.uid() AND i.role = p_role
                     AND i.expires_at > now())
$$;
ALTER FUNCTION app.invited_as(uuid, text) OWNER TO cryoprotect_rls_definer;
REVOKE ALL ON FUNCTION app.invited_as(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.invited_as(uuid, text) TO authenticated, service_role, cryoprotect_rls_definer;

DROP POLICY IF EXISTS team_members_insert ON team_members;
CREATE POLICY team_members_insert ON team_members FOR INSERT TO authenticated
    WITH CHECK (user_id = auth.uid() AND app.invited_as(team_id, role));

-- Invitations: the invitee and the team's admins see them; admins issue and renew them; either
-- side may withdraw or decline.
DROP POLICY IF EXISTS team_invitations_select ON team_invitations;
DROP POLICY IF EXISTS team_invitations_insert ON team_invitations;
DROP POLICY IF EXISTS team_invitations_update ON team_invitations;
DROP POLICY IF EXISTS team_invitations_delete ON team_invitations;
CREATE POLICY team_invitations_select ON team_invitations FOR SELECT TO authenticated
    USING (user_id = auth.uid() OR app.team_role(team_id) = 'admin');
CREATE POLICY team_invitations_insert ON team_invitations FOR INSERT TO authenticated
    WITH CHECK (app.team_role(team_id) = 'admin' AND invited_by = auth.uid());
CREATE POLICY team_invitations_update ON team_invitations FOR UPDATE TO authenticated
    USING (app.team_role(team_id) = 'admin')
    WITH CHECK (app.team_role(team_id) = 'admin' AND invited_by = auth.uid());
CREATE POLICY team_invitations_delete ON team_invitations FOR DELETE TO authenticated
    USING (user_id = auth.uid() OR app.team_role(team_id) = 'admin');
