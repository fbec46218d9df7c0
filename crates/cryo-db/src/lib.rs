//! PostgreSQL for CryoProtect: the embedded cluster, the connection pool, embedded migrations and
//! (as later capabilities land) the repositories. Nothing above this crate writes SQL.

pub mod backup;
pub mod bootstrap;
pub mod cluster;
pub mod identity;
pub mod migrate;
pub mod pool;
pub mod repo;
pub mod rls;

pub use cluster::{ClusterConfig, EmbeddedCluster};
pub use identity::{DbRole, Identity};
pub use pool::{Database, connect};
pub use sqlx::PgPool;

/// Errors of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("PostgreSQL binaries missing: {0}")]
    MissingBinaries(String),
    #[error("embedded PostgreSQL: {0}")]
    Cluster(String),
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    #[error("database unreachable: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("{0}")]
    Refused(String),
}
