-- cryoprotect: rls-policy-set
-- The verifier named on a lab verification may read the measurement they are asked to judge,
-- when they share a team with whoever asked (and only that row: not the molecule, mixture or
-- project behind it). Before this, a request could name a team-mate who could not see the
-- experiment unless it was also shared with the team. Idempotent; it follows the main policy set
-- (which drops every policy in `public`) when `cryoprotect db rls apply` re-runs the sets.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- SECURITY DEFINER: lab_verifications' own policy reads experiments, so reading
-- lab_verifications under RLS from experiments' policy would recurse.
CREATE OR REPLACE FUNCTION app.is_named_verifier(p_experiment uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.lab_verifications v
        WHERE v.experiment_id = p_experiment
          AND v.verifier_id = auth.uid()
          AND app.shares_team_with(v.requested_by))
$$;
ALTER FUNCTION app.is_named_verifier(uuid) OWNER TO cryoprotect_rls_definer;
REVOKE ALL ON FUNCTION app.is_named_verifier(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.is_named_verifier(uuid) TO authenticated, service_role, cryoprotect_rls_definer;

DROP POLICY IF EXISTS experiments_select ON experiments;
CREATE POLICY experiments_select ON experiments FOR SELECT TO authenticated
    USING (app.can_read(created_by, project_id, 'experiment', id) OR app.is_named_verifier(id));
