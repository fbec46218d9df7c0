//! The [`Caller`] extractor: a request's bearer token, verified, as a database identity, with
//! the account's state checked against the database on every request.

use crate::error::ApiError;
use crate::state::AppState;
use crate::tokens::{Claims, ISSUER, bearer_token};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cryo_db::{DbRole, Identity};
use uuid::Uuid;

/// Who is calling, from the `Authorization: Bearer` header. No header: anonymous. A header
/// that does not verify: 401, never a silent downgrade to anonymous.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    pub claims: Option<Claims>,
    /// The user's global role as the database has it now (not as the token says).
    pub app_role: Option<String>,
}

impl Caller {
    pub fn user_id(&self) -> Option<Uuid> {
        self.identity.user_id
    }

    /// The signed-in user's id, or 401.
    pub fn require_user(&self) -> Result<Uuid, ApiError> {
        match (self.identity.role, self.identity.user_id) {
            (DbRole::Authenticated, Some(id)) => Ok(id),
            _ => Err(ApiError::Unauthorized),
        }
    }

    /// Administrators: service_role tokens, or users whose global role is admin.
    pub fn is_admin(&self) -> bool {
        self.identity.role == DbRole::ServiceRole || self.app_role.as_deref() == Some("admin")
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller {
                identity: Identity::anon(),
                claims: None,
                app_role: None,
            });
        };
        let token = bearer_token(header).ok_or(ApiError::InvalidToken(
            "expected `Authorization: Bearer <token>`",
        ))?;
        let claims = state.jwt.verify(token)?;
        let identity = match claims.role.as_str() {
            "anon" => Identity::anon(),
            "service_role" => Identity::service(),
            "authenticated" => {
                let sub = claims
                    .sub
                    .as_deref()
                    .ok_or(ApiError::InvalidToken("required claim missing"))?;
                let id = Uuid::parse_str(sub)
                    .map_err(|_| ApiError::InvalidToken("sub is not a user id"))?;
                if claims.iss.as_deref() != Some(ISSUER) {
                    state
                        .ensure_external_user(id, claims.email.as_deref())
                        .await?;
                }
                Identity::user(id)
            }
            _ => return Err(ApiError::InvalidToken("unknown role")),
        };
        let mut app_role = None;
        if let Some(id) = identity.user_id {
            tracing::Span::current().record("user_id", tracing::field::display(id));
            // Checked on every request, so a demotion, a deactivation or a sign-out applies at
            // once rather than when the token expires.
            let state_now = state.session_state(id).await?;
            let (role, active, valid_after) =
                state_now.ok_or(ApiError::InvalidToken("unknown user"))?;
            if !active {
                return Err(ApiError::InvalidToken("account deactivated"));
            }
            if valid_after.is_some_and(|after| (claims.iat as i64) < after) {
                return Err(ApiError::InvalidToken("session ended; sign in again"));
            }
            app_role = Some(role);
        }
        Ok(Caller {
            identity,
            claims: Some(claims),
            app_role,
        })
    }
}
