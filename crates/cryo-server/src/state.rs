use crate::error::ApiError;
use crate::tokens::JwtKeys;
use cryo_config::Settings;
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Connections of the service-read pool: each session check holds one for a single round trip.
const SERVICE_READ_CONNECTIONS: u32 = 2;

/// Shared by every handler: cheap to clone. The use cases' shared state ([`cryo_app::App`],
/// reached through `Deref`) plus what only HTTP needs: token keys, rate limits, metrics.
#[derive(Clone)]
pub struct AppState {
    pub app: cryo_app::App,
    pub jwt: Arc<JwtKeys>,
    pub metrics: Arc<crate::metrics::Metrics>,
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

impl std::ops::Deref for AppState {
    type Target = cryo_app::App;
    fn deref(&self) -> &cryo_app::App {
        &self.app
    }
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings) -> Result<Self, ApiError> {
        let jwt = JwtKeys::new(settings.auth.jwt_secret.expose().as_bytes())?;
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let service_reads = cryo_db::identity::service_reader(&pool, SERVICE_READ_CONNECTIONS);
        let app = cryo_app::App::new(pool, settings)?.with_observer(metrics.clone());
        Ok(AppState {
            app,
            metrics,
            rate: Arc::default(),
            started: Arc::default(),
            service_reads,
            jwt: Arc::new(jwt),
            known_external: Arc::default(),
        })
    }

    pub fn with_admin(mut self, service: Arc<cryo_app::system::AdminService>) -> Self {
        self.app = self.app.with_admin(service);
        self
    }

    /// The user's role, whether the account is active, and the Unix second before which its
    /// tokens were ended: read on every signed-in request.
    pub async fn session_state(
        &self,
        id: Uuid,
    ) -> Result<Option<(String, bool, Option<i64>)>, ApiError> {
        Ok(cryo_db::repo::auth::session_state(&self.service_reads, id).await?)
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
        self.as_service(async |tx| cryo_db::repo::auth::ensure_external_user(tx, id, email).await)
            .await?;
        if let Ok(mut k) = self.known_external.lock() {
            k.insert(id);
        }
        Ok(())
    }
}
