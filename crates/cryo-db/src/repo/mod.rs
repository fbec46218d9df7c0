//! Repositories: the SQL for each capability, as functions over a connection. Callers open the
//! connection with [`crate::identity::begin`], so the caller's identity decides, through row-level
//! security, which rows every statement here can see or change.

pub mod alerts;
pub mod auth;
pub mod collab;
pub mod models;
pub mod science;
pub mod stats;

use sqlx::PgConnection;

pub type Conn = PgConnection;

/// Rows per page, bounded.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub const MAX_LIMIT: i64 = 500;

    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Page {
        Page {
            limit: limit.unwrap_or(100).clamp(1, Self::MAX_LIMIT),
            offset: offset.unwrap_or(0).max(0),
        }
    }
}

/// Runs `delete` (`DELETE FROM … WHERE id = $1`, a literal) for `id`; whether a row went. Row-level
/// security hides what the caller may not delete, so `false` is "not yours or not there".
async fn delete_row(
    conn: &mut Conn,
    delete: &'static str,
    id: uuid::Uuid,
) -> Result<bool, crate::DbError> {
    Ok(sqlx::query(delete)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}
