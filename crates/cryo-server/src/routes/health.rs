//! Liveness and readiness, for orchestrators and load balancers.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok` when the process can answer.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    pub name: &'static str,
    /// `ok` or `failed`.
    pub status: &'static str,
    pub detail: String,
    pub duration_ms: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub checks: Vec<CheckResult>,
}

/// The process is up and answering.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "Process is alive", body = Liveness)))]
pub async fn live(State(state): State<AppState>) -> Json<Liveness> {
    Json(Liveness {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started_at.elapsed().as_secs(),
    })
}

/// Ready to serve: the database answers and its schema is at this binary's migration version.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready; the failing checks say why", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let db = timed("database", async {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&state.pool)
            .await
            .map(|_| "reachable".to_string())
            .map_err(|e| e.to_string())
    })
    .await;
    let migrations = if db.status == "ok" {
        timed("migrations", async {
            // The API role reads the migration history as service_role, like any other query.
            let mut tx = state
                .begin(&cryo_db::Identity::service())
                .await
                .map_err(|e| e.to_string())?;
            match cryo_db::migrate::status_on(&mut tx).await {
                Ok((known, unknown)) if cryo_db::migrate::all_applied(&known, &unknown) => {
                    Ok("current".to_string())
                }
                Ok(_) => Err(
                    "pending or mismatched migrations; run `cryoprotect db migrate`".to_string(),
                ),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
    } else {
        CheckResult {
            name: "migrations",
            status: "failed",
            detail: "skipped: database unreachable".into(),
            duration_ms: 0.0,
        }
    };
    let checks = vec![db, migrations];
    let all_ok = checks.iter().all(|c| c.status == "ok");
    let code = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(Readiness {
            status: if all_ok { "ready" } else { "not_ready" },
            checks,
        }),
    )
}

async fn timed(
    name: &'static str,
    check: impl std::future::Future<Output = Result<String, String>>,
) -> CheckResult {
    let start = Instant::now();
    let outcome = tokio::time::timeout(DB_CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {} s", DB_CHECK_TIMEOUT.as_secs())));
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(detail) => CheckResult {
            name,
            status: "ok",
            detail,
            duration_ms,
        },
        Err(detail) => {
            tracing::warn!(check = name, %detail, "readiness check failed");
            CheckResult {
                name,
                status: "failed",
                detail,
                duration_ms,
            }
        }
    }
}
