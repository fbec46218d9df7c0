//! Molecules: registration, reading with computed views, depiction, renaming, search and
//! scoring. Each handler parses, calls one use case in [`cryo_app::molecules`] or
//! [`cryo_app::search`], and maps the answer.

use crate::error::{ApiError, ApiJson, ApiResult};
use crate::extract::{Db, UserDb};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use cryo_app::export::ExportFormat;
use cryo_app::molecules::{
    self, BatchScore, Descriptors, MoleculeDetail, MoleculeInput, ScoreView,
};
use cryo_app::ranking::{self, RankRequest, RankedMolecules};
use cryo_app::rows;
use cryo_app::search::{self, SimilarityHit};
use cryo_db::repo::science::{self as repo, MoleculeRow};
use cryo_db::repo::{Entity, Page};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_molecules, create_molecule))
        .routes(routes!(rank_molecules))
        .routes(routes!(export_ranked_molecules))
        .routes(routes!(get_molecule, rename_molecule, delete_molecule))
        .routes(routes!(molecule_svg))
        .routes(routes!(similarity))
        .routes(routes!(scaffolds))
        .routes(routes!(substructure))
        .routes(routes!(score_molecule))
        .routes(routes!(score_batch))
        .routes(routes!(descriptors))
}

/// Register a molecule from SMILES or a MOL block. The same structure registered twice by one
/// user is the same row (200, `created: false`).
#[utoipa::path(post, path = "/api/v1/molecules", tag = "molecules", request_body = MoleculeInput, security(("bearer" = [])),
    responses((status = 201, body = MoleculeDetail), (status = 200, body = MoleculeDetail),
              (status = 422, description = "Invalid structure, naming the problem", body = crate::error::ErrorBody)))]
pub async fn create_molecule(
    db: UserDb,
    ApiJson(input): ApiJson<MoleculeInput>,
) -> ApiResult<(StatusCode, Json<MoleculeDetail>)> {
    let detail = molecules::register(&db.actor(), input).await?;
    let status = if detail.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(detail)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MoleculeFilter {
    /// Name fragment (case-insensitive) or an exact canonical SMILES.
    pub q: Option<String>,
    /// Only molecules with at most this many structural alerts (0: alert-free), counted over
    /// every family at registration.
    #[param(minimum = 0)]
    pub max_alerts: Option<i32>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Molecules the caller can see: their own, shared ones, and the reference set.
#[utoipa::path(get, path = "/api/v1/molecules", tag = "molecules", params(MoleculeFilter),
    responses((status = 200, body = Vec<MoleculeRow>)))]
pub async fn list_molecules(
    db: Db,
    Query(f): Query<MoleculeFilter>,
) -> ApiResult<Json<Vec<MoleculeRow>>> {
    let q = f.q.as_deref().filter(|q| !q.trim().is_empty());
    let page = Page::new(f.limit, f.offset);
    if f.max_alerts.is_some_and(|n| n < 0) {
        return Err(ApiError::validation("max_alerts", "must be 0 or more"));
    }
    let rows = db
        .actor()
        .read(async |tx| repo::list_molecules(tx, q, f.max_alerts, page).await)
        .await?;
    Ok(Json(rows))
}

/// Molecules the caller can see, ranked and filtered on the server: ordered by any stored
/// property, the newest prediction of a property or its interval width (rows lacking the value
/// last), filtered by ranges, owner, project or team, paged by cursor, with the total count.
/// Signed-in callers only: a ranking reads projects and predictions, which anonymous callers
/// cannot (they list the reference set with `GET /molecules`).
#[utoipa::path(get, path = "/api/v1/molecules/ranked", tag = "molecules", params(RankRequest), security(("bearer" = [])),
    responses((status = 200, body = RankedMolecules), (status = 401, body = crate::error::ErrorBody),
              (status = 422, description = "A filter, ordering or cursor refused, naming it", body = crate::error::ErrorBody)))]
pub async fn rank_molecules(
    db: UserDb,
    Query(request): Query<RankRequest>,
) -> ApiResult<Json<RankedMolecules>> {
    Ok(Json(ranking::rank_molecules(&db.actor(), &request).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportFormatParam {
    /// csv, tsv, json, xlsx, or sdf (structures with the columns as data tags).
    pub format: String,
}

/// The whole ranking (the same parameters; `limit` and `cursor` ignored) as a file: every
/// molecule, its key descriptors and score, and with `predicted` its newest prediction. At
/// most 100,000 molecules (422 naming `export` beyond).
#[utoipa::path(get, path = "/api/v1/molecules/ranked/export", tag = "molecules", params(ExportFormatParam, RankRequest), security(("bearer" = [])),
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 401, body = crate::error::ErrorBody),
              (status = 422, description = "A format, filter or ordering refused, naming it", body = crate::error::ErrorBody)))]
pub async fn export_ranked_molecules(
    db: UserDb,
    Query(format): Query<ExportFormatParam>,
    Query(request): Query<RankRequest>,
) -> ApiResult<impl IntoResponse> {
    let format: ExportFormat = format.format.parse()?;
    let bytes = ranking::export_molecules(&db.actor(), &request, format).await?;
    let disposition = format!("attachment; filename=\"molecules.{}\"", format.as_str());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

#[utoipa::path(get, path = "/api/v1/molecules/{id}", tag = "molecules",
    responses((status = 200, body = MoleculeDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_molecule(db: Db, Path(id): Path<Uuid>) -> ApiResult<Json<MoleculeDetail>> {
    Ok(Json(molecules::detail(&db.actor(), id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SvgSize {
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Atom indices to highlight, comma-separated (as `/molecules/{id}/toxicity` reports an
    /// alert's atoms), at most 500.
    pub highlight: Option<String>,
}

/// A 2D depiction (SVG, 400×300 by default), optionally with atoms highlighted.
#[utoipa::path(get, path = "/api/v1/molecules/{id}/svg", tag = "molecules", params(SvgSize),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404)))]
pub async fn molecule_svg(
    db: Db,
    Path(id): Path<Uuid>,
    Query(size): Query<SvgSize>,
) -> ApiResult<impl IntoResponse> {
    let (width, height) = (size.width.unwrap_or(400), size.height.unwrap_or(300));
    let highlight = match size.highlight.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|a| a.trim().parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                ApiError::validation("highlight", "comma-separated atom indices (0, 1, 2 …)")
            })?,
    };
    let svg = molecules::svg(&db.actor(), id, width, height, highlight).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoleculePatch {
    pub name: Option<String>,
    /// g/mL of the pure compound at room temperature (used for % v/v and mixture properties).
    pub density_g_per_ml: Option<f64>,
}

#[utoipa::path(patch, path = "/api/v1/molecules/{id}", tag = "molecules", request_body = MoleculePatch, security(("bearer" = [])),
    responses((status = 200, body = MoleculeDetail), (status = 403), (status = 404)))]
pub async fn rename_molecule(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<MoleculePatch>,
) -> ApiResult<Json<MoleculeDetail>> {
    let detail = molecules::update(&db.actor(), id, p.name.as_deref(), p.density_g_per_ml).await?;
    Ok(Json(detail))
}

#[utoipa::path(delete, path = "/api/v1/molecules/{id}", tag = "molecules", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404), (status = 409, description = "Used by a mixture or experiment")))]
pub async fn delete_molecule(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Molecule, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SimilarityRequest {
    pub smiles: String,
    /// Minimum Tanimoto similarity, 0–1 (default 0.3).
    pub threshold: Option<f64>,
    /// At most this many hits (default 50, at most 500).
    pub limit: Option<i64>,
    /// Hits to skip, for the next page.
    pub offset: Option<i64>,
}

/// Molecules similar to a SMILES, most similar first.
#[utoipa::path(post, path = "/api/v1/molecules/search/similarity", tag = "molecules", request_body = SimilarityRequest,
    responses((status = 200, body = Vec<SimilarityHit>), (status = 422)))]
pub async fn similarity(
    db: Db,
    ApiJson(req): ApiJson<SimilarityRequest>,
) -> ApiResult<Json<Vec<SimilarityHit>>> {
    let page = Page::new(req.limit.or(Some(search::DEFAULT_HITS)), req.offset);
    let hits = search::similar(&db.actor(), req.smiles, req.threshold, page).await?;
    Ok(Json(hits))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubstructureRequest {
    /// A SMARTS pattern; or give `smiles`.
    pub smarts: Option<String>,
    pub smiles: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Molecules containing a substructure, in a stable order, paged.
#[utoipa::path(post, path = "/api/v1/molecules/search/substructure", tag = "molecules", request_body = SubstructureRequest,
    responses((status = 200, body = Vec<MoleculeRow>), (status = 422)))]
pub async fn substructure(
    db: Db,
    ApiJson(req): ApiJson<SubstructureRequest>,
) -> ApiResult<Json<Vec<MoleculeRow>>> {
    let page = Page::new(req.limit, req.offset);
    let hits = search::containing(&db.actor(), req.smarts, req.smiles, page).await?;
    Ok(Json(hits))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScoreRequest {
    pub smiles: String,
}

/// Score a structure without storing it.
#[utoipa::path(post, path = "/api/v1/scoring/molecule", tag = "molecules", request_body = ScoreRequest,
    responses((status = 200, body = ScoreView), (status = 422)))]
pub async fn score_molecule(
    db: Db,
    ApiJson(req): ApiJson<ScoreRequest>,
) -> ApiResult<Json<ScoreView>> {
    Ok(Json(molecules::score(&db.actor(), req.smiles).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchScoreRequest {
    /// Up to `models.max_batch` SMILES.
    pub smiles: Vec<String>,
}

/// Score many structures without storing them (signed in): each gets its score or its error,
/// in input order.
#[utoipa::path(post, path = "/api/v1/scoring/batch", tag = "molecules", request_body = BatchScoreRequest, security(("bearer" = [])),
    responses((status = 200, body = Vec<BatchScore>), (status = 401), (status = 422)))]
pub async fn score_batch(
    db: UserDb,
    ApiJson(req): ApiJson<BatchScoreRequest>,
) -> ApiResult<Json<Vec<BatchScore>>> {
    Ok(Json(molecules::score_batch(&db.actor(), req.smiles).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DescriptorRequest {
    pub smiles: String,
    /// cryo20, rdkit (default), morgan or combined.
    #[serde(default = "default_features")]
    #[schema(value_type = String)]
    pub features: cryo_chem::featurize::FeatureSet,
}

fn default_features() -> cryo_chem::featurize::FeatureSet {
    cryo_chem::featurize::FeatureSet::Rdkit
}

/// The descriptors of a structure that is not registered (nothing is stored).
#[utoipa::path(post, path = "/api/v1/descriptors", tag = "molecules", request_body = DescriptorRequest,
    responses((status = 200, body = Descriptors), (status = 422)))]
pub async fn descriptors(
    db: Db,
    ApiJson(req): ApiJson<DescriptorRequest>,
) -> ApiResult<Json<Descriptors>> {
    Ok(Json(
        molecules::descriptors(&db.actor(), req.smiles, req.features).await?,
    ))
}

/// Bemis–Murcko scaffolds of the molecules the caller can see, with how many molecules share
/// each and their best score; most frequent first (an empty scaffold: acyclic molecules).
#[utoipa::path(get, path = "/api/v1/molecules/scaffolds", tag = "molecules", params(super::Paging),
    responses((status = 200, body = Vec<repo::ScaffoldCount>)))]
pub async fn scaffolds(
    db: Db,
    Query(p): Query<super::Paging>,
) -> ApiResult<Json<Vec<repo::ScaffoldCount>>> {
    Ok(Json(search::scaffolds(&db.actor(), p.page()).await?))
}
