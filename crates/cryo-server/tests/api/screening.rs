//! Screening jobs end to end: a library and an upload screened by a production model through
//! chunks taken by the workers of two app instances over one database, results equal to what
//! `/predict` answers, ranked pages, charts, exports read back, cancellation, a worker that
//! died mid-chunk, and another user who sees none of it.

use crate::helpers::{Client, User, assert_refused, register};
use crate::models::{enter_data, new_model, promote, running, start, wait};
use axum::http::StatusCode;
use cryo_testkit::TestDb;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Ridge with CV+ intervals (40 rows leave split conformal too few calibration rows for finite
/// intervals at 0.9).
fn ridge() -> Value {
    json!({ "algorithm": "ridge", "features": "cryo20", "conformal": "cv_plus" })
}

/// Polls a screening until it ends.
async fn finished(app: &axum::Router, who: &User, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let r = app.get(who, &format!("/api/v1/screenings/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let j = r.json();
        if ["succeeded", "failed", "cancelled"].contains(&j["state"].as_str().unwrap()) {
            return j;
        }
        assert!(Instant::now() < deadline, "screening did not finish: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every row of a results ordering, page by page through the cursors.
async fn all_pages(app: &axum::Router, who: &User, id: &str, query: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/api/v1/screenings/{id}/results?{query}&cursor={c}"),
            None => format!("/api/v1/screenings/{id}/results?{query}"),
        };
        let r = app.get(who, &uri).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let page = r.json();
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return rows,
        }
    }
}

#[tokio::test]
async fn a_screening_is_chunked_across_instances_and_answers_as_predict_does() {
    let db = TestDb::new().await;
    // Chunks of 7 rows: the 40 molecules make 6 chunks for 2 + 1 workers in two instances.
    let chunking = [
        ("CRYOPROTECT_MODELS_SCREENING_CHUNK_ROWS", "7"),
        ("CRYOPROTECT_MODELS_STALE_AFTER_SECS", "1"),
    ];
    let one = running(&db, 2, &chunking).await;
    let _two = running(&db, 1, &chunking).await;
    let app = &one.app;
    let alice = register(app, "alice").await;
    let bob = register(app, "bob").await;
    let molecules = enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    let job = start(app, &alice.token, &model, ridge()).await;
    let (done, _) = wait(app, &alice.token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    promote(app, &alice, &model, 1).await;

    // What /predict answers for every molecule: the reference.
    let inputs: Vec<Value> = molecules
        .iter()
        .map(|m| json!({ "molecule_id": m }))
        .collect();
    let direct = app
        .post(
            &alice,
            &format!("/api/v1/models/{model}/predict"),
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(direct.status, StatusCode::OK, "{}", direct.text);
    let direct = direct.json();
    let version = direct["version_id"].as_str().unwrap().to_string();
    let by_molecule: BTreeMap<String, Value> = direct["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["molecule_id"].as_str().unwrap().to_string(), p.clone()))
        .collect();

    // The library, as Alice can read it.
    let created = app
        .post(
            &alice,
            "/api/v1/screenings",
            json!({ "name": "Library screen", "source": "library", "models": [{ "model_id": model }] }),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let id = created.json()["job"]["id"].as_str().unwrap().to_string();
    assert_eq!(created.json()["job"]["total_rows"], 40);
    assert_eq!(created.json()["job"]["chunks"], 6);
    let job = finished(app, &alice, &id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["chunks_done"], 6);
    assert_eq!(job["rows_failed"], 0);

    // Ranked by the version, page by page: every row once, values descending, each equal to
    // /predict's value, interval and domain flag for the same molecule.
    let ranked = all_pages(app, &alice, &id, &format!("sort={version}&limit=15")).await;
    assert_eq!(ranked.len(), 40);
    let mut seen = std::collections::BTreeSet::new();
    let mut previous = f64::INFINITY;
    for row in &ranked {
        assert!(seen.insert(row["row_no"].as_i64().unwrap()), "{row}");
        let answer = &row["results"][0];
        assert_eq!(answer["version_id"], version.as_str());
        let value = answer["value"].as_f64().unwrap();
        assert!(value <= previous, "descending: {value} after {previous}");
        previous = value;
        let p = &by_molecule[row["molecule_id"].as_str().unwrap()];
        assert!(
            (value - p["value"].as_f64().unwrap()).abs() < 1e-9,
            "{row} vs {p}"
        );
        assert!(
            (answer["lower"].as_f64().unwrap() - p["interval"]["lower"].as_f64().unwrap()).abs()
                < 1e-9,
            "{row} vs {p}"
        );
        assert!(
            (answer["upper"].as_f64().unwrap() - p["interval"]["upper"].as_f64().unwrap()).abs()
                < 1e-9
        );
        assert_eq!(answer["domain"], p["domain"]["flag"], "{row} vs {p}");
        assert!(row["score"].as_f64().is_some(), "{row}");
        assert!(row["alerts"].as_i64().is_some(), "{row}");
    }
    let total = app
        .get(
            &alice,
            &format!("/api/v1/screenings/{id}/results?sort={version}&limit=1"),
        )
        .await
        .json();
    assert_eq!(total["total"], 40);

    // A range filter holds exactly the rows in range; the domain filter only its flag.
    let cut = ranked[9]["results"][0]["value"].as_f64().unwrap();
    let above = all_pages(
        app,
        &alice,
        &id,
        &format!("sort={version}&min={cut}&limit=500"),
    )
    .await;
    assert_eq!(above.len(), 10);
    let in_domain = all_pages(app, &alice, &id, &format!("sort={version}&domain=in")).await;
    assert!(in_domain.iter().all(|r| r["results"][0]["domain"] == "in"));
    assert_eq!(
        in_domain.len(),
        ranked
            .iter()
            .filter(|r| r["results"][0]["domain"] == "in")
            .count()
    );

    // Several workers took chunks, and each chunk was stored by one attempt.
    let (workers, attempts): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT worker), max(attempts) FROM screening_chunks WHERE job_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&mut *cryo_testkit::service_tx(&db.pool).await)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert!(workers >= 2, "{workers} workers took the 6 chunks");

    // Charts: a histogram covering every value, a scatter of the version against the score.
    let bins = app
        .get(
            &alice,
            &format!("/api/v1/screenings/{id}/histogram?of={version}&bins=8"),
        )
        .await;
    assert_eq!(bins.status, StatusCode::OK, "{}", bins.text);
    let bins = bins.json();
    assert_eq!(bins.as_array().unwrap().len(), 8);
    let counted: i64 = bins
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, 40);
    let points = app
        .get(
            &alice,
            &format!("/api/v1/screenings/{id}/scatter?x={version}&y=score"),
        )
        .await
        .json();
    assert_eq!(points.as_array().unwrap().len(), 40);

    // Exports read back: CSV rows in rank order, XLSX a workbook, SDF records with the value.
    let export = async |format: &str| {
        let r = app
            .get(
                &alice,
                &format!("/api/v1/screenings/{id}/results/export?format={format}&sort={version}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{format}: {}", r.text);
        r
    };
    let csv = export("csv").await;
    let mut reader = csv::Reader::from_reader(csv.bytes.as_slice());
    let header = reader.headers().unwrap().clone();
    let value_at = header
        .iter()
        .position(|h| h.ends_with(" v1 value"))
        .unwrap();
    let values: Vec<f64> = reader
        .records()
        .map(|r| r.unwrap()[value_at].parse().unwrap())
        .collect();
    let expected: Vec<f64> = ranked
        .iter()
        .map(|r| r["results"][0]["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, expected);
    let xlsx = export("xlsx").await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx.bytes)).unwrap();
    assert!(zip.by_name("xl/worksheets/sheet1.xml").is_ok());
    let sdf = export("sdf").await;
    let records: Vec<_> = cryo_chem::sdf::SdfReader::new(sdf.bytes.as_slice()).collect();
    assert_eq!(records.len(), 40);
    assert!(records.iter().all(|r| r.molecule.is_ok()));
    let tag = records[0]
        .fields
        .keys()
        .find(|k| k.ends_with(" v1 value"))
        .unwrap();
    assert!((records[0].fields[tag].parse::<f64>().unwrap() - expected[0]).abs() < 1e-9);

    // Bob sees none of it, and cannot screen with Alice's model.
    for uri in [
        format!("/api/v1/screenings/{id}"),
        format!("/api/v1/screenings/{id}/results"),
        format!("/api/v1/screenings/{id}/histogram?of=score"),
    ] {
        assert_eq!(
            app.get(&bob, &uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    assert_eq!(app.get(&bob, "/api/v1/screenings").await.json(), json!([]));
    let theirs = app
        .post(
            &bob,
            "/api/v1/screenings",
            json!({ "name": "x", "source": "library", "models": [{ "model_id": model }] }),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.text);
    assert_eq!(
        app.delete(&bob, &format!("/api/v1/screenings/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_upload_reports_bad_lines_and_a_dead_workers_chunk_is_taken_over() {
    let db = TestDb::new().await;
    let settings = [
        ("CRYOPROTECT_MODELS_SCREENING_CHUNK_ROWS", "2"),
        ("CRYOPROTECT_MODELS_STALE_AFTER_SECS", "1"),
    ];
    // No workers yet: the job waits in the queue.
    let idle = running(&db, 0, &settings).await;
    let app = &idle.app;
    let alice = register(app, "alice").await;
    enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    let trainer = running(&db, 1, &settings).await;
    let job = start(app, &alice.token, &model, ridge()).await;
    let (done, _) = wait(app, &alice.token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    drop(trainer);
    promote(app, &alice, &model, 1).await;

    let long = "C".repeat(5000);
    let content = format!(
        "OCCO ethylene glycol\nnot_a_smiles broken\n\n{long} huge\nCS(C)=O DMSO\nOCC(O)CO glycerol\n"
    );
    let created = app
        .post(
            &alice,
            "/api/v1/screenings",
            json!({ "name": "Upload", "source": "upload", "format": "smiles", "content": content,
                    "models": [{ "model_id": model }], "alerts": false }),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.text);
    let created = created.json();
    // The over-long line is refused with its line number; the rest become rows 1–4.
    assert_eq!(created["rejected_count"], 1);
    assert_eq!(created["rejected"][0]["line"], 4);
    assert_eq!(created["job"]["total_rows"], 4);
    assert_eq!(created["job"]["chunks"], 2);
    let id = created["job"]["id"].as_str().unwrap().to_string();

    // A worker claims the first chunk and dies (it never beats or stores again).
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let dead = cryo_db::repo::screening::claim_chunk(&mut tx, "dead-worker")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(dead.chunk_no, 1);

    // Live workers take the other chunk, then the dead one's once its heartbeat is stale.
    let live = running(&db, 1, &settings).await;
    let job = finished(&live.app, &alice, &id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["rows_failed"], 1);
    let (attempts, stores): (i64, i64) = sqlx::query_as(
        "SELECT attempts, (SELECT count(*) FROM screening_results WHERE job_id = $1::uuid AND row_no <= 2)
         FROM screening_chunks WHERE job_id = $1::uuid AND chunk_no = 1",
    )
    .bind(&id)
    .fetch_one(&mut *cryo_testkit::service_tx(&db.pool).await)
    .await
    .unwrap();
    assert_eq!((attempts, stores), (2, 2), "taken over once, stored once");
    // The dead worker's late finish is refused: its attempt no longer holds the chunk.
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    assert!(
        !cryo_db::repo::screening::finish_chunk(&mut tx, &dead, &[], &[])
            .await
            .unwrap()
    );
    tx.rollback().await.unwrap();

    // Input order: each row keeps its line; the unparsable one carries RDKit's reason.
    let rows = all_pages(&live.app, &alice, &id, "sort=row").await;
    let lines: Vec<i64> = rows.iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![1, 2, 5, 6]);
    assert_eq!(rows[0]["name"], "ethylene glycol");
    // Alerts were left out, as asked; the score was not.
    assert_eq!(job["with_alerts"], false);
    assert!(
        rows[0]["alerts"].is_null() && rows[0]["score"].as_f64().is_some(),
        "{}",
        rows[0]
    );
    assert!(rows[1]["error"].as_str().is_some(), "{}", rows[1]);
    assert!(
        rows[1]["results"][0]["error"].as_str().is_some(),
        "{}",
        rows[1]
    );
    assert!(
        rows[2]["results"][0]["value"].as_f64().is_some(),
        "{}",
        rows[2]
    );

    // Cancelled while queued: no worker starts it.
    drop(live);
    let queued = app
        .post(
            &alice,
            "/api/v1/screenings",
            json!({ "name": "Cancelled", "source": "upload", "format": "csv", "content": "smiles,name\nOCCO,eg\n",
                    "models": [{ "model_id": model }] }),
        )
        .await;
    let queued = queued.json()["job"]["id"].as_str().unwrap().to_string();
    let cancelled = app
        .post(
            &alice,
            &format!("/api/v1/screenings/{queued}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.json()["state"], "cancelled");
    let _workers = running(&db, 1, &settings).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let chunk_state: String =
        sqlx::query_scalar("SELECT state FROM screening_chunks WHERE job_id = $1::uuid")
            .bind(&queued)
            .fetch_one(&mut *cryo_testkit::service_tx(&db.pool).await)
            .await
            .unwrap();
    assert_eq!(chunk_state, "queued");

    // Refusals name their field.
    for (body, field) in [
        (
            json!({ "name": "", "source": "library", "models": [{ "model_id": model }] }),
            "name",
        ),
        (
            json!({ "name": "x", "source": "library", "models": [] }),
            "models",
        ),
        (
            json!({ "name": "x", "source": "project", "models": [{ "model_id": model }] }),
            "project_id",
        ),
        (
            json!({ "name": "x", "source": "upload", "models": [{ "model_id": model }] }),
            "content",
        ),
        (
            json!({ "name": "x", "source": "upload", "format": "smiles", "content": "\n\n", "models": [{ "model_id": model }] }),
            "content",
        ),
        (
            json!({ "name": "x", "source": "library", "level": 1.5, "models": [{ "model_id": model }] }),
            "level",
        ),
        (
            json!({ "name": "x", "source": "library", "models": [{ "model_id": model, "version": 9 }] }),
            "models[0]",
        ),
    ] {
        let r = app.post(&alice, "/api/v1/screenings", body.clone()).await;
        assert_refused(&r, field, &body);
    }
    for (query, field) in [
        ("sort=nope", "sort"),
        ("sort=score&order=up", "order"),
        ("sort=row&min=1", "sort"),
        ("sort=score&domain=in", "domain"),
        ("sort=score&min=3&max=1", "min"),
        ("limit=0", "limit"),
        ("cursor=zz", "cursor"),
    ] {
        let r = app
            .get(&alice, &format!("/api/v1/screenings/{id}/results?{query}"))
            .await;
        assert_refused(&r, field, &query);
    }
}
