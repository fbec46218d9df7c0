//! Toxicity of molecules and mixtures (structural alerts, QED, measured assay scores), the
//! reference assays, and the unified score's contexts and batch form. Each handler calls one use
//! case in [`cryo_app::toxicity`] or [`cryo_app::experiments`].

use crate::error::{ApiJson, ApiResult};
use crate::extract::Db;
use crate::state::AppState;
use axum::Json;
use axum::extract::Path;
use cryo_app::experiments::{self, ContextView, UnifiedBatchItem};
use cryo_app::toxicity::{self, MixtureToxicityView, MoleculeToxicity};
use cryo_core::score::Context;
use cryo_db::repo::toxicity::AssayRow;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(molecule_toxicity))
        .routes(routes!(mixture_toxicity))
        .routes(routes!(assays))
        .routes(routes!(contexts))
        .routes(routes!(unified_batch))
}

/// A molecule's structural alerts (family, name, reference, matched atoms), alert counts per
/// family, QED with its eight properties, and the toxicity score of the assay activities the
/// caller can see (per endpoint, with confidence and completeness).
#[utoipa::path(get, path = "/api/v1/molecules/{id}/toxicity", tag = "toxicity",
    responses((status = 200, body = MoleculeToxicity), (status = 404)))]
pub async fn molecule_toxicity(db: Db, Path(id): Path<Uuid>) -> ApiResult<Json<MoleculeToxicity>> {
    Ok(Json(toxicity::molecule(&db.actor(), id).await?))
}

/// A mixture's toxicity: each component's measured score and alerts, the molar-share-weighted
/// score, and the union of alerts.
#[utoipa::path(get, path = "/api/v1/mixtures/{id}/toxicity", tag = "toxicity",
    responses((status = 200, body = MixtureToxicityView), (status = 404)))]
pub async fn mixture_toxicity(
    db: Db,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<MixtureToxicityView>> {
    Ok(Json(toxicity::mixture(&db.actor(), id).await?))
}

/// The reference assays (Tox21 and any imported) and the endpoint each informs.
#[utoipa::path(get, path = "/api/v1/toxicity/assays", tag = "toxicity",
    responses((status = 200, body = Vec<AssayRow>)))]
pub async fn assays(db: Db) -> ApiResult<Json<Vec<AssayRow>>> {
    Ok(Json(toxicity::assays(&db.actor()).await?))
}

/// The application contexts of the unified score with their weights and Tg windows.
#[utoipa::path(get, path = "/api/v1/unified/contexts", tag = "toxicity",
    responses((status = 200, body = Vec<ContextView>)))]
pub async fn contexts() -> Json<Vec<ContextView>> {
    Json(experiments::contexts())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnifiedBatchRequest {
    /// `molecule` or `mixture`.
    pub kind: SubjectKind,
    /// 1 to 200 ids.
    pub ids: Vec<Uuid>,
    pub context: Option<Context>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Molecule,
    Mixture,
}

/// The unified score of up to 200 molecules or mixtures in one context; an id the caller cannot
/// see answers with an error in its place.
#[utoipa::path(post, path = "/api/v1/unified/batch", tag = "toxicity", request_body = UnifiedBatchRequest,
    responses((status = 200, body = Vec<UnifiedBatchItem>), (status = 422, body = crate::error::ErrorBody)))]
pub async fn unified_batch(
    db: Db,
    ApiJson(req): ApiJson<UnifiedBatchRequest>,
) -> ApiResult<Json<Vec<UnifiedBatchItem>>> {
    let mixtures = matches!(req.kind, SubjectKind::Mixture);
    let context = req.context.unwrap_or(Context::General);
    Ok(Json(
        experiments::unified_batch(&db.actor(), &req.ids, mixtures, context).await?,
    ))
}
