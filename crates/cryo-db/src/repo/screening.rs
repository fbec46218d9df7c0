//! Screening jobs (#20): the requester creates a job with its numbered input rows and its
//! chunks in one transaction (as themselves, so a library snapshot holds only what they can
//! read); workers, as service_role, claim chunks with SKIP LOCKED, write a chunk's results and
//! its end in one transaction fenced by the attempt that claimed it, and re-queue chunks whose
//! worker stopped beating. Results are read back ranked by any version's value with keyset
//! paging, as histograms and as scatters.

use super::Conn;
use super::ranking::Direction;
use crate::DbError;
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScreeningJob {
    pub id: Uuid,
    pub name: String,
    /// library, project or upload.
    pub source: String,
    pub project_id: Option<Uuid>,
    /// The versions the job runs, resolved when it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub models: Json<serde_json::Value>,
    pub level: f64,
    /// queued, running, succeeded, failed or cancelled.
    pub state: String,
    pub total_rows: i64,
    pub chunk_rows: i64,
    pub chunks: i64,
    pub chunks_done: i64,
    /// Chunks a worker is on now.
    pub chunks_running: i64,
    /// Rows no version could answer for (the structure did not parse, or was over the limits).
    pub rows_failed: i64,
    /// Whether each row's structural alerts are counted.
    pub with_alerts: bool,
    pub cancel_requested: bool,
    pub error: Option<String>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub finished_at: Option<OffsetDateTime>,
}

macro_rules! job_select {
    () => {
        "SELECT j.id, j.name, j.source, j.project_id, j.models, j.level, j.state, j.total_rows,
                j.chunk_rows, j.chunks, j.chunks_done,
                (SELECT count(*) FROM screening_chunks c WHERE c.job_id = j.id AND c.state = 'running')
                    AS chunks_running,
                j.rows_failed, j.with_alerts, j.cancel_requested, j.error, j.created_by, j.created_at, j.started_at,
                j.finished_at
         FROM screening_jobs j"
    };
}

/// What a new job is, before its rows.
#[derive(Debug)]
pub struct NewScreening<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub project_id: Option<Uuid>,
    pub models: &'a serde_json::Value,
    pub level: f64,
    pub chunk_rows: i64,
    pub with_alerts: bool,
}

/// Creates a job (no rows or chunks yet: see [`add_rows`], [`snapshot_library`], [`seal`]).
pub async fn create_job(
    conn: &mut Conn,
    owner: Uuid,
    new: &NewScreening<'_>,
) -> Result<Uuid, DbError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO screening_jobs (name, source, project_id, models, level, chunk_rows, created_by, with_alerts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.name)
    .bind(new.source)
    .bind(new.project_id)
    .bind(Json(new.models))
    .bind(new.level)
    .bind(new.chunk_rows)
    .bind(owner)
    .bind(new.with_alerts)
    .fetch_one(conn)
    .await?)
}

/// Copies the molecules the caller can read (of one project, or all) into the job's rows,
/// numbered from 1 in id order; at most `limit` of them. Returns how many it copied.
pub async fn snapshot_library(
    conn: &mut Conn,
    job: Uuid,
    project: Option<Uuid>,
    limit: i64,
) -> Result<i64, DbError> {
    Ok(sqlx::query(
        "INSERT INTO screening_rows (job_id, row_no, molecule_id, name, smiles)
         SELECT $1, row_number() OVER (ORDER BY m.id), m.id, left(m.name, 500), m.canonical_smiles
         FROM (SELECT id, name, canonical_smiles FROM molecules
               WHERE ($2::uuid IS NULL OR project_id = $2) ORDER BY id LIMIT $3) m",
    )
    .bind(job)
    .bind(project)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected() as i64)
}

/// Whether the caller's visible library (of one project, or all) holds more than `limit`
/// molecules: checked before a snapshot, so an oversized one is refused rather than cut.
pub async fn library_exceeds(
    conn: &mut Conn,
    project: Option<Uuid>,
    limit: i64,
) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) > $2 FROM (SELECT 1 FROM molecules
                                     WHERE ($1::uuid IS NULL OR project_id = $1) LIMIT $2 + 1) m",
    )
    .bind(project)
    .bind(limit)
    .fetch_one(conn)
    .await?)
}

/// One structure of an uploaded file.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedRow {
    pub name: Option<String>,
    pub smiles: String,
    /// Its line (SMILES, CSV) or record (SDF) in the file.
    pub line: i64,
}

/// Adds uploaded structures as rows `first_row_no`, `first_row_no + 1`, …
pub async fn add_rows(
    conn: &mut Conn,
    job: Uuid,
    first_row_no: i64,
    rows: &[UploadedRow],
) -> Result<(), DbError> {
    let names: Vec<Option<&str>> = rows.iter().map(|r| r.name.as_deref()).collect();
    let smiles: Vec<&str> = rows.iter().map(|r| r.smiles.as_str()).collect();
    let lines: Vec<i64> = rows.iter().map(|r| r.line).collect();
    sqlx::query(
        "INSERT INTO screening_rows (job_id, row_no, name, smiles, line)
         SELECT $1, $2 + n - 1, left(name, 500), smiles, line
         FROM unnest($3::text[], $4::text[], $5::int8[]) WITH ORDINALITY AS u (name, smiles, line, n)",
    )
    .bind(job)
    .bind(first_row_no)
    .bind(names)
    .bind(smiles)
    .bind(lines)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the job's size and creates its chunks of `chunk_rows` consecutive rows; the job
/// is claimable from the moment the transaction commits. Returns the number of chunks.
pub async fn seal(conn: &mut Conn, job: Uuid, total_rows: i64) -> Result<i64, DbError> {
    let chunks: i64 = sqlx::query_scalar(
        "UPDATE screening_jobs SET total_rows = $2,
                chunks = ($2 + chunk_rows - 1) / chunk_rows,
                state = CASE WHEN $2 = 0 THEN 'succeeded' ELSE state END,
                finished_at = CASE WHEN $2 = 0 THEN now() END
         WHERE id = $1 RETURNING chunks",
    )
    .bind(job)
    .bind(total_rows)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO screening_chunks (job_id, chunk_no, first_row, last_row)
         SELECT j.id, g, (g - 1) * j.chunk_rows + 1, least(g * j.chunk_rows, j.total_rows)
         FROM screening_jobs j, generate_series(1::int8, j.chunks) AS g WHERE j.id = $1",
    )
    .bind(job)
    .execute(conn)
    .await?;
    Ok(chunks)
}

pub async fn get_job(conn: &mut Conn, id: Uuid) -> Result<Option<ScreeningJob>, DbError> {
    let sql = concat!(job_select!(), " WHERE j.id = $1");
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

pub async fn list_jobs(conn: &mut Conn, page: super::Page) -> Result<Vec<ScreeningJob>, DbError> {
    let sql = concat!(
        job_select!(),
        " ORDER BY j.created_at DESC, j.id LIMIT $1 OFFSET $2"
    );
    Ok(sqlx::query_as(sql)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(conn)
        .await?)
}

/// Stops a job: no further chunk is claimed; a chunk running now still stores what it computed.
/// False when the job is not the caller's (or not there).
pub async fn cancel_job(conn: &mut Conn, id: Uuid) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE screening_jobs SET cancel_requested = true,
                state = CASE WHEN state IN ('queued', 'running') THEN 'cancelled' ELSE state END,
                finished_at = CASE WHEN state IN ('queued', 'running') THEN now() ELSE finished_at END
         WHERE id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Deletes a job with its rows, chunks and results. False when it is not the caller's.
pub async fn delete_job(conn: &mut Conn, id: Uuid) -> Result<bool, DbError> {
    Ok(sqlx::query("DELETE FROM screening_jobs WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

// ----------------------------------------------------------------------------------------------
// Workers (service_role)
// ----------------------------------------------------------------------------------------------

/// A claimed chunk with what its worker needs of the job.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Chunk {
    pub job_id: Uuid,
    pub chunk_no: i64,
    pub first_row: i64,
    pub last_row: i64,
    /// The attempt that claimed it (fences this worker's heartbeat and finish).
    pub attempts: i64,
    pub created_by: Uuid,
    pub models: Json<serde_json::Value>,
    pub level: f64,
    pub with_alerts: bool,
}

/// Claims the next queued chunk of the oldest job still going, and marks the job running.
pub async fn claim_chunk(conn: &mut Conn, worker: &str) -> Result<Option<Chunk>, DbError> {
    Ok(sqlx::query_as(
        "WITH next AS (
             SELECT c.job_id, c.chunk_no FROM screening_chunks c
             JOIN screening_jobs j ON j.id = c.job_id
             WHERE c.state = 'queued' AND j.state IN ('queued', 'running') AND NOT j.cancel_requested
             ORDER BY j.created_at, c.job_id, c.chunk_no
             FOR UPDATE OF c SKIP LOCKED LIMIT 1),
         claimed AS (
             UPDATE screening_chunks c SET state = 'running', attempts = c.attempts + 1, worker = $1,
                    heartbeat_at = now(), error = NULL
             FROM next WHERE c.job_id = next.job_id AND c.chunk_no = next.chunk_no
             RETURNING c.job_id, c.chunk_no, c.first_row, c.last_row, c.attempts),
         started AS (
             UPDATE screening_jobs j SET state = 'running', started_at = coalesce(j.started_at, now())
             FROM claimed WHERE j.id = claimed.job_id AND j.state = 'queued'
             RETURNING j.id)
         SELECT k.job_id, k.chunk_no, k.first_row, k.last_row, k.attempts, j.created_by, j.models, j.level,
                j.with_alerts
         FROM claimed k JOIN screening_jobs j ON j.id = k.job_id",
    )
    .bind(worker)
    .fetch_optional(conn)
    .await?)
}

/// One input row as a worker reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InputRow {
    pub row_no: i64,
    pub smiles: String,
}

pub async fn chunk_inputs(conn: &mut Conn, chunk: &Chunk) -> Result<Vec<InputRow>, DbError> {
    Ok(sqlx::query_as(
        "SELECT row_no, smiles FROM screening_rows
         WHERE job_id = $1 AND row_no BETWEEN $2 AND $3 ORDER BY row_no",
    )
    .bind(chunk.job_id)
    .bind(chunk.first_row)
    .bind(chunk.last_row)
    .fetch_all(conn)
    .await?)
}

/// Proves the worker alive; returns whether to stop (the job was cancelled or failed, or the
/// chunk is no longer this attempt's).
pub async fn chunk_heartbeat(conn: &mut Conn, chunk: &Chunk) -> Result<bool, DbError> {
    let going: Option<bool> = sqlx::query_scalar(
        "UPDATE screening_chunks c SET heartbeat_at = now() FROM screening_jobs j
         WHERE c.job_id = $1 AND c.chunk_no = $2 AND c.attempts = $3 AND c.state = 'running'
           AND j.id = c.job_id
         RETURNING j.state IN ('queued', 'running') AND NOT j.cancel_requested",
    )
    .bind(chunk.job_id)
    .bind(chunk.chunk_no)
    .bind(chunk.attempts)
    .fetch_optional(conn)
    .await?;
    Ok(!going.unwrap_or(false))
}

/// What a worker computed for one row itself.
#[derive(Debug, Clone, Default)]
pub struct RowOutcome {
    pub row_no: i64,
    pub score: Option<f64>,
    pub alerts: Option<i64>,
    pub error: Option<String>,
}

/// One version's answer for one row.
#[derive(Debug, Clone, Default)]
pub struct NewResult {
    pub version_id: Uuid,
    pub row_no: i64,
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub label: Option<String>,
    pub domain: Option<&'static str>,
    pub similarity: Option<f64>,
    pub error: Option<String>,
}

/// Stores a chunk's outcome, if this attempt still holds the chunk: its rows' own values, every
/// version's answers, the chunk's end and the job's progress (and its end, at the last chunk),
/// all in the caller's transaction. Returns false, storing nothing, when the attempt lost it.
pub async fn finish_chunk(
    conn: &mut Conn,
    chunk: &Chunk,
    rows: &[RowOutcome],
    results: &[NewResult],
) -> Result<bool, DbError> {
    let held: Option<bool> = sqlx::query_scalar(
        "SELECT true FROM screening_chunks
         WHERE job_id = $1 AND chunk_no = $2 AND attempts = $3 AND state = 'running' FOR UPDATE",
    )
    .bind(chunk.job_id)
    .bind(chunk.chunk_no)
    .bind(chunk.attempts)
    .fetch_optional(&mut *conn)
    .await?;
    if held.is_none() {
        return Ok(false);
    }
    let row_nos: Vec<i64> = rows.iter().map(|r| r.row_no).collect();
    let scores: Vec<Option<f64>> = rows.iter().map(|r| r.score).collect();
    let alerts: Vec<Option<i64>> = rows.iter().map(|r| r.alerts).collect();
    let errors: Vec<Option<&str>> = rows.iter().map(|r| r.error.as_deref()).collect();
    sqlx::query(
        "UPDATE screening_rows r SET score = u.score, alerts = u.alerts, error = u.error
         FROM unnest($2::int8[], $3::float8[], $4::int8[], $5::text[]) AS u (row_no, score, alerts, error)
         WHERE r.job_id = $1 AND r.row_no = u.row_no",
    )
    .bind(chunk.job_id)
    .bind(&row_nos)
    .bind(scores)
    .bind(alerts)
    .bind(errors)
    .execute(&mut *conn)
    .await?;
    let columns = ResultColumns::of(results);
    sqlx::query(
        "INSERT INTO screening_results
             (job_id, model_version_id, row_no, value, lower, upper, label, domain, similarity, error)
         SELECT $1, u.* FROM unnest($2::uuid[], $3::int8[], $4::float8[], $5::float8[], $6::float8[],
                                    $7::text[], $8::text[], $9::float8[], $10::text[]) AS u",
    )
    .bind(chunk.job_id)
    .bind(columns.versions)
    .bind(columns.rows)
    .bind(columns.values)
    .bind(columns.lowers)
    .bind(columns.uppers)
    .bind(columns.labels)
    .bind(columns.domains)
    .bind(columns.similarities)
    .bind(columns.errors)
    .execute(&mut *conn)
    .await?;
    let failed = rows.iter().filter(|r| r.error.is_some()).count() as i64;
    sqlx::query(
        "UPDATE screening_chunks SET state = 'done', finished_at = now(), heartbeat_at = NULL
         WHERE job_id = $1 AND chunk_no = $2",
    )
    .bind(chunk.job_id)
    .bind(chunk.chunk_no)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE screening_jobs SET chunks_done = chunks_done + 1, rows_failed = rows_failed + $2,
                state = CASE WHEN state = 'running' AND chunks_done + 1 = chunks THEN 'succeeded' ELSE state END,
                finished_at = CASE WHEN state = 'running' AND chunks_done + 1 = chunks THEN now() ELSE finished_at END
         WHERE id = $1",
    )
    .bind(chunk.job_id)
    .bind(failed)
    .execute(conn)
    .await?;
    Ok(true)
}

/// [`NewResult`]s as the column arrays `unnest` takes.
struct ResultColumns<'a> {
    versions: Vec<Uuid>,
    rows: Vec<i64>,
    values: Vec<Option<f64>>,
    lowers: Vec<Option<f64>>,
    uppers: Vec<Option<f64>>,
    labels: Vec<Option<&'a str>>,
    domains: Vec<Option<&'static str>>,
    similarities: Vec<Option<f64>>,
    errors: Vec<Option<&'a str>>,
}

impl<'a> ResultColumns<'a> {
    fn of(results: &'a [NewResult]) -> Self {
        ResultColumns {
            versions: results.iter().map(|r| r.version_id).collect(),
            rows: results.iter().map(|r| r.row_no).collect(),
            values: results.iter().map(|r| r.value).collect(),
            lowers: results.iter().map(|r| r.lower).collect(),
            uppers: results.iter().map(|r| r.upper).collect(),
            labels: results.iter().map(|r| r.label.as_deref()).collect(),
            domains: results.iter().map(|r| r.domain).collect(),
            similarities: results.iter().map(|r| r.similarity).collect(),
            errors: results.iter().map(|r| r.error.as_deref()).collect(),
        }
    }
}

/// A chunk that cannot be computed at all (its job's model is gone or unreadable): the chunk
/// and its job fail, saying why, if this attempt still holds the chunk.
pub async fn fail_chunk(conn: &mut Conn, chunk: &Chunk, error: &str) -> Result<bool, DbError> {
    let failed = sqlx::query(
        "UPDATE screening_chunks SET state = 'failed', finished_at = now(), error = $4
         WHERE job_id = $1 AND chunk_no = $2 AND attempts = $3 AND state = 'running'",
    )
    .bind(chunk.job_id)
    .bind(chunk.chunk_no)
    .bind(chunk.attempts)
    .bind(error)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if failed {
        fail_job(conn, chunk.job_id, error).await?;
    }
    Ok(failed)
}

async fn fail_job(conn: &mut Conn, job: Uuid, error: &str) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE screening_jobs SET state = 'failed', error = $2, finished_at = now()
         WHERE id = $1 AND state IN ('queued', 'running')",
    )
    .bind(job)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// A chunk this worker stopped because its server is shutting down goes back to the queue at
/// once, its attempt not counted.
pub async fn release_chunk(conn: &mut Conn, chunk: &Chunk) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE screening_chunks SET state = 'queued', worker = NULL, heartbeat_at = NULL,
                attempts = greatest(attempts - 1, 0)
         WHERE job_id = $1 AND chunk_no = $2 AND attempts = $3 AND state = 'running'",
    )
    .bind(chunk.job_id)
    .bind(chunk.chunk_no)
    .bind(chunk.attempts)
    .execute(conn)
    .await?;
    Ok(())
}

/// Chunks left `running` by a worker that stopped beating go back to the queue, or fail (with
/// their job) once they have used `max_attempts`. Returns how many were recovered.
pub async fn recover_chunks(
    conn: &mut Conn,
    stale_after_secs: f64,
    max_attempts: i64,
) -> Result<u64, DbError> {
    let recovered: Vec<(Uuid, String, String)> = sqlx::query_as(
        "UPDATE screening_chunks SET
             state = CASE WHEN attempts >= $2 THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempts >= $2 THEN now() END,
             error = 'the worker running it stopped (attempt ' || attempts || ' of ' || $2 || ')',
             worker = NULL, heartbeat_at = NULL
         WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1)
         RETURNING job_id, state, error",
    )
    .bind(stale_after_secs)
    .bind(max_attempts)
    .fetch_all(&mut *conn)
    .await?;
    for (job, state, error) in &recovered {
        if state == "failed" {
            fail_job(conn, *job, error).await?;
        }
    }
    let recovered = recovered.len() as u64;
    Ok(recovered)
}

// ----------------------------------------------------------------------------------------------
// Results
// ----------------------------------------------------------------------------------------------

/// What a results page is ordered by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResultSort {
    /// Input order.
    Row,
    /// The structure's cryoprotectant score.
    Score,
    /// One version's value (rows it could not answer for are left out).
    Version(Uuid),
}

/// A results page's question. `after` is the previous page's last (value, row).
#[derive(Debug, Clone)]
pub struct ResultQuery {
    pub job: Uuid,
    pub sort: ResultSort,
    pub direction: Direction,
    /// Range on the sorted value (not with `Row`).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Only rows the sorted version places in this domain (`in`, `edge`, `out`).
    pub domain: Option<&'static str>,
    pub limit: i64,
    pub after: Option<(Option<f64>, i64)>,
}

/// One row of a results page: the input and every version's answer.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultRow {
    pub row_no: i64,
    pub molecule_id: Option<Uuid>,
    pub name: Option<String>,
    pub smiles: String,
    pub line: Option<i64>,
    pub score: Option<f64>,
    pub alerts: Option<i64>,
    pub error: Option<String>,
    /// The value the page is ordered by (with `Score` or `Version`).
    #[serde(skip)]
    pub sort_value: Option<f64>,
    #[sqlx(skip)]
    pub results: Vec<VersionAnswer>,
}

/// One version's answer in a results row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionAnswer {
    pub version_id: Uuid,
    #[serde(skip)]
    pub row_no: i64,
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub label: Option<String>,
    pub domain: Option<String>,
    pub similarity: Option<f64>,
    pub error: Option<String>,
}

macro_rules! row_columns {
    () => {
        "r.row_no, r.molecule_id, r.name, r.smiles, r.line, r.score, r.alerts, r.error"
    };
}

/// Rows by input order: `$1` job, `$2` limit, `$3` the last row of the previous page.
const BY_ROW: &str = concat!(
    "SELECT ",
    row_columns!(),
    ", NULL::float8 AS sort_value FROM screening_rows r
     WHERE r.job_id = $1 AND r.row_no > coalesce($3, 0) ORDER BY r.row_no LIMIT $2"
);

/// Rows by score. `$4`/`$5` range, `$6` cursor value (NULL: the page starts among the rows
/// without a score, which come last), `$7` whether there is a cursor.
macro_rules! by_score {
    ($cmp:literal, $order:literal) => {
        concat!(
            "SELECT ",
            row_columns!(),
            ", r.score AS sort_value FROM screening_rows r
             WHERE r.job_id = $1 AND r.score IS NOT NULL
               AND ($4::float8 IS NULL OR r.score >= $4) AND ($5::float8 IS NULL OR r.score <= $5)
               AND (NOT $7 OR (r.score, r.row_no) ",
            $cmp,
            " ($6, $3))
             ORDER BY r.score ",
            $order,
            ", r.row_no ",
            $order,
            " LIMIT $2"
        )
    };
}

/// Rows by one version's value: `$8` the version, `$9` domain.
macro_rules! by_version {
    ($cmp:literal, $order:literal) => {
        concat!(
            "SELECT ",
            row_columns!(),
            ", k.value AS sort_value FROM screening_results k
             JOIN screening_rows r ON r.job_id = k.job_id AND r.row_no = k.row_no
             WHERE k.job_id = $1 AND k.model_version_id = $8 AND k.value IS NOT NULL
               AND ($4::float8 IS NULL OR k.value >= $4) AND ($5::float8 IS NULL OR k.value <= $5)
               AND ($9::text IS NULL OR k.domain = $9)
               AND (NOT $7 OR (k.value, k.row_no) ",
            $cmp,
            " ($6, $3))
             ORDER BY k.value ",
            $order,
            ", k.row_no ",
            $order,
            " LIMIT $2"
        )
    };
}

/// A results page with every version's answers for its rows.
pub async fn results_page(conn: &mut Conn, q: &ResultQuery) -> Result<Vec<ResultRow>, DbError> {
    let sql: &'static str = match (q.sort, q.direction) {
        (ResultSort::Row, _) => BY_ROW,
        (ResultSort::Score, Direction::Asc) => by_score!(">", "ASC"),
        (ResultSort::Score, Direction::Desc) => by_score!("<", "DESC"),
        (ResultSort::Version(_), Direction::Asc) => by_version!(">", "ASC"),
        (ResultSort::Version(_), Direction::Desc) => by_version!("<", "DESC"),
    };
    let version = match q.sort {
        ResultSort::Version(v) => Some(v),
        _ => None,
    };
    let mut rows: Vec<ResultRow> = sqlx::query_as(sql)
        .bind(q.job)
        .bind(q.limit)
        .bind(q.after.map(|(_, row)| row))
        .bind(q.min)
        .bind(q.max)
        .bind(q.after.and_then(|(v, _)| v))
        .bind(q.after.is_some())
        .bind(version)
        .bind(q.domain)
        .fetch_all(&mut *conn)
        .await?;
    let row_nos: Vec<i64> = rows.iter().map(|r| r.row_no).collect();
    let answers: Vec<VersionAnswer> = sqlx::query_as(
        "SELECT s.model_version_id AS version_id, s.row_no, s.value, s.lower, s.upper, s.label,
                s.domain, s.similarity, s.error
         FROM screening_jobs j
         CROSS JOIN LATERAL jsonb_array_elements(j.models) AS m (model)
         JOIN screening_results s ON s.model_version_id = (m.model ->> 'version_id')::uuid
              AND s.job_id = j.id AND s.row_no = ANY ($2)
         WHERE j.id = $1
         ORDER BY s.row_no",
    )
    .bind(q.job)
    .bind(&row_nos)
    .fetch_all(conn)
    .await?;
    let mut by_row: std::collections::HashMap<i64, Vec<VersionAnswer>> =
        std::collections::HashMap::new();
    for a in answers {
        by_row.entry(a.row_no).or_default().push(a);
    }
    for row in &mut rows {
        row.results = by_row.remove(&row.row_no).unwrap_or_default();
    }
    Ok(rows)
}

/// How many rows a results query holds (its filters, no cursor).
pub async fn results_count(conn: &mut Conn, q: &ResultQuery) -> Result<i64, DbError> {
    let version = match q.sort {
        ResultSort::Version(v) => Some(v),
        _ => None,
    };
    let sql = match q.sort {
        ResultSort::Row => "SELECT count(*) FROM screening_rows WHERE job_id = $1",
        ResultSort::Score => {
            "SELECT count(*) FROM screening_rows WHERE job_id = $1 AND score IS NOT NULL
               AND ($2::float8 IS NULL OR score >= $2) AND ($3::float8 IS NULL OR score <= $3)"
        }
        ResultSort::Version(_) => {
            "SELECT count(*) FROM screening_results WHERE job_id = $1 AND model_version_id = $4
               AND value IS NOT NULL
               AND ($2::float8 IS NULL OR value >= $2) AND ($3::float8 IS NULL OR value <= $3)
               AND ($5::text IS NULL OR domain = $5)"
        }
    };
    Ok(sqlx::query_scalar(sql)
        .bind(q.job)
        .bind(q.min)
        .bind(q.max)
        .bind(version)
        .bind(q.domain)
        .fetch_one(conn)
        .await?)
}

/// One bar of a histogram: `[lower, upper)` (the last bar includes its upper end).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bin {
    pub lower: f64,
    pub upper: f64,
    pub count: i64,
}

/// A histogram of one version's values (`None`: the score) in `bins` equal bins over their span.
pub async fn histogram(
    conn: &mut Conn,
    job: Uuid,
    version: Option<Uuid>,
    bins: i32,
) -> Result<Vec<Bin>, DbError> {
    Ok(sqlx::query_as(
        "WITH v AS (
             SELECT k.value AS x FROM screening_results k
             WHERE $2::uuid IS NOT NULL AND k.job_id = $1 AND k.model_version_id = $2 AND k.value IS NOT NULL
             UNION ALL
             SELECT r.score FROM screening_rows r
             WHERE $2::uuid IS NULL AND r.job_id = $1 AND r.score IS NOT NULL),
         span AS (SELECT min(x) AS lo, max(x) AS hi FROM v),
         counted AS (
             SELECT CASE WHEN span.hi = span.lo THEN 1
                         ELSE least(width_bucket(v.x, span.lo, span.hi, $3), $3) END AS b, count(*) AS n
             FROM v, span GROUP BY 1)
         SELECT span.lo + (g - 1) * (span.hi - span.lo) / $3 AS lower,
                span.lo + g * (span.hi - span.lo) / $3 AS upper,
                coalesce(counted.n, 0) AS count
         FROM span CROSS JOIN generate_series(1, $3) AS g LEFT JOIN counted ON counted.b = g
         WHERE span.lo IS NOT NULL ORDER BY g",
    )
    .bind(job)
    .bind(version)
    .bind(bins)
    .fetch_all(conn)
    .await?)
}

/// One point of a scatter of two versions' values (`None`: the score).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    pub row_no: i64,
    pub x: f64,
    pub y: f64,
}

/// At most about `limit` points, every n-th row so the sample spans the whole job.
pub async fn scatter(
    conn: &mut Conn,
    job: Uuid,
    x: Option<Uuid>,
    y: Option<Uuid>,
    total_rows: i64,
    limit: i64,
) -> Result<Vec<Point>, DbError> {
    let stride = (total_rows / limit.max(1)).max(1);
    Ok(sqlx::query_as(
        "SELECT r.row_no,
                CASE WHEN $2::uuid IS NULL THEN r.score ELSE a.value END AS x,
                CASE WHEN $3::uuid IS NULL THEN r.score ELSE b.value END AS y
         FROM screening_rows r
         LEFT JOIN screening_results a ON a.model_version_id = $2 AND a.job_id = r.job_id AND a.row_no = r.row_no
         LEFT JOIN screening_results b ON b.model_version_id = $3 AND b.job_id = r.job_id AND b.row_no = r.row_no
         WHERE r.job_id = $1 AND r.row_no % $4 = 0
           AND (CASE WHEN $2::uuid IS NULL THEN r.score ELSE a.value END) IS NOT NULL
           AND (CASE WHEN $3::uuid IS NULL THEN r.score ELSE b.value END) IS NOT NULL
         ORDER BY r.row_no LIMIT $5",
    )
    .bind(job)
    .bind(x)
    .bind(y)
    .bind(stride)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
