-- Polymorphic references (shares, comments, notifications point at a project, molecule, mixture,
-- experiment, protocol or prediction by kind + id) cannot have a FOREIGN KEY. These triggers give
-- them the same guarantees: a reference must point at an existing row when written, and deleting
-- the row removes the shares and comments on it (like ON DELETE CASCADE) and detaches
-- notifications (like ON DELETE SET NULL). `cryoprotect db integrity fix` re-runs this file when
-- a guard is missing. The functions are SECURITY DEFINER, owned by the BYPASSRLS helper role, so
-- a check sees rows the writer may not (existence is all it reveals).

-- Triggers take SHARE ROW EXCLUSIVE on six tables: give up rather than queue behind long
-- transactions (and make everything behind us wait).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE OR REPLACE FUNCTION app.resource_exists(p_kind text, p_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE p_kind
        WHEN 'project'    THEN EXISTS (SELECT 1 FROM public.projects    WHERE id = p_id)
        WHEN 'molecule'   THEN EXISTS (SELECT 1 FROM public.molecules   WHERE id = p_id)
        WHEN 'mixture'    THEN EXISTS (SELECT 1 FROM public.mixtures    WHERE id = p_id)
        WHEN 'experiment' THEN EXISTS (SELECT 1 FROM public.experiments WHERE id = p_id)
        WHEN 'protocol'   THEN EXISTS (SELECT 1 FROM public.protocols   WHERE id = p_id)
        WHEN 'prediction' THEN EXISTS (SELECT 1 FROM public.predictions WHERE id = p_id)
        ELSE false
    END
$$;

CREATE OR REPLACE FUNCTION app.guard_resource_reference() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.resource_id IS NOT NULL AND NOT app.resource_exists(NEW.resource_type, NEW.resource_id) THEN
        RAISE EXCEPTION '% % does not exist', NEW.resource_type, NEW.resource_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = TG_TABLE_NAME || '_resource_exists';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION app.drop_resource_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM public.shared_resources WHERE resource_type = TG_ARGV[0] AND resource_id = OLD.id;
    DELETE FROM public.comments WHERE resource_type = TG_ARGV[0] AND resource_id = OLD.id;
    UPDATE public.notifications SET resource_type = NULL, resource_id = NULL
        WHERE resource_type = TG_ARGV[0] AND resource_id = OLD.id;
    RETURN OLD;
END;
$$;

ALTER FUNCTION app.resource_exists(text, uuid) OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.guard_resource_reference() OWNER TO cryoprotect_rls_definer;
ALTER FUNCTION app.drop_resource_references() OWNER TO cryoprotect_rls_definer;
REVOKE ALL ON FUNCTION app.resource_exists(text, uuid), app.guard_resource_reference(),
    app.drop_resource_references() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.resource_exists(text, uuid) TO anon, authenticated, service_role;
GRANT DELETE ON public.shared_resources, public.comments TO cryoprotect_rls_definer;
GRANT UPDATE (resource_type, resource_id) ON public.notifications TO cryoprotect_rls_definer;

DROP TRIGGER IF EXISTS shared_resources_resource_exists ON shared_resources;
CREATE TRIGGER shared_resources_resource_exists BEFORE INSERT OR UPDATE OF resource_type, resource_id
    ON shared_resources FOR EACH ROW EXECUTE FUNCTION app.guard_resource_reference();
DROP TRIGGER IF EXISTS comments_resource_exists ON comments;
CREATE TRIGGER comments_resource_exists BEFORE INSERT OR UPDATE OF resource_type, resource_id
    ON comments FOR EACH ROW EXECUTE FUNCTION app.guard_resource_reference();
DROP TRIGGER IF EXISTS notifications_resource_exists ON notifications;
CREATE TRIGGER notifications_resource_exists BEFORE INSERT OR UPDATE OF resource_type, resource_id
    ON notifications FOR EACH ROW EXECUTE FUNCTION app.guard_resource_reference();

DROP TRIGGER IF EXISTS projects_drop_references ON projects;
CREATE TRIGGER projects_drop_references AFTER DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION app.drop_resource_references('project');
DROP TRIGGER IF EXISTS molecules_drop_references ON molecules;
CREATE TRIGGER molecules_drop_references AFTER DELETE ON molecules
    FOR EACH ROW EXECUTE FUNCTION app.drop_resource_references('molecule');
DROP TRIGGER IF EXISTS mixtures_drop_references ON mixtures;
CREATE TRIGGER mixtures_drop_references AFTER DELETE ON mixtures
    FOR EACH ROW EXECUTE FUNCTION app.drop_resource_references('mixture');
DROP TRIGGER IF EXISTS experiments_drop_references ON experiments;
CREATE TRIGGER experiments_drop_references AFTER DELETE ON experiments
    FOR EACH ROW EXECUTE FUNCTION app.drop_resource_references('experiment');
DROP TRIGGER IF EXISTS protocols_drop_references ON protocols;
CREATE TRIGGER protocols_drop_references AFTER DELETE ON protocols
    FOR EACH ROW EXECUTE FUNCTION app.drop_resource_references('protocol');
DROP TRIGGER IF EXISTS predictions_drop_references ON predictions;
CREATE TRIGGER predictions_drop_references AFTER DELETE ON predictions
    FOR EACH ROW EXECUTE FUNCTION app.drop_resource_references('prediction');
