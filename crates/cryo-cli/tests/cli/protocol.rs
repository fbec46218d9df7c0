//! `cryoprotect protocol simulate|design|fit`: protocol files in, volume excursions, designed
//! steps and fitted parameters out.

use crate::cryoprotect;

fn cell() -> serde_json::Value {
    serde_json::json!({
        "isotonic_volume_um3": 2000.0, "area_um2": 800.0, "inactive_fraction": 0.3,
        "lp_um_per_min_atm": 0.2, "lp_activation_j_per_mol": 50000.0,
        "reference_temperature_k": 295.15, "isotonic_osmolality": 0.3,
        "permeants": [{ "name": "DMSO", "ps_um_per_min": 0.5, "ps_activation_j_per_mol": 60000.0,
                        "partial_molar_volume_l_per_mol": 0.071 }]
    })
}

fn file(content: serde_json::Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("protocol-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, content.to_string()).unwrap();
    path
}

fn protocol(steps: serde_json::Value) -> std::path::PathBuf {
    file(serde_json::json!({ "cell": cell(), "steps": steps }))
}

/// `cryoprotect protocol ARGS FILE`.
fn run(args: &[&str], file: &std::path::Path) -> std::process::Output {
    cryoprotect()
        .arg("protocol")
        .args(args)
        .arg(file)
        .output()
        .unwrap()
}

/// The JSON a successful run printed.
fn succeeded(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(out)
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn every_designer_is_judged_by_the_simulator_and_the_optimal_one_is_least_toxic() {
    let problem = file(serde_json::json!({
        "cell": cell(), "direction": "loading", "target": [2.0], "temperature_k": 295.15,
        "sample_type": "cell_line"
    }));
    let out = run(&["design", "--designer", "all", "--json"], &problem);
    // The cell line profile's three equal steps shrink this cell below 0.7 × isotonic: the
    // stepwise design is reported as breaking the limits, and the command says so by its exit.
    assert!(!out.status.success());
    let designs = json_of(&out);
    let by = |name: &str| {
        designs
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["designer"] == name)
            .unwrap_or_else(|| panic!("no {name} in {designs}"))
            .clone()
    };
    let stepwise = by("stepwise");
    assert_eq!(stepwise["steps"].as_array().unwrap().len(), 3);
    assert!(!stepwise["violations"].as_array().unwrap().is_empty());
    for name in ["fewest_steps", "toxicity_optimal", "shortest_time"] {
        let d = by(name);
        assert!(d["violations"].as_array().unwrap().is_empty(), "{d}");
        assert_eq!(d["reached_endpoint"], true, "{d}");
        assert!(d["min_relative_volume"].as_f64().unwrap() >= 0.7 - 1e-6);
        assert!(d["max_relative_volume"].as_f64().unwrap() <= 1.3 + 1e-6);
        assert!(d.get("trajectory").is_none());
    }
    let cost = |d: &serde_json::Value| d["toxicity_cost"].as_f64().unwrap();
    assert!(cost(&by("toxicity_optimal")) < cost(&by("fewest_steps")));
    let time = |d: &serde_json::Value| d["total_time_min"].as_f64().unwrap();
    assert!(time(&by("shortest_time")) <= time(&by("fewest_steps")));

    // The designed steps, simulated again by `protocol simulate`, keep the limits.
    let steps = by("toxicity_optimal")["steps"].clone();
    let v = succeeded(&run(
        &["simulate", "--json", "--rtol", "1e-8"],
        &protocol(steps),
    ));
    assert!(
        v["min_relative_volume"].as_f64().unwrap() >= 0.7 - 1e-5,
        "{v}"
    );
    assert!(
        v["max_relative_volume"].as_f64().unwrap() <= 1.3 + 1e-5,
        "{v}"
    );

    // The printable table, and a bad field named.
    let table = run(&["design", "--designer", "fewest-steps"], &problem);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("DMSO (osmol/L)") && text.contains("within the limits"),
        "{text}"
    );
    let bad = file(serde_json::json!({
        "cell": cell(), "direction": "loading", "target": [2.0], "temperature_k": 295.15,
        "limits": { "min_relative_volume": 1.1, "max_relative_volume": 1.3 }
    }));
    let out = run(&["design"], &bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("limits"));
    for f in [problem, bad] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn fit_recovers_the_parameters_a_curve_was_simulated_with() {
    // A curve from `protocol simulate` with the true cell, fitted from a wrong first guess.
    let steps = serde_json::json!([
        { "medium": { "nonpermeating_osmolality": 0.3, "permeating": [1.4] },
          "duration_min": 15.0, "start_temperature_k": 295.15 }
    ]);
    let simulated = run(
        &["simulate", "--json", "--rtol", "1e-10", "--atol", "1e-12"],
        &protocol(steps.clone()),
    );
    let t = succeeded(&simulated)["trajectory"].clone();
    let observations: Vec<serde_json::Value> = t["t_min"]
        .as_array()
        .unwrap()
        .iter()
        .zip(t["volume_um3"].as_array().unwrap())
        .skip(1)
        .map(|(t, v)| serde_json::json!({ "t_min": t, "relative_volume": v.as_f64().unwrap() / 2000.0 }))
        .collect();
    assert!(observations.len() > 10);
    let mut guess = cell();
    guess["lp_um_per_min_atm"] = serde_json::json!(0.1);
    guess["permeants"][0]["ps_um_per_min"] = serde_json::json!(1.0);
    let request = file(serde_json::json!({
        "cell": guess, "steps": steps, "observations": observations,
        "parameters": ["lp", "ps:DMSO"]
    }));
    let fit = succeeded(&run(&["fit", "--json"], &request));
    for (e, want) in fit["estimates"].as_array().unwrap().iter().zip([0.2, 0.5]) {
        let value = e["value"].as_f64().unwrap();
        assert!((value - want).abs() < 1e-4 * want, "{e}");
    }
    let _ = std::fs::remove_file(request);
}

#[test]
fn a_hypertonic_step_settles_where_boyle_van_t_hoff_says_and_bad_input_is_named() {
    let file = protocol(serde_json::json!([
        { "medium": { "nonpermeating_osmolality": 0.6, "permeating": [0.0] },
          "duration_min": 60.0, "start_temperature_k": 295.15 }
    ]));
    let v = succeeded(&run(&["simulate", "--json", "--rtol", "1e-9"], &file));
    // Vb + (V0 − Vb)/2 with Vb = 0.3 V0: 0.65 V0.
    let last = v["final_relative_volume"].as_f64().unwrap();
    assert!((last - 0.65).abs() < 1e-6, "{v}");
    assert_eq!(
        v["trajectory"]["t_min"].as_array().unwrap().len(),
        v["integration_steps"].as_u64().unwrap() as usize + 1
    );
    let bad = protocol(serde_json::json!([
        { "medium": { "nonpermeating_osmolality": 0.3, "permeating": [] },
          "duration_min": 1.0, "start_temperature_k": 295.15 }
    ]));
    let out = run(&["simulate"], &bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("steps[0].medium.permeating"), "{err}");
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(bad);
}
