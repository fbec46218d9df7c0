-- Removes the composition history's policies and privileges (the tables stay, closed to all
-- but their owner until the policy set is applied again).
DROP POLICY IF EXISTS mixture_version_components_insert ON mixture_version_components;
DROP POLICY IF EXISTS mixture_version_components_select ON mixture_version_components;
DROP POLICY IF EXISTS mixture_version_components_service_role ON mixture_version_components;
DROP POLICY IF EXISTS mixture_versions_insert ON mixture_versions;
DROP POLICY IF EXISTS mixture_versions_select ON mixture_versions;
DROP POLICY IF EXISTS mixture_versions_service_role ON mixture_versions;
REVOKE ALL ON mixture_versions, mixture_version_components FROM anon, authenticated, service_role, cryoprotect_rls_definer;
