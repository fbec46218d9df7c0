-- The model registry: models per target property, immutable checksummed versions with stages and
-- aliases, training jobs as a queue, and stored predictions linked to the version that made them.
-- Policies and grants for these tables are in the next migration (a policy set).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE models (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    property_type_id uuid NOT NULL REFERENCES property_types (id) ON DELETE RESTRICT,
    description      text CHECK (length(description) <= 5000),
    project_id       uuid REFERENCES projects (id) ON DELETE SET NULL,
    created_by       uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX models_owner_name_key ON models (created_by, lower(name));
CREATE INDEX models_property_type_idx ON models (property_type_id);
CREATE INDEX models_project_idx ON models (project_id);

-- A version is immutable once written (trigger below) except for its stage.
CREATE TABLE model_versions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    model_id           uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version            bigint NOT NULL CHECK (version > 0),
    stage              text NOT NULL DEFAULT 'none'
                       CHECK (stage IN ('none', 'staging', 'production', 'archived')),
    algorithm          text NOT NULL,
    format             bigint NOT NULL,
    envelope           jsonb NOT NULL CHECK (jsonb_typeof(envelope) = 'object'),
    artifact           bytea NOT NULL,
    artifact_sha256    text NOT NULL CHECK (artifact_sha256 ~ '^[0-9a-f]{64}$'),
    -- Cross-validated RMSE of the training procedure, for champion/challenger rules.
    cv_rmse            double precision,
    -- When it last left production: rollback returns to the most recent such version.
    last_production_at timestamptz,
    created_by         uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT model_versions_model_version_key UNIQUE (model_id, version)
);
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_id) WHERE stage = 'production';
CREATE INDEX model_versions_created_by_idx ON model_versions (created_by);

CREATE FUNCTION model_versions_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.model_id, NEW.version, NEW.algorithm, NEW.format, NEW.envelope, NEW.artifact, NEW.artifact_sha256,
        NEW.cv_rmse, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.model_id, OLD.version, OLD.algorithm, OLD.format, OLD.envelope, OLD.artifact, OLD.artifact_sha256,
        OLD.cv_rmse, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'model versions are immutable; only the stage may change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER model_versions_immutable BEFORE UPDATE ON model_versions
    FOR EACH ROW EXECUTE FUNCTION model_versions_are_immutable();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON models FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON model_versions FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE model_aliases (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    model_id   uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias      text NOT NULL CHECK (alias ~ '^[a-z][a-z0-9_-]{0,62}$'),
    version_id uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    created_by uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT model_aliases_model_alias_key UNIQUE (model_id, alias)
);
CREATE INDEX model_aliases_version_idx ON model_aliases (version_id);
CREATE INDEX model_aliases_created_by_idx ON model_aliases (created_by);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON model_aliases FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Training runs as a queue: workers claim with FOR UPDATE SKIP LOCKED and keep a heartbeat, so a
-- job whose worker died is found and re-queued.
CREATE TABLE training_jobs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    model_id          uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('train', 'search')),
    request           jsonb NOT NULL CHECK (jsonb_typeof(request) = 'object'),
    state             text NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress          double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    stage             text,
    error             text,
    cancel_requested  boolean NOT NULL DEFAULT false,
    attempts          bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    worker            text,
    heartbeat_at      timestamptz,
    result_version_id uuid REFERENCES model_versions (id) ON DELETE SET NULL,
    retry_of          uuid REFERENCES training_jobs (id) ON DELETE SET NULL,
    created_by        uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT training_jobs_finished_when_done
        CHECK ((finished_at IS NOT NULL) = (state IN ('succeeded', 'failed', 'cancelled')))
);
CREATE INDEX training_jobs_queue_idx ON training_jobs (created_at) WHERE state = 'queued';
CREATE INDEX training_jobs_model_idx ON training_jobs (model_id, created_at DESC);
CREATE INDEX training_jobs_result_idx ON training_jobs (result_version_id);
CREATE INDEX training_jobs_retry_idx ON training_jobs (retry_of);
CREATE INDEX training_jobs_created_by_idx ON training_jobs (created_by);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON training_jobs FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Which registered version made a stored prediction. A table of its own rather than a column
-- on predictions: adding a validated foreign key to a large, busy table would lock it.
CREATE TABLE prediction_provenance (
    prediction_id    uuid PRIMARY KEY REFERENCES predictions (id) ON DELETE CASCADE,
    model_version_id uuid REFERENCES model_versions (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prediction_provenance_version_idx ON prediction_provenance (model_version_id);
