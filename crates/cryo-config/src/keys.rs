//! The one list of configuration keys.

/// One configuration key.
#[derive(Debug)]
pub struct KeyDef {
    /// Dotted path as written in the TOML config file.
    pub path: &'static str,
    /// Environment variable that overrides it.
    pub env: &'static str,
    /// Secrets are redacted in output and may be read from files.
    pub secret: bool,
    /// Built-in default as a string, parsed like any other layer.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

const fn key(
    path: &'static str,
    env: &'static str,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        path,
        env,
        secret: false,
        default,
        doc,
    }
}

const fn secret(path: &'static str, env: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        path,
        env,
        secret: true,
        default: None,
        doc,
    }
}

pub static KEYS: &[KeyDef] = &[
    key(
        "environment",
        "CRYOPROTECT_ENV",
        Some("development"),
        "Deployment profile: development, test, staging or production",
    ),
    key(
        "server.host",
        "CRYOPROTECT_HOST",
        Some("127.0.0.1"),
        "Address the HTTP server binds to",
    ),
    key(
        "server.port",
        "CRYOPROTECT_PORT",
        Some("8080"),
        "HTTP port (0 picks a free port)",
    ),
    key(
        "server.request_timeout_secs",
        "CRYOPROTECT_REQUEST_TIMEOUT_SECS",
        Some("30"),
        "Requests running longer than this are answered 408",
    ),
    key(
        "server.body_limit_bytes",
        "CRYOPROTECT_BODY_LIMIT_BYTES",
        Some("10485760"),
        "Largest accepted request body in bytes",
    ),
    key(
        "server.shutdown_grace_secs",
        "CRYOPROTECT_SHUTDOWN_GRACE_SECS",
        Some("20"),
        "How long in-flight requests may finish after SIGTERM/Ctrl-C",
    ),
    key(
        "server.cors_origins",
        "CRYOPROTECT_CORS_ORIGINS",
        None,
        "Comma-separated origins allowed to call the API from a browser (unset: same origin only; `*` is refused in staging and production)",
    ),
    key(
        "server.release",
        "CRYOPROTECT_RELEASE",
        None,
        "The release name this process runs (set by deploy/host/deploy.sh; shown by /health/live)",
    ),
    key(
        "server.slow_request_ms",
        "CRYOPROTECT_SLOW_REQUEST_MS",
        Some("1000"),
        "Requests slower than this are logged as warnings (\"slow request\")",
    ),
    key(
        "server.trusted_proxies",
        "CRYOPROTECT_TRUSTED_PROXIES",
        Some("127.0.0.1,::1"),
        "Peer addresses whose X-Forwarded-For is believed (the reverse proxy); other peers are the client themselves",
    ),
    key(
        "server.metrics_addr",
        "CRYOPROTECT_METRICS_ADDR",
        None,
        "Serve /metrics on this separate address (e.g. 127.0.0.1:9464) instead of the main port",
    ),
    secret(
        "database.url",
        "DATABASE_URL",
        "PostgreSQL URL; when unset, an embedded cluster is run in database.data_dir",
    ),
    secret(
        "database.api_url",
        "DATABASE_API_URL",
        "URL of the API's login role (LOGIN NOINHERIT, see `cryoprotect db bootstrap`); required with DATABASE_URL",
    ),
    key(
        "database.data_dir",
        "CRYOPROTECT_DATA_DIR",
        Some("./var"),
        "Folder for the embedded PostgreSQL cluster and local state",
    ),
    key(
        "database.embedded_port",
        "CRYOPROTECT_EMBEDDED_PG_PORT",
        Some("0"),
        "Loopback port of the embedded cluster (0 picks a free port)",
    ),
    key(
        "database.os_user",
        "CRYOPROTECT_PG_OS_USER",
        Some("postgres"),
        "OS user that runs the embedded cluster when cryoprotect runs as root",
    ),
    key(
        "database.max_connections",
        "CRYOPROTECT_DB_MAX_CONNECTIONS",
        Some("10"),
        "Connection pool size",
    ),
    key(
        "database.acquire_timeout_secs",
        "CRYOPROTECT_DB_ACQUIRE_TIMEOUT_SECS",
        Some("5"),
        "How long a request waits for a pooled connection",
    ),
    key(
        "database.auto_migrate",
        "CRYOPROTECT_AUTO_MIGRATE",
        Some("true"),
        "Apply pending migrations when `serve` starts",
    ),
    key(
        "database.backup_before_migrate",
        "CRYOPROTECT_BACKUP_BEFORE_MIGRATE",
        Some("true"),
        "Back up a database that holds data before applying migrations to it",
    ),
    key(
        "backup.dir",
        "CRYOPROTECT_BACKUP_DIR",
        Some("./var/backups"),
        "Folder for backups (dumps and their manifests)",
    ),
    key(
        "backup.encryption_key_file",
        "CRYOPROTECT_BACKUP_ENCRYPTION_KEY_FILE",
        None,
        "age key file (`cryoprotect backup keygen`): backups are encrypted at rest to it and decrypted with it",
    ),
    key(
        "backup.schedule",
        "CRYOPROTECT_BACKUP_SCHEDULE",
        None,
        "Cron expression (UTC) for backups run by `serve`, each followed by a prune, e.g. \"0 2 * * *\"",
    ),
    key(
        "backup.warn_after_hours",
        "CRYOPROTECT_BACKUP_WARN_AFTER_HOURS",
        Some("25"),
        "Backup health turns to warning when the last good backup is older than this",
    ),
    key(
        "backup.keep_daily",
        "CRYOPROTECT_BACKUP_KEEP_DAILY",
        Some("7"),
        "Prune: daily backups kept",
    ),
    key(
        "backup.keep_weekly",
        "CRYOPROTECT_BACKUP_KEEP_WEEKLY",
        Some("4"),
        "Prune: weekly backups kept",
    ),
    key(
        "backup.keep_monthly",
        "CRYOPROTECT_BACKUP_KEEP_MONTHLY",
        Some("6"),
        "Prune: monthly backups kept",
    ),
    key(
        "backup.keep_yearly",
        "CRYOPROTECT_BACKUP_KEEP_YEARLY",
        Some("2"),
        "Prune: yearly backups kept",
    ),
    key(
        "backup.max_age_days",
        "CRYOPROTECT_BACKUP_MAX_AGE_DAYS",
        None,
        "Prune: remove unlabelled backups older than this, whatever the slots above keep",
    ),
    key(
        "backup.keep_min",
        "CRYOPROTECT_BACKUP_KEEP_MIN",
        Some("3"),
        "Prune: the newest this many good backups are always kept, whatever max_age_days says",
    ),
    secret(
        "auth.jwt_secret",
        "CRYOPROTECT_JWT_SECRET",
        "HS256 signing secret for access tokens (at least 32 bytes; required in production)",
    ),
    key(
        "auth.access_ttl_secs",
        "CRYOPROTECT_ACCESS_TTL_SECS",
        Some("900"),
        "Lifetime of access tokens (JWT) in seconds",
    ),
    key(
        "auth.refresh_ttl_secs",
        "CRYOPROTECT_REFRESH_TTL_SECS",
        Some("2592000"),
        "Lifetime of refresh tokens in seconds",
    ),
    key(
        "auth.lockout_after",
        "CRYOPROTECT_LOCKOUT_AFTER",
        Some("5"),
        "Sign-in attempts for one account from one client address before each further one waits (doubling from 1 minute, at most 1 hour); other addresses are unaffected",
    ),
    key(
        "auth.address_lockout_after",
        "CRYOPROTECT_ADDRESS_LOCKOUT_AFTER",
        Some("30"),
        "Failed sign-in attempts from one client address, over all accounts, before each further one waits (doubling from 1 minute, at most 1 hour)",
    ),
    key(
        "log.format",
        "CRYOPROTECT_LOG_FORMAT",
        Some("auto"),
        "auto (human on a terminal, JSON otherwise), json or pretty",
    ),
    key(
        "log.filter",
        "CRYOPROTECT_LOG",
        Some("info,sqlx::postgres::notice=warn"),
        "tracing filter, e.g. info or cryo_server=debug,info",
    ),
    key(
        "log.dir",
        "CRYOPROTECT_LOG_DIR",
        None,
        "If set, JSON logs are also written to daily-rotated files here",
    ),
    key(
        "log.max_files",
        "CRYOPROTECT_LOG_MAX_FILES",
        Some("14"),
        "Rotated log files kept",
    ),
    key(
        "health.cache_seconds",
        "CRYOPROTECT_HEALTH_CACHE_SECONDS",
        Some("10"),
        "The health API reuses a result this many seconds (0: always run the checks)",
    ),
    key(
        "health.latency_warn_ms",
        "CRYOPROTECT_HEALTH_LATENCY_WARN_MS",
        Some("50"),
        "Health: database round trip above this is a warning (10x: critical)",
    ),
    key(
        "health.long_query_warn_secs",
        "CRYOPROTECT_HEALTH_LONG_QUERY_WARN_SECS",
        Some("60"),
        "Health: queries running longer are a warning (5x: critical)",
    ),
    key(
        "health.idle_in_transaction_warn_secs",
        "CRYOPROTECT_HEALTH_IDLE_IN_TRANSACTION_WARN_SECS",
        Some("30"),
        "Health: sessions idle in an open transaction longer are a warning (10x: critical)",
    ),
    key(
        "health.connections_warn",
        "CRYOPROTECT_HEALTH_CONNECTIONS_WARN",
        Some("0.75"),
        "Health: share of max_connections in use that is a warning (critical at 0.9 or above)",
    ),
    key(
        "health.dead_tuple_ratio",
        "CRYOPROTECT_HEALTH_DEAD_TUPLE_RATIO",
        Some("0.2"),
        "Health: dead/total rows of a table above this is a warning",
    ),
    secret(
        "alerts.webhook_url",
        "CRYOPROTECT_ALERTS_WEBHOOK_URL",
        "Direct notifications: POST alerts (failed backups and training, degraded health) here as JSON (http or https); unset: alerts are only recorded",
    ),
    secret(
        "alerts.webhook_secret",
        "CRYOPROTECT_ALERTS_WEBHOOK_SECRET",
        "Signs each webhook body: X-CryoProtect-Signature = sha256=HMAC(secret, timestamp + \".\" + body)",
    ),
    key(
        "alerts.repeat_secs",
        "CRYOPROTECT_ALERTS_REPEAT_SECS",
        Some("14400"),
        "An alert that keeps firing is notified again after this long (de-duplicated before)",
    ),
    key(
        "alerts.retry_base_secs",
        "CRYOPROTECT_ALERTS_RETRY_BASE_SECS",
        Some("2"),
        "First retry delay of a failed delivery; doubles per attempt, at most 5 minutes",
    ),
    key(
        "alerts.max_attempts",
        "CRYOPROTECT_ALERTS_MAX_ATTEMPTS",
        Some("30"),
        "A delivery that failed this many times is given up (state dead)",
    ),
    key(
        "alerts.health_check_secs",
        "CRYOPROTECT_ALERTS_HEALTH_CHECK_SECS",
        Some("60"),
        "How often `serve` checks its own health and raises or resolves alerts for degraded dependencies",
    ),
    key(
        "models.workers",
        "CRYOPROTECT_MODELS_WORKERS",
        Some("1"),
        "Training-job workers inside `serve` (0: this instance trains nothing)",
    ),
    key(
        "models.heartbeat_secs",
        "CRYOPROTECT_MODELS_HEARTBEAT_SECS",
        Some("1"),
        "A running job records progress and checks for cancellation this often",
    ),
    key(
        "models.stale_after_secs",
        "CRYOPROTECT_MODELS_STALE_AFTER_SECS",
        Some("30"),
        "A running job without a heartbeat for this long is re-queued (its worker died)",
    ),
    key(
        "models.max_attempts",
        "CRYOPROTECT_MODELS_MAX_ATTEMPTS",
        Some("3"),
        "A job whose worker died this many times fails instead of being re-queued",
    ),
    key(
        "models.max_batch",
        "CRYOPROTECT_MODELS_MAX_BATCH",
        Some("1000"),
        "Most inputs one predict request may carry",
    ),
    key(
        "models.fallback_to_previous",
        "CRYOPROTECT_MODELS_FALLBACK_TO_PREVIOUS",
        Some("false"),
        "When the production version cannot predict, answer with the previous production version (flagged in the response) instead of an error",
    ),
    key(
        "models.cache_size",
        "CRYOPROTECT_MODELS_CACHE_SIZE",
        Some("16"),
        "Model versions kept decoded in memory for prediction",
    ),
    key(
        "models.max_train_secs",
        "CRYOPROTECT_MODELS_MAX_TRAIN_SECS",
        Some("3600"),
        "A training job that runs longer is stopped at its next tree or epoch and fails, saying so",
    ),
    key(
        "models.max_model_mb",
        "CRYOPROTECT_MODELS_MAX_MODEL_MB",
        Some("1024"),
        "Training requests whose estimated model size (all validation folds included) exceeds this are refused before any fitting",
    ),
    key(
        "models.screening_max_rows",
        "CRYOPROTECT_MODELS_SCREENING_MAX_ROWS",
        Some("1000000"),
        "Most structures one screening job may hold (a library snapshot or an upload)",
    ),
    key(
        "models.screening_chunk_rows",
        "CRYOPROTECT_MODELS_SCREENING_CHUNK_ROWS",
        Some("250"),
        "Structures per screening chunk: what one worker claims, computes and stores at a time",
    ),
    key(
        "limits.max_atoms",
        "CRYOPROTECT_LIMITS_MAX_ATOMS",
        Some("400"),
        "Most atoms (as written, explicit hydrogens included) in a submitted structure; checked on the text before RDKit parses it",
    ),
    key(
        "limits.max_smiles_bytes",
        "CRYOPROTECT_LIMITS_MAX_SMILES_BYTES",
        Some("4096"),
        "Longest SMILES or SMARTS accepted, in bytes",
    ),
    key(
        "limits.max_molblock_bytes",
        "CRYOPROTECT_LIMITS_MAX_MOLBLOCK_BYTES",
        Some("524288"),
        "Largest MOL block accepted, in bytes",
    ),
    key(
        "limits.max_fragments",
        "CRYOPROTECT_LIMITS_MAX_FRAGMENTS",
        Some("32"),
        "Most disconnected parts (`.`) in one structure",
    ),
    key(
        "limits.max_rings",
        "CRYOPROTECT_LIMITS_MAX_RINGS",
        Some("64"),
        "Most independent rings (ring closures) in one structure",
    ),
    key(
        "limits.max_query_atoms",
        "CRYOPROTECT_LIMITS_MAX_QUERY_ATOMS",
        Some("64"),
        "Most atoms in a substructure query, counting those in recursive $(...) environments",
    ),
    key(
        "limits.compute_threads",
        "CRYOPROTECT_LIMITS_COMPUTE_THREADS",
        Some("0"),
        "Threads of the pool that runs chemistry and model work for requests (0: one per core); they run at lower CPU priority than the request handlers",
    ),
    key(
        "limits.compute_queue",
        "CRYOPROTECT_LIMITS_COMPUTE_QUEUE",
        Some("64"),
        "Computations waiting or running at once; past this a request is answered 503 with Retry-After",
    ),
    key(
        "limits.compute_deadline_secs",
        "CRYOPROTECT_LIMITS_COMPUTE_DEADLINE_SECS",
        Some("10"),
        "Longest one request's chemistry or prediction may run (queueing included); past it the work stops and the request is answered 422",
    ),
    key(
        "limits.rate_heavy_per_min",
        "CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN",
        Some("20"),
        "Heavy requests (training, search, scoring, prediction, evaluation) per minute for a user, or for an address when anonymous (0: unlimited)",
    ),
    key(
        "limits.rate_heavy_admin_per_min",
        "CRYOPROTECT_LIMITS_RATE_HEAVY_ADMIN_PER_MIN",
        Some("100"),
        "Heavy requests per minute for administrators (0: unlimited)",
    ),
    key(
        "limits.rate_auth_per_min",
        "CRYOPROTECT_LIMITS_RATE_AUTH_PER_MIN",
        Some("30"),
        "Register, sign-in and refresh requests per minute from one client address (0: unlimited)",
    ),
    key(
        "limits.rate_api_per_min",
        "CRYOPROTECT_LIMITS_RATE_API_PER_MIN",
        Some("600"),
        "Any other API request per minute for a user, or for an address when anonymous; administrators get five times this (0: unlimited)",
    ),
];
