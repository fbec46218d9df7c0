//! CPA loading and removal protocols: simulate, design and fit (computations, nothing stored),
//! and protocols kept per mixture (saved with the server's own simulation of their steps).
//! Each handler calls one use case in [`cryo_app::protocols`].

use super::Paging;
use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use cryo_app::protocols::{self, ProtocolDetail, ProtocolInput};
use cryo_app::rows;
use cryo_db::repo::Entity;
use cryo_db::repo::protocols::ProtocolRow;
use cryo_physics::design::{Design, Request as DesignRequest};
use cryo_physics::fit::{Fit, Request as FitRequest};
use cryo_physics::{Protocol, Trajectory};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(simulate))
        .routes(routes!(design))
        .routes(routes!(fit))
        .routes(routes!(compare))
        .routes(routes!(list_protocols, save_protocol))
        .routes(routes!(get_protocol, delete_protocol))
}

/// Simulate a protocol: cell volume, water volume and intracellular concentrations over its
/// steps (two-parameter membrane transport model). Nothing is stored.
#[utoipa::path(post, path = "/api/v1/protocols/simulate", tag = "protocols", request_body = Protocol, security(("bearer" = [])),
    responses((status = 200, body = Trajectory), (status = 422, body = crate::error::ErrorBody)))]
pub async fn simulate(db: UserDb, ApiJson(p): ApiJson<Protocol>) -> ApiResult<Json<Trajectory>> {
    Ok(Json(protocols::simulate(&db.actor(), p).await?))
}

/// Design loading or removal steps that keep the cell within its volume limits: the original
/// stepwise designer (checked), fewest steps, toxicity-optimal or shortest time, or all of them.
/// Every design is re-simulated; steps outside the limits are listed in `violations`.
#[utoipa::path(post, path = "/api/v1/protocols/design", tag = "protocols", request_body = DesignRequest, security(("bearer" = [])),
    responses((status = 200, body = Vec<Design>), (status = 422, body = crate::error::ErrorBody)))]
pub async fn design(
    db: UserDb,
    ApiJson(req): ApiJson<DesignRequest>,
) -> ApiResult<Json<Vec<Design>>> {
    Ok(Json(protocols::design(&db.actor(), req).await?))
}

/// Fit Lp, Ps and/or the inactive volume to a measured volume–time curve, with confidence
/// intervals.
#[utoipa::path(post, path = "/api/v1/protocols/fit", tag = "protocols", request_body = FitRequest, security(("bearer" = [])),
    responses((status = 200, body = Fit), (status = 422, body = crate::error::ErrorBody)))]
pub async fn fit(db: UserDb, ApiJson(req): ApiJson<FitRequest>) -> ApiResult<Json<Fit>> {
    Ok(Json(protocols::fit(&db.actor(), req).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareRequest {
    /// Two to six protocol ids.
    pub ids: Vec<Uuid>,
}

/// Two to six saved protocols side by side, each simulated again (curves, time, cost, worst
/// excursion).
#[utoipa::path(post, path = "/api/v1/protocols/compare", tag = "protocols", request_body = CompareRequest, security(("bearer" = [])),
    responses((status = 200, body = Vec<ProtocolDetail>), (status = 404), (status = 422, body = crate::error::ErrorBody)))]
pub async fn compare(
    db: UserDb,
    ApiJson(req): ApiJson<CompareRequest>,
) -> ApiResult<Json<Vec<ProtocolDetail>>> {
    Ok(Json(protocols::compare(&db.actor(), &req.ids).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProtocolFilter {
    /// Only this mixture's protocols.
    pub mixture_id: Option<Uuid>,
    /// Rows per page (1–500, default 100).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/protocols", tag = "protocols", params(ProtocolFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<ProtocolRow>)))]
pub async fn list_protocols(
    db: UserDb,
    Query(f): Query<ProtocolFilter>,
) -> ApiResult<Json<Vec<ProtocolRow>>> {
    let page = Paging {
        limit: f.limit,
        offset: f.offset,
    }
    .page();
    Ok(Json(
        protocols::list(&db.actor(), f.mixture_id, page).await?,
    ))
}

/// Keep a protocol with its mixture. The server simulates the steps and stores what it found
/// (time, toxicity cost, volume extremes, whether they keep the limits).
#[utoipa::path(post, path = "/api/v1/protocols", tag = "protocols", request_body = ProtocolInput, security(("bearer" = [])),
    responses((status = 201, body = ProtocolDetail), (status = 422, body = crate::error::ErrorBody)))]
pub async fn save_protocol(
    db: UserDb,
    ApiJson(input): ApiJson<ProtocolInput>,
) -> ApiResult<(StatusCode, Json<ProtocolDetail>)> {
    let detail = protocols::save(&db.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// A protocol with its curves, simulated again.
#[utoipa::path(get, path = "/api/v1/protocols/{id}", tag = "protocols", security(("bearer" = [])),
    responses((status = 200, body = ProtocolDetail), (status = 404)))]
pub async fn get_protocol(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<ProtocolDetail>> {
    Ok(Json(protocols::detail(&db.actor(), id).await?))
}

/// Delete a protocol; experiments that followed it keep their data and lose the link.
#[utoipa::path(delete, path = "/api/v1/protocols/{id}", tag = "protocols", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_protocol(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    rows::delete(&db.actor(), Entity::Protocol, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
