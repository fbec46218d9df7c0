//! Credentials: password hashing (argon2id), access tokens (HS256 JWTs, Supabase-compatible
//! claims `sub`, `role`, `exp`) and refresh tokens. The [`crate::auth::Caller`] extractor turns
//! a verified token into a database identity.

use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use cryo_app::AppError;
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
            .map_err(|_| AppError::Unavailable("JWT secret".into()))?;
        let decoding = DecodingKey::from_secret(secret)
            .map_err(|_| AppError::Unavailable("JWT secret".into()))?;
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
            .map_err(|_| AppError::Unavailable("token signing".into()).into())
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
            .map_err(|_| AppError::Unavailable("password hashing".into()))
    })
    .await
    .map_err(|_| AppError::Unavailable("password hashing".into()))?
    .map_err(ApiError::from)
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
