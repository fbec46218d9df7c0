//! Token-bucket rate limits per identity (signed-in callers) and per client address (everyone
//! else, and every sign-in route), by route class. Buckets live in this process: with N
//! replicas behind one balancer a caller's budget is up to N times the configured rate, which
//! bounds the damage the same way; sign-in guessing is counted cluster-wide in PostgreSQL
//! (`login_throttle`), not here.

use axum::http::Method;
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
    pub fn setting(self, admin: bool) -> &'static str {
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
        "/api/v1/mixtures/{id}/optimise",
        "/api/v1/mixtures/{id}/optimise/events",
        "/api/v1/mixtures/{id}/recommend",
        "/api/v1/screenings",
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
