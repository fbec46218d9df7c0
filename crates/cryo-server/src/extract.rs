//! Extractors that own identity and transactions, so a handler only parses, calls and maps:
//! [`Db`] runs work as whoever called (anonymous included), [`UserDb`] answers 401 itself for
//! anyone not signed in. Both commit when the work returns `Ok` and roll back otherwise.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cryo_db::repo::Conn;
use uuid::Uuid;

/// The caller, whoever it is, and a way to run work as them.
pub struct Db {
    pub caller: Caller,
    state: AppState,
}

/// A signed-in user (401 for anyone else) and a way to run work as them.
pub struct UserDb {
    /// The user's id.
    pub user: Uuid,
    pub caller: Caller,
    state: AppState,
}

/// Runs `f` in one transaction as `caller` and commits when it returns `Ok`; an `Err` drops the
/// transaction, which rolls it back.
async fn in_transaction<T>(
    state: &AppState,
    caller: &Caller,
    f: impl AsyncFnOnce(&mut Conn) -> ApiResult<T>,
) -> ApiResult<T> {
    let mut tx = state.begin(&caller.identity).await?;
    let value = f(&mut tx).await?;
    tx.commit().await?;
    Ok(value)
}

impl Db {
    /// Runs `f` in one transaction as the caller; commits when it returns `Ok`.
    pub async fn run<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> ApiResult<T>) -> ApiResult<T> {
        in_transaction(&self.state, &self.caller, f).await
    }
}

impl UserDb {
    /// Runs `f` in one transaction as the caller; commits when it returns `Ok`.
    pub async fn run<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> ApiResult<T>) -> ApiResult<T> {
        in_transaction(&self.state, &self.caller, f).await
    }

    /// The shared state, for work beside the transaction (the compute pool, the registry).
    pub fn state(&self) -> &AppState {
        &self.state
    }
}

impl Db {
    pub fn state(&self) -> &AppState {
        &self.state
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
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(UserDb {
            user: caller.require_user()?,
            caller,
            state: state.clone(),
        })
    }
}
