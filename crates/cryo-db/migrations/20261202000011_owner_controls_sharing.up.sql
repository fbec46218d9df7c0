-- cryoprotect: rls-policy-set
-- Sharing grants exactly what the owner gave. Policies judge the new row only, so two rules that
-- compare it with the old one are triggers:
--   1. Only a row's owner may change who owns it or which project it belongs to (moving a row
--      into a public project publishes it), and only a project's owner or an admin of its team
--      may change its visibility, owner or team. Editors edit content.
--   2. Referencing a row (a mixture using a molecule; an experiment, prediction or protocol on a
--      molecule or mixture) needs the right to write that row, or the row to be a reference
--      molecule: a reference blocks the owner's delete (409), so reading a row must not be
--      enough to pin it. Whoever is given write access may build on the row, and then the
--      owner's delete waits until those rows go.
-- Enforced for signed-in users (auth.role() = 'authenticated'); the service's own work, restores
-- and maintenance are not users. Idempotent; re-run by `cryoprotect db rls apply`.

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE OR REPLACE FUNCTION app.can_reference_molecule(p_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT m.is_reference OR app.can_write(m.created_by, m.project_id, 'molecule', m.id)
                     FROM public.molecules m WHERE m.id = p_id), false)
$$;
ALTER FUNCTION app.can_reference_molecule(uuid) OWNER TO cryoprotect_rls_definer;
REVOKE ALL ON FUNCTION app.can_reference_molecule(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.can_reference_molecule(uuid) TO authenticated, service_role, cryoprotect_rls_definer;

-- Rule 1 (UPDATE of rows with an owner).
CREATE OR REPLACE FUNCTION app.guard_ownership() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n jsonb := to_jsonb(NEW);
    o jsonb := to_jsonb(OLD);
    owner boolean;
BEGIN
    IF auth.role() IS DISTINCT FROM 'authenticated' THEN
        RETURN NEW;
    END IF;
    owner := (o ->> 'created_by')::uuid = auth.uid();
    IF TG_TABLE_NAME = 'projects' THEN
        owner := owner OR (OLD.team_id IS NOT NULL AND app.team_role(OLD.team_id) = 'admin');
        IF NOT owner AND (n -> 'is_public' IS DISTINCT FROM o -> 'is_public'
                          OR n -> 'team_id' IS DISTINCT FROM o -> 'team_id') THEN
            RAISE EXCEPTION 'only the project''s owner or an admin of its team may change its visibility or team'
                USING ERRCODE = '42501';
        END IF;
    END IF;
    IF NOT owner AND (n -> 'created_by' IS DISTINCT FROM o -> 'created_by'
                      OR n -> 'project_id' IS DISTINCT FROM o -> 'project_id') THEN
        RAISE EXCEPTION 'only the owner of a % may change its owner or project', TG_TABLE_NAME
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END;
$$;

-- Rule 2 (INSERT and UPDATE of rows that reference molecules or mixtures).
CREATE OR REPLACE FUNCTION app.guard_references() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n jsonb := to_jsonb(NEW);
    o jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ELSE '{}'::jsonb END;
BEGIN
    IF auth.role() IS DISTINCT FROM 'authenticated' THEN
        RETURN NEW;
    END IF;
    IF n ->> 'molecule_id' IS NOT NULL AND n -> 'molecule_id' IS DISTINCT FROM o -> 'molecule_id'
       AND NOT app.can_reference_molecule((n ->> 'molecule_id')::uuid) THEN
        RAISE EXCEPTION 'a % may use only molecules you can edit, or reference molecules', TG_TABLE_NAME
            USING ERRCODE = '42501';
    END IF;
    IF TG_TABLE_NAME <> 'mixture_components'
       AND n ->> 'mixture_id' IS NOT NULL AND n -> 'mixture_id' IS DISTINCT FROM o -> 'mixture_id'
       AND NOT app.can_write_mixture((n ->> 'mixture_id')::uuid) THEN
        RAISE EXCEPTION 'a % may use only mixtures you can edit', TG_TABLE_NAME
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS guard_ownership ON projects;
CREATE TRIGGER guard_ownership BEFORE UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION app.guard_ownership();
DROP TRIGGER IF EXISTS guard_ownership ON molecules;
CREATE TRIGGER guard_ownership BEFORE UPDATE ON molecules FOR EACH ROW EXECUTE FUNCTION app.guard_ownership();
DROP TRIGGER IF EXISTS guard_ownership ON mixtures;
CREATE TRIGGER guard_ownership BEFORE UPDATE ON mixtures FOR EACH ROW EXECUTE FUNCTION app.guard_ownership();
DROP TRIGGER IF EXISTS guard_ownership ON experiments;
CREATE TRIGGER guard_ownership BEFORE UPDATE ON experiments FOR EACH ROW EXECUTE FUNCTION app.guard_ownership();
DROP TRIGGER IF EXISTS guard_ownership ON predictions;
CREATE TRIGGER guard_ownership BEFORE UPDATE ON predictions FOR EACH ROW EXECUTE FUNCTION app.guard_ownership();
DROP TRIGGER IF EXISTS guard_ownership ON protocols;
CREATE TRIGGER guard_ownership BEFORE UPDATE ON protocols FOR EACH ROW EXECUTE FUNCTION app.guard_ownership();
DROP TRIGGER IF EXISTS guard_ownership ON models;
CREATE TRIGGER guard_ownership BEFORE UPDATE ON models FOR EACH ROW EXECUTE FUNCTION app.guard_ownership();

DROP TRIGGER IF EXISTS guard_references ON mixture_components;
CREATE TRIGGER guard_references BEFORE INSERT OR UPDATE ON mixture_components FOR EACH ROW EXECUTE FUNCTION app.guard_references();
DROP TRIGGER IF EXISTS guard_references ON experiments;
CREATE TRIGGER guard_references BEFORE INSERT OR UPDATE ON experiments FOR EACH ROW EXECUTE FUNCTION app.guard_references();
DROP TRIGGER IF EXISTS guard_references ON predictions;
CREATE TRIGGER guard_references BEFORE INSERT OR UPDATE ON predictions FOR EACH ROW EXECUTE FUNCTION app.guard_references();
DROP TRIGGER IF EXISTS guard_references ON protocols;
CREATE TRIGGER guard_references BEFORE INSERT OR UPDATE ON protocols FOR EACH ROW EXECUTE FUNCTION app.guard_references();
