use cryo_config::Settings;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Instant;

/// Shared by every handler: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub started_at: Instant,
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings) -> Self {
        AppState {
            pool,
            settings: Arc::new(settings),
            started_at: Instant::now(),
        }
    }
}
