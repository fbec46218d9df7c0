//! Mixtures: components with unit-checked concentrations and their molar-basis score. Each
//! handler calls one use case in [`cryo_app::mixtures`].

use super::Paging;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use cryo_app::mixture_compare::{self, Compared};
use cryo_app::mixture_optimise::{self, OptimiseInput, OptimiseOutcome};
use cryo_app::mixture_physics::{self, ConstantsOverride, MixturePhysics, PropertyModelView};
use cryo_app::mixture_recommend::{self, RecommendInput, RecommendOutcome};
use cryo_app::mixtures::{
    self, CompositionInput, CopyInput, MixtureDetail, MixtureInput, VersionDetail,
};
use cryo_app::rows;
use cryo_core::solution::{PropertyModel, ReferenceSolute};
use cryo_db::repo::Entity;
use cryo_db::repo::science::{Mixture, MixtureVersion, Prediction};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mixtures, create_mixture))
        .routes(routes!(compare_mixtures))
        .routes(routes!(reference_solutes))
        .routes(routes!(get_mixture, update_mixture, delete_mixture))
        .routes(routes!(store_mixture_score))
        .routes(routes!(save_composition))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(copy_mixture))
        .routes(routes!(get_properties, post_properties))
        .routes(routes!(optimise_mixture))
        .routes(routes!(optimise_events))
        .routes(routes!(recommend_components))
        .routes(routes!(property_model))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PropertyModelQuery {
    /// A property type with stored values on the components, e.g. "Molecular Weight".
    pub property: String,
    /// weighted_average (default), quadratic, exponential or logarithmic.
    pub model: Option<PropertyModel>,
}

/// The original's mixture property models: the molar-share-weighted average of the components'
/// stored values, or that average times 1 + 0.2·Σ pairs (1 − Tanimoto)·f(shares).
#[utoipa::path(get, path = "/api/v1/mixtures/{id}/property-model", tag = "mixtures", params(PropertyModelQuery), security(("bearer" = [])),
    responses((status = 200, body = PropertyModelView), (status = 404), (status = 422, body = crate::error::ErrorBody)))]
pub async fn property_model(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(q): Query<PropertyModelQuery>,
) -> ApiResult<Json<PropertyModelView>> {
    let model = q.model.unwrap_or(PropertyModel::WeightedAverage);
    Ok(Json(
        mixture_physics::property_model(&db.actor(), id, &q.property, model).await?,
    ))
}

/// What the optimisation stream carries from the computing task to the client.
enum Step {
    Progress(usize, usize),
    Done(Box<Result<OptimiseOutcome, ApiError>>),
}

/// As `POST …/optimise`, answered as server-sent events: `progress` ({"done", "total"} starts)
/// after each start, then one `result` (the outcome) or one `error` (the status and the error
/// body the plain endpoint would answer).
#[utoipa::path(post, path = "/api/v1/mixtures/{id}/optimise/events", tag = "mixtures", request_body = OptimiseInput, security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of `progress`, then `result` or `error`")))]
pub async fn optimise_events(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<OptimiseInput>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (state, identity) = (db.state().clone(), db.caller.identity);
    tokio::spawn(async move {
        let actor = cryo_app::Actor::new(&state.app, identity);
        let reporter = tx.clone();
        let outcome =
            mixture_optimise::optimise_reporting(&actor, id, input, move |done, total| {
                let _ = reporter.send(Step::Progress(done, total));
            })
            .await
            .map_err(ApiError::from);
        let _ = tx.send(Step::Done(Box::new(outcome)));
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await? {
            Step::Progress(done, total) => Event::default()
                .event("progress")
                .json_data(serde_json::json!({"done": done, "total": total})),
            Step::Done(outcome) => match *outcome {
                Ok(o) => Event::default().event("result").json_data(&o),
                Err(e) => {
                    let res = e.into_response();
                    let status = res.status().as_u16();
                    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .unwrap_or_default();
                    Event::default()
                        .event("error")
                        .json_data(serde_json::json!({"status": status, "error": body["error"]}))
                }
            },
        };
        Some((
            Ok(event.unwrap_or_else(|_| Event::default().event("error"))),
            rx,
        ))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Molecules that would improve the mixture most when added (at the best of a few amounts),
/// from your list or the visible library's best-scored, with similarity and alert filters.
#[utoipa::path(post, path = "/api/v1/mixtures/{id}/recommend", tag = "mixtures", request_body = RecommendInput, security(("bearer" = [])),
    responses((status = 200, body = RecommendOutcome), (status = 404), (status = 409), (status = 422, body = crate::error::ErrorBody), (status = 503)))]
pub async fn recommend_components(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<RecommendInput>,
) -> ApiResult<Json<RecommendOutcome>> {
    Ok(Json(
        mixture_recommend::recommend(&db.actor(), id, input).await?,
    ))
}

/// Save a new composition: the mixture's next version (old versions stay; experiments keep
/// the version they used). With `base_version`, refused (409) if another was saved since.
#[utoipa::path(put, path = "/api/v1/mixtures/{id}/components", tag = "mixtures", request_body = CompositionInput, security(("bearer" = [])),
    responses((status = 200, body = MixtureDetail), (status = 403), (status = 404), (status = 409), (status = 422, body = crate::error::ErrorBody)))]
pub async fn save_composition(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<CompositionInput>,
) -> ApiResult<Json<MixtureDetail>> {
    Ok(Json(
        mixtures::save_composition(&db.actor(), id, input).await?,
    ))
}

/// Every saved composition, newest first, with how many experiments used each.
#[utoipa::path(get, path = "/api/v1/mixtures/{id}/versions", tag = "mixtures", security(("bearer" = [])),
    responses((status = 200, body = Vec<MixtureVersion>), (status = 404)))]
pub async fn list_versions(
    db: UserDb,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<MixtureVersion>>> {
    Ok(Json(mixtures::versions(&db.actor(), id).await?))
}

#[utoipa::path(get, path = "/api/v1/mixtures/{id}/versions/{version}", tag = "mixtures", security(("bearer" = [])),
    responses((status = 200, body = VersionDetail), (status = 404)))]
pub async fn get_version(
    db: UserDb,
    Path((id, version)): Path<(Uuid, i64)>,
) -> ApiResult<Json<VersionDetail>> {
    Ok(Json(mixtures::version(&db.actor(), id, version).await?))
}

/// A new mixture of yours with the same composition (current, or `version`).
#[utoipa::path(post, path = "/api/v1/mixtures/{id}/copy", tag = "mixtures", request_body = CopyInput, security(("bearer" = [])),
    responses((status = 201, body = MixtureDetail), (status = 404), (status = 422, body = crate::error::ErrorBody)))]
pub async fn copy_mixture(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<CopyInput>,
) -> ApiResult<(StatusCode, Json<MixtureDetail>)> {
    let detail = mixtures::copy(&db.actor(), id, input).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// A saved composition's number (default: the current one).
    pub version: Option<i64>,
}

/// Amounts on every basis, osmolality (ideal and virial) and the Gordon–Taylor Tg, with each
/// constant's source and the formulas used.
#[utoipa::path(get, path = "/api/v1/mixtures/{id}/properties", tag = "mixtures", params(VersionQuery), security(("bearer" = [])),
    responses((status = 200, body = MixturePhysics), (status = 404), (status = 422, body = crate::error::ErrorBody)))]
pub async fn get_properties(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<MixturePhysics>> {
    Ok(Json(
        mixture_physics::properties(&db.actor(), id, q.version, &[]).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PropertiesRequest {
    pub version: Option<i64>,
    /// Your values for some components' constants (the rest are looked up).
    #[serde(default)]
    pub overrides: Vec<ConstantsOverride>,
}

/// As GET, with your own constants for some components.
#[utoipa::path(post, path = "/api/v1/mixtures/{id}/properties", tag = "mixtures", request_body = PropertiesRequest, security(("bearer" = [])),
    responses((status = 200, body = MixturePhysics), (status = 404), (status = 422, body = crate::error::ErrorBody)))]
pub async fn post_properties(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(r): ApiJson<PropertiesRequest>,
) -> ApiResult<Json<MixturePhysics>> {
    Ok(Json(
        mixture_physics::properties(&db.actor(), id, r.version, &r.overrides).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CompareQuery {
    /// 2 to 6 mixture ids, comma-separated.
    pub ids: String,
}

/// Mixtures side by side: composition, score, physical properties, latest predictions and
/// measurements.
#[utoipa::path(get, path = "/api/v1/mixtures/compare", tag = "mixtures", params(CompareQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<Compared>), (status = 404), (status = 422, body = crate::error::ErrorBody)))]
pub async fn compare_mixtures(
    db: UserDb,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Json<Vec<Compared>>> {
    let ids = q
        .ids
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .take(mixture_compare::MAX_COMPARED + 1)
        .map(|s| {
            s.trim().parse::<Uuid>().map_err(|_| {
                cryo_app::AppError::validation("ids", format!("not a mixture id: {s:?}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(mixture_compare::compare(&db.actor(), &ids).await?))
}

/// The cited constants (density, virial coefficients, Tg, Gordon–Taylor k) the physical
/// properties use for known solutes, by standard InChIKey.
#[utoipa::path(get, path = "/api/v1/mixtures/reference-solutes", tag = "mixtures",
    responses((status = 200, body = Vec<ReferenceSolute>)))]
pub async fn reference_solutes() -> Json<&'static [ReferenceSolute]> {
    Json(cryo_core::solution::REFERENCE_SOLUTES)
}

/// Propose compositions that optimise the score, the Tg or a production model's prediction
/// under bounds, a total, molarity/osmolality ceilings and a component cap.
#[utoipa::path(post, path = "/api/v1/mixtures/{id}/optimise", tag = "mixtures", request_body = OptimiseInput, security(("bearer" = [])),
    responses((status = 200, body = OptimiseOutcome), (status = 404), (status = 409), (status = 422, body = crate::error::ErrorBody), (status = 503)))]
pub async fn optimise_mixture(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<OptimiseInput>,
) -> ApiResult<Json<OptimiseOutcome>> {
    Ok(Json(
        mixture_optimise::optimise(&db.actor(), id, input).await?,
    ))
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
