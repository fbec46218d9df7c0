//! Rate limits: token buckets per identity and per client address, by route class, answered 429
//! with `Retry-After` and `RateLimit-*` headers, and counted in the metrics.

use crate::helpers::{Anon, Client};
use crate::helpers::{Reply, assert_error_shape, call_from, register, settings_with};
use crate::system::{SECRET, service_token};
use axum::http::StatusCode;
use cryo_server::AppState;
use cryo_testkit::TestDb;
use serde_json::json;

fn header(r: &Reply, name: &str) -> u64 {
    r.headers[name].to_str().unwrap().parse().unwrap()
}

async fn limited_app(db: &TestDb) -> axum::Router {
    let mut settings = settings_with(&[
        ("CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN", "3"),
        ("CRYOPROTECT_LIMITS_RATE_HEAVY_ADMIN_PER_MIN", "5"),
        ("CRYOPROTECT_LIMITS_RATE_AUTH_PER_MIN", "4"),
        ("CRYOPROTECT_LIMITS_RATE_API_PER_MIN", "50"),
    ]);
    settings.auth.jwt_secret = cryo_config::Secret::new(SECRET);
    cryo_server::router(AppState::new(db.api_pool().await, settings).unwrap())
}

async fn score(app: &axum::Router, client: &str, token: Option<&str>) -> Reply {
    call_from(
        app,
        Some(client),
        "POST",
        "/api/v1/scoring/molecule",
        token,
        Some(json!({"smiles": "OCC(O)CO"})),
    )
    .await
}

#[tokio::test]
async fn heavy_routes_spend_a_bucket_per_address_or_per_user() {
    let db = TestDb::new().await;
    let app = limited_app(&db).await;
    for remaining in [2, 1, 0] {
        let r = score(&app, "203.0.113.1", None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(header(&r, "ratelimit-limit"), 3);
        assert_eq!(header(&r, "ratelimit-remaining"), remaining);
        assert!((1..=60).contains(&header(&r, "ratelimit-reset")));
    }
    let r = score(&app, "203.0.113.1", None).await;
    let e = assert_error_shape(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(e["error"]["details"]["limit"], "limits.rate_heavy_per_min");
    assert_eq!(header(&r, "retry-after"), 20, "3 a minute: one every 20 s");
    assert_eq!(header(&r, "ratelimit-remaining"), 0);
    // Another address has its own bucket, and so has a signed-in user at the same address.
    assert_eq!(
        score(&app, "203.0.113.2", None).await.status,
        StatusCode::OK
    );
    let user = register(&app, "bucket").await;
    for _ in 0..3 {
        let r = score(&app, "203.0.113.1", Some(&user.token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = score(&app, "203.0.113.9", Some(&user.token)).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the user's bucket follows them"
    );
    // Administrators have their own tier.
    let admin = service_token();
    for _ in 0..5 {
        assert_eq!(
            score(&app, "203.0.113.1", Some(&admin)).await.status,
            StatusCode::OK
        );
    }
    let r = score(&app, "203.0.113.1", Some(&admin)).await;
    let e = assert_error_shape(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(
        e["error"]["details"]["limit"],
        "limits.rate_heavy_admin_per_min"
    );
    // Light routes are another class; probes are never limited.
    let r = call_from(
        &app,
        Some("203.0.113.1"),
        "GET",
        "/api/v1/property-types",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "ratelimit-limit"), 50);
    let r = call_from(&app, Some("203.0.113.1"), "GET", "/health/live", None, None).await;
    assert!(r.headers.get("ratelimit-limit").is_none());
    let metrics = app.get(Anon, "/metrics").await.text;
    let refused = metrics
        .lines()
        .find(|l| l.starts_with("cryoprotect_rate_limited_total{class=\"heavy\"}"))
        .unwrap_or_else(|| panic!("no rate-limit counter in\n{metrics}"));
    assert!(refused.ends_with(" 3"), "{refused}");
}

#[tokio::test]
async fn registrations_and_sign_ins_are_limited_per_address() {
    let db = TestDb::new().await;
    let app = limited_app(&db).await;
    // `register` (the helper) comes from the loopback: use explicit addresses here.
    for n in 0..4 {
        let r = call_from(
            &app,
            Some("198.51.100.20"),
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": format!("r{n}@lab.example"), "password": "correct horse battery", "display_name": "R"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = call_from(
        &app,
        Some("198.51.100.20"),
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "r0@lab.example", "password": "correct horse battery"})),
    )
    .await;
    let e = assert_error_shape(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(e["error"]["details"]["limit"], "limits.rate_auth_per_min");
    let r = call_from(
        &app,
        Some("198.51.100.21"),
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "r0@lab.example", "password": "correct horse battery"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
