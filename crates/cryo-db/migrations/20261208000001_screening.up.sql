-- Screening jobs (#20): one or several model versions run over a library snapshot (the whole
-- visible library or a project, as the requester could read it when they asked) or over an
-- uploaded file (its structures are not stored as molecules). The inputs are numbered rows;
-- chunks of consecutive rows are what workers claim (SKIP LOCKED), so every worker of every
-- replica takes part, and a chunk's results and its end are written in one transaction, once.
-- Privileges and policies are the next migration (a policy set `db rls apply` re-runs).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE screening_jobs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL CONSTRAINT screening_jobs_name_check CHECK (length(name) BETWEEN 1 AND 200),
    source           text NOT NULL
                     CONSTRAINT screening_jobs_source_check CHECK (source IN ('library', 'project', 'upload')),
    project_id       uuid REFERENCES projects (id) ON DELETE SET NULL,
    -- The versions asked for, resolved when the job was created: [{model_id, version_id, ...}].
    models           jsonb NOT NULL
                     CONSTRAINT screening_jobs_models_check
                     CHECK (jsonb_typeof(models) = 'array' AND jsonb_array_length(models) BETWEEN 1 AND 8),
    level            double precision NOT NULL
                     CONSTRAINT screening_jobs_level_check CHECK (level > 0 AND level < 1),
    state            text NOT NULL DEFAULT 'queued'
                     CONSTRAINT screening_jobs_state_check
                     CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    total_rows       bigint NOT NULL DEFAULT 0 CONSTRAINT screening_jobs_total_rows_check CHECK (total_rows >= 0),
    chunk_rows       bigint NOT NULL CONSTRAINT screening_jobs_chunk_rows_check CHECK (chunk_rows >= 1),
    chunks           bigint NOT NULL DEFAULT 0,
    chunks_done      bigint NOT NULL DEFAULT 0,
    rows_failed      bigint NOT NULL DEFAULT 0 CONSTRAINT screening_jobs_rows_failed_check CHECK (rows_failed >= 0),
    cancel_requested boolean NOT NULL DEFAULT false,
    error            text,
    created_by       uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT screening_jobs_progress_check CHECK (chunks_done >= 0 AND chunks_done <= chunks),
    CONSTRAINT screening_jobs_finished_when_done
        CHECK ((finished_at IS NOT NULL) = (state IN ('succeeded', 'failed', 'cancelled')))
);
CREATE INDEX screening_jobs_created_by_idx ON screening_jobs (created_by, created_at DESC);
CREATE INDEX screening_jobs_project_idx ON screening_jobs (project_id);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON screening_jobs FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The inputs, numbered from 1, with what the worker computed for the structure itself.
CREATE TABLE screening_rows (
    job_id      uuid NOT NULL REFERENCES screening_jobs (id) ON DELETE CASCADE,
    row_no      bigint NOT NULL CONSTRAINT screening_rows_row_no_check CHECK (row_no >= 1),
    -- The library molecule it came from (none for uploads).
    molecule_id uuid REFERENCES molecules (id) ON DELETE SET NULL,
    name        text CONSTRAINT screening_rows_name_check CHECK (length(name) <= 500),
    smiles      text NOT NULL CONSTRAINT screening_rows_smiles_check CHECK (length(smiles) BETWEEN 1 AND 100000),
    -- The line (SMILES, CSV) or record (SDF) of the uploaded file.
    line        bigint,
    score       double precision,
    alerts      bigint CONSTRAINT screening_rows_alerts_check CHECK (alerts >= 0),
    error       text,
    PRIMARY KEY (job_id, row_no)
);
CREATE INDEX screening_rows_molecule_idx ON screening_rows (molecule_id) WHERE molecule_id IS NOT NULL;

CREATE TABLE screening_chunks (
    job_id       uuid NOT NULL REFERENCES screening_jobs (id) ON DELETE CASCADE,
    chunk_no     bigint NOT NULL CONSTRAINT screening_chunks_chunk_no_check CHECK (chunk_no >= 1),
    first_row    bigint NOT NULL,
    last_row     bigint NOT NULL,
    state        text NOT NULL DEFAULT 'queued'
                 CONSTRAINT screening_chunks_state_check CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     bigint NOT NULL DEFAULT 0 CONSTRAINT screening_chunks_attempts_check CHECK (attempts >= 0),
    worker       text,
    heartbeat_at timestamptz,
    finished_at  timestamptz,
    error        text,
    PRIMARY KEY (job_id, chunk_no),
    CONSTRAINT screening_chunks_rows_check CHECK (first_row >= 1 AND last_row >= first_row)
);
CREATE INDEX screening_chunks_queue_idx ON screening_chunks (job_id, chunk_no) WHERE state = 'queued';
CREATE INDEX screening_chunks_running_idx ON screening_chunks (heartbeat_at) WHERE state = 'running';

-- One answer of one version for one row.
CREATE TABLE screening_results (
    job_id           uuid NOT NULL REFERENCES screening_jobs (id) ON DELETE CASCADE,
    model_version_id uuid NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    row_no           bigint NOT NULL,
    -- Regression: the value. Classification: the probability of the most probable class.
    value            double precision,
    lower            double precision,
    upper            double precision,
    label            text,
    domain           text CONSTRAINT screening_results_domain_check CHECK (domain IN ('in', 'edge', 'out')),
    similarity       double precision,
    error            text,
    PRIMARY KEY (model_version_id, job_id, row_no),
    CONSTRAINT screening_results_interval_check CHECK (lower IS NULL OR upper IS NULL OR lower <= upper)
);
-- Ranking a job's results by one version's value walks this index.
CREATE INDEX screening_results_rank_idx ON screening_results (job_id, model_version_id, value, row_no);
