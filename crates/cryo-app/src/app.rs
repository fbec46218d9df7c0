//! What every use case shares, built once by `serve` (and by tests) and cloned cheaply.

use crate::compute::Compute;
use crate::registry::Registry;
use crate::system::AdminService;
use crate::{AppError, AppResult};
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
    /// Whether this replica leads the cluster: what must run once per cluster (scheduled
    /// backups, the health watch) runs only where this holds.
    pub leader: Arc<cryo_db::leader::Lease>,
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
            leader: Arc::new(cryo_db::leader::Lease::new(&pool)),
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

    /// Runs `f` in one transaction as `identity` and commits when it returns `Ok`; an `Err`
    /// drops the transaction, which rolls it back. The error type is the caller's (the HTTP
    /// layer's, or [`AppError`]).
    pub async fn run<T, E: From<AppError>>(
        &self,
        identity: &Identity,
        f: impl AsyncFnOnce(&mut cryo_db::repo::Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = self.begin(identity).await?;
        let value = f(&mut tx).await?;
        tx.commit().await.map_err(AppError::from)?;
        Ok(value)
    }

    /// Runs `f` in a transaction as service_role and commits: for the service's own work
    /// (queues, outbox, administrative tables) and for reads already authorised.
    pub async fn as_service<T>(
        &self,
        f: impl AsyncFnOnce(&mut cryo_db::repo::Conn) -> Result<T, cryo_db::DbError>,
    ) -> AppResult<T> {
        self.run(&Identity::service(), async |tx| {
            f(tx).await.map_err(AppError::from)
        })
        .await
    }
}

/// Someone acting through the application, as the use cases see them: the shared [`App`] and
/// the identity every transaction is opened as (RLS decides what that identity may touch).
#[derive(Clone, Copy)]
pub struct Actor<'a> {
    pub app: &'a App,
    pub identity: Identity,
}

impl<'a> Actor<'a> {
    pub fn new(app: &'a App, identity: Identity) -> Self {
        Actor { app, identity }
    }

    /// The signed-in user's id (the owner of what they create); anyone else is refused. The
    /// HTTP layer answers 401 before this for routes that need a user.
    pub fn me(&self) -> AppResult<uuid::Uuid> {
        match (self.identity.role, self.identity.user_id) {
            (cryo_db::DbRole::Authenticated, Some(id)) => Ok(id),
            _ => Err(AppError::Forbidden),
        }
    }

    /// Runs `f` in one transaction as this actor (see [`App::run`]).
    pub async fn run<T, E: From<AppError>>(
        &self,
        f: impl AsyncFnOnce(&mut cryo_db::repo::Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        self.app.run(&self.identity, f).await
    }

    /// Runs repository work that can only fail in the database (one call, usually) in one
    /// transaction as this actor.
    pub async fn read<T>(
        &self,
        f: impl AsyncFnOnce(&mut cryo_db::repo::Conn) -> Result<T, cryo_db::DbError>,
    ) -> AppResult<T> {
        self.app
            .run(&self.identity, async |tx| {
                f(tx).await.map_err(AppError::from)
            })
            .await
    }

    /// CPU-bound work on the compute pool (see [`crate::compute::Compute::run`]).
    pub async fn compute<T: Send + 'static>(
        &self,
        f: impl FnOnce(cryo_core::deadline::Deadline) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        self.app.compute.run(f).await
    }
}
