//! Typed settings, parsed once from the resolved layers.

use crate::{ConfigError, Resolved};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Staging,
    Production,
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "development" | "dev" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "staging" => Ok(Self::Staging),
            "production" | "prod" => Ok(Self::Production),
            _ => Err("expected development, test, staging or production".into()),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Staging => "staging",
            Self::Production => "production",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Auto,
    Json,
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "json" => Ok(Self::Json),
            "pretty" | "human" => Ok(Self::Pretty),
            _ => Err("expected auto, json or pretty".into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub host: IpAddr,
    pub port: u16,
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    pub shutdown_grace: Duration,
    pub slow_request: Duration,
    pub release: Option<String>,
    /// Browser origins allowed cross-origin; empty: same origin only.
    pub cors_origins: Vec<String>,
    /// When set, `/metrics` is served only on this address.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// None: run the embedded cluster.
    pub url: Option<Secret>,
    /// The login role requests are served through; derived automatically for the embedded cluster.
    pub api_url: Option<Secret>,
    pub data_dir: PathBuf,
    pub embedded_port: u16,
    pub os_user: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub auto_migrate: bool,
    pub backup_before_migrate: bool,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub jwt_secret: Secret,
    /// True when no secret was configured and a per-process random one is in use.
    pub jwt_secret_is_ephemeral: bool,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub lockout_after: u32,
    pub address_lockout_after: u32,
}

#[derive(Debug, Clone)]
pub struct HealthSettings {
    pub cache_seconds: u64,
    pub latency_warn_ms: f64,
    pub long_query_warn_secs: f64,
    pub idle_in_transaction_warn_secs: f64,
    pub connections_warn: f64,
    pub dead_tuple_ratio: f64,
}

#[derive(Debug, Clone)]
pub struct BackupSettings {
    pub dir: PathBuf,
    pub encryption_key_file: Option<PathBuf>,
    pub schedule: Option<String>,
    pub warn_after_hours: f64,
    pub keep_daily: usize,
    pub keep_weekly: usize,
    pub keep_monthly: usize,
    pub keep_yearly: usize,
    pub max_age_days: Option<i64>,
    pub keep_min: usize,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
    pub dir: Option<PathBuf>,
    pub max_files: usize,
}

#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub webhook_url: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    pub repeat_secs: f64,
    pub retry_base_secs: f64,
    pub max_attempts: i64,
    pub health_check_secs: f64,
}

#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub workers: usize,
    pub heartbeat_secs: f64,
    pub stale_after_secs: f64,
    pub max_attempts: i64,
    pub max_batch: usize,
    pub fallback_to_previous: bool,
    pub cache_size: usize,
    pub max_train: Duration,
    pub max_model_bytes: u64,
    /// Most structures one screening job may hold.
    pub screening_max_rows: i64,
    /// Structures per screening chunk (what one worker claims at a time).
    pub screening_chunk_rows: i64,
}

/// Bounds on what one request may make the server compute.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    pub max_atoms: usize,
    pub max_smiles_bytes: usize,
    pub max_molblock_bytes: usize,
    pub max_fragments: usize,
    pub max_rings: usize,
    pub max_query_atoms: usize,
    /// 0: one per core.
    pub compute_threads: usize,
    pub compute_queue: usize,
    pub compute_deadline: Duration,
    /// Requests per minute by class; 0: unlimited.
    pub rate_heavy_per_min: u32,
    pub rate_heavy_admin_per_min: u32,
    pub rate_auth_per_min: u32,
    pub rate_api_per_min: u32,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub backup: BackupSettings,
    pub health: HealthSettings,
    pub models: ModelSettings,
    pub alerts: AlertSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
}

/// The smallest JWT secret accepted outside development: 256 bits, as HS256 wants.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

struct Parser<'a>(&'a Resolved);

impl Parser<'_> {
    fn raw(&self, key: &'static str) -> Option<&(String, crate::Source)> {
        self.0.get(key).filter(|(v, _)| !v.is_empty())
    }

    fn opt<T: FromStr>(&self, key: &'static str) -> Result<Option<T>, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.raw(key) {
            None => Ok(None),
            Some((v, src)) => v
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|e| ConfigError::Invalid {
                    key,
                    source_name: src.to_string(),
                    message: format!(
                        "`{}`: {e}",
                        if crate::KEYS.iter().any(|k| k.path == key && k.secret) {
                            "(redacted)"
                        } else {
                            v
                        }
                    ),
                }),
        }
    }

    fn req<T: FromStr>(&self, key: &'static str) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        self.opt(key)?.ok_or_else(|| ConfigError::Invalid {
            key,
            source_name: "default".into(),
            message: "a value is required".into(),
        })
    }

    fn secs(&self, key: &'static str) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(self.req::<u64>(key)?))
    }

    /// A comma-separated list, each item parsed; empty or unset: none.
    fn list<T: FromStr>(&self, key: &'static str) -> Result<Vec<T>, ConfigError>
    where
        T::Err: fmt::Display,
    {
        let Some((v, src)) = self.raw(key) else {
            return Ok(Vec::new());
        };
        v.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<T>().map_err(|e| ConfigError::Invalid {
                    key,
                    source_name: src.to_string(),
                    message: format!("`{item}`: {e}"),
                })
            })
            .collect()
    }
}

impl Settings {
    pub fn from_resolved(r: &Resolved) -> Result<Self, ConfigError> {
        let p = Parser(r);
        let environment: Environment = p.req("environment")?;
        let jwt = p.opt::<String>("auth.jwt_secret")?;
        let settings = Settings {
            environment,
            server: ServerSettings {
                host: p.req("server.host")?,
                port: p.req("server.port")?,
                request_timeout: p.secs("server.request_timeout_secs")?,
                body_limit_bytes: p.req("server.body_limit_bytes")?,
                shutdown_grace: p.secs("server.shutdown_grace_secs")?,
                slow_request: Duration::from_millis(p.req("server.slow_request_ms")?),
                release: p.opt("server.release")?,
                cors_origins: p
                    .opt::<String>("server.cors_origins")?
                    .map(|v| {
                        v.split(',')
                            .map(|o| o.trim().to_string())
                            .filter(|o| !o.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                metrics_addr: p.opt("server.metrics_addr")?,
                trusted_proxies: p.list("server.trusted_proxies")?,
            },
            database: DatabaseSettings {
                url: p.opt::<String>("database.url")?.map(Secret),
                api_url: p.opt::<String>("database.api_url")?.map(Secret),
                data_dir: p.req("database.data_dir")?,
                embedded_port: p.req("database.embedded_port")?,
                os_user: p.req("database.os_user")?,
                max_connections: p.req("database.max_connections")?,
                acquire_timeout: p.secs("database.acquire_timeout_secs")?,
                auto_migrate: p.req("database.auto_migrate")?,
                backup_before_migrate: p.req("database.backup_before_migrate")?,
            },
            auth: AuthSettings {
                jwt_secret_is_ephemeral: jwt.is_none(),
                jwt_secret: Secret(jwt.unwrap_or_else(ephemeral_secret)),
                access_ttl: p.secs("auth.access_ttl_secs")?,
                refresh_ttl: p.secs("auth.refresh_ttl_secs")?,
                lockout_after: p.req("auth.lockout_after")?,
                address_lockout_after: p.req("auth.address_lockout_after")?,
            },
            backup: BackupSettings {
                dir: p.req("backup.dir")?,
                encryption_key_file: p.opt("backup.encryption_key_file")?,
                schedule: p.opt("backup.schedule")?,
                warn_after_hours: p.req("backup.warn_after_hours")?,
                keep_daily: p.req("backup.keep_daily")?,
                keep_weekly: p.req("backup.keep_weekly")?,
                keep_monthly: p.req("backup.keep_monthly")?,
                keep_yearly: p.req("backup.keep_yearly")?,
                max_age_days: p.opt("backup.max_age_days")?,
                keep_min: p.req("backup.keep_min")?,
            },
            health: HealthSettings {
                cache_seconds: p.req("health.cache_seconds")?,
                latency_warn_ms: p.req("health.latency_warn_ms")?,
                long_query_warn_secs: p.req("health.long_query_warn_secs")?,
                idle_in_transaction_warn_secs: p.req("health.idle_in_transaction_warn_secs")?,
                connections_warn: p.req("health.connections_warn")?,
                dead_tuple_ratio: p.req("health.dead_tuple_ratio")?,
            },
            alerts: AlertSettings {
                webhook_url: p.opt::<String>("alerts.webhook_url")?.map(Secret),
                webhook_secret: p.opt::<String>("alerts.webhook_secret")?.map(Secret),
                repeat_secs: p.req("alerts.repeat_secs")?,
                retry_base_secs: p.req("alerts.retry_base_secs")?,
                max_attempts: p.req("alerts.max_attempts")?,
                health_check_secs: p.req("alerts.health_check_secs")?,
            },
            models: ModelSettings {
                workers: p.req("models.workers")?,
                heartbeat_secs: p.req("models.heartbeat_secs")?,
                stale_after_secs: p.req("models.stale_after_secs")?,
                max_attempts: p.req("models.max_attempts")?,
                max_batch: p.req("models.max_batch")?,
                fallback_to_previous: p.req("models.fallback_to_previous")?,
                cache_size: p.req("models.cache_size")?,
                max_train: p.secs("models.max_train_secs")?,
                max_model_bytes: p.req::<u64>("models.max_model_mb")?.saturating_mul(1 << 20),
                screening_max_rows: p.req("models.screening_max_rows")?,
                screening_chunk_rows: p.req("models.screening_chunk_rows")?,
            },
            limits: LimitSettings {
                max_atoms: p.req("limits.max_atoms")?,
                max_smiles_bytes: p.req("limits.max_smiles_bytes")?,
                max_molblock_bytes: p.req("limits.max_molblock_bytes")?,
                max_fragments: p.req("limits.max_fragments")?,
                max_rings: p.req("limits.max_rings")?,
                max_query_atoms: p.req("limits.max_query_atoms")?,
                compute_threads: p.req("limits.compute_threads")?,
                compute_queue: p.req("limits.compute_queue")?,
                compute_deadline: p.secs("limits.compute_deadline_secs")?,
                rate_heavy_per_min: p.req("limits.rate_heavy_per_min")?,
                rate_heavy_admin_per_min: p.req("limits.rate_heavy_admin_per_min")?,
                rate_auth_per_min: p.req("limits.rate_auth_per_min")?,
                rate_api_per_min: p.req("limits.rate_api_per_min")?,
            },
            log: LogSettings {
                format: p.req("log.format")?,
                filter: p.req("log.filter")?,
                dir: p.opt("log.dir")?,
                max_files: p.req("log.max_files")?,
            },
        };
        settings.check_safety()?;
        Ok(settings)
    }

    /// Settings that are tolerable on a laptop but not in a shared deployment.
    fn check_safety(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let strict = matches!(
            self.environment,
            Environment::Staging | Environment::Production
        );
        if self.database.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".to_string());
        }
        if self.limits.compute_queue == 0 {
            problems.push("limits.compute_queue must be at least 1".to_string());
        }
        if self.limits.compute_deadline.is_zero() {
            problems.push("limits.compute_deadline_secs must be at least 1".to_string());
        }
        if self.log.max_files == 0 {
            problems.push("log.max_files must be at least 1".to_string());
        }
        if strict {
            if self.auth.jwt_secret_is_ephemeral {
                problems.push("auth.jwt_secret must be set (CRYOPROTECT_JWT_SECRET or CRYOPROTECT_JWT_SECRET_FILE)".into());
            } else if self.auth.jwt_secret.expose().len() < MIN_JWT_SECRET_BYTES {
                problems.push(format!(
                    "auth.jwt_secret must be at least {MIN_JWT_SECRET_BYTES} bytes"
                ));
            } else if looks_like_placeholder(self.auth.jwt_secret.expose()) {
                problems.push("auth.jwt_secret is a placeholder value; generate one with `openssl rand -hex 32`".into());
            }
            let f = self.log.filter.to_ascii_lowercase();
            if f.contains("debug") || f.contains("trace") {
                problems.push("log.filter must not enable debug or trace logging".into());
            }
            if self.server.cors_origins.iter().any(|o| o == "*") {
                problems.push("server.cors_origins must name the allowed origins, not `*`".into());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Unsafe {
                environment: self.environment.to_string(),
                problems,
            })
        }
    }
}

fn looks_like_placeholder(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    [
        "change",
        "secret",
        "example",
        "default",
        "placeholder",
        "xxxx",
    ]
    .iter()
    .any(|w| l.contains(w))
        || s.chars().all(|c| c == s.chars().next().unwrap_or(' '))
}

/// A random secret for development: tokens stop working when the process restarts, which is the
/// honest behaviour for an unconfigured secret.
fn ephemeral_secret() -> String {
    use rand::Rng;
    hex::encode(rand::rng().random::<[u8; 32]>())
}
