//! The RLS helper: every query made on behalf of a caller runs in a transaction that first sets
//! the caller's JWT claims (transaction-local, as Supabase's PostgREST does) and switches to the
//! caller's database role. The API's login role is NOINHERIT, so a query that skipped this
//! helper could not read or write anything.

use crate::DbError;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The database role a request runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbRole {
    Anon,
    Authenticated,
    ServiceRole,
}

impl DbRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DbRole::Anon => "anon",
            DbRole::Authenticated => "authenticated",
            DbRole::ServiceRole => "service_role",
        }
    }
}

/// Who a query runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub user_id: Option<Uuid>,
    pub role: DbRole,
}

impl Identity {
    pub fn anon() -> Self {
        Identity {
            user_id: None,
            role: DbRole::Anon,
        }
    }

    pub fn user(id: Uuid) -> Self {
        Identity {
            user_id: Some(id),
            role: DbRole::Authenticated,
        }
    }

    /// Administrative work (registration, login bookkeeping, admin endpoints, tooling).
    pub fn service() -> Self {
        Identity {
            user_id: None,
            role: DbRole::ServiceRole,
        }
    }

    fn claims(&self) -> String {
        serde_json::json!({
            "sub": self.user_id.map(|u| u.to_string()),
            "role": self.role.as_str(),
        })
        .to_string()
    }
}

/// Begin a transaction as `identity`. Commit it to keep the changes; dropping it rolls back.
/// Any failure here, before the caller's first statement, is the connection's
/// ([`DbError::Connect`]): an unreachable server, or a login role that may not take the
/// identity's role (SQLSTATE 42501 from a half-bootstrapped database), which is no refusal of
/// the caller's request.
pub async fn begin(
    pool: &PgPool,
    identity: &Identity,
) -> Result<Transaction<'static, Postgres>, DbError> {
    let mut tx = pool.begin().await.map_err(DbError::Connect)?;
    set_identity(&mut tx, identity, true)
        .await
        .map_err(DbError::Connect)?;
    Ok(tx)
}

/// Switch an open transaction to `identity` (both settings end with the transaction). One round
/// trip: `set_config('role', …, true)` is `SET LOCAL ROLE`, with the same membership check.
pub async fn act_as(
    tx: &mut Transaction<'_, Postgres>,
    identity: &Identity,
) -> Result<(), DbError> {
    Ok(set_identity(tx, identity, true).await?)
}

/// Sets the claims and the role `identity` stands for: for the transaction (`local`) or for the
/// session.
async fn set_identity(
    conn: &mut sqlx::PgConnection,
    identity: &Identity,
    local: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('request.jwt.claims', $1, $3), set_config('role', $2, $3)")
        .bind(identity.claims())
        .bind(identity.role.as_str())
        .bind(local)
        .execute(conn)
        .await?;
    Ok(())
}

/// A small pool beside `pool` (same server, same login role) whose connections act as
/// service_role for their whole life: for single-statement reads on the hot path that would
/// otherwise cost a transaction (BEGIN, act as, query, COMMIT: four round trips) where one
/// suffices. Its connections never serve a caller's query, so the session-level role cannot
/// leak into one; connections are opened when first needed.
pub fn service_reader(pool: &PgPool, max_connections: u32) -> PgPool {
    let options = (*pool.connect_options()).clone();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .after_connect(|conn, _| {
            Box::pin(async move { set_identity(conn, &Identity::service(), false).await })
        })
        .connect_lazy_with(options)
}
