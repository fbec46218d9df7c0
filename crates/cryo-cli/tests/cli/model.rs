//! `cryoprotect model`: honest validation, calibrated intervals and saved models, on the public
//! FreeSolv and Huuskonen solubility sets (fetched by scripts/fetch-datasets.sh).

use crate::cryoprotect;
use std::path::PathBuf;

fn datasets() -> PathBuf {
    let dir = std::env::var_os("CRYOPROTECT_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/public"));
    assert!(
        dir.join("freesolv.csv").exists() && dir.join("solubility.train.sdf").exists(),
        "public data sets missing in {}: run scripts/fetch-datasets.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = cryoprotect().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn evaluate(file: &str, target: &str, extra: &[&str]) -> serde_json::Value {
    let path = datasets().join(file);
    let mut args = vec![
        "model",
        "evaluate",
        "--data",
        path.to_str().unwrap(),
        "--target",
        target,
        "--json",
        "--seed",
        "42",
    ];
    args.extend_from_slice(extra);
    run_json(&args)
}

#[test]
fn ninety_percent_intervals_cover_87_to_93_percent_of_held_out_molecules() {
    let cases: &[(&str, &[&str])] = &[
        ("random_forest", &["--conformal", "cv-plus"]),
        ("random_forest", &["--conformal", "split"]),
        ("gradient_boosting", &["--conformal", "split"]),
        ("ridge", &["--conformal", "split"]),
    ];
    for (file, target) in [("freesolv.csv", "expt"), ("solubility.train.sdf", "SOL")] {
        for (algorithm, method) in cases {
            let mut extra = vec!["--algorithm", algorithm, "--level", "0.9"];
            extra.extend_from_slice(method);
            let report = evaluate(file, target, &extra);
            let coverage = report["pooled"]["coverage"].as_f64().unwrap();
            let width = report["pooled"]["mean_width"].as_f64().unwrap();
            assert!(
                (0.87..=0.93).contains(&coverage),
                "{file} {algorithm} {method:?}: coverage {coverage}"
            );
            assert!(width > 0.0 && width.is_finite());
            assert_eq!(report["level"].as_f64(), Some(0.9));
        }
    }
}

#[test]
fn shuffled_targets_give_no_skill_while_real_ones_do() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(datasets().join("freesolv.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let n = rows.len();
    let shuffled = dir.path().join("shuffled.csv");
    let mut w = csv::Writer::from_path(&shuffled).unwrap();
    w.write_record(["smiles", "expt"]).unwrap();
    for (i, r) in rows.iter().enumerate() {
        // A fixed permutation that pairs each molecule with an unrelated value.
        w.write_record([&r[1], &rows[(i * 389 + 17) % n][2]])
            .unwrap();
    }
    w.flush().unwrap();
    for algorithm in ["ridge", "random_forest", "gradient_boosting"] {
        let path = shuffled.to_str().unwrap();
        let bad = run_json(&[
            "model",
            "evaluate",
            "--data",
            path,
            "--target",
            "expt",
            "--algorithm",
            algorithm,
            "--conformal",
            "none",
            "--json",
        ]);
        let r2 = bad["pooled"]["r2"].as_f64().unwrap();
        assert!(
            r2 <= 0.05,
            "{algorithm}: R² {r2} on shuffled targets means leakage"
        );
        let good = evaluate(
            "freesolv.csv",
            "expt",
            &["--algorithm", algorithm, "--conformal", "none"],
        );
        assert!(
            good["pooled"]["r2"].as_f64().unwrap() > 0.8,
            "{algorithm}: {}",
            good["pooled"]
        );
    }
}

#[test]
fn train_saves_a_calibrated_model_that_predicts_new_structures_with_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("models/freesolv.json");
    let data = datasets().join("freesolv.csv");
    let trained = run_json(&[
        "model",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--target",
        "expt",
        "--algorithm",
        "gbm",
        "--search",
        "random",
        "--trials",
        "3",
        "--cv",
        "3",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(trained["dataset"]["rows"], 642);
    assert_eq!(trained["dataset"]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(trained["features"]["set"], "rdkit");
    assert_eq!(trained["search"].as_array().unwrap().len(), 3);
    assert!(trained["validation"]["pooled"]["rmse"].as_f64().unwrap() > 0.0);
    assert!(model.exists() && !model.with_extension("partial").exists());

    let input = dir.path().join("new.smi");
    std::fs::write(&input, "OCCO ethylene glycol\nC1CC1(\nCS(C)=O dmso\n").unwrap();
    let out = cryoprotect()
        .args([
            "model",
            "predict",
            "--model",
            model.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    for good in [&rows[0], &rows[2]] {
        let (p, lo, hi): (f64, f64, f64) = (
            good[3].parse().unwrap(),
            good[4].parse().unwrap(),
            good[5].parse().unwrap(),
        );
        assert!(lo < p && p < hi, "{good:?}");
    }
    assert_eq!(&rows[1][0], "2");
    assert!(
        !rows[1][7].is_empty(),
        "the bad line carries its error: {:?}",
        rows[1]
    );
    // Ethylene glycol is strongly hydrophilic: a hydration free energy well below zero.
    assert!(rows[0][3].parse::<f64>().unwrap() < -3.0, "{:?}", rows[0]);
}

#[test]
fn bad_rows_are_reported_by_line_and_the_rest_still_train() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(datasets().join("freesolv.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[5] = "broken,C1CC(,-1.0,0".into(); // line 6: unparsable SMILES
    lines[9] = "odd,CCO,not-a-number,0".into(); // line 10: bad target
    let path = dir.path().join("damaged.csv");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = cryoprotect()
        .args([
            "model",
            "evaluate",
            "--data",
            path.to_str().unwrap(),
            "--target",
            "expt",
            "--algorithm",
            "ridge",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected = report["dataset"]["rejected"].as_array().unwrap();
    let lines: Vec<u64> = rejected
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![6, 10], "{rejected:?}");
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .contains("not a number")
    );
    assert_eq!(report["dataset"]["rows"], 640);
}

#[test]
fn mistakes_in_the_command_are_named() {
    let data = datasets().join("freesolv.csv");
    let data = data.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--target", "dG"], "dG"),
        (&["--target", "expt", "--param", "n_tree=3"], "n_trees"),
        (&["--target", "expt", "--algorithm", "svm"], "random_forest"),
        (&["--target", "expt", "--split", "time"], "--time-column"),
        (&["--target", "expt", "--level", "1.5"], "--level"),
        (
            &[
                "--target",
                "expt",
                "--algorithm",
                "knn",
                "--features",
                "rdkit",
            ],
            "binary",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["model", "evaluate", "--data", data];
        all.extend_from_slice(args);
        let out = cryoprotect().args(&all).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn scaffold_split_and_fingerprint_knn_run_end_to_end() {
    let by_scaffold = evaluate(
        "solubility.train.sdf",
        "SOL",
        &[
            "--algorithm",
            "ridge",
            "--split",
            "scaffold",
            "--conformal",
            "none",
        ],
    );
    assert!(by_scaffold["splitter"].as_str().unwrap().contains("group"));
    assert_eq!(by_scaffold["pooled"]["n"], 1021);
    let knn = evaluate(
        "freesolv.csv",
        "expt",
        &[
            "--algorithm",
            "knn",
            "--features",
            "morgan",
            "--conformal",
            "none",
        ],
    );
    assert!(
        knn["pooled"]["r2"].as_f64().unwrap() > 0.3,
        "{}",
        knn["pooled"]
    );
}
