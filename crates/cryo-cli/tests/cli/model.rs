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
    // The domain the predictions are judged by, with intervals recalibrated per bin.
    let bins = trained["domain"]["bins"].as_array().unwrap();
    assert_eq!(bins.len(), 3, "{bins:?}");
    let factor_of = |flag: &str| {
        let bin = bins.iter().find(|b| b["flag"] == flag).unwrap();
        bin["factor"].as_f64().unwrap()
    };
    // Each answer says where its molecule stands among the 642 training molecules.
    for good in [&rows[0], &rows[2]] {
        assert!(["in", "edge", "out"].contains(&&good[8]), "{good:?}");
        assert_eq!(
            good[11].parse::<f64>().unwrap(),
            factor_of(&good[8]),
            "{good:?}"
        );
        let similarity: f64 = good[9].parse().unwrap();
        assert!(
            (0.0..=1.0).contains(&similarity) && !good[10].is_empty(),
            "{good:?}"
        );
    }
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
    let lines: Vec<&str> = rejected.iter().map(|r| r["at"].as_str().unwrap()).collect();
    assert_eq!(lines, vec!["line 6", "line 10"], "{rejected:?}");
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

enum Subject {
    Molecule(uuid::Uuid),
    Mixture(uuid::Uuid),
}

/// Writes numeric experiments of one property type for one owner.
struct Measured {
    property: uuid::Uuid,
    owner: uuid::Uuid,
}

impl Measured {
    async fn insert(
        &self,
        tx: &mut sqlx::PgConnection,
        subject: Subject,
        value: f64,
        day: Option<time::Date>,
    ) {
        let (molecule, mixture) = match subject {
            Subject::Molecule(id) => (Some(id), None),
            Subject::Mixture(id) => (None, Some(id)),
        };
        sqlx::query(
            "INSERT INTO experiments (molecule_id, mixture_id, property_type_id, numeric_value, performed_on, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(molecule)
        .bind(mixture)
        .bind(self.property)
        .bind(value)
        .bind(day)
        .bind(self.owner)
        .execute(tx)
        .await
        .unwrap();
    }
}

/// Molecules, mixtures and experiments of one property type, written as the service role.
async fn seed_measurements(db: &cryo_testkit::TestDb) {
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let owner = cryo_db::repo::auth::create_user(&mut tx, "modeller@lab.example", "Modeller", "x")
        .await
        .unwrap()
        .unwrap()
        .id;
    let property: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO property_types (name, data_type, units) VALUES ('Test melting point', 'numeric', 'C') RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for a in 1..9 {
        for b in a..a + 5 {
            let smiles = format!("{}O{}", "C".repeat(a), "C".repeat(b));
            let id: uuid::Uuid = sqlx::query_scalar(
                "INSERT INTO molecules (canonical_smiles, molecular_weight, created_by) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(&smiles)
            .bind(14.0 * (a + b) as f64 + 18.0)
            .bind(owner)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            ids.push((id, (a + b) as f64));
        }
    }
    let record = Measured { property, owner };
    for (k, (id, carbons)) in ids.iter().enumerate() {
        let day = time::Date::from_julian_day(2_460_000 + k as i32).unwrap();
        record
            .insert(
                &mut tx,
                Subject::Molecule(*id),
                10.0 * carbons - 50.0,
                Some(day),
            )
            .await;
    }
    // A replicate of the first molecule.
    record
        .insert(&mut tx, Subject::Molecule(ids[0].0), -26.0, None)
        .await;
    // A mixture by mole fractions, and one by % v/v of liquids whose density is unknown, which
    // cannot be put on a molar basis and must be reported, not guessed.
    for (name, unit, fractions) in [
        ("blend", "mol_fraction", [0.25, 0.75]),
        ("by volume", "percent_v_v", [10.0, 20.0]),
    ] {
        let mixture: uuid::Uuid = sqlx::query_scalar(
            "INSERT INTO mixtures (name, created_by) VALUES ($1, $2) RETURNING id",
        )
        .bind(name)
        .bind(owner)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        for (molecule, fraction) in [(ids[0].0, fractions[0]), (ids[10].0, fractions[1])] {
            sqlx::query(
                "INSERT INTO mixture_components (mixture_id, molecule_id, concentration, concentration_unit)
                 VALUES ($1, $2, $3, $4::concentration_unit)",
            )
            .bind(mixture)
            .bind(molecule)
            .bind(fraction)
            .bind(unit)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        record
            .insert(&mut tx, Subject::Mixture(mixture), 12.0, None)
            .await;
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn experiments_in_the_database_become_one_training_table_of_molecules_and_mixtures() {
    let db = cryo_testkit::TestDb::new().await;
    seed_measurements(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let featurized = dir.path().join("table.csv");
    let out = cryoprotect()
        .env("DATABASE_URL", db.url())
        .args([
            "model",
            "featurize",
            "--property",
            "test MELTING point",
            "--features",
            "cryo20",
            "--folds",
            "3",
        ])
        .arg("--out")
        .arg(&featurized)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be reconciled"), "{stderr}");
    assert_eq!(stderr.matches("skipped").count(), 1, "{stderr}");
    let mut reader = csv::Reader::from_path(&featurized).unwrap();
    let headers = reader.headers().unwrap().clone();
    // id, target, fold, group + 20 features + component_count + concentration_spread.
    assert_eq!(headers.len(), 4 + 20 + 2);
    assert_eq!(&headers[headers.len() - 2], "component_count");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // 40 molecules (one with a replicate, merged) + 1 mixture.
    assert_eq!(rows.len(), 41);
    let first = rows.iter().find(|r| &r[0] == "COC").unwrap();
    assert_eq!(
        first[1].parse::<f64>().unwrap(),
        (-30.0 + -26.0) / 2.0,
        "replicates averaged"
    );
    let mixture = rows.iter().find(|r| r[0].starts_with("mixture:")).unwrap();
    assert_eq!(mixture[headers.len() - 2].parse::<f64>().unwrap(), 2.0);
    assert_eq!(
        mixture[headers.len() - 1].parse::<f64>().unwrap(),
        0.25,
        "spread of shares 0.25/0.75"
    );
    let molecular_weight = headers
        .iter()
        .position(|h| h == "molecular_weight")
        .unwrap();
    let mw = |smiles: &str| {
        rows.iter().find(|r| &r[0] == smiles).unwrap()[molecular_weight]
            .parse::<f64>()
            .unwrap()
    };
    let pooled = mixture[molecular_weight].parse::<f64>().unwrap();
    let expected = 0.25 * mw("COC") + 0.75 * mw("CCCOCCC"); // ids[10] is a = 3, b = 3
    assert!((pooled - expected).abs() < 1e-9, "{pooled} vs {expected}");

    let report = cryoprotect()
        .env("DATABASE_URL", db.url())
        .args([
            "model",
            "evaluate",
            "--property",
            "Test melting point",
            "--features",
            "cryo20",
            "--algorithm",
            "ridge",
            "--cv",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["dataset"]["rows"], 41);
    assert!(
        report["pooled"]["r2"].as_f64().unwrap() > 0.9,
        "{}",
        report["pooled"]
    );
}

#[test]
fn compare_scores_a_saved_model_only_on_rows_it_was_not_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(datasets().join("freesolv.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let train = dir.path().join("train.csv");
    std::fs::write(&train, lines[..401].join("\n")).unwrap(); // header + 400 molecules
    let model = dir.path().join("m.json");
    let trained = cryoprotect()
        .args([
            "model",
            "train",
            "--data",
            train.to_str().unwrap(),
            "--target",
            "expt",
            "--algorithm",
            "gbm",
        ])
        .args(["--out", model.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        trained.status.success(),
        "{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    let all = datasets().join("freesolv.csv");
    let report = run_json(&[
        "model",
        "compare",
        "--model",
        model.to_str().unwrap(),
        "--data",
        all.to_str().unwrap(),
        "--target",
        "expt",
        "--json",
    ]);
    assert_eq!(report["excluded_as_training_rows"], 400);
    assert_eq!(report["metrics"]["n"], 242);
    assert!(
        report["metrics"]["r2"].as_f64().unwrap() > 0.7,
        "{}",
        report["metrics"]
    );
    let coverage = report["metrics"]["coverage"].as_f64().unwrap();
    assert!(coverage > 0.8, "{coverage}");
    assert_eq!(report["largest_errors"].as_array().unwrap().len(), 5);
    // Comparing on the training file alone is refused rather than reported as validation.
    let out = cryoprotect()
        .args([
            "model",
            "compare",
            "--model",
            model.to_str().unwrap(),
            "--data",
            train.to_str().unwrap(),
            "--target",
            "expt",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to compare honestly"));
}

#[test]
fn evaluate_draws_its_report_as_charts() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let data = datasets().join("freesolv.csv");
    let out = cryoprotect()
        .args([
            "model",
            "evaluate",
            "--data",
            data.to_str().unwrap(),
            "--target",
            "expt",
            "--algorithm",
            "ridge",
            "--learning-curve",
        ])
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches("<circle").count(),
        642,
        "one point per held-out prediction"
    );
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "scatter and learning curve"
    );
    assert!(html.contains("<polyline") && html.contains("90% intervals"));
}

#[tokio::test]
async fn a_trained_file_is_imported_exported_identically_and_a_corrupted_file_is_refused() {
    let db = cryo_testkit::TestDb::new().await;
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    cryo_db::repo::auth::create_user(&mut tx, "modeller@lab.example", "Modeller", "x")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trained = dir.path().join("ridge.cpm");
    let data = datasets().join("freesolv.csv");
    let out = cryoprotect()
        .args([
            "model",
            "train",
            "--data",
            data.to_str().unwrap(),
            "--target",
            "expt",
        ])
        .args([
            "--algorithm",
            "ridge",
            "--conformal",
            "split",
            "--features",
            "cryo20",
        ])
        .args(["--out", trained.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let with_db = |args: &[&str]| {
        cryoprotect()
            .env("DATABASE_URL", db.url())
            .args(args)
            .output()
            .unwrap()
    };
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    // A corrupted file is refused before anything is written.
    let mut bytes = std::fs::read(&trained).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x40;
    let corrupted = dir.path().join("corrupted.cpm");
    std::fs::write(&corrupted, &bytes).unwrap();
    let refused = with_db(&[
        "model",
        "import",
        corrupted.to_str().unwrap(),
        "--owner",
        "modeller@lab.example",
        "--property",
        "Hydration Free Energy",
    ]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("checksum"), "{}", text(&refused));

    let imported = with_db(&[
        "model",
        "import",
        trained.to_str().unwrap(),
        "--owner",
        "modeller@lab.example",
        "--property",
        "Hydration Free Energy",
    ]);
    let said = text(&imported);
    assert!(imported.status.success(), "{said}");
    assert!(said.contains("as version 1 of model"), "{said}");
    let model_id = said
        .split("of model ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let mut tx = cryo_testkit::service_tx(&db.pool).await;
    let (versions, audit): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM model_versions), (SELECT count(*) FROM audit_log WHERE action = 'model.imported')",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((versions, audit), (1, 1), "only the good file was imported");

    let no_production = with_db(&[
        "model",
        "export",
        &model_id,
        dir.path().join("x.cpm").to_str().unwrap(),
    ]);
    assert!(!no_production.status.success());
    assert!(
        text(&no_production).contains("no production version"),
        "{}",
        text(&no_production)
    );

    let exported = dir.path().join("exported.cpm");
    let out = with_db(&[
        "model",
        "export",
        &model_id,
        exported.to_str().unwrap(),
        "--version",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let original = cryo_ml::Artefact::from_file_bytes(&std::fs::read(&trained).unwrap()).unwrap();
    let round_trip =
        cryo_ml::Artefact::from_file_bytes(&std::fs::read(&exported).unwrap()).unwrap();
    assert_eq!(round_trip.body, original.body);
    assert_eq!(
        round_trip.envelope.body.sha256,
        original.envelope.body.sha256
    );
    assert_eq!(
        serde_json::to_value(&round_trip.envelope).unwrap(),
        serde_json::to_value(&original.envelope).unwrap()
    );
    round_trip.open().unwrap();
}

#[test]
fn threads_size_the_pool_for_structure_input_and_do_not_change_the_result() {
    // Featurising structures used to start rayon's default pool before --threads could size it.
    let args = ["--algorithm", "ridge", "--conformal", "none", "--cv", "3"];
    let one = evaluate(
        "freesolv.csv",
        "expt",
        &[&args[..], &["--threads", "1"]].concat(),
    );
    let two = evaluate(
        "freesolv.csv",
        "expt",
        &[&args[..], &["--threads", "2"]].concat(),
    );
    assert!(one["pooled"]["rmse"].as_f64().unwrap() > 0.0, "{one}");
    assert_eq!(one["pooled"], two["pooled"]);
}

#[test]
fn classify_ranks_solubility_classes_and_its_prediction_sets_cover_at_their_level() {
    let sdf = datasets().join("solubility.train.sdf");
    let report = run_json(&[
        "model",
        "classify",
        "--data",
        sdf.to_str().unwrap(),
        "--target",
        "SOL_classification",
        "--algorithm",
        "logistic",
        "--json",
    ]);
    assert_eq!(
        report["classes"],
        serde_json::json!(["(A) low", "(B) medium", "(C) high"])
    );
    let pooled = &report["pooled"];
    assert_eq!(pooled["n"], 1021);
    // Three classes by chance: ROC-AUC 0.5, log loss ln 3 ≈ 1.10.
    assert!(pooled["roc_auc"].as_f64().unwrap() > 0.85, "{pooled}");
    assert!(pooled["log_loss"].as_f64().unwrap() < 0.8, "{pooled}");
    let sets = &report["sets"];
    let coverage = sets["coverage"].as_f64().unwrap();
    assert!((0.87..=0.93).contains(&coverage), "{sets}");
    for c in sets["per_class"].as_array().unwrap() {
        assert!(
            c.as_f64().unwrap() > 0.84,
            "class-conditional by default: {sets}"
        );
    }
    assert!(sets["mean_size"].as_f64().unwrap() < 2.0, "{sets}");
    assert!(report["reliability"].as_array().unwrap().len() > 3);
}

#[test]
fn class_labels_survive_featurize_and_disagreeing_replicates_are_left_out_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // A yes/no label from the hydration free energy; ethanol twice more, labelled both ways.
    let path = dir.path().join("labelled.csv");
    let mut reader = csv::Reader::from_path(datasets().join("freesolv.csv")).unwrap();
    let mut writer = csv::Writer::from_path(&path).unwrap();
    let mut header = reader.headers().unwrap().clone();
    let expt = header.iter().position(|h| h == "expt").unwrap();
    header.push_field("soluble");
    writer.write_record(&header).unwrap();
    for record in reader.records() {
        let mut record = record.unwrap();
        let v: f64 = record[expt].parse().unwrap();
        record.push_field(if v < -5.0 { "yes" } else { "no" });
        writer.write_record(&record).unwrap();
    }
    writer
        .write_record(["ethanol_a", "CCO", "-5.0", "0", "yes"])
        .unwrap();
    writer
        .write_record(["ethanol_b", "OCC", "-5.0", "0", "no"])
        .unwrap();
    writer.flush().unwrap();
    let table = dir.path().join("table.csv");
    let status = cryoprotect()
        .args(["model", "featurize", "--data", path.to_str().unwrap()])
        .args([
            "--target",
            "soluble",
            "--classes",
            "--out",
            table.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("structure CCO: skipped: replicates disagree on the class: no, yes"),
        "{stderr}"
    );
    let mut reader = csv::Reader::from_path(&table).unwrap();
    let labels: std::collections::BTreeSet<String> = reader
        .records()
        .map(|r| r.unwrap()[1].to_string())
        .collect();
    assert_eq!(labels, ["no", "yes"].map(String::from).into());
    let report = run_json(&[
        "model",
        "classify",
        "--data",
        table.to_str().unwrap(),
        "--matrix",
        "--target",
        "soluble",
        "--split",
        "predefined",
        "--algorithm",
        "gbm",
        "--calibration",
        "isotonic",
        "--json",
    ]);
    assert_eq!(report["classes"], serde_json::json!(["no", "yes"]));
    assert!(
        report["pooled"]["roc_auc"].as_f64().unwrap() > 0.8,
        "{}",
        report["pooled"]
    );
    // Two classes: one ROC curve, for the positive class, from (0,0) to (1,1).
    let roc = report["roc"].as_array().unwrap();
    assert_eq!(roc.len(), 1);
    assert_eq!(
        roc[0].as_array().unwrap().last().unwrap(),
        &serde_json::json!({"x": 1.0, "y": 1.0})
    );
}
