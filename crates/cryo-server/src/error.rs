//! The one API error type. Every failure a handler returns becomes
//! `{"error": {"code", "message", "details"}}` with a status chosen here, and nothing internal
//! (SQL, paths, stack) ever reaches the client on a 500: that goes to the log instead.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub use cryo_app::AppError;

/// What a request can fail with: a use case's failure ([`AppError`], whose meaning is kept), or
/// one only HTTP has (a body that does not parse, a token, a rate limit).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// Sign-in attempts from this address for this account (or any account) are being slowed.
    #[error("too many sign-in attempts from this address; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(
        "rate limit of {per_min} {class} requests a minute reached ({setting}); try again in {retry_after_secs} s"
    )]
    RateLimited {
        class: &'static str,
        per_min: u32,
        setting: &'static str,
        retry_after_secs: u64,
    },
    #[error("the request body is larger than allowed (server.body_limit_bytes)")]
    PayloadTooLarge,
}

/// The lower layers' errors reach HTTP as the use cases would report them.
macro_rules! through_app {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError::App(e.into())
            }
        }
    )*};
}
through_app!(
    cryo_chem::ChemError,
    cryo_ml::MlError,
    cryo_db::DbError,
    sqlx::Error,
    cryo_core::ident::InvalidValue
);

pub type ApiResult<T> = Result<T, ApiError>;

/// Body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Structured details, e.g. `{"field": "smiles"}`.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::App(AppError::validation(field, message))
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use AppError as A;
        match self {
            ApiError::App(A::NotFound { .. }) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::App(A::Validation { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            }
            ApiError::App(A::Chem(cryo_chem::ChemError::Toolkit(_)))
            | ApiError::App(A::Internal(_)) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::App(A::Chem(cryo_chem::ChemError::TooLarge { .. })) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "too_large")
            }
            ApiError::App(A::Chem(cryo_chem::ChemError::DeadlineExceeded(_)))
            | ApiError::App(A::Deadline(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "deadline_exceeded")
            }
            ApiError::App(A::Busy { .. }) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::App(A::Chem(_)) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_structure"),
            ApiError::App(A::Model(cryo_ml::MlError::Numerical(_))) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            // A stored model that fails its checksum or cannot be decoded: the service cannot
            // answer with it, and says exactly why.
            ApiError::App(A::Model(
                cryo_ml::MlError::Checksum { .. } | cryo_ml::MlError::Corrupt(_),
            )) => (StatusCode::SERVICE_UNAVAILABLE, "model_unavailable"),
            ApiError::App(A::Model(cryo_ml::MlError::Cancelled)) => {
                (StatusCode::CONFLICT, "cancelled")
            }
            ApiError::App(A::Model(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "model_input_rejected")
            }
            ApiError::BadRequest(_) | ApiError::App(A::Malformed(_)) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::App(A::Forbidden) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::App(A::Conflict(_)) => (StatusCode::CONFLICT, "conflict"),
            ApiError::App(A::Unavailable(_)) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::App(A::Db(cryo_db::DbError::Connect(_))) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            ApiError::App(A::Sqlx(e) | A::Db(cryo_db::DbError::Sqlx(e))) if unreachable(e) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            ApiError::App(A::Db(_)) | ApiError::App(A::Sqlx(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

/// Database failures that are the caller's doing, by SQLSTATE.
/// The database cannot be reached now (a pool out of connections, a dropped connection, a
/// server shutting down or restarting, the database gone): the service is unavailable, not
/// broken. SQLSTATE classes 08 (connection exception) and 57P (operator intervention), 3D000
/// (the database does not exist) and 53300 (too many connections).
fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || c.starts_with("57P") || c == "3D000" || c == "53300"
        }),
        _ => false,
    }
}

fn client_db_error(e: &sqlx::Error) -> Option<AppError> {
    let db = e.as_database_error()?;
    let constraint = db.constraint().unwrap_or("").to_string();
    match db.code().as_deref()? {
        "23505" => Some(AppError::Conflict(format!("already exists ({constraint})"))),
        "23503" => Some(AppError::Conflict(format!(
            "refers to a row that does not exist or is still referenced ({constraint})"
        ))),
        "23514" | "23502" | "22P02" | "22003" => Some(AppError::Validation {
            field: field_of_constraint(&constraint),
            message: format!("value not allowed ({constraint})"),
        }),
        // Row-level security refused a write: the caller may not do this here.
        "42501" => Some(AppError::Forbidden),
        _ => None,
    }
}

/// The request field a constraint guards, so a 422 names what the client sent.
fn field_of_constraint(constraint: &str) -> String {
    if constraint.ends_with("value_type") || constraint.ends_with("one_value") {
        "value".into()
    } else if constraint.ends_with("one_subject") {
        "molecule_id".into()
    } else if constraint.contains("interval") {
        "interval".into()
    } else {
        constraint.to_string()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use AppError as A;
        let mapped = match &self {
            ApiError::App(AppError::Sqlx(e) | AppError::Db(cryo_db::DbError::Sqlx(e))) => {
                client_db_error(e)
            }
            _ => None,
        };
        if let Some(client) = mapped {
            return ApiError::App(client).into_response();
        }
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::RateLimited {
                retry_after_secs, ..
            }
            | ApiError::App(A::Busy { retry_after_secs }) => Some(*retry_after_secs),
            _ => None,
        };
        let (status, code) = self.status_and_code();
        // Outages measured here end in 0.1–0.25 s once the database is back; a second is enough.
        let retry_after = retry_after.or((code == "database_unavailable").then_some(1));
        let (message, details) = match &self {
            ApiError::App(A::Validation { field, message }) => (
                self.to_string(),
                serde_json::json!({ "field": field, "reason": message }),
            ),
            ApiError::App(A::Chem(
                e @ cryo_chem::ChemError::TooLarge {
                    limit, found, max, ..
                },
            )) => (
                e.to_string(),
                serde_json::json!({
                    "field": "structure",
                    "limit": format!("limits.{limit}"),
                    "max": max,
                    "found": found,
                }),
            ),
            ApiError::App(A::Chem(cryo_chem::ChemError::DeadlineExceeded(e)))
            | ApiError::App(A::Deadline(e)) => (
                e.to_string(),
                serde_json::json!({ "limit": "limits.compute_deadline_secs" }),
            ),
            ApiError::App(A::Busy { .. }) => (self.to_string(), Value::Object(Default::default())),
            ApiError::RateLimited {
                class,
                per_min,
                setting,
                retry_after_secs,
            } => (
                self.to_string(),
                serde_json::json!({
                    "class": class, "limit": setting, "per_min": per_min,
                    "retry_after_secs": retry_after_secs,
                }),
            ),
            ApiError::PayloadTooLarge => (
                self.to_string(),
                serde_json::json!({ "limit": "server.body_limit_bytes" }),
            ),
            ApiError::App(A::Chem(e)) if !status.is_server_error() => (
                e.to_string(),
                serde_json::json!({ "field": "structure", "reason": e.to_string() }),
            ),
            // A stored model that cannot be used: the reason (a checksum, a format) reveals
            // nothing internal and tells the caller exactly what is wrong.
            ApiError::App(A::Model(
                e @ (cryo_ml::MlError::Checksum { .. } | cryo_ml::MlError::Corrupt(_)),
            )) => {
                tracing::error!(error = %e, "stored model unusable");
                (e.to_string(), Value::Object(Default::default()))
            }
            _ if status.is_server_error() => {
                // Logged once here, with the cause chain; the client gets a bland message.
                tracing::error!(error = %self, cause = ?std::error::Error::source(&self), "request failed");
                let message = match status {
                    StatusCode::SERVICE_UNAVAILABLE => {
                        "a dependency is unavailable; try again shortly"
                    }
                    _ => "an internal error occurred",
                };
                (message.to_string(), Value::Object(Default::default()))
            }
            _ => (self.to_string(), Value::Object(Default::default())),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                details,
            },
        };
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        res
    }
}

/// A JSON body whose rejection is an [`ApiError`] naming the problem and the field (e.g.
/// "missing field `email`", `components[0].unit`). A NUL character in any string is refused
/// here for every route (PostgreSQL cannot store it), naming the field.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let value = match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::PayloadTooLarge);
            }
            Err(rejection) => {
                return Err(ApiError::validation("body", rejection.body_text()));
            }
        };
        if let Some(field) = nul_path(&value, String::new()) {
            return Err(ApiError::validation(
                if field.is_empty() {
                    "body".into()
                } else {
                    field
                },
                "must not contain a NUL character",
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner().to_string();
                // serde names a missing field in backticks: "missing field `email`".
                let field = match (path.as_str(), inner.split('`').nth(1)) {
                    ("." | "", Some(named)) => named.to_string(),
                    ("." | "", None) => "body".to_string(),
                    (p, _) => p.to_string(),
                };
                ApiError::validation(field, inner)
            })
    }
}

/// The path (`a.b[2]`) of the first string or key holding a NUL character.
fn nul_path(v: &Value, at: String) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(here.replace('\0', "\\0"))
            } else {
                nul_path(item, here)
            }
        }),
        _ => None,
    }
}

/// Fallback for unknown routes: the same JSON shape as every other error.
pub async fn not_found_fallback() -> ApiError {
    AppError::NotFound { what: "route" }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (StatusCode, Value) {
        let res = e.into_response();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_detail() {
        let e = ApiError::from(sqlx::Error::Protocol(
            "secret table users_private broke".into(),
        ));
        let (status, body) = body_of(e).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("users_private"));
    }

    #[tokio::test]
    async fn validation_errors_name_the_field() {
        let (status, body) =
            body_of(ApiError::validation("smiles", "unbalanced ring closure")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["details"]["field"], "smiles");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("smiles")
        );
    }

    #[tokio::test]
    async fn pool_exhaustion_is_a_503_to_retry() {
        let res = ApiError::from(sqlx::Error::PoolTimedOut).into_response();
        assert_eq!(res.headers()[axum::http::header::RETRY_AFTER], "1");
        let (status, body) = body_of(ApiError::from(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "database_unavailable");
    }

    /// A refusal while a transaction is being opened (the login role may not take the caller's
    /// role: a half-bootstrapped or half-restored database) is the deployment's, not the
    /// caller's: 503 to retry, never a 403 that looks permanent.
    #[tokio::test]
    async fn a_refusal_while_connecting_is_a_503_not_a_403() {
        let refused = sqlx::Error::Protocol("permission denied to set role".into());
        let e = ApiError::App(AppError::Db(cryo_db::DbError::Connect(refused)));
        let (status, body) = body_of(e).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "database_unavailable");
    }
}
