//! Rules applied once at the edge for every route: NUL characters refused naming the field,
//! every error in the documented JSON shape, security headers on every response.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

#[tokio::test]
async fn nul_characters_are_refused_naming_the_field_everywhere() {
    let (_db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    // In a JSON body: the field is named, nested paths included.
    let r = app
        .post(
            &alice,
            "/api/v1/molecules",
            json!({"smiles": "CCO", "name": "a\u{0}b"}),
        )
        .await;
    let v = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(v["error"]["details"]["field"], "name", "{v}");
    let r = app
        .post(
            Anon,
            "/api/v1/auth/login",
            json!({"email": "x\u{0}@lab.example", "password": "p"}),
        )
        .await;
    let v = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(v["error"]["details"]["field"], "email", "{v}");
    let r = app.post(&alice, "/api/v1/mixtures", json!({"name": "m", "components": [{"molecule_id": uuid::Uuid::new_v4(), "concentration": 1, "unit": "M\u{0}"}]}))
    .await;
    let v = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(v["error"]["details"]["field"], "components[0].unit", "{v}");
    // In the query string and the path.
    let r = app.get(&alice, "/api/v1/molecules?q=%00").await;
    let v = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(v["error"]["details"]["field"], "q", "{v}");
    let r = app.get(&alice, "/api/v1/molecules/%00").await;
    assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn every_error_has_the_documented_shape() {
    let db = cryo_testkit::TestDb::new().await;
    let settings = settings_with(&[("CRYOPROTECT_BODY_LIMIT_BYTES", "1024")]);
    let app =
        cryo_server::router(cryo_server::AppState::new(db.api_pool().await, settings).unwrap());
    let alice = register(&app, "alice").await;
    // A path parameter that does not parse.
    let r = app.get(&alice, "/api/v1/molecules/not-a-uuid").await;
    assert_error_shape(&r, StatusCode::BAD_REQUEST, "bad_request");
    // A query parameter that does not parse.
    let r = app.get(&alice, "/api/v1/molecules?limit=many").await;
    assert_error_shape(&r, StatusCode::BAD_REQUEST, "bad_request");
    // A method the route does not have.
    let r = call(&app, "PUT", "/health/live", None, None).await;
    assert_error_shape(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // A body over the limit, declared or streamed.
    let big = json!({ "smiles": "C".repeat(4000) });
    let r = app
        .post(Anon, "/api/v1/scoring/molecule", big.clone())
        .await;
    let v = assert_error_shape(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(
        v["error"]["details"]["limit"], "server.body_limit_bytes",
        "{v}"
    );
    let streamed = Request::post("/api/v1/scoring/molecule")
        .header("content-type", "application/json")
        .body(Body::from_stream(futures_util::stream::iter([Ok::<
            _,
            std::io::Error,
        >(
            big.to_string().into_bytes(),
        )])))
        .unwrap();
    let r = send(&app, streamed).await;
    assert_error_shape(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Malformed JSON and a wrong type name the problem.
    let req = Request::post("/api/v1/scoring/molecule")
        .header("content-type", "application/json")
        .body(Body::from("{\"smiles\":"))
        .unwrap();
    assert_error_shape(
        &send(&app, req).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let r = app
        .post(Anon, "/api/v1/scoring/molecule", json!({"smiles": 5}))
        .await;
    let v = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(v["error"]["details"]["field"], "smiles", "{v}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (_db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let m = app
        .post(&alice, "/api/v1/molecules", json!({"smiles": "OCC(O)CO"}))
        .await;
    let id = m.json()["molecule"]["id"].as_str().unwrap().to_string();
    for (path, token) in [
        ("/health/live".to_string(), None),
        ("/api/openapi.json".to_string(), None),
        ("/api/docs/".to_string(), None),
        (
            format!("/api/v1/molecules/{id}/svg"),
            Some(alice.token.as_str()),
        ),
        ("/api/v1/no-such-route".to_string(), None),
        ("/".to_string(), None),
    ] {
        let r = call(&app, "GET", &path, token, None).await;
        let h = &r.headers;
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path.starts_with("/api/v1") || path.starts_with("/health") {
            assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        }
    }
}
