use crate::auth::JwtKeys;
use crate::error::ApiError;
use cryo_config::Settings;
use cryo_db::Identity;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;

/// Connections of the service-read pool: each session check holds one for a single round trip.
const SERVICE_READ_CONNECTIONS: u32 = 2;

/// Shared by every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The API login role's pool. It can do nothing until [`AppState::begin`] sets an identity.
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub started_at: Instant,
    pub jwt: Arc<JwtKeys>,
    /// Administrative services on the owner's connection (absent in tests that do not need them).
    pub admin: Option<Arc<crate::system::AdminService>>,
    /// Decoded model versions, shared by every request.
    pub registry: Arc<cryo_app::registry::Registry>,
    /// Woken when a training job is queued, so an idle worker starts at once.
    pub jobs: Arc<tokio::sync::Notify>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Where requests' chemistry and model work runs (bounded, off the runtime).
    pub compute: Arc<cryo_app::compute::Compute>,
    /// Woken when an alert notification is queued.
    pub outbox: Arc<tokio::sync::Notify>,
    /// Token buckets of the rate limits (`limits.rate_*`).
    pub rate: Arc<crate::ratelimit::RateLimiter>,
    /// Set once startup checks have passed (`/health/startup`).
    pub started: Arc<std::sync::atomic::AtomicBool>,
    /// Connections acting as service_role for single-statement reads (the per-request session
    /// check): one round trip instead of a transaction's four.
    service_reads: PgPool,
    /// External (e.g. Supabase) user ids already given an account row.
    known_external: Arc<Mutex<HashSet<Uuid>>>,
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings) -> Result<Self, ApiError> {
        let jwt = JwtKeys::new(settings.auth.jwt_secret.expose().as_bytes())?;
        let l = &settings.limits;
        cryo_chem::limits::configure(cryo_chem::limits::Limits {
            max_smiles_bytes: l.max_smiles_bytes,
            max_molblock_bytes: l.max_molblock_bytes,
            max_atoms: l.max_atoms,
            max_bonds: l.max_atoms.saturating_mul(2),
            max_fragments: l.max_fragments,
            max_rings: l.max_rings,
            max_query_atoms: l.max_query_atoms,
            ..cryo_chem::limits::Limits::DEFAULT
        });
        Ok(AppState {
            compute: Arc::new(cryo_app::compute::Compute::new(l)?),
            registry: Arc::new(cryo_app::registry::Registry::new(
                settings.models.cache_size,
            )),
            jobs: Arc::default(),
            metrics: Arc::default(),
            outbox: Arc::default(),
            rate: Arc::default(),
            started: Arc::default(),
            service_reads: cryo_db::identity::service_reader(&pool, SERVICE_READ_CONNECTIONS),
            pool,
            settings: Arc::new(settings),
            started_at: Instant::now(),
            jwt: Arc::new(jwt),
            admin: None,
            known_external: Arc::default(),
        })
    }

    pub fn with_admin(mut self, service: Arc<crate::system::AdminService>) -> Self {
        self.admin = Some(service);
        self
    }

    /// A transaction as `identity`: the only way handlers reach the database.
    pub async fn begin(
        &self,
        identity: &Identity,
    ) -> Result<Transaction<'static, Postgres>, ApiError> {
        let started = Instant::now();
        match cryo_db::identity::begin(&self.pool, identity).await {
            Ok(tx) => {
                self.metrics
                    .db_acquire
                    .observe(started.elapsed().as_secs_f64());
                Ok(tx)
            }
            Err(e) => {
                self.metrics.db_acquire_failures.inc();
                Err(e.into())
            }
        }
    }

    /// Runs `f` in a transaction as service_role and commits: for the service's own work
    /// (queues, outbox, administrative tables) and for reads a handler has already authorised.
    pub async fn as_service<T>(
        &self,
        f: impl AsyncFnOnce(&mut cryo_db::repo::Conn) -> Result<T, cryo_db::DbError>,
    ) -> Result<T, ApiError> {
        let mut tx = self.begin(&Identity::service()).await?;
        let value = f(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// The user's role, whether the account is active, and the Unix second before which its
    /// tokens were ended: read on every signed-in request.
    pub async fn session_state(
        &self,
        id: Uuid,
    ) -> Result<Option<(String, bool, Option<i64>)>, ApiError> {
        Ok(cryo_db::repo::auth::session_state(&self.service_reads, id).await?)
    }

    /// Samples what `/metrics` reports by reading rather than counting: the pool, a database
    /// probe, the last backup, the process.
    pub async fn sample_for_scrape(&self) {
        let m = &self.metrics;
        let (size, idle) = (i64::from(self.pool.size()), self.pool.num_idle() as i64);
        m.db_pool_connections
            .get_or_create(&crate::metrics::StateLabel {
                state: "idle".into(),
            })
            .set(idle);
        m.db_pool_connections
            .get_or_create(&crate::metrics::StateLabel {
                state: "in_use".into(),
            })
            .set(size - idle);
        m.db_pool_max
            .set(i64::from(self.pool.options().get_max_connections()));
        let started = Instant::now();
        // Short: a scrape must finish within Prometheus' scrape timeout even when the database
        // does not answer.
        let probe = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            sqlx::query("SELECT 1").execute(&self.pool),
        )
        .await;
        let up = matches!(probe, Ok(Ok(_)));
        m.db_up.set(i64::from(up));
        if up {
            m.db_ping_seconds.set(started.elapsed().as_secs_f64());
        }
        if let Some(admin) = &self.admin {
            let b = admin.status();
            m.backup_last_success.set(
                b.last_success_at
                    .map_or(0.0, |t| t.unix_timestamp_nanos() as f64 / 1e9),
            );
            m.backup_duration
                .set(b.last_duration_seconds.unwrap_or(0.0));
            m.backup_size.set(b.last_size_bytes.unwrap_or(0) as f64);
            m.backup_failing.set(i64::from(b.last_error.is_some()));
        }
        let s = &self.settings;
        let mut folders = vec![("backups", &s.backup.dir)];
        if s.database.url.is_none() {
            folders.push(("data", &s.database.data_dir));
        }
        for (name, dir) in folders {
            if let Ok((free, total, _)) = crate::metrics::free_space(dir) {
                m.disk_free_ratio
                    .get_or_create(&crate::metrics::NameLabel { name: name.into() })
                    .set(free / total);
            }
        }
        m.sample_process();
    }

    pub async fn ensure_external_user(
        &self,
        id: Uuid,
        email: Option<&str>,
    ) -> Result<(), ApiError> {
        if self
            .known_external
            .lock()
            .map(|k| k.contains(&id))
            .unwrap_or(false)
        {
            return Ok(());
        }
        let mut tx = self.begin(&Identity::service()).await?;
        cryo_db::repo::auth::ensure_external_user(&mut tx, id, email).await?;
        tx.commit().await?;
        if let Ok(mut k) = self.known_external.lock() {
            k.insert(id);
        }
        Ok(())
    }
}
