//! Administrative endpoints: service_role tokens or users whose global role is admin.

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use crate::system::{BackupService, BackupStatus};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cryo_db::backup::{BackupError, Manifest};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

fn admin(state: &AppState, caller: &Caller) -> ApiResult<Arc<BackupService>> {
    if caller.claims.is_none() {
        return Err(ApiError::Unauthorized);
    }
    if !caller.is_admin() {
        return Err(ApiError::Forbidden);
    }
    state
        .backups
        .clone()
        .ok_or_else(|| ApiError::Unavailable("backups are not configured on this server".into()))
}

fn backup_error(e: BackupError) -> ApiError {
    match e {
        BackupError::NotFound(_) => ApiError::NotFound { what: "backup" },
        other => ApiError::Unavailable(other.to_string()),
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
        return Err(ApiError::Conflict("a backup is already running".into()));
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
        Err(BackupError::NotFound(_)) => Err(ApiError::NotFound { what: "backup" }),
        Err(e @ (BackupError::Corrupt { .. } | BackupError::Mismatch { .. })) => {
            Ok(Json(VerifyResult {
                id,
                ok: false,
                detail: e.to_string(),
            }))
        }
        Err(e) => Err(backup_error(e)),
    }
}
