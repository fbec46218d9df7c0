use crate::auth::JwtKeys;
use crate::error::ApiError;
use cryo_config::Settings;
use cryo_db::Identity;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;

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
    pub registry: Arc<crate::registry::Registry>,
    /// Woken when a training job is queued, so an idle worker starts at once.
    pub jobs: Arc<tokio::sync::Notify>,
    /// External (e.g. Supabase) user ids already given an account row.
    known_external: Arc<Mutex<HashSet<Uuid>>>,
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings) -> Result<Self, ApiError> {
        let jwt = JwtKeys::new(settings.auth.jwt_secret.expose().as_bytes())?;
        Ok(AppState {
            registry: Arc::new(crate::registry::Registry::new(settings.models.cache_size)),
            jobs: Arc::default(),
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
        Ok(cryo_db::identity::begin(&self.pool, identity).await?)
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
