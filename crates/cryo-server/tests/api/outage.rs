//! The database going away under a running server, through a TCP proxy the test cuts: every
//! class of outage answers 503 `database_unavailable` with `Retry-After`, never 500 or 403,
//! and the server answers again once the database is back.

use crate::helpers::{Client, register, settings_with};
use axum::http::StatusCode;
use cryo_server::AppState;
use cryo_testkit::TestDb;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::{TcpListener, TcpStream};

/// Forwards 127.0.0.1:<port> to the test server. `cut` closes every open connection and
/// refuses new ones (accepted, then closed at once) until `mend`.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = cryo_testkit::admin_options();
        let target = format!("{}:{}", target.get_host(), target.get_port());
        let down = Arc::new(AtomicBool::new(false));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let generation = Arc::new(generation);
        let (d, g) = (down.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut cut = g.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            down,
            generation,
        }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn mend(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_database_cut_off_answers_503_to_retry_and_recovers() {
    let db = TestDb::new().await;
    let proxy = Proxy::start().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_lazy_with(cryo_testkit::api_options(&db.name).port(proxy.port));
    let settings = settings_with(&[("CRYOPROTECT_JWT_SECRET", crate::system::SECRET)]);
    let app = cryo_server::router(AppState::new(pool, settings).unwrap());
    let alice = register(&app, "alice").await;
    let list =
        |app: axum::Router, token: String| async move { app.get(&token, "/api/v1/mixtures").await };
    assert_eq!(
        list(app.clone(), alice.token.clone()).await.status,
        StatusCode::OK
    );

    // Connections dropped mid-life, and new ones refused: the pooled connections die, and
    // reconnecting fails.
    proxy.cut();
    for _ in 0..3 {
        let r = list(app.clone(), alice.token.clone()).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
        assert_eq!(
            r.json()["error"]["code"],
            "database_unavailable",
            "{}",
            r.text
        );
        assert_eq!(r.headers["retry-after"], "1");
    }

    // Back: the next request is answered.
    proxy.mend();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = list(app.clone(), alice.token.clone()).await;
        if r.status == StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never recovered: {}",
            r.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A session the server terminates (57P01, as a restart or an administrator does) is an
    // outage too, not an internal error.
    let mut admin = sqlx::PgConnection::connect_with(&cryo_testkit::admin_options())
        .await
        .unwrap();
    use sqlx::Connection;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND usename = $2",
    )
    .bind(&db.name)
    .bind(cryo_testkit::TEST_API_ROLE)
    .execute(&mut admin)
    .await
    .unwrap();
    let r = list(app.clone(), alice.token.clone()).await;
    assert!(
        r.status == StatusCode::OK || r.status == StatusCode::SERVICE_UNAVAILABLE,
        "a terminated session is retried or answered 503, never {}: {}",
        r.status,
        r.text
    );
    admin.close().await.unwrap();
}
