//! Mixture design through the API: compositions with history, physical properties, comparison
//! and the optimiser.

use crate::helpers::{Anon, Client, User, id_of, join_team, reference_molecule, register, seeded};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn create(app: &axum::Router, who: &User, body: Value) -> Value {
    let r = app.post(who, "/api/v1/mixtures", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

async fn tg_experiment(app: &axum::Router, who: &User, mixture: &str, extra: Value) -> Value {
    let mut body = json!({"mixture_id": mixture, "property": "Glass Transition Temperature",
                          "value": -120.0, "unit": "°C"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.post(who, "/api/v1/experiments", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

/// A seeded database, the app, Alice, and the ids of the named reference molecules.
async fn lab(names: &[&str]) -> (cryo_testkit::TestDb, axum::Router, User, Vec<String>) {
    let (db, app) = seeded().await;
    let alice = register(&app, "alice").await;
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        ids.push(reference_molecule(&app, name).await);
    }
    (db, app, alice, ids)
}

#[tokio::test]
async fn an_edit_makes_a_new_version_and_old_experiments_keep_theirs() {
    let (_db, app) = seeded().await;
    let (alice, erin, victor, bob) = (
        register(&app, "alice").await,
        register(&app, "erin").await,
        register(&app, "victor").await,
        register(&app, "bob").await,
    );
    let team = id_of(
        &app.post(&alice, "/api/v1/teams", json!({"name": "Lab"}))
            .await
            .json(),
    );
    join_team(&app, &alice, &team, &erin, "editor").await;
    join_team(&app, &alice, &team, &victor, "viewer").await;
    let project = id_of(
        &app.post(
            &alice,
            "/api/v1/projects",
            json!({"name": "VS", "team_id": team}),
        )
        .await
        .json(),
    );
    let dmso = reference_molecule(&app, "Dimethyl sulfoxide").await;
    let eg = reference_molecule(&app, "Ethylene glycol").await;
    let made = create(
        &app,
        &alice,
        json!({"name": "DMSO", "project_id": project,
               "components": [{"molecule_id": dmso, "concentration": 1, "unit": "M"}]}),
    )
    .await;
    assert_eq!(made["mixture"]["version"], 1);
    let id = id_of(&made["mixture"]);
    let first = tg_experiment(&app, &alice, &id, json!({})).await;
    assert_eq!(first["mixture_version"], 1, "{first}");

    // The editor saves version 2 from version 1.
    let uri = format!("/api/v1/mixtures/{id}/components");
    let v2 = json!({"base_version": 1, "note": "add EG",
        "components": [{"molecule_id": dmso, "concentration": 2, "unit": "M"},
                       {"molecule_id": eg, "concentration": 1, "unit": "M"}]});
    let r = app.put(&erin, &uri, v2.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["mixture"]["version"], 2);
    assert_eq!(r.json()["components"].as_array().unwrap().len(), 2);
    // An edit of the stale version 1 is refused, not silently applied.
    let r = app.put(&alice, &uri, v2).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // The viewer reads but cannot write; an outsider cannot even see it.
    let v3 = json!({"components": [{"molecule_id": dmso, "concentration": 3, "unit": "M"}]});
    let r = app.put(&victor, &uri, v3.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app.put(&bob, &uri, v3.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    for path in ["versions", "versions/1", "properties"] {
        let r = app
            .get(&bob, &format!("/api/v1/mixtures/{id}/{path}"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }

    // The first experiment still used version 1; new ones use 2 unless they name another.
    let again = app
        .get(&alice, &format!("/api/v1/experiments/{}", id_of(&first)))
        .await
        .json();
    assert_eq!(again["mixture_version"], 1, "{again}");
    let second = tg_experiment(&app, &alice, &id, json!({})).await;
    assert_eq!(second["mixture_version"], 2);
    let named = tg_experiment(&app, &alice, &id, json!({"mixture_version": 1})).await;
    assert_eq!(named["mixture_version"], 1);
    let r = app
        .post(
            &alice,
            "/api/v1/experiments",
            json!({"mixture_id": id, "property": "Glass Transition Temperature", "value": -120.0,
                   "unit": "°C", "mixture_version": 9}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "mixture_version");

    // History as the viewer sees it: newest first, with how many experiments used each.
    let versions = app
        .get(&victor, &format!("/api/v1/mixtures/{id}/versions"))
        .await
        .json();
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 1], "{versions}");
    // Counts are of the experiments the reader may see: Alice's are private to her.
    assert_eq!(versions[0]["experiments"], 0);
    let mine = app
        .get(&alice, &format!("/api/v1/mixtures/{id}/versions"))
        .await
        .json();
    assert_eq!(mine[0]["experiments"], 1);
    assert_eq!(mine[1]["experiments"], 2);
    assert_eq!(versions[0]["note"], "add EG");
    let old = app
        .get(&victor, &format!("/api/v1/mixtures/{id}/versions/1"))
        .await
        .json();
    assert_eq!(old["current"], false);
    assert_eq!(old["components"].as_array().unwrap().len(), 1);
    assert_eq!(f(&old["components"][0]["concentration"]), 1.0);

    // The viewer copies version 1 into a mixture of their own.
    let r = app
        .post(
            &victor,
            &format!("/api/v1/mixtures/{id}/copy"),
            json!({"version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let copy = r.json();
    assert_eq!(copy["mixture"]["name"], "DMSO (copy)");
    assert_eq!(copy["mixture"]["created_by"], json!(victor.id));
    assert_eq!(copy["mixture"]["version"], 1);
    assert_eq!(f(&copy["components"][0]["concentration"]), 1.0);
    // …and may edit their copy, not the original.
    let r = app
        .put(
            &victor,
            &format!("/api/v1/mixtures/{}/components", id_of(&copy["mixture"])),
            v3,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        app.get(&alice, &format!("/api/v1/mixtures/{id}"))
            .await
            .json()["mixture"]["version"],
        2
    );
}

#[tokio::test]
async fn physical_properties_come_with_their_sources_and_honour_overrides() {
    let (_db, app, alice, ids) = lab(&["Dimethyl sulfoxide", "Ethylene glycol", "Sucrose"]).await;
    let [dmso, eg, sucrose] = [&ids[0], &ids[1], &ids[2]];
    let made = create(
        &app,
        &alice,
        json!({"name": "DMSO/EG/sucrose", "components": [
            {"molecule_id": dmso, "concentration": 2, "unit": "M"},
            {"molecule_id": eg, "concentration": 2, "unit": "M"},
            {"molecule_id": sucrose, "concentration": 0.5, "unit": "M"}]}),
    )
    .await;
    let id = id_of(&made["mixture"]);
    let p = app
        .get(&alice, &format!("/api/v1/mixtures/{id}/properties"))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let p = p.json();
    // Recompute from what the response says it used: water = 1 L − Σ n·M/ρ, molality = n/water.
    let comps = p["components"].as_array().unwrap();
    let solute_ml: f64 = comps
        .iter()
        .map(|c| {
            f(&c["amounts"]["molarity"]) * f(&c["constants"]["molar_mass"])
                / f(&c["constants"]["density"])
        })
        .sum();
    let water_kg = (1000.0 - solute_ml) * 0.99705 / 1000.0;
    assert!((f(&p["water"]["kg_per_l"]) - water_kg).abs() < 1e-9, "{p}");
    let ideal: f64 = comps
        .iter()
        .map(|c| f(&c["amounts"]["molarity"]) / water_kg)
        .sum();
    assert!((f(&p["osmolality"]["ideal"]) - ideal).abs() < 1e-9);
    // About 7.07 osmol/kg ideal; DMSO's virial coefficient raises it.
    assert!((ideal - 7.07).abs() < 0.02, "{ideal}");
    assert!(f(&p["osmolality"]["virial"]) > ideal + 2.0, "{p}");
    // Sucrose's density and Gordon–Taylor constant come from the cited table (found by the
    // InChIKey RDKit computed for the seeded structure), DMSO's B from Prickett et al.
    let sources = |i: usize| comps[i]["sources"].to_string();
    assert!(sources(2).contains("Roos"), "{}", sources(2));
    assert!(sources(0).contains("Prickett"), "{}", sources(0));
    assert!(
        sources(0).contains("density: molecule record"),
        "{}",
        sources(0)
    );
    // DMSO and EG have no cited Tg: the original's table, labelled as uncited.
    assert!(sources(0).contains("Tg: the original's table (uncited)"));
    assert_eq!(p["glass_transition"]["method"], "mixed");
    let tg = f(&p["glass_transition"]["tg_celsius"]);
    assert!((-135.0..-100.0).contains(&tg), "{tg}");

    // With no Tg model in production, a Tg "prediction" is this same estimate, and says so.
    let r = app
        .post(
            &alice,
            "/api/v1/models/by-property/Glass%20Transition%20Temperature/predict",
            json!({"mixture_id": id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let estimate = &r.json()["reference_estimate"];
    assert!((f(&estimate["tg_celsius"]) - tg).abs() < 1e-9, "{estimate}");
    assert_eq!(estimate["components"][2]["source"], "gordon_taylor");
    assert!(
        estimate["note"]
            .as_str()
            .unwrap()
            .contains("mass fractions")
    );

    // Overrides replace what they name; the Tg follows Gordon–Taylor/Fox over mass fractions.
    let r = app
        .post(
            &alice,
            &format!("/api/v1/mixtures/{id}/properties"),
            json!({"overrides": [
                {"molecule_id": dmso, "tg_celsius": -123.15},
                {"molecule_id": eg, "tg_celsius": -118.15}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let o = r.json();
    let w: Vec<f64> = o["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| f(&c["amounts"]["mass_percent"]))
        .collect();
    let ww = f(&o["water"]["mass_percent"]);
    let (tgw, tgs) = (138.15, [150.0, 155.0, 335.15]);
    let k = [tgw / tgs[0], tgw / tgs[1], 1.0 / 4.7];
    let num = ww * tgw + (0..3).map(|i| w[i] * k[i] * tgs[i]).sum::<f64>();
    let den = ww + (0..3).map(|i| w[i] * k[i]).sum::<f64>();
    assert!(
        (f(&o["glass_transition"]["tg_k"]) - num / den).abs() < 1e-9,
        "{o}"
    );
    assert!(
        o["components"][0]["sources"]
            .to_string()
            .contains("Tg: your override")
    );
    for (body, field) in [
        (
            json!({"overrides": [{"molecule_id": dmso, "density": -1}]}),
            "overrides[0].density",
        ),
        (
            json!({"overrides": [{"molecule_id": dmso, "tg_celsius": -300}]}),
            "overrides[0].tg_celsius",
        ),
    ] {
        let r = app
            .post(&alice, &format!("/api/v1/mixtures/{id}/properties"), body)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.json()["error"]["details"]["field"], field);
    }

    // A user's molecule without a density: properties say which component needs one, and
    // % v/v is refused; once the user gives the density both work.
    let own = app
        .post(
            &alice,
            "/api/v1/molecules",
            json!({"smiles": "OCC(O)C(O)CO"}),
        )
        .await
        .json();
    let own = id_of(&own["molecule"]);
    let erythritol = create(
        &app,
        &alice,
        json!({"name": "E", "components": [{"molecule_id": own, "concentration": 1, "unit": "M"}]}),
    )
    .await;
    let e = id_of(&erythritol["mixture"]);
    let r = app
        .get(&alice, &format!("/api/v1/mixtures/{e}/properties"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "components[0]");
    assert!(r.text.contains("density"), "{}", r.text);
    let vv = json!({"name": "E v/v", "components": [{"molecule_id": own, "concentration": 5, "unit": "percent_v_v"}]});
    let r = app.post(&alice, "/api/v1/mixtures", vv.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = app
        .patch(
            &alice,
            &format!("/api/v1/molecules/{own}"),
            json!({"density_g_per_ml": 1.451}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .get(&alice, &format!("/api/v1/mixtures/{e}/properties"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    create(&app, &alice, vv).await;
    let r = app
        .patch(
            &alice,
            &format!("/api/v1/molecules/{own}"),
            json!({"density_g_per_ml": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "density_g_per_ml");

    // The cited table is public.
    let r = app.get(Anon, "/api/v1/mixtures/reference-solutes").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("CZMRCDWAGMRECN-UGDNZRGBSA-N"), "{}", r.text);
}

#[tokio::test]
async fn compare_and_optimise_within_every_constraint() {
    let names = [
        "Dimethyl sulfoxide",
        "Ethylene glycol",
        "Sucrose",
        "Glycerol",
    ];
    let (_db, app, alice, ids) = lab(&names).await;
    let [dmso, eg, sucrose, glycerol] = [&ids[0], &ids[1], &ids[2], &ids[3]];
    let a = create(
        &app,
        &alice,
        json!({"name": "A", "components": [
            {"molecule_id": dmso, "concentration": 20, "unit": "percent_w_v"},
            {"molecule_id": eg, "concentration": 20, "unit": "percent_w_v"},
            {"molecule_id": sucrose, "concentration": 10, "unit": "percent_w_v"},
            {"molecule_id": glycerol, "concentration": 10, "unit": "percent_w_v"}]}),
    )
    .await;
    let b = create(
        &app,
        &alice,
        json!({"name": "B", "components": [{"molecule_id": dmso, "concentration": 1.5, "unit": "M"}]}),
    )
    .await;
    let (a, b) = (id_of(&a["mixture"]), id_of(&b["mixture"]));
    let r = app
        .get(&alice, &format!("/api/v1/mixtures/compare?ids={a},{b}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let compared = r.json();
    assert_eq!(compared.as_array().unwrap().len(), 2);
    assert_eq!(compared[0]["mixture"]["name"], "A");
    assert!(compared[1]["physics"]["osmolality"]["ideal"].is_number());
    for (q, status) in [
        (a.to_string(), StatusCode::UNPROCESSABLE_ENTITY),
        (format!("{a},{a}"), StatusCode::UNPROCESSABLE_ENTITY),
        (format!("{a},nope"), StatusCode::UNPROCESSABLE_ENTITY),
        (
            format!("{a},{}", uuid::Uuid::new_v4()),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = app
            .get(&alice, &format!("/api/v1/mixtures/compare?ids={q}"))
            .await;
        assert_eq!(r.status, status, "{q}: {}", r.text);
    }

    // Maximise the Tg of A: 60 % w/v in all, each component 5–30 %, osmolality ≤ 9, at most 3.
    let uri = format!("/api/v1/mixtures/{a}/optimise");
    let body = json!({"quantity": "tg", "goal": "maximise", "total": 60,
        "bounds": [{"molecule_id": dmso, "min": 0, "max": 30}, {"molecule_id": eg, "min": 0, "max": 30},
                   {"molecule_id": sucrose, "min": 5, "max": 30}, {"molecule_id": glycerol, "min": 0, "max": 30}],
        "max_osmolality": 9.0, "max_components": 3, "starts": 6, "proposals": 3});
    let r = app.post(&alice, &uri, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out = r.json();
    let best = &out["proposals"][0];
    assert_eq!(best["feasible"], true, "{out}");
    let parts = best["components"].as_array().unwrap();
    assert!(parts.len() <= 3, "{best}");
    let total: f64 = parts.iter().map(|c| f(&c["concentration"])).sum();
    assert!((total - 60.0).abs() < 1e-6, "{total}");
    for c in parts {
        let v = f(&c["concentration"]);
        assert!(v <= 30.0 + 1e-6, "{c}");
        if c["molecule_id"] == json!(sucrose) {
            assert!(v >= 5.0 - 1e-6, "{c}");
        }
    }
    assert!(parts.iter().any(|c| c["molecule_id"] == json!(sucrose)));
    assert!(f(&best["osmolality"]) <= 9.0 + 1e-4, "{best}");
    assert!(
        f(&best["value"]) >= f(&out["current"]["value"]) - 1e-9,
        "the optimum is no worse than where it started: {out}"
    );
    assert!(best["constraints"].to_string().contains("osmolality"));

    for (change, field) in [
        (
            json!({"bounds": [{"molecule_id": dmso, "min": 10, "max": 5}]}),
            "bounds[0]",
        ),
        (json!({"starts": 0}), "starts"),
        (json!({"quantity": "model"}), "model_id"),
        (json!({"goal": "target"}), "target"),
        (json!({"max_components": 9}), "max_components"),
        (json!({"total": 1000}), "total"),
        (json!({"max_osmolality": -1}), "max_osmolality"),
    ] {
        let mut b = body.clone();
        for (k, v) in change.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = app.post(&alice, &uri, b).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(r.json()["error"]["details"]["field"], field, "{}", r.text);
    }
    // The same as server-sent events: a progress event per start, then the result.
    let r = app
        .post(&alice, &format!("{uri}/events"), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events: Vec<&str> = r
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "progress").count(),
        6,
        "{}",
        r.text
    );
    assert_eq!(events.last(), Some(&"result"), "{}", r.text);
    assert!(
        r.text.contains(r#"data: {"done":6,"total":6}"#),
        "{}",
        r.text
    );
    let mut bad = body.clone();
    bad["starts"] = json!(0);
    let r = app.post(&alice, &format!("{uri}/events"), bad).await;
    let events: Vec<&str> = r
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events, vec!["error"], "{}", r.text);
    assert!(
        r.text.contains(r#""status":422"#) && r.text.contains(r#""field":"starts""#),
        "{}",
        r.text
    );

    // A total needs one unit across components.
    let c = create(
        &app,
        &alice,
        json!({"name": "C", "components": [
            {"molecule_id": dmso, "concentration": 1, "unit": "M"},
            {"molecule_id": eg, "concentration": 10, "unit": "percent_w_v"}]}),
    )
    .await;
    let r = app
        .post(
            &alice,
            &format!("/api/v1/mixtures/{}/optimise", id_of(&c["mixture"])),
            json!({"quantity": "score", "total": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "total");
    let _ = b;
}

#[tokio::test]
async fn recommendations_rank_molecules_by_the_improvement_they_bring() {
    let (_db, app, alice, ids) = lab(&["Dimethyl sulfoxide", "Ethylene glycol"]).await;
    let [dmso, eg] = [&ids[0], &ids[1]];
    let made = create(
        &app,
        &alice,
        json!({"name": "D", "components": [{"molecule_id": dmso, "concentration": 20, "unit": "percent_w_v"}]}),
    )
    .await;
    let id = id_of(&made["mixture"]);
    let uri = format!("/api/v1/mixtures/{id}/recommend");
    let r = app
        .post(
            &alice,
            &uri,
            json!({"quantity": "tg", "goal": "maximise", "limit": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out = r.json();
    let recs = out["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 5, "{out}");
    assert!(out["considered"].as_u64().unwrap() >= 10, "{out}");
    // Ranked by improvement, best first, none of them already a component.
    let gains: Vec<f64> = recs.iter().map(|r| f(&r["improvement"])).collect();
    assert!(gains.windows(2).all(|w| w[0] >= w[1]), "{gains:?}");
    assert!(gains[0] > 0.0, "{out}");
    assert!(recs.iter().all(|r| r["molecule_id"] != json!(dmso)));
    // A sugar raises the Tg most (Tg far above the glycols'); each value is the Tg with it added.
    let names: Vec<&str> = recs.iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(
        names[..2]
            .iter()
            .any(|n| *n == "Sucrose" || *n == "Trehalose"),
        "{names:?}"
    );
    for r in recs {
        assert!(
            (f(&r["value"]) - f(&out["current"]) - f(&r["improvement"])).abs() < 1e-9,
            "{r}"
        );
    }
    // Filters: dissimilar to DMSO, alert-free, an osmolality ceiling and an explicit list.
    let r = app
        .post(
            &alice,
            &uri,
            json!({"quantity": "tg", "max_similarity": 0.2, "alert_free": true, "max_osmolality": 4.0, "limit": 50}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for rec in r.json()["recommendations"].as_array().unwrap() {
        assert!(f(&rec["similarity"]) <= 0.2, "{rec}");
        assert_eq!(rec["alerts"], 0, "{rec}");
        assert!(f(&rec["osmolality"]) <= 4.0, "{rec}");
    }
    let r = app
        .post(
            &alice,
            &uri,
            json!({"quantity": "score", "candidates": [eg], "amounts": [5, 10]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let only = r.json();
    assert_eq!(only["considered"], 1);
    assert_eq!(only["recommendations"][0]["molecule_id"], json!(eg));
    assert!([5.0, 10.0].contains(&f(&only["recommendations"][0]["amount"])));
    for (body, field) in [
        (
            json!({"quantity": "tg", "max_similarity": 2}),
            "max_similarity",
        ),
        (json!({"quantity": "tg", "limit": 0}), "limit"),
        (json!({"quantity": "tg", "amounts": [101]}), "amounts"),
        (json!({"quantity": "tg", "unit": "%"}), "unit"),
        (json!({"quantity": "tg", "candidates": []}), "candidates"),
        (json!({"quantity": "model"}), "model_id"),
    ] {
        let r = app.post(&alice, &uri, body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(r.json()["error"]["details"]["field"], field);
    }
    // No component has toxicity data: a toxicity ceiling cannot be honoured, and says so.
    let r = app
        .post(
            &alice,
            &format!("/api/v1/mixtures/{id}/optimise"),
            json!({"quantity": "tg", "max_toxicity": 10}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "max_toxicity");
}

#[tokio::test]
async fn the_originals_property_models_weight_stored_values_by_molar_share() {
    let (_db, app, alice, ids) = lab(&["Dimethyl sulfoxide", "Ethylene glycol"]).await;
    let [dmso, eg] = [&ids[0], &ids[1]];
    let made = create(
        &app,
        &alice,
        json!({"name": "DE", "components": [
            {"molecule_id": dmso, "concentration": 1, "unit": "M"},
            {"molecule_id": eg, "concentration": 3, "unit": "M"}]}),
    )
    .await;
    let id = id_of(&made["mixture"]);
    let get = |model: &str| {
        let uri = format!(
            "/api/v1/mixtures/{id}/property-model?property=Molecular%20Weight&model={model}"
        );
        let app = app.clone();
        let token = alice.token.clone();
        async move { crate::helpers::call(&app, "GET", &uri, Some(&token), None).await }
    };
    let r = get("weighted_average").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let w = r.json();
    let c = w["components"].as_array().unwrap();
    assert!((f(&c[0]["molar_share"]) - 0.25).abs() < 1e-12, "{w}");
    let base = 0.25 * f(&c[0]["value"]) + 0.75 * f(&c[1]["value"]);
    assert!((f(&w["value"]) - base).abs() < 1e-9, "{w}");
    assert!(
        (f(&c[0]["value"]) - 78.13).abs() < 0.1,
        "DMSO's stored MW: {w}"
    );
    let d = f(&w["dissimilarity"][0][1]);
    assert!(
        d > 0.0 && d <= 1.0 && f(&w["dissimilarity"][0][0]).abs() < 1e-12,
        "{w}"
    );
    let q = get("quadratic").await.json();
    assert!(
        (f(&q["value"]) - base * (1.0 + 0.2 * d * 0.25 * 0.75)).abs() < 1e-9,
        "{q}"
    );
    let l = get("logarithmic").await.json();
    assert!((f(&l["value"]) - base * (1.0 + 0.2 * d * (1.0 + 10.0 * 0.1875f64).ln())).abs() < 1e-9);
    let r = crate::helpers::call(
        &app,
        "GET",
        &format!("/api/v1/mixtures/{id}/property-model?property=Coolness"),
        Some(&alice.token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["error"]["details"]["field"], "property");
}
