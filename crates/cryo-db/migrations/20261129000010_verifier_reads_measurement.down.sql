-- Back to the main policy set's rule: only those who can read the row otherwise.
DROP POLICY IF EXISTS experiments_select ON experiments;
CREATE POLICY experiments_select ON experiments FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'experiment', id));
DROP FUNCTION IF EXISTS app.is_named_verifier(uuid);
