//! Counts for the metrics sampler, and the liveness probe of a pool: read as service_role.

use super::Conn;
use crate::DbError;
use sqlx::PgPool;

/// Rows per main table, as (table, count).
pub async fn entity_counts(conn: &mut Conn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT 'molecules', count(*) FROM molecules UNION ALL
         SELECT 'mixtures', count(*) FROM mixtures UNION ALL
         SELECT 'experiments', count(*) FROM experiments UNION ALL
         SELECT 'predictions', count(*) FROM predictions UNION ALL
         SELECT 'models', count(*) FROM models UNION ALL
         SELECT 'model_versions', count(*) FROM model_versions UNION ALL
         SELECT 'users', count(*) FROM users",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Training jobs per state, as (state, count); states without a job are absent.
pub async fn job_counts(conn: &mut Conn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(
        sqlx::query_as("SELECT state, count(*) FROM training_jobs GROUP BY state")
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// `SELECT 1` on `pool`: whether the server answers at all (needs no identity).
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
