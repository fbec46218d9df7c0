//! Molecules, mixtures, experiments, verification and comparisons through the API.

use crate::helpers::{Anon, Client};
use crate::helpers::{User, count_statements, id_of, join_team, register, seeded, statements_of};
use axum::http::StatusCode;
use serde_json::{Value, json};

async fn reference(app: &axum::Router, name: &str) -> Value {
    let r = app
        .get(
            Anon,
            &format!("/api/v1/molecules?q={}", name.replace(' ', "%20")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} seeded: {}", r.text))
}

#[tokio::test]
async fn reference_cryoprotectants_are_seeded_with_correct_identifiers_and_scores() {
    let (_db, app) = seeded().await;
    let cases = [
        ("Glycerol", "PEDCQBHIVMGVHV-UHFFFAOYSA-N", 87.0),
        ("Propylene glycol", "DNIAPMSPPWPWGF-UHFFFAOYSA-N", 80.0),
        ("1,3-Propanediol", "YPFDHNVEDLHUCE-UHFFFAOYSA-N", 80.0),
        ("tert-Butanol", "DKGAVHZHDRPRBM-UHFFFAOYSA-N", 59.0),
        ("Dimethyl sulfoxide", "IAZDPXIOMUYVGZ-UHFFFAOYSA-N", 49.0),
    ];
    for (name, key, score) in cases {
        let m = reference(&app, name).await;
        assert_eq!(m["inchikey"], key, "{name}");
        assert_eq!(m["score"], score, "{name}");
        assert_eq!(m["is_reference"], true);
    }
    // Trehalose is the real disaccharide now: C12H22O11 with two pyranose rings.
    let t = reference(&app, "Trehalose").await;
    assert_eq!(t["formula"], "C12H22O11");
    assert_eq!(t["murcko_scaffold"], "C1CC[C@@H](O[C@@H]2CCCCO2)OC1");
    let all = app.get(Anon, "/api/v1/molecules?limit=100").await.json();
    assert_eq!(all.as_array().unwrap().len(), 17);
}

#[tokio::test]
async fn registering_molecules_validates_structures_and_deduplicates() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    let bad = app
        .post(&a, "/api/v1/molecules", json!({"smiles": "C1CC(O"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("never closed"),
        "{}",
        bad.text
    );
    assert_eq!(bad.json()["error"]["details"]["field"], "structure");
    let valence = app
        .post(&a, "/api/v1/molecules", json!({"smiles": "CN(C)(C)(C)C"}))
        .await;
    assert_eq!(valence.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(valence.text.contains("valence"), "{}", valence.text);
    let neither = app
        .post(&a, "/api/v1/molecules", json!({"name": "x"}))
        .await;
    assert_eq!(neither.json()["error"]["details"]["field"], "smiles");

    let first = app
        .post(
            &a,
            "/api/v1/molecules",
            json!({"smiles": "OCC(O)C(O)CO", "name": "Erythritol"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let body = first.json();
    assert_eq!(body["features"].as_object().unwrap().len(), 20);
    assert_eq!(body["created"], true);
    let stored: Vec<&str> = body["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["property"].as_str().unwrap())
        .collect();
    assert!(
        stored.contains(&"Cryoprotection Score") && stored.contains(&"TPSA"),
        "{stored:?}"
    );
    assert!(
        body["properties"][0]["method_version"]
            .as_str()
            .unwrap()
            .contains("rdkit")
    );
    // Same structure, different spelling: same row.
    let again = app
        .post(&a, "/api/v1/molecules", json!({"smiles": "C(C(C(CO)O)O)O"}))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(id_of(&again.json()["molecule"]), id_of(&body["molecule"]));

    let svg = app
        .get(
            &a,
            &format!("/api/v1/molecules/{}/svg", id_of(&body["molecule"])),
        )
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert!(svg.text.contains("<svg"));
}

/// A registration answers from the structure it parsed once; reading the molecule back (which
/// parses the stored canonical SMILES) gives the same features, score and descriptors, for a
/// SMILES and for a MOL block.
#[tokio::test]
async fn a_registration_answers_what_reading_it_back_gives() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    for body in [
        json!({ "smiles": "OC(CO)CO", "name": "glycerol" }),
        json!({ "molblock": cryo_chem::fixtures::grid_molblock(3), "name": "grid" }),
    ] {
        let made = app.post(&a, "/api/v1/molecules", body.clone()).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        let made = made.json();
        let read = app
            .get(
                &a,
                &format!("/api/v1/molecules/{}", id_of(&made["molecule"])),
            )
            .await
            .json();
        for part in ["features", "score", "descriptors", "properties"] {
            assert!(!made[part].is_null(), "{part} in {made}");
            assert_eq!(made[part], read[part], "{part} for {body}");
        }
    }
}

#[tokio::test]
async fn mixture_scores_normalise_units_and_reproduce_the_reference_examples() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    let dmso = id_of(&reference(&app, "Dimethyl sulfoxide").await);
    let eg = id_of(&reference(&app, "Ethylene glycol").await);
    let pg = id_of(&reference(&app, "Propylene glycol").await);
    let mix = |components: Value| json!({"name": "mix", "components": components});

    let r = app
        .post(
            &a,
            "/api/v1/mixtures",
            mix(json!([
        {"molecule_id": dmso, "concentration": 0.5, "unit": "mol_fraction"},
        {"molecule_id": eg, "concentration": 0.5, "unit": "mol_fraction"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["score"]["overall"], 68);

    let r = app
        .post(
            &a,
            "/api/v1/mixtures",
            mix(json!([
        {"molecule_id": pg, "concentration": 0.333, "unit": "mol_fraction"},
        {"molecule_id": eg, "concentration": 0.333, "unit": "mol_fraction"},
        {"molecule_id": dmso, "concentration": 0.334, "unit": "mol_fraction"}])),
        )
        .await;
    assert_eq!(r.json()["score"]["overall"], 75, "{}", r.text);

    // Statements of creating a three-component mixture.
    count_statements();
    let r = app
        .post(
            &a,
            "/api/v1/mixtures",
            mix(json!([
        {"molecule_id": pg, "concentration": 0.2, "unit": "mol_fraction"},
        {"molecule_id": eg, "concentration": 0.3, "unit": "mol_fraction"},
        {"molecule_id": dmso, "concentration": 0.5, "unit": "mol_fraction"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let statements = statements_of(&r);
    eprintln!("statements for a three-component mixture: {statements}");
    // The session check, BEGIN + acting as the caller, the molecules read, the mixture and its
    // components inserted (one statement each), its version 1 and that version's components
    // (one each), COMMIT.
    assert!(
        (1..=8).contains(&statements),
        "{statements} statements to create a three-component mixture"
    );

    // 10 % v/v DMSO and 1.41 M EG: different units, reconciled through density and molar mass.
    let r = app
        .post(
            &a,
            "/api/v1/mixtures",
            mix(json!([
        {"molecule_id": dmso, "concentration": 10, "unit": "percent_v_v"},
        {"molecule_id": eg, "concentration": 1.408, "unit": "M"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let shares = r.json()["score"]["molar_shares"].clone();
    assert!((shares[0].as_f64().unwrap() - 0.5).abs() < 0.01, "{shares}");

    let cases = [
        (
            json!([{"molecule_id": dmso, "concentration": 0.5, "unit": "mol_fraction"}, {"molecule_id": eg, "concentration": 1, "unit": "M"}]),
            "components",
        ),
        (
            json!([{"molecule_id": dmso, "concentration": 10, "unit": "%"}]),
            "components[0].unit",
        ),
        (
            json!([{"molecule_id": dmso, "concentration": -1, "unit": "M"}]),
            "components[0].concentration",
        ),
        (
            json!([{"molecule_id": uuid::Uuid::new_v4(), "concentration": 1, "unit": "M"}]),
            "components[0].molecule_id",
        ),
        (json!([]), "components"),
    ];
    for (components, field) in cases {
        let r = app.post(&a, "/api/v1/mixtures", mix(components)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(r.json()["error"]["details"]["field"], field, "{}", r.text);
    }
    // A user molecule has no density: % v/v is refused with the reason.
    let own = app
        .post(&a, "/api/v1/molecules", json!({"smiles": "OCC(O)C(O)CO"}))
        .await
        .json();
    let r = app
        .post(
            &a,
            "/api/v1/mixtures",
            mix(json!([
        {"molecule_id": id_of(&own["molecule"]), "concentration": 5, "unit": "percent_v_v"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("density"), "{}", r.text);
}

#[tokio::test]
async fn experiments_predictions_comparison_and_verification() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    let v = register(&app, "vera").await;
    let b = register(&app, "bob").await;
    let dmso = id_of(&reference(&app, "Dimethyl sulfoxide").await);
    let mixture = app
        .post(
            &a,
            "/api/v1/mixtures",
            json!({"name": "DMSO 1 M", "components": [
        {"molecule_id": dmso, "concentration": 1, "unit": "M"}]}),
        )
        .await
        .json();
    let mixture = id_of(&mixture["mixture"]);

    let exp = |value: Value| {
        json!({"mixture_id": mixture, "property": "Glass Transition Temperature", "value": value,
                                    "unit": "°C", "performed_on": "2026-11-20", "conditions": {"cooling_rate_c_per_min": 10}})
    };
    let e = app
        .post(&a, "/api/v1/experiments", exp(json!(-135.0)))
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.text);
    let experiment = id_of(&e.json());

    for (body, field) in [
        (exp(json!("glassy")), "value"),
        (
            json!({"mixture_id": mixture, "property": "Coolness", "value": 1}),
            "property",
        ),
        (
            json!({"property": "Melting Point", "value": 1}),
            "molecule_id",
        ),
        (
            json!({"mixture_id": mixture, "property": "Melting Point", "value": 1, "performed_on": "yesterday"}),
            "performed_on",
        ),
    ] {
        let r = app.post(&a, "/api/v1/experiments", body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(r.json()["error"]["details"]["field"], field, "{}", r.text);
    }

    let p = app.post(&a, "/api/v1/predictions", json!({"mixture_id": mixture,
        "property": "Glass Transition Temperature", "value": -120.0, "interval": {"lower": -130.0, "upper": -110.0, "level": 0.9}})).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let bad_interval = app.post(&a, "/api/v1/predictions", json!({"mixture_id": mixture,
        "property": "Glass Transition Temperature", "value": -120.0, "interval": {"lower": -100.0, "upper": -90.0, "level": 0.9}})).await;
    assert_eq!(bad_interval.status, StatusCode::UNPROCESSABLE_ENTITY);

    let cmp = app
        .get(
            &a,
            &format!(
                "/api/v1/compare?mixture_id={mixture}&property=Glass%20Transition%20Temperature"
            ),
        )
        .await
        .json();
    assert_eq!(cmp["difference"], -15.0);
    assert!((cmp["percent_error"].as_f64().unwrap() - 100.0 * 15.0 / 135.0).abs() < 1e-9);
    // A measured 0 has no percent error.
    app.post(
        &a,
        "/api/v1/experiments",
        json!({"mixture_id": mixture,
        "property": "Glass Transition Temperature", "value": 0.0, "performed_on": "2026-11-28"}),
    )
    .await;
    let cmp = app
        .get(
            &a,
            &format!(
                "/api/v1/compare?mixture_id={mixture}&property=Glass%20Transition%20Temperature"
            ),
        )
        .await
        .json();
    assert_eq!(cmp["difference"], 120.0);
    assert!(cmp["percent_error"].is_null());

    // Unified score: efficacy from the mixture's score, Tg from the latest measurement (0 °C here).
    let u = app
        .get(
            &a,
            &format!("/api/v1/unified/mixture/{mixture}?context=cell_preservation"),
        )
        .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.text);
    let u = u.json();
    assert_eq!(u["tg_celsius"], 0.0);
    assert_eq!(
        u["tg_score"], 40.0,
        "0 °C is 100 °C above the −130…−100 window: 90 − 0.5 × 100"
    );
    assert_eq!(u["missing"], json!(["toxicity"]));
    // B sees none of A's predictions or comparisons.
    let listed = app
        .get(&b, &format!("/api/v1/predictions?mixture_id={mixture}"))
        .await
        .json();
    assert!(listed.as_array().unwrap().is_empty());
    let cmp = app
        .get(
            &b,
            &format!(
                "/api/v1/compare?mixture_id={mixture}&property=Glass%20Transition%20Temperature"
            ),
        )
        .await
        .json();
    assert!(cmp["prediction"].is_null() && cmp["experiment"].is_null());
    assert_eq!(
        app.get(&b, &format!("/api/v1/unified/mixture/{mixture}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Verification: only a team-mate can be named; they may then read that measurement; only
    // they decide; others get 404.
    let ask_path = format!("/api/v1/experiments/{experiment}/verification");
    let ask = || {
        app.post(
            &a,
            &ask_path,
            json!({"verifier_id": v.id, "equipment_used": "DSC 8000"}),
        )
    };
    let read_experiment = |who: &User| {
        let app = app.clone();
        let token = who.token.clone();
        let path = format!("/api/v1/experiments/{experiment}");
        async move { app.get(&token, &path).await.status }
    };
    let refused = ask().await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.json()["error"]["details"]["field"], "verifier_id");
    assert_eq!(read_experiment(&v).await, StatusCode::NOT_FOUND);
    let team = app
        .post(&a, "/api/v1/teams", json!({"name": "calorimetry"}))
        .await
        .json();
    join_team(&app, &a, &id_of(&team), &v, "viewer").await;
    // A team-mate does not see an unshared measurement until named as its verifier.
    assert_eq!(read_experiment(&v).await, StatusCode::NOT_FOUND);
    let req = ask().await;
    assert_eq!(req.status, StatusCode::CREATED, "{}", req.text);
    let vid = id_of(&req.json());
    assert_eq!(read_experiment(&v).await, StatusCode::OK);
    assert_eq!(read_experiment(&b).await, StatusCode::NOT_FOUND);
    let others = app.get(&v, "/api/v1/experiments").await.json();
    assert_eq!(
        others.as_array().unwrap().len(),
        1,
        "only the measurement to verify: {others}"
    );
    let queue = app
        .get(&v, "/api/v1/verifications?status=pending")
        .await
        .json();
    assert_eq!(queue.as_array().unwrap().len(), 1);
    for outsider in [&b, &a] {
        let r = app
            .patch(
                &outsider,
                &format!("/api/v1/verifications/{vid}"),
                json!({"status": "verified"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    }
    let done = app
        .patch(
            &v,
            &format!("/api/v1/verifications/{vid}"),
            json!({"status": "verified", "comments": "matches DSC trace"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json()["status"], "verified");
    assert_eq!(done.json()["verifier_id"], v.id.as_str());
}

/// An acyclic C5 polyol chain: xylitol has it, the reference sugars (rings) do not.
const XYLITOL_CHAIN: &str = "[OH][CH2;!R][CH;!R]([OH])[CH;!R]([OH])[CH;!R]([OH])[CH2;!R][OH]";

#[tokio::test]
async fn another_tenant_cannot_reach_molecules_mixtures_or_experiments() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    let b = register(&app, "bob").await;
    let m = app
        .post(
            &a,
            "/api/v1/molecules",
            json!({"smiles": "OCC(O)C(O)C(O)CO", "name": "Xylitol"}),
        )
        .await
        .json();
    let molecule = id_of(&m["molecule"]);
    let x = app
        .post(
            &a,
            "/api/v1/mixtures",
            json!({"name": "secret", "components": [
        {"molecule_id": molecule, "concentration": 1, "unit": "M"}]}),
        )
        .await
        .json();
    let mixture = id_of(&x["mixture"]);
    let e = app
        .post(
            &a,
            "/api/v1/experiments",
            json!({"molecule_id": molecule, "property": "Melting Point", "value": 94.0}),
        )
        .await
        .json();
    let experiment = id_of(&e);

    for uri in [
        format!("/api/v1/molecules/{molecule}"),
        format!("/api/v1/molecules/{molecule}/svg"),
        format!("/api/v1/mixtures/{mixture}"),
        format!("/api/v1/experiments/{experiment}"),
    ] {
        assert_eq!(
            app.get(&b, &uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    for uri in [
        format!("/api/v1/molecules/{molecule}"),
        format!("/api/v1/mixtures/{mixture}"),
        format!("/api/v1/experiments/{experiment}"),
    ] {
        assert_eq!(
            app.delete(&b, &uri).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let r = app
        .patch(
            &b,
            &format!("/api/v1/molecules/{molecule}"),
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .patch(
            &b,
            &format!("/api/v1/mixtures/{mixture}"),
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Lists and searches do not include A's rows.
    let listed = app.get(&b, "/api/v1/molecules?q=Xylitol").await.json();
    assert!(listed.as_array().unwrap().is_empty());
    assert!(
        app.get(&b, "/api/v1/mixtures")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        app.get(&b, "/api/v1/experiments")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let sim = app
        .post(
            &b,
            "/api/v1/molecules/search/similarity",
            json!({"smiles": "OCC(O)C(O)C(O)CO", "threshold": 0.9}),
        )
        .await
        .json();
    assert!(sim.as_array().unwrap().is_empty(), "{sim}");
    let sub = app
        .post(
            &b,
            "/api/v1/molecules/search/substructure",
            json!({"smarts": XYLITOL_CHAIN}),
        )
        .await
        .json();
    assert!(sub.as_array().unwrap().is_empty(), "{sub}");
    // Nor build on them.
    let r = app
        .post(
            &b,
            "/api/v1/mixtures",
            json!({"name": "theft", "components": [
        {"molecule_id": molecule, "concentration": 1, "unit": "M"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            &b,
            "/api/v1/experiments",
            json!({"mixture_id": mixture, "property": "Melting Point", "value": 1.0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A still finds everything, by similarity and substructure too.
    let sim = app
        .post(
            &a,
            "/api/v1/molecules/search/similarity",
            json!({"smiles": "OCC(O)C(O)C(O)CO", "threshold": 0.9}),
        )
        .await
        .json();
    assert_eq!(sim[0]["similarity"], 1.0);
    assert_eq!(id_of(&sim[0]["molecule"]), molecule);
    // Paging: the second page of a low-threshold search continues where the first ended.
    let all = app
        .post(
            &a,
            "/api/v1/molecules/search/similarity",
            json!({"smiles": "OCC(O)CO", "threshold": 0.0, "limit": 500}),
        )
        .await
        .json();
    let second = app
        .post(
            &a,
            "/api/v1/molecules/search/similarity",
            json!({"smiles": "OCC(O)CO", "threshold": 0.0, "limit": 3, "offset": 3}),
        )
        .await
        .json();
    let ids = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| id_of(&h["molecule"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&second), ids(&all)[3..6].to_vec());
    let sub = app
        .post(
            &a,
            "/api/v1/molecules/search/substructure",
            json!({"smarts": XYLITOL_CHAIN}),
        )
        .await
        .json();
    assert_eq!(sub.as_array().unwrap().len(), 1, "{sub}");
    // Substructure over the reference set: glycerol, EG, PG and 1,3-propanediol all have C-C-O... diols.
    let diols = app
        .post(
            &b,
            "/api/v1/molecules/search/substructure",
            json!({"smarts": "[OX2H][CX4][CX4][OX2H]"}),
        )
        .await
        .json();
    let names: Vec<&str> = diols
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Glycerol")
            && names.contains(&"Ethylene glycol")
            && !names.contains(&"1,3-Propanediol"),
        "{names:?}"
    );
}
