//! Toxicity through the API: alerts and QED of a molecule, measured activities scored by
//! endpoint (hand-computed), the unified score changing when toxicity data arrives, a mixture's
//! toxicity by molar share, and activities visible only to their owner (row-level security).

use crate::helpers::{Anon, Client, User, id_of, reference_molecule, register, seeded};
use axum::http::StatusCode;
use cryo_app::toxicity::{ImportMeasurement, ImportReport, ImportRow, import_rows};
use cryo_db::Identity;
use cryo_testkit::TestDb;
use serde_json::{Value, json};

/// Store measurements for `who` as the CLI importer does (hit calls by Tox21 column).
pub(crate) async fn import(
    db: &TestDb,
    who: &User,
    smiles: &str,
    hits: &[(&str, bool)],
) -> ImportReport {
    let owner: uuid::Uuid = who.id.parse().unwrap();
    let mol = cryo_chem::Molecule::from_smiles(smiles).unwrap();
    let computed = cryo_app::molecules::compute(&mol, None).unwrap();
    let row = ImportRow {
        line: 2,
        computed,
        measurements: hits
            .iter()
            .map(|(assay, hit)| ImportMeasurement {
                assay_key: assay.to_string(),
                hit_call: Some(*hit),
                activity_type: None,
                potency: None,
                potency_unit: None,
            })
            .collect(),
    };
    let mut report = ImportReport::default();
    let mut tx = cryo_db::identity::begin(&db.pool, &Identity::user(owner))
        .await
        .unwrap();
    import_rows(&mut tx, Some(owner), &[row], &mut report)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    report
}

async fn register_molecule(app: &axum::Router, who: &User, smiles: &str) -> String {
    let r = app
        .post(who, "/api/v1/molecules", json!({"smiles": smiles}))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    id_of(&r.json()["molecule"])
}

async fn unified(app: &axum::Router, who: &User, id: &str) -> Value {
    app.get(
        who,
        &format!("/api/v1/unified/molecule/{id}?context=sensitive_tissues"),
    )
    .await
    .json()
}

async fn activities_seen(app: &axum::Router, who: &User, molecule: &str) -> usize {
    app.get(who, &format!("/api/v1/molecules/{molecule}/toxicity"))
        .await
        .json()["activities"]
        .as_array()
        .unwrap()
        .len()
}

fn close(v: &Value, x: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - x).abs() < 1e-9, "{got} vs {x}");
}

#[tokio::test]
async fn measured_toxicity_is_scored_and_moves_the_unified_score() {
    let (db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let bob = register(&app, "bob").await;
    let rhodanine = register_molecule(&app, &alice, "O=C1NC(=S)SC1").await;

    let t = app
        .get(&alice, &format!("/api/v1/molecules/{rhodanine}/toxicity"))
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let t = t.json();
    let alerts = t["alerts"].as_array().unwrap();
    assert!(!alerts.is_empty(), "{t}");
    assert!(
        alerts
            .iter()
            .all(|a| !a["atoms"].as_array().unwrap().is_empty())
    );
    assert_eq!(
        t["alert_counts"].as_object().unwrap().len(),
        6,
        "every family listed: {t}"
    );
    let qed = t["qed"].as_f64().unwrap();
    assert!(qed > 0.0 && qed < 1.0);
    assert!(t["measured"].is_null());

    // Alert counts and QED were stored at registration: the list shows them and filters on them.
    let listed = app.get(&alice, "/api/v1/molecules?limit=500").await.json();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == rhodanine.as_str())
        .unwrap()
        .clone();
    close(&row["alerts"], alerts.len() as f64);
    close(&row["qed"], qed);
    let clean = app
        .get(&alice, "/api/v1/molecules?max_alerts=0&limit=500")
        .await
        .json();
    let clean = clean.as_array().unwrap();
    assert!(clean.iter().all(|m| m["alerts"] == json!(0.0)), "{clean:?}");
    assert!(clean.iter().any(|m| m["name"] == "Glycerol"));
    assert!(!clean.iter().any(|m| m["id"] == rhodanine.as_str()));
    let r = app.get(&alice, "/api/v1/molecules?max_alerts=-1").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    let before = unified(&app, &alice, &rhodanine).await;
    assert!(
        before["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("toxicity")),
        "{before}"
    );

    // Active in SR-p53 (dna_damage), inactive in NR-AR (nuclear_receptor): each endpoint has one
    // value, so completeness 0.2 and confidence 0.5·0.2 + 0.5·1 = 0.6; weights 1.2 and 1.0.
    let report = import(
        &db,
        &alice,
        "O=C1NC(=S)SC1",
        &[("SR-p53", true), ("NR-AR", false)],
    )
    .await;
    assert_eq!((report.molecules_matched, report.molecules_created), (1, 0));
    assert_eq!(report.activities_new, 2);
    let t = app
        .get(&alice, &format!("/api/v1/molecules/{rhodanine}/toxicity"))
        .await
        .json();
    let score = (1.0 * 1.2 * 0.6) / (1.2 * 0.6 + 1.0 * 0.6);
    close(&t["measured"]["score"], score);
    close(&t["measured"]["endpoints"]["dna_damage"]["confidence"], 0.6);
    close(&t["measured"]["coverage"], 2.0 / 12.0);
    close(&t["measured"]["confidence"], 0.7 * 0.6 + 0.3 * 2.0 / 12.0);
    assert_eq!(t["activities"].as_array().unwrap().len(), 2);

    let after = unified(&app, &alice, &rhodanine).await;
    close(&after["toxicity_risk"], 100.0 * score);
    assert!(
        !after["missing"]
            .as_array()
            .unwrap()
            .contains(&json!("toxicity")),
        "{after}"
    );
    assert_ne!(after["overall"], before["overall"], "{before} → {after}");

    // Re-importing replaces, never duplicates.
    let again = import(
        &db,
        &alice,
        "O=C1NC(=S)SC1",
        &[("SR-p53", true), ("NR-AR", false)],
    )
    .await;
    assert_eq!((again.activities_new, again.activities_updated), (0, 2));

    // Bob cannot see Alice's molecule, nor her measurements on a reference molecule.
    let r = app
        .get(&bob, &format!("/api/v1/molecules/{rhodanine}/toxicity"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    import(&db, &alice, "CS(C)=O", &[("SR-MMP", true)]).await;
    let dmso = reference_molecule(&app, "Dimethyl sulfoxide").await;
    assert_eq!(activities_seen(&app, &alice, &dmso).await, 1);
    assert_eq!(activities_seen(&app, &bob, &dmso).await, 0);

    // A mixture of DMSO alone carries DMSO's measured score (one component, share 1).
    let r = app
        .post(
            &alice,
            "/api/v1/mixtures",
            json!({"name": "DMSO", "components": [{"molecule_id": dmso, "concentration": 2, "unit": "M"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mixture = id_of(&r.json()["mixture"]);
    let m = app
        .get(&alice, &format!("/api/v1/mixtures/{mixture}/toxicity"))
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text);
    let m = m.json();
    close(&m["toxicity"]["score"], 1.0);
    close(&m["toxicity"]["scored_share"], 1.0);

    // The batch form answers per id; an id Alice cannot see is an error in its place.
    let r = app
        .post(
            &alice,
            "/api/v1/unified/batch",
            json!({"kind": "molecule", "ids": [rhodanine, uuid::Uuid::new_v4()], "context": "general"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b = r.json();
    assert!(b[0]["unified"]["overall"].is_number(), "{b}");
    assert!(b[1]["error"].as_str().unwrap().contains("not found"), "{b}");
}

#[tokio::test]
async fn contexts_and_assays_are_listed() {
    let (_db, app) = seeded().await;
    let c = app.get(Anon, "/api/v1/unified/contexts").await.json();
    assert_eq!(c.as_array().unwrap().len(), 5);
    for ctx in c.as_array().unwrap() {
        let sum = ctx["efficacy_weight"].as_f64().unwrap()
            + ctx["toxicity_weight"].as_f64().unwrap()
            + ctx["tg_weight"].as_f64().unwrap();
        assert!((sum - 1.0).abs() < 1e-9, "{ctx}");
    }
    let a = app.get(Anon, "/api/v1/toxicity/assays").await.json();
    let assays = a.as_array().unwrap();
    assert_eq!(assays.len(), 12);
    // Bounds, named: a batch of 1 to 200 ids, a depiction highlighting at most 500 atoms.
    for ids in [vec![], vec![uuid::Uuid::new_v4(); 201]] {
        let r = app
            .post(
                Anon,
                "/api/v1/unified/batch",
                json!({"kind": "molecule", "ids": ids}),
            )
            .await;
        let e = crate::helpers::assert_error_shape(
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(e["error"]["details"]["field"], "ids", "{e}");
    }
    let glycerol = reference_molecule(&app, "Glycerol").await;
    let many = (0..501)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    for highlight in [many.as_str(), "1,x", "-1"] {
        let r = app
            .get(
                Anon,
                &format!("/api/v1/molecules/{glycerol}/svg?highlight={highlight}"),
            )
            .await;
        let e = crate::helpers::assert_error_shape(
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(e["error"]["details"]["field"], "highlight", "{e}");
    }
    let r = app
        .get(
            Anon,
            &format!("/api/v1/molecules/{glycerol}/svg?highlight=0,1"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("#FF7F7F"), "highlighted");
    // The seeded mapping is the one cryo-core documents.
    for (key, endpoint, _) in cryo_core::toxicity::TOX21_ASSAYS {
        let row = assays.iter().find(|x| x["assay_key"] == key).unwrap();
        assert_eq!(row["endpoint"], endpoint.as_str(), "{key}");
    }
}

#[tokio::test]
async fn viability_after_cpa_exposure_is_recorded_with_its_conditions() {
    let (_db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let dmso = reference_molecule(&app, "Dimethyl sulfoxide").await;
    let body = |conditions: Value| {
        json!({"molecule_id": dmso, "property": "Cell Viability After CPA Exposure", "value": 0.82,
               "unit": "fraction", "temperature_c": 4, "conditions": conditions})
    };
    // Each missing condition is named.
    let r = app
        .post(
            &alice,
            "/api/v1/experiments",
            body(json!({"cell_type": "HepG2"})),
        )
        .await;
    let e = crate::helpers::assert_error_shape(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        e["error"]["details"]["field"], "conditions.cpa_concentration_m",
        "{e}"
    );
    let r = app
        .post(
            &alice,
            "/api/v1/experiments",
            body(json!({"cell_type": "HepG2", "cpa_concentration_m": 2.0, "exposure_min": 0})),
        )
        .await;
    let e = crate::helpers::assert_error_shape(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        e["error"]["details"]["field"], "conditions.exposure_min",
        "{e}"
    );
    // Complete: stored as a percentage, the fraction as sent kept beside it.
    let r = app
        .post(
            &alice,
            "/api/v1/experiments",
            body(json!({"cell_type": "HepG2", "cpa_concentration_m": 2.0, "exposure_min": 30})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let x = r.json();
    close(&x["numeric_value"], 82.0);
    assert_eq!(x["conditions"]["cell_type"], "HepG2");
}
