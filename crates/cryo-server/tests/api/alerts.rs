//! Direct notifications: the outbox delivers a webhook once the receiver comes back, exactly
//! once, signed; a firing alert is de-duplicated; a silence suppresses; resolving notifies.

use crate::helpers::settings_with;
use crate::helpers::{Anon, Client};
use crate::system::{SECRET, service_token};
use axum::http::StatusCode;
use cryo_db::repo::alerts::Raised;
use cryo_server::AppState;
use cryo_testkit::TestDb;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>;

async fn receiver(port: u16, seen: Seen) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: axum::http::HeaderMap,
                 body: String| async move {
                    seen.lock().unwrap().push((headers, body));
                },
            ),
        )
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() })
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_webhook_down_for_a_while_gets_each_notification_once_signed() {
    let db = TestDb::new().await;
    // A port nobody listens on yet: the receiver is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let state = AppState::new(
        db.api_pool().await,
        settings_with(&[
            ("CRYOPROTECT_ALERTS_WEBHOOK_URL", &url),
            ("CRYOPROTECT_ALERTS_WEBHOOK_SECRET", "hook-secret"),
            ("CRYOPROTECT_ALERTS_RETRY_BASE_SECS", "0.05"),
            ("CRYOPROTECT_JWT_SECRET", SECRET),
        ]),
    )
    .unwrap();
    let sender =
        cryo_app::alerts::spawn_sender(state.app.clone()).expect("a webhook is configured");
    let app = cryo_server::router(state.clone());
    let admin = service_token();

    let raised = cryo_app::alerts::raise(
        &state,
        "backup_failed",
        "critical",
        "the scheduled backup failed",
        json!({"error": "disk full"}),
    )
    .await
    .unwrap();
    assert_eq!(raised, Raised::Queued);
    // Raised again while firing: one notification, not two.
    let again = cryo_app::alerts::raise(
        &state,
        "backup_failed",
        "critical",
        "the scheduled backup failed",
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(again, Raised::Deduplicated);

    // The receiver is down: attempts fail and are retried with back-off.
    let failing = || async {
        let v = app.get(&admin, "/api/v1/system/alerts").await.json();
        v["deliveries"][0]["attempts"].as_i64().unwrap_or(0)
    };
    let started = Instant::now();
    while failing().await < 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "no retries");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let view = app.get(&admin, "/api/v1/system/alerts").await.json();
    assert_eq!(view["deliveries"][0]["state"], "pending");
    assert!(
        view["deliveries"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{view}"
    );
    assert_eq!(view["alerts"][0]["fingerprint"], "backup_failed");
    assert_eq!(view["alerts"][0]["firing"], true);

    // The receiver comes back: delivered once, signed.
    let seen: Seen = Arc::default();
    let server = receiver(port, seen.clone()).await;
    eventually("the notification arrives", || {
        seen.lock().unwrap().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(seen.lock().unwrap().len(), 1, "delivered exactly once");
    {
        let (headers, body) = &seen.lock().unwrap()[0];
        let payload: Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["fingerprint"], "backup_failed");
        assert_eq!(payload["status"], "firing");
        assert_eq!(payload["details"]["error"], "disk full");
        let timestamp: i64 = headers["x-cryoprotect-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            headers["x-cryoprotect-signature"].to_str().unwrap(),
            cryo_app::alerts::signature("hook-secret", timestamp, body.as_bytes())
        );
        assert!(headers.contains_key("x-cryoprotect-delivery"));
    }

    // Silenced alerts are recorded, not sent.
    let silence = app
        .post(
            &admin,
            "/api/v1/system/silences",
            json!({"matcher": "health:", "minutes": 30, "comment": "disk swap tonight"}),
        )
        .await;
    assert_eq!(silence.status, StatusCode::CREATED, "{}", silence.text);
    let silenced = cryo_app::alerts::raise(
        &state,
        "health:disk:data",
        "warning",
        "disk:data is warning",
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(silenced, Raised::Silenced);
    let listed = app.get(&admin, "/api/v1/system/silences").await.json();
    assert_eq!(listed[0]["active"], true);

    // Resolving notifies once more.
    assert!(
        cryo_app::alerts::resolve(&state, "backup_failed")
            .await
            .unwrap()
    );
    eventually("the resolution arrives", || seen.lock().unwrap().len() == 2).await;
    let resolved: Value = serde_json::from_str(&seen.lock().unwrap()[1].1).unwrap();
    assert_eq!(resolved["status"], "resolved");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the silenced alert was not sent"
    );

    // Users who are not administrators see none of it.
    let user = crate::helpers::register(&app, "someone").await;
    let denied = app.get(&user, "/api/v1/system/alerts").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    sender.abort();
    server.abort();
}

/// Two replicas on one database keep the same schedule; at each tick exactly one of them (the
/// cluster's leader) takes the backup. When the leader goes, the other takes over.
#[tokio::test]
async fn two_replicas_take_one_backup_per_scheduled_tick() {
    use cryo_app::backup_schedule::on_tick;
    use cryo_app::system::AdminService;
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings_with(&[("CRYOPROTECT_JWT_SECRET", SECRET)]);
    s.backup.dir = dir.path().to_path_buf();
    let spec = cryo_db::backup::ConnSpec::from_url(&db.url()).unwrap();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let service =
            Arc::new(AdminService::new(db.pool.clone(), spec.clone(), &s.backup).unwrap());
        let state = AppState::new(db.api_pool().await, s.clone()).unwrap();
        replicas.push((state.app.clone(), service));
    }
    let [(a, sa), (b, sb)] = &replicas[..] else {
        unreachable!()
    };
    // The backup a replica's service took last (ids are per second, so ticks are a second apart).
    let last = |service: &AdminService| {
        let status = service.status();
        assert_eq!(status.last_error, None);
        status.last_success_id
    };
    let mut taken = Vec::new();
    for tick in 1..=2 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (took_a, took_b) = tokio::join!(on_tick(a, sa), on_tick(b, sb));
        assert!(
            took_a ^ took_b,
            "tick {tick}: exactly one replica backs up ({took_a}, {took_b})"
        );
        taken.push(last(if took_a { sa } else { sb }).expect("a backup was written"));
    }
    assert_ne!(taken[0], taken[1]);
    // The leader stops (its session ends); at the next tick the other one backs up.
    let a_leads = a.leader.leading().await;
    let (leader, (follower, service)) = if a_leads { (a, (b, sb)) } else { (b, (a, sa)) };
    leader.leader.release().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(on_tick(follower, service).await);
    assert!(last(service).is_some_and(|id| !taken.contains(&id)));
}

#[tokio::test]
async fn a_failed_scheduled_backup_raises_its_alert_and_the_next_success_resolves_it() {
    use cryo_app::backup_schedule::scheduled_backup;
    use cryo_app::system::AdminService;
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings_with(&[("CRYOPROTECT_JWT_SECRET", SECRET)]);
    s.backup.dir = dir.path().to_path_buf();
    let state = AppState::new(db.api_pool().await, s.clone()).unwrap();
    let app = cryo_server::router(state.clone());
    let admin = service_token();
    let backup_alert = || async {
        let view = app.get(&admin, "/api/v1/system/alerts").await.json();
        view["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["fingerprint"] == "backup_failed")
            .cloned()
    };

    // pg_dump cannot reach a database that does not exist.
    let (base, _) = db
        .url()
        .rsplit_once('/')
        .map(|(b, n)| (b.to_string(), n.to_string()))
        .unwrap();
    let broken = cryo_db::backup::ConnSpec::from_url(&format!("{base}/no_such_database")).unwrap();
    let failing = AdminService::new(db.pool.clone(), broken, &s.backup).unwrap();
    scheduled_backup(&state, &failing).await;
    let alert = backup_alert().await.expect("raised");
    assert_eq!(alert["firing"], true, "{alert}");
    assert_eq!(alert["severity"], "critical");
    assert!(
        alert["summary"]
            .as_str()
            .unwrap()
            .contains("scheduled backup failed"),
        "{alert}"
    );

    let working = AdminService::new(
        db.pool.clone(),
        cryo_db::backup::ConnSpec::from_url(&db.url()).unwrap(),
        &s.backup,
    )
    .unwrap();
    scheduled_backup(&state, &working).await;
    let alert = backup_alert().await.expect("still listed");
    assert_eq!(
        alert["firing"], false,
        "resolved by the next success: {alert}"
    );
}

#[tokio::test]
async fn the_health_watch_raises_an_alert_per_degraded_dependency() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings_with(&[
        ("CRYOPROTECT_JWT_SECRET", SECRET),
        ("CRYOPROTECT_ALERTS_HEALTH_CHECK_SECS", "1"),
    ]);
    // An empty backup folder: "no good backup yet" is a degraded dependency.
    s.backup.dir = dir.path().to_path_buf();
    let service = cryo_app::system::AdminService::new(
        db.pool.clone(),
        cryo_db::backup::ConnSpec::from_url(&db.url()).unwrap(),
        &s.backup,
    )
    .unwrap();
    let state = AppState::new(db.api_pool().await, s)
        .unwrap()
        .with_admin(Arc::new(service));
    let app = cryo_server::router(state.clone());
    let health = app.get(Anon, "/health").await.json();
    let degraded: Vec<String> = health["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] != "ok")
        .map(|d| format!("health:{}", d["name"].as_str().unwrap()))
        .collect();
    assert!(degraded.contains(&"health:backups".to_string()), "{health}");

    let watch = cryo_app::alerts::spawn_health_watch(state.app.clone());
    let admin = service_token();
    let mut raised: Vec<String> = Vec::new();
    for _ in 0..100 {
        let view = app.get(&admin, "/api/v1/system/alerts").await.json();
        raised = view["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["firing"] == true)
            .map(|a| a["fingerprint"].as_str().unwrap().to_string())
            .collect();
        if !raised.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watch.abort();
    raised.sort();
    let mut expected = degraded.clone();
    expected.sort();
    // One alert per degraded dependency, none for the healthy ones (the database answers).
    assert_eq!(raised, expected);
}
