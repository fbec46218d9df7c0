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
    /// The deployed release's name (`server.release`), when set.
    pub release: Option<String>,
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
                // The database is ahead (a rollback after an expand-only migration): compatible.
                Ok((known, unknown)) if cryo_db::migrate::compatible(&known) => Ok(format!(
                    "compatible: {} newer migration(s) from a later release ({})",
                    unknown.len(),
                    unknown
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
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
                status: "ready",
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

#[derive(Debug, Serialize, ToSchema)]
pub struct Dependency {
    pub name: String,
    /// `ok`, `warning` or `failed`.
    pub status: &'static str,
    /// What was found (paths, sizes, versions, errors): administrators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `degraded` (a warning somewhere) or `failing` (not ready: 503).
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub dependencies: Vec<Dependency>,
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
    let (code, mut health) = report(&state).await;
    if !caller.is_admin() {
        for d in &mut health.dependencies {
            d.detail = None;
        }
    }
    (code, Json(health))
}

/// The whole health report, details included (for administrators and the health watch).
pub async fn report(state: &AppState) -> (StatusCode, Health) {
    let (ready_code, readiness) = ready(State(state.clone())).await;
    let mut deps: Vec<Dependency> = readiness
        .0
        .checks
        .into_iter()
        .map(|c| Dependency {
            name: c.name.into(),
            status: if c.status == "ok" { "ok" } else { "failed" },
            detail: Some(c.detail),
        })
        .collect();
    if ready_code == StatusCode::OK {
        deps.push(model_registry(state).await);
    }
    if let Some(admin) = &state.admin {
        let b = admin.status();
        deps.push(Dependency {
            name: "backups".into(),
            status: if b.health == "ok" { "ok" } else { "warning" },
            detail: Some(match (b.age_hours, &b.last_error) {
                (_, Some(e)) => format!("last attempt failed: {e}"),
                (Some(h), None) => format!(
                    "last good backup {h:.1} h ago (warning after {} h)",
                    b.warn_after_hours
                ),
                (None, None) => "no good backup yet".into(),
            }),
        });
    }
    let s = &state.settings;
    let mut folders = vec![("disk:backups", s.backup.dir.clone())];
    if s.database.url.is_none() {
        folders.push(("disk:data", s.database.data_dir.clone()));
    }
    for (name, dir) in folders {
        deps.push(disk(name, &dir));
    }
    let status = if ready_code != StatusCode::OK {
        "failing"
    } else if deps.iter().any(|d| d.status != "ok") {
        "degraded"
    } else {
        "ok"
    };
    (
        ready_code,
        Health {
            status,
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: state.started_at.elapsed().as_secs(),
            dependencies: deps,
        },
    )
}

/// Loads every production version (through the registry's cache, so the bytes are read and
/// checked once per version).
async fn model_registry(state: &AppState) -> Dependency {
    let outcome = async {
        let mut tx = state
            .begin(&cryo_db::Identity::service())
            .await
            .map_err(|e| e.to_string())?;
        let versions = cryo_db::repo::models::production_versions(&mut tx)
            .await
            .map_err(|e| e.to_string())?;
        let mut broken = Vec::new();
        for v in &versions {
            if let Err(e) = state.registry.load(&mut tx, &v.handle()).await {
                broken.push(format!("model {} version {}: {e}", v.model_id, v.version));
            }
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((versions.len(), broken))
    }
    .await;
    match outcome {
        Ok((n, broken)) if broken.is_empty() => Dependency {
            name: "model_registry".into(),
            status: "ok",
            detail: Some(format!("{n} production versions load")),
        },
        Ok((n, broken)) => Dependency {
            name: "model_registry".into(),
            status: "warning",
            detail: Some(format!(
                "{} of {n} production versions cannot load: {}",
                broken.len(),
                broken.join("; ")
            )),
        },
        Err(e) => Dependency {
            name: "model_registry".into(),
            status: "warning",
            detail: Some(e),
        },
    }
}

/// Free space where `dir` lives: warning under 10 % or 1 GiB, failed under 2 %.
fn disk(name: &str, dir: &std::path::Path) -> Dependency {
    match crate::metrics::free_space(dir) {
        Ok((free, total, at)) => {
            let share = free / total;
            let status = if share < 0.02 {
                "failed"
            } else if share < 0.10 || free < 1024.0 * 1024.0 * 1024.0 {
                "warning"
            } else {
                "ok"
            };
            Dependency {
                name: name.into(),
                status,
                detail: Some(format!(
                    "{:.1} GiB free of {:.1} GiB ({:.0} %) at {}",
                    free / 1073741824.0,
                    total / 1073741824.0,
                    share * 100.0,
                    at.display()
                )),
            }
        }
        Err(detail) => Dependency {
            name: name.into(),
            status: "warning",
            detail: Some(detail),
        },
    }
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
