//! Screening jobs: create (library, project or upload), follow, cancel, delete, and read the
//! results ranked, as charts and as files. Each handler calls one use case in
//! [`cryo_app::screening`].

use super::Paging;
use super::molecules::ExportFormatParam;
use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use cryo_app::export::ExportFormat;
use cryo_app::screening::{self, Created, ResultsPage, ResultsRequest, ScreeningRequest};
use cryo_db::repo::screening::{Bin, Point, ScreeningJob};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_screenings, create_screening))
        .routes(routes!(get_screening, delete_screening))
        .routes(routes!(cancel_screening))
        .routes(routes!(screening_results))
        .routes(routes!(export_screening))
        .routes(routes!(screening_histogram))
        .routes(routes!(screening_scatter))
}

/// Screen a library, a project or an uploaded file (SMILES lines, CSV with a `smiles`
/// column, or SDF) with 1–8 model versions, the cryoprotectant score and structural alerts.
/// The job is split into chunks that every worker of every server takes; follow it with
/// `GET /api/v1/screenings/{id}`. Upload lines without a usable structure are reported with
/// their line numbers, and the rest are screened.
#[utoipa::path(post, path = "/api/v1/screenings", tag = "screening", request_body = ScreeningRequest, security(("bearer" = [])),
    responses((status = 202, body = Created), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 422, description = "A field refused, naming it", body = crate::error::ErrorBody)))]
pub async fn create_screening(
    db: UserDb,
    ApiJson(request): ApiJson<ScreeningRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let created = screening::create(&db.actor(), request).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// The caller's screening jobs, newest first.
#[utoipa::path(get, path = "/api/v1/screenings", tag = "screening", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<ScreeningJob>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_screenings(
    db: UserDb,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Vec<ScreeningJob>>> {
    Ok(Json(screening::list(&db.actor(), p.page()).await?))
}

/// A job's state and progress (chunks done, running, and rows that failed).
#[utoipa::path(get, path = "/api/v1/screenings/{id}", tag = "screening", security(("bearer" = [])),
    responses((status = 200, body = ScreeningJob), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_screening(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<ScreeningJob>> {
    Ok(Json(screening::get(&db.actor(), id).await?))
}

/// Delete a job with its rows and results.
#[utoipa::path(delete, path = "/api/v1/screenings/{id}", tag = "screening", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_screening(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    screening::delete(&db.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop a job: no chunk is started after this; the results stored so far stay.
#[utoipa::path(post, path = "/api/v1/screenings/{id}/cancel", tag = "screening", security(("bearer" = [])),
    responses((status = 200, body = ScreeningJob), (status = 404, body = crate::error::ErrorBody)))]
pub async fn cancel_screening(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<ScreeningJob>> {
    Ok(Json(screening::cancel(&db.actor(), id).await?))
}

/// A page of results: in input order, by score, or ranked by one version's value (its range
/// and domain filters), each row with every version's value, interval, domain flag and error.
/// Keyset paging: pass `next_cursor` back as `cursor`.
#[utoipa::path(get, path = "/api/v1/screenings/{id}/results", tag = "screening", params(ResultsRequest), security(("bearer" = [])),
    responses((status = 200, body = ResultsPage), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn screening_results(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(request): Query<ResultsRequest>,
) -> ApiResult<Json<ResultsPage>> {
    Ok(Json(screening::results(&db.actor(), id, &request).await?))
}

/// Every result of an ordering (the same parameters; `limit` and `cursor` ignored) as CSV,
/// TSV, JSON, XLSX or SDF (the structures with every column as a data tag).
#[utoipa::path(get, path = "/api/v1/screenings/{id}/results/export", tag = "screening", params(ExportFormatParam, ResultsRequest), security(("bearer" = [])),
    responses((status = 200, description = "The file, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn export_screening(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(format): Query<ExportFormatParam>,
    Query(request): Query<ResultsRequest>,
) -> ApiResult<impl IntoResponse> {
    let format: ExportFormat = format.format.parse()?;
    let bytes = screening::export(&db.actor(), id, &request, format).await?;
    let disposition = format!(
        "attachment; filename=\"screening-{id}.{}\"",
        format.as_str()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HistogramParams {
    /// `score`, or a version id of the job.
    pub of: String,
    /// Equal-width bins over the values' range, 1–200 (default 20).
    pub bins: Option<i32>,
}

/// A histogram of one version's values (or the score) over the whole job.
#[utoipa::path(get, path = "/api/v1/screenings/{id}/histogram", tag = "screening", params(HistogramParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<Bin>), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn screening_histogram(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(p): Query<HistogramParams>,
) -> ApiResult<Json<Vec<Bin>>> {
    Ok(Json(
        screening::histogram(&db.actor(), id, &p.of, p.bins).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ScatterParams {
    /// `score`, or a version id of the job.
    pub x: String,
    pub y: String,
    /// At most this many points (1–10,000, default 2,000), every n-th row of the job.
    pub limit: Option<i64>,
}

/// Two values of each row (versions or the score) for a scatter plot, sampled evenly.
#[utoipa::path(get, path = "/api/v1/screenings/{id}/scatter", tag = "screening", params(ScatterParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<Point>), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn screening_scatter(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(p): Query<ScatterParams>,
) -> ApiResult<Json<Vec<Point>>> {
    Ok(Json(
        screening::scatter(&db.actor(), id, &p.x, &p.y, p.limit).await?,
    ))
}
