//! Prediction with a stored version (by model, or by property with the Tg reference-table
//! fallback) and evaluation on new or held-out data; each handler calls one use case in
//! [`cryo_app::predict`] or [`cryo_app::evaluate`].

use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::Path;
use cryo_app::evaluate::{self, EvaluateRequest, Evaluation};
use cryo_app::predict::{self, PredictRequest, PredictResponse, PropertyPrediction};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(predict))
        .routes(routes!(predict_property))
        .routes(routes!(evaluate))
}

/// Predict with a version (production by default) for a SMILES, a molecule, a mixture or a
/// batch: value, conformal interval at `level`, version and feature importances. Inputs that
/// cannot be featurised get an `error` and the rest are still answered.
#[utoipa::path(post, path = "/api/v1/models/{id}/predict", tag = "models", request_body = PredictRequest, security(("bearer" = [])),
    responses((status = 200, body = PredictResponse), (status = 404), (status = 409), (status = 422), (status = 503)))]
pub async fn predict(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<PredictRequest>,
) -> ApiResult<Json<PredictResponse>> {
    Ok(Json(predict::predict(&db.actor(), id, p).await?))
}

/// Predict a property with whichever visible model has a production version for it: the
/// original's vitrification, Tg, membrane-protection and protein-stabilisation predictions are
/// registry models of those property types. With no Tg model in production, a mixture's Tg is
/// estimated from the reference table (molar-share-weighted), and flagged as such.
#[utoipa::path(post, path = "/api/v1/models/by-property/{property}/predict", tag = "models", request_body = PredictRequest, security(("bearer" = [])),
    responses((status = 200, body = PropertyPrediction), (status = 404), (status = 409), (status = 422)))]
pub async fn predict_property(
    db: UserDb,
    Path(property): Path<String>,
    ApiJson(p): ApiJson<PredictRequest>,
) -> ApiResult<Json<PropertyPrediction>> {
    Ok(Json(predict::by_property(&db.actor(), property, p).await?))
}

/// Score a version on new data, or on held-out experiments it was not trained on.
#[utoipa::path(post, path = "/api/v1/models/{id}/versions/{version}/evaluate", tag = "models", request_body = EvaluateRequest, security(("bearer" = [])),
    responses((status = 200, body = Evaluation), (status = 404), (status = 422), (status = 503)))]
pub async fn evaluate(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
    ApiJson(e): ApiJson<EvaluateRequest>,
) -> ApiResult<Json<Evaluation>> {
    Ok(Json(evaluate::evaluate(&db.actor(), id, version, e).await?))
}
