//! `/api/v1/models`: the model registry. Models per target property, immutable versions with
//! stages and aliases, training jobs, prediction with intervals, evaluation, promotion and
//! rollback with an audit trail. Every call runs as the caller (row-level security decides what
//! they see and may change), except reading the audit trail, which the caller must be able to
//! read the model for.

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult, refused};
use crate::extract::UserDb;
use crate::routes::collab::Paging;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use cryo_app::predict::{PredictRequest, PredictResponse};
use cryo_app::registry::{
    MODEL, PredictInput, TrainRequest, VERSION, checked_level, featurise_all, predict_rows,
    visible_model,
};
use cryo_core::ident::ModelStage;
use cryo_db::repo::Conn;
use cryo_db::repo::models::{
    self as repo, AuditEntry, Job, Model, ModelVersion, VersionHandle, VersionRef,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const JOB: &str = "training job";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    pub name: String,
    /// The property type it predicts, e.g. "Glass Transition Temperature".
    pub property: String,
    pub description: Option<String>,
    pub project_id: Option<Uuid>,
}

/// Register a model for a target property (versions come from training jobs or imports).
#[utoipa::path(post, path = "/api/v1/models", tag = "models", request_body = NewModel, security(("bearer" = [])),
    responses((status = 201, body = Model), (status = 409), (status = 422)))]
pub async fn create_model(
    db: UserDb,
    ApiJson(m): ApiJson<NewModel>,
) -> ApiResult<(StatusCode, Json<Model>)> {
    let me = db.user;
    let name = cryo_core::ident::parse_name("name", &m.name, 200)?;
    if m.description.as_ref().is_some_and(|d| d.len() > 5000) {
        return Err(ApiError::validation(
            "description",
            "at most 5000 characters",
        ));
    }
    db.run(async |tx| {
        let model = repo::create_model(
            tx,
            me,
            &name,
            &m.property,
            m.description.as_deref(),
            m.project_id,
        )
        .await?
        .ok_or_else(|| {
            ApiError::validation(
                "property",
                format!("unknown property type {:?}", m.property),
            )
        })?;
        repo::audit(
            tx,
            me,
            "model.created",
            model.id,
            serde_json::json!({ "name": model.name, "property": model.property }),
        )
        .await?;
        Ok((StatusCode::CREATED, Json(model)))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ModelFilter {
    /// Only models predicting this property type.
    pub property: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/models", tag = "models", params(ModelFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Model>)))]
pub async fn list_models(db: UserDb, Query(f): Query<ModelFilter>) -> ApiResult<Json<Vec<Model>>> {
    db.run(async |tx| {
        let rows = repo::list_models(
            tx,
            f.property.as_deref(),
            cryo_db::repo::Page::new(f.limit, f.offset),
        )
        .await?;
        Ok(Json(rows))
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDetail {
    #[serde(flatten)]
    pub model: Model,
    /// Newest first, with metrics in each envelope.
    pub versions: Vec<ModelVersion>,
}

async fn visible_version(tx: &mut Conn, model: Uuid, version: i64) -> ApiResult<ModelVersion> {
    repo::get_version(tx, model, version)
        .await?
        .ok_or(ApiError::NotFound { what: VERSION })
}

#[utoipa::path(get, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = ModelDetail), (status = 404)))]
pub async fn get_model(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<ModelDetail>> {
    db.run(async |tx| {
        let model = visible_model(tx, id).await?;
        let versions = repo::list_versions(tx, id).await?;
        Ok(Json(ModelDetail { model, versions }))
    })
    .await
}

/// Delete a model and all its versions; refused while a version is in production.
#[utoipa::path(delete, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete_model(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        let model = visible_model(tx, id).await?;
        if let Some(v) = model.production_version {
            return Err(ApiError::Conflict(format!(
                "version {v} is in production; archive it (promote another or roll back) first"
            )));
        }
        if !repo::delete_model(tx, id).await? {
            return Err(refused(true, MODEL));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/models/{id}/versions/{version}", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = ModelVersion), (status = 404)))]
pub async fn get_version(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<Json<ModelVersion>> {
    db.run(async |tx| {
        let v = visible_version(tx, id, version).await?;
        Ok(Json(v))
    })
    .await
}

/// A version's model, row and decoded envelope, as the caller sees them.
async fn version_envelope(
    s: &AppState,
    caller: &Caller,
    id: Uuid,
    version: i64,
) -> ApiResult<(Model, ModelVersion, cryo_ml::Envelope)> {
    caller.require_user()?;
    let mut tx = s.begin(&caller.identity).await?;
    let model = visible_model(&mut tx, id).await?;
    let v = visible_version(&mut tx, id, version).await?;
    let (envelope, _) = repo::artifact(&mut tx, v.id)
        .await?
        .ok_or(ApiError::NotFound { what: VERSION })?;
    tx.commit().await?;
    let envelope: cryo_ml::Envelope = serde_json::from_value(envelope)
        .map_err(|e| cryo_ml::MlError::Corrupt(format!("envelope: {e}")))?;
    Ok((model, v, envelope))
}

fn no_validation() -> ApiError {
    ApiError::Conflict("this version carries no validation report".into())
}

/// A version's validation report as a self-contained HTML page: held-out predictions against
/// measurements with their intervals (parity plot), residuals, feature importances, per-fold
/// metrics and the diagnosis.
#[utoipa::path(get, path = "/api/v1/models/{id}/versions/{version}/report", tag = "models", security(("bearer" = [])),
    responses((status = 200, content_type = "text/html", description = "HTML report"), (status = 404), (status = 409)))]
pub async fn version_report(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<axum::response::Html<String>> {
    let (model, v, envelope) = version_envelope(&s, &caller, id, version).await?;
    let validation = envelope.validation.ok_or_else(no_validation)?;
    let report = validation.to_report(&envelope.spec, envelope.seed);
    let title = format!(
        "{} — version {} ({})",
        model.name, v.version, model.property
    );
    Ok(axum::response::Html(cryo_app::model_view::version_html(
        &title,
        &report,
        envelope.importance.as_deref(),
    )))
}

/// Everything a version's charts are drawn from.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionValidation {
    pub version: i64,
    pub property: String,
    pub algorithm: String,
    /// How the held-out rows were chosen, e.g. "5-fold".
    pub splitter: String,
    /// Interval level of `predictions[].interval`.
    pub level: Option<f64>,
    /// Metrics over every held-out prediction: n, rmse, mae, r2, spearman, coverage, mean_width.
    #[schema(value_type = Object)]
    pub pooled: cryo_ml::Metrics,
    /// Mean and spread of per-fold metrics.
    #[schema(value_type = Object)]
    pub summary: cryo_ml::Summary,
    /// Over/under-fitting verdict with fit and validation R².
    #[schema(value_type = Object)]
    pub diagnosis: cryo_ml::Diagnosis,
    /// Per fold: index, repeat, sizes, fit and validation metrics, calibration.
    #[schema(value_type = Vec<Object>)]
    pub folds: Vec<cryo_ml::FoldReport>,
    /// Every held-out prediction: row, observed, predicted, interval {lower, upper}, spread.
    #[schema(value_type = Vec<Object>)]
    pub predictions: Vec<cryo_ml::OutOfFold>,
    /// Observed coverage at nominal levels 0.5…0.95: nominal, observed, mean_width, n
    /// (empty for versions trained before it was measured).
    #[schema(value_type = Vec<Object>)]
    pub calibration: Vec<cryo_ml::Coverage>,
    /// Held-out error as the training folds grow, when it was measured: train_size, fit_r2,
    /// validation_r2, validation_rmse.
    #[schema(value_type = Option<Vec<Object>>)]
    pub learning_curve: Option<Vec<cryo_ml::LearningPoint>>,
    /// Feature importances of the final model, largest first, as [name, importance].
    #[schema(value_type = Option<Vec<Object>>)]
    pub importance: Option<Vec<(String, f64)>>,
}

/// A version's validation as data (held-out predictions with intervals, per-fold metrics,
/// calibration curve, learning curve, importances), for charts.
#[utoipa::path(get, path = "/api/v1/models/{id}/versions/{version}/validation", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = VersionValidation), (status = 404), (status = 409)))]
pub async fn version_validation(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<Json<VersionValidation>> {
    let (model, v, envelope) = version_envelope(&s, &caller, id, version).await?;
    let validation = envelope.validation.ok_or_else(no_validation)?;
    Ok(Json(VersionValidation {
        version: v.version,
        property: model.property,
        algorithm: v.algorithm,
        splitter: validation.splitter,
        level: validation.level,
        pooled: validation.pooled,
        summary: validation.summary,
        diagnosis: validation.diagnosis,
        folds: validation.folds,
        predictions: validation.predictions,
        calibration: validation.calibration,
        learning_curve: validation.learning_curve,
        importance: envelope.importance,
    }))
}

/// Delete a version. Only archived versions can be deleted (enforced by the database too).
#[utoipa::path(delete, path = "/api/v1/models/{id}/versions/{version}", tag = "models", security(("bearer" = [])),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete_version(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<StatusCode> {
    let me = db.user;
    db.run(async |tx| {
        let v = visible_version(tx, id, version).await?;
        if v.stage != ModelStage::Archived {
            return Err(ApiError::Conflict(format!(
                "version {version} is {}; only archived versions can be deleted",
                v.stage
            )));
        }
        if !repo::delete_version(tx, v.id).await? {
            return Err(refused(true, VERSION));
        }
        repo::audit(
            tx,
            me,
            "model.version_deleted",
            id,
            serde_json::json!({ "version": version, "sha256": v.artifact_sha256 }),
        )
        .await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub version: i64,
    /// production (default), staging, none or archived.
    #[serde(default = "production")]
    pub stage: ModelStage,
    /// Champion/challenger: promote to production only if this version's cross-validated RMSE
    /// is at least this fraction below production's (e.g. 0.05 = 5 % better).
    pub min_improvement: Option<f64>,
}

fn production() -> ModelStage {
    ModelStage::Production
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageChange {
    pub model: Model,
    /// The version now in production, if any.
    pub production: Option<i64>,
    /// The version that left production, if any.
    pub previous: Option<i64>,
}

/// Move a version to a stage. Promotion to production archives the current production version,
/// in one transaction with its audit entry.
#[utoipa::path(post, path = "/api/v1/models/{id}/promote", tag = "models", request_body = PromoteRequest, security(("bearer" = [])),
    responses((status = 200, body = StageChange), (status = 404), (status = 409), (status = 422)))]
pub async fn promote(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<PromoteRequest>,
) -> ApiResult<Json<StageChange>> {
    let me = db.user;
    db.run(async |tx| {
        let model = visible_model(tx, id).await?;
        let target = visible_version(tx, id, p.version).await?;
        let current: Option<ModelVersion> =
            repo::resolve_version(tx, id, &VersionRef::Production).await?;
        if p.stage == ModelStage::Production {
            if current.as_ref().is_some_and(|c| c.id == target.id) {
                return Err(ApiError::Conflict(format!(
                    "version {} is already in production",
                    p.version
                )));
            }
            if let (Some(margin), Some(champion)) = (p.min_improvement, &current) {
                if !(0.0..1.0).contains(&margin) {
                    return Err(ApiError::validation(
                        "min_improvement",
                        "a fraction in 0..1",
                    ));
                }
                let (Some(new), Some(old)) = (target.cv_rmse, champion.cv_rmse) else {
                    return Err(ApiError::Conflict(
                        "champion/challenger needs the cross-validated RMSE of both versions".into(),
                    ));
                };
                if new > old * (1.0 - margin) {
                    return Err(ApiError::Conflict(format!(
                        "version {} (CV RMSE {new:.4}) does not beat production version {} (CV RMSE {old:.4}) by {:.1} %",
                        target.version,
                        champion.version,
                        margin * 100.0
                    )));
                }
            }
        }
        repo::set_stage(tx, id, target.id, p.stage).await?;
        let previous = current
            .filter(|c| c.id != target.id && p.stage == ModelStage::Production)
            .map(|c| c.version);
        repo::audit(
            tx,
            me,
            "model.promoted",
            id,
            serde_json::json!({
                "version": target.version,
                "from_stage": target.stage,
                "to_stage": p.stage,
                "previous_production": previous,
                "min_improvement": p.min_improvement,
            }),
        )
        .await?;
        let model = visible_model(tx, model.id).await?;
        Ok(Json(StageChange {
            production: model.production_version,
            model,
            previous,
        }))
    })
    .await
}

/// Return production to the version that was there before, in one transaction with its audit
/// entry. The version being replaced is archived.
#[utoipa::path(post, path = "/api/v1/models/{id}/rollback", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = StageChange), (status = 404), (status = 409)))]
pub async fn rollback(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<StageChange>> {
    let me = db.user;
    db.run(async |tx| {
        visible_model(tx, id).await?;
        let current: Option<VersionHandle> =
            repo::resolve_version(tx, id, &VersionRef::Production).await?;
        let back_to: VersionHandle = repo::previous_production(tx, id).await?.ok_or_else(|| {
            ApiError::Conflict("no earlier production version to roll back to".into())
        })?;
        repo::set_stage(tx, id, back_to.id, ModelStage::Production).await?;
        repo::audit(
            tx,
            me,
            "model.rolled_back",
            id,
            serde_json::json!({
                "from_version": current.as_ref().map(|c| c.version),
                "to_version": back_to.version,
            }),
        )
        .await?;
        let model = visible_model(tx, id).await?;
        Ok(Json(StageChange {
            production: model.production_version,
            model,
            previous: current.map(|c| c.version),
        }))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasRequest {
    pub version: i64,
}

/// Point an alias (e.g. `champion`, `candidate`) at a version.
#[utoipa::path(put, path = "/api/v1/models/{id}/aliases/{alias}", tag = "models", request_body = AliasRequest, security(("bearer" = [])),
    responses((status = 204), (status = 404), (status = 422)))]
pub async fn set_alias(
    db: UserDb,
    Path((id, alias)): Path<(Uuid, String)>,
    ApiJson(a): ApiJson<AliasRequest>,
) -> ApiResult<StatusCode> {
    let me = db.user;
    let valid = alias.len() <= 63
        && alias.starts_with(|c: char| c.is_ascii_lowercase())
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid || alias == "production" {
        return Err(ApiError::validation(
            "alias",
            "lower-case letters, digits, - and _, starting with a letter (not `production`)",
        ));
    }
    db.run(async |tx| {
        let v = visible_version(tx, id, a.version).await?;
        repo::set_alias(tx, me, id, &alias, v.id).await?;
        repo::audit(
            tx,
            me,
            "model.alias_set",
            id,
            serde_json::json!({ "alias": alias, "version": a.version }),
        )
        .await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Who created, trained, promoted, rolled back or deleted what, newest first.
#[utoipa::path(get, path = "/api/v1/models/{id}/audit", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 404)))]
pub async fn audit_trail(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    caller.require_user()?;
    let mut tx = s.begin(&caller.identity).await?;
    visible_model(&mut tx, id).await?;
    tx.commit().await?;
    // The audit log is readable by service_role only; the caller has just shown they may read
    // this model, and only its entries are returned.
    Ok(Json(
        s.as_service(async |tx| repo::audit_trail(tx, id).await)
            .await?,
    ))
}

/// Start training (or a hyperparameter search, with `search`) on every experiment of the
/// model's property the caller can read. Returns the queued job; follow it with
/// `GET /api/v1/models/jobs/{job_id}` or its `/events` stream.
#[utoipa::path(post, path = "/api/v1/models/{id}/train", tag = "models", request_body = TrainRequest, security(("bearer" = [])),
    responses((status = 202, body = Job), (status = 404), (status = 422)))]
pub async fn train(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    ApiJson(request): ApiJson<TrainRequest>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let me = caller.require_user()?;
    request.check()?;
    let value = serde_json::to_value(&request).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let mut tx = s.begin(&caller.identity).await?;
    let model = visible_model(&mut tx, id).await?;
    let rows = cryo_db::repo::science::count_measurements(&mut tx, &model.property).await?;
    request.check_memory(rows as usize, s.settings.models.max_model_bytes)?;
    let job = repo::create_job(&mut tx, me, id, request.kind(), &value, None).await?;
    tx.commit().await?;
    s.jobs.notify_waiters();
    Ok((StatusCode::ACCEPTED, Json(job)))
}

#[utoipa::path(get, path = "/api/v1/models/{id}/jobs", tag = "models", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Job>)))]
pub async fn list_jobs(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Vec<Job>>> {
    db.run(async |tx| {
        let jobs = repo::list_jobs(tx, Some(id), p.page()).await?;
        Ok(Json(jobs))
    })
    .await
}

async fn visible_job(s: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Job> {
    let mut tx = s.begin(&caller.identity).await?;
    let job = repo::get_job(&mut tx, id).await?;
    tx.commit().await?;
    job.ok_or(ApiError::NotFound { what: JOB })
}

/// A job's state, progress (0–1) and stage.
#[utoipa::path(get, path = "/api/v1/models/jobs/{job_id}", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Job), (status = 404)))]
pub async fn get_job(
    State(s): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
) -> ApiResult<Json<Job>> {
    caller.require_user()?;
    Ok(Json(visible_job(&s, &caller, job_id).await?))
}

/// Stop a job: a queued one is cancelled at once, a running one at its next heartbeat.
#[utoipa::path(post, path = "/api/v1/models/jobs/{job_id}/cancel", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Job), (status = 403), (status = 404), (status = 409)))]
pub async fn cancel_job(
    State(s): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
) -> ApiResult<Json<Job>> {
    caller.require_user()?;
    let job = visible_job(&s, &caller, job_id).await?;
    if job.is_finished() {
        return Err(ApiError::Conflict(format!(
            "the job has already {}",
            job.state
        )));
    }
    let mut tx = s.begin(&caller.identity).await?;
    if !repo::request_cancel(&mut tx, job_id).await? {
        return Err(refused(true, JOB));
    }
    tx.commit().await?;
    // The requester asked; a queued job never starts.
    s.as_service(async |tx| repo::cancel_if_queued(tx, job_id).await)
        .await?;
    Ok(Json(visible_job(&s, &caller, job_id).await?))
}

/// Queue a failed or cancelled job again, as a new job with the same request.
#[utoipa::path(post, path = "/api/v1/models/jobs/{job_id}/retry", tag = "models", security(("bearer" = [])),
    responses((status = 202, body = Job), (status = 404), (status = 409)))]
pub async fn retry_job(
    State(s): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let me = caller.require_user()?;
    let job = visible_job(&s, &caller, job_id).await?;
    if !matches!(job.state.as_str(), "failed" | "cancelled") {
        return Err(ApiError::Conflict(format!(
            "only failed or cancelled jobs are retried; this one is {}",
            job.state
        )));
    }
    let mut tx = s.begin(&caller.identity).await?;
    let retry = repo::create_job(
        &mut tx,
        me,
        job.model_id,
        &job.kind,
        &job.request.0,
        Some(job.id),
    )
    .await?;
    tx.commit().await?;
    s.jobs.notify_waiters();
    Ok((StatusCode::ACCEPTED, Json(retry)))
}

/// Server-sent events: a `job` event with the job whenever its progress or state changes,
/// ending after the final state.
#[utoipa::path(get, path = "/api/v1/models/jobs/{job_id}/events", tag = "models", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of `job` events"), (status = 404)))]
pub async fn job_events(
    State(s): State<AppState>,
    caller: Caller,
    Path(job_id): Path<Uuid>,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>> {
    caller.require_user()?;
    let first = visible_job(&s, &caller, job_id).await?;
    // (state, caller, last sent (state, progress, stage), finished)
    let start = (
        s,
        caller,
        None::<(String, f64, Option<String>)>,
        Some(first),
    );
    let stream = futures_util::stream::unfold(start, move |(s, caller, last, next)| async move {
        let mut job = next;
        loop {
            let current = match job.take() {
                Some(j) => j,
                None => {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    match visible_job(&s, &caller, job_id).await {
                        Ok(j) => j,
                        Err(_) => return None,
                    }
                }
            };
            let key = (
                current.state.clone(),
                current.progress,
                current.stage.clone(),
            );
            if last.as_ref() == Some(&key) {
                if current.is_finished() {
                    return None;
                }
                continue;
            }
            let event = Event::default()
                .event("job")
                .json_data(&current)
                .unwrap_or_else(|_| Event::default().event("job"));
            return Some((Ok(event), (s, caller, Some(key), None)));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Predict with a version (production by default) for a SMILES, a molecule, a mixture or a
/// batch: value, conformal interval at `level`, version and feature importances. Inputs that
/// cannot be featurised get an `error` and the rest are still answered.
#[utoipa::path(post, path = "/api/v1/models/{id}/predict", tag = "models", request_body = PredictRequest, security(("bearer" = [])),
    responses((status = 200, body = PredictResponse), (status = 404), (status = 409), (status = 422), (status = 503)))]
pub async fn predict(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<PredictRequest>,
) -> ApiResult<Json<PredictResponse>> {
    let me = caller.require_user()?;
    Ok(Json(cryo_app::predict::predict(&s, me, id, p).await?))
}

/// The property type the original's mixture predictions estimated from a table when no model
/// existed.
const TG_PROPERTY: &str = "Glass Transition Temperature";

#[derive(Debug, Serialize, ToSchema)]
pub struct TgComponentEstimate {
    pub smiles: String,
    pub name: Option<String>,
    /// Molar share in the mixture.
    pub share: f64,
    pub tg_celsius: f64,
    #[schema(value_type = String)]
    pub source: cryo_core::score::TgSource,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TgReferenceEstimate {
    pub tg_celsius: f64,
    pub components: Vec<TgComponentEstimate>,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyPrediction {
    pub property: String,
    /// `model` (the visible model with a production version) or `reference_table` (Tg only,
    /// when no model is in production: no interval, a rough estimate).
    pub source: String,
    pub prediction: Option<PredictResponse>,
    pub reference_estimate: Option<TgReferenceEstimate>,
}

/// Predict a property with whichever visible model has a production version for it: the
/// original's vitrification, Tg, membrane-protection and protein-stabilisation predictions are
/// registry models of those property types. With no Tg model in production, a mixture's Tg is
/// estimated from the reference table (molar-share-weighted), and flagged as such.
#[utoipa::path(post, path = "/api/v1/models/by-property/{property}/predict", tag = "models", request_body = PredictRequest, security(("bearer" = [])),
    responses((status = 200, body = PropertyPrediction), (status = 404), (status = 409), (status = 422)))]
pub async fn predict_property(
    State(s): State<AppState>,
    caller: Caller,
    Path(property): Path<String>,
    ApiJson(p): ApiJson<PredictRequest>,
) -> ApiResult<Json<PropertyPrediction>> {
    caller.require_user()?;
    if p.version.is_some() || p.alias.is_some() {
        return Err(ApiError::validation(
            "version",
            "by property, the production version answers; use /api/v1/models/{id}/predict to name one",
        ));
    }
    let mut tx = s.begin(&caller.identity).await?;
    let candidates: Vec<Model> = repo::list_models(
        &mut tx,
        Some(&property),
        cryo_db::repo::Page::new(None, None),
    )
    .await?
    .into_iter()
    .filter(|m| m.production_version.is_some())
    .collect();
    let mixture = p.mixture_id;
    let estimate = match (candidates.len(), mixture) {
        (0, Some(id)) if property == TG_PROPERTY => Some(tg_reference_estimate(&mut tx, id).await?),
        _ => None,
    };
    tx.commit().await?;
    if let Some(estimate) = estimate {
        return Ok(Json(PropertyPrediction {
            property,
            source: "reference_table".into(),
            prediction: None,
            reference_estimate: Some(estimate),
        }));
    }
    let model = match candidates.as_slice() {
        [one] => one.id,
        [] => {
            return Err(ApiError::Conflict(format!(
                "no visible model of {property:?} has a production version"
            )));
        }
        many => {
            let ids: Vec<String> = many
                .iter()
                .map(|m| format!("{} ({})", m.id, m.name))
                .collect();
            return Err(ApiError::Conflict(format!(
                "several models of {property:?} are in production; name one: {}",
                ids.join(", ")
            )));
        }
    };
    let prediction = cryo_app::predict::predict(&s, caller.require_user()?, model, p).await?;
    Ok(Json(PropertyPrediction {
        property,
        source: "model".into(),
        prediction: Some(prediction),
        reference_estimate: None,
    }))
}

async fn tg_reference_estimate(tx: &mut Conn, mixture: Uuid) -> ApiResult<TgReferenceEstimate> {
    use cryo_core::units::{CompoundProps, Concentration, molar_shares};
    cryo_db::repo::science::get_mixture(tx, mixture)
        .await?
        .ok_or(ApiError::NotFound { what: "mixture" })?;
    let components = cryo_db::repo::science::components(tx, mixture).await?;
    let parsed = components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let unit = c.concentration_unit.parse().map_err(|e| {
                ApiError::validation(
                    format!("components[{i}].concentration_unit"),
                    format!("{e}"),
                )
            })?;
            let concentration = Concentration::new(c.concentration, unit).map_err(|e| {
                ApiError::validation(format!("components[{i}].concentration"), e.to_string())
            })?;
            Ok((
                concentration,
                CompoundProps {
                    molar_mass: c.molecular_weight,
                    density: c.density_g_per_ml,
                },
            ))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let shares = molar_shares(&parsed).map_err(|e| {
        ApiError::validation("components", format!("units cannot be reconciled: {e}"))
    })?;
    let mut out = Vec::with_capacity(components.len());
    for (c, share) in components.iter().zip(shares) {
        let (tg, source) = cryo_core::score::component_tg(
            &c.canonical_smiles,
            c.molecule_name.as_deref(),
            c.molecular_weight,
        )
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "no Tg model in production, and {} is neither in the reference table nor has a molecular weight",
                c.canonical_smiles
            ))
        })?;
        out.push(TgComponentEstimate {
            smiles: c.canonical_smiles.clone(),
            name: c.molecule_name.clone(),
            share,
            tg_celsius: tg,
            source,
        });
    }
    let pairs: Vec<(f64, f64)> = out.iter().map(|c| (c.share, c.tg_celsius)).collect();
    let tg = cryo_core::score::tg_fallback_estimate(&pairs)
        .ok_or_else(|| ApiError::Conflict("the mixture has no components".into()))?;
    Ok(TgReferenceEstimate {
        tg_celsius: tg,
        components: out,
        note: "No Tg model is in production: a molar-share-weighted mean of tabulated component values (−150 + 0.5·MW when a component is not tabulated). No interval; train and promote a Tg model for a calibrated prediction.".into(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// New data: inputs with measured values. Without it, the version is evaluated on the
    /// experiments of its property the caller can read that were not in its training set.
    pub data: Option<Vec<LabelledInput>>,
    /// Interval level for coverage, default 0.9.
    pub level: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelledInput {
    pub smiles: Option<String>,
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub version: i64,
    /// `provided` or `held_out` (experiments not used in training).
    pub source: String,
    pub level: f64,
    /// n, RMSE, MAE, R², Spearman, interval coverage and mean width.
    #[schema(value_type = Object)]
    pub metrics: cryo_ml::Metrics,
    /// Rows that could not be evaluated, with the reason.
    pub skipped: Vec<String>,
}

/// Score a version on new data, or on held-out experiments it was not trained on.
#[utoipa::path(post, path = "/api/v1/models/{id}/versions/{version}/evaluate", tag = "models", request_body = EvaluateRequest, security(("bearer" = [])),
    responses((status = 200, body = Evaluation), (status = 404), (status = 422), (status = 503)))]
pub async fn evaluate(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(Uuid, i64)>,
    ApiJson(e): ApiJson<EvaluateRequest>,
) -> ApiResult<Json<Evaluation>> {
    caller.require_user()?;
    let level = checked_level(e.level)?;
    let mut tx = s.begin(&caller.identity).await?;
    let model = visible_model(&mut tx, id).await?;
    let v = visible_version(&mut tx, id, version).await?;
    let loaded = s.registry.load(&mut tx, &v.handle()).await?;
    let mut skipped = Vec::new();
    let mut rows = Vec::new();
    let mut observed = Vec::new();
    let source = match &e.data {
        Some(data) => {
            if data.len() > s.settings.models.max_batch {
                return Err(ApiError::validation(
                    "data",
                    format!("at most {} rows", s.settings.models.max_batch),
                ));
            }
            let inputs: Vec<PredictInput> = data
                .iter()
                .map(|d| PredictInput {
                    smiles: d.smiles.clone(),
                    molecule_id: d.molecule_id,
                    mixture_id: d.mixture_id,
                })
                .collect();
            let featurised = featurise_all(&mut tx, &s.compute, loaded.layout, &inputs).await?;
            for ((i, d), row) in data.iter().enumerate().zip(featurised) {
                match row {
                    Ok(r) if d.value.is_finite() => {
                        rows.push(r);
                        observed.push(d.value);
                    }
                    Ok(_) => skipped.push(format!("data[{i}]: value is not a finite number")),
                    Err(why) => skipped.push(format!("data[{i}]: {why}")),
                }
            }
            "provided"
        }
        None => {
            let set = match loaded.layout {
                cryo_app::registry::Layout::MixtureAware(set) => set,
                cryo_app::registry::Layout::MoleculesOnly(_) => {
                    return Err(ApiError::validation(
                        "data",
                        "this version was trained outside the registry; give data to evaluate it on",
                    ));
                }
            };
            let gathered = cryo_app::training::gather(&mut tx, &model.property).await?;
            let held = s.compute.run(move |_| gathered.featurise(set)).await?;
            let trained: std::collections::HashSet<&str> = loaded
                .model
                .dataset
                .ids
                .iter()
                .map(String::as_str)
                .collect();
            for (i, sample_id) in held.dataset.ids.iter().enumerate() {
                if trained.contains(sample_id.as_str()) {
                    continue;
                }
                rows.push(held.dataset.x.row(i).to_vec());
                observed.push(held.dataset.y[i]);
            }
            "held_out"
        }
    };
    tx.commit().await?;
    if rows.is_empty() {
        return Err(ApiError::validation(
            "data",
            if source == "held_out" {
                "every visible experiment of this property was used in training; give new data"
            } else {
                "no usable rows"
            },
        ));
    }
    let answers = s
        .compute
        .run(move |_| predict_rows(&loaded, rows.into_iter().map(Ok).collect(), level))
        .await?;
    let (predicted, intervals): (Vec<f64>, Vec<cryo_ml::Interval>) =
        answers.into_iter().filter_map(Result::ok).unzip();
    Ok(Json(Evaluation {
        version,
        source: source.into(),
        level,
        metrics: cryo_ml::Metrics::compute(&observed, &predicted, Some(&intervals)),
        skipped,
    }))
}
