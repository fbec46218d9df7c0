-- Team membership is offered, not imposed: a team admin invites a user, who joins by accepting
-- (policies in migration 16). One pending invitation per (team, user); it lapses after
-- `expires_at`.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE team_invitations (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    expires_at timestamptz NOT NULL DEFAULT now() + interval '14 days',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_invitations_team_user_key UNIQUE (team_id, user_id)
);
CREATE INDEX team_invitations_user_idx ON team_invitations (user_id);
CREATE INDEX team_invitations_invited_by_idx ON team_invitations (invited_by);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON team_invitations FOR EACH ROW EXECUTE FUNCTION set_updated_at();

REVOKE ALL ON team_invitations FROM anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON team_invitations TO authenticated, service_role;
GRANT SELECT ON team_invitations TO cryoprotect_rls_definer;
ALTER TABLE team_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE team_invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY team_invitations_service_role ON team_invitations FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
