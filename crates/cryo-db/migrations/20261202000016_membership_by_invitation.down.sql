-- Back to admins adding members directly.
DROP POLICY IF EXISTS team_invitations_select ON team_invitations;
DROP POLICY IF EXISTS team_invitations_insert ON team_invitations;
DROP POLICY IF EXISTS team_invitations_update ON team_invitations;
DROP POLICY IF EXISTS team_invitations_delete ON team_invitations;
DROP POLICY IF EXISTS team_members_insert ON team_members;
CREATE POLICY team_members_insert ON team_members FOR INSERT TO authenticated
    WITH CHECK (app.team_role(team_id) = 'admin');
DROP FUNCTION IF EXISTS app.invited_as(uuid, text);
