//! Administrative services that need the owner's connection: backups (on demand and on a
//! schedule), database health (cached) and integrity repair. User requests never reach this
//! pool; only admin endpoints and `serve`'s scheduler.

use cryo_config::BackupSettings;
use cryo_db::backup::{self, BackupError, ConnSpec, Manifest, RetentionPolicy, Store};
use serde::Serialize;
use sqlx::PgPool;
use std::sync::Mutex;
use time::OffsetDateTime;

/// A health report, when it was made, and which checks it holds (`None`: all).
type CachedHealth = (
    std::time::Instant,
    Option<Vec<String>>,
    std::sync::Arc<cryo_db::health::Report>,
);

pub struct AdminService {
    pool: PgPool,
    spec: ConnSpec,
    pub store: Store,
    policy: RetentionPolicy,
    status: Mutex<BackupStatus>,
    /// One backup at a time.
    running: tokio::sync::Mutex<()>,
    thresholds: cryo_db::health::Thresholds,
    health_cache_seconds: u64,
    /// The last health report, when it was made, and which checks it holds.
    health_cache: Mutex<Option<CachedHealth>>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupStatus {
    pub running: bool,
    pub last_success_id: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub last_success_at: Option<OffsetDateTime>,
    pub last_duration_seconds: Option<f64>,
    pub last_size_bytes: Option<u64>,
    pub last_error: Option<String>,
    /// The schedule, if `serve` runs one.
    pub schedule: Option<String>,
    /// Hours since the last good backup.
    pub age_hours: Option<f64>,
    /// `ok`, or `warning` when there is no good backup or it is older than the threshold.
    pub health: String,
    pub warn_after_hours: f64,
}

impl AdminService {
    /// Fails when a configured backup encryption key cannot be read: backups must never be
    /// written in the clear by mistake.
    pub fn new(
        pool: PgPool,
        spec: ConnSpec,
        settings: &BackupSettings,
    ) -> Result<Self, BackupError> {
        let store = Store::from_settings(settings)?;
        let status = BackupStatus {
            schedule: settings.schedule.clone(),
            warn_after_hours: settings.warn_after_hours,
            ..Default::default()
        };
        Ok(AdminService {
            pool,
            spec,
            store,
            policy: RetentionPolicy::from_settings(settings),
            status: Mutex::new(status),
            running: tokio::sync::Mutex::new(()),
            thresholds: cryo_db::health::Thresholds {
                backup_warn_hours: settings.warn_after_hours,
                ..Default::default()
            },
            health_cache_seconds: 10,
            health_cache: Mutex::new(None),
        })
    }

    /// Health thresholds and result caching from the configuration.
    pub fn with_health(mut self, settings: &cryo_config::Settings) -> Self {
        self.thresholds = cryo_db::health::Thresholds::from_settings(settings);
        self.health_cache_seconds = settings.health.cache_seconds;
        self
    }

    /// The checks a comma-separated list names (`None`: all of them), refused naming the
    /// `checks` field when one is unknown.
    pub fn checks_named(list: Option<&str>) -> crate::AppResult<Option<Vec<String>>> {
        let Some(list) = list else { return Ok(None) };
        let names: Vec<String> = list
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        if let Some(bad) = names
            .iter()
            .find(|n| !cryo_db::health::CHECKS.contains(&n.as_str()))
        {
            return Err(crate::AppError::validation(
                "checks",
                format!(
                    "unknown check {bad:?}; known: {}",
                    cryo_db::health::CHECKS.join(", ")
                ),
            ));
        }
        Ok(Some(names))
    }

    /// The health report for `only` (all checks when `None`), reused for the configured
    /// number of seconds; the second value says whether it came from the cache.
    pub async fn health(
        &self,
        only: Option<Vec<String>>,
    ) -> Result<(std::sync::Arc<cryo_db::health::Report>, bool), cryo_db::DbError> {
        if let Ok(cache) = self.health_cache.lock()
            && let Some((at, checks, report)) = cache.as_ref()
            && *checks == only
            && at.elapsed().as_secs() < self.health_cache_seconds
        {
            return Ok((report.clone(), true));
        }
        let report = std::sync::Arc::new(
            cryo_db::health::run(
                &self.pool,
                &self.thresholds,
                Some(&self.store),
                only.as_deref(),
            )
            .await?,
        );
        if let Ok(mut cache) = self.health_cache.lock() {
            *cache = Some((std::time::Instant::now(), only, report.clone()));
        }
        Ok((report, false))
    }

    /// Repairs referential integrity (after a safety backup unless it is a dry run).
    pub async fn fix_integrity(
        &self,
        strategy: cryo_db::integrity::Strategy,
        dry_run: bool,
        actor: &str,
    ) -> Result<cryo_db::integrity::FixReport, String> {
        let before = cryo_db::integrity::check(&self.pool, true)
            .await
            .map_err(|e| e.to_string())?;
        if !before.is_clean() && !dry_run {
            self.run(Some("before-integrity-fix".into()))
                .await
                .map_err(|e| format!("safety backup failed, nothing changed: {e}"))?;
        }
        let report = cryo_db::integrity::fix_checked(&self.pool, before, strategy, dry_run, actor)
            .await
            .map_err(|e| e.to_string())?;
        if let Ok(mut cache) = self.health_cache.lock() {
            *cache = None;
        }
        Ok(report)
    }

    pub fn status(&self) -> BackupStatus {
        let mut s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        s.running = self.running.try_lock().is_err();
        if s.last_success_id.is_none()
            && let Ok(Some(latest)) = self.store.list().map(|l| l.into_iter().next())
        {
            s.last_success_id = Some(latest.id);
            s.last_success_at = Some(latest.finished_at);
            s.last_size_bytes = Some(latest.size_bytes);
        }
        s.age_hours = s
            .last_success_at
            .map(|t| (OffsetDateTime::now_utc() - t).as_seconds_f64() / 3600.0);
        s.health = match s.age_hours {
            Some(h) if h <= s.warn_after_hours => "ok".into(),
            _ => "warning".into(),
        };
        s
    }

    /// Take a backup, record the outcome, then prune by the retention policy.
    pub async fn run(&self, label: Option<String>) -> Result<Manifest, BackupError> {
        let _one_at_a_time = self.running.lock().await;
        let started = std::time::Instant::now();
        let result = backup::create(&self.pool, &self.spec, &self.store, label).await;
        // In a block: the guard must be gone before the sweep's awaits.
        {
            let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
            match &result {
                Ok(m) => {
                    status.last_success_id = Some(m.id.clone());
                    status.last_success_at = Some(m.finished_at);
                    status.last_duration_seconds = Some(started.elapsed().as_secs_f64());
                    status.last_size_bytes = Some(m.size_bytes);
                    status.last_error = None;
                    tracing::info!(backup = %m.id, bytes = m.size_bytes, "backup written");
                }
                Err(e) => {
                    status.last_error = Some(e.to_string());
                    tracing::error!(error = %e, "backup failed");
                }
            }
        }
        if result.is_ok()
            && let Ok(list) = self.store.list()
        {
            let (_, delete) = backup::plan_prune(&list, &self.policy, OffsetDateTime::now_utc());
            for m in list.iter().filter(|m| delete.contains(&m.id)) {
                if let Err(e) = self.store.delete(m) {
                    tracing::warn!(backup = %m.id, error = %e, "pruning failed");
                }
            }
            self.sweep().await;
        }
        result
    }

    /// Removes what interrupted backups, verifies and restores left: leftover dump files
    /// ([`cryo_db::backup::Store::sweep`]) and scratch databases
    /// ([`cryo_db::backup::drop_scratch_databases`]). Logged, never failing: run after each
    /// backup and when `serve` starts.
    pub async fn sweep(&self) {
        match self.store.sweep() {
            Ok(files) if !files.is_empty() => {
                tracing::warn!(files = ?files, "removed files interrupted backups left")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not sweep the backup folder"),
        }
        match backup::drop_scratch_databases(&self.spec).await {
            Ok(dropped) if !dropped.is_empty() => {
                tracing::warn!(databases = ?dropped, "dropped scratch databases interrupted work left")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not look for scratch databases"),
        }
    }

    pub async fn verify(&self, id: &str) -> Result<Manifest, BackupError> {
        backup::verify(&self.store, &self.spec, id).await
    }
}

/// Parse a 5-field cron expression (UTC).
pub fn parse_schedule(expr: &str) -> Result<croner::Cron, String> {
    expr.parse::<croner::Cron>()
        .map_err(|e| format!("invalid backup.schedule `{expr}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_schedule;
    use chrono::TimeZone;

    #[test]
    fn schedules_parse_and_find_the_next_run() {
        let cron = parse_schedule("0 2 * * *").unwrap();
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 29, 1, 30, 0)
            .unwrap();
        let next = cron.find_next_occurrence(&now, false).unwrap();
        assert_eq!(
            next,
            chrono::Utc.with_ymd_and_hms(2026, 11, 29, 2, 0, 0).unwrap()
        );
        let err = parse_schedule("every night").unwrap_err();
        assert!(err.contains("backup.schedule"), "{err}");
    }
}
