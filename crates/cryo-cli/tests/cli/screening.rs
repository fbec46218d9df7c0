//! A screening job shared by two `serve` processes over one database: both take chunks, one
//! is SIGKILLed mid-job, the other finishes it, every chunk is stored exactly once, and the
//! results equal a run by one process alone.

use crate::{Server, cryoprotect};
use cryo_testkit::TestDb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn server(db: &TestDb) -> Server {
    let mut cmd = cryoprotect();
    cmd.env("DATABASE_URL", db.url())
        .env("DATABASE_API_URL", db.api_url())
        .env(
            "CRYOPROTECT_JWT_SECRET",
            "screening-replicas-secret-0123456789abcdef",
        )
        .env("CRYOPROTECT_MODELS_WORKERS", "1")
        .env("CRYOPROTECT_MODELS_HEARTBEAT_SECS", "0.2")
        .env("CRYOPROTECT_MODELS_STALE_AFTER_SECS", "2")
        .env("CRYOPROTECT_MODELS_SCREENING_CHUNK_ROWS", "20")
        .env("CRYOPROTECT_LIMITS_RATE_API_PER_MIN", "0")
        .env("CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN", "0");
    Server::start(cmd)
}

/// 2,000 structures: small alcohols, diols, amides and sulfoxides, cycled.
fn library() -> String {
    let bases = [
        "CO",
        "CCO",
        "CCCO",
        "OCCO",
        "OCC(O)CO",
        "CC(C)O",
        "CS(C)=O",
        "NC(N)=O",
        "CC(=O)N",
        "OCCCO",
        "CCOCCO",
        "OC1CCCCC1",
        "OCC(O)C(O)CO",
        "CC(O)CO",
        "C1COCCO1",
    ];
    (0..2000)
        .map(|i| format!("{} s{i}\n", bases[i % bases.len()]))
        .collect()
}

async fn wait_for(server: &Server, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (s, j) = server
            .send(
                "GET",
                &format!("/api/v1/screenings/{id}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(s, 200, "{j}");
        if done(&j) {
            return j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "{j}\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every row's value of the job's one version, by row number.
async fn values(db: &TestDb, id: &str) -> BTreeMap<i64, Option<f64>> {
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    sqlx::query_as::<_, (i64, Option<f64>)>(
        "SELECT row_no, value FROM screening_results WHERE job_id = $1::uuid ORDER BY row_no",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

#[tokio::test]
async fn two_servers_share_a_screening_and_survive_a_sigkill_of_one() {
    let db = TestDb::new().await;
    let mut a = server(&db);
    let b = server(&db);
    let (token, model) = a
        .hydration_model(&[
            "CO", "CCO", "CCCO", "CCCCO", "OCCO", "OCC(O)CO", "CC(C)O", "CCOC", "CC(=O)N",
            "NC(N)=O", "CS(C)=O", "OCCCO", "CCCCCO", "OCCCCO", "CC(O)CO", "C1COCCO1",
        ])
        .await;
    let t = Some(token.as_str());
    let (s, job) = a
        .send(
            "POST",
            &format!("/api/v1/models/{model}/train"),
            t,
            Some(json!({"algorithm": "ridge", "features": "cryo20", "conformal": "cv_plus", "learning_curve": false})),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    let job = job["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    loop {
        let (_, j) = a
            .send("GET", &format!("/api/v1/models/jobs/{job}"), t, None)
            .await;
        if j["state"] == "succeeded" {
            break;
        }
        assert!(
            ["queued", "running"].contains(&j["state"].as_str().unwrap()),
            "{j}"
        );
        assert!(started.elapsed() < Duration::from_secs(120), "{j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s, p) = a
        .send(
            "POST",
            &format!("/api/v1/models/{model}/promote"),
            t,
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(s, 200, "{p}");

    let screen = json!({"name": "shared", "source": "upload", "format": "smiles", "content": library(),
                        "models": [{"model_id": model}]});
    let (s, created) = a
        .send("POST", "/api/v1/screenings", t, Some(screen.clone()))
        .await;
    assert_eq!(s, 202, "{created}");
    let shared = created["job"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["job"]["chunks"], 100);

    // Both servers take chunks; once a few are stored, A dies without a word.
    wait_for(&a, &token, &shared, |j| {
        j["chunks_done"].as_i64().unwrap() >= 10
    })
    .await;
    kill(Pid::from_raw(a.child.id() as i32), Signal::SIGKILL).unwrap();
    a.wait_exit(Duration::from_secs(10)).expect("A is gone");
    let job = wait_for(&b, &token, &shared, |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "succeeded", "{job}\n{}", b.logs());
    assert_eq!(job["chunks_done"], 100);

    // Every chunk stored once (one result per row), by workers of both processes.
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let (results, processes, done): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM screening_results WHERE job_id = $1::uuid),
                (SELECT count(DISTINCT split_part(worker, '-', -2)) FROM screening_chunks WHERE job_id = $1::uuid),
                (SELECT count(*) FROM screening_chunks WHERE job_id = $1::uuid AND state = 'done')",
    )
    .bind(&shared)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    assert_eq!((results, done), (2000, 100));
    assert_eq!(
        processes, 2,
        "chunks were stored by workers of both servers"
    );

    // The same file screened by B alone gives the same answer for every row.
    let (s, alone) = b.send("POST", "/api/v1/screenings", t, Some(screen)).await;
    assert_eq!(s, 202, "{alone}");
    let alone = alone["job"]["id"].as_str().unwrap().to_string();
    let job = wait_for(&b, &token, &alone, |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (together, single) = (values(&db, &shared).await, values(&db, &alone).await);
    assert_eq!(together.len(), 2000);
    assert_eq!(together, single);
}
