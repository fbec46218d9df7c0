//! Liveness, readiness and health, for orchestrators, load balancers and administrators: the
//! checks themselves are `cryo_app::health`; here they get their status codes.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
pub use cryo_app::health::{CheckResult, Dependency, Health, Readiness};
use serde::Serialize;
use utoipa::ToSchema;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(startup))
        .routes(routes!(overall))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` when the process can answer.
    pub status: &'static str,
    pub version: &'static str,
    /// The deployed release's name (`server.release`), when set.
    pub release: Option<String>,
    pub uptime_seconds: u64,
}

fn code(ready: bool) -> StatusCode {
    if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The process is up and answering.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "Process is alive", body = Liveness)))]
pub async fn live(State(state): State<AppState>) -> Json<Liveness> {
    Json(Liveness {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        release: state.settings.server.release.clone(),
        uptime_seconds: state.started_at.elapsed().as_secs(),
    })
}

/// Ready to serve: the database answers and its schema is at this binary's migration version.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready; the failing checks say why", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = cryo_app::health::readiness(&state).await;
    (code(readiness.is_ready()), Json(readiness))
}

/// Startup finished: the database answered and the schema was current at least once since this
/// process started (for orchestrators' startup probes; afterwards readiness takes over).
#[utoipa::path(get, path = "/health/startup", tag = "health",
    responses(
        (status = 200, description = "Started", body = Readiness),
        (status = 503, description = "Still starting", body = Readiness)))]
pub async fn startup(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    use std::sync::atomic::Ordering;
    if state.started.load(Ordering::Relaxed) {
        return (
            StatusCode::OK,
            Json(Readiness {
                status: cryo_app::health::ReadyStatus::Ready,
                checks: Vec::new(),
            }),
        );
    }
    let (code, body) = ready(State(state.clone())).await;
    if code == StatusCode::OK {
        state.started.store(true, Ordering::Relaxed);
    }
    (code, body)
}

/// Every dependency with its state: database and migrations (as readiness), the model
/// registry (every production version loads and matches its checksum), backup age, and free
/// space where data and backups are written. 503 when not ready; warnings make it `degraded`.
/// Each dependency's detail (paths, sizes, errors) is shown to administrators only.
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Serving (possibly degraded)", body = Health),
        (status = 503, description = "Not ready", body = Health)))]
pub async fn overall(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
) -> (StatusCode, Json<Health>) {
    let mut health = cryo_app::health::report(&state).await;
    if !caller.is_admin() {
        for d in &mut health.dependencies {
            d.detail = None;
        }
    }
    (code(health.is_ready()), Json(health))
}
