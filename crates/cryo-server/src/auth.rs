//! Authentication: password hashing (argon2id), access tokens (HS256 JWTs, Supabase-compatible
//! claims `sub`, `role`, `exp`) and the [`Caller`] extractor that turns a request's bearer token
//! into a database identity.

use crate::error::ApiError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cryo_db::{DbRole, Identity};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// Tokens we issue carry this issuer; tokens without it (e.g. Supabase's) are external.
pub const ISSUER: &str = "cryoprotect";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub role: String,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Our global role (admin, curator, user, viewer), for administrative endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_role: Option<String>,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Result<Self, ApiError> {
        let encoding = EncodingKey::from_secret(secret)
            .map_err(|_| ApiError::Unavailable("JWT secret".into()))?;
        let decoding = DecodingKey::from_secret(secret)
            .map_err(|_| ApiError::Unavailable("JWT secret".into()))?;
        // HS256 only: `alg: none` and algorithm-confusion tokens are rejected by construction.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_aud = false;
        validation.leeway = 30;
        Ok(JwtKeys {
            encoding,
            decoding,
            validation,
        })
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| ApiError::Unavailable("token signing".into()))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                ApiError::InvalidToken(match e.kind() {
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::InvalidSignature => "bad signature",
                    ErrorKind::InvalidAlgorithm => "algorithm not accepted",
                    ErrorKind::MissingRequiredClaim(_) => "required claim missing",
                    _ => "malformed token",
                })
            })
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn access_claims(user: Uuid, email: &str, app_role: &str, ttl: Duration) -> Claims {
    let now = now_secs();
    Claims {
        sub: Some(user.to_string()),
        role: "authenticated".into(),
        exp: now + ttl.as_secs(),
        iat: now,
        iss: Some(ISSUER.into()),
        email: Some(email.into()),
        app_role: Some(app_role.into()),
    }
}

/// Hash off the async threads: argon2id is deliberately slow.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|_| ApiError::Unavailable("password hashing".into()))
    })
    .await
    .map_err(|_| ApiError::Unavailable("password hashing".into()))?
}

/// Verify a password; with no stored hash, still spends the time (no timing oracle for
/// unknown accounts).
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q0lVCBP8r4zV0Fmq6M3/0e+rFHP1t7O1pP8y7bqgX5k";
        let hash = stored.as_deref().unwrap_or(DUMMY);
        let ok = PasswordHash::new(hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        ok && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

/// A fresh opaque refresh token and the SHA-256 that is stored.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    use rand::Rng;
    let token = hex::encode(rand::rng().random::<[u8; 32]>());
    let hash = refresh_hash(&token);
    (token, hash)
}

pub fn refresh_hash(token: &str) -> Vec<u8> {
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// The token of an `Authorization: Bearer <token>` header value; `None` for any other scheme.
pub fn bearer_token(header: &axum::http::HeaderValue) -> Option<&str> {
    let h = header.to_str().ok()?;
    h.strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .map(str::trim)
}

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
