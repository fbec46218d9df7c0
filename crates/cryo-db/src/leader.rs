//! One leader per cluster: the replica whose own database session holds a session-level
//! advisory lock. Work that must happen once per cluster rather than once per replica
//! (scheduled backups and their pruning, the health watch that raises alerts) asks
//! [`Lease::leading`] before each run. The lock lives exactly as long as the session: a
//! replica that dies or loses its connection lets go at once, and the next replica to ask
//! takes over. Sessions, not transactions, so holding it costs one idle connection and no
//! open transaction.

use crate::DbError;
use sqlx::{Connection, PgConnection, PgPool};

/// The lock's key, in the database the pool points at (advisory locks are per database, so
/// two CryoProtect databases on one server elect their leaders separately).
const LEADER_KEY: i64 = 0x4372_796f_4c65_6164; // "CryoLead"

/// This replica's claim to leadership: a dedicated session holding the lock, or none.
pub struct Lease {
    options: sqlx::postgres::PgConnectOptions,
    session: tokio::sync::Mutex<Option<PgConnection>>,
}

impl Lease {
    /// A lease over the same server and login role as `pool`; no connection is made yet.
    pub fn new(pool: &PgPool) -> Self {
        Lease {
            options: (*pool.connect_options()).clone(),
            session: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether this replica leads now: it keeps the lock its session holds (checked alive), or
    /// takes it when free. An unreachable database means not leading.
    pub async fn leading(&self) -> bool {
        let mut session = self.session.lock().await;
        if let Some(conn) = session.as_mut() {
            if still_held(conn).await.unwrap_or(false) {
                return true;
            }
            // The session died or lost the lock: start again with a fresh one.
            *session = None;
        }
        match self.try_take().await {
            Ok(Some(conn)) => {
                *session = Some(conn);
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "could not ask for cluster leadership");
                false
            }
        }
    }

    /// Gives leadership up (on shutdown, so another replica takes over without waiting).
    pub async fn release(&self) {
        if let Some(conn) = self.session.lock().await.take() {
            let _ = conn.close().await;
        }
    }

    async fn try_take(&self) -> Result<Option<PgConnection>, DbError> {
        let mut conn = PgConnection::connect_with(&self.options).await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_KEY)
            .fetch_one(&mut conn)
            .await?;
        if taken {
            Ok(Some(conn))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }
}

/// Whether `conn`'s session still answers and holds the lock.
async fn still_held(conn: &mut PgConnection) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                        AND granted AND ((classid::bigint << 32) | objid::bigint) = $1)",
    )
    .bind(LEADER_KEY)
    .fetch_one(conn)
    .await?)
}
