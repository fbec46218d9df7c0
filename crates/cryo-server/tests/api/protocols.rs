//! Protocols through the API: simulate, design and fit as computations; saved protocols kept per
//! mixture with the server's own simulation, visible to their owner only (row-level security).

use crate::helpers::{
    Anon, Client, User, assert_error_shape, id_of, reference_molecule, register, seeded,
};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn cell() -> Value {
    json!({
        "isotonic_volume_um3": 2000.0, "area_um2": 800.0, "inactive_fraction": 0.3,
        "lp_um_per_min_atm": 0.2, "lp_activation_j_per_mol": 50000.0,
        "reference_temperature_k": 295.15, "isotonic_osmolality": 0.3,
        "permeants": [{ "name": "DMSO", "ps_um_per_min": 0.5, "ps_activation_j_per_mol": 60000.0,
                        "partial_molar_volume_l_per_mol": 0.071 }]
    })
}

fn problem() -> Value {
    json!({ "cell": cell(), "direction": "loading", "target": [2.0], "temperature_k": 295.15,
            "sample_type": "cell_line" })
}

async fn mixture(app: &axum::Router, who: &User) -> String {
    let dmso = reference_molecule(app, "Dimethyl sulfoxide").await;
    let r = app
        .post(
            who,
            "/api/v1/mixtures",
            json!({"name": "2 M DMSO", "components": [
                {"molecule_id": dmso, "concentration": 2, "unit": "M"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    id_of(&r.json()["mixture"])
}

#[tokio::test]
async fn designs_are_simulated_and_the_optimal_one_costs_least() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    let mut body = problem();
    body["designer"] = json!("all");
    let r = app.post(&a, "/api/v1/protocols/design", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let designs = r.json();
    let by = |name: &str| {
        designs
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["designer"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    // The original's three equal steps break the cell line's limits; the others keep them.
    assert!(!by("stepwise")["violations"].as_array().unwrap().is_empty());
    let cost = |d: &Value| d["toxicity_cost"].as_f64().unwrap();
    for name in ["fewest_steps", "toxicity_optimal", "shortest_time"] {
        let d = by(name);
        assert!(
            d["violations"].as_array().unwrap().is_empty(),
            "{name}: {d}"
        );
        assert_eq!(d["reached_endpoint"], true);
        assert!(d["trajectory"]["t_min"].as_array().unwrap().len() > 10);
    }
    assert!(cost(&by("toxicity_optimal")) < cost(&by("fewest_steps")));

    // Anonymous callers are not given the compute pool.
    let r = app.post(Anon, "/api/v1/protocols/design", body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Bad input names its field.
    let mut bad = problem();
    bad["limits"] = json!({"min_relative_volume": 1.2, "max_relative_volume": 1.3});
    let r = app.post(&a, "/api/v1/protocols/design", bad).await;
    let e = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(e["error"]["details"]["field"], "limits");
    let mut bad = problem();
    bad["cell"]["lp_um_per_min_atm"] = json!(1e300);
    let r = app.post(&a, "/api/v1/protocols/design", bad).await;
    let e = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(e["error"]["details"]["field"], "lp_um_per_min_atm");
}

#[tokio::test]
async fn simulate_and_fit_answer_the_physics() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    // A step to twice isotonic settles at Vb + (V0 − Vb)/2 = 0.65 V0.
    let steps = json!([{ "medium": { "nonpermeating_osmolality": 0.6, "permeating": [0.0] },
                         "duration_min": 60.0, "start_temperature_k": 295.15 }]);
    let r = app
        .post(
            &a,
            "/api/v1/protocols/simulate",
            json!({"cell": cell(), "steps": steps}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = r.json();
    let last = t["volume_um3"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_f64()
        .unwrap();
    assert!((last / 2000.0 - 0.65).abs() < 1e-4, "{last}");

    // Fit Lp back from a curve simulated with it.
    let steps = json!([{ "medium": { "nonpermeating_osmolality": 0.3, "permeating": [1.4] },
                         "duration_min": 15.0, "start_temperature_k": 295.15 }]);
    let t = app
        .post(
            &a,
            "/api/v1/protocols/simulate",
            json!({"cell": cell(), "steps": steps}),
        )
        .await
        .json();
    let observations: Vec<Value> = t["t_min"]
        .as_array()
        .unwrap()
        .iter()
        .zip(t["volume_um3"].as_array().unwrap())
        .skip(1)
        .map(|(t, v)| json!({"t_min": t, "relative_volume": v.as_f64().unwrap() / 2000.0}))
        .collect();
    let mut guess = cell();
    guess["lp_um_per_min_atm"] = json!(0.1);
    let r = app
        .post(
            &a,
            "/api/v1/protocols/fit",
            json!({"cell": guess, "steps": steps, "observations": observations, "parameters": ["lp"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lp = r.json()["estimates"][0]["value"].as_f64().unwrap();
    assert!((lp - 0.2).abs() < 1e-3, "{lp}");
}

#[tokio::test]
async fn saved_protocols_carry_the_servers_simulation_and_stay_their_owners() {
    let (_db, app) = seeded().await;
    let a = register(&app, "alice").await;
    let b = register(&app, "bob").await;
    let mix = mixture(&app, &a).await;
    let mut body = problem();
    body["designer"] = json!("fewest_steps");
    let design = app.post(&a, "/api/v1/protocols/design", body).await.json()[0].clone();
    let steps = design["steps"].clone();

    // The client's claims about the steps are not taken: the server simulates them.
    let save = |steps: Value, name: &str, designer: &str| {
        json!({"mixture_id": mix, "name": name, "design": problem(), "steps": steps,
               "designer": designer})
    };
    let r = app
        .post(
            &a,
            "/api/v1/protocols",
            save(steps.clone(), "greedy", "fewest_steps"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let saved = r.json();
    let good = id_of(&saved["protocol"]);
    assert_eq!(saved["protocol"]["within_limits"], true);
    assert_eq!(saved["protocol"]["designer"], "fewest_steps");
    let time = saved["protocol"]["total_time_min"].as_f64().unwrap();
    assert!((time - design["total_time_min"].as_f64().unwrap()).abs() < 1e-6);

    // A blank name is refused by field before anything is simulated or written.
    let r = app
        .post(&a, "/api/v1/protocols", save(steps.clone(), "  ", "manual"))
        .await;
    let e = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(e["error"]["details"]["field"], "name");

    // One jump to 2 M: saved, and recorded as breaking the limits.
    let jump = json!([{ "medium": { "nonpermeating_osmolality": 0.3, "permeating": [2.0] },
                        "duration_min": 30.0, "start_temperature_k": 295.15 }]);
    let r = app
        .post(&a, "/api/v1/protocols", save(jump, "jump", "manual"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bad = r.json();
    assert_eq!(bad["protocol"]["within_limits"], false);
    assert!(bad["protocol"]["min_relative_volume"].as_f64().unwrap() < 0.7);
    let bad = id_of(&bad["protocol"]);

    // Listed per mixture, read with curves, compared.
    let list = app
        .get(&a, &format!("/api/v1/protocols?mixture_id={mix}"))
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let detail = app.get(&a, &format!("/api/v1/protocols/{good}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert!(
        detail.json()["simulation"]["trajectory"]["volume_um3"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );
    let r = app
        .post(&a, "/api/v1/protocols/compare", json!({"ids": [good, bad]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let both = r.json();
    assert_eq!(both[0]["protocol"]["id"], json!(good));
    assert_eq!(
        both[1]["simulation"]["violations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A measurement records the protocol it followed, and is listed by it.
    let r = app
        .post(
            &a,
            "/api/v1/experiments",
            json!({"mixture_id": mix, "property": "Glass Transition Temperature", "value": -120.0,
                   "protocol_id": good}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let followed = app
        .get(&a, &format!("/api/v1/experiments?protocol_id={good}"))
        .await
        .json();
    assert_eq!(followed.as_array().unwrap().len(), 1);
    assert_eq!(followed[0]["protocol_id"], json!(good));
    let none = app
        .get(&a, &format!("/api/v1/experiments?protocol_id={bad}"))
        .await
        .json();
    assert!(none.as_array().unwrap().is_empty());
    let bobs = app
        .get(&b, &format!("/api/v1/experiments?protocol_id={good}"))
        .await
        .json();
    assert!(bobs.as_array().unwrap().is_empty());

    // Bob sees none of it, cannot compare it, delete it or save onto Alice's mixture.
    assert!(
        app.get(&b, "/api/v1/protocols")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get(&b, &format!("/api/v1/protocols/{good}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&b, "/api/v1/protocols/compare", json!({"ids": [good, bad]}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&b, &format!("/api/v1/protocols/{good}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = app
        .post(&b, "/api/v1/protocols", save(steps, "mine", "manual"))
        .await;
    let e = assert_error_shape(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(e["error"]["details"]["field"], "mixture_id");

    // Alice deletes hers.
    assert_eq!(
        app.delete(&a, &format!("/api/v1/protocols/{bad}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&a, "/api/v1/protocols")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
