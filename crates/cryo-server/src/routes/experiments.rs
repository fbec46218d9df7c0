//! Measurements, their lab verification, stored predictions, the comparison of the two and the
//! unified score. Each handler calls one use case in [`cryo_app::experiments`].

use crate::error::{ApiError, ApiJson, ApiResult};
use crate::extract::{Db, UserDb};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use cryo_app::experiments::{
    self, Comparison, ExperimentInput, PredictionInput, UnifiedView, subject,
};
use cryo_app::rows;
use cryo_core::ident::VerificationStatus;
use cryo_core::score::Context;
use cryo_db::repo::science::{
    self as repo, Experiment, Prediction, PropertyType, Subject, Verification,
};
use cryo_db::repo::{Entity, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_experiments, create_experiment))
        .routes(routes!(get_experiment, delete_experiment))
        .routes(routes!(request_verification))
        .routes(routes!(list_verifications))
        .routes(routes!(decide))
        .routes(routes!(list_predictions, create_prediction))
        .routes(routes!(compare))
        .routes(routes!(list_property_types))
        .routes(routes!(unified))
}

/// Record a measurement on a molecule or a mixture. A numeric value in another unit of the same
/// dimension (K or °F for a °C property, kJ/mol for kcal/mol, fraction for %) is converted to
/// the property's unit; the value and unit as sent are kept in `raw_value` and `raw_unit`.
#[utoipa::path(post, path = "/api/v1/experiments", tag = "experiments", request_body = ExperimentInput, security(("bearer" = [])),
    responses((status = 201, body = Experiment), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_experiment(
    db: UserDb,
    ApiJson(input): ApiJson<ExperimentInput>,
) -> ApiResult<(StatusCode, Json<Experiment>)> {
    let e = experiments::record(&db.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SubjectFilter {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExperimentFilter {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    /// Only experiments that followed this protocol.
    pub protocol_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/experiments", tag = "experiments", params(ExperimentFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Experiment>)))]
pub async fn list_experiments(
    db: UserDb,
    Query(f): Query<ExperimentFilter>,
) -> ApiResult<Json<Vec<Experiment>>> {
    let page = Page::new(f.limit, f.offset);
    let rows = db
        .actor()
        .read(async |tx| {
            repo::list_experiments(tx, f.molecule_id, f.mixture_id, f.protocol_id, page).await
        })
        .await?;
    Ok(Json(rows))
}

#[utoipa::path(get, path = "/api/v1/experiments/{id}", tag = "experiments", security(("bearer" = [])),
    responses((status = 200, body = Experiment), (status = 404)))]
pub async fn get_experiment(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Experiment>> {
    Ok(Json(experiments::get(&db.actor(), id).await?))
}

#[utoipa::path(delete, path = "/api/v1/experiments/{id}", tag = "experiments", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_experiment(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Experiment, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationRequest {
    /// Who will verify: someone who shares a team with the requester (they may then read this
    /// measurement).
    pub verifier_id: Uuid,
    pub equipment_used: Option<String>,
    pub comments: Option<String>,
}

/// Ask a colleague to verify a measurement.
#[utoipa::path(post, path = "/api/v1/experiments/{id}/verification", tag = "experiments", request_body = VerificationRequest,
    security(("bearer" = [])), responses((status = 201, body = Verification), (status = 404)))]
pub async fn request_verification(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(r): ApiJson<VerificationRequest>,
) -> ApiResult<(StatusCode, Json<Verification>)> {
    let v = experiments::request_verification(
        &db.actor(),
        id,
        r.verifier_id,
        r.equipment_used.as_deref(),
        r.comments.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// What a verifier may decide (a verification starts pending).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Verified,
    Rejected,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionInput {
    pub status: Decision,
    pub equipment_used: Option<String>,
    pub comments: Option<String>,
}

/// The named verifier records the decision.
#[utoipa::path(patch, path = "/api/v1/verifications/{id}", tag = "experiments", request_body = DecisionInput,
    security(("bearer" = [])), responses((status = 200, body = Verification), (status = 404)))]
pub async fn decide(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(d): ApiJson<DecisionInput>,
) -> ApiResult<Json<Verification>> {
    let status = match d.status {
        Decision::Verified => VerificationStatus::Verified,
        Decision::Rejected => VerificationStatus::Rejected,
    };
    let v = experiments::decide(
        &db.actor(),
        id,
        status,
        d.equipment_used.as_deref(),
        d.comments.as_deref(),
    )
    .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VerificationFilter {
    /// pending, verified or rejected.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Verifications assigned to or requested by the caller (the verification queue).
#[utoipa::path(get, path = "/api/v1/verifications", tag = "experiments", params(VerificationFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Verification>)))]
pub async fn list_verifications(
    db: UserDb,
    Query(f): Query<VerificationFilter>,
) -> ApiResult<Json<Vec<Verification>>> {
    let status = f
        .status
        .as_deref()
        .map(str::parse::<VerificationStatus>)
        .transpose()
        .map_err(cryo_app::AppError::from)?;
    let (me, page) = (db.user, Page::new(f.limit, f.offset));
    let rows = db
        .actor()
        .read(async |tx| repo::list_verifications(tx, me, status, page).await)
        .await?;
    Ok(Json(rows))
}

/// Store an externally made prediction (method "CryoProtect Model", version 1).
#[utoipa::path(post, path = "/api/v1/predictions", tag = "predictions", request_body = PredictionInput, security(("bearer" = [])),
    responses((status = 201, body = Prediction), (status = 422)))]
pub async fn create_prediction(
    db: UserDb,
    ApiJson(p): ApiJson<PredictionInput>,
) -> ApiResult<(StatusCode, Json<Prediction>)> {
    let stored = experiments::store_prediction(&db.actor(), p).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

#[utoipa::path(get, path = "/api/v1/predictions", tag = "predictions", params(SubjectFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Prediction>)))]
pub async fn list_predictions(
    db: UserDb,
    Query(f): Query<SubjectFilter>,
) -> ApiResult<Json<Vec<Prediction>>> {
    let subject = subject(f.molecule_id, f.mixture_id)?;
    let page = Page::new(f.limit, f.offset);
    let rows = db
        .actor()
        .read(async |tx| repo::list_predictions(tx, subject, page).await)
        .await?;
    Ok(Json(rows))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CompareQuery {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    /// Property-type name.
    pub property: String,
}

/// The latest prediction against the latest measurement of a property.
#[utoipa::path(get, path = "/api/v1/compare", tag = "predictions", params(CompareQuery), security(("bearer" = [])),
    responses((status = 200, body = Comparison), (status = 422)))]
pub async fn compare(db: UserDb, Query(q): Query<CompareQuery>) -> ApiResult<Json<Comparison>> {
    let subject = subject(q.molecule_id, q.mixture_id)?;
    Ok(Json(
        experiments::compare(&db.actor(), subject, &q.property).await?,
    ))
}

/// Property types: what experiments measure and models predict (name, units, data type).
#[utoipa::path(get, path = "/api/v1/property-types", tag = "experiments",
    responses((status = 200, body = Vec<PropertyType>)))]
pub async fn list_property_types(db: Db) -> ApiResult<Json<Vec<PropertyType>>> {
    let rows = db
        .actor()
        .read(async |tx| repo::list_property_types(tx).await)
        .await?;
    Ok(Json(rows))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UnifiedQuery {
    /// general, cell_preservation, organ_preservation, long_term_storage or sensitive_tissues.
    #[param(inline)]
    pub context: Option<Context>,
}

/// Context-weighted unified score of a molecule or mixture: efficacy (its cryoprotection
/// score), toxicity (not yet available, reported as missing) and Tg against the context's window.
#[utoipa::path(get, path = "/api/v1/unified/{kind}/{id}", tag = "molecules", params(UnifiedQuery),
    responses((status = 200, body = UnifiedView), (status = 404)))]
pub async fn unified(
    db: Db,
    Path((kind, id)): Path<(String, Uuid)>,
    Query(q): Query<UnifiedQuery>,
) -> ApiResult<Json<UnifiedView>> {
    let subject = match kind.as_str() {
        "molecule" => Subject::Molecule(id),
        "mixture" => Subject::Mixture(id),
        _ => return Err(ApiError::validation("kind", "molecule or mixture")),
    };
    let context = q.context.unwrap_or(Context::General);
    Ok(Json(
        experiments::unified(&db.actor(), subject, context).await?,
    ))
}
