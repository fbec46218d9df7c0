//! What every use case shares, built once by `serve` (and by tests) and cloned cheaply.

use crate::AppResult;
use crate::compute::Compute;
use crate::registry::Registry;
use crate::system::AdminService;
use cryo_config::Settings;
use cryo_db::Identity;
use sqlx::{PgPool, Postgres, Transaction};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// Told about what the use cases do, for metrics; the HTTP layer's Prometheus registry is one.
/// Every method does nothing by default.
pub trait Observer: Send + Sync {
    /// A transaction was opened after `seconds` waiting for a connection.
    fn db_acquired(&self, _seconds: f64) {}
    /// No connection could be had.
    fn db_acquire_failed(&self) {}
    /// A training job ended `succeeded`, `cancelled` or `failed`.
    fn training_finished(&self, _state: &'static str) {}
    /// A prediction request of `property` answered `answered` inputs in `seconds`.
    fn predicted(&self, _property: &str, _answered: u64, _seconds: f64) {}
}

struct Unobserved;
impl Observer for Unobserved {}

#[derive(Clone)]
pub struct App {
    /// The API login role's pool. It can do nothing until [`App::begin`] sets an identity.
    pool: PgPool,
    pub settings: Arc<Settings>,
    /// Where chemistry and model work runs (bounded, off the async runtime).
    pub compute: Arc<Compute>,
    /// Decoded model versions, shared by every request.
    pub registry: Arc<Registry>,
    /// Woken when a training job is queued, so an idle worker starts at once.
    pub jobs: Arc<Notify>,
    /// Woken when an alert notification is queued.
    pub outbox: Arc<Notify>,
    /// Administrative services on the owner's connection (absent where they are not needed).
    pub admin: Option<Arc<AdminService>>,
    pub observer: Arc<dyn Observer>,
    pub started_at: Instant,
}

impl App {
    /// Configures the structure limits RDKit is guarded by (`limits.*`) and the compute pool.
    pub fn new(pool: PgPool, settings: Settings) -> AppResult<Self> {
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
        Ok(App {
            compute: Arc::new(Compute::new(l)?),
            registry: Arc::new(Registry::new(settings.models.cache_size)),
            jobs: Arc::default(),
            outbox: Arc::default(),
            admin: None,
            observer: Arc::new(Unobserved),
            pool,
            settings: Arc::new(settings),
            started_at: Instant::now(),
        })
    }

    pub fn with_admin(mut self, service: Arc<AdminService>) -> Self {
        self.admin = Some(service);
        self
    }

    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// The login role's pool, for what needs no identity (a `SELECT 1` probe, pool figures).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A transaction as `identity`: the only way use cases reach the database.
    pub async fn begin(&self, identity: &Identity) -> AppResult<Transaction<'static, Postgres>> {
        let started = Instant::now();
        match cryo_db::identity::begin(&self.pool, identity).await {
            Ok(tx) => {
                self.observer.db_acquired(started.elapsed().as_secs_f64());
                Ok(tx)
            }
            Err(e) => {
                self.observer.db_acquire_failed();
                Err(e.into())
            }
        }
    }

    /// Runs `f` in a transaction as service_role and commits: for the service's own work
    /// (queues, outbox, administrative tables) and for reads already authorised.
    pub async fn as_service<T>(
        &self,
        f: impl AsyncFnOnce(&mut cryo_db::repo::Conn) -> Result<T, cryo_db::DbError>,
    ) -> AppResult<T> {
        let mut tx = self.begin(&Identity::service()).await?;
        let value = f(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }
}
