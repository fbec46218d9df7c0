//! `cryoprotect protocol simulate`: a protocol file in, the cell's volume excursions out.

use crate::cryoprotect;

fn protocol(steps: serde_json::Value) -> std::path::PathBuf {
    let cell = serde_json::json!({
        "isotonic_volume_um3": 2000.0, "area_um2": 800.0, "inactive_fraction": 0.3,
        "lp_um_per_min_atm": 0.2, "lp_activation_j_per_mol": 50000.0,
        "reference_temperature_k": 295.15, "isotonic_osmolality": 0.3,
        "permeants": [{ "name": "DMSO", "ps_um_per_min": 0.5, "ps_activation_j_per_mol": 60000.0,
                        "partial_molar_volume_l_per_mol": 0.071 }]
    });
    let path = std::env::temp_dir().join(format!("protocol-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &path,
        serde_json::json!({ "cell": cell, "steps": steps }).to_string(),
    )
    .unwrap();
    path
}

#[test]
fn a_hypertonic_step_settles_where_boyle_van_t_hoff_says_and_bad_input_is_named() {
    let file = protocol(serde_json::json!([
        { "medium": { "nonpermeating_osmolality": 0.6, "permeating": [0.0] },
          "duration_min": 60.0, "start_temperature_k": 295.15 }
    ]));
    let out = cryoprotect()
        .args(["protocol", "simulate", "--json", "--rtol", "1e-9"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    let out = cryoprotect()
        .args(["protocol", "simulate"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("steps[0].medium.permeating"), "{err}");
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(bad);
}
