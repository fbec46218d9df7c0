//! Extractors that own identity, so a handler only parses, calls and maps: [`Db`] is whoever
//! called (anonymous included), [`UserDb`] answers 401 itself for anyone not signed in. Both
//! give the caller as an [`Actor`], whose use cases open their transactions as the caller.

use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cryo_app::Actor;
use uuid::Uuid;

/// The caller, whoever it is.
pub struct Db {
    pub caller: Caller,
    state: AppState,
}

/// A signed-in user (401 for anyone else): a [`Db`] whose caller is known to be a user
/// (reached through `Deref`).
pub struct UserDb {
    /// The user's id.
    pub user: Uuid,
    db: Db,
}

impl Db {
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

/// The client's address, as `server.trusted_proxies` lets it be read.
impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(
            &parts.headers,
            &parts.extensions,
            &state.settings.server.trusted_proxies,
        ))
    }
}
