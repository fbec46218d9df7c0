//! Liveness, readiness and the whole health report: what `/health*` answers and what the
//! health watch raises alerts from.

use crate::App;
use serde::Serialize;
use std::time::{Duration, Instant};

const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The state of one check or dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    Failed,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Failed => "failed",
        })
    }
}

/// Whether the process may take traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    Ready,
    NotReady,
}

/// The whole report in a word: `failing` is not ready; `degraded` has a warning somewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Failing,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub name: &'static str,
    /// `ok` or `failed`.
    pub status: Status,
    pub detail: String,
    pub duration_ms: f64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub status: ReadyStatus,
    pub checks: Vec<CheckResult>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.status == ReadyStatus::Ready
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dependency {
    pub name: String,
    pub status: Status,
    /// What was found (paths, sizes, versions, errors): administrators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: HealthStatus,
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub dependencies: Vec<Dependency>,
}

impl Health {
    pub fn is_ready(&self) -> bool {
        self.status != HealthStatus::Failing
    }
}

/// Ready to serve: the database answers and its schema is at this binary's migration version.
pub async fn readiness(state: &App) -> Readiness {
    let db = timed("database", async {
        cryo_db::repo::stats::ping(state.pool())
            .await
            .map(|_| "reachable".to_string())
            .map_err(|e| e.to_string())
    })
    .await;
    let migrations = if db.status == Status::Ok {
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
            status: Status::Failed,
            detail: "skipped: database unreachable".into(),
            duration_ms: 0.0,
        }
    };
    let checks = vec![db, migrations];
    let all_ok = checks.iter().all(|c| c.status == Status::Ok);
    Readiness {
        status: if all_ok {
            ReadyStatus::Ready
        } else {
            ReadyStatus::NotReady
        },
        checks,
    }
}

/// The whole health report, details included: database and migrations (as readiness), the
/// model registry (every production version loads and matches its checksum), backup age, and
/// free space where data and backups are written.
pub async fn report(state: &App) -> Health {
    let readiness = readiness(state).await;
    let ready = readiness.is_ready();
    let mut deps: Vec<Dependency> = readiness
        .checks
        .into_iter()
        .map(|c| Dependency {
            name: c.name.into(),
            status: c.status,
            detail: Some(c.detail),
        })
        .collect();
    if ready {
        deps.push(model_registry(state).await);
    }
    if let Some(admin) = &state.admin {
        let b = admin.status();
        deps.push(Dependency {
            name: "backups".into(),
            status: if b.health == "ok" {
                Status::Ok
            } else {
                Status::Warning
            },
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
    for (name, dir) in watched_folders(&state.settings) {
        deps.push(disk(&format!("disk:{name}"), dir));
    }
    let status = if !ready {
        HealthStatus::Failing
    } else if deps.iter().any(|d| d.status != Status::Ok) {
        HealthStatus::Degraded
    } else {
        HealthStatus::Ok
    };
    Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started_at.elapsed().as_secs(),
        dependencies: deps,
    }
}

/// Loads every production version (through the registry's cache, so the bytes are read and
/// checked once per version).
async fn model_registry(state: &App) -> Dependency {
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
            status: Status::Ok,
            detail: Some(format!("{n} production versions load")),
        },
        Ok((n, broken)) => Dependency {
            name: "model_registry".into(),
            status: Status::Warning,
            detail: Some(format!(
                "{} of {n} production versions cannot load: {}",
                broken.len(),
                broken.join("; ")
            )),
        },
        Err(e) => Dependency {
            name: "model_registry".into(),
            status: Status::Warning,
            detail: Some(e),
        },
    }
}

/// Free space where `dir` lives: warning under 10 % or 1 GiB, failed under 2 %.
fn disk(name: &str, dir: &std::path::Path) -> Dependency {
    match free_space(dir) {
        Ok((free, total, at)) => {
            let share = free / total;
            let status = if share < 0.02 {
                Status::Failed
            } else if share < 0.10 || free < 1024.0 * 1024.0 * 1024.0 {
                Status::Warning
            } else {
                Status::Ok
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
            status: Status::Warning,
            detail: Some(detail),
        },
    }
}

/// Where the service writes, by name: backups always, the data folder when it runs its own
/// cluster. The health report and the free-space metric watch the same places.
pub fn watched_folders(s: &cryo_config::Settings) -> Vec<(&'static str, &std::path::Path)> {
    let mut folders = vec![("backups", s.backup.dir.as_path())];
    if s.database.url.is_none() {
        folders.push(("data", s.database.data_dir.as_path()));
    }
    folders
}

/// (free bytes, total bytes) of the file system holding `dir` (or its nearest existing ancestor).
pub fn free_space(dir: &std::path::Path) -> Result<(f64, f64, std::path::PathBuf), String> {
    let existing = dir.ancestors().find(|p| p.exists()).unwrap_or(dir);
    let v = nix::sys::statvfs::statvfs(existing)
        .map_err(|e| format!("cannot read free space at {}: {e}", existing.display()))?;
    let block = v.fragment_size() as f64;
    Ok((
        v.blocks_available() as f64 * block,
        (v.blocks() as f64 * block).max(1.0),
        existing.to_path_buf(),
    ))
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
            status: Status::Ok,
            detail,
            duration_ms,
        },
        Err(detail) => {
            tracing::warn!(check = name, %detail, "readiness check failed");
            CheckResult {
                name,
                status: Status::Failed,
                detail,
                duration_ms,
            }
        }
    }
}
