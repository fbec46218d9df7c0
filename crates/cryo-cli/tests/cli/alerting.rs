//! Alerting end to end: real Prometheus and Alertmanager (Debian's packages) on loopback scrape a
//! running `cryoprotect serve` with the shipped rules and routing; the database becomes
//! unreachable (the API's connections go through a TCP proxy that stops forwarding), and the
//! alert reaches a webhook receiver — the team channel and, being critical, on-call — then is
//! resolved after the database comes back.
//!
//! The shipped files are used as they are, except for their waits (`for:`, `group_wait`, …),
//! shortened from minutes to seconds, and the receivers' addresses.

use crate::{Server, cryoprotect};
use serde_json::Value;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// Forwards loopback connections to PostgreSQL until cut.
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (o, c) = (open.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Proxy {
            port,
            open,
            connections,
        }
    }

    /// Refuse new connections and sever the open ones.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// What the webhook received: (receiver path, JSON body).
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// Collects the JSON bodies Alertmanager posts, with the path they were posted to.
async fn webhook() -> (u16, Received) {
    use axum::extract::{Path, State};
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/{receiver}",
            axum::routing::post(
                |State(r): State<Received>,
                 Path(receiver): Path<String>,
                 axum::Json(body): axum::Json<Value>| async move {
                    r.lock().unwrap().push((receiver, body));
                },
            ),
        )
        .with_state(received.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, received)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn daemon(program: &str, args: &[String]) -> Daemon {
    Daemon(
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program}: {e}; install Debian's prometheus and prometheus-alertmanager (scripts/setup.sh does)")
            }),
    )
}

/// The shipped file with its waits shortened to seconds.
fn shortened(file: &str) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(file),
    )
    .unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let key = trimmed.split(':').next().unwrap_or("");
        let line = match key {
            "for" => format!("{indent}for: 2s"),
            "group_wait" | "group_interval" => format!("{indent}{key}: 1s"),
            "repeat_interval" => format!("{indent}{key}: 1m"),
            "resolve_timeout" => format!("{indent}{key}: 10s"),
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn wait_for(
    received: &Received,
    limit: Duration,
    what: &str,
    matches: impl Fn(&str, &Value) -> bool,
) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if received.lock().unwrap().iter().any(|(r, v)| matches(r, v)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{what} not received in {limit:?}; got {:#?}",
        received.lock().unwrap()
    );
}

fn is_alert(v: &Value, name: &str, status: &str) -> bool {
    v["status"] == status
        && v["alerts"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["labels"]["alertname"] == name && x["status"] == status)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_pages_through_prometheus_and_alertmanager_and_resolves() {
    let db = cryo_testkit::TestDb::new().await;
    let api = url::Url::parse(&db.api_url()).unwrap();
    let target: SocketAddr = format!("{}:{}", api.host_str().unwrap(), api.port().unwrap_or(5432))
        .parse()
        .unwrap();
    let proxy = Proxy::start(target).await;
    let mut proxied = api.clone();
    proxied.set_port(Some(proxy.port)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    // Metrics on their own loopback port, as a deployment that keeps them off the public one.
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = cryoprotect();
    cmd.env("DATABASE_URL", db.url())
        .env("CRYOPROTECT_METRICS_ADDR", &metrics_addr)
        .env("DATABASE_API_URL", proxied.as_str())
        .env("CRYOPROTECT_DB_ACQUIRE_TIMEOUT_SECS", "1")
        .env("CRYOPROTECT_BACKUP_DIR", dir.path().join("backups"));
    let server = Server::start(cmd);
    assert_eq!(
        server.get("/metrics").await.0,
        404,
        "not on the public port"
    );
    let server_addr = metrics_addr;

    let (hook_port, received) = webhook().await;
    let (am_port, prom_port) = (free_port(), free_port());
    let am_config = shortened("deploy/alertmanager/alertmanager.yml").replace(
        "http://127.0.0.1:9095",
        &format!("http://127.0.0.1:{hook_port}"),
    );
    std::fs::write(dir.path().join("alertmanager.yml"), am_config).unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        shortened("deploy/prometheus/rules/cryoprotect.yml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]
scrape_configs:
  - job_name: cryoprotect
    static_configs: [{{targets: ['{server_addr}']}}]
"
        ),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let _alertmanager = daemon(
        "prometheus-alertmanager",
        &[
            format!("--config.file={d}/alertmanager.yml"),
            format!("--storage.path={d}/am"),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".into(),
        ],
    );
    let _prometheus = daemon(
        "prometheus",
        &[
            format!("--config.file={d}/prometheus.yml"),
            format!("--storage.tsdb.path={d}/prom"),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
    );

    // Healthy first: Prometheus scrapes the server and sees the database up.
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let r = client
            .get(format!(
                "http://127.0.0.1:{prom_port}/api/v1/query?query=cryoprotect_db_up"
            ))
            .send()
            .await;
        if let Ok(r) = r
            && let Ok(v) = r.json::<Value>().await
            && v["data"]["result"][0]["value"][1] == "1"
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prometheus never scraped the server"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        received.lock().unwrap().is_empty(),
        "no alert while healthy"
    );

    proxy.cut();
    let (r1, r2) = (received.clone(), received.clone());
    tokio::task::spawn_blocking(move || {
        wait_for(
            &r1,
            Duration::from_secs(90),
            "CryoProtectNotReady on the team channel",
            |to, v| to == "team" && is_alert(v, "CryoProtectNotReady", "firing"),
        );
        wait_for(
            &r2,
            Duration::from_secs(60),
            "CryoProtectNotReady paged to on-call",
            |to, v| to == "on-call" && is_alert(v, "CryoProtectNotReady", "firing"),
        );
    })
    .await
    .unwrap();
    // The ready check answers 503 meanwhile.
    assert_eq!(server.get("/health/ready").await.0, 503);

    proxy.restore();
    let r3 = received.clone();
    tokio::task::spawn_blocking(move || {
        wait_for(
            &r3,
            Duration::from_secs(90),
            "CryoProtectNotReady resolved",
            |to, v| to == "team" && is_alert(v, "CryoProtectNotReady", "resolved"),
        );
    })
    .await
    .unwrap();
    assert_eq!(server.get("/health/ready").await.0, 200);
}
