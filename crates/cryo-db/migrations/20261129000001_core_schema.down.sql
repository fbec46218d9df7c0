-- cryoprotect: data-loss
-- Reverting the core schema drops every table and the data in it.
DROP TABLE IF EXISTS audit_log, activity_log, notifications, comments, shared_resources, predictions,
    lab_verifications, experiments, protocols, mixture_components, mixtures, molecular_properties,
    molecules, calculation_methods, property_types, projects, team_members, teams, user_profiles, users
    CASCADE;
DROP FUNCTION IF EXISTS check_value_matches_property_type();
DROP FUNCTION IF EXISTS audit_log_is_append_only();
DROP FUNCTION IF EXISTS set_updated_at();
DROP DOMAIN IF EXISTS concentration_unit;
DROP DOMAIN IF EXISTS resource_kind;
