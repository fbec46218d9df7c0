//! What an attacker or a careless user sends: oversized structures, pathological queries,
//! nonsense numbers. Each is answered with a 4xx naming the field and the limit, quickly, and
//! the server keeps answering everyone else meanwhile.

use crate::helpers::*;
use axum::http::StatusCode;
use cryo_testkit::TestDb;
use serde_json::json;
use std::time::{Duration, Instant};

fn assert_limit(r: &Reply, limit: &str) {
    let v = assert_error_shape(r, StatusCode::UNPROCESSABLE_ENTITY, "too_large");
    assert_eq!(v["error"]["details"]["limit"], limit, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("allowed"),
        "{v}"
    );
}

#[tokio::test]
async fn oversized_structures_are_refused_naming_the_limit_on_every_entry_point() {
    let (_db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let huge = "C".repeat(10_000);
    let many_atoms = "C".repeat(401);
    for smiles in [&huge, &many_atoms] {
        let limit = if smiles.len() > 4096 {
            "limits.max_smiles_bytes"
        } else {
            "limits.max_atoms"
        };
        let r = app
            .post(
                Anon,
                "/api/v1/scoring/molecule",
                json!({ "smiles": smiles }),
            )
            .await;
        assert_limit(&r, limit);
        let r = app
            .post(&alice, "/api/v1/molecules", json!({ "smiles": smiles }))
            .await;
        assert_limit(&r, limit);
        let r = app
            .post(
                Anon,
                "/api/v1/molecules/search/similarity",
                json!({ "smiles": smiles }),
            )
            .await;
        assert_limit(&r, limit);
    }
    let dotted = vec!["C"; 33].join(".");
    let r = app
        .post(
            Anon,
            "/api/v1/scoring/molecule",
            json!({ "smiles": dotted }),
        )
        .await;
    assert_limit(&r, "limits.max_fragments");
    let r = app
        .post(
            &alice,
            "/api/v1/molecules",
            json!({ "molblock": cryo_chem::fixtures::grid_molblock(30) }),
        )
        .await;
    assert_limit(&r, "limits.max_atoms");
    let r = app
        .post(
            Anon,
            "/api/v1/molecules/search/substructure",
            json!({ "smarts": "C".repeat(65) }),
        )
        .await;
    assert_limit(&r, "limits.max_query_atoms");
    // The largest structure allowed is still served.
    let r = app
        .post(
            Anon,
            "/api/v1/scoring/molecule",
            json!({ "smiles": "C".repeat(400) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(get(&app, "/health/live").await.status, StatusCode::OK);
}

#[tokio::test]
async fn wildcards_and_empty_mol_blocks_are_answered_not_failed() {
    let (_db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let r = app
        .post(Anon, "/api/v1/scoring/molecule", json!({ "smiles": "*" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(&alice, "/api/v1/molecules", json!({ "smiles": "C[*]" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.json()["molecule"]["inchikey"].is_null(), "{}", r.text);
    let empty = "\n  RDKit          2D\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n";
    let r = app
        .post(&alice, "/api/v1/molecules", json!({ "molblock": empty }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("no atoms"), "{}", r.text);
}

/// The odd ring of 19 wildcards against an 8×8 grid ran 47 s before it was answered 408, and
/// each two more atoms cost five times as much. Now the matcher stops at the deadline, and two
/// such searches at once leave the server answering its liveness probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pathological_substructure_search_stops_at_its_deadline_and_liveness_holds() {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let settings = settings_with(&[("CRYOPROTECT_LIMITS_COMPUTE_DEADLINE_SECS", "3")]);
    let app =
        cryo_server::router(cryo_server::AppState::new(db.api_pool().await, settings).unwrap());
    let alice = register(&app, "alice").await;
    let r = app
        .post(
            &alice,
            "/api/v1/molecules",
            json!({ "molblock": cryo_chem::fixtures::grid_molblock(8), "name": "grid" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let odd = format!("*1{}~1", "~*".repeat(18));
    let hostile = |app: axum::Router, token: String, smarts: String| async move {
        let started = Instant::now();
        let r = app
            .post(
                &token,
                "/api/v1/molecules/search/substructure",
                json!({ "smarts": smarts }),
            )
            .await;
        (r, started.elapsed())
    };
    let a = tokio::spawn(hostile(app.clone(), alice.token.clone(), odd.clone()));
    let b = tokio::spawn(hostile(app.clone(), alice.token.clone(), odd.clone()));
    // Probe liveness while both searches hold the compute pool.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(get(&app, "/health/live").await.status, StatusCode::OK);
        worst = worst.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for task in [a, b] {
        let (r, took) = task.await.unwrap();
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let v = r.json();
        assert_eq!(v["error"]["code"], "deadline_exceeded", "{v}");
        assert_eq!(
            v["error"]["details"]["limit"], "limits.compute_deadline_secs",
            "{v}"
        );
        // Generous: the deadline is 3 s; unguarded this query took 47 s.
        assert!(took < Duration::from_secs(20), "took {took:?}");
    }
    eprintln!("worst /health/live latency with both searches running: {worst:?}");
    assert!(
        worst < Duration::from_millis(500),
        "liveness took {worst:?}"
    );
}

#[tokio::test]
async fn scores_stay_within_0_to_100_for_the_largest_structures_allowed() {
    let (_db, app) = seeded().await;
    for smiles in [
        vec!["OCC(O)CO"; 32].join("."),
        "OCC(O)".repeat(100),
        "C(=O)N".repeat(120),
    ] {
        let r = app
            .post(
                Anon,
                "/api/v1/scoring/molecule",
                json!({ "smiles": smiles }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let v = r.json();
        let overall = v["overall"].as_i64().unwrap();
        assert!((0..=100).contains(&overall), "{v}");
        for (name, c) in v["components"].as_object().unwrap() {
            assert!((0..=100).contains(&c.as_i64().unwrap()), "{name}: {v}");
        }
    }
}

#[tokio::test]
async fn measurements_are_checked_against_their_property_and_converted_to_its_unit() {
    let (_db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let m = app
        .post(&alice, "/api/v1/molecules", json!({"smiles": "OCC(O)CO"}))
        .await;
    let id = m.json()["molecule"]["id"].as_str().unwrap().to_string();
    let record = |body: serde_json::Value| {
        let (app, token, id) = (app.clone(), alice.token.clone(), id.clone());
        async move {
            let mut body = body;
            body["molecule_id"] = json!(id);
            app.post(&token, "/api/v1/experiments", body).await
        }
    };
    let tg = "Glass Transition Temperature";
    for (body, field) in [
        (
            json!({"property": tg, "value": -93, "unit": "parsecs"}),
            "unit",
        ),
        (
            json!({"property": tg, "value": -93, "unit": "kcal/mol"}),
            "unit",
        ),
        (
            json!({"property": tg, "value": -93, "performed_on": "0000-01-01"}),
            "performed_on",
        ),
        (
            json!({"property": tg, "value": -93, "temperature_c": 1e308}),
            "temperature_c",
        ),
        (
            json!({"property": tg, "value": -93, "temperature_c": -300}),
            "temperature_c",
        ),
        (
            json!({"property": "Toxicity", "value": "low", "unit": "K"}),
            "unit",
        ),
        (
            json!({"property": "No Such Property", "value": 1}),
            "property",
        ),
    ] {
        let r = record(body.clone()).await;
        assert_refused(&r, field, &body);
    }
    // 180 K is −93.15 °C: stored in °C, and what was sent kept beside it.
    let r =
        record(json!({"property": tg, "value": 180, "unit": "K", "performed_on": "2026-11-30"}))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let e = r.json();
    assert!(
        (e["numeric_value"].as_f64().unwrap() + 93.15).abs() < 1e-9,
        "{e}"
    );
    assert_eq!(e["unit"], "°C", "{e}");
    assert_eq!(e["raw_value"], 180.0, "{e}");
    assert_eq!(e["raw_unit"], "K", "{e}");
    // In the property's own unit (or none): stored as sent.
    let r = record(json!({"property": tg, "value": -93})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["numeric_value"], -93.0);
    assert!(r.json()["raw_unit"].is_null());
}

#[tokio::test]
async fn batch_scoring_and_descriptors_of_unregistered_structures_answer_each_and_keep_the_bounds()
{
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .unwrap();
    let app = cryo_server::router(
        cryo_server::AppState::new(
            db.api_pool().await,
            settings_with(&[("CRYOPROTECT_MODELS_MAX_BATCH", "3")]),
        )
        .unwrap(),
    );
    let alice = register(&app, "alice").await;
    let batch = |who: &User, smiles: serde_json::Value| {
        let body = json!({ "smiles": smiles });
        let token = who.token.clone();
        let app = app.clone();
        async move { app.post(&token, "/api/v1/scoring/batch", body).await }
    };
    // Signed in only: a batch is real work.
    let r = app
        .post(Anon, "/api/v1/scoring/batch", json!({ "smiles": ["CCO"] }))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = batch(&alice, json!(["OC(CO)CO", "C1CC", "C".repeat(401)])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let answers = r.json();
    let a = answers.as_array().unwrap();
    assert_eq!(a.len(), 3);
    // Each in input order with its own answer; the bad ones say why, the rest are scored.
    assert_eq!(a[0]["index"], 0);
    assert_eq!(a[0]["canonical_smiles"], "OCC(O)CO");
    let single = app
        .post(
            Anon,
            "/api/v1/scoring/molecule",
            json!({ "smiles": "OCC(O)CO" }),
        )
        .await
        .json();
    assert_eq!(
        a[0]["score"], single,
        "the batch scores as the single endpoint does"
    );
    assert!(a[1]["error"].as_str().unwrap().contains("ring"), "{}", a[1]);
    assert!(
        a[2]["error"].as_str().unwrap().contains("atoms"),
        "{}",
        a[2]
    );
    assert!(a[1]["score"].is_null() && a[2]["score"].is_null());
    for (body, why) in [
        (json!([]), "empty"),
        (json!(["C", "CC", "CCC", "CCCC"]), "at most 3"),
    ] {
        let r = batch(&alice, body).await;
        let v = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(v["error"]["details"]["field"], "smiles", "{v}");
        assert!(r.text.contains(why), "{}", r.text);
    }

    // Descriptors of a structure nobody registered: glycerol's average molecular weight is
    // 92.09 g/mol (C3H8O3: 3 × 12.011 + 8 × 1.008 + 3 × 15.999 = 92.094).
    let r = app
        .post(Anon, "/api/v1/descriptors", json!({ "smiles": "OCC(O)CO" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d = r.json();
    assert_eq!(d["features"], "rdkit");
    let names: Vec<&str> = d["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names.len(), d["values"].as_array().unwrap().len());
    let mw = names.iter().position(|n| *n == "amw").expect("amw");
    assert!(
        (d["values"][mw].as_f64().unwrap() - 92.094).abs() < 0.01,
        "{d}"
    );
    let small = app
        .post(
            Anon,
            "/api/v1/descriptors",
            json!({ "smiles": "OCC(O)CO", "features": "cryo20" }),
        )
        .await
        .json();
    assert_eq!(small["names"].as_array().unwrap().len(), 20, "{small}");
    let r = app
        .post(
            Anon,
            "/api/v1/descriptors",
            json!({ "smiles": "CCO", "features": "everything" }),
        )
        .await;
    let v = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(v["error"]["details"]["field"], "features", "{v}");
    let r = app
        .post(
            Anon,
            "/api/v1/descriptors",
            json!({ "smiles": "C".repeat(10_000) }),
        )
        .await;
    assert_limit(&r, "limits.max_smiles_bytes");
}
