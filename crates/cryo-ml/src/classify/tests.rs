use super::*;
use crate::dataset::{Dataset, Sample};
use crate::split::Splitter;
use rand::Rng;

/// Three overlapping Gaussian classes in 4 dimensions (2 informative), so no model is perfect
/// and prediction sets must sometimes hold two classes.
fn blobs(n: usize, classes: usize, seed: u64) -> (Dataset, Vec<String>) {
    let mut r = crate::rng(seed);
    let samples = (0..n)
        .map(|i| {
            let c = i % classes;
            let angle = c as f64 * std::f64::consts::TAU / classes as f64;
            let mut normal = || {
                // Box–Muller.
                let (u, v): (f64, f64) = (r.random_range(1e-12..1.0), r.random_range(0.0..1.0));
                (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
            };
            let features = vec![
                1.5 * angle.cos() + normal(),
                1.5 * angle.sin() + normal(),
                normal(),
                normal(),
            ];
            Sample {
                id: format!("m{i}"),
                features,
                target: c as f64,
                group: None,
                time: None,
            }
        })
        .collect();
    let names = (0..4).map(|j| format!("f{j}")).collect();
    let classes = (0..classes).map(|c| format!("class{c}")).collect();
    (Dataset::from_samples(names, samples).unwrap(), classes)
}

fn labels(data: &Dataset) -> Vec<usize> {
    data.y.iter().map(|&v| v as usize).collect()
}

#[test]
fn labels_encode_sorted_and_refuse_a_single_class() {
    let (classes, index) = encode_labels(&["toxic", "safe", "toxic "]).unwrap();
    assert_eq!(classes, ["safe", "toxic"]);
    assert_eq!(index, [1, 0, 1]);
    assert!(matches!(
        encode_labels(&["a", "a"]),
        Err(MlError::NotEnoughData(_))
    ));
}

#[test]
fn logistic_regression_reaches_its_optimum() {
    // At the minimum of ½‖w‖² + C Σ log loss the gradient vanishes: w = −C Σ (p − y) x and
    // Σ (p − y) = 0 (unpenalised intercept), checked on the original features undoing the
    // standardisation.
    for classes in [2, 3] {
        let (data, _) = blobs(300, classes, 7);
        let y = labels(&data);
        let spec = ClassSpec::Logistic {
            c: 0.5,
            max_iter: 100,
            class_weight: ClassWeight::None,
        };
        let model = Classifier::fit(&spec, &data.x, &y, classes, 0).unwrap();
        let Fitted::Logistic { coefficients } = &model.fitted else {
            unreachable!()
        };
        let scale = model.scale.as_ref().unwrap();
        let probs = model.predict_proba(&data.x).unwrap();
        let d = data.x.cols() + 1;
        for o in 0..outputs(classes) {
            let class = if classes == 2 { 1 } else { o };
            let mut grad = vec![0.0; d];
            for i in 0..data.len() {
                let r = probs[i][class] - f64::from(u8::from(y[i] == class));
                for j in 0..d - 1 {
                    grad[j] += 0.5 * r * (data.x.get(i, j) - scale[j].0) / scale[j].1;
                }
                grad[d - 1] += 0.5 * r;
            }
            for j in 0..d - 1 {
                grad[j] += coefficients[o * d + j];
            }
            assert!(
                grad.iter().all(|g| g.abs() < 1e-4),
                "{classes} classes: {grad:?}"
            );
        }
    }
}

#[test]
fn every_classifier_beats_the_prior_and_gives_probabilities() {
    let (data, _) = blobs(300, 3, 1);
    let (test, _) = blobs(300, 3, 2);
    let y = labels(&data);
    let ty = labels(&test);
    // Logarithm of 3: the log loss of always saying ⅓.
    let prior = 3f64.ln();
    for algorithm in [
        ClassAlgorithm::Logistic,
        ClassAlgorithm::RandomForest,
        ClassAlgorithm::GradientBoosting,
    ] {
        let model = Classifier::fit(&algorithm.default_spec(), &data.x, &y, 3, 0).unwrap();
        let probs = model.predict_proba(&test.x).unwrap();
        assert!(
            probs
                .iter()
                .all(|p| (p.iter().sum::<f64>() - 1.0).abs() < 1e-9)
        );
        let m = ClassMetrics::compute(&ty, &probs, 3);
        assert!(m.accuracy > 0.6 && m.roc_auc > 0.8, "{algorithm:?}: {m:?}");
        if algorithm != ClassAlgorithm::RandomForest {
            assert!(m.log_loss < prior, "{algorithm:?}: {m:?}");
        }
    }
}

#[test]
fn nearest_neighbours_vote_by_similarity_on_fingerprints() {
    let rows = [
        vec![1.0, 1.0, 0.0, 0.0],
        vec![1.0, 1.0, 1.0, 0.0],
        vec![0.0, 0.0, 1.0, 1.0],
        vec![0.0, 1.0, 1.0, 1.0],
    ];
    let x = Matrix::from_rows(&rows).unwrap();
    let model = Classifier::fit(&ClassSpec::Knn { k: 1 }, &x, &[0, 0, 1, 1], 2, 0).unwrap();
    let q = Matrix::from_rows(&[vec![1.0, 1.0, 0.0, 1.0], vec![0.0, 0.0, 0.0, 1.0]]).unwrap();
    let p = model.predict_proba(&q).unwrap();
    assert_eq!(p, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
}

#[test]
fn balanced_weights_raise_the_rare_class_recall() {
    // One positive in ten, overlapping: unweighted, the majority wins most borderline rows.
    let (data, _) = blobs(1000, 2, 3);
    let blob = labels(&data);
    let y: Vec<usize> = (0..data.len())
        .map(|i| usize::from(i % 10 == 0 && blob[i] == 0))
        .collect();
    let recall = |weight: ClassWeight| {
        let spec = ClassSpec::Logistic {
            c: 1.0,
            max_iter: 100,
            class_weight: weight,
        };
        let m = Classifier::fit(&spec, &data.x, &y, 2, 0).unwrap();
        let p = m.predict_proba(&data.x).unwrap();
        let hits = (0..y.len()).filter(|&i| y[i] == 1 && p[i][1] > 0.5).count();
        hits as f64 / y.iter().filter(|&&l| l == 1).count() as f64
    };
    let (plain, balanced) = (recall(ClassWeight::None), recall(ClassWeight::Balanced));
    assert!(balanced > plain + 0.2, "plain {plain}, balanced {balanced}");
}

#[test]
fn prediction_sets_cover_at_their_level_on_held_out_folds() {
    let (data, classes) = blobs(900, 3, 11);
    for sets in [SetMethod::Marginal, SetMethod::ClassConditional] {
        for recalibration in [Recalibration::Platt, Recalibration::Isotonic] {
            let options = ClassOptions {
                level: 0.9,
                recalibration,
                sets,
                folds: 5,
            };
            let report = cross_validate_classifier(
                &ClassAlgorithm::Logistic.default_spec(),
                &data,
                &classes,
                &Splitter::KFold { k: 5 },
                &options,
                3,
                &crate::no_progress,
            )
            .unwrap();
            let s = &report.sets;
            assert!(
                (0.87..=0.94).contains(&s.coverage),
                "{sets:?} {recalibration:?}: {s:?}"
            );
            // Overlapping classes: some sets hold more than one class, but not all of them.
            assert!(s.mean_size > 1.0 && s.mean_size < 2.5, "{s:?}");
            if sets == SetMethod::ClassConditional {
                assert!(s.per_class.iter().all(|c| *c > 0.84), "{s:?}");
            }
            assert_eq!(report.out_of_fold.len(), data.len());
            assert_eq!(report.pooled.n, data.len());
        }
    }
}

#[test]
fn class_conditional_sets_protect_a_rare_class_that_marginal_sets_neglect() {
    // 1 in 8 rows is the rare class and hard to tell apart: a marginal threshold can reach
    // 90 % overall while missing many rare rows; per-class thresholds hold the level there.
    let (data, _) = blobs(1600, 2, 5);
    // Rows 1, 9, 17, … sit in the second blob and are the rare class: a quarter of that blob.
    let mut rare = data.clone();
    rare.y = (0..data.len())
        .map(|i| f64::from(u8::from(i % 8 == 1)))
        .collect();
    let classes = vec!["common".to_string(), "rare".to_string()];
    let run = |sets| {
        let options = ClassOptions {
            sets,
            recalibration: Recalibration::None,
            ..ClassOptions::default()
        };
        cross_validate_classifier(
            &ClassAlgorithm::Logistic.default_spec(),
            &rare,
            &classes,
            &Splitter::KFold { k: 5 },
            &options,
            1,
            &crate::no_progress,
        )
        .unwrap()
        .sets
    };
    let (marginal, mondrian) = (run(SetMethod::Marginal), run(SetMethod::ClassConditional));
    assert!(mondrian.per_class[1] >= 0.85, "{mondrian:?}");
    assert!(
        mondrian.per_class[1] > marginal.per_class[1],
        "{marginal:?} vs {mondrian:?}"
    );
}

#[test]
fn hyperparameters_are_bounded_and_named() {
    let spec = ClassAlgorithm::RandomForest.default_spec();
    let err = spec
        .with_params(&[("n_trees".into(), serde_json::json!(1_000_000))])
        .unwrap_err();
    assert!(err.to_string().contains("n_trees"), "{err}");
    let err = spec
        .with_params(&[("alpha".into(), serde_json::json!(1))])
        .unwrap_err();
    assert!(err.to_string().contains("alpha"), "{err}");
    let wide = Matrix::zeros(4, 2000);
    let err = Classifier::fit(
        &ClassAlgorithm::Logistic.default_spec(),
        &wide,
        &[0, 1, 0, 1],
        2,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("1100 coefficients"), "{err}");
}

fn trained_blobs() -> TrainedClassifier {
    let (data, classes) = blobs(120, 3, 7);
    let signature = crate::FeatureSignature {
        set: "matrix".into(),
        version: "test".into(),
        names: data.feature_names.clone(),
    };
    let input = crate::TrainInput {
        data: &data,
        target: "blob",
        features: &signature,
        source: "blobs",
    };
    let plan = ClassPlan {
        spec: ClassAlgorithm::Logistic.default_spec(),
        splitter: Splitter::KFold { k: 4 },
        options: ClassOptions::default(),
        seed: 3,
    };
    let stages = std::sync::Mutex::new(Vec::new());
    let (trained, report) = train_classifier(
        &input,
        &classes,
        &plan,
        &|stage, done, total| {
            stages.lock().unwrap().push((stage, done, total));
            assert!((0.0..=1.0).contains(&class_progress(stage, done, total)));
        },
        &crate::interrupt::Stop::never(),
    )
    .unwrap();
    let stages = stages.into_inner().unwrap();
    assert_eq!(stages.last(), Some(&(crate::Stage::Fitting, 1, 1)));
    assert!(stages.contains(&(crate::Stage::Validating, 4, 4)));
    let v = trained.validation.as_ref().unwrap();
    assert_eq!(v.pooled, report.pooled);
    assert_eq!(v.predictions.len(), 120);
    assert_eq!(v.roc.len(), 3);
    assert_eq!(v.pr.len(), 3);
    trained
}

#[test]
fn a_sealed_classifier_opens_to_the_same_predictions_and_refuses_altered_bytes() {
    let trained = trained_blobs();
    let sealed = trained.seal("test", Some("tester")).unwrap();
    let envelope = serde_json::to_value(&sealed.envelope).unwrap();
    assert_eq!(envelope["task"], "classification");
    assert_eq!(
        crate::Task::of_envelope(&envelope),
        crate::Task::Classification
    );
    assert_eq!(
        envelope["classes"],
        serde_json::json!(["class0", "class1", "class2"])
    );
    let opened = sealed.open().unwrap();
    let (data, _) = blobs(30, 3, 99);
    assert_eq!(
        opened.predict(&data.x).unwrap(),
        trained.predict(&data.x).unwrap()
    );
    assert_eq!(opened.dataset.ids, trained.dataset.ids);
    let mut altered = sealed.clone();
    let last = altered.body.len() - 1;
    altered.body[last] ^= 1;
    assert!(matches!(altered.open(), Err(MlError::Checksum { .. })));
    // A classifier's envelope is no regression model's, and the other way round.
    assert!(serde_json::from_value::<crate::Envelope>(envelope).is_err());
}

#[test]
fn an_envelope_without_a_task_is_a_regression_models() {
    let old = serde_json::json!({ "format": 1, "kind": "ridge" });
    assert_eq!(crate::Task::of_envelope(&old), crate::Task::Regression);
}
