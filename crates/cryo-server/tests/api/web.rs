//! The web interface's shell and assets, and the API shapes it relies on.

use crate::helpers::Client;
use crate::helpers::{get, register, seeded};
use axum::http::StatusCode;
use std::collections::BTreeSet;

#[tokio::test]
async fn the_interface_is_served_from_the_binary_with_a_strict_policy() {
    let (_db, app) = seeded().await;
    let index = get(&app, "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(
        index.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = index.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(index.text.contains(r#"src="/ui/app.js""#));

    // Every module the page loads is served, and every module it imports is one of them (a
    // file missing from the binary's table would break the page only in a browser otherwise).
    let served: BTreeSet<String> = cryo_server::web::asset_paths().map(String::from).collect();
    for path in &served {
        let r = get(&app, &format!("/ui/{path}")).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let kind = r.headers["content-type"].to_str().unwrap().to_owned();
        if path.ends_with(".js") {
            assert!(kind.starts_with("text/javascript"), "{path}: {kind}");
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            for import in r.text.lines().filter_map(|l| l.split(" from '").nth(1)) {
                let target = import.trim_end_matches("';");
                let resolved = match (target.strip_prefix("../"), target.strip_prefix("./")) {
                    (Some(up), _) => up.to_string(),
                    (_, Some(here)) if dir.is_empty() => here.to_string(),
                    (_, Some(here)) => format!("{dir}/{here}"),
                    _ => panic!("{path} imports {target}, outside the bundle"),
                };
                assert!(
                    served.contains(&resolved),
                    "{path} imports {resolved}, not served"
                );
            }
        }
    }
    let missing = get(&app, "/ui/nope.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn property_types_and_timestamps_are_what_a_browser_can_use() {
    let (_db, app) = seeded().await;
    let types = get(&app, "/api/v1/property-types").await;
    assert_eq!(types.status, StatusCode::OK);
    let types = types.json();
    let hfe = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Hydration Free Energy")
        .expect("seeded");
    assert_eq!(hfe["units"], "kcal/mol");
    assert_eq!(hfe["data_type"], "numeric");

    // Times are RFC 3339 strings and dates ISO 8601 (not time's default tuples).
    let user = register(&app, "ada").await;
    let molecules = app.get(&user, "/api/v1/molecules?q=glycerol").await.json();
    // The list carries the key descriptors a table shows.
    let glycerol = &molecules[0];
    assert_eq!(glycerol["name"], "Glycerol");
    assert!(
        (glycerol["logp"].as_f64().unwrap() + 1.668).abs() < 0.01,
        "{glycerol}"
    );
    assert!(
        (glycerol["tpsa"].as_f64().unwrap() - 60.69).abs() < 0.01,
        "{glycerol}"
    );
    assert_eq!(glycerol["h_bond_donors"], 3.0);
    assert_eq!(glycerol["h_bond_acceptors"], 3.0);
    let created = molecules[0]["created_at"].as_str().expect("a string");
    time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).unwrap();
    let glycerol = molecules[0]["id"].as_str().unwrap();
    let experiment = app
        .post(
            &user,
            "/api/v1/experiments",
            serde_json::json!({
                "molecule_id": glycerol, "property": "Glass Transition Temperature",
                "value": -93.0, "unit": "°C", "performed_on": "2026-11-02"
            }),
        )
        .await;
    assert_eq!(
        experiment.status,
        StatusCode::CREATED,
        "{}",
        experiment.text
    );
    assert_eq!(experiment.json()["performed_on"], "2026-11-02");
}

#[tokio::test]
async fn only_the_configured_origins_may_call_the_api_from_a_browser() {
    use axum::body::Body;
    use axum::http::Request;
    let db = cryo_testkit::TestDb::new().await;
    let settings =
        crate::helpers::settings_with(&[("CRYOPROTECT_CORS_ORIGINS", "https://lab.example")]);
    let app =
        cryo_server::router(cryo_server::AppState::new(db.api_pool().await, settings).unwrap());
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/v1/molecules")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let allowed = crate::helpers::send(&app, preflight("https://lab.example")).await;
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://lab.example"
    );
    let methods = allowed.headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let other = crate::helpers::send(&app, preflight("https://elsewhere.example")).await;
    assert!(
        !other.headers.contains_key("access-control-allow-origin"),
        "{:?}",
        other.headers
    );
    // The web interface itself is same-origin and needs no CORS at all (the default).
    let same = crate::helpers::send(
        &crate::helpers::app(db.api_pool().await),
        preflight("https://lab.example"),
    )
    .await;
    assert!(!same.headers.contains_key("access-control-allow-origin"));
}
