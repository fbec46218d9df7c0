//! Behaviour of the whole ML stack on synthetic data with a known signal.

use cryo_ml::interrupt::Stop;
use cryo_ml::{
    Algorithm, ConformalMethod, ConformalModel, CvOptions, Dataset, Regressor, Sample, Scale,
    SearchSpace, Spec, Splitter, Strategy, cross_validate, learning_curve, nested_cv, no_progress,
};

/// y = 3·x0 − 2·x1² + x2·x3 + noise, 8 features (4 irrelevant), deterministic pseudo-random.
fn synthetic(n: usize, shuffle_targets: bool) -> Dataset {
    let mut state = 0x1234_5678_u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    let mut samples: Vec<Sample> = (0..n)
        .map(|i| {
            let f: Vec<f64> = (0..8).map(|_| next()).collect();
            let target = 3.0 * f[0] - 2.0 * f[1] * f[1] + f[2] * f[3] + 0.3 * next();
            Sample {
                id: format!("m{i}"),
                features: f,
                target,
                group: Some(format!("g{}", i % 40)),
                time: Some(i as f64),
            }
        })
        .collect();
    if shuffle_targets {
        // A fixed derangement-like permutation: pairs targets with unrelated rows.
        let targets: Vec<f64> = samples.iter().map(|s| s.target).collect();
        for (i, s) in samples.iter_mut().enumerate() {
            s.target = targets[(i * 7919 + 13) % n];
        }
    }
    Dataset::from_samples((0..8).map(|j| format!("f{j}")).collect(), samples).unwrap()
}

fn quick(a: Algorithm) -> Spec {
    match a {
        Algorithm::Mlp => Spec::Mlp {
            hidden: vec![32],
            alpha: 1e-4,
            learning_rate: 1e-2,
            max_iter: 300,
            ensemble: 2,
        },
        Algorithm::Lasso => Spec::Lasso { alpha: 0.01 },
        Algorithm::ElasticNet => Spec::ElasticNet {
            alpha: 0.01,
            l1_ratio: 0.5,
        },
        other => other.default_spec(),
    }
}

const KFOLD: Splitter = Splitter::KFold { k: 5 };

#[test]
fn every_algorithm_learns_the_signal_and_none_learns_shuffled_targets() {
    let real = synthetic(400, false);
    let shuffled = synthetic(400, true);
    for a in Algorithm::ALL.into_iter().filter(|a| *a != Algorithm::Knn) {
        let spec = quick(a);
        let good =
            cross_validate(&real, &spec, &KFOLD, &CvOptions::default(), &no_progress).unwrap();
        let bad = cross_validate(
            &shuffled,
            &spec,
            &KFOLD,
            &CvOptions::default(),
            &no_progress,
        )
        .unwrap();
        // Linear models cannot represent the quadratic and product terms, so expect less of them.
        let floor = if spec.needs_scaling() && a != Algorithm::Mlp {
            0.6
        } else {
            0.75
        };
        assert!(
            good.pooled.r2 > floor,
            "{a}: R² {} on real targets",
            good.pooled.r2
        );
        assert!(
            bad.pooled.r2 <= 0.05,
            "{a}: R² {} on shuffled targets means leakage",
            bad.pooled.r2
        );
        assert_eq!(
            good.predictions.len(),
            400,
            "{a}: every row predicted exactly once"
        );
    }
}

#[test]
fn nested_search_on_shuffled_targets_finds_nothing() {
    let space = SearchSpace::default_for(Algorithm::Ridge);
    let inner = Splitter::KFold { k: 3 };
    let bad = nested_cv(
        &synthetic(200, true),
        &space,
        &Strategy::Grid,
        &KFOLD,
        &inner,
        &CvOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert!(
        bad.pooled.r2 <= 0.05,
        "nested R² {} on shuffled targets",
        bad.pooled.r2
    );
    let good = nested_cv(
        &synthetic(200, false),
        &space,
        &Strategy::Grid,
        &KFOLD,
        &inner,
        &CvOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert!(good.pooled.r2 > 0.5);
    assert!(good.folds.iter().all(|f| f.chosen.is_some()));
}

#[test]
fn conformal_intervals_cover_about_the_promised_share_of_held_out_rows() {
    let data = synthetic(600, false);
    for method in [
        ConformalMethod::Split {
            calibration_fraction: 0.2,
        },
        ConformalMethod::CvPlus { folds: 5 },
    ] {
        let options = CvOptions {
            seed: 3,
            conformal: Some((method.clone(), 0.9)),
            ..Default::default()
        };
        let report = cross_validate(
            &data,
            &quick(Algorithm::RandomForest),
            &KFOLD,
            &options,
            &no_progress,
        )
        .unwrap();
        let coverage = report.pooled.coverage.unwrap();
        assert!(
            (0.86..=0.95).contains(&coverage),
            "{method:?}: coverage {coverage}"
        );
        assert!(report.pooled.mean_width.unwrap() > 0.0);
        // A lower level gives narrower intervals from the same calibration.
        let options80 = CvOptions {
            seed: 3,
            conformal: Some((method.clone(), 0.8)),
            ..Default::default()
        };
        let narrower = cross_validate(
            &data,
            &quick(Algorithm::RandomForest),
            &KFOLD,
            &options80,
            &no_progress,
        )
        .unwrap();
        assert!(narrower.pooled.mean_width.unwrap() < report.pooled.mean_width.unwrap());
    }
}

#[test]
fn jackknife_plus_refuses_large_sets_and_works_on_small_ones() {
    let big = synthetic(600, false);
    let err = ConformalModel::fit(
        &Algorithm::Ridge.default_spec(),
        &big,
        &ConformalMethod::JackknifePlus,
        Scale::None,
        &KFOLD,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("cv-plus"), "{err}");
    let small = synthetic(60, false);
    let model = ConformalModel::fit(
        &Algorithm::Ridge.default_spec(),
        &small,
        &ConformalMethod::JackknifePlus,
        Scale::None,
        &KFOLD,
        0,
    )
    .unwrap();
    assert_eq!(model.calibration_size(), 60);
    let (pred, iv, _) = model.predict(&small.x, 0.9).unwrap();
    assert!(
        pred.iter()
            .zip(&iv)
            .all(|(p, i)| i.lower < *p && *p < i.upper)
    );
}

#[test]
fn results_are_identical_for_a_seed_whatever_the_thread_count() {
    let data = synthetic(300, false);
    let spec = Algorithm::RandomForest.default_spec();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                cross_validate(
                    &data,
                    &spec,
                    &KFOLD,
                    &CvOptions {
                        seed: 11,
                        conformal: None,
                        ..Default::default()
                    },
                    &no_progress,
                )
                .unwrap()
            })
    };
    let one: Vec<f64> = run(1).predictions.iter().map(|p| p.predicted).collect();
    let two: Vec<f64> = run(2).predictions.iter().map(|p| p.predicted).collect();
    assert_eq!(one, two);
    let other: Vec<f64> = cross_validate(
        &data,
        &spec,
        &KFOLD,
        &CvOptions {
            seed: 12,
            conformal: None,
            ..Default::default()
        },
        &no_progress,
    )
    .unwrap()
    .predictions
    .iter()
    .map(|p| p.predicted)
    .collect();
    assert_ne!(one, other, "a different seed must change the bootstrap");
}

#[test]
fn scaffold_and_time_splits_run_through_cross_validation() {
    let data = synthetic(300, false);
    let by_group = cross_validate(
        &data,
        &quick(Algorithm::Ridge),
        &Splitter::GroupKFold { k: 5 },
        &CvOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert_eq!(by_group.predictions.len(), 300);
    let by_time = cross_validate(
        &data,
        &quick(Algorithm::Ridge),
        &Splitter::Time { k: 4 },
        &CvOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert_eq!(by_time.folds.len(), 4);
    assert!(
        by_time
            .folds
            .windows(2)
            .all(|w| w[0].train_size < w[1].train_size)
    );
}

#[test]
fn learning_curve_improves_with_data_and_diagnosis_flags_an_overfit_tree() {
    let data = synthetic(300, false);
    let curve = learning_curve(
        &data,
        &quick(Algorithm::GradientBoosting),
        &KFOLD,
        0,
        &no_progress,
    )
    .unwrap();
    assert_eq!(curve.len(), 5);
    assert!(curve[4].validation_r2 > curve[0].validation_r2, "{curve:?}");
    // One deep tree with tiny leaves on noisy data memorises it.
    let noisy = synthetic(200, true);
    let memoriser = Spec::RandomForest {
        n_trees: 1,
        max_depth: 30,
        min_samples_leaf: 1,
        max_features: 1.0,
    };
    let report = cross_validate(
        &noisy,
        &memoriser,
        &KFOLD,
        &CvOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert_eq!(
        report.diagnosis.verdict,
        cryo_ml::Verdict::Overfitting,
        "{:?}",
        report.diagnosis
    );
}

#[test]
fn a_fitted_pipeline_survives_serialisation_with_identical_predictions() {
    let data = synthetic(200, false);
    for a in [
        Algorithm::Ridge,
        Algorithm::RandomForest,
        Algorithm::GradientBoosting,
        Algorithm::Mlp,
    ] {
        let mut p = cryo_ml::Pipeline::new(quick(a));
        p.fit(&data.x, &data.y, 5).unwrap();
        let back: cryo_ml::Pipeline =
            serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(
            p.predict(&data.x).unwrap(),
            back.predict(&data.x).unwrap(),
            "{a}"
        );
    }
}

#[test]
fn knn_on_fingerprint_bits_predicts_from_similar_rows() {
    // Two families of bit patterns with different targets.
    let samples = (0..60)
        .map(|i| {
            let family = i % 2;
            let features = (0..64)
                .map(|b| {
                    if (b % 2 == family) && (b * 7 + i) % 5 != 0 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            Sample {
                id: format!("m{i}"),
                features,
                target: family as f64 * 10.0,
                group: None,
                time: None,
            }
        })
        .collect();
    let data =
        Dataset::from_samples((0..64).map(|j| format!("bit{j}")).collect(), samples).unwrap();
    let report = cross_validate(
        &data,
        &Algorithm::Knn.default_spec(),
        &KFOLD,
        &CvOptions::default(),
        &no_progress,
    )
    .unwrap();
    assert!(report.pooled.rmse < 0.5, "{}", report.pooled.rmse);
}

fn plan(spec: Spec, search: Option<cryo_ml::SearchPlan>) -> cryo_ml::TrainPlan {
    cryo_ml::TrainPlan {
        spec,
        search,
        splitter: KFOLD,
        conformal: ConformalMethod::CvPlus { folds: 5 },
        scale: Scale::None,
        level: 0.9,
        seed: 11,
        learning_curve: false,
        scaffold_check: false,
    }
}

fn train_on(data: &Dataset, plan: &cryo_ml::TrainPlan) -> cryo_ml::TrainedModel {
    let signature = cryo_ml::FeatureSignature {
        set: "matrix".into(),
        version: "synthetic".into(),
        names: data.feature_names.clone(),
    };
    let input = cryo_ml::TrainInput {
        data,
        target: "y",
        features: &signature,
        source: "synthetic",
    };
    cryo_ml::train(&input, plan, &|_, _, _| {}, &Stop::never())
        .unwrap()
        .0
}

fn small_forest() -> Spec {
    Spec::RandomForest {
        n_trees: 8,
        max_depth: 6,
        min_samples_leaf: 2,
        max_features: 0.5,
    }
}

#[test]
fn a_sealed_model_opens_to_identical_predictions_and_a_flipped_byte_is_refused() {
    let data = synthetic(120, false);
    let model = train_on(&data, &plan(small_forest(), None));
    let sealed = model.seal("test", Some("alice")).unwrap();
    assert_eq!(sealed.envelope.kind, "random_forest");
    assert_eq!(sealed.envelope.features.names.len(), 8);
    assert_eq!(
        sealed.envelope.body.sha256,
        cryo_ml::sha256_hex(&sealed.body)
    );
    assert!(sealed.envelope.validation.is_some());
    let file = sealed.to_file_bytes().unwrap();
    let back = cryo_ml::Artefact::from_file_bytes(&file)
        .unwrap()
        .open()
        .unwrap();
    let (a, ai, _) = model.predict(&data.x, 0.8).unwrap();
    let (b, bi, _) = back.predict(&data.x, 0.8).unwrap();
    assert_eq!(a, b);
    assert_eq!(ai, bi);
    assert_eq!(back.dataset.ids, model.dataset.ids);

    let mut corrupt = sealed.clone();
    let middle = corrupt.body.len() / 2;
    corrupt.body[middle] ^= 0x01;
    assert!(matches!(
        corrupt.open(),
        Err(cryo_ml::MlError::Checksum { .. })
    ));
    assert!(cryo_ml::Artefact::from_file_bytes(&file[..10]).is_err());
    assert!(cryo_ml::Artefact::from_file_bytes(b"{\"format\": 1}").is_err());
}

#[test]
fn training_reports_every_stage_in_order_and_stops_when_cancelled() {
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;
    let data = synthetic(120, false);
    let searching = plan(
        Spec::Ridge { alpha: 1.0 },
        Some(cryo_ml::SearchPlan {
            strategy: Strategy::Grid,
            inner_folds: 3,
        }),
    );
    let seen = Mutex::new(Vec::new());
    let signature = cryo_ml::FeatureSignature {
        set: "matrix".into(),
        version: "synthetic".into(),
        names: data.feature_names.clone(),
    };
    let input = cryo_ml::TrainInput {
        data: &data,
        target: "y",
        features: &signature,
        source: "synthetic",
    };
    let record = |stage: cryo_ml::Stage, done: usize, total: usize| {
        seen.lock()
            .unwrap()
            .push(cryo_ml::overall_progress(&searching, stage, done, total));
    };
    let (model, report) = cryo_ml::train(&input, &searching, &record, &Stop::never()).unwrap();
    assert!(model.search.as_ref().is_some_and(|t| t.len() == 7));
    assert!(report.pooled.rmse.is_finite());
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.first().copied(), Some(0.0));
    assert_eq!(seen.last().copied(), Some(1.0));
    assert!(seen.iter().all(|p| (0.0..=1.0).contains(p)));

    // Cancelled after the first few fits: an error, not a model.
    let stop = Stop::never();
    let cancel = stop.cancel_flag().clone();
    let fits = std::sync::atomic::AtomicUsize::new(0);
    let count = |_: cryo_ml::Stage, _: usize, _: usize| {
        if fits.fetch_add(1, Ordering::SeqCst) == 3 {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    let result = cryo_ml::train(&input, &searching, &count, &stop);
    assert!(
        matches!(result, Err(cryo_ml::MlError::Cancelled)),
        "{:?}",
        result.err()
    );
    assert!(fits.load(Ordering::SeqCst) < 20, "it stopped early");
}

/// A model artefact committed to the repository must keep loading and predicting exactly as
/// when it was written: a change to the model types or the codec that breaks stored models
/// fails here, not in production. Regenerate only for a deliberate format change (and bump
/// ARTIFACT_FORMAT): `CRYOPROTECT_WRITE_GOLDEN=1 cargo test -p cryo-ml golden`.
#[test]
fn the_golden_artefact_still_loads_and_predicts_what_it_did() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let data = synthetic(120, false);
    let probe = data.x.select_rows(&(0..10).collect::<Vec<_>>());
    if std::env::var_os("CRYOPROTECT_WRITE_GOLDEN").is_some() {
        let model = train_on(&data, &plan(small_forest(), None));
        let bytes = model
            .seal("golden", Some("golden"))
            .unwrap()
            .to_file_bytes()
            .unwrap();
        std::fs::write(dir.join("forest-v1.cpm"), bytes).unwrap();
        let (points, intervals, _) = model.predict(&probe, 0.9).unwrap();
        let expected = serde_json::json!({ "points": points, "intervals": intervals });
        std::fs::write(
            dir.join("forest-v1.expected.json"),
            serde_json::to_string_pretty(&expected).unwrap(),
        )
        .unwrap();
    }
    let bytes = std::fs::read(dir.join("forest-v1.cpm")).unwrap();
    let model = cryo_ml::Artefact::from_file_bytes(&bytes)
        .unwrap()
        .open()
        .expect("the committed golden artefact loads");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("forest-v1.expected.json")).unwrap())
            .unwrap();
    let (points, intervals, _) = model.predict(&probe, 0.9).unwrap();
    assert_eq!(serde_json::json!(points), expected["points"]);
    assert_eq!(serde_json::json!(intervals), expected["intervals"]);
}

#[test]
fn an_envelope_with_undefined_statistics_survives_json() {
    // JSON (and PostgreSQL's jsonb) has no NaN or infinity: they become null and must read back.
    let data = synthetic(80, false);
    let mut sealed = train_on(&data, &plan(Spec::Ridge { alpha: 1.0 }, None))
        .seal("test", None)
        .unwrap();
    let validation = sealed.envelope.validation.as_mut().unwrap();
    validation.pooled.spearman = f64::NAN;
    validation.predictions[0].interval = Some(cryo_ml::Interval {
        lower: f64::NEG_INFINITY,
        upper: f64::INFINITY,
    });
    let stored = serde_json::to_value(&sealed.envelope).unwrap();
    assert!(stored["validation"]["pooled"]["spearman"].is_null());
    let envelope: cryo_ml::Envelope = serde_json::from_value(stored).unwrap();
    let back = envelope.validation.as_ref().unwrap();
    assert!(back.pooled.spearman.is_nan());
    assert!(back.predictions[0].interval.unwrap().upper.is_nan());
    let model = cryo_ml::Artefact {
        envelope,
        body: sealed.body.clone(),
    }
    .open()
    .unwrap();
    assert_eq!(model.dataset.rows, 80);
}

/// A stop (cancel or deadline) lands inside one long fit, between trees or rounds, not after it.
#[test]
fn a_stop_lands_inside_one_long_fit() {
    use cryo_core::deadline::Deadline;
    use std::time::{Duration, Instant};
    let data = synthetic(3000, false);
    for (name, spec) in [
        (
            "random_forest",
            Spec::RandomForest {
                n_trees: 5000,
                max_depth: 20,
                min_samples_leaf: 1,
                max_features: 1.0,
            },
        ),
        (
            "gradient_boosting",
            Spec::GradientBoosting {
                n_trees: 5000,
                learning_rate: 0.01,
                max_depth: 8,
                min_samples_leaf: 1,
                subsample: 1.0,
            },
        ),
    ] {
        // What the whole fit would cost, from a fit of 1/50 of its trees.
        let mut small = spec.clone();
        match &mut small {
            Spec::RandomForest { n_trees, .. } | Spec::GradientBoosting { n_trees, .. } => {
                *n_trees = 100
            }
            _ => unreachable!(),
        }
        let started = Instant::now();
        small.build().unwrap().fit(&data.x, &data.y, 1).unwrap();
        let whole = started.elapsed() * 50;

        let stop = Stop::new(
            Default::default(),
            Deadline::after(Duration::from_millis(100)),
        );
        let started = Instant::now();
        let result = cryo_ml::interrupt::run(&stop, || spec.build()?.fit(&data.x, &data.y, 1));
        let took = started.elapsed();
        assert!(
            matches!(result, Err(cryo_ml::MlError::DeadlineExceeded(_))),
            "{name}: {result:?}"
        );
        eprintln!("{name}: whole fit ≈ {whole:?}, stopped after {took:?}");
        assert!(
            took * 4 < whole,
            "{name}: stopped after {took:?} of ≈ {whole:?}"
        );
    }
}

#[test]
fn hyperparameters_beyond_the_bounds_are_refused_and_the_memory_estimate_bounds_the_model() {
    let rf = Algorithm::RandomForest.default_spec();
    let e = rf
        .with_param("n_trees", 3_000_000.into())
        .unwrap_err()
        .to_string();
    assert!(e.contains("n_trees") && e.contains("5000"), "{e}");
    let e = rf
        .with_param("max_depth", 300.into())
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_depth"), "{e}");
    let mlp = Algorithm::Mlp.default_spec();
    let e = mlp
        .with_param("hidden", serde_json::json!([100000]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("hidden"), "{e}");
    let e = mlp
        .with_param("max_iter", 10_000_000.into())
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_iter"), "{e}");
    let e = Algorithm::Knn
        .default_spec()
        .with_param("k", 1_000_000.into())
        .unwrap_err()
        .to_string();
    assert!(e.contains("k"), "{e}");

    // The estimate is an upper bound of what a fitted model really holds.
    let data = synthetic(300, false);
    for spec in [
        rf.clone(),
        Algorithm::GradientBoosting.default_spec(),
        Algorithm::Mlp.default_spec(),
        Algorithm::Ridge.default_spec(),
    ] {
        let mut model = spec.build().unwrap();
        model.fit(&data.x, &data.y, 3).unwrap();
        let stored = rmp_serde::to_vec(&model).unwrap().len() as u64;
        let estimate = spec.estimated_bytes(data.len(), data.x.cols());
        assert!(
            estimate >= stored,
            "{spec:?}: estimate {estimate} < stored {stored}"
        );
    }
    // A deep forest on many rows is refused before any fitting.
    let plan = cryo_ml::TrainPlan {
        spec: rf
            .with_param("n_trees", 5000.into())
            .unwrap()
            .with_param("max_depth", 40.into())
            .unwrap(),
        search: None,
        splitter: Splitter::KFold { k: 5 },
        conformal: ConformalMethod::CvPlus { folds: 5 },
        scale: Scale::None,
        level: 0.9,
        seed: 1,
        learning_curve: false,
        scaffold_check: false,
    };
    let e = plan
        .check_memory(1_000_000, 45, 1 << 30)
        .unwrap_err()
        .to_string();
    assert!(e.contains("models.max_model_mb"), "{e}");
    assert!(plan.check_memory(40, 45, 1 << 30).is_ok());
}

/// y = 2·x0 + noise whose size depends on x1: ±0.05 where x1 < 0, ±1 where x1 ≥ 0.
fn heteroscedastic(n: usize) -> Dataset {
    let mut state = 0x9e37_79b9_u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    let samples = (0..n)
        .map(|i| {
            let f: Vec<f64> = (0..4).map(|_| next()).collect();
            let noise = if f[1] < 0.0 { 0.05 } else { 1.0 };
            Sample {
                id: format!("h{i}"),
                target: 2.0 * f[0] + noise * next(),
                features: f,
                group: None,
                time: None,
            }
        })
        .collect();
    Dataset::from_samples((0..4).map(|j| format!("f{j}")).collect(), samples).unwrap()
}

#[test]
fn normalised_intervals_keep_coverage_and_narrow_where_the_noise_is_small() {
    let data = heteroscedastic(800);
    let quiet = |report: &cryo_ml::CvReport, want_quiet: bool| {
        let widths: Vec<f64> = report
            .predictions
            .iter()
            .filter(|p| (data.x.row(p.row)[1] < 0.0) == want_quiet)
            .map(|p| p.interval.unwrap().upper - p.interval.unwrap().lower)
            .collect();
        widths.iter().sum::<f64>() / widths.len() as f64
    };
    let run = |scale: Scale, spec: &Spec| {
        cross_validate(
            &data,
            spec,
            &KFOLD,
            &CvOptions {
                seed: 5,
                conformal: Some((ConformalMethod::CvPlus { folds: 5 }, 0.9)),
                scale,
            },
            &no_progress,
        )
        .unwrap()
    };
    let forest = Algorithm::RandomForest.default_spec();
    let plain = run(Scale::None, &forest);
    let (plain_quiet, plain_noisy) = (quiet(&plain, true), quiet(&plain, false));
    // Equal widths everywhere, up to the members' differences.
    assert!(
        (plain_quiet / plain_noisy - 1.0).abs() < 0.2,
        "{plain_quiet} vs {plain_noisy}"
    );
    // The residual model learns where the noise is; a forest's spread measures how much its
    // trees disagree, which follows the noise only partly.
    for (scale, spec, ratio) in [
        (Scale::Residual, forest.clone(), 0.5),
        (Scale::Residual, Algorithm::Ridge.default_spec(), 0.5),
        (Scale::Spread, forest.clone(), 0.85),
    ] {
        let report = run(scale, &spec);
        let coverage = report.pooled.coverage.unwrap();
        assert!(
            (0.86..=0.95).contains(&coverage),
            "{scale:?} {spec:?}: coverage {coverage}"
        );
        let (q, noisy) = (quiet(&report, true), quiet(&report, false));
        assert!(
            q < ratio * noisy && q < 0.85 * plain_quiet,
            "{scale:?} {spec:?}: quiet {q}, noisy {noisy}, plain quiet {plain_quiet}"
        );
    }
}

#[test]
fn spread_scaling_needs_a_model_with_a_spread_and_old_models_read_as_unscaled() {
    let data = heteroscedastic(120);
    let err = ConformalModel::fit(
        &Algorithm::Ridge.default_spec(),
        &data,
        &ConformalMethod::CvPlus { folds: 5 },
        Scale::Spread,
        &KFOLD,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("residual"), "{err}");
    let split = ConformalModel::fit(
        &Algorithm::RandomForest.default_spec(),
        &data,
        &ConformalMethod::Split {
            calibration_fraction: 0.25,
        },
        Scale::Residual,
        &KFOLD,
        0,
    )
    .unwrap();
    assert_eq!(split.scale(), Scale::Residual);
    let (pred, iv, _) = split.predict(&data.x, 0.9).unwrap();
    assert!(
        iv.iter()
            .zip(&pred)
            .all(|(i, p)| i.lower < *p && *p < i.upper)
    );
    // A body without the normaliser (every model stored before it) is unscaled.
    let mut json = serde_json::to_value(&split).unwrap();
    json.as_object_mut().unwrap().remove("normaliser");
    let old: ConformalModel = serde_json::from_value(json).unwrap();
    assert_eq!(old.scale(), Scale::None);
}
