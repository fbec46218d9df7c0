//! Connecting: to the configured server, or to the embedded cluster started on demand.

use crate::{ClusterConfig, DbError, EmbeddedCluster};
use cryo_config::DatabaseSettings;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

/// The API's login role in the embedded cluster.
pub const EMBEDDED_API_ROLE: &str = "cryoprotect_api";

/// Pools plus, when embedded, the cluster they talk to (kept alive as long as the pools).
#[derive(Debug)]
pub struct Database {
    /// The owner's pool: migrations and administrative commands. Never used to serve users.
    pub pool: PgPool,
    /// The API login role's pool (NOINHERIT; acts only through `identity::begin`), when known.
    pub api: Option<PgPool>,
    pub cluster: Option<EmbeddedCluster>,
    /// How to reach the database as its owner, for PostgreSQL's command-line tools.
    pub spec: crate::backup::ConnSpec,
}

impl Database {
    /// The pool requests are served through, or an error saying how to configure it.
    pub fn api_pool(&self) -> Result<PgPool, DbError> {
        self.api.clone().ok_or_else(|| {
            DbError::InvalidUrl(
                "DATABASE_API_URL is not set: with DATABASE_URL, requests are served through a separate \
                 login role that is neither superuser nor table owner; create it with \
                 `cryoprotect db bootstrap` and set DATABASE_API_URL"
                    .into(),
            )
        })
    }

    /// Close the pools, then stop the embedded cluster if there is one.
    pub async fn shutdown(self) -> Result<(), DbError> {
        if let Some(api) = &self.api {
            api.close().await;
        }
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
        let api = match &settings.api_url {
            Some(api_url) => Some(pool_for(parse_url(api_url.expose())?, settings).await?),
            None => None,
        };
        return Ok(Database {
            pool,
            api,
            cluster: None,
            spec: crate::backup::ConnSpec::from_url(url.expose())?,
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
    // The embedded cluster is ours: create the roles and the API login role on every start
    // (idempotent), with a password kept in the data folder.
    let api_password = cluster.api_password()?;
    {
        let mut conn = pool.acquire().await?;
        crate::bootstrap::bootstrap(
            &mut conn,
            crate::cluster::CLUSTER_SUPERUSER,
            Some(crate::bootstrap::ApiRole {
                name: EMBEDDED_API_ROLE,
                password: &api_password,
            }),
        )
        .await?;
    }
    let api_options = cluster
        .connect_options()
        .username(EMBEDDED_API_ROLE)
        .password(&api_password);
    let api = pool_for(api_options, settings).await?;
    let spec = crate::backup::ConnSpec {
        host: "127.0.0.1".into(),
        port: cluster.port(),
        user: crate::cluster::CLUSTER_SUPERUSER.into(),
        password: Some(cluster.superuser_password().to_string()),
        database: crate::cluster::CLUSTER_DATABASE.into(),
    };
    Ok(Database {
        pool,
        api: Some(api),
        cluster: Some(cluster),
        spec,
    })
}
