//! Backup administration through the API: admins only, runs in the background, verifiable.

use crate::helpers::{Anon, Client};
use crate::helpers::{call, register, settings};
use axum::http::StatusCode;
use cryo_app::system::AdminService;
use cryo_server::AppState;
use cryo_testkit::TestDb;
use serde_json::json;
use std::sync::Arc;

pub const SECRET: &str = "system-test-secret-system-test-secret";

pub fn service_token() -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    encode(
        &Header::default(),
        &json!({"role": "service_role", "exp": exp}),
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn admins_take_and_verify_backups_others_cannot() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.auth.jwt_secret = cryo_config::Secret::new(SECRET);
    s.backup.dir = dir.path().to_path_buf();
    let spec = cryo_db::backup::ConnSpec::from_url(&db.url()).unwrap();
    let service = Arc::new(AdminService::new(db.pool.clone(), spec, &s.backup).unwrap());
    let app = cryo_server::router(
        AppState::new(db.api_pool().await, s)
            .unwrap()
            .with_admin(service),
    );

    assert_eq!(
        app.get(Anon, "/api/v1/system/backups").await.status,
        StatusCode::UNAUTHORIZED
    );
    let user = register(&app, "user").await;
    assert_eq!(
        app.get(&user, "/api/v1/system/backups").await.status,
        StatusCode::FORBIDDEN
    );
    let r = app.post(&user, "/api/v1/system/backups", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let admin = service_token();
    let r = app
        .post(&admin, "/api/v1/system/backups", json!({"label": "api"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let mut status = serde_json::Value::Null;
    for _ in 0..300 {
        status = app
            .get(&admin, "/api/v1/system/backups/status")
            .await
            .json();
        if status["running"] == false && status["last_success_id"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(status["last_error"].is_null(), "{status}");
    assert_eq!(status["health"], "ok", "{status}");
    assert!(status["age_hours"].as_f64().unwrap() < 1.0);
    let id = status["last_success_id"]
        .as_str()
        .expect("backup finished")
        .to_string();
    let list = app.get(&admin, "/api/v1/system/backups").await.json();
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["label"], "api");
    let v = call(
        &app,
        "POST",
        &format!("/api/v1/system/backups/{id}/verify"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    assert_eq!(v.json()["ok"], true, "{}", v.text);
    let missing = call(
        &app,
        "POST",
        "/api/v1/system/backups/nope/verify",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn database_health_and_repair_are_for_admins_with_cached_results() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.auth.jwt_secret = cryo_config::Secret::new(SECRET);
    s.backup.dir = dir.path().to_path_buf();
    s.health.cache_seconds = 60;
    let spec = cryo_db::backup::ConnSpec::from_url(&db.url()).unwrap();
    let service = Arc::new(
        AdminService::new(db.pool.clone(), spec, &s.backup)
            .unwrap()
            .with_health(&s),
    );
    let app = cryo_server::router(
        AppState::new(db.api_pool().await, s)
            .unwrap()
            .with_admin(service),
    );
    let user = register(&app, "user").await;
    let path = "/api/v1/system/database/health";
    assert_eq!(app.get(Anon, path).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&user, path).await.status, StatusCode::FORBIDDEN);

    let admin = service_token();
    let first = app.get(&admin, path).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let body = first.json();
    assert_eq!(body["cached"], false);
    let checks = body["report"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), cryo_db::health::CHECKS.len());
    let rls = checks.iter().find(|c| c["name"] == "rls_coverage").unwrap();
    assert_eq!(rls["status"], "ok", "{rls}");
    // No backup yet: the backup check warns, so the whole report does.
    assert_eq!(body["report"]["status"], "warning");
    assert_eq!(app.get(&admin, path).await.json()["cached"], true);

    let some = app
        .get(&admin, &format!("{path}?checks=connectivity,orphans"))
        .await
        .json();
    assert_eq!(some["report"]["checks"].as_array().unwrap().len(), 2);
    let bad = app.get(&admin, &format!("{path}?checks=nope")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("nope"), "{}", bad.text);
    let html = app.get(&admin, &format!("{path}?format=html")).await;
    assert!(
        html.text.contains("<svg") && html.text.contains("rls_coverage"),
        "{}",
        html.text
    );

    let fix = "/api/v1/system/database/fix";
    let r = app.post(&user, fix, json!({"strategy": "delete"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post(&admin, fix, json!({"strategy": "shred"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("strategy"), "{}", r.text);
    let r = app
        .post(&admin, fix, json!({"strategy": "quarantine"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json()["actions"],
        json!([]),
        "a clean database needs nothing"
    );
}
