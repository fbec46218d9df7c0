//! Extractors that own identity and transactions, so a handler only parses, calls and maps:
//! [`Db`] runs work as whoever called (anonymous included), [`UserDb`] answers 401 itself for
//! anyone not signed in. Both commit when the work returns `Ok` and roll back otherwise.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cryo_app::Actor;
use cryo_db::repo::Conn;
use uuid::Uuid;

/// The caller, whoever it is, and a way to run work as them.
pub struct Db {
    pub caller: Caller,
    state: AppState,
}

/// A signed-in user (401 for anyone else) and a way to run work as them: a [`Db`] whose caller
/// is known to be a user (reached through `Deref`).
pub struct UserDb {
    /// The user's id.
    pub user: Uuid,
    db: Db,
}

impl Db {
    /// Runs `f` in one transaction as the caller and commits when it returns `Ok`; an `Err`
    /// drops the transaction, which rolls it back.
    pub async fn run<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> ApiResult<T>) -> ApiResult<T> {
        self.state.app.run(&self.caller.identity, f).await
    }

    /// The caller as the use cases see them.
    pub fn actor(&self) -> Actor<'_> {
        Actor::new(&self.state.app, self.caller.identity)
    }

    /// The shared state, for work beside the transaction (the compute pool, the registry).
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

impl std::ops::Deref for UserDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl FromRequestParts<AppState> for Db {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Db {
            caller: Caller::from_request_parts(parts, state).await?,
            state: state.clone(),
        })
    }
}

impl FromRequestParts<AppState> for UserDb {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let db = Db::from_request_parts(parts, state).await?;
        Ok(UserDb {
            user: db.caller.require_user()?,
            db,
        })
    }
}
