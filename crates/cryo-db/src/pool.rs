//! Connecting: to the configured server, or to the embedded cluster started on demand.

use crate::{ClusterConfig, DbError, EmbeddedCluster};
use cryo_config::DatabaseSettings;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

/// A pool plus, when embedded, the cluster it talks to (kept alive as long as the pool).
#[derive(Debug)]
pub struct Database {
    pub pool: PgPool,
    pub cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Close the pool, then stop the embedded cluster if there is one.
    pub async fn shutdown(self) -> Result<(), DbError> {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            tokio::task::spawn_blocking(move || cluster.stop())
                .await
                .map_err(|e| DbError::Cluster(format!("stopping: {e}")))??;
        }
        Ok(())
    }
}

/// Parse a URL into connection options; the error never echoes the URL (it may hold a password).
pub fn parse_url(url: &str) -> Result<PgConnectOptions, DbError> {
    PgConnectOptions::from_str(url).map_err(|e| {
        let kind = match e {
            sqlx::Error::Configuration(_) => "not a valid postgres:// URL",
            _ => "could not be parsed",
        };
        DbError::InvalidUrl(kind.to_string())
    })
}

pub async fn pool_for(
    options: PgConnectOptions,
    settings: &DatabaseSettings,
) -> Result<PgPool, DbError> {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options.application_name("cryoprotect"))
        .await
        .map_err(DbError::Connect)
}

/// Connect as configured: `database.url` if set, else start the embedded cluster.
pub async fn connect(settings: &DatabaseSettings) -> Result<Database, DbError> {
    if let Some(url) = &settings.url {
        let pool = pool_for(parse_url(url.expose())?, settings).await?;
        return Ok(Database {
            pool,
            cluster: None,
        });
    }
    let cfg = ClusterConfig {
        data_dir: settings.data_dir.clone(),
        port: settings.embedded_port,
        os_user: settings.os_user.clone(),
        bin_dir: std::env::var_os("CRYOPROTECT_PG_BINDIR").map(Into::into),
    };
    let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&cfg))
        .await
        .map_err(|e| DbError::Cluster(format!("start-up task: {e}")))??;
    let pool = pool_for(cluster.connect_options(), settings).await?;
    Ok(Database {
        pool,
        cluster: Some(cluster),
    })
}
