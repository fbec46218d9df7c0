use crate::helpers::{Client, app, get, send};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cryo_testkit::TestDb;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

#[tokio::test]
async fn live_answers_with_the_version() {
    let db = TestDb::new().await;
    let r = get(&app(db.api_pool().await), "/health/live").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn ready_when_the_database_answers_and_migrations_are_current() {
    let db = TestDb::new().await;
    let r = get(&app(db.api_pool().await), "/health/ready").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn not_ready_when_migrations_are_pending() {
    let db = TestDb::empty().await;
    let r = get(&app(db.api_pool().await), "/health/ready").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = r.json();
    assert_eq!(body["checks"][0]["status"], "ok");
    assert_eq!(body["checks"][1]["name"], "migrations");
    assert_eq!(body["checks"][1]["status"], "failed");
}

#[tokio::test]
async fn ready_when_the_database_is_ahead_by_a_newer_release() {
    // After a deploy that migrated, a rollback runs the previous release on the expanded schema.
    let db = TestDb::new().await;
    let newer = db.apply_newer_release_migration().await;
    let r = get(&app(db.api_pool().await), "/health/ready").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let detail = r.json()["checks"][1]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains(&newer.to_string()), "{detail}");
}

#[tokio::test]
async fn not_ready_when_the_database_is_unreachable() {
    // Nothing listens on port 1.
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .unwrap();
    let r = get(&app(pool), "/health/ready").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = r.json();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"][0]["status"], "failed");
    assert_eq!(body["checks"][1]["detail"], "skipped: database unreachable");
}

#[tokio::test]
async fn unknown_routes_get_the_json_error_shape() {
    let db = TestDb::new().await;
    let r = get(&app(db.api_pool().await), "/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let body = r.json();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["details"].is_object());
}

#[tokio::test]
async fn request_ids_are_echoed_when_plain_and_replaced_when_not() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let with = |id: &str| {
        Request::get("/health/live")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };

    let r = send(&app, with("trace-42")).await;
    assert_eq!(r.headers["x-request-id"], "trace-42");

    let r = send(&app, with("evil id with spaces; DROP")).await;
    let generated = r.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

    let r = get(&app, "/health/live").await;
    assert!(uuid::Uuid::parse_str(r.headers["x-request-id"].to_str().unwrap()).is_ok());
}

#[tokio::test]
async fn openapi_document_and_offline_docs_page_are_served() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let r = get(&app, "/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["paths"]["/health/live"]["get"].is_object());
    assert!(doc["paths"]["/health/ready"]["get"].is_object());
    // The model-management API is documented, under one /api/v1 prefix (the original doubled it).
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert!(doc["paths"]["/api/v1/models/{id}/predict"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/models/jobs/{job_id}"]["get"].is_object());
    assert!(
        paths
            .iter()
            .filter(|p| p.starts_with("/api/v1/models"))
            .count()
            >= 14
    );
    assert!(
        !paths.iter().any(|p| p.contains("/api/v1/api/")),
        "{paths:?}"
    );
    // Every schema reference resolves (types now come from cryo-app as well as cryo-server).
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(
        all.iter().any(|r| r.ends_with("/PredictResponse")),
        "{all:?}"
    );
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").expect(r);
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling schema reference {r}"
        );
    }

    let page = get(&app, "/api/docs/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    // Everything the page loads comes from this server: no CDN.
    assert!(
        !page.text.contains("https://"),
        "docs page references an external URL"
    );
    let initializer = get(&app, "/api/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status, StatusCode::OK);
    assert!(initializer.text.contains("/api/openapi.json"));
}

#[tokio::test]
async fn the_vocabulary_lists_what_the_api_accepts_for_anyone() {
    let db = TestDb::new().await;
    let app = app(db.api_pool().await);
    let r = get(&app, "/api/v1/vocabulary").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let names = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {v}"))
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let units: Vec<String> = cryo_core::units::ConcentrationUnit::ALL
        .iter()
        .map(|u| u.as_str().to_string())
        .collect();
    assert_eq!(names("concentration_units"), units);
    assert_eq!(names("algorithms")[0], "random_forest");
    assert_eq!(names("algorithms").len(), cryo_ml::Algorithm::ALL.len());
    assert!(names("interval_methods").contains(&"jackknife-plus".to_string()));
    assert!(
        v["feature_sets"][0]["label"]
            .as_str()
            .unwrap()
            .contains('(')
    );
}

#[tokio::test]
async fn a_database_that_goes_away_is_answered_as_unavailable_not_as_a_server_fault() {
    let (db, app) = crate::helpers::seeded().await;
    let alice = crate::helpers::register(&app, "alice").await;
    let r = app.get(&alice, "/api/v1/molecules").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The database is dropped under the running service (its connections ended with it).
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&cryo_testkit::admin_options())
            .await
            .unwrap();
    sqlx::Executor::execute(
        &mut admin,
        sqlx::AssertSqlSafe(format!("DROP DATABASE \"{}\" WITH (FORCE)", db.name)),
    )
    .await
    .unwrap();
    let r = app.get(&alice, "/api/v1/molecules").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(
        r.json()["error"]["code"],
        "database_unavailable",
        "{}",
        r.text
    );
}
