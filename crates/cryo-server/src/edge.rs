//! Rules every request and response obeys, applied once around the whole router rather than in
//! each handler:
//!
//! - a NUL character anywhere in the path or query is refused 422 naming the parameter
//!   (PostgreSQL cannot store it in text; JSON bodies get the same rule in [`crate::error::ApiJson`]);
//! - every error leaves in the documented `{error: {code, message, details}}` shape, including
//!   the plain-text ones axum and tower-http produce (unparsable paths and queries, 405, 408,
//!   413, 415);
//! - a route's class (heavy, auth, api) has a token-bucket budget per identity or address
//!   ([`crate::ratelimit`]), answered 429 with `Retry-After` past it (a route layer: it needs the
//!   matched route template);
//! - every response carries `nosniff`, a Content-Security-Policy that at least forbids framing,
//!   `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY`.

use crate::client::ClientAddr;
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::ratelimit::{Class, classify};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Refuses a request whose decoded path or query holds a NUL character.
pub async fn reject_nul(req: Request, next: Next) -> Response {
    let uri = req.uri();
    if let Some(query) = uri.query() {
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if name.contains('\0') || value.contains('\0') {
                return ApiError::validation(
                    name.replace('\0', "\\0"),
                    "must not contain a NUL character",
                )
                .into_response();
            }
        }
    }
    let path = percent_encoding::percent_decode_str(uri.path()).collect::<Vec<u8>>();
    if path.contains(&0) {
        return ApiError::validation("path", "must not contain a NUL character").into_response();
    }
    next.run(req).await
}

/// The largest plain-text error body worth quoting in a JSON error.
const QUOTED_BYTES: usize = 4096;

/// Rewrites error responses that are not JSON into the API's error shape.
pub async fn json_errors(req: Request, next: Next, body_limit: usize) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, QUOTED_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, details) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            serde_json::json!({ "limit": "server.body_limit_bytes", "max": body_limit }),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            serde_json::json!({ "limit": "server.request_timeout_secs" }),
        ),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", serde_json::json!({})),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", serde_json::json!({})),
        StatusCode::NOT_FOUND => ("not_found", serde_json::json!({})),
        s if s.is_server_error() => ("internal", serde_json::json!({})),
        _ => ("bad_request", serde_json::json!({})),
    };
    let message = if status.is_server_error() || text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            details,
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// The policy for a response that set none: nothing may load or frame it, except what an
/// HTML page (the API documentation, a model report) or an SVG needs from this origin.
fn content_security_policy(content_type: &str) -> &'static str {
    if content_type.starts_with("text/html") {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    } else if content_type.starts_with("image/svg+xml") {
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    }
}

/// Sets the security headers on every response (keeping a stricter policy a route set itself).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(content_security_policy(&content_type)),
        );
    }
    res
}

/// Who a request counts against and at which rate: the token's subject when it carries a valid
/// one (administrators at their own tier), else the client address. The tier follows the token's
/// claims (checked again against the database by `Caller`), so this costs no query.
fn budget(state: &AppState, req: &Request, class: Class) -> (String, u32, bool) {
    let limits = &state.settings.limits;
    let client = ClientAddr::of(
        req.headers(),
        req.extensions(),
        &state.settings.server.trusted_proxies,
    );
    let claims = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(crate::tokens::bearer_token)
        .and_then(|t| state.jwt.verify(t).ok());
    let admin = claims
        .as_ref()
        .is_some_and(|c| c.role == "service_role" || c.app_role.as_deref() == Some("admin"));
    let key = match (&claims, class) {
        (_, Class::Auth) | (None, _) => format!("addr:{client}"),
        (Some(c), _) => format!("sub:{}:{}", c.role, c.sub.as_deref().unwrap_or("-")),
    };
    let per_min = match (class, admin) {
        (Class::Heavy, true) => limits.rate_heavy_admin_per_min,
        (Class::Heavy, false) => limits.rate_heavy_per_min,
        (Class::Auth, _) => limits.rate_auth_per_min,
        (Class::Api, true) => limits.rate_api_per_min.saturating_mul(5),
        (Class::Api, false) => limits.rate_api_per_min,
    };
    (key, per_min, admin)
}

/// Routes' middleware: takes a token (or answers 429 with `Retry-After`) and reports the budget
/// in `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let Some(class) = route.and_then(|r| classify(req.method(), &r)) else {
        return next.run(req).await;
    };
    let (key, per_min, admin) = budget(&state, &req, class);
    if per_min == 0 {
        return next.run(req).await;
    }
    let taken = state.rate.take(class, key, per_min, Instant::now());
    let mut res = match taken.retry_after_secs {
        Some(retry_after_secs) => {
            state.metrics.rate_limited(class.as_str());
            ApiError::RateLimited {
                class: class.as_str(),
                per_min,
                setting: class.setting(admin),
                retry_after_secs,
            }
            .into_response()
        }
        None => next.run(req).await,
    };
    let headers = res.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", u64::from(taken.limit)),
        ("ratelimit-remaining", u64::from(taken.remaining)),
        ("ratelimit-reset", taken.reset_secs),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
    res
}
