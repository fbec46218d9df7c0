//! The model registry: models per target property, immutable versions with stages and aliases,
//! the audit trail of stage changes, and the training-job queue.
//!
//! Everything a user does runs as that user (row-level security decides). The job-queue
//! functions marked "worker" run as service_role: workers claim any user's job.

use super::Conn;
use crate::DbError;
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Model {
    pub id: Uuid,
    pub name: String,
    /// The property type it predicts.
    pub property: String,
    /// What the property holds, and so what the model does: numeric (regression), binary or
    /// categorical (classification).
    #[sqlx(try_from = "String")]
    pub kind: cryo_core::ident::PropertyKind,
    pub description: Option<String>,
    pub project_id: Option<Uuid>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: OffsetDateTime,
    pub production_version: Option<i64>,
    pub latest_version: Option<i64>,
}

macro_rules! model_select {
    () => {
        "SELECT m.id, m.name, t.name AS property, t.data_type AS kind, m.description, m.project_id, m.created_by, m.created_at,
        (SELECT v.version FROM model_versions v WHERE v.model_id = m.id AND v.stage = 'production') AS production_version,
        (SELECT max(v.version) FROM model_versions v WHERE v.model_id = m.id) AS latest_version
    FROM models m JOIN property_types t ON t.id = m.property_type_id"
    };
}

/// A version without its artefact bytes.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelVersion {
    pub id: Uuid,
    pub model_id: Uuid,
    /// The property type its model predicts.
    pub property: String,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub stage: cryo_core::ident::ModelStage,
    pub algorithm: String,
    pub format: i64,
    /// Cross-validated RMSE of the training procedure.
    pub cv_rmse: Option<f64>,
    pub artifact_sha256: String,
    pub artifact_bytes: i64,
    /// The readable half of the artefact: metrics, hyperparameters, features, dataset digest
    /// (without the held-out predictions, which `…/report` draws).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub envelope: Json<serde_json::Value>,
    pub aliases: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub last_production_at: Option<OffsetDateTime>,
    pub created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: OffsetDateTime,
}

macro_rules! version_select {
    () => {
        "SELECT v.id, v.model_id,
        (SELECT t.name FROM models m JOIN property_types t ON t.id = m.property_type_id WHERE m.id = v.model_id) AS property,
        v.version, v.stage, v.algorithm, v.format, v.cv_rmse,
        v.artifact_sha256, octet_length(v.artifact)::bigint AS artifact_bytes,
        v.envelope #- '{validation,predictions}' AS envelope,
        coalesce((SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.version_id = v.id), '{}') AS aliases,
        v.last_production_at, v.created_by, v.created_at
    FROM model_versions v"
    };
}

macro_rules! handle_select {
    () => {
        "SELECT v.id, v.model_id,
        (SELECT t.name FROM models m JOIN property_types t ON t.id = m.property_type_id WHERE m.id = v.model_id) AS property,
        v.version, v.algorithm, v.artifact_sha256
    FROM model_versions v"
    };
}

/// What finding and loading a version needs, without its envelope: that holds the held-out
/// predictions (100 KB of JSON for 642 molecules), which the prediction hot path must not read,
/// decompress and parse on every request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionHandle {
    pub id: Uuid,
    pub model_id: Uuid,
    pub property: String,
    pub version: i64,
    pub algorithm: String,
    pub artifact_sha256: String,
}

impl ModelVersion {
    pub fn handle(&self) -> VersionHandle {
        VersionHandle {
            id: self.id,
            model_id: self.model_id,
            property: self.property.clone(),
            version: self.version,
            algorithm: self.algorithm.clone(),
            artifact_sha256: self.artifact_sha256.clone(),
        }
    }
}

/// A row type a version can be read as: the whole [`ModelVersion`] or its [`VersionHandle`].
pub trait VersionRow: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin {
    /// One statement for the three ways of naming a version: a number ($2), an alias ($3), or
    /// production (neither).
    const RESOLVE: &'static str;
    /// The version that most recently left production.
    const PREVIOUS_PRODUCTION: &'static str;
}

/// The statements of a [`VersionRow`], from its SELECT list.
macro_rules! version_statements {
    ($select:ident) => {
        const RESOLVE: &'static str = concat!(
            $select!(),
            " WHERE v.model_id = $1 AND CASE
             WHEN $2::bigint IS NOT NULL THEN v.version = $2
             WHEN $3::text IS NOT NULL THEN v.id = (SELECT a.version_id FROM model_aliases a
                                                    WHERE a.model_id = $1 AND a.alias = $3)
             ELSE v.stage = 'production' END"
        );
        const PREVIOUS_PRODUCTION: &'static str = concat!(
            $select!(),
            " WHERE v.model_id = $1 AND v.stage <> 'production' AND v.last_production_at IS NOT NULL
         ORDER BY v.last_production_at DESC, v.version DESC LIMIT 1"
        );
    };
}

impl VersionRow for ModelVersion {
    version_statements!(version_select);
}

impl VersionRow for VersionHandle {
    version_statements!(handle_select);
}

/// `Ok(None)` when the property type is unknown.
pub async fn create_model(
    conn: &mut Conn,
    owner: Uuid,
    name: &str,
    property: &str,
    description: Option<&str>,
    project_id: Option<Uuid>,
) -> Result<Option<Model>, DbError> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO models (name, property_type_id, description, project_id, created_by)
         SELECT $1, t.id, $3, $4, $5 FROM property_types t WHERE t.name = $2
         RETURNING id",
    )
    .bind(name)
    .bind(property)
    .bind(description)
    .bind(project_id)
    .bind(owner)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => get_model(conn, id).await,
        None => Ok(None),
    }
}

pub async fn get_model(conn: &mut Conn, id: Uuid) -> Result<Option<Model>, DbError> {
    let sql = concat!(model_select!(), " WHERE m.id = $1");
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Visible models, optionally only those predicting `property`.
pub async fn list_models(
    conn: &mut Conn,
    property: Option<&str>,
    page: super::Page,
) -> Result<Vec<Model>, DbError> {
    let sql = concat!(
        model_select!(),
        " WHERE ($1::text IS NULL OR t.name = $1) ORDER BY m.name, m.id LIMIT $2 OFFSET $3"
    );
    Ok(sqlx::query_as(sql)
        .bind(property)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(conn)
        .await?)
}

pub async fn list_versions(conn: &mut Conn, model: Uuid) -> Result<Vec<ModelVersion>, DbError> {
    let sql = concat!(
        version_select!(),
        " WHERE v.model_id = $1 ORDER BY v.version DESC"
    );
    Ok(sqlx::query_as(sql).bind(model).fetch_all(conn).await?)
}

pub async fn get_version(
    conn: &mut Conn,
    model: Uuid,
    version: i64,
) -> Result<Option<ModelVersion>, DbError> {
    let sql = concat!(
        version_select!(),
        " WHERE v.model_id = $1 AND v.version = $2"
    );
    Ok(sqlx::query_as(sql)
        .bind(model)
        .bind(version)
        .fetch_optional(conn)
        .await?)
}

/// Every production version the caller can see.
pub async fn production_versions(conn: &mut Conn) -> Result<Vec<ModelVersion>, DbError> {
    let sql = concat!(
        version_select!(),
        " WHERE v.stage = 'production' ORDER BY v.model_id"
    );
    Ok(sqlx::query_as(sql).fetch_all(conn).await?)
}

/// Which version a request means.
#[derive(Debug, Clone)]
pub enum VersionRef {
    Production,
    Number(i64),
    Alias(String),
}

pub async fn resolve_version<V: VersionRow>(
    conn: &mut Conn,
    model: Uuid,
    which: &VersionRef,
) -> Result<Option<V>, DbError> {
    let sql = V::RESOLVE;
    let (number, alias) = match which {
        VersionRef::Number(n) => (Some(*n), None),
        VersionRef::Alias(a) => (None, Some(a.as_str())),
        VersionRef::Production => (None, None),
    };
    Ok(sqlx::query_as(sql)
        .bind(model)
        .bind(number)
        .bind(alias)
        .fetch_optional(conn)
        .await?)
}

/// The version that most recently left production (what a rollback returns to).
pub async fn previous_production<V: VersionRow>(
    conn: &mut Conn,
    model: Uuid,
) -> Result<Option<V>, DbError> {
    let sql = V::PREVIOUS_PRODUCTION;
    Ok(sqlx::query_as(sql).bind(model).fetch_optional(conn).await?)
}

/// The stored artefact: envelope and body, as written.
pub async fn artifact(
    conn: &mut Conn,
    version_id: Uuid,
) -> Result<Option<(serde_json::Value, Vec<u8>)>, DbError> {
    let row: Option<(Json<serde_json::Value>, Vec<u8>)> =
        sqlx::query_as("SELECT envelope, artifact FROM model_versions WHERE id = $1")
            .bind(version_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(e, b)| (e.0, b)))
}

pub struct NewVersion<'a> {
    pub algorithm: &'a str,
    pub format: i64,
    pub envelope: &'a serde_json::Value,
    pub artifact: &'a [u8],
    pub sha256: &'a str,
    pub cv_rmse: Option<f64>,
}

/// Adds the next version number of `model` (stage none). Locks the model row so concurrent
/// writers number their versions one after the other.
pub async fn insert_version(
    conn: &mut Conn,
    owner: Uuid,
    model: Uuid,
    v: NewVersion<'_>,
) -> Result<ModelVersion, DbError> {
    sqlx::query("SELECT 1 FROM models WHERE id = $1 FOR UPDATE")
        .bind(model)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| DbError::Refused("the model does not exist or is not writable".into()))?;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO model_versions (model_id, version, algorithm, format, envelope, artifact, artifact_sha256, cv_rmse, created_by)
         SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM model_versions WHERE model_id = $1
         RETURNING id",
    )
    .bind(model)
    .bind(v.algorithm)
    .bind(v.format)
    .bind(Json(v.envelope))
    .bind(v.artifact)
    .bind(v.sha256)
    .bind(v.cv_rmse)
    .bind(owner)
    .fetch_one(&mut *conn)
    .await?;
    let sql = concat!(version_select!(), " WHERE v.id = $1");
    Ok(sqlx::query_as(sql).bind(id).fetch_one(conn).await?)
}

/// Moves `version` to `stage`. Promoting to production archives the current production
/// version (remembering when it left, for rollback). Run inside the caller's transaction
/// together with [`audit`], so the change and its record commit together.
pub async fn set_stage(
    conn: &mut Conn,
    model: Uuid,
    version_id: Uuid,
    stage: cryo_core::ident::ModelStage,
) -> Result<(), DbError> {
    if stage == cryo_core::ident::ModelStage::Production {
        sqlx::query(
            "UPDATE model_versions SET stage = 'archived', last_production_at = now()
             WHERE model_id = $1 AND stage = 'production' AND id <> $2",
        )
        .bind(model)
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    }
    // Leaving production remembers when, for rollback.
    let changed = sqlx::query(
        "UPDATE model_versions SET stage = $2, last_production_at =
             CASE WHEN stage = 'production' AND $2 <> 'production' THEN now() ELSE last_production_at END
         WHERE id = $1",
    )
    .bind(version_id)
    .bind(stage.as_str())
        .execute(conn)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(DbError::Refused(
            "the version does not exist or is not writable".into(),
        ));
    }
    Ok(())
}

/// Appends to the audit trail as the caller.
pub async fn audit(
    conn: &mut Conn,
    actor: Uuid,
    action: &str,
    model: Uuid,
    details: serde_json::Value,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_role, action, target_table, target_id, details)
         VALUES ($1, 'authenticated', $2, 'models', $3, $4)",
    )
    .bind(actor)
    .bind(action)
    .bind(model)
    .bind(Json(details))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub action: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: Json<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: OffsetDateTime,
}

/// The audit trail of one model, newest first. The audit log is readable by service_role only:
/// callers check that the user may read the model first.
pub async fn audit_trail(conn: &mut Conn, model: Uuid) -> Result<Vec<AuditEntry>, DbError> {
    Ok(sqlx::query_as(
        "SELECT a.action, a.actor_id, u.display_name AS actor_name, a.details, a.created_at
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE a.target_table = 'models' AND a.target_id = $1
         ORDER BY a.created_at DESC, a.id",
    )
    .bind(model)
    .fetch_all(conn)
    .await?)
}

/// Points `alias` at `version_id` (creating or moving it).
pub async fn set_alias(
    conn: &mut Conn,
    owner: Uuid,
    model: Uuid,
    alias: &str,
    version_id: Uuid,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO model_aliases (model_id, alias, version_id, created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model_id, alias) DO UPDATE SET version_id = EXCLUDED.version_id",
    )
    .bind(model)
    .bind(alias)
    .bind(version_id)
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: Uuid,
    pub model_id: Uuid,
    /// train or search.
    pub kind: String,
    /// What to train (algorithm, hyperparameters, validation).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub request: Json<serde_json::Value>,
    /// queued, running, succeeded, failed or cancelled.
    pub state: String,
    /// 0–1 over all stages.
    pub progress: f64,
    /// searching, validating, fitting, …
    pub stage: Option<String>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub attempts: i64,
    pub result_version_id: Option<Uuid>,
    /// The version number the job produced.
    pub result_version: Option<i64>,
    pub retry_of: Option<Uuid>,
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

impl Job {
    pub fn is_finished(&self) -> bool {
        matches!(self.state.as_str(), "succeeded" | "failed" | "cancelled")
    }
}

macro_rules! job_select {
    () => {
        "SELECT j.id, j.model_id, j.kind, j.request, j.state, j.progress, j.stage, j.error,
        j.cancel_requested, j.attempts, j.result_version_id,
        (SELECT v.version FROM model_versions v WHERE v.id = j.result_version_id) AS result_version,
        j.retry_of, j.created_by, j.created_at, j.started_at, j.finished_at
    FROM training_jobs j"
    };
}

pub async fn create_job(
    conn: &mut Conn,
    owner: Uuid,
    model: Uuid,
    kind: &str,
    request: &serde_json::Value,
    retry_of: Option<Uuid>,
) -> Result<Job, DbError> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO training_jobs (model_id, kind, request, retry_of, created_by) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
    )
    .bind(model)
    .bind(kind)
    .bind(Json(request))
    .bind(retry_of)
    .bind(owner)
    .fetch_one(&mut *conn)
    .await?;
    get_job(conn, id)
        .await?
        .ok_or_else(|| DbError::Refused("the new job is not visible".into()))
}

pub async fn get_job(conn: &mut Conn, id: Uuid) -> Result<Option<Job>, DbError> {
    let sql = concat!(job_select!(), " WHERE j.id = $1");
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

pub async fn list_jobs(
    conn: &mut Conn,
    model: Option<Uuid>,
    page: super::Page,
) -> Result<Vec<Job>, DbError> {
    let sql = concat!(
        job_select!(),
        " WHERE ($1::uuid IS NULL OR j.model_id = $1) ORDER BY j.created_at DESC, j.id LIMIT $2 OFFSET $3"
    );
    Ok(sqlx::query_as(sql)
        .bind(model)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(conn)
        .await?)
}

/// Asks for a job to stop (the requester only). False when it is not theirs or not visible.
pub async fn request_cancel(conn: &mut Conn, id: Uuid) -> Result<bool, DbError> {
    Ok(
        sqlx::query("UPDATE training_jobs SET cancel_requested = true WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Worker: a queued job nobody asked to cancel is never started; mark it cancelled now.
pub async fn cancel_if_queued(conn: &mut Conn, id: Uuid) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE training_jobs SET state = 'cancelled', finished_at = now(), stage = NULL
         WHERE id = $1 AND state = 'queued' AND cancel_requested",
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Worker: claims the oldest queued job. SKIP LOCKED lets several workers (in one process or
/// many) share the queue without handing a job out twice.
pub async fn claim_job(conn: &mut Conn, worker: &str) -> Result<Option<Job>, DbError> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE training_jobs SET state = 'running', worker = $1, attempts = attempts + 1,
                started_at = now(), heartbeat_at = now(), progress = 0, stage = 'loading data', error = NULL
         WHERE id = (SELECT id FROM training_jobs WHERE state = 'queued' AND NOT cancel_requested
                     ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1)
         RETURNING id",
    )
    .bind(worker)
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => get_job(conn, id).await,
        None => Ok(None),
    }
}

// A worker's claim is fenced by the attempt it claimed (`attempts` after its claim): once the
// job is re-queued and claimed again, the old worker's heartbeat, hold and finish match no row,
// so a worker that stalled past `stale_after_secs` stops and cannot overwrite the new run.

/// Worker: records progress and proves the worker alive; returns whether to stop (cancel was
/// asked, or the job is no longer this attempt's).
pub async fn heartbeat(
    conn: &mut Conn,
    id: Uuid,
    attempt: i64,
    progress: f64,
    stage: &str,
) -> Result<bool, DbError> {
    let cancel: Option<bool> = sqlx::query_scalar(
        "UPDATE training_jobs SET progress = $3, stage = $4, heartbeat_at = now()
         WHERE id = $1 AND attempts = $2 AND state = 'running' RETURNING cancel_requested",
    )
    .bind(id)
    .bind(attempt)
    .bind(progress.clamp(0.0, 1.0))
    .bind(stage)
    .fetch_optional(conn)
    .await?;
    Ok(cancel.unwrap_or(true))
}

/// Worker: locks the job for the rest of the transaction if this attempt still runs it, so
/// its result and its end are recorded together and no recovery can re-queue it in between.
pub async fn hold_job(conn: &mut Conn, id: Uuid, attempt: i64) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT true FROM training_jobs WHERE id = $1 AND attempts = $2 AND state = 'running' FOR UPDATE",
    )
    .bind(id)
    .bind(attempt)
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// Worker: the job's final state, if this attempt still runs it; returns whether it did.
pub async fn finish_job(
    conn: &mut Conn,
    id: Uuid,
    attempt: i64,
    state: &str,
    error: Option<&str>,
    result: Option<Uuid>,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE training_jobs SET state = $3, error = $4, result_version_id = $5, finished_at = now(),
                progress = CASE WHEN $3 = 'succeeded' THEN 1 ELSE progress END,
                stage = CASE WHEN $3 = 'succeeded' THEN 'done' ELSE stage END
         WHERE id = $1 AND attempts = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(attempt)
    .bind(state)
    .bind(error)
    .bind(result)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Worker: a job this worker stopped because its server is shutting down goes back to the queue
/// at once, its attempt not counted, for another instance or the next start to run.
pub async fn release_job(conn: &mut Conn, id: Uuid, attempt: i64) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE training_jobs SET state = 'queued', worker = NULL, heartbeat_at = NULL, progress = 0,
                attempts = greatest(attempts - 1, 0), stage = 'queued again (its server stopped)'
         WHERE id = $1 AND attempts = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(attempt)
    .execute(conn)
    .await?;
    Ok(())
}

/// Worker: jobs left `running` by a worker that stopped beating (a crash or a kill) go back to
/// the queue, or fail once they have used `max_attempts`. Returns how many were recovered.
pub async fn recover_orphans(
    conn: &mut Conn,
    stale_after_secs: f64,
    max_attempts: i64,
) -> Result<u64, DbError> {
    Ok(sqlx::query(
        "UPDATE training_jobs SET
             state = CASE WHEN attempts >= $2 THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempts >= $2 THEN now() END,
             error = 'the worker running it stopped (attempt ' || attempts || ' of ' || $2 || ')',
             worker = NULL, heartbeat_at = NULL
         WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1)",
    )
    .bind(stale_after_secs)
    .bind(max_attempts)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Links a stored prediction to the version that made it.
pub async fn record_provenance(
    conn: &mut Conn,
    prediction: Uuid,
    version_id: Uuid,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO prediction_provenance (prediction_id, model_version_id) VALUES ($1, $2)",
    )
    .bind(prediction)
    .bind(version_id)
    .execute(conn)
    .await?;
    Ok(())
}
