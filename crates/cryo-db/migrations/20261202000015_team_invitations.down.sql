-- Pending invitations are lost; memberships already accepted stay.
DROP TABLE IF EXISTS team_invitations;
