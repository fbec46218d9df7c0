-- Mixture compositions with history (#21): every saved composition is kept as a numbered
-- version; `mixture_components` stays the current one (what every reader uses), and
-- `mixtures.version` says which number that is. An experiment records the version it used,
-- pinned to the current one when it is recorded unless it names another of the same mixture.
-- Versions are append-only: no one updates or deletes them but the cascade of their mixture.
-- Privileges and policies are the next migration (a policy set `db rls apply` re-runs).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE mixture_versions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    mixture_id  uuid NOT NULL REFERENCES mixtures (id) ON DELETE CASCADE,
    version     bigint NOT NULL CONSTRAINT mixture_versions_version_check CHECK (version >= 1),
    note        text CONSTRAINT mixture_versions_note_check CHECK (length(note) <= 2000),
    created_by  uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mixture_versions_mixture_version_key UNIQUE (mixture_id, version),
    -- What an experiment's (version, mixture) pair references: the version is its mixture's.
    CONSTRAINT mixture_versions_id_mixture_key UNIQUE (id, mixture_id)
);
CREATE INDEX mixture_versions_created_by_idx ON mixture_versions (created_by);

CREATE TABLE mixture_version_components (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version_id         uuid NOT NULL REFERENCES mixture_versions (id) ON DELETE CASCADE,
    -- A molecule an old composition used cannot be deleted out from under its history.
    molecule_id        uuid NOT NULL REFERENCES molecules (id) ON DELETE RESTRICT,
    concentration      double precision NOT NULL
        CONSTRAINT mixture_version_components_concentration_check
        CHECK (concentration > 0 AND concentration <> 'Infinity'),
    concentration_unit concentration_unit NOT NULL,
    -- The order the components were given in (1, 2, …).
    position           bigint NOT NULL CONSTRAINT mixture_version_components_position_check CHECK (position >= 1),
    CONSTRAINT mixture_version_components_fraction_range
        CHECK (concentration_unit <> 'mol_fraction' OR concentration <= 1),
    CONSTRAINT mixture_version_components_percent_range
        CHECK (concentration_unit NOT IN ('percent_w_v', 'percent_v_v') OR concentration <= 100),
    CONSTRAINT mixture_version_components_version_molecule_key UNIQUE (version_id, molecule_id)
);
CREATE INDEX mixture_version_components_molecule_idx ON mixture_version_components (molecule_id);

ALTER TABLE mixtures ADD COLUMN version bigint NOT NULL DEFAULT 1
    CONSTRAINT mixtures_version_check CHECK (version >= 1);

-- Every existing mixture's composition becomes its version 1.
INSERT INTO mixture_versions (mixture_id, version, note, created_by, created_at)
    SELECT x.id, 1, 'composition at creation', x.created_by, x.created_at FROM mixtures x;
INSERT INTO mixture_version_components (version_id, molecule_id, concentration, concentration_unit, position)
    SELECT v.id, c.molecule_id, c.concentration, c.concentration_unit,
           row_number() OVER (PARTITION BY c.mixture_id ORDER BY c.created_at, c.id)
    FROM mixture_components c JOIN mixture_versions v ON v.mixture_id = c.mixture_id AND v.version = 1;

-- The version must be one of the experiment's mixture's: a key over both columns. The foreign
-- key is validated by the next migration, in a transaction of its own.
ALTER TABLE experiments ADD COLUMN mixture_version_id uuid
    CONSTRAINT experiments_mixture_version_needs_mixture CHECK (mixture_version_id IS NULL OR mixture_id IS NOT NULL);
ALTER TABLE experiments ADD CONSTRAINT experiments_mixture_version_id_fkey
    FOREIGN KEY (mixture_version_id, mixture_id) REFERENCES mixture_versions (id, mixture_id)
    ON DELETE RESTRICT NOT VALID;
-- The index on a new, all-NULL column is built while this transaction holds the lock its
-- ADD COLUMN already took; CONCURRENTLY cannot run inside a transaction (sqlx runs each
-- migration in one, so a failure leaves nothing behind).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX experiments_mixture_version_idx ON experiments (mixture_version_id);
UPDATE experiments e SET mixture_version_id = v.id
    FROM mixture_versions v WHERE v.mixture_id = e.mixture_id AND v.version = 1;

-- An experiment on a mixture uses its current version unless it names one (which the key above
-- checks is that mixture's). Runs as the caller, who must see the mixture to use it.
CREATE OR REPLACE FUNCTION app.pin_mixture_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    -- Moving an experiment to another mixture without naming a version drops the old one's.
    IF TG_OP = 'UPDATE' AND NEW.mixture_id IS DISTINCT FROM OLD.mixture_id
       AND NEW.mixture_version_id IS NOT DISTINCT FROM OLD.mixture_version_id THEN
        NEW.mixture_version_id := NULL;
    END IF;
    IF NEW.mixture_id IS NOT NULL AND NEW.mixture_version_id IS NULL THEN
        SELECT v.id INTO NEW.mixture_version_id
        FROM mixtures x JOIN mixture_versions v ON v.mixture_id = x.id AND v.version = x.version
        WHERE x.id = NEW.mixture_id;
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS pin_mixture_version ON experiments;
CREATE TRIGGER pin_mixture_version BEFORE INSERT OR UPDATE OF mixture_id, mixture_version_id ON experiments
    FOR EACH ROW EXECUTE FUNCTION app.pin_mixture_version();

-- History rows may use only molecules the writer may reference, like current components.
DROP TRIGGER IF EXISTS guard_references ON mixture_version_components;
CREATE TRIGGER guard_references BEFORE INSERT OR UPDATE ON mixture_version_components
    FOR EACH ROW EXECUTE FUNCTION app.guard_references();
