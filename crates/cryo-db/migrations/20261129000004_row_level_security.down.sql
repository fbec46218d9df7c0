-- Removes the policy set and its helpers; data is untouched.
DO $$
DECLARE
    t text;
    p record;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations'
    LOOP
        FOR p IN SELECT policyname FROM pg_policies WHERE schemaname = 'public' AND tablename = t LOOP
            EXECUTE format('DROP POLICY %I ON public.%I', p.policyname, t);
        END LOOP;
        EXECUTE format('ALTER TABLE public.%I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE public.%I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END;
$$;
DROP TRIGGER IF EXISTS teams_add_creator ON teams;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM anon, authenticated, service_role, cryoprotect_rls_definer;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA auth FROM cryoprotect_rls_definer;
REVOKE ALL ON SCHEMA public, auth FROM cryoprotect_rls_definer;
DROP SCHEMA IF EXISTS app CASCADE;
