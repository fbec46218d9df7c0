//! Token-bucket rate limits per identity (signed-in callers) and per client address (everyone
//! else, and every sign-in route), by route class. Buckets live in this process: with N
//! replicas behind one balancer a caller's budget is up to N times the configured rate, which
//! bounds the damage the same way; sign-in guessing is counted cluster-wide in PostgreSQL
//! (`login_throttle`), not here.

use crate::client::ClientAddr;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// What a route costs, as far as rate limits go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Chemistry or model work: training, search, scoring, prediction, evaluation.
    Heavy,
    /// Register, sign-in, refresh: counted per address whoever is signed in.
    Auth,
    /// Everything else under `/api/`.
    Api,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Heavy => "heavy",
            Class::Auth => "auth",
            Class::Api => "api",
        }
    }

    /// The setting that bounds this class, for messages.
    fn setting(self, admin: bool) -> &'static str {
        match (self, admin) {
            (Class::Heavy, false) => "limits.rate_heavy_per_min",
            (Class::Heavy, true) => "limits.rate_heavy_admin_per_min",
            (Class::Auth, _) => "limits.rate_auth_per_min",
            (Class::Api, _) => "limits.rate_api_per_min",
        }
    }
}

/// The class of a matched route template; `None` for probes and pages (never limited).
pub fn classify(method: &Method, route: &str) -> Option<Class> {
    const HEAVY: &[&str] = &[
        "/api/v1/models/{id}/train",
        "/api/v1/models/jobs/{job_id}/retry",
        "/api/v1/models/{id}/predict",
        "/api/v1/models/by-property/{property}/predict",
        "/api/v1/models/{id}/versions/{version}/evaluate",
        "/api/v1/molecules/search/similarity",
        "/api/v1/molecules/search/substructure",
        "/api/v1/scoring/molecule",
        "/api/v1/mixtures/{id}/score",
    ];
    const AUTH: &[&str] = &[
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
    ];
    if !route.starts_with("/api/") {
        return None;
    }
    Some(if *method == Method::POST && HEAVY.contains(&route) {
        Class::Heavy
    } else if AUTH.contains(&route) {
        Class::Auth
    } else {
        Class::Api
    })
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The outcome of taking one token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Taken {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// `Some(seconds)` when refused: until one token is back.
    pub retry_after_secs: Option<u64>,
}

/// Buckets past this many are swept of full (idle) ones before another is added, so a flood of
/// distinct addresses costs bounded memory.
const MAX_BUCKETS: usize = 100_000;

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<(Class, String), Bucket>>,
}

impl RateLimiter {
    /// Take one token from `key`'s bucket of `class`, which holds `per_min` and refills at
    /// `per_min` a minute.
    pub fn take(&self, class: Class, key: String, per_min: u32, now: Instant) -> Taken {
        let capacity = f64::from(per_min);
        let rate = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // Every bucket refills completely in a minute, so one idle that long is a fresh one.
            buckets.retain(|_, b| now.duration_since(b.at).as_secs() < 60);
        }
        let bucket = buckets.entry((class, key)).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + rate * now.duration_since(bucket.at).as_secs_f64()).min(capacity);
        bucket.at = now;
        let retry_after_secs = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        };
        Taken {
            limit: per_min,
            remaining: bucket.tokens.floor() as u32,
            reset_secs: ((capacity - bucket.tokens) / rate).ceil() as u64,
            retry_after_secs,
        }
    }
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
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_spends_its_burst_then_refills_at_its_rate() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for n in (0..20).rev() {
            let t = limiter.take(Class::Heavy, "a".into(), 20, t0);
            assert_eq!((t.remaining, t.retry_after_secs), (n, None));
        }
        let refused = limiter.take(Class::Heavy, "a".into(), 20, t0);
        assert_eq!(refused.retry_after_secs, Some(3), "20/min is one every 3 s");
        // Another key and another class have their own buckets.
        assert_eq!(
            limiter
                .take(Class::Heavy, "b".into(), 20, t0)
                .retry_after_secs,
            None
        );
        assert_eq!(
            limiter
                .take(Class::Api, "a".into(), 20, t0)
                .retry_after_secs,
            None
        );
        let later = limiter.take(Class::Heavy, "a".into(), 20, t0 + Duration::from_secs(3));
        assert_eq!(later.retry_after_secs, None);
        assert_eq!(later.reset_secs, 60);
    }

    #[test]
    fn routes_fall_into_their_classes() {
        assert_eq!(
            classify(&Method::POST, "/api/v1/models/{id}/train"),
            Some(Class::Heavy)
        );
        assert_eq!(
            classify(&Method::GET, "/api/v1/models/{id}"),
            Some(Class::Api)
        );
        assert_eq!(
            classify(&Method::POST, "/api/v1/auth/login"),
            Some(Class::Auth)
        );
        assert_eq!(classify(&Method::GET, "/health/live"), None);
    }
}
