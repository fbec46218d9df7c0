//! Administrative endpoints: service_role tokens or users whose global role is admin.

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cryo_app::AppError;
use cryo_app::system::{AdminService, BackupStatus};
use cryo_db::backup::{BackupError, Manifest};
use cryo_db::repo::alerts;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_backups, create_backup))
        .routes(routes!(backup_status))
        .routes(routes!(verify_backup))
        .routes(routes!(database_health))
        .routes(routes!(database_fix))
        .routes(routes!(list_alerts))
        .routes(routes!(list_silences, create_silence))
        .routes(routes!(expire_silence))
}

fn admin(state: &AppState, caller: &Caller) -> ApiResult<Arc<AdminService>> {
    require_admin(caller)?;
    state.admin.clone().ok_or_else(|| {
        AppError::Unavailable("backups are not configured on this server".into()).into()
    })
}

fn backup_error(e: BackupError) -> AppError {
    match e {
        BackupError::NotFound(_) => AppError::NotFound { what: "backup" },
        other => AppError::Unavailable(other.to_string()),
    }
}

/// Valid backups, newest first.
#[utoipa::path(get, path = "/api/v1/system/backups", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = Vec<Manifest>), (status = 401), (status = 403)))]
pub async fn list_backups(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<Manifest>>> {
    let service = admin(&s, &caller)?;
    Ok(Json(service.store.list().map_err(backup_error)?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateBackup {
    /// Labelled backups are never pruned.
    pub label: Option<String>,
}

/// Start a backup in the background; poll `/api/v1/system/backups/status`.
#[utoipa::path(post, path = "/api/v1/system/backups", tag = "system", request_body = CreateBackup, security(("bearer" = [])),
    responses((status = 202, body = BackupStatus), (status = 409, description = "A backup is already running")))]
pub async fn create_backup(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBackup>,
) -> ApiResult<(StatusCode, Json<BackupStatus>)> {
    let service = admin(&s, &caller)?;
    if service.status().running {
        return Err(AppError::Conflict("a backup is already running".into()).into());
    }
    let label = body.label;
    let task = service.clone();
    tokio::spawn(async move {
        let _ = task.run(label).await;
    });
    // Give the task a moment to take the lock, so the status says "running".
    tokio::task::yield_now().await;
    Ok((StatusCode::ACCEPTED, Json(service.status())))
}

/// The last run's outcome, whether one is running, and the schedule.
#[utoipa::path(get, path = "/api/v1/system/backups/status", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = BackupStatus)))]
pub async fn backup_status(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<BackupStatus>> {
    Ok(Json(admin(&s, &caller)?.status()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    pub id: String,
    pub ok: bool,
    pub detail: String,
}

/// Checksum, real restore into a scratch database, row-count comparison.
#[utoipa::path(post, path = "/api/v1/system/backups/{id}/verify", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = VerifyResult), (status = 404)))]
pub async fn verify_backup(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<VerifyResult>> {
    let service = admin(&s, &caller)?;
    match service.verify(&id).await {
        Ok(m) => Ok(Json(VerifyResult {
            id: m.id,
            ok: true,
            detail: format!("{} tables' row counts match", m.table_counts.len()),
        })),
        Err(BackupError::NotFound(_)) => Err(AppError::NotFound { what: "backup" }.into()),
        Err(e @ (BackupError::Corrupt { .. } | BackupError::Mismatch { .. })) => {
            Ok(Json(VerifyResult {
                id,
                ok: false,
                detail: e.to_string(),
            }))
        }
        Err(e) => Err(backup_error(e).into()),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HealthQuery {
    /// Comma-separated check names (default: all), e.g. `connectivity,orphans`.
    pub checks: Option<String>,
    /// `json` (default), `markdown` or `html` (a page with a chart).
    pub format: Option<String>,
}

/// Run the database health checks (results reused for `health.cache_seconds`).
#[utoipa::path(get, path = "/api/v1/system/database/health", tag = "system", params(HealthQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "`{cached, report}`: overall status and every check with value, threshold and recommendation"),
              (status = 401), (status = 403), (status = 422, description = "An unknown check name")))]
pub async fn database_health(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<HealthQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let service = admin(&s, &caller)?;
    let only = AdminService::checks_named(q.checks.as_deref())?;
    let (report, cached) = service
        .health(only)
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    Ok(match q.format.as_deref().unwrap_or("json") {
        "json" => Json(serde_json::json!({"cached": cached, "report": &*report})).into_response(),
        "markdown" => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/markdown; charset=utf-8",
            )],
            cryo_app::health_view::markdown(&report),
        )
            .into_response(),
        "html" => axum::response::Html(cryo_app::health_view::html(&report)).into_response(),
        other => {
            return Err(ApiError::validation(
                "format",
                format!("{other:?}: expected json, markdown or html"),
            ));
        }
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FixRequest {
    /// `delete`, `nullify` or `quarantine`.
    pub strategy: String,
    /// Report what would be done and roll it back.
    #[serde(default)]
    pub dry_run: bool,
}

/// Repair referential integrity (admin only; a safety backup first; every action audited).
#[utoipa::path(post, path = "/api/v1/system/database/fix", tag = "system", request_body = FixRequest,
    security(("bearer" = [])),
    responses((status = 200, description = "The actions taken and the integrity report after them"),
              (status = 401), (status = 403), (status = 409, description = "The repair was refused; nothing changed"),
              (status = 422)))]
pub async fn database_fix(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<FixRequest>,
) -> ApiResult<Json<cryo_db::integrity::FixReport>> {
    let service = admin(&s, &caller)?;
    let strategy: cryo_db::integrity::Strategy = body
        .strategy
        .parse()
        .map_err(|e: String| ApiError::validation("strategy", e))?;
    let actor = match (&caller.claims, caller.identity.user_id) {
        (_, Some(user)) => format!("user:{user}"),
        (Some(_), None) => "service_role".to_string(),
        (None, None) => "anonymous".to_string(),
    };
    let report = service
        .fix_integrity(strategy, body.dry_run, &actor)
        .await
        .map_err(AppError::Conflict)?;
    tracing::info!(%actor, ?strategy, dry_run = body.dry_run, actions = report.actions.len(), "integrity fix via API");
    Ok(Json(report))
}

/// Admin check for what does not need the owner's connection (the alert outbox).
fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.claims.is_none() {
        return Err(ApiError::Unauthorized);
    }
    if !caller.is_admin() {
        return Err(AppError::Forbidden.into());
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertsView {
    /// Firing first.
    pub alerts: Vec<alerts::Alert>,
    /// The 100 most recent notifications and their delivery state.
    pub deliveries: Vec<alerts::Delivery>,
}

/// Alerts the application raised (failed backups and training, degraded health) and the
/// delivery of their notifications.
#[utoipa::path(get, path = "/api/v1/system/alerts", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = AlertsView), (status = 401), (status = 403)))]
pub async fn list_alerts(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<AlertsView>> {
    require_admin(&caller)?;
    let view = s
        .as_service(async |tx| {
            Ok(AlertsView {
                alerts: alerts::list_alerts(tx).await?,
                deliveries: alerts::recent_deliveries(tx, 100).await?,
            })
        })
        .await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Alerts whose fingerprint starts with this, e.g. `backup_failed` or `health:`.
    pub matcher: String,
    /// How long, in minutes (at most 30 days).
    pub minutes: f64,
    /// Why (required).
    pub comment: String,
}

/// Silence matching alerts until the silence expires.
#[utoipa::path(post, path = "/api/v1/system/silences", tag = "system", request_body = NewSilence, security(("bearer" = [])),
    responses((status = 201, body = alerts::Silence), (status = 422)))]
pub async fn create_silence(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(n): ApiJson<NewSilence>,
) -> ApiResult<(StatusCode, Json<alerts::Silence>)> {
    require_admin(&caller)?;
    if n.matcher.trim().is_empty() || n.matcher.len() > 200 {
        return Err(ApiError::validation("matcher", "1 to 200 characters"));
    }
    if !(n.minutes > 0.0 && n.minutes <= 30.0 * 24.0 * 60.0) {
        return Err(ApiError::validation(
            "minutes",
            "more than 0, at most 43200 (30 days)",
        ));
    }
    if n.comment.trim().is_empty() || n.comment.len() > 1000 {
        return Err(ApiError::validation(
            "comment",
            "say why, in at most 1000 characters",
        ));
    }
    let by = caller.user_id();
    let silence = s
        .as_service(async |tx| {
            alerts::create_silence(tx, n.matcher.trim(), n.comment.trim(), n.minutes, by).await
        })
        .await?;
    Ok((StatusCode::CREATED, Json(silence)))
}

#[utoipa::path(get, path = "/api/v1/system/silences", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = Vec<alerts::Silence>)))]
pub async fn list_silences(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<alerts::Silence>>> {
    require_admin(&caller)?;
    Ok(Json(s.as_service(alerts::list_silences).await?))
}

/// End a silence now (it stays listed, expired).
#[utoipa::path(delete, path = "/api/v1/system/silences/{id}", tag = "system", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn expire_silence(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    if s.as_service(async |tx| alerts::expire_silence(tx, id).await)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound {
            what: "active silence",
        }
        .into())
    }
}
