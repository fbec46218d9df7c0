//! Mixtures: components with unit-checked concentrations and their molar-basis score. Each
//! handler calls one use case in [`cryo_app::mixtures`].

use super::Paging;
use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use cryo_app::mixtures::{self, MixtureDetail, MixtureInput};
use cryo_app::rows;
use cryo_db::repo::Entity;
use cryo_db::repo::science::{Mixture, Prediction};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mixtures, create_mixture))
        .routes(routes!(get_mixture, update_mixture, delete_mixture))
        .routes(routes!(store_mixture_score))
}

/// Create a mixture. Units are checked and must be reconcilable to a molar basis (e.g. mole
/// fractions cannot be mixed with per-volume units; % v/v needs a known density).
#[utoipa::path(post, path = "/api/v1/mixtures", tag = "mixtures", request_body = MixtureInput, security(("bearer" = [])),
    responses((status = 201, body = MixtureDetail), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_mixture(
    db: UserDb,
    ApiJson(input): ApiJson<MixtureInput>,
) -> ApiResult<(StatusCode, Json<MixtureDetail>)> {
    let detail = mixtures::create(&db.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

#[utoipa::path(get, path = "/api/v1/mixtures", tag = "mixtures", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Mixture>)))]
pub async fn list_mixtures(db: UserDb, Query(p): Query<Paging>) -> ApiResult<Json<Vec<Mixture>>> {
    Ok(Json(mixtures::list(&db.actor(), p.page()).await?))
}

#[utoipa::path(get, path = "/api/v1/mixtures/{id}", tag = "mixtures", security(("bearer" = [])),
    responses((status = 200, body = MixtureDetail), (status = 404)))]
pub async fn get_mixture(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<MixtureDetail>> {
    Ok(Json(mixtures::detail(&db.actor(), id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MixturePatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/mixtures/{id}", tag = "mixtures", request_body = MixturePatch, security(("bearer" = [])),
    responses((status = 200, body = MixtureDetail), (status = 403), (status = 404)))]
pub async fn update_mixture(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<MixturePatch>,
) -> ApiResult<Json<MixtureDetail>> {
    let detail =
        mixtures::update(&db.actor(), id, p.name.as_deref(), p.description.as_deref()).await?;
    Ok(Json(detail))
}

#[utoipa::path(delete, path = "/api/v1/mixtures/{id}", tag = "mixtures", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404), (status = 409, description = "Has experiments")))]
pub async fn delete_mixture(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Mixture, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Store the mixture's current score as a prediction (method "CryoProtect Scoring").
#[utoipa::path(post, path = "/api/v1/mixtures/{id}/score", tag = "mixtures", security(("bearer" = [])),
    responses((status = 201, body = Prediction), (status = 404), (status = 422)))]
pub async fn store_mixture_score(
    db: UserDb,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<Prediction>)> {
    let p = mixtures::store_score(&db.actor(), id).await?;
    Ok((StatusCode::CREATED, Json(p)))
}
