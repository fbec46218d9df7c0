//! The one API error type. Every failure a handler returns becomes
//! `{"error": {"code", "message", "details"}}` with a status chosen here, and nothing internal
//! (SQL, paths, stack) ever reaches the client on a 500: that goes to the log instead.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("invalid value for `{field}`: {message}")]
    Validation { field: String, message: String },
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
    #[error("not permitted")]
    Forbidden,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Every compute slot is taken: try again shortly.
    #[error("the server is busy computing; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("the request body is larger than allowed (server.body_limit_bytes)")]
    PayloadTooLarge,
    /// A bug: logged with its message, answered as a bland 500.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("{0}")]
    Chem(#[from] cryo_chem::ChemError),
    #[error("{0}")]
    Model(#[from] cryo_ml::MlError),
    #[error(transparent)]
    Db(#[from] cryo_db::DbError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

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
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Chem(cryo_chem::ChemError::Toolkit(_)) | ApiError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            ApiError::Chem(cryo_chem::ChemError::TooLarge { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "too_large")
            }
            ApiError::Chem(cryo_chem::ChemError::DeadlineExceeded(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "deadline_exceeded")
            }
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Chem(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_structure"),
            ApiError::Model(cryo_ml::MlError::Numerical(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            // A stored model that fails its checksum or cannot be decoded: the service cannot
            // answer with it, and says exactly why.
            ApiError::Model(cryo_ml::MlError::Checksum { .. } | cryo_ml::MlError::Corrupt(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "model_unavailable")
            }
            ApiError::Model(cryo_ml::MlError::Cancelled) => (StatusCode::CONFLICT, "cancelled"),
            ApiError::Model(_) => (StatusCode::UNPROCESSABLE_ENTITY, "model_input_rejected"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Db(cryo_db::DbError::Connect(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            ApiError::Sqlx(sqlx::Error::PoolTimedOut) => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            ApiError::Db(_) | ApiError::Sqlx(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// Database failures that are the caller's doing, by SQLSTATE.
fn client_db_error(e: &sqlx::Error) -> Option<ApiError> {
    let db = e.as_database_error()?;
    let constraint = db.constraint().unwrap_or("").to_string();
    match db.code().as_deref()? {
        "23505" => Some(ApiError::Conflict(format!("already exists ({constraint})"))),
        "23503" => Some(ApiError::Conflict(format!(
            "refers to a row that does not exist or is still referenced ({constraint})"
        ))),
        "23514" | "23502" | "22P02" | "22003" => Some(ApiError::Validation {
            field: field_of_constraint(&constraint),
            message: format!("value not allowed ({constraint})"),
        }),
        // Row-level security refused a write: the caller may not do this here.
        "42501" => Some(ApiError::Forbidden),
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

/// Each use-case failure keeps its meaning; the status is chosen below, in one place.
impl From<cryo_app::AppError> for ApiError {
    fn from(e: cryo_app::AppError) -> Self {
        use cryo_app::AppError as A;
        match e {
            A::NotFound { what } => ApiError::NotFound { what },
            A::Validation { field, message } => ApiError::Validation { field, message },
            A::Malformed(m) => ApiError::BadRequest(m),
            A::Forbidden => ApiError::Forbidden,
            A::Conflict(m) => ApiError::Conflict(m),
            A::Unavailable(m) => ApiError::Unavailable(m),
            A::Busy { retry_after_secs } => ApiError::Busy { retry_after_secs },
            A::Internal(m) => ApiError::Internal(m),
            A::Chem(e) => ApiError::Chem(e),
            A::Model(e) => ApiError::Model(e),
            A::Db(e) => ApiError::Db(e),
            A::Sqlx(e) => ApiError::Sqlx(e),
        }
    }
}

impl From<cryo_core::ident::InvalidValue> for ApiError {
    fn from(e: cryo_core::ident::InvalidValue) -> Self {
        ApiError::Validation {
            field: e.field.to_string(),
            message: e.reason,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mapped = match &self {
            ApiError::Sqlx(e) | ApiError::Db(cryo_db::DbError::Sqlx(e)) => client_db_error(e),
            _ => None,
        };
        if let Some(client) = mapped {
            return client.into_response();
        }
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::RateLimited {
                retry_after_secs, ..
            }
            | ApiError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let (status, code) = self.status_and_code();
        let (message, details) = match &self {
            ApiError::Validation { field, message } => (
                self.to_string(),
                serde_json::json!({ "field": field, "reason": message }),
            ),
            ApiError::Chem(
                e @ cryo_chem::ChemError::TooLarge {
                    limit, found, max, ..
                },
            ) => (
                e.to_string(),
                serde_json::json!({
                    "field": "structure",
                    "limit": format!("limits.{limit}"),
                    "max": max,
                    "found": found,
                }),
            ),
            ApiError::Chem(e @ cryo_chem::ChemError::DeadlineExceeded(_)) => (
                e.to_string(),
                serde_json::json!({ "limit": "limits.compute_deadline_secs" }),
            ),
            ApiError::Busy { .. } => (self.to_string(), Value::Object(Default::default())),
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
            ApiError::Chem(e) if !status.is_server_error() => (
                e.to_string(),
                serde_json::json!({ "field": "structure", "reason": e.to_string() }),
            ),
            // A stored model that cannot be used: the reason (a checksum, a format) reveals
            // nothing internal and tells the caller exactly what is wrong.
            ApiError::Model(
                e @ (cryo_ml::MlError::Checksum { .. } | cryo_ml::MlError::Corrupt(_)),
            ) => {
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
                return Err(ApiError::Validation {
                    field: "body".into(),
                    message: rejection.body_text(),
                });
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
                ApiError::Validation {
                    field,
                    message: inner,
                }
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
    ApiError::NotFound { what: "route" }
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
        let e = ApiError::Sqlx(sqlx::Error::Protocol(
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
    async fn pool_exhaustion_is_a_503() {
        let (status, body) = body_of(ApiError::Sqlx(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "database_unavailable");
    }
}
