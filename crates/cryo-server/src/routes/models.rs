//! `/api/v1/models`: the model registry. Models per target property, immutable versions with
//! stages and aliases, promotion and rollback with an audit trail; each handler calls one use
//! case in [`cryo_app::models`]. Training jobs are in [`super::jobs`], prediction and
//! evaluation in [`super::predict`].

use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Html;
use cryo_app::models::{self, ModelDetail, NewModel, PromoteRequest, StageChange, Validation};
use cryo_db::repo::Page;
use cryo_db::repo::models::{AuditEntry, Model, ModelVersion};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_models, create_model))
        .routes(routes!(get_model, delete_model))
        .routes(routes!(get_version, delete_version))
        .routes(routes!(version_report))
        .routes(routes!(version_validation))
        .routes(routes!(promote))
        .routes(routes!(rollback))
        .routes(routes!(set_alias))
        .routes(routes!(audit_trail))
}

/// Register a model for a target property (versions come from training jobs or imports).
#[utoipa::path(post, path = "/api/v1/models", tag = "models", request_body = NewModel, security(("bearer" = [])),
    responses((status = 201, body = Model), (status = 409), (status = 422)))]
pub async fn create_model(
    db: UserDb,
    ApiJson(m): ApiJson<NewModel>,
) -> ApiResult<(StatusCode, Json<Model>)> {
    Ok((
        StatusCode::CREATED,
        Json(models::create(&db.actor(), m).await?),
    ))
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
    let page = Page::new(f.limit, f.offset);
    Ok(Json(
        models::list(&db.actor(), f.property.as_deref(), page).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = ModelDetail), (status = 404)))]
pub async fn get_model(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<ModelDetail>> {
    Ok(Json(models::detail(&db.actor(), id).await?))
}

/// Delete a model and all its versions; refused while a version is in production.
#[utoipa::path(delete, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete_model(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    models::delete(&db.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/models/{id}/versions/{version}", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = ModelVersion), (status = 404)))]
pub async fn get_version(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<Json<ModelVersion>> {
    Ok(Json(models::version(&db.actor(), id, version).await?))
}

/// A version's validation report as a self-contained HTML page: held-out predictions against
/// measurements with their intervals (parity plot), residuals, feature importances, per-fold
/// metrics and the diagnosis.
#[utoipa::path(get, path = "/api/v1/models/{id}/versions/{version}/report", tag = "models", security(("bearer" = [])),
    responses((status = 200, content_type = "text/html", description = "HTML report"), (status = 404), (status = 409)))]
pub async fn version_report(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<Html<String>> {
    Ok(Html(models::report_html(&db.actor(), id, version).await?))
}

/// A version's validation as data (held-out predictions with intervals, per-fold metrics,
/// calibration curve, learning curve, importances), for charts.
#[utoipa::path(get, path = "/api/v1/models/{id}/versions/{version}/validation", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Validation), (status = 404), (status = 409)))]
pub async fn version_validation(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<Json<Validation>> {
    Ok(Json(models::validation(&db.actor(), id, version).await?))
}

/// Delete a version. Only archived versions can be deleted (enforced by the database too).
#[utoipa::path(delete, path = "/api/v1/models/{id}/versions/{version}", tag = "models", security(("bearer" = [])),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete_version(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<StatusCode> {
    models::delete_version(&db.actor(), id, version).await?;
    Ok(StatusCode::NO_CONTENT)
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
    Ok(Json(models::promote(&db.actor(), id, p).await?))
}

/// Return production to the version that was there before, in one transaction with its audit
/// entry. The version being replaced is archived.
#[utoipa::path(post, path = "/api/v1/models/{id}/rollback", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = StageChange), (status = 404), (status = 409)))]
pub async fn rollback(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<StageChange>> {
    Ok(Json(models::rollback(&db.actor(), id).await?))
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
    models::set_alias(&db.actor(), id, &alias, a.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who created, trained, promoted, rolled back or deleted what, newest first.
#[utoipa::path(get, path = "/api/v1/models/{id}/audit", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 404)))]
pub async fn audit_trail(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(models::audit_trail(&db.actor(), id).await?))
}
