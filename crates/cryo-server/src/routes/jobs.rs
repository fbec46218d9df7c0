//! Training jobs: queueing, following (state, progress and a live event stream), cancelling and
//! retrying. Each handler calls one use case in [`cryo_app::models`].

use super::Paging;
use crate::error::{ApiJson, ApiResult};
use crate::extract::UserDb;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use cryo_app::Actor;
use cryo_app::models;
use cryo_app::registry::TrainRequest;
use cryo_db::repo::models::Job;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// How often the event stream looks at a job.
const POLL: Duration = Duration::from_millis(250);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(train))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(cancel_job))
        .routes(routes!(retry_job))
        .routes(routes!(job_events))
}

/// Start training (or a hyperparameter search, with `search`) on every experiment of the
/// model's property the caller can read. Returns the queued job; follow it with
/// `GET /api/v1/models/jobs/{job_id}` or its `/events` stream.
#[utoipa::path(post, path = "/api/v1/models/{id}/train", tag = "models", request_body = TrainRequest, security(("bearer" = [])),
    responses((status = 202, body = Job), (status = 404), (status = 422)))]
pub async fn train(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(request): ApiJson<TrainRequest>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let job = models::queue_training(&db.actor(), id, request).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

#[utoipa::path(get, path = "/api/v1/models/{id}/jobs", tag = "models", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Job>)))]
pub async fn list_jobs(
    db: UserDb,
    Path(id): Path<Uuid>,
    Query(p): Query<Paging>,
) -> ApiResult<Json<Vec<Job>>> {
    Ok(Json(models::jobs(&db.actor(), id, p.page()).await?))
}

/// A job's state, progress (0–1) and stage.
#[utoipa::path(get, path = "/api/v1/models/jobs/{job_id}", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Job), (status = 404)))]
pub async fn get_job(db: UserDb, Path(job_id): Path<Uuid>) -> ApiResult<Json<Job>> {
    Ok(Json(models::job(&db.actor(), job_id).await?))
}

/// Stop a job: a queued one is cancelled at once, a running one at its next heartbeat.
#[utoipa::path(post, path = "/api/v1/models/jobs/{job_id}/cancel", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Job), (status = 403), (status = 404), (status = 409)))]
pub async fn cancel_job(db: UserDb, Path(job_id): Path<Uuid>) -> ApiResult<Json<Job>> {
    Ok(Json(models::cancel(&db.actor(), job_id).await?))
}

/// Queue a failed or cancelled job again, as a new job with the same request.
#[utoipa::path(post, path = "/api/v1/models/jobs/{job_id}/retry", tag = "models", security(("bearer" = [])),
    responses((status = 202, body = Job), (status = 404), (status = 409)))]
pub async fn retry_job(db: UserDb, Path(job_id): Path<Uuid>) -> ApiResult<(StatusCode, Json<Job>)> {
    let job = models::retry(&db.actor(), job_id).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Server-sent events: a `job` event with the job whenever its progress or state changes,
/// ending after the final state.
#[utoipa::path(get, path = "/api/v1/models/jobs/{job_id}/events", tag = "models", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of `job` events"), (status = 404)))]
pub async fn job_events(
    db: UserDb,
    Path(job_id): Path<Uuid>,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let first = models::job(&db.actor(), job_id).await?;
    let (state, identity) = (db.state().clone(), db.caller.identity);
    // (last sent (state, progress, stage), the next job to send if already read)
    let start = (None::<(String, f64, Option<String>)>, Some(first));
    let stream = futures_util::stream::unfold(start, move |(last, next)| {
        let state = state.clone();
        async move {
            let actor = Actor::new(&state.app, identity);
            let mut job = next;
            loop {
                let current = match job.take() {
                    Some(j) => j,
                    None => {
                        tokio::time::sleep(POLL).await;
                        models::job(&actor, job_id).await.ok()?
                    }
                };
                let key = (
                    current.state.clone(),
                    current.progress,
                    current.stage.clone(),
                );
                if last.as_ref() == Some(&key) {
                    if current.is_finished() {
                        return None;
                    }
                    continue;
                }
                let event = Event::default()
                    .event("job")
                    .json_data(&current)
                    .unwrap_or_else(|_| Event::default().event("job"));
                return Some((Ok(event), (Some(key), None)));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
