//! `/metrics`: every request counted exactly once, and the in-progress gauge back at zero after
//! successes, errors and a client that went away mid-request.

use crate::helpers::{Anon, Client};
use crate::helpers::{get, settings, settings_with};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use cryo_server::AppState;
use cryo_testkit::TestDb;
use tower::ServiceExt;

/// The value of the sample whose name and labels are exactly `series`, or 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn requests_are_counted_once_and_nothing_stays_in_progress() {
    let db = TestDb::new().await;
    let state = AppState::new(db.api_pool().await, settings()).unwrap();
    let app = cryo_server::router(state);

    for _ in 0..3 {
        assert_eq!(get(&app, "/health/live").await.status, StatusCode::OK);
    }
    assert_eq!(
        get(&app, "/no/such/route").await.status,
        StatusCode::NOT_FOUND
    );
    let unauthorised = app.get(Anon, "/api/v1/auth/me").await;
    assert_eq!(unauthorised.status, StatusCode::UNAUTHORIZED);
    let invalid = app
        .post(
            Anon,
            "/api/v1/scoring/molecule",
            serde_json::json!({ "smiles": "C1CC" }),
        )
        .await;
    assert_eq!(
        invalid.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        invalid.text
    );

    // A client that sends half a body and disconnects: the handler never answers.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
    tx.send(Ok(axum::body::Bytes::from_static(b"{\"smiles\": ")))
        .await
        .unwrap();
    let stream = tokio_stream_from(rx);
    let req = Request::post("/api/v1/scoring/molecule")
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    let pending = app.clone().oneshot(req);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), pending)
            .await
            .is_err(),
        "the request waits for the rest of its body"
    );
    drop(tx);

    let text = get(&app, "/metrics").await.text;
    let count = |labels: &str| {
        sample(
            &text,
            &format!("cryoprotect_http_requests_total{{{labels}}}"),
        )
    };
    assert_eq!(
        count(r#"method="GET",route="/health/live",status="200""#),
        3.0,
        "{text}"
    );
    assert_eq!(count(r#"method="GET",route="unmatched",status="404""#), 1.0);
    assert_eq!(
        count(r#"method="GET",route="/api/v1/auth/me",status="401""#),
        1.0
    );
    assert_eq!(
        count(r#"method="POST",route="/api/v1/scoring/molecule",status="422""#),
        1.0
    );
    assert_eq!(
        count(r#"method="POST",route="/api/v1/scoring/molecule",status="499""#),
        1.0
    );
    let total: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("cryoprotect_http_requests_total{") && !l.contains("route=\"/metrics\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 7.0, "seven requests, each counted once: {text}");
    assert_eq!(
        sample(
            &text,
            r#"cryoprotect_http_request_duration_seconds_count{method="GET",route="/health/live",status="200"}"#
        ),
        3.0
    );
    for line in text
        .lines()
        .filter(|l| l.starts_with("cryoprotect_http_requests_in_progress{"))
    {
        let in_progress: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        let scraping = line.contains("route=\"/metrics\"");
        assert_eq!(in_progress, if scraping { 1.0 } else { 0.0 }, "{line}");
    }
    // Sampled at scrape time: the database answers, the pool and the process are reported.
    assert_eq!(sample(&text, "cryoprotect_db_up"), 1.0);
    assert!(sample(&text, "process_resident_memory_bytes") > 0.0);
    assert!(sample(&text, "process_open_fds") > 0.0);
    assert!(text.contains("cryoprotect_db_pool_connections{state=\"idle\"}"));
}

/// Every metric an alert rule or a dashboard panel reads is one `/metrics` exposes: a rule on a
/// metric nobody registers can never fire, and promtool's tests (synthetic series) cannot tell.
#[tokio::test]
async fn every_metric_the_rules_and_the_dashboard_read_is_exposed() {
    let db = TestDb::new().await;
    let state = AppState::new(db.api_pool().await, settings()).unwrap();
    let families = state.metrics.families().to_vec();
    let app = cryo_server::router(state);
    let text = get(&app, "/metrics").await.text;
    // A family with samples is in the scrape under its registered name.
    for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let family = line.split_whitespace().next().unwrap();
        assert!(
            families.contains(&family),
            "{family} scraped but not listed"
        );
    }
    let exposed = |name: &str| {
        families.iter().any(|family| {
            ["", "_total", "_bucket", "_count", "_sum", "_created"]
                .iter()
                .any(|suffix| name == format!("{family}{suffix}"))
        })
    };
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let mut read = Vec::new();
    for file in [
        "prometheus/rules/cryoprotect.yml",
        "grafana/cryoprotect.json",
    ] {
        let source = std::fs::read_to_string(deploy.join(file)).unwrap();
        for word in source.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
            // Recording rules (`a:b:c`) are the rule file's own names, not scraped ones.
            if (word.starts_with("cryoprotect_") || word.starts_with("process_"))
                && !word.contains(':')
            {
                read.push((file, word.to_owned()));
            }
        }
    }
    assert!(read.len() > 20, "the files were read: {read:?}");
    let missing: Vec<_> = read.iter().filter(|(_, name)| !exposed(name)).collect();
    assert!(
        missing.is_empty(),
        "read but not exposed: {missing:?}\n{text}"
    );
    // The disk gauge is sampled at scrape time, per watched folder.
    let disk = sample(&text, r#"cryoprotect_disk_free_ratio{name="backups"}"#);
    assert!(disk > 0.0 && disk <= 1.0, "{text}");
}

/// A body stream fed by a channel (no extra crate needed).
fn tokio_stream_from(
    rx: tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[tokio::test]
async fn health_lists_every_dependency_and_startup_latches() {
    let db = TestDb::new().await;
    let with_secret = settings_with(&[("CRYOPROTECT_JWT_SECRET", crate::system::SECRET)]);
    let state = AppState::new(db.api_pool().await, with_secret).unwrap();
    let app = cryo_server::router(state);
    let h = get(&app, "/health").await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text);
    let v = h.json();
    let names: Vec<&str> = v["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for expected in [
        "database",
        "migrations",
        "model_registry",
        "disk:backups",
        "disk:data",
    ] {
        assert!(names.contains(&expected), "{expected} missing: {}", h.text);
    }
    assert!(["ok", "degraded"].contains(&v["status"].as_str().unwrap()));
    // Anonymous callers learn states, not paths, sizes or versions; administrators get all.
    assert!(
        v["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d.get("detail").is_none()),
        "{v}"
    );
    assert!(
        !h.text.contains("GiB") && !h.text.contains('/'),
        "{}",
        h.text
    );
    let token = crate::system::service_token();
    let admin = app.get(&token, "/health").await.json();
    assert!(
        admin["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["detail"].as_str().is_some_and(|t| t.contains("GiB"))),
        "{admin}"
    );
    assert_eq!(get(&app, "/health/startup").await.status, StatusCode::OK);

    // A database that cannot be reached: failing, 503, and startup not reached.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(300))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .unwrap();
    let unreachable = cryo_server::router(AppState::new(pool, settings()).unwrap());
    let down = get(&unreachable, "/health").await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.text
    );
    assert_eq!(down.json()["status"], "failing");
    assert_eq!(down.json()["dependencies"][0]["status"], "failed");
    assert_eq!(
        get(&unreachable, "/health/startup").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let metrics = get(&unreachable, "/metrics").await.text;
    assert_eq!(sample(&metrics, "cryoprotect_db_up"), 0.0, "{metrics}");
}

#[tokio::test]
async fn row_counts_are_shown_only_on_the_private_metrics_listener() {
    let db = TestDb::new().await;
    let state = AppState::new(db.api_pool().await, settings()).unwrap();
    state
        .metrics
        .entities
        .get_or_create(&cryo_server::metrics::NameLabel {
            name: "molecules".into(),
        })
        .set(17);
    let public = get(&cryo_server::router(state.clone()), "/metrics")
        .await
        .text;
    assert!(public.contains("cryoprotect_db_up"), "{public}");
    assert!(!public.contains("cryoprotect_entities"), "{public}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(cryo_server::serve_metrics(listener, state));
    let private = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server.abort();
    assert!(
        private.contains("cryoprotect_entities{name=\"molecules\"} 17"),
        "{private}"
    );
    assert!(private.contains("cryoprotect_db_up"), "{private}");
    assert_eq!(private.matches("# EOF").count(), 1, "{private}");
    assert!(private.trim_end().ends_with("# EOF"), "{private}");
}
