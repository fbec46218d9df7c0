use crate::{Server, cryoprotect};
use cryo_testkit::TestDb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;
use std::time::Duration;

fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    std::fs::read_to_string(data_dir.join("pgdata/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty()
        && !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
}

fn embedded(data_dir: &Path) -> std::process::Command {
    let mut cmd = cryoprotect();
    cmd.env("CRYOPROTECT_DATA_DIR", data_dir);
    cmd
}

/// World-traversable scratch space: as root, PostgreSQL runs as another user who must reach it.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("cryo-embedded-")
        .tempdir_in("/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[tokio::test]
async fn embedded_cluster_serves_survives_sigkill_and_stops_cleanly() {
    let dir = scratch();
    let data = dir.path().join("data");

    // First run: initialises the cluster, migrates, serves.
    let mut server = Server::start(embedded(&data));
    let (status, body) = server.get("/health/ready").await;
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(data.join("pgdata/PG_VERSION").is_file());

    // A second server on the same data folder is refused with a clear message.
    let out = embedded(&data)
        .args(["serve", "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another cryoprotect process"), "{err}");

    // Crash: SIGKILL the server; its PostgreSQL is left running as an orphan.
    let orphan = postmaster_pid(&data).expect("postmaster.pid");
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGKILL).unwrap();
    server.wait_exit(Duration::from_secs(10)).expect("killed");
    assert!(alive(orphan), "postmaster survives its owner");

    // Restart: the orphan is stopped and a fresh postmaster serves the same data.
    let mut server = Server::start(embedded(&data));
    let (status, body) = server.get("/health/ready").await;
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(!alive(orphan), "orphaned postmaster was stopped");
    assert!(server.logs().contains("orphaned embedded PostgreSQL"));

    // Harder crash: SIGKILL both the server and PostgreSQL, leaving a stale postmaster.pid.
    let postmaster = postmaster_pid(&data).unwrap();
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGKILL).unwrap();
    kill(Pid::from_raw(postmaster), Signal::SIGKILL).unwrap();
    server.wait_exit(Duration::from_secs(10)).expect("killed");
    for _ in 0..100 {
        if !alive(postmaster) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        data.join("pgdata/postmaster.pid").exists(),
        "stale pid file left behind"
    );

    let mut server = Server::start(embedded(&data));
    let (status, body) = server.get("/health/ready").await;
    assert_eq!(status, 200, "{body}\n{}", server.logs());

    // Clean stop on SIGTERM: exit 0 and PostgreSQL shut down with it.
    let postmaster = postmaster_pid(&data).unwrap();
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = server
        .wait_exit(Duration::from_secs(60))
        .expect("stops after SIGTERM");
    assert!(status.success(), "{status}\n{}", server.logs());
    assert!(!alive(postmaster), "PostgreSQL stopped with the server");
    assert!(!data.join("pgdata/postmaster.pid").exists());
    assert!(server.logs().contains("embedded PostgreSQL stopped"));
}

#[tokio::test]
async fn missing_postgres_binaries_give_an_install_hint() {
    let dir = scratch();
    let out = embedded(&dir.path().join("data"))
        .env("CRYOPROTECT_PG_BINDIR", "/nonexistent/bin")
        .args(["serve", "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("apt-get install postgresql"), "{err}");
    assert!(err.contains("DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn serves_an_external_database_from_database_url_and_migrates_it() {
    let db = TestDb::empty().await;
    // Without the API role's URL the server refuses to start rather than serve as the owner.
    let out = cryoprotect()
        .env("DATABASE_URL", db.url())
        .args(["serve", "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_API_URL is not set"), "{err}");

    let mut cmd = cryoprotect();
    cmd.env("DATABASE_URL", db.url())
        .env("DATABASE_API_URL", db.api_url())
        // Every request is "slow" at 0 ms: the warning is what is under test, not the clock.
        .env("CRYOPROTECT_SLOW_REQUEST_MS", "0");
    let server = Server::start(cmd);
    let (status, body) = server.get("/health/ready").await;
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(cryo_db::migrate::is_current(&db.pool).await.unwrap());
    let slow = |logs: &str| {
        logs.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| {
                v["fields"]["message"] == "slow request" && v["span"]["route"] == "/health/ready"
            })
    };
    let mut warning = None;
    for _ in 0..50 {
        warning = slow(&server.logs());
        if warning.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let warning = warning.unwrap_or_else(|| panic!("no slow-request warning:\n{}", server.logs()));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["fields"]["status"], 200);
    assert!(warning["fields"]["latency_ms"].as_f64().unwrap() >= 0.0);
    // The password in DATABASE_URL never reaches the logs.
    assert!(!server.logs().contains(":cryo_test_app@"));
}

/// A training that runs for minutes used to keep the process alive after SIGTERM (its thread
/// was never told to stop). Now it stops at its next tree, its job goes back to the queue with
/// the attempt not counted, and the process exits within the grace period.
#[tokio::test]
async fn sigterm_during_a_training_exits_in_time_and_queues_the_job_again() {
    use serde_json::json;
    let db = TestDb::new().await;
    let mut cmd = cryoprotect();
    cmd.env("DATABASE_URL", db.url())
        .env("DATABASE_API_URL", db.api_url())
        .env("CRYOPROTECT_SHUTDOWN_GRACE_SECS", "5")
        .env("CRYOPROTECT_MODELS_HEARTBEAT_SECS", "0.2");
    let mut server = Server::start(cmd);
    let (token, model) = server
        .hydration_model(&[
            "CO", "CCO", "CCCO", "CCCCO", "OCCO", "OCC(O)CO", "CC(C)O", "CCOC", "CC(=O)N",
            "NC(N)=O", "CS(C)=O", "OCCCO",
        ])
        .await;
    let t = Some(token.as_str());
    // A grid search over 5000-tree forests: minutes of work.
    let (s, job) = server
        .send(
            "POST",
            &format!("/api/v1/models/{model}/train"),
            t,
            Some(json!({"algorithm": "random_forest", "params": {"n_trees": 5000}, "search": "grid", "learning_curve": false})),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    let job = job["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    loop {
        let (_, j) = server
            .send("GET", &format!("/api/v1/models/jobs/{job}"), t, None)
            .await;
        if j["state"] == "running" && j["progress"].as_f64().unwrap_or(0.0) > 0.0 {
            break;
        }
        assert!(
            ["queued", "running"].contains(&j["state"].as_str().unwrap()),
            "{j}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never ran: {j}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stopping = std::time::Instant::now();
    kill(Pid::from_raw(server.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = server
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("still running 20 s after SIGTERM\n{}", server.logs()));
    let took = stopping.elapsed();
    assert!(status.success(), "{status}\n{}", server.logs());
    // Generous: grace is 5 s; the training alone had minutes left.
    assert!(took < Duration::from_secs(12), "exited after {took:?}");
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let (state, attempts): (String, i64) =
        sqlx::query_as("SELECT state, attempts FROM training_jobs WHERE id = $1::uuid")
            .bind(&job)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(state, "queued", "{}", server.logs());
    assert_eq!(attempts, 0);
    assert!(
        server.logs().contains("job queued again"),
        "{}",
        server.logs()
    );
}
