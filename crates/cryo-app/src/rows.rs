//! Writes by id, and what to answer when one changes nothing: row-level security hides what the
//! caller may not change, so "nothing changed" is "not yours" when the row is still visible
//! (403) and "not there for you" otherwise (404).

use crate::AppError;
use crate::app::Actor;
use crate::error::{AppResult, refused};
use cryo_db::repo::{self, Conn, Entity};
use uuid::Uuid;

/// Why a write of `what` with `id` changed nothing.
pub async fn why_unchanged(conn: &mut Conn, what: Entity, id: Uuid) -> AppError {
    match repo::visible(conn, what, id).await {
        Ok(visible) => refused(visible, what.noun()),
        Err(e) => e.into(),
    }
}

/// Deletes `what` with `id` inside the caller's transaction.
pub async fn delete_in(conn: &mut Conn, what: Entity, id: Uuid) -> AppResult<()> {
    if repo::delete(conn, what, id).await? {
        Ok(())
    } else {
        Err(why_unchanged(conn, what, id).await)
    }
}

/// Deletes `what` with `id` as `actor`, in a transaction of its own.
pub async fn delete(actor: &Actor<'_>, what: Entity, id: Uuid) -> AppResult<()> {
    actor.run(async |tx| delete_in(tx, what, id).await).await
}

/// Row-level security refused a write (SQLSTATE 42501): the row is not the caller's to use, or
/// does not exist for them. Answered as not found, so neither case tells which.
pub fn hidden_if_refused(e: cryo_db::DbError, what: &'static str) -> AppError {
    match e {
        cryo_db::DbError::Sqlx(e)
            if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42501") =>
        {
            AppError::NotFound { what }
        }
        e => e.into(),
    }
}
