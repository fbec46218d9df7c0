//! A trained classifier as one self-describing value, stored the way regression models are
//! ([`crate::artifact`]): a readable JSON envelope ([`ClassEnvelope`], marked
//! `"task": "classification"`) and a checksummed, compressed body. And the training procedure
//! that makes one: cross-validate the calibrated classifier honestly, then fit it on every row.
//! Also where class labels read from anywhere become a dataset: replicates that agree are kept
//! once, those that disagree are left out and reported.

use super::metrics::{ClassMetrics, CurvePoint, ReliabilityBin, SetCoverage};
use super::validate::{ClassFold, ClassReport, OutOfFoldClass, cross_validate_classifier};
use super::{CalibratedClassifier, ClassOptions, ClassPrediction, ClassSpec, encode_labels};
use crate::artifact::{
    BodyInfo, DatasetInfo, DatasetSummary, FeatureSignature, Task, libraries, now_rfc3339, pack,
    unpack,
};
use crate::dataset::{Dataset, Sample};
use crate::interrupt::{Stop, checkpoint};
use crate::split::Splitter;
use crate::train::{Stage, StageProgress, TrainInput};
use crate::{ARTIFACT_FORMAT, Matrix, MlError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What cross-validation said about a classifier: the report without the per-row detail that
/// only the charts' recomputation would need, plus the held-out rows themselves (for the
/// applicability domain's calibration).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassValidation {
    pub splitter: String,
    pub class_counts: Vec<usize>,
    pub pooled: ClassMetrics,
    pub sets: SetCoverage,
    pub folds: Vec<ClassFold>,
    pub reliability: Vec<ReliabilityBin>,
    pub roc: Vec<Vec<CurvePoint>>,
    #[serde(default)]
    pub pr: Vec<Vec<CurvePoint>>,
    pub predictions: Vec<OutOfFoldClass>,
}

impl From<&ClassReport> for ClassValidation {
    fn from(r: &ClassReport) -> ClassValidation {
        ClassValidation {
            splitter: r.splitter.clone(),
            class_counts: r.class_counts.clone(),
            pooled: r.pooled.clone(),
            sets: r.sets.clone(),
            folds: r.folds.clone(),
            reliability: r.reliability.clone(),
            roc: r.roc.clone(),
            pr: r.pr.clone(),
            predictions: r.out_of_fold.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainedClassifier {
    pub format: u32,
    pub target: String,
    pub features: FeatureSignature,
    pub dataset: DatasetInfo,
    /// Class names, sorted; labels are indices into them (two classes: index 1 is positive).
    pub classes: Vec<String>,
    pub spec: ClassSpec,
    pub seed: u64,
    pub trained_at: String,
    pub validation: Option<ClassValidation>,
    pub model: CalibratedClassifier,
}

/// The readable half of a stored classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassEnvelope {
    pub format: u32,
    /// Always [`Task::Classification`]: what tells a stored classifier from a regression model.
    pub task: Task,
    /// The algorithm family, e.g. `logistic`.
    pub kind: String,
    pub libraries: BTreeMap<String, String>,
    pub target: String,
    pub features: FeatureSignature,
    pub classes: Vec<String>,
    pub spec: ClassSpec,
    /// Probability recalibration, prediction-set method and level.
    pub options: ClassOptions,
    pub seed: u64,
    pub dataset: DatasetSummary,
    pub validation: Option<ClassValidation>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub body: BodyInfo,
}

#[derive(Serialize, Deserialize)]
struct ClassBody {
    model: CalibratedClassifier,
    training_ids: Vec<String>,
}

/// A classifier ready to store: envelope plus checksummed body.
#[derive(Debug, Clone)]
pub struct ClassArtefact {
    pub envelope: ClassEnvelope,
    pub body: Vec<u8>,
}

impl TrainedClassifier {
    /// Encodes the classifier for storage.
    pub fn seal(
        &self,
        app_version: &str,
        created_by: Option<&str>,
    ) -> Result<ClassArtefact, MlError> {
        let (body, info) = pack(&ClassBody {
            model: self.model.clone(),
            training_ids: self.dataset.ids.clone(),
        })?;
        let envelope = ClassEnvelope {
            format: self.format,
            task: Task::Classification,
            kind: self.spec.algorithm().name().to_string(),
            libraries: libraries(app_version),
            target: self.target.clone(),
            features: self.features.clone(),
            classes: self.classes.clone(),
            spec: self.spec.clone(),
            options: self.model.options.clone(),
            seed: self.seed,
            dataset: DatasetSummary::of(&self.dataset),
            validation: self.validation.clone(),
            created_by: created_by.map(String::from),
            created_at: self.trained_at.clone(),
            body: info,
        };
        Ok(ClassArtefact { envelope, body })
    }

    /// Probabilities, most probable class and prediction set per row.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<ClassPrediction>, MlError> {
        self.model.predict(x)
    }
}

impl ClassArtefact {
    /// Checks the checksum, then decodes. Never returns a model from bytes that do not match.
    pub fn open(&self) -> Result<TrainedClassifier, MlError> {
        let e = &self.envelope;
        if e.task != Task::Classification {
            return Err(MlError::Corrupt(
                "the envelope is not a classifier's".into(),
            ));
        }
        let body: ClassBody = unpack(e.format, &e.body, &self.body)?;
        Ok(TrainedClassifier {
            format: e.format,
            target: e.target.clone(),
            features: e.features.clone(),
            dataset: e.dataset.with_ids(body.training_ids),
            classes: e.classes.clone(),
            spec: e.spec.clone(),
            seed: e.seed,
            trained_at: e.created_at.clone(),
            validation: e.validation.clone(),
            model: body.model,
        })
    }
}

/// Everything that decides a trained classifier, besides the data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassPlan {
    pub spec: ClassSpec,
    /// Outer validation (a scaffold split keeps scaffolds apart in the calibration folds too).
    pub splitter: Splitter,
    pub options: ClassOptions,
    pub seed: u64,
}

impl ClassPlan {
    /// An upper estimate of the memory the plan's models hold at once on `rows` × `cols`
    /// data with `classes` classes: one model per output (one with two classes), and as many
    /// fits in flight as there are threads plus the calibration folds.
    pub fn estimated_bytes(&self, rows: usize, cols: usize, classes: usize) -> u64 {
        let outputs = if classes <= 2 { 1 } else { classes as u64 };
        let regression = match self.spec {
            ClassSpec::Logistic { .. } => crate::Spec::Linear,
            ClassSpec::RandomForest {
                n_trees,
                max_depth,
                min_samples_leaf,
                ..
            }
            | ClassSpec::GradientBoosting {
                n_trees,
                max_depth,
                min_samples_leaf,
                ..
            } => crate::Spec::RandomForest {
                n_trees,
                max_depth,
                min_samples_leaf,
                max_features: 1.0,
            },
            ClassSpec::Knn { k } => crate::Spec::Knn { k },
        };
        let held = self.options.folds as u64 + rayon::current_num_threads() as u64;
        regression
            .estimated_bytes(rows, cols)
            .saturating_mul(outputs)
            .saturating_mul(held)
    }

    /// Refuses, before any fitting, a plan whose models would need more than `limit` bytes.
    pub fn check_memory(
        &self,
        rows: usize,
        cols: usize,
        classes: usize,
        limit: u64,
    ) -> Result<(), MlError> {
        let estimated = self.estimated_bytes(rows, cols, classes);
        if estimated > limit {
            return Err(MlError::TooLarge {
                estimated_mb: estimated.div_ceil(1 << 20),
                limit_mb: limit >> 20,
            });
        }
        Ok(())
    }
}

/// Cross-validates the plan (stage `validating`), then fits the calibrated classifier on every
/// row (`fitting`). Stops at the next tree or progress report once `stop` says so.
pub fn train_classifier(
    input: &TrainInput<'_>,
    classes: &[String],
    plan: &ClassPlan,
    progress: StageProgress<'_>,
    stop: &Stop,
) -> Result<(TrainedClassifier, ClassReport), MlError> {
    plan.spec.check()?;
    plan.options.check()?;
    let report = |stage: Stage, done: usize, total: usize| {
        checkpoint();
        progress(stage, done, total);
    };
    crate::interrupt::run(stop, || {
        let data = input.data;
        let cv = cross_validate_classifier(
            &plan.spec,
            data,
            classes,
            &plan.splitter,
            &plan.options,
            plan.seed,
            &|d, t| report(Stage::Validating, d, t),
        )?;
        report(Stage::Fitting, 0, 1);
        let grouped = matches!(plan.splitter, Splitter::GroupKFold { .. });
        let model = CalibratedClassifier::fit(
            &plan.spec,
            data,
            classes.len(),
            &plan.options,
            grouped,
            plan.seed,
        )?;
        report(Stage::Fitting, 1, 1);
        let trained = TrainedClassifier {
            format: ARTIFACT_FORMAT,
            target: input.target.to_string(),
            features: input.features.clone(),
            dataset: DatasetInfo::of(data, input.source),
            classes: classes.to_vec(),
            spec: plan.spec.clone(),
            seed: plan.seed,
            trained_at: now_rfc3339(),
            validation: Some(ClassValidation::from(&cv)),
            model,
        };
        Ok((trained, cv))
    })
}

/// Overall completion in 0..=1 of a classifier's training from one stage's progress: the
/// cross-validation is the bulk of it.
pub fn class_progress(stage: Stage, done: usize, total: usize) -> f64 {
    let within = if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    match stage {
        Stage::Fitting => 0.9 + 0.1 * within,
        _ => 0.9 * within,
    }
}

/// A class-labelled dataset: labels as indices into `classes` in `y`, replicates that agree
/// kept once, structures whose replicates disagree left out (in `disagreements`, with the
/// classes they were given).
pub struct Labelled {
    pub dataset: Dataset,
    pub classes: Vec<String>,
    pub disagreements: Vec<(String, Vec<String>)>,
}

/// Settles labelled samples (each sample's own `target` is ignored) into a dataset.
pub fn settle_labels(
    feature_names: Vec<String>,
    samples: Vec<(Sample, String)>,
) -> Result<Labelled, MlError> {
    let labels: Vec<&str> = samples.iter().map(|(_, l)| l.trim()).collect();
    let (classes, codes) = encode_labels(&labels)?;
    let mut seen: HashMap<&str, BTreeSet<usize>> = HashMap::new();
    for ((s, _), &code) in samples.iter().zip(&codes) {
        seen.entry(s.id.as_str()).or_default().insert(code);
    }
    let mut disagreements: Vec<(String, Vec<String>)> = seen
        .iter()
        .filter(|(_, codes)| codes.len() > 1)
        .map(|(id, codes)| {
            (
                id.to_string(),
                codes.iter().map(|&c| classes[c].clone()).collect(),
            )
        })
        .collect();
    disagreements.sort();
    let disagree: HashSet<String> = disagreements.iter().map(|d| d.0.clone()).collect();
    let total = samples.len();
    let mut kept = HashSet::new();
    let settled: Vec<Sample> = samples
        .into_iter()
        .zip(codes)
        .filter(|((s, _), _)| !disagree.contains(&s.id) && kept.insert(s.id.clone()))
        .map(|((mut s, _), code)| {
            s.target = code as f64;
            s
        })
        .collect();
    let merged = total - settled.len();
    let mut dataset = Dataset::from_samples(feature_names, settled)?;
    dataset.replicates_merged = merged;
    // Remaining classes must still be two or more once the disagreeing rows are gone.
    let mut present = vec![false; classes.len()];
    dataset.y.iter().for_each(|&c| present[c as usize] = true);
    if present.iter().filter(|p| **p).count() < 2 {
        return Err(MlError::NotEnoughData(
            "fewer than two classes remain once replicates that disagree are left out".into(),
        ));
    }
    Ok(Labelled {
        dataset,
        classes,
        disagreements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, x: f64) -> Sample {
        Sample {
            id: id.into(),
            features: vec![x],
            target: f64::NAN,
            group: Some(id.into()),
            time: None,
        }
    }

    #[test]
    fn agreeing_replicates_are_kept_once_and_disagreeing_ones_are_reported() {
        let labelled = settle_labels(
            vec!["x".into()],
            vec![
                (sample("A", 1.0), "toxic".into()),
                (sample("A", 1.0), " toxic".into()),
                (sample("B", 2.0), "safe".into()),
                (sample("C", 3.0), "safe".into()),
                (sample("C", 3.0), "toxic".into()),
            ],
        )
        .unwrap();
        assert_eq!(labelled.classes, ["safe", "toxic"]);
        assert_eq!(labelled.dataset.ids, ["A", "B"]);
        assert_eq!(labelled.dataset.y, [1.0, 0.0]);
        assert_eq!(
            labelled.disagreements,
            [(
                "C".to_string(),
                vec!["safe".to_string(), "toxic".to_string()]
            )]
        );
    }

    #[test]
    fn one_class_left_after_disagreements_is_not_enough() {
        let err = settle_labels(
            vec!["x".into()],
            vec![
                (sample("A", 1.0), "yes".into()),
                (sample("B", 2.0), "yes".into()),
                (sample("B", 2.0), "no".into()),
            ],
        );
        assert!(matches!(err, Err(MlError::NotEnoughData(_))));
    }
}
