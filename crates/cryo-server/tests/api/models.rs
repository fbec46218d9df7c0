//! The model registry end to end through the API: data in, a training job with progress,
//! promotion, prediction with intervals, rollback, the audit trail, another user's view, and a
//! corrupted artefact.

use crate::helpers::{Client, count_statements, statements_of};
use crate::helpers::{Reply, call, id_of, register, settings_with};
use axum::http::StatusCode;
use cryo_server::AppState;
use cryo_testkit::TestDb;
use serde_json::{Value, json};
use sqlx::Executor;
use std::time::{Duration, Instant};

/// The app with `workers` training workers and fast heartbeats; the workers stop with the guard.
pub(crate) struct Running {
    pub(crate) app: axum::Router,
    #[allow(dead_code)] // held for its Drop: the workers end with the guard
    workers: cryo_app::jobs::Workers,
}

pub(crate) async fn running(db: &TestDb, workers: usize, extra: &[(&str, &str)]) -> Running {
    // One signing secret, so tokens from one instance work on another over the same database.
    let mut overrides = vec![
        ("CRYOPROTECT_MODELS_HEARTBEAT_SECS", "0.05"),
        (
            "CRYOPROTECT_JWT_SECRET",
            "model-registry-tests-secret-0123456789abcdef",
        ),
    ];
    overrides.extend_from_slice(extra);
    let state = AppState::new(db.api_pool().await, settings_with(&overrides)).unwrap();
    let workers = cryo_app::jobs::spawn_workers(&state, workers);
    Running {
        app: cryo_server::router(state),
        workers,
    }
}

/// Molecules and their measured hydration free energy, entered through the API.
pub(crate) async fn enter_data(app: &axum::Router, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (smiles, value) in FREESOLV_40 {
        let m = app
            .post(token, "/api/v1/molecules", json!({ "smiles": smiles }))
            .await;
        assert!(m.status.is_success(), "{}", m.text);
        let id = m.json()["molecule"]["id"].as_str().unwrap().to_string();
        let e = app
            .post(
                token,
                "/api/v1/experiments",
                json!({ "molecule_id": id, "property": "Hydration Free Energy", "value": value }),
            )
            .await;
        assert_eq!(e.status, StatusCode::CREATED, "{}", e.text);
        ids.push(id);
    }
    ids
}

pub(crate) async fn new_model(app: &axum::Router, token: &str) -> String {
    let r = app
        .post(
            token,
            "/api/v1/models",
            json!({ "name": "Hydration", "property": "Hydration Free Energy" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json())
}

pub(crate) async fn start(app: &axum::Router, token: &str, model: &str, request: Value) -> String {
    let r = app
        .post(token, &format!("/api/v1/models/{model}/train"), request)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json()["state"], "queued");
    id_of(&r.json())
}

/// Polls a job until it finishes; returns it and every progress value seen.
pub(crate) async fn wait(app: &axum::Router, token: &str, job: &str) -> (Value, Vec<f64>) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = Vec::new();
    loop {
        let r = app.get(token, &format!("/api/v1/models/jobs/{job}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let j = r.json();
        seen.push(j["progress"].as_f64().unwrap());
        if ["succeeded", "failed", "cancelled"].contains(&j["state"].as_str().unwrap()) {
            return (j, seen);
        }
        assert!(Instant::now() < deadline, "job did not finish: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn predict(app: &axum::Router, token: &str, model: &str, body: Value) -> Reply {
    app.post(token, &format!("/api/v1/models/{model}/predict"), body)
        .await
}

pub(crate) fn ridge() -> Value {
    json!({ "algorithm": "ridge", "features": "cryo20", "conformal": "split" })
}

/// Alice's 40 measurements, her model, and two versions of it: a forest (v1, job `jobs[0]`)
/// and ridge (v2); Bob, a user with nothing.
struct TwoVersions {
    db: TestDb,
    run: Running,
    alice: crate::helpers::User,
    bob: crate::helpers::User,
    molecules: Vec<String>,
    model: String,
    jobs: Vec<String>,
}

fn forest() -> Value {
    json!({ "algorithm": "random_forest", "params": { "n_trees": 30 }, "features": "cryo20", "folds": 4 })
}

async fn two_versions() -> TwoVersions {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    let bob = register(app, "bob").await;
    let molecules = enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    let mut jobs = Vec::new();
    for (n, request) in [forest(), ridge()].into_iter().enumerate() {
        let job = start(app, &alice.token, &model, request).await;
        let (done, seen) = wait(app, &alice.token, &job).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        assert_eq!(done["result_version"], n + 1);
        assert_eq!(*seen.last().unwrap(), 1.0);
        jobs.push(job);
    }
    TwoVersions {
        db,
        run,
        alice,
        bob,
        molecules,
        model,
        jobs,
    }
}

/// A promotion request as `who`, answered as it is.
pub(crate) async fn promotion(
    app: &axum::Router,
    who: &crate::helpers::User,
    model: &str,
    body: Value,
) -> Reply {
    app.post(who, &format!("/api/v1/models/{model}/promote"), body)
        .await
}

/// Promotes `version` to production.
pub(crate) async fn promote(
    app: &axum::Router,
    who: &crate::helpers::User,
    model: &str,
    version: i64,
) -> Value {
    let r = promotion(app, who, model, json!({ "version": version })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

#[tokio::test]
async fn a_training_job_streams_its_progress_and_stores_a_validated_version() {
    let db = TestDb::new().await;
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    let bob = register(app, "bob").await;
    let _molecules = enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;

    // Version 1: a forest, followed through server-sent events to the end.
    let job1 = start(app, &alice.token, &model, forest()).await;
    let events = app
        .get(&alice, &format!("/api/v1/models/jobs/{job1}/events"))
        .await;
    assert_eq!(events.status, StatusCode::OK);
    let states: Vec<Value> = events
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        states.last().unwrap()["state"],
        "succeeded",
        "{}",
        events.text
    );
    assert_eq!(states.last().unwrap()["result_version"], 1);
    let fractions: Vec<f64> = states
        .iter()
        .map(|s| s["progress"].as_f64().unwrap())
        .collect();
    assert!(
        fractions.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {fractions:?}"
    );
    assert_eq!(*fractions.last().unwrap(), 1.0);

    let detail = app
        .get(&alice, &format!("/api/v1/models/{model}"))
        .await
        .json();
    let versions = detail["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    let v1 = &versions[0];
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["stage"], "none");
    assert_eq!(v1["algorithm"], "random_forest");
    assert_eq!(v1["envelope"]["dataset"]["rows"], 40);
    assert!(v1["cv_rmse"].as_f64().unwrap() > 0.0);
    assert_eq!(v1["envelope"]["body"]["sha256"], v1["artifact_sha256"]);

    // The list leaves out the held-out predictions; the report draws every one of them.
    assert!(v1["envelope"]["validation"]["predictions"].is_null());
    assert_eq!(
        v1["envelope"]["validation"]["folds"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let report = app
        .get(&alice, &format!("/api/v1/models/{model}/versions/1/report"))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert!(
        report.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // One point per held-out prediction in the parity plot and again in the residual plot; one
    // bar per feature of the top ten (the forest was trained on the 20 cryo features).
    assert_eq!(report.text.matches("<circle").count(), 80);
    assert!(report.text.contains(r#"aria-label="residuals""#));
    assert_eq!(report.text.matches("<rect").count(), 10);
    let hidden = app
        .get(&bob, &format!("/api/v1/models/{model}/versions/1/report"))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    // The same validation as data, for the web interface's charts.
    let validation = app
        .get(
            &alice,
            &format!("/api/v1/models/{model}/versions/1/validation"),
        )
        .await;
    assert_eq!(validation.status, StatusCode::OK, "{}", validation.text);
    let validation = validation.json();
    assert_eq!(validation["predictions"].as_array().unwrap().len(), 40);
    assert_eq!(validation["folds"].as_array().unwrap().len(), 4);
    // By default a forest's intervals widen with its trees' spread, and their quality is
    // scored beyond coverage on every held-out row.
    assert_eq!(validation["interval_scale"], "spread");
    assert_eq!(v1["envelope"]["interval_scale"], "spread");
    let u = &validation["uncertainty"];
    assert_eq!(u["n"], 40, "{u}");
    assert!(u["nll"].as_f64().unwrap().is_finite(), "{u}");
    assert!(
        (0.0..=0.5).contains(&u["miscalibration_area"].as_f64().unwrap()),
        "{u}"
    );
    assert!(u["ence"].as_f64().unwrap() >= 0.0, "{u}");
    let widths: Vec<f64> = validation["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["interval"]["upper"].as_f64().unwrap() - p["interval"]["lower"].as_f64().unwrap()
        })
        .collect();
    assert!(
        widths.iter().any(|w| (w - widths[0]).abs() > 1e-9),
        "adaptive intervals differ in width: {widths:?}"
    );
    // The 20 cryo features plus the two mixture columns (component count, share spread).
    assert_eq!(validation["importance"].as_array().unwrap().len(), 22);
    // Calibration: coverage measured at six nominal levels on held-out rows, never shrinking as
    // the level (and so every interval) grows; the 90 % point is the pooled coverage itself.
    let curve = validation["calibration"].as_array().unwrap();
    let nominal: Vec<f64> = curve
        .iter()
        .map(|c| c["nominal"].as_f64().unwrap())
        .collect();
    assert_eq!(nominal, [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]);
    let observed: Vec<f64> = curve
        .iter()
        .map(|c| c["observed"].as_f64().unwrap())
        .collect();
    assert!(observed.windows(2).all(|w| w[0] <= w[1]), "{observed:?}");
    assert!(curve.iter().all(|c| c["n"] == 40));
    assert_eq!(
        observed[4],
        validation["pooled"]["coverage"].as_f64().unwrap()
    );
    // Learning curve: five training sizes, growing.
    let sizes: Vec<f64> = validation["learning_curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["train_size"].as_f64().unwrap())
        .collect();
    assert_eq!(sizes.len(), 5);
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    let hidden = app
        .get(
            &bob,
            &format!("/api/v1/models/{model}/versions/1/validation"),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn production_answers_with_calibrated_intervals_and_champion_challenger_guards_it() {
    let TwoVersions {
        db: _db,
        run,
        alice,
        molecules,
        model,
        ..
    } = two_versions().await;
    let app = &run.app;
    // Nothing in production yet: a clear refusal, not a default.
    let none = predict(app, &alice.token, &model, json!({ "smiles": "CCO" })).await;
    assert_eq!(none.status, StatusCode::CONFLICT, "{}", none.text);

    let promoted = promotion(app, &alice, &model, json!({ "version": 1 })).await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text);
    assert_eq!(promoted.json()["production"], 1);
    let unknown = promotion(
        app,
        &alice,
        &model,
        json!({ "version": 1, "stage": "gold" }),
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert_eq!(unknown.json()["error"]["details"]["field"], "stage");

    let first = predict(
        app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO", "level": 0.8 }),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let first = first.json();
    assert_eq!(first["version"], 1);
    let p = &first["predictions"][0];
    let (value, lo, hi) = (
        p["value"].as_f64().unwrap(),
        p["interval"]["lower"].as_f64().unwrap(),
        p["interval"]["upper"].as_f64().unwrap(),
    );
    assert!(lo < value && value < hi, "{p}");
    assert!(
        !first["feature_importance"].as_array().unwrap().is_empty(),
        "forests report importances"
    );
    // A wider level gives a wider interval from the same calibration.
    let wide = predict(
        app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO", "level": 0.95 }),
    )
    .await
    .json();
    let w = &wide["predictions"][0]["interval"];
    assert!(w["upper"].as_f64().unwrap() - w["lower"].as_f64().unwrap() >= hi - lo);

    // Statements of one warm single-SMILES prediction, the session check included.
    count_statements();
    let warm = predict(app, &alice.token, &model, json!({ "smiles": "CCO" })).await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.text);
    let statements = statements_of(&warm);
    eprintln!("statements for one warm prediction: {statements}");
    // The session check, BEGIN + acting as the caller (one round trip), the version handle,
    // COMMIT; the model comes from the cache and the transaction ends before inference.
    assert!(
        (1..=4).contains(&statements),
        "{statements} statements for one warm prediction"
    );

    // Champion/challenger: ridge must beat the forest by 99 % to replace it; it does not.
    let refused = promotion(
        app,
        &alice,
        &model,
        json!({ "version": 2, "min_improvement": 0.99 }),
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    // The refusal is recorded with the numbers it compared.
    let audit = app
        .get(&alice, &format!("/api/v1/models/{model}/audit"))
        .await
        .json();
    let last = &audit[0];
    assert_eq!(last["action"], "model.promotion_refused", "{audit}");
    assert_eq!(last["details"]["gate"]["challenger"]["version"], 2);
    assert_eq!(last["details"]["gate"]["champion"]["version"], 1);
    assert!(last["details"]["gate"]["champion"]["cv_rmse"].is_number());
    assert!(
        last["details"]["gate"]["challenger"]["coverage"].is_number(),
        "{last}"
    );
    // Both versions measured their error on new scaffolds beside their random split (one
    // more CV): the scaffold gate compares those.
    let gate = &last["details"]["gate"];
    let scaffold = |side: &str| gate[side]["scaffold_rmse"].as_f64().unwrap();
    assert_ne!(
        scaffold("champion"),
        gate["champion"]["cv_rmse"].as_f64().unwrap(),
        "a second CV, by scaffold: {gate}"
    );
    let no_worse = promotion(
        app,
        &alice,
        &model,
        json!({ "version": 2, "max_scaffold_rmse_increase": 0.0 }),
    )
    .await;
    if scaffold("challenger") > scaffold("champion") {
        assert_eq!(no_worse.status, StatusCode::CONFLICT, "{}", no_worse.text);
        assert!(
            no_worse.text.contains("worse on new scaffolds"),
            "{}",
            no_worse.text
        );
    } else {
        assert_eq!(no_worse.status, StatusCode::OK, "{}", no_worse.text);
        let back = app
            .post(
                &alice,
                &format!("/api/v1/models/{model}/rollback"),
                json!({}),
            )
            .await;
        assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    }
    // The coverage gate: a fraction, named when it is not one.
    let bad = promotion(
        app,
        &alice,
        &model,
        json!({ "version": 2, "max_coverage_drop": 1.5 }),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.json()["error"]["details"]["field"], "max_coverage_drop");
    let promoted = promotion(app, &alice, &model, json!({ "version": 2 })).await;
    assert_eq!(promoted.json()["previous"], 1, "{}", promoted.text);
    let second = predict(
        app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO", "level": 0.8 }),
    )
    .await
    .json();
    assert_eq!(second["version"], 2);
    assert_ne!(second["predictions"][0]["value"], p["value"]);

    // A batch with one bad SMILES: the rest are answered, the bad one is named.
    let batch = predict(
        app,
        &alice.token,
        &model,
        json!({ "inputs": [{ "smiles": "CCO" }, { "smiles": "C1CC" }, { "molecule_id": molecules[0] }] }),
    )
    .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.text);
    let results = batch.json()["predictions"].as_array().unwrap().clone();
    assert!(results[0]["value"].is_number() && results[2]["value"].is_number());
    // Each answer is its own input's: the bad row does not shift the rows after it.
    assert_eq!(results[0]["value"], second["predictions"][0]["value"]);
    assert!(
        results[1]["value"].is_null() && results[1]["error"].as_str().unwrap().contains("smiles")
    );

    // A version validated by scaffold split: its CV RMSE is not set against a random split's
    // (its scaffold RMSE is its own).
    let job = start(
        app,
        &alice.token,
        &model,
        json!({ "algorithm": "ridge", "features": "cryo20", "split": "scaffold" }),
    )
    .await;
    let (done, _) = wait(app, &alice.token, &job).await;
    assert_eq!(done["result_version"], 3, "{done}");
    let apart = promotion(
        app,
        &alice,
        &model,
        json!({ "version": 3, "min_improvement": 0.0 }),
    )
    .await;
    assert_eq!(apart.status, StatusCode::CONFLICT, "{}", apart.text);
    assert!(apart.text.contains("do not compare"), "{}", apart.text);
    let audit = app
        .get(&alice, &format!("/api/v1/models/{model}/audit"))
        .await
        .json();
    let gate = &audit[0]["details"]["gate"];
    assert_eq!(
        gate["challenger"]["scaffold_rmse"], gate["challenger"]["cv_rmse"],
        "a scaffold-validated version's scaffold RMSE is its CV RMSE: {gate}"
    );
    assert!(
        gate["challenger"]["splitter"]
            .as_str()
            .unwrap()
            .contains("by group"),
        "{gate}"
    );
    assert_eq!(audit[0]["details"]["thresholds"]["min_improvement"], 0.0);
}

#[tokio::test]
async fn aliases_rollback_stored_predictions_evaluation_and_deletion_are_audited() {
    let TwoVersions {
        db: _db,
        run,
        alice,
        molecules,
        model,
        ..
    } = two_versions().await;
    let app = &run.app;
    promote(app, &alice, &model, 1).await;
    let first = predict(
        app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO", "level": 0.8 }),
    )
    .await
    .json();
    assert_eq!(promote(app, &alice, &model, 2).await["previous"], 1);
    // An alias names a version for prediction; a malformed alias is refused, naming the field.
    let aliased = app
        .put(
            &alice,
            &format!("/api/v1/models/{model}/aliases/champion"),
            json!({ "version": 1 }),
        )
        .await;
    assert_eq!(aliased.status, StatusCode::NO_CONTENT, "{}", aliased.text);
    let by_alias = predict(
        app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO", "alias": "champion" }),
    )
    .await
    .json();
    assert_eq!(by_alias["version"], 1, "{by_alias}");
    let bad = app
        .put(
            &alice,
            &format!("/api/v1/models/{model}/aliases/Not%20Valid"),
            json!({ "version": 1 }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["details"]["field"], "alias");
    let jobs = app
        .get(&alice, &format!("/api/v1/models/{model}/jobs"))
        .await
        .json();
    assert_eq!(jobs.as_array().unwrap().len(), 2);

    let back = call(
        app,
        "POST",
        &format!("/api/v1/models/{model}/rollback"),
        Some(&alice.token),
        None,
    )
    .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert_eq!(back.json()["production"], 1);
    let again = predict(
        app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO", "level": 0.8 }),
    )
    .await
    .json();
    assert_eq!(again["version"], 1);
    assert_eq!(
        again["predictions"][0], first["predictions"][0],
        "the old version answers exactly as before"
    );

    // A stored prediction, compared with the measurement.
    let stored = predict(
        app,
        &alice.token,
        &model,
        json!({ "molecule_id": molecules[0], "store": true }),
    )
    .await
    .json();
    assert!(
        stored["predictions"][0]["prediction_id"].is_string(),
        "{stored}"
    );
    // The stored row keeps where the molecule stood in the model's domain (a training
    // molecule: its own nearest neighbour).
    let rows = app
        .get(
            &alice,
            &format!("/api/v1/predictions?molecule_id={}", molecules[0]),
        )
        .await
        .json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == stored["predictions"][0]["prediction_id"])
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(row["domain_flag"], "in", "{row}");
    assert_eq!(row["nearest_similarity"], 1.0, "{row}");
    assert_eq!(row["beyond_training_range"], false, "{row}");
    let compared = app
        .get(
            &alice,
            &format!(
                "/api/v1/compare?molecule_id={}&property=Hydration%20Free%20Energy",
                molecules[0]
            ),
        )
        .await
        .json();
    assert!(compared["difference"].is_number(), "{compared}");

    // Evaluation on new data.
    let eval = app.post(&alice, &format!("/api/v1/models/{model}/versions/1/evaluate"), json!({ "data": [{ "smiles": "CCO", "value": -5.0 }, { "smiles": "CCCO", "value": -4.8 }, { "smiles": "nope", "value": 1.0 }] }))
    .await;
    assert_eq!(eval.status, StatusCode::OK, "{}", eval.text);
    assert_eq!(eval.json()["metrics"]["n"], 2);
    assert_eq!(eval.json()["skipped"].as_array().unwrap().len(), 1);

    // Only archived versions can be deleted.
    let busy = app
        .delete(&alice, &format!("/api/v1/models/{model}/versions/1"))
        .await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    let gone = app
        .delete(&alice, &format!("/api/v1/models/{model}/versions/2"))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);

    let audit = app
        .get(&alice, &format!("/api/v1/models/{model}/audit"))
        .await
        .json();
    let mut actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "model.created",
            "model.version_created",
            "model.version_created",
            "model.promoted",
            "model.promoted",
            "model.alias_set",
            "model.rolled_back",
            "model.version_deleted"
        ]
    );
    assert_eq!(audit[0]["actor_name"], "alice");
    // Each trained version says what was left out of its training data: nothing, here.
    let created = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "model.version_created")
        .unwrap();
    assert_eq!(created["details"]["left_out"]["count"], 0, "{created}");
}

#[tokio::test]
async fn another_user_sees_none_of_a_model_and_trains_only_on_what_they_can_read() {
    let TwoVersions {
        db,
        run,
        bob,
        model,
        jobs,
        ..
    } = two_versions().await;
    let app = &run.app;
    let job1 = &jobs[0];
    // Another user sees none of it and can do nothing with it.
    let listed = app.get(&bob, "/api/v1/models").await.json();
    assert!(listed.as_array().unwrap().is_empty(), "{listed}");
    for (method, uri, body) in [
        ("GET", format!("/api/v1/models/{model}"), None),
        (
            "POST",
            format!("/api/v1/models/{model}/predict"),
            Some(json!({ "smiles": "CCO" })),
        ),
        (
            "POST",
            format!("/api/v1/models/{model}/train"),
            Some(ridge()),
        ),
        ("POST", format!("/api/v1/models/{model}/rollback"), None),
        ("GET", format!("/api/v1/models/{model}/audit"), None),
        ("GET", format!("/api/v1/models/jobs/{job1}"), None),
        ("POST", format!("/api/v1/models/jobs/{job1}/retry"), None),
    ] {
        let r = call(app, method, &uri, Some(&bob.token), body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {uri}: {}",
            r.text
        );
    }
    // Bob's own model trains on what Bob can read: none of Alice's experiments.
    let bobs = new_model(app, &bob.token).await;
    let job = start(app, &bob.token, &bobs, ridge()).await;
    let (failed, _) = wait(app, &bob.token, &job).await;
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("no experiments"),
        "{failed}"
    );
    // The failure raised an alert for that model (for the direct-notification outbox).
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let firing: bool = sqlx::query_scalar("SELECT firing FROM alerts WHERE fingerprint = $1")
        .bind(format!("training_failed:{bobs}"))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(firing);
}

#[tokio::test]
async fn a_running_job_is_cancelled_and_can_be_retried() {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    // A long search: hundreds of forest fits.
    let job = start(
        app,
        &alice.token,
        &model,
        json!({ "algorithm": "random_forest", "features": "cryo20", "search": "random", "trials": 200, "inner_folds": 5 }),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = app
            .get(&alice, &format!("/api/v1/models/jobs/{job}"))
            .await
            .json();
        if j["state"] == "running" && j["progress"].as_f64().unwrap() > 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "never started: {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = call(
        app,
        "POST",
        &format!("/api/v1/models/jobs/{job}/cancel"),
        Some(&alice.token),
        None,
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let (j, _) = wait(app, &alice.token, &job).await;
    assert_eq!(j["state"], "cancelled", "{j}");
    assert!(j["result_version_id"].is_null());
    let again = call(
        app,
        "POST",
        &format!("/api/v1/models/jobs/{job}/cancel"),
        Some(&alice.token),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let retry = call(
        app,
        "POST",
        &format!("/api/v1/models/jobs/{job}/retry"),
        Some(&alice.token),
        None,
    )
    .await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.text);
    assert_eq!(retry.json()["retry_of"], job.as_str());
    assert_eq!(retry.json()["kind"], "search");
}

/// A job whose worker stopped beating (died, or stalled: paused, swapped out) past
/// `stale_after_secs` is queued again and finished by another worker; if the old worker wakes
/// up, its attempt fences it off: told to stop, it can neither store a second version nor
/// overwrite the finished record.
#[tokio::test]
async fn a_job_orphaned_by_its_worker_is_rerun_and_the_old_worker_cannot_overwrite_it() {
    use cryo_db::repo::models as jobs;
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let idle = running(&db, 0, &[]).await;
    let alice = register(&idle.app, "alice").await;
    enter_data(&idle.app, &alice.token).await;
    let model = new_model(&idle.app, &alice.token).await;
    let job = start(&idle.app, &alice.token, &model, ridge()).await;
    // The stalled worker claims it (attempt 1), then stops beating.
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let stalled = jobs::claim_job(&mut tx, "stalled").await.unwrap().unwrap();
    assert_eq!(stalled.attempts, 1);
    tx.execute(
        sqlx::query(
            "UPDATE training_jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1",
        )
        .bind(stalled.id),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Another worker re-queues it and runs it to the end (attempt 2).
    let run = running(&db, 1, &[("CRYOPROTECT_MODELS_STALE_AFTER_SECS", "1")]).await;
    let (finished, _) = wait(&run.app, &alice.token, &job).await;
    assert_eq!(finished["state"], "succeeded", "{finished}");
    assert_eq!(finished["attempts"], 2);

    // The stalled worker wakes up: its heartbeat says stop, and nothing it writes lands.
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let (id, attempt) = (stalled.id, stalled.attempts);
    assert!(
        jobs::heartbeat(&mut tx, id, attempt, 0.5, "fitting")
            .await
            .unwrap()
    );
    assert!(!jobs::hold_job(&mut tx, id, attempt).await.unwrap());
    assert!(
        !jobs::finish_job(&mut tx, id, attempt, "cancelled", None, None)
            .await
            .unwrap()
    );
    jobs::release_job(&mut tx, id, attempt).await.unwrap();
    tx.commit().await.unwrap();
    let after = run
        .app
        .get(&alice.token, &format!("/api/v1/models/jobs/{job}"))
        .await
        .json();
    assert_eq!(after["state"], "succeeded", "{after}");
    assert_eq!(after["attempts"], 2);
    assert_eq!(after["result_version"], 1, "{after}");
    let detail = run
        .app
        .get(&alice.token, &format!("/api/v1/models/{model}"))
        .await
        .json();
    assert_eq!(detail["versions"].as_array().unwrap().len(), 1, "{detail}");
}

#[tokio::test]
async fn a_corrupted_artefact_fails_its_checksum_and_the_fallback_is_flagged() {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    for _ in 0..2 {
        let job = start(app, &alice.token, &model, ridge()).await;
        assert_eq!(wait(app, &alice.token, &job).await.0["state"], "succeeded");
    }
    for v in [1, 2] {
        let r = promotion(app, &alice, &model, json!({ "version": v })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Bit rot in version 2's stored bytes (the immutability trigger is what rot bypasses).
    db.pool
        .execute("ALTER TABLE model_versions DISABLE TRIGGER model_versions_immutable")
        .await
        .unwrap();
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let changed = tx
        .execute(
            "UPDATE model_versions SET artifact = set_byte(artifact, octet_length(artifact) / 2,
                    get_byte(artifact, octet_length(artifact) / 2) # 1) WHERE version = 2",
        )
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    tx.commit().await.unwrap();

    let broken = predict(app, &alice.token, &model, json!({ "smiles": "CCO" })).await;
    assert_eq!(
        broken.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        broken.text
    );
    assert!(broken.text.contains("checksum"), "{}", broken.text);

    let lenient = running(
        &db,
        0,
        &[("CRYOPROTECT_MODELS_FALLBACK_TO_PREVIOUS", "true")],
    )
    .await;
    let answered = predict(
        &lenient.app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO" }),
    )
    .await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text);
    let answered = answered.json();
    assert_eq!(answered["version"], 1);
    assert_eq!(answered["fallback"]["from_version"], 2);
    assert!(answered["predictions"][0]["value"].is_number());
}

#[tokio::test]
async fn without_a_tg_model_a_mixture_tg_comes_from_the_reference_table_and_says_so() {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 0, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    let mut ids = Vec::new();
    for smiles in ["CS(C)=O", "OCCO"] {
        let m = app
            .post(&alice, "/api/v1/molecules", json!({ "smiles": smiles }))
            .await;
        ids.push(m.json()["molecule"]["id"].as_str().unwrap().to_string());
    }
    let mixture = app
        .post(
            &alice,
            "/api/v1/mixtures",
            json!({ "name": "DMSO/EG 1:1", "components": [
            { "molecule_id": ids[0], "concentration": 0.5, "unit": "mol_fraction" },
            { "molecule_id": ids[1], "concentration": 0.5, "unit": "mol_fraction" }
        ] }),
        )
        .await;
    assert_eq!(mixture.status, StatusCode::CREATED, "{}", mixture.text);
    let mixture_id = mixture.json()["mixture"]["id"]
        .as_str()
        .or(mixture.json()["id"].as_str())
        .unwrap()
        .to_string();
    let r = app
        .post(
            &alice,
            "/api/v1/models/by-property/Glass%20Transition%20Temperature/predict",
            json!({ "mixture_id": mixture_id }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(v["source"], "reference_table");
    assert_eq!(v["reference_estimate"]["tg_celsius"], -132.5);
    assert_eq!(
        v["reference_estimate"]["components"][0]["source"],
        "reference_table"
    );
    // Other properties have no table: a clear refusal.
    let none = app
        .post(
            &alice,
            "/api/v1/models/by-property/Vitrification%20Tendency/predict",
            json!({ "mixture_id": mixture_id }),
        )
        .await;
    assert_eq!(none.status, StatusCode::CONFLICT, "{}", none.text);
}

/// 40 small molecules of FreeSolv (Mobley & Guthrie 2014): SMILES and measured hydration free
/// energy (kcal/mol).
const FREESOLV_40: &[(&str, f64)] = &[
    ("CS(=O)(=O)Cl", -4.87),
    ("CC(C)C=C", 1.83),
    ("CCc1cnccn1", -5.45),
    ("CCCCCCCO", -4.21),
    ("Cc1cc(cc(c1)O)C", -6.27),
    ("CC(C)C(C)C", 2.34),
    ("CCCC(C)(C)O", -3.92),
    ("C(Br)Br", -1.96),
    ("CCc1ccccn1", -4.33),
    ("CCCCC(=O)OCC", -2.49),
    ("c1ccc(cc1)S", -2.55),
    ("c1ccc2c(c1)CCC2", -1.46),
    ("CCOc1ccccc1", -2.22),
    ("c1cc(ccc1O)Br", -5.85),
    ("CCCC(C)(C)C", 2.88),
    ("CC(=O)OCCOC(=O)C", -6.34),
    ("C1CCCC(CC1)O", -5.48),
    ("COC(=O)C1CC1", -4.1),
    ("c1ccc(cc1)C#N", -4.1),
    ("CCCCC#N", -3.52),
    ("CC(C)(C)O", -4.47),
    ("CC(C)C(=O)C(C)C", -2.74),
    ("CCC=O", -3.43),
    ("CN(C)C=O", -7.81),
    ("Cc1ccc(cc1)C", -0.8),
    ("C=CCC=C", 0.93),
    ("CCNCC", -4.07),
    ("CC(C)CCOC=O", -2.13),
    ("CCCCCCCCCCO", -3.64),
    ("CCC(=O)OCC", -2.68),
    ("CCCCCCCCC", 3.13),
    ("CC(=O)NC", -10.0),
    ("CCCCCCCC=C", 2.06),
    ("CCCC(=O)OC", -2.83),
    ("c1ccc(c(c1)C=O)O", -4.68),
    ("C1CNC1", -5.56),
    ("CCCNCCC", -3.65),
    ("c1ccc(cc1)N", -5.49),
    ("C(F)(F)(F)F", 3.12),
    ("c1ccc(c(c1)O)I", -6.2),
];

#[tokio::test]
async fn training_and_prediction_beyond_the_bounds_are_refused_before_anything_runs() {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 0, &[("CRYOPROTECT_MODELS_MAX_MODEL_MB", "1")]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    let refused = |body: Value| {
        let model = model.clone();
        let token = alice.token.clone();
        async move {
            let r = app
                .post(&token, &format!("/api/v1/models/{model}/train"), body)
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
            r.json()
        }
    };
    // 3,000,000 trees grew the server by 80 MB/s before this bound existed.
    let v = refused(
        json!({"algorithm": "random_forest", "params": {"n_trees": 3_000_000, "max_depth": 30}}),
    )
    .await;
    assert_eq!(v["error"]["details"]["field"], "params.n_trees", "{v}");
    let v = refused(json!({"algorithm": "mlp", "params": {"hidden": [1_000_000]}})).await;
    assert_eq!(v["error"]["details"]["field"], "params.hidden", "{v}");
    // Within the bounds, but too large for the memory allowed (1 MB here): refused up front.
    let v = refused(
        json!({"algorithm": "random_forest", "params": {"n_trees": 5000, "max_depth": 40}}),
    )
    .await;
    assert_eq!(v["error"]["details"]["field"], "params", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("models.max_model_mb"),
        "{v}"
    );
    // A level that made the conformal quantile index out of range (a panic).
    let v = refused(json!({"algorithm": "ridge", "level": 1e-300})).await;
    assert_eq!(v["error"]["details"]["field"], "level", "{v}");
    // Ridge has no ensemble whose spread could widen its intervals.
    let v = refused(json!({"algorithm": "ridge", "interval_scale": "spread"})).await;
    assert_eq!(v["error"]["details"]["field"], "interval_scale", "{v}");
    let v = refused(json!({"interval_scale": "wide"})).await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("interval scale"),
        "{v}"
    );
    for (path, body) in [
        ("predict", json!({"smiles": "CCO", "level": 1e-300})),
        ("versions/1/evaluate", json!({"level": 1e-300})),
    ] {
        let r = app
            .post(&alice, &format!("/api/v1/models/{model}/{path}"), body)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.text
        );
        assert_eq!(
            r.json()["error"]["details"]["field"],
            "level",
            "{path}: {}",
            r.text
        );
    }
    // Nothing was queued.
    let jobs = app
        .get(&alice, &format!("/api/v1/models/{model}/jobs"))
        .await;
    assert_eq!(jobs.json().as_array().unwrap().len(), 0, "{}", jobs.text);
}

/// An experiment of `molecule` entered as the service would find it in an old or imported
/// database: `value` stored in `unit`, whatever the property's unit is.
async fn stored_as(db: &TestDb, owner: &str, molecule: &str, value: f64, unit: &str) -> uuid::Uuid {
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO experiments (molecule_id, property_type_id, numeric_value, unit, created_by)
         SELECT $1::uuid, t.id, $2, $3, $4::uuid FROM property_types t WHERE t.name = 'Hydration Free Energy'
         RETURNING id",
    )
    .bind(molecule)
    .bind(value)
    .bind(unit)
    .bind(owner)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Records `verdict` on `experiment`, as a verifier would.
async fn decided(
    db: &TestDb,
    experiment: uuid::Uuid,
    requester: &str,
    verifier: &str,
    verdict: &str,
) {
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    sqlx::query(
        "INSERT INTO lab_verifications (experiment_id, status, requested_by, verifier_id, decided_at)
         VALUES ($1, $2, $3::uuid, $4::uuid, now())",
    )
    .bind(experiment)
    .bind(verdict)
    .bind(requester)
    .bind(verifier)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn training_data_is_in_the_property_unit_and_rejected_measurements_never_train() {
    use cryo_app::training::{Admit, gather};
    use cryo_chem::featurize::FeatureSet;
    let db = TestDb::new().await;
    let run = running(&db, 0, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    let bob = register(app, "bob").await;
    let molecule = |smiles: &'static str| {
        let token = alice.token.clone();
        async move {
            let m = app
                .post(&token, "/api/v1/molecules", json!({ "smiles": smiles }))
                .await;
            m.json()["molecule"]["id"].as_str().unwrap().to_string()
        }
    };
    let (ethanol, propanol, butanol, pentanol) = (
        molecule("CCO").await,
        molecule("CCCO").await,
        molecule("CCCCO").await,
        molecule("CCCCCO").await,
    );
    // −5.0 kcal/mol stored as kJ/mol; a unit of no energy at all; one rejected, one verified.
    let kj = stored_as(&db, &alice.id, &ethanol, -5.0 * 4.184, "kJ/mol").await;
    // A replicate of ethanol in kcal/mol: merged with the converted kJ/mol row, spread kept.
    stored_as(&db, &alice.id, &ethanol, -5.2, "kcal/mol").await;
    let furlong = stored_as(&db, &alice.id, &propanol, 3.0, "furlong").await;
    let rejected = stored_as(&db, &alice.id, &butanol, -4.7, "kcal/mol").await;
    let verified = stored_as(&db, &alice.id, &pentanol, -4.4, "kcal/mol").await;
    decided(&db, rejected, &alice.id, &bob.id, "rejected").await;
    decided(&db, verified, &alice.id, &bob.id, "verified").await;

    let me: uuid::Uuid = alice.id.parse().unwrap();
    let read = |admit: Admit| {
        let db = &db;
        async move {
            // As Alice, through the API role, as a training job reads.
            let api = db.api_pool().await;
            let mut tx = cryo_db::identity::begin(&api, &cryo_db::Identity::user(me))
                .await
                .unwrap();
            let gathered = gather(&mut tx, "Hydration Free Energy").await.unwrap();
            tx.commit().await.unwrap();
            gathered.featurise(FeatureSet::Cryo20, admit).unwrap()
        }
    };
    let set = read(Admit::default()).await;
    let value_of = |smiles: &str| {
        set.dataset
            .ids
            .iter()
            .position(|id| id == smiles)
            .map(|i| set.dataset.y[i])
    };
    let ethanol_y = value_of("CCO").expect("the kJ/mol row trains");
    assert!((ethanol_y - -5.1).abs() < 1e-9, "{ethanol_y} kcal/mol");
    // −5.0 and −5.2: one structure, two measurements, SD √(0.1² + 0.1²) = 0.1414.
    let spread = set
        .dataset
        .replicate_spread
        .expect("ethanol was measured twice");
    assert_eq!((spread.structures, spread.measurements), (1, 2));
    assert!(
        (spread.pooled_sd - 0.02f64.sqrt()).abs() < 1e-9,
        "{spread:?}"
    );
    assert_eq!(value_of("CCCCCO"), Some(-4.4));
    assert_eq!(value_of("CCCCO"), None, "a rejected measurement trains");
    assert_eq!(value_of("CCCO"), None, "an unconvertible unit trains");
    let reason = |id: uuid::Uuid| {
        set.rejected
            .iter()
            .find(|r| r.experiment_id == id)
            .map(|r| r.reason.clone())
            .unwrap_or_else(|| panic!("{id} not reported: {:?}", set.rejected))
    };
    assert!(
        reason(rejected).contains("rejected"),
        "{}",
        reason(rejected)
    );
    assert!(reason(furlong).contains("furlong"), "{}", reason(furlong));
    assert!(set.rejected.iter().all(|r| r.experiment_id != kj));

    // verified_only: the verified measurement alone.
    let only = read(Admit {
        verified_only: true,
    })
    .await;
    assert_eq!(only.dataset.ids, ["CCCCCO"]);
    assert_eq!(only.rejected.len(), 4, "{:?}", only.rejected);

    // The request carries the option to the job.
    let model = new_model(app, &alice.token).await;
    let queued = app
        .post(
            &alice,
            &format!("/api/v1/models/{model}/train"),
            json!({ "algorithm": "ridge", "features": "cryo20", "verified_only": true }),
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    assert_eq!(queued.json()["request"]["verified_only"], true);
}

#[tokio::test]
async fn predictions_say_where_a_molecule_stands_in_the_training_domain() {
    let TwoVersions {
        db: _db,
        run,
        alice,
        model,
        ..
    } = two_versions().await;
    let app = &run.app;
    promote(app, &alice, &model, 1).await;
    // A training molecule, a close relative (octanol beside heptanol and decanol), and two
    // molecules nothing like these 40: buckminsterfullerene and a pentapeptide.
    let c60 = "c12c3c4c5c1c1c6c7c2c2c8c3c3c9c4c4c%10c5c5c1c1c6c6c%11c7c2c2c7c8c3c3c8c9c4c4c9c%10c5c5c1c1c6c6c%11c2c2c7c3c3c8c4c4c9c5c1c1c6c2c3c41";
    let peptide = "NCC(=O)NC(C)C(=O)NC(CO)C(=O)NC(Cc1ccccc1)C(=O)NC(CC(=O)O)C(=O)O";
    let r = predict(
        app,
        &alice.token,
        &model,
        json!({ "inputs": [{ "smiles": "CCCCCCCO" }, { "smiles": "CCCCCCCCO" }, { "smiles": c60 }, { "smiles": peptide }] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    let p = body["predictions"].as_array().unwrap().clone();
    let similarity = |i: usize| p[i]["domain"]["nearest_similarity"].as_f64().unwrap();
    assert_eq!(similarity(0), 1.0);
    assert_eq!(p[0]["domain"]["nearest"], "CCCCCCCO");
    assert_eq!(p[0]["domain"]["flag"], "in");
    // A forest reports its members' disagreement beside the interval.
    assert!(p[0]["spread"].as_f64().unwrap() >= 0.0, "{}", p[0]);
    assert_eq!(p[1]["domain"]["flag"], "in", "{}", p[1]);
    assert!(similarity(1) > similarity(2) && similarity(1) > similarity(3));
    assert_eq!(p[2]["domain"]["flag"], "out", "{}", p[2]);
    assert_ne!(p[3]["domain"]["flag"], "in", "{}", p[3]);
    // The forest's intervals widen with its trees' disagreement: wider out of the domain.
    let width = |i: usize| {
        p[i]["interval"]["upper"].as_f64().unwrap() - p[i]["interval"]["lower"].as_f64().unwrap()
    };
    assert!(
        width(2) > width(0),
        "C60 {} vs heptanol {}",
        width(2),
        width(0)
    );
    // In descriptor space, C60 lies far beyond the training alcohols (leverage above the
    // Williams threshold); heptanol, a training molecule, does not.
    let above = body["domain"]["leverage_above"].as_f64().unwrap();
    let leverage = |i: usize| p[i]["domain"]["leverage"].as_f64().unwrap();
    assert!(
        leverage(2) > above && leverage(0) < above,
        "{} vs {above}",
        leverage(2)
    );
    // Less similar than the calibrated edge: the held-out coverage there was lower.
    assert!(similarity(3) < body["domain"]["edge_below"].as_f64().unwrap());
    // The version's calibration is reported with it.
    let c = &body["domain"];
    assert!(c["rows"].as_u64().unwrap() > 30, "{c}");
    assert!(c["out_below"].as_f64().unwrap() <= c["edge_below"].as_f64().unwrap());
    // Intervals are recalibrated per domain bin: each molecule's factor is its bin's, and a
    // less similar bin never gets a smaller one.
    let bins = c["bins"].as_array().unwrap();
    let factor_of = |flag: &str| {
        bins.iter().find(|b| b["flag"] == flag).unwrap()["factor"]
            .as_f64()
            .unwrap()
    };
    assert!(
        factor_of("in") <= factor_of("edge") && factor_of("edge") <= factor_of("out"),
        "{c}"
    );
    for q in &p {
        let flag = q["domain"]["flag"].as_str().unwrap();
        assert_eq!(
            q["interval_factor"].as_f64().unwrap(),
            factor_of(flag),
            "{q}"
        );
    }
    for b in bins {
        assert!(b["coverage_after"].is_number() || b["rows"] == 0, "{b}");
    }
    // Asking for a higher level widens every interval, recalibrated ones included.
    let wide = predict(
        app,
        &alice.token,
        &model,
        json!({ "inputs": [{ "smiles": "CCCCCCCO" }, { "smiles": c60 }], "level": 0.95 }),
    )
    .await
    .json();
    for (k, i) in [(0, 0), (1, 2)] {
        let w = &wide["predictions"][k]["interval"];
        let wide_width = w["upper"].as_f64().unwrap() - w["lower"].as_f64().unwrap();
        assert!(
            wide_width >= width(i),
            "{} vs {}",
            wide["predictions"][k],
            p[i]
        );
    }
}

/// Alice's 40 molecules with a yes/no measurement each ("vitrified" when the hydration free
/// energy is below −4 kcal/mol: polar molecules, a pattern descriptors can learn), plus a
/// second, disagreeing measurement of the first molecule.
async fn enter_classes(app: &axum::Router, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, (smiles, value)) in FREESOLV_40.iter().enumerate() {
        let m = app
            .post(token, "/api/v1/molecules", json!({ "smiles": smiles }))
            .await;
        let id = m.json()["molecule"]["id"].as_str().unwrap().to_string();
        let mut labels = vec![*value < -4.0];
        if i == 0 {
            labels.push(*value >= -4.0);
        }
        for label in labels {
            let e = app
                .post(
                    token,
                    "/api/v1/experiments",
                    json!({ "molecule_id": id, "property": "Vitrified", "value": label }),
                )
                .await;
            assert_eq!(e.status, StatusCode::CREATED, "{}", e.text);
        }
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn a_yes_no_property_trains_a_calibrated_classifier_that_answers_with_sets_and_stores_classes()
 {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    let bob = register(app, "bob").await;
    let molecules = enter_classes(app, &alice.token).await;
    let r = app
        .post(
            &alice,
            "/api/v1/models",
            json!({ "name": "Vitrifies", "property": "Vitrified" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["kind"], "binary");
    let model = id_of(&r.json());
    let alice = &alice;
    let train = |body: Value| {
        let path = format!("/api/v1/models/{model}/train");
        async move { app.post(alice, &path, body).await }
    };

    // A regressor, a search or a time split is refused before anything is queued, by name.
    for (body, field) in [
        (json!({ "algorithm": "ridge" }), "algorithm"),
        (
            json!({ "algorithm": "logistic", "search": "grid" }),
            "search",
        ),
        (json!({ "algorithm": "logistic", "split": "time" }), "split"),
        (
            json!({ "algorithm": "logistic", "params": { "c": -1 } }),
            "params.c",
        ),
        (
            json!({ "algorithm": "knn", "calibration": "magic" }),
            "calibration",
        ),
    ] {
        let r = train(body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(r.json()["error"]["details"]["field"], field, "{}", r.text);
    }
    let job = start(
        app,
        &alice.token,
        &model,
        json!({ "algorithm": "logistic", "features": "cryo20", "calibration": "platt" }),
    )
    .await;
    let (done, seen) = wait(app, &alice.token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(*seen.last().unwrap(), 1.0);

    // The version's validation is a classifier's: metrics, sets, curves.
    let val = app
        .get(
            &alice,
            &format!("/api/v1/models/{model}/versions/1/validation"),
        )
        .await
        .json();
    assert_eq!(val["task"], "classification", "{val}");
    assert_eq!(val["classes"], json!(["false", "true"]));
    // The disagreeing molecule trains on neither side: 39 rows.
    let counts: Vec<u64> = val["class_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 39, "{val}");
    let p = &val["pooled"];
    assert!(p["roc_auc"].as_f64().unwrap() > 0.75, "{p}");
    assert!(
        p["log_loss"].as_f64().unwrap() < 0.69,
        "better than a coin: {p}"
    );
    let coverage = val["sets"]["coverage"].as_f64().unwrap();
    assert!((0.75..=1.0).contains(&coverage), "{}", val["sets"]);
    let roc = val["roc"][0].as_array().unwrap();
    assert_eq!(
        (roc[0]["x"].as_f64(), roc[0]["y"].as_f64()),
        (Some(0.0), Some(0.0))
    );
    let end = roc.last().unwrap();
    assert_eq!(
        (end["x"].as_f64(), end["y"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    assert!(!val["pr"][0].as_array().unwrap().is_empty());
    assert!(!val["reliability"].as_array().unwrap().is_empty());
    let report = app
        .get(&alice, &format!("/api/v1/models/{model}/versions/1/report"))
        .await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.text.contains("ROC") && report.text.matches("<svg").count() >= 3);
    // What was left out, and why, is in the audit trail.
    let trail = app
        .get(&alice, &format!("/api/v1/models/{model}/audit"))
        .await
        .json();
    let created = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "model.version_created")
        .unwrap_or_else(|| panic!("{trail}"));
    assert_eq!(created["details"]["task"], "classification");
    assert_eq!(created["details"]["left_out"]["count"], 2, "{created}");
    assert!(
        created["details"]["left_out"]["first"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("replicates disagree on the class: false, true")
    );

    // In production it answers with probabilities, the most probable class, a prediction
    // set and the input's place in the domain.
    promote(app, alice, &model, 1).await;
    let c60 = "c12c3c4c5c1c1c6c7c2c2c8c3c3c9c4c4c%10c5c5c1c1c6c6c%11c7c2c2c7c8c3c3c8c9c4c4c9c%10c5c5c1c1c6c6c%11c2c2c7c3c3c8c4c4c9c5c1c1c6c2c3c41";
    let r = predict(
        app,
        &alice.token,
        &model,
        json!({ "inputs": [{ "molecule_id": molecules[5] }, { "smiles": c60 }, { "smiles": "not a molecule" }], "store": false }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = r.json();
    assert_eq!(body["task"], "classification");
    assert_eq!(body["classes"], json!(["false", "true"]));
    assert_eq!(body["level"], 0.9);
    for q in &body["predictions"].as_array().unwrap()[..2] {
        let probs = q["probabilities"].as_object().unwrap();
        let total: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-9, "{q}");
        let top = probs
            .iter()
            .max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap()))
            .unwrap()
            .0;
        assert_eq!(q["label"], *top, "{q}");
        for c in q["set"].as_array().unwrap() {
            assert!(probs.contains_key(c.as_str().unwrap()), "{q}");
        }
        assert!(q["value"].is_null() && q["interval"].is_null(), "{q}");
    }
    assert_eq!(body["predictions"][0]["domain"]["flag"], "in");
    assert_eq!(body["predictions"][1]["domain"]["flag"], "out");
    assert!(body["predictions"][2]["error"].is_string());
    // The sets hold at the level they were calibrated at; another is refused by name.
    let r = predict(
        app,
        &alice.token,
        &model,
        json!({ "smiles": "CCO", "level": 0.95 }),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "level");

    // Stored, a class prediction keeps its class, probabilities and set; Bob sees none of it.
    let stored = predict(
        app,
        &alice.token,
        &model,
        json!({ "molecule_id": molecules[5], "store": true }),
    )
    .await
    .json();
    let answer = &stored["predictions"][0];
    let rows_of = |who: &crate::helpers::User| {
        let uri = format!("/api/v1/predictions?molecule_id={}", molecules[5]);
        let token = who.token.clone();
        async move { app.get(&token, &uri).await }
    };
    let rows = rows_of(alice).await.json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == answer["prediction_id"])
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(row["class_label"], answer["label"], "{row}");
    assert_eq!(row["class_probabilities"], answer["probabilities"], "{row}");
    assert_eq!(row["prediction_set"], answer["set"], "{row}");
    assert_eq!(row["prediction_set_level"], 0.9);
    let label = answer["label"].as_str().unwrap();
    assert_eq!(
        row["numeric_value"], answer["probabilities"][label],
        "{row}"
    );
    assert!(row["interval_level"].is_null(), "{row}");
    assert_eq!(row["domain_flag"], "in");
    let theirs = rows_of(&bob).await;
    assert!(
        !theirs
            .text
            .contains(answer["prediction_id"].as_str().unwrap()),
        "{}",
        theirs.text
    );

    // A challenger is gated on held-out log loss (classifiers have no RMSE), and the gate's
    // numbers are audited.
    let job = start(
        app,
        &alice.token,
        &model,
        json!({ "algorithm": "random_forest", "params": { "n_trees": 30 }, "features": "cryo20" }),
    )
    .await;
    assert_eq!(wait(app, &alice.token, &job).await.0["state"], "succeeded");
    let r = promotion(
        app,
        alice,
        &model,
        json!({ "version": 2, "min_improvement": 0.9 }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("held-out log loss"), "{}", r.text);
    let trail = app
        .get(&alice, &format!("/api/v1/models/{model}/audit"))
        .await
        .json();
    let refused = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "model.promotion_refused")
        .unwrap_or_else(|| panic!("{trail}"));
    assert!(
        refused["details"]["gate"]["challenger"]["error"][0].is_number(),
        "{refused}"
    );
    assert!(
        refused["details"]["gate"]["challenger"]["coverage"].is_number(),
        "{refused}"
    );
}

#[tokio::test]
async fn histogram_boosting_trains_under_a_halving_search_through_the_api() {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    let job = start(
        app,
        &alice.token,
        &model,
        json!({ "algorithm": "hgb", "params": { "min_samples_leaf": 3 }, "search": "halving", "trials": 6,
                "features": "cryo20", "learning_curve": false, "scaffold_check": false }),
    )
    .await;
    let (done, _) = wait(app, &alice.token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["kind"], "search");
    let v = app
        .get(&alice, &format!("/api/v1/models/{model}/versions/1"))
        .await
        .json();
    assert_eq!(v["algorithm"], "hist_gradient_boosting", "{v}");
    let trials = v["envelope"]["search"].as_array().unwrap();
    assert_eq!(trials.len(), 6, "{v}");
    // Every candidate is a histogram booster from its space; the best first.
    assert!(
        trials
            .iter()
            .all(|t| t["spec"]["algorithm"] == "hist_gradient_boosting"
                && [5, 20].contains(&t["spec"]["min_samples_leaf"].as_u64().unwrap())),
        "{trials:?}"
    );
    let rmse: Vec<f64> = trials
        .iter()
        .map(|t| t["rmse_mean"].as_f64().unwrap())
        .collect();
    assert!(rmse.windows(2).all(|w| w[0] <= w[1]), "{rmse:?}");
    assert!(v["cv_rmse"].as_f64().unwrap() > 0.0);
    // Out of bounds is refused before anything is queued, by name.
    let r = app
        .post(
            &alice,
            &format!("/api/v1/models/{model}/train"),
            json!({ "algorithm": "hgb", "params": { "max_leaves": 1 } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "params.max_leaves");
}

/// Imported Tox21 hit calls train a classifier on the assay's property (`Toxicity: SR-p53`);
/// its stored predictions stand in for measurements in a molecule's toxicity and the unified
/// score, which say so.
#[tokio::test]
async fn an_assay_trains_a_toxicity_classifier_whose_predictions_stand_in_for_measurements() {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    let mut measured = String::new();
    for (smiles, value) in FREESOLV_40 {
        let r = crate::toxicity::import(&db, &alice, smiles, &[("SR-p53", *value < -4.0)]).await;
        assert_eq!(r.activities_new, 1, "{smiles}");
        if measured.is_empty() {
            let m = app
                .post(&alice, "/api/v1/molecules", json!({ "smiles": smiles }))
                .await;
            measured = id_of(&m.json()["molecule"]);
        }
    }
    let r = app
        .post(
            &alice,
            "/api/v1/models",
            json!({ "name": "p53", "property": "Toxicity: SR-p53" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["kind"], "binary");
    let model = id_of(&r.json());
    let job = start(
        app,
        &alice.token,
        &model,
        json!({ "algorithm": "logistic", "features": "cryo20", "calibration": "platt" }),
    )
    .await;
    let (done, _) = wait(app, &alice.token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    promote(app, &alice, &model, 1).await;

    // A molecule without measurements: predicted, stored, then scored from the prediction.
    let m = app
        .post(&alice, "/api/v1/molecules", json!({ "smiles": "OCCCCCO" }))
        .await;
    let fresh = id_of(&m.json()["molecule"]);
    let r = predict(
        app,
        &alice.token,
        &model,
        json!({ "molecule_id": fresh, "store": true }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let p_active = r.json()["predictions"][0]["probabilities"]["true"]
        .as_f64()
        .unwrap();
    let t = app
        .get(&alice, &format!("/api/v1/molecules/{fresh}/toxicity"))
        .await
        .json();
    assert!(t["measured"].is_null(), "{t}");
    let predicted = t["predicted"]["endpoints"]["dna_damage"]["score"]
        .as_f64()
        .unwrap();
    assert!((predicted - p_active).abs() < 1e-9, "{t}");
    assert_eq!(t["predictions"][0]["assay_key"], "SR-p53");
    let u = app
        .get(&alice, &format!("/api/v1/unified/molecule/{fresh}"))
        .await
        .json();
    assert_eq!(u["toxicity_source"], "predicted", "{u}");
    assert!(
        !u["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("toxicity"))
    );
    // Where a measurement exists it is used, and said to be.
    let u = app
        .get(&alice, &format!("/api/v1/unified/molecule/{measured}"))
        .await
        .json();
    assert_eq!(u["toxicity_source"], "measured", "{u}");
}

/// The optimiser and the recommender read a production model's prediction of a mixture the
/// way the registry predicts it: a proposal, saved as a mixture and predicted by the model,
/// gets the value the optimiser reported.
#[tokio::test]
async fn a_production_model_is_optimised_over_a_mixture_as_it_predicts_the_mixture() {
    let db = TestDb::new().await;
    let run = running(&db, 1, &[]).await;
    let app = &run.app;
    let alice = register(app, "alice").await;
    let molecules = enter_data(app, &alice.token).await;
    let model = new_model(app, &alice.token).await;
    // Ridge with CV+ intervals (the default): smooth, and finite intervals on 40 rows.
    let job = start(
        app,
        &alice.token,
        &model,
        json!({"algorithm": "ridge", "features": "cryo20"}),
    )
    .await;
    let (done, _) = wait(app, &alice.token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    promote(app, &alice, &model, 1).await;
    let mixture = app
        .post(
            &alice,
            "/api/v1/mixtures",
            json!({"name": "two", "components": [
                {"molecule_id": molecules[0], "concentration": 1, "unit": "M"},
                {"molecule_id": molecules[5], "concentration": 1, "unit": "M"}]}),
        )
        .await;
    assert_eq!(mixture.status, StatusCode::CREATED, "{}", mixture.text);
    let id = id_of(&mixture.json()["mixture"]);
    for goal in ["maximise", "minimise"] {
        let r = app
            .post(
                &alice,
                &format!("/api/v1/mixtures/{id}/optimise"),
                json!({"quantity": "model", "model_id": model, "goal": goal, "total": 2,
                       "bounds": [{"molecule_id": molecules[0], "min": 0.1, "max": 1.9},
                                  {"molecule_id": molecules[5], "min": 0.1, "max": 1.9}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let out = r.json();
        assert_eq!(out["method"], "gradient", "ridge is smooth: {out}");
        let best = &out["proposals"][0];
        let (v, now) = (
            best["value"].as_f64().unwrap(),
            out["current"]["value"].as_f64().unwrap(),
        );
        if goal == "maximise" {
            assert!(v >= now - 1e-9, "{out}");
        } else {
            assert!(v <= now + 1e-9, "{out}");
        }
        let (lo, hi) = (best["interval"][0].as_f64(), best["interval"][1].as_f64());
        assert!(
            lo.is_some_and(|lo| lo <= v) && hi.is_some_and(|hi| v <= hi),
            "{out}"
        );
        // Saved and predicted by the model, the proposal has the value reported.
        let saved = app
            .post(
                &alice,
                "/api/v1/mixtures",
                json!({"name": format!("best {goal}"), "components": best["components"].as_array().unwrap().iter()
                    .map(|c| json!({"molecule_id": c["molecule_id"], "concentration": c["concentration"], "unit": c["unit"]}))
                    .collect::<Vec<_>>()}),
            )
            .await;
        assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
        let p = predict(
            app,
            &alice.token,
            &model,
            json!({"mixture_id": id_of(&saved.json()["mixture"])}),
        )
        .await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.text);
        let predicted = p.json()["predictions"][0]["value"].as_f64().unwrap();
        assert!(
            (predicted - v).abs() < 1e-9,
            "optimiser {v} vs registry {predicted}"
        );
    }
    // The pessimistic end is what a maximisation ranks by: the interval's lower bound.
    let r = app
        .post(
            &alice,
            &format!("/api/v1/mixtures/{id}/recommend"),
            json!({"quantity": "model", "model_id": model, "pessimistic": true,
                   "candidates": [molecules[1], molecules[2], molecules[3]], "amounts": [0.5]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let recs = r.json()["recommendations"].as_array().unwrap().clone();
    assert_eq!(recs.len(), 3);
    let lows: Vec<f64> = recs
        .iter()
        .map(|r| r["interval"][0].as_f64().unwrap())
        .collect();
    assert!(lows.windows(2).all(|w| w[0] >= w[1] - 1e-12), "{lows:?}");
    // A split-conformal version on 40 rows has unbounded 90 % intervals: a pessimistic
    // objective is refused, naming the option, rather than ranking everything as equally bad.
    let job = start(app, &alice.token, &model, ridge()).await;
    let (done, _) = wait(app, &alice.token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    promote(app, &alice, &model, 2).await;
    let r = app
        .post(
            &alice,
            &format!("/api/v1/mixtures/{id}/optimise"),
            json!({"quantity": "model", "model_id": model, "pessimistic": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["error"]["details"]["field"],
        "pessimistic",
        "{}",
        r.text
    );
    // The point prediction is still optimised.
    let r = app
        .post(
            &alice,
            &format!("/api/v1/mixtures/{id}/optimise"),
            json!({"quantity": "model", "model_id": model}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
