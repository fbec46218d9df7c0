-- CryoProtect canonical schema: one schema (public), plural table names, UUID keys,
-- created_at/updated_at maintained by triggers, every foreign key with an explicit ON DELETE rule.
--
-- Ownership rule: user-owned research data references users ON DELETE RESTRICT. Research records
-- must never vanish because an account was removed: accounts are deactivated, or their data is
-- handed over first. Derived data (properties, predictions, members) follows its parent by CASCADE.

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- The kinds of row a polymorphic reference (shares, comments, notifications) may point at.
CREATE DOMAIN resource_kind AS text
    CHECK (VALUE IN ('project', 'molecule', 'mixture', 'experiment', 'protocol', 'prediction'));

-- The concentration units CryoProtect understands (conversion rules live in cryo-core::units).
CREATE DOMAIN concentration_unit AS text
    CHECK (VALUE IN ('mol_fraction', 'percent_w_v', 'percent_v_v', 'mM', 'M', 'mg_per_mL'));

------------------------------------------------------------------------------------------------
-- Identity and collaboration
------------------------------------------------------------------------------------------------
CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    display_name  text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
    password_hash text,
    global_role   text NOT NULL DEFAULT 'user'
                  CHECK (global_role IN ('admin', 'curator', 'user', 'viewer')),
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE user_profiles (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    affiliation text CHECK (length(affiliation) <= 300),
    orcid       text CHECK (orcid ~ '^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$'),
    bio         text CHECK (length(bio) <= 5000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text,
    created_by  uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_created_by_idx ON teams (created_by);

CREATE TABLE team_members (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_members_team_user_key UNIQUE (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

CREATE TABLE projects (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text,
    team_id     uuid REFERENCES teams (id) ON DELETE SET NULL,
    is_public   boolean NOT NULL DEFAULT false,
    created_by  uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_team_idx ON projects (team_id);
CREATE INDEX projects_created_by_idx ON projects (created_by);

------------------------------------------------------------------------------------------------
-- Reference data (readable by everyone, written by administrators)
------------------------------------------------------------------------------------------------
CREATE TABLE property_types (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text,
    units       text,
    data_type   text NOT NULL CHECK (data_type IN ('numeric', 'text', 'boolean')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calculation_methods (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    version     text NOT NULL DEFAULT '1',
    description text,
    parameters  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(parameters) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calculation_methods_name_version_key UNIQUE (name, version)
);

------------------------------------------------------------------------------------------------
-- Scientific data
------------------------------------------------------------------------------------------------
CREATE TABLE molecules (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text CHECK (length(name) <= 500),
    canonical_smiles text NOT NULL CHECK (length(canonical_smiles) BETWEEN 1 AND 10000),
    inchi            text CHECK (inchi LIKE 'InChI=%'),
    inchikey         text CHECK (inchikey ~ '^[A-Z]{14}-[A-Z]{10}-[A-Z]$'),
    formula          text,
    molecular_weight double precision CHECK (molecular_weight > 0),
    pubchem_cid      integer CHECK (pubchem_cid > 0),
    chembl_id        text CHECK (chembl_id ~ '^CHEMBL\d+$'),
    data_source      text,
    -- Reference molecules (the seeded cryoprotectants) belong to nobody and are readable by all.
    is_reference     boolean NOT NULL DEFAULT false,
    project_id       uuid REFERENCES projects (id) ON DELETE SET NULL,
    created_by       uuid REFERENCES users (id) ON DELETE RESTRICT,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT molecules_owner_required CHECK (is_reference OR created_by IS NOT NULL)
);
-- Deduplication by canonical structure: once among reference molecules, once per owner.
CREATE UNIQUE INDEX molecules_reference_smiles_key ON molecules (canonical_smiles) WHERE is_reference;
CREATE UNIQUE INDEX molecules_owner_smiles_key ON molecules (created_by, canonical_smiles) WHERE NOT is_reference;
CREATE INDEX molecules_inchikey_idx ON molecules (inchikey);
CREATE INDEX molecules_project_idx ON molecules (project_id);

CREATE TABLE molecular_properties (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    molecule_id           uuid NOT NULL REFERENCES molecules (id) ON DELETE CASCADE,
    property_type_id      uuid NOT NULL REFERENCES property_types (id) ON DELETE RESTRICT,
    calculation_method_id uuid NOT NULL REFERENCES calculation_methods (id) ON DELETE RESTRICT,
    numeric_value         double precision,
    text_value            text,
    boolean_value         boolean,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT molecular_properties_one_value CHECK (num_nonnulls(numeric_value, text_value, boolean_value) = 1),
    CONSTRAINT molecular_properties_key UNIQUE (molecule_id, property_type_id, calculation_method_id)
);
CREATE INDEX molecular_properties_property_type_idx ON molecular_properties (property_type_id);
CREATE INDEX molecular_properties_method_idx ON molecular_properties (calculation_method_id);

CREATE TABLE mixtures (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 300),
    description text,
    project_id  uuid REFERENCES projects (id) ON DELETE SET NULL,
    created_by  uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mixtures_project_idx ON mixtures (project_id);
CREATE INDEX mixtures_created_by_idx ON mixtures (created_by);

CREATE TABLE mixture_components (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    mixture_id         uuid NOT NULL REFERENCES mixtures (id) ON DELETE CASCADE,
    -- A molecule used in a mixture cannot be deleted out from under it.
    molecule_id        uuid NOT NULL REFERENCES molecules (id) ON DELETE RESTRICT,
    concentration      double precision NOT NULL CHECK (concentration > 0 AND concentration <> 'Infinity'),
    concentration_unit concentration_unit NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mixture_components_fraction_range CHECK (concentration_unit <> 'mol_fraction' OR concentration <= 1),
    CONSTRAINT mixture_components_percent_range
        CHECK (concentration_unit NOT IN ('percent_w_v', 'percent_v_v') OR concentration <= 100),
    CONSTRAINT mixture_components_mixture_molecule_key UNIQUE (mixture_id, molecule_id)
);
CREATE INDEX mixture_components_molecule_idx ON mixture_components (molecule_id);

CREATE TABLE protocols (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    mixture_id             uuid NOT NULL REFERENCES mixtures (id) ON DELETE CASCADE,
    name                   text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 300),
    description            text,
    sample_type            text NOT NULL DEFAULT 'cell_line'
                           CHECK (sample_type IN ('cell_line', 'primary_cells', 'tissue', 'organoid', 'embryo')),
    target_concentration   double precision CHECK (target_concentration > 0),
    starting_temperature_c double precision CHECK (starting_temperature_c >= -273.15),
    target_temperature_c   double precision CHECK (target_temperature_c >= -273.15),
    steps                  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(steps) = 'array'),
    project_id             uuid REFERENCES projects (id) ON DELETE SET NULL,
    created_by             uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX protocols_mixture_idx ON protocols (mixture_id);
CREATE INDEX protocols_project_idx ON protocols (project_id);
CREATE INDEX protocols_created_by_idx ON protocols (created_by);

CREATE TABLE experiments (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Measured data outlives edits to what it was measured on: RESTRICT, not CASCADE.
    molecule_id      uuid REFERENCES molecules (id) ON DELETE RESTRICT,
    mixture_id       uuid REFERENCES mixtures (id) ON DELETE RESTRICT,
    property_type_id uuid NOT NULL REFERENCES property_types (id) ON DELETE RESTRICT,
    protocol_id      uuid REFERENCES protocols (id) ON DELETE SET NULL,
    numeric_value    double precision,
    text_value       text,
    boolean_value    boolean,
    unit             text,
    temperature_c    double precision CHECK (temperature_c >= -273.15),
    conditions       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(conditions) = 'object'),
    performed_on     date,
    notes            text,
    project_id       uuid REFERENCES projects (id) ON DELETE SET NULL,
    created_by       uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT experiments_one_subject CHECK (num_nonnulls(molecule_id, mixture_id) = 1),
    CONSTRAINT experiments_one_value CHECK (num_nonnulls(numeric_value, text_value, boolean_value) = 1)
);
CREATE INDEX experiments_molecule_idx ON experiments (molecule_id);
CREATE INDEX experiments_mixture_idx ON experiments (mixture_id);
CREATE INDEX experiments_property_type_idx ON experiments (property_type_id);
CREATE INDEX experiments_protocol_idx ON experiments (protocol_id);
CREATE INDEX experiments_project_idx ON experiments (project_id);
CREATE INDEX experiments_created_by_idx ON experiments (created_by);

CREATE TABLE lab_verifications (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    experiment_id  uuid NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'rejected')),
    requested_by   uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    -- Nullable while pending; a decided verification always names its verifier.
    verifier_id    uuid REFERENCES users (id) ON DELETE RESTRICT,
    equipment_used text,
    comments       text,
    decided_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lab_verifications_decision_complete
        CHECK (status = 'pending' OR (verifier_id IS NOT NULL AND decided_at IS NOT NULL))
);
CREATE INDEX lab_verifications_experiment_idx ON lab_verifications (experiment_id);
CREATE INDEX lab_verifications_requested_by_idx ON lab_verifications (requested_by);
CREATE INDEX lab_verifications_verifier_idx ON lab_verifications (verifier_id);

CREATE TABLE predictions (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    molecule_id           uuid REFERENCES molecules (id) ON DELETE CASCADE,
    mixture_id            uuid REFERENCES mixtures (id) ON DELETE CASCADE,
    property_type_id      uuid NOT NULL REFERENCES property_types (id) ON DELETE RESTRICT,
    calculation_method_id uuid NOT NULL REFERENCES calculation_methods (id) ON DELETE RESTRICT,
    numeric_value         double precision NOT NULL,
    -- A prediction interval at a stated level, never a made-up "confidence".
    interval_lower        double precision,
    interval_upper        double precision,
    interval_level        double precision CHECK (interval_level > 0 AND interval_level < 1),
    project_id            uuid REFERENCES projects (id) ON DELETE SET NULL,
    created_by            uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT predictions_one_subject CHECK (num_nonnulls(molecule_id, mixture_id) = 1),
    CONSTRAINT predictions_interval_complete
        CHECK (num_nulls(interval_lower, interval_upper, interval_level) IN (0, 3)),
    CONSTRAINT predictions_interval_ordered
        CHECK (interval_lower IS NULL OR (interval_lower <= numeric_value AND numeric_value <= interval_upper))
);
CREATE INDEX predictions_molecule_idx ON predictions (molecule_id);
CREATE INDEX predictions_mixture_idx ON predictions (mixture_id);
CREATE INDEX predictions_property_type_idx ON predictions (property_type_id);
CREATE INDEX predictions_method_idx ON predictions (calculation_method_id);
CREATE INDEX predictions_project_idx ON predictions (project_id);
CREATE INDEX predictions_created_by_idx ON predictions (created_by);

------------------------------------------------------------------------------------------------
-- Sharing, discussion, notifications, logs
------------------------------------------------------------------------------------------------
CREATE TABLE shared_resources (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id       uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    resource_type resource_kind NOT NULL,
    resource_id   uuid NOT NULL,
    permission    text NOT NULL DEFAULT 'read' CHECK (permission IN ('read', 'write')),
    shared_by     uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shared_resources_key UNIQUE (team_id, resource_type, resource_id)
);
CREATE INDEX shared_resources_resource_idx ON shared_resources (resource_type, resource_id);
CREATE INDEX shared_resources_shared_by_idx ON shared_resources (shared_by);

CREATE TABLE comments (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    resource_type resource_kind NOT NULL,
    resource_id   uuid NOT NULL,
    parent_id     uuid REFERENCES comments (id) ON DELETE CASCADE,
    body          text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 10000),
    created_by    uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_resource_idx ON comments (resource_type, resource_id);
CREATE INDEX comments_parent_idx ON comments (parent_id);
CREATE INDEX comments_created_by_idx ON comments (created_by);

CREATE TABLE notifications (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id       uuid REFERENCES teams (id) ON DELETE SET NULL,
    title         text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    message       text NOT NULL,
    resource_type resource_kind,
    resource_id   uuid,
    is_read       boolean NOT NULL DEFAULT false,
    read_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_resource_complete CHECK (num_nulls(resource_type, resource_id) IN (0, 2)),
    CONSTRAINT notifications_read_consistent CHECK (is_read = (read_at IS NOT NULL))
);
CREATE INDEX notifications_user_idx ON notifications (user_id, is_read);
CREATE INDEX notifications_team_idx ON notifications (team_id);

-- Append-only logs: rows are never updated, so they carry created_at only.
CREATE TABLE activity_log (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id       uuid REFERENCES teams (id) ON DELETE CASCADE,
    user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    action        text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    resource_type resource_kind,
    resource_id   uuid,
    details       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_log_team_idx ON activity_log (team_id, created_at DESC);
CREATE INDEX activity_log_user_idx ON activity_log (user_id);

CREATE TABLE audit_log (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    actor_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_role   text NOT NULL,
    action       text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    target_table text,
    target_id    uuid,
    details      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC);

-- The audit trail is evidence: it can be appended to, never rewritten.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

------------------------------------------------------------------------------------------------
-- Typed values must match their property type's data_type (a CHECK cannot look at another table).
------------------------------------------------------------------------------------------------
CREATE FUNCTION check_value_matches_property_type() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    expected text;
BEGIN
    SELECT data_type INTO expected FROM property_types WHERE id = NEW.property_type_id;
    IF expected IS NULL THEN
        RETURN NEW; -- the foreign key reports the missing property type
    END IF;
    IF (expected = 'numeric' AND NEW.numeric_value IS NULL)
       OR (expected = 'text' AND NEW.text_value IS NULL)
       OR (expected = 'boolean' AND NEW.boolean_value IS NULL) THEN
        RAISE EXCEPTION 'property type % holds % values', NEW.property_type_id, expected
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_value_type';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER molecular_properties_value_type BEFORE INSERT OR UPDATE ON molecular_properties
    FOR EACH ROW EXECUTE FUNCTION check_value_matches_property_type();
CREATE TRIGGER experiments_value_type BEFORE INSERT OR UPDATE ON experiments
    FOR EACH ROW EXECUTE FUNCTION check_value_matches_property_type();

------------------------------------------------------------------------------------------------
-- updated_at triggers on every table that has the column
------------------------------------------------------------------------------------------------
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind = 'r'
    LOOP
        EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION set_updated_at()', t);
    END LOOP;
END;
$$;
