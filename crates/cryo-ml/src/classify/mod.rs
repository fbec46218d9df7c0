//! Classification for yes/no and categorical properties (a toxicity endpoint, vitrified or
//! not, a solubility class): logistic regression, random forest, gradient boosting and
//! Tanimoto nearest neighbours, each giving class probabilities; probability calibration
//! (Platt, isotonic) and conformal prediction sets fitted on cross-validated held-out rows;
//! and the metrics a classifier is judged by.
//!
//! Labels are class indices `0..K` into a sorted list of class names. With two classes, class 1
//! is the positive one and models have one output (its probability); with more, one output per
//! class, normalised to sum to one.

mod calibrate;
mod metrics;
mod trained;
mod validate;

pub use calibrate::{
    CalibratedClassifier, ClassOptions, ClassPrediction, Recalibration, SetMethod,
};
pub use metrics::{
    ClassMetrics, CurvePoint, ReliabilityBin, SetCoverage, pr_curve, reliability, roc_curve,
};
pub use trained::{
    ClassArtefact, ClassEnvelope, ClassPlan, ClassValidation, Labelled, TrainedClassifier,
    class_progress, settle_labels, train_classifier,
};
pub use validate::{ClassFold, ClassReport, OutOfFoldClass, cross_validate_classifier};

use crate::forest::RandomForest;
use crate::knn::Knn;
use crate::matrix::Matrix;
use crate::model::bounds;
use crate::pipeline::{fill_values, prepare, scales};
use crate::tree::{Binned, Tree, TreeParams};
use crate::{MlError, rng};
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// At most this many classes: beyond it a "class" is really a number or an identifier.
pub const MAX_CLASSES: usize = 50;
/// Logistic regression is fitted by Newton's method, whose Hessian grows with the square of
/// (features + 1) × outputs; past this many coefficients a fit costs minutes, so it is
/// refused up front (a fingerprint wants the forest or nearest neighbours).
pub const MAX_LOGISTIC_COEFFICIENTS: usize = 1_100;

/// Distinct labels, sorted, and each label's index into them.
pub fn encode_labels<S: AsRef<str>>(labels: &[S]) -> Result<(Vec<String>, Vec<usize>), MlError> {
    let classes: Vec<String> = labels
        .iter()
        .map(|l| l.as_ref().trim().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if classes.len() < 2 {
        return Err(MlError::NotEnoughData(format!(
            "classification needs at least two classes, found {}",
            classes.len()
        )));
    }
    if classes.len() > MAX_CLASSES {
        return Err(MlError::InvalidInput(format!(
            "at most {MAX_CLASSES} classes, found {}; is the target a number rather than a class?",
            classes.len()
        )));
    }
    let index = labels
        .iter()
        .map(|l| {
            classes
                .binary_search(&l.as_ref().trim().to_string())
                .unwrap_or(0)
        })
        .collect();
    Ok((classes, index))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassAlgorithm {
    Logistic,
    RandomForest,
    GradientBoosting,
    Knn,
}

impl ClassAlgorithm {
    pub const ALL: [ClassAlgorithm; 4] = [
        ClassAlgorithm::Logistic,
        ClassAlgorithm::RandomForest,
        ClassAlgorithm::GradientBoosting,
        ClassAlgorithm::Knn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ClassAlgorithm::Logistic => "logistic",
            ClassAlgorithm::RandomForest => "random_forest",
            ClassAlgorithm::GradientBoosting => "gradient_boosting",
            ClassAlgorithm::Knn => "knn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ClassAlgorithm::Logistic => "logistic regression",
            ClassAlgorithm::RandomForest => "random forest",
            ClassAlgorithm::GradientBoosting => "gradient boosting",
            ClassAlgorithm::Knn => "nearest neighbours (Tanimoto)",
        }
    }

    pub fn parse(s: &str) -> Result<ClassAlgorithm, MlError> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "logistic" | "logistic_regression" => Ok(ClassAlgorithm::Logistic),
            "random_forest" | "rf" => Ok(ClassAlgorithm::RandomForest),
            "gradient_boosting" | "gbm" => Ok(ClassAlgorithm::GradientBoosting),
            "knn" => Ok(ClassAlgorithm::Knn),
            other => Err(MlError::InvalidInput(format!(
                "unknown classifier {other:?}; expected one of {}",
                ClassAlgorithm::ALL.map(|a| a.name()).join(", ")
            ))),
        }
    }

    /// scikit-learn's defaults where it has them (C = 1; 100 trees of depth 3 at rate 0.1),
    /// and a forest of 200 trees trying √p features per split.
    pub fn default_spec(self) -> ClassSpec {
        match self {
            ClassAlgorithm::Logistic => ClassSpec::Logistic {
                c: 1.0,
                max_iter: 100,
                class_weight: ClassWeight::None,
            },
            ClassAlgorithm::RandomForest => ClassSpec::RandomForest {
                n_trees: 200,
                max_depth: bounds::MAX_DEPTH,
                min_samples_leaf: 1,
                max_features: None,
                class_weight: ClassWeight::None,
            },
            ClassAlgorithm::GradientBoosting => ClassSpec::GradientBoosting {
                n_trees: 100,
                learning_rate: 0.1,
                max_depth: 3,
                min_samples_leaf: 1,
                subsample: 1.0,
            },
            ClassAlgorithm::Knn => ClassSpec::Knn { k: 5 },
        }
    }
}

/// How much each class counts in the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row counts once.
    #[default]
    None,
    /// Each class weighs the same in total (row weight n / (K · n_class)), so a rare toxic
    /// class is not drowned by the common one.
    Balanced,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClassSpec {
    /// L2-penalised logistic regression (multinomial with more than two classes) on
    /// standardised features: minimises ½‖w‖² + C Σ weight · log loss, as scikit-learn does.
    Logistic {
        c: f64,
        max_iter: usize,
        #[serde(default)]
        class_weight: ClassWeight,
    },
    /// Bootstrap forest of CART trees on the class indicator: squared-error splits on a 0/1
    /// target are Gini splits, so with two classes this is a Gini forest; with more, one
    /// forest per class, normalised. Balanced weights draw the bootstrap by class weight.
    RandomForest {
        n_trees: usize,
        max_depth: usize,
        min_samples_leaf: usize,
        /// Fraction of features tried at each split; none means √p.
        #[serde(default)]
        max_features: Option<f64>,
        #[serde(default)]
        class_weight: ClassWeight,
    },
    /// Friedman's gradient boosting on the log loss (softmax with more than two classes):
    /// trees fit the residual y − p and each leaf takes a Newton step.
    GradientBoosting {
        n_trees: usize,
        learning_rate: f64,
        max_depth: usize,
        min_samples_leaf: usize,
        subsample: f64,
    },
    /// Similarity-weighted vote of the k most Tanimoto-similar training molecules (binary
    /// features: a fingerprint).
    Knn { k: usize },
}

fn invalid(name: &'static str, reason: String) -> MlError {
    MlError::InvalidParameter { name, reason }
}

fn within<T: PartialOrd + std::fmt::Display + Copy>(
    name: &'static str,
    v: T,
    lo: T,
    hi: T,
) -> Result<(), MlError> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(invalid(name, format!("must be within {lo}..{hi}, got {v}")))
    }
}

/// The bounds every tree ensemble shares.
fn trees_within_bounds(
    n_trees: usize,
    max_depth: usize,
    min_samples_leaf: usize,
) -> Result<(), MlError> {
    within("n_trees", n_trees, 1, bounds::MAX_TREES)?;
    within("max_depth", max_depth, 1, bounds::MAX_DEPTH)?;
    within("min_samples_leaf", min_samples_leaf, 1, 10_000)
}

impl ClassSpec {
    pub fn algorithm(&self) -> ClassAlgorithm {
        match self {
            ClassSpec::Logistic { .. } => ClassAlgorithm::Logistic,
            ClassSpec::RandomForest { .. } => ClassAlgorithm::RandomForest,
            ClassSpec::GradientBoosting { .. } => ClassAlgorithm::GradientBoosting,
            ClassSpec::Knn { .. } => ClassAlgorithm::Knn,
        }
    }

    /// Refuses hyperparameters outside the bounds before any work starts.
    pub fn check(&self) -> Result<(), MlError> {
        match *self {
            ClassSpec::Logistic { c, max_iter, .. } => {
                if !(c.is_finite() && c > 0.0 && c <= 1e6) {
                    return Err(invalid("c", format!("must be within (0, 1e6], got {c}")));
                }
                within("max_iter", max_iter, 1, 1000)
            }
            ClassSpec::RandomForest {
                n_trees,
                max_depth,
                min_samples_leaf,
                max_features,
                ..
            } => {
                trees_within_bounds(n_trees, max_depth, min_samples_leaf)?;
                match max_features {
                    Some(f) if !(f > 0.0 && f <= 1.0) => Err(invalid(
                        "max_features",
                        format!("must be a fraction within (0, 1], got {f}"),
                    )),
                    _ => Ok(()),
                }
            }
            ClassSpec::GradientBoosting {
                n_trees,
                learning_rate,
                max_depth,
                min_samples_leaf,
                subsample,
            } => {
                trees_within_bounds(n_trees, max_depth, min_samples_leaf)?;
                if !(learning_rate > 0.0 && learning_rate <= 1.0) {
                    return Err(invalid(
                        "learning_rate",
                        format!("must be within (0, 1], got {learning_rate}"),
                    ));
                }
                if !(subsample > 0.0 && subsample <= 1.0) {
                    return Err(invalid(
                        "subsample",
                        format!("must be within (0, 1], got {subsample}"),
                    ));
                }
                Ok(())
            }
            ClassSpec::Knn { k } => within("k", k, 1, bounds::MAX_K),
        }
    }

    /// Applies `name=value` overrides (JSON values) to this spec.
    pub fn with_params(
        &self,
        params: &[(String, serde_json::Value)],
    ) -> Result<ClassSpec, MlError> {
        let mut value =
            serde_json::to_value(self).map_err(|e| MlError::InvalidInput(e.to_string()))?;
        for (name, v) in params {
            if name == "algorithm" || value.get(name).is_none() {
                return Err(MlError::InvalidInput(format!(
                    "{} has no hyperparameter {name:?}",
                    self.algorithm().name()
                )));
            }
            value[name] = v.clone();
        }
        let spec: ClassSpec = serde_json::from_value(value)
            .map_err(|e| MlError::InvalidInput(format!("hyperparameters: {e}")))?;
        spec.check()?;
        Ok(spec)
    }

    fn standardises(&self) -> bool {
        matches!(self, ClassSpec::Logistic { .. })
    }
}

/// A fitted classifier: preprocessing (training-mean fill; standardisation for logistic
/// regression) and the estimator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classifier {
    pub spec: ClassSpec,
    pub classes: usize,
    fill: Vec<f64>,
    scale: Option<Vec<(f64, f64)>>,
    fitted: Fitted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Fitted {
    /// Row-major `outputs × (features + 1)`, the intercept last in each row.
    Logistic {
        coefficients: Vec<f64>,
    },
    Forests(Vec<RandomForest>),
    Boosting {
        init: Vec<f64>,
        stages: Vec<Vec<Tree>>,
    },
    Knn(Vec<Knn>),
}

/// Model outputs: one (the positive class) for two classes, else one per class.
fn outputs(classes: usize) -> usize {
    if classes == 2 { 1 } else { classes }
}

/// Row weights for `class_weight`.
fn row_weights(labels: &[usize], classes: usize, weight: ClassWeight) -> Vec<f64> {
    match weight {
        ClassWeight::None => vec![1.0; labels.len()],
        ClassWeight::Balanced => {
            let mut count = vec![0usize; classes];
            labels.iter().for_each(|&l| count[l] += 1);
            let n = labels.len() as f64;
            labels
                .iter()
                .map(|&l| n / (classes as f64 * count[l] as f64))
                .collect()
        }
    }
}

/// The 0/1 indicator of output `o` for each label.
fn indicator(labels: &[usize], classes: usize, o: usize) -> Vec<f64> {
    let class = if classes == 2 { 1 } else { o };
    labels
        .iter()
        .map(|&l| if l == class { 1.0 } else { 0.0 })
        .collect()
}

impl Classifier {
    /// Fits on `x` with labels in `0..classes`.
    pub fn fit(
        spec: &ClassSpec,
        x: &Matrix,
        labels: &[usize],
        classes: usize,
        seed: u64,
    ) -> Result<Classifier, MlError> {
        spec.check()?;
        if x.rows() != labels.len() {
            return Err(MlError::InvalidInput(format!(
                "{} rows but {} labels",
                x.rows(),
                labels.len()
            )));
        }
        if x.rows() < 2 {
            return Err(MlError::NotEnoughData(
                "a classifier needs at least 2 rows".into(),
            ));
        }
        if let Some(&l) = labels.iter().find(|&&l| l >= classes) {
            return Err(MlError::InvalidInput(format!(
                "label {l} is not below {classes}"
            )));
        }
        let p = x.cols();
        let fill = fill_values(x);
        let filled = prepare(x, &fill, None);
        let scale = spec.standardises().then(|| scales(&filled));
        let xs = match &scale {
            Some(scale) => prepare(x, &fill, Some(scale)),
            None => filled,
        };
        let mut model = Classifier {
            spec: spec.clone(),
            classes,
            fill,
            scale,
            fitted: Fitted::Forests(Vec::new()),
        };
        let k = outputs(classes);
        model.fitted = match *spec {
            ClassSpec::Logistic {
                c,
                max_iter,
                class_weight,
            } => {
                let w = row_weights(labels, classes, class_weight);
                Fitted::Logistic {
                    coefficients: logistic_newton(&xs, labels, classes, &w, c, max_iter)?,
                }
            }
            ClassSpec::RandomForest {
                n_trees,
                max_depth,
                min_samples_leaf,
                max_features,
                class_weight,
            } => {
                let fraction =
                    max_features.unwrap_or_else(|| (p as f64).sqrt().max(1.0) / p.max(1) as f64);
                let draw = match class_weight {
                    ClassWeight::None => None,
                    w => Some(row_weights(labels, classes, w)),
                };
                let forests = (0..k)
                    .map(|o| {
                        let mut forest =
                            RandomForest::new(n_trees, max_depth, min_samples_leaf, fraction);
                        let y = indicator(labels, classes, o);
                        let s = crate::derive_seed(seed, o as u64);
                        match &draw {
                            None => forest.fit(&xs, &y, s)?,
                            Some(w) => forest.fit_weighted_bootstrap(&xs, &y, w, s)?,
                        }
                        Ok(forest)
                    })
                    .collect::<Result<Vec<_>, MlError>>()?;
                Fitted::Forests(forests)
            }
            ClassSpec::GradientBoosting {
                n_trees,
                learning_rate,
                max_depth,
                min_samples_leaf,
                subsample,
            } => {
                let params = TreeParams {
                    max_depth,
                    min_samples_leaf,
                    max_features: p,
                };
                let (init, stages) = boost(
                    &xs,
                    labels,
                    classes,
                    n_trees,
                    learning_rate,
                    subsample,
                    params,
                    seed,
                );
                Fitted::Boosting { init, stages }
            }
            ClassSpec::Knn { k: neighbours } => Fitted::Knn(
                (0..k)
                    .map(|o| {
                        let mut knn = Knn::new(neighbours);
                        knn.fit(&xs, &indicator(labels, classes, o))?;
                        Ok(knn)
                    })
                    .collect::<Result<Vec<_>, MlError>>()?,
            ),
        };
        Ok(model)
    }

    /// Class probabilities, one row of `classes` values per input row, each summing to one.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Vec<Vec<f64>>, MlError> {
        x.check_cols(self.fill.len())?;
        let xs = prepare(x, &self.fill, self.scale.as_deref());
        let k = outputs(self.classes);
        let p = xs.cols();
        let raw: Vec<Vec<f64>> = match &self.fitted {
            Fitted::Logistic { coefficients } => (0..xs.rows())
                .map(|i| {
                    let row = xs.row(i);
                    let z: Vec<f64> = (0..k)
                        .map(|o| linear(&coefficients[o * (p + 1)..(o + 1) * (p + 1)], row))
                        .collect();
                    link(&z)
                })
                .collect(),
            Fitted::Boosting { init, stages } => (0..xs.rows())
                .map(|i| {
                    let row = xs.row(i);
                    let mut z = init.clone();
                    for stage in stages {
                        for (zo, tree) in z.iter_mut().zip(stage) {
                            *zo += tree.predict_row(row);
                        }
                    }
                    link(&z)
                })
                .collect(),
            Fitted::Forests(forests) => {
                let columns: Vec<Vec<f64>> = forests
                    .iter()
                    .map(|f| f.predict_with_spread(&xs).0)
                    .collect();
                votes(&columns, xs.rows())
            }
            Fitted::Knn(models) => {
                let columns: Vec<Vec<f64>> = models
                    .iter()
                    .map(|m| m.predict_with_spread(&xs).0)
                    .collect();
                votes(&columns, xs.rows())
            }
        };
        Ok(raw.into_iter().map(|r| expand(&r, self.classes)).collect())
    }
}

fn linear(coefficients: &[f64], row: &[f64]) -> f64 {
    let p = row.len();
    coefficients[p]
        + row
            .iter()
            .zip(coefficients)
            .map(|(x, w)| x * w)
            .sum::<f64>()
}

/// Outputs from scores: the logistic function for one output, softmax for several.
fn link(z: &[f64]) -> Vec<f64> {
    if z.len() == 1 {
        vec![sigmoid(z[0])]
    } else {
        let top = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - top).exp()).collect();
        let total: f64 = e.iter().sum();
        e.into_iter().map(|v| v / total).collect()
    }
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Per-row outputs from per-output columns of indicator estimates, normalised when there are
/// several (a row no forest claims gets equal shares).
fn votes(columns: &[Vec<f64>], rows: usize) -> Vec<Vec<f64>> {
    (0..rows)
        .map(|i| {
            let mut r: Vec<f64> = columns.iter().map(|c| c[i].clamp(0.0, 1.0)).collect();
            if r.len() > 1 {
                let total: f64 = r.iter().sum();
                if total > 0.0 {
                    r.iter_mut().for_each(|v| *v /= total);
                } else {
                    let share = 1.0 / r.len() as f64;
                    r.iter_mut().for_each(|v| *v = share);
                }
            }
            r
        })
        .collect()
}

/// All class probabilities from model outputs.
fn expand(outputs: &[f64], classes: usize) -> Vec<f64> {
    if classes == 2 {
        vec![1.0 - outputs[0], outputs[0]]
    } else {
        outputs.to_vec()
    }
}

/// Penalised logistic regression by damped Newton steps; returns `outputs × (p + 1)`
/// coefficients.
fn logistic_newton(
    x: &Matrix,
    labels: &[usize],
    classes: usize,
    weights: &[f64],
    c: f64,
    max_iter: usize,
) -> Result<Vec<f64>, MlError> {
    let (n, p) = (x.rows(), x.cols());
    let k = outputs(classes);
    let d = p + 1;
    let dim = k * d;
    if dim > MAX_LOGISTIC_COEFFICIENTS {
        return Err(MlError::InvalidInput(format!(
            "logistic regression fits at most {MAX_LOGISTIC_COEFFICIENTS} coefficients ((features + 1) × {}), this table needs {dim}; use fewer features, or random_forest or knn",
            if k == 1 {
                "1 for two classes".to_string()
            } else {
                format!("{k} classes")
            }
        )));
    }
    let targets: Vec<Vec<f64>> = (0..k).map(|o| indicator(labels, classes, o)).collect();
    let objective = |theta: &[f64]| -> f64 {
        let mut loss = 0.0;
        for i in 0..n {
            let row = x.row(i);
            let z: Vec<f64> = (0..k)
                .map(|o| linear(&theta[o * d..(o + 1) * d], row))
                .collect();
            loss += weights[i]
                * if k == 1 {
                    // log(1 + e^z) − y z, computed without overflow.
                    let z = z[0];
                    z.max(0.0) + (-z.abs()).exp().ln_1p() - targets[0][i] * z
                } else {
                    let top = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let lse = top + z.iter().map(|v| (v - top).exp()).sum::<f64>().ln();
                    lse - z[labels[i]]
                };
        }
        let penalty: f64 = (0..k)
            .map(|o| theta[o * d..o * d + p].iter().map(|w| w * w).sum::<f64>())
            .sum();
        0.5 * penalty + c * loss
    };
    let mut theta = vec![0.0; dim];
    let mut current = objective(&theta);
    for _ in 0..max_iter {
        crate::interrupt::checkpoint();
        let mut grad = vec![0.0; dim];
        let mut hess = vec![0.0; dim * dim];
        let mut xi = vec![0.0; d];
        for i in 0..n {
            xi[..p].copy_from_slice(x.row(i));
            xi[p] = 1.0;
            let z: Vec<f64> = (0..k)
                .map(|o| linear(&theta[o * d..(o + 1) * d], x.row(i)))
                .collect();
            let prob = link(&z);
            let w = c * weights[i];
            for a in 0..k {
                let r = w * (prob[a] - targets[a][i]);
                for (g, v) in grad[a * d..(a + 1) * d].iter_mut().zip(&xi) {
                    *g += r * v;
                }
                for b in a..k {
                    let h = if k == 1 {
                        w * prob[0] * (1.0 - prob[0])
                    } else {
                        w * prob[a] * (f64::from(u8::from(a == b)) - prob[b])
                    };
                    if h == 0.0 {
                        continue;
                    }
                    for u in 0..d {
                        let hu = h * xi[u];
                        let start = if a == b { u } else { 0 };
                        let row =
                            &mut hess[(a * d + u) * dim + b * d..(a * d + u) * dim + (b + 1) * d];
                        for v in start..d {
                            row[v] += hu * xi[v];
                        }
                    }
                }
            }
        }
        for a in 0..k {
            for u in 0..p {
                grad[a * d + u] += theta[a * d + u];
                hess[(a * d + u) * dim + a * d + u] += 1.0;
            }
            // The intercepts are not penalised; a whisker of ridge keeps the softmax's
            // shift-invariant direction from making the Hessian singular.
            hess[(a * d + p) * dim + a * d + p] += 1e-8 * (1.0 + c * n as f64);
        }
        // Mirror the upper triangle (blocks b ≥ a, and u ≤ v within diagonal blocks).
        for r in 0..dim {
            for s in r + 1..dim {
                hess[s * dim + r] = hess[r * dim + s];
            }
        }
        let gnorm = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        if gnorm < 1e-8 * (1.0 + c * n as f64) {
            break;
        }
        let mut step = grad.clone();
        crate::matrix::cholesky_solve(&mut hess, &mut step, dim)?;
        let slope: f64 = grad.iter().zip(&step).map(|(g, s)| g * s).sum();
        let mut t = 1.0;
        let mut accepted = false;
        while t > 1e-10 {
            let trial: Vec<f64> = theta.iter().zip(&step).map(|(a, s)| a - t * s).collect();
            let value = objective(&trial);
            if value <= current - 1e-4 * t * slope {
                let gain = current - value;
                theta = trial;
                current = value;
                accepted = true;
                if gain <= 1e-12 * current.abs().max(1.0) {
                    return Ok(theta);
                }
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    if theta.iter().any(|v| !v.is_finite()) {
        return Err(MlError::Numerical("logistic regression diverged".into()));
    }
    Ok(theta)
}

/// Friedman's log-loss boosting: returns the initial scores and, per stage, one tree per
/// output.
#[allow(clippy::too_many_arguments)]
fn boost(
    x: &Matrix,
    labels: &[usize],
    classes: usize,
    n_trees: usize,
    learning_rate: f64,
    subsample: f64,
    params: TreeParams,
    seed: u64,
) -> (Vec<f64>, Vec<Vec<Tree>>) {
    let n = x.rows();
    let k = outputs(classes);
    let binned = Binned::new(x);
    let targets: Vec<Vec<f64>> = (0..k).map(|o| indicator(labels, classes, o)).collect();
    // Start from the class priors' log-odds (two classes) or log-priors (softmax).
    let init: Vec<f64> = targets
        .iter()
        .map(|t| {
            let prior = (t.iter().sum::<f64>() / n as f64).clamp(1e-6, 1.0 - 1e-6);
            if k == 1 {
                (prior / (1.0 - prior)).ln()
            } else {
                prior.ln()
            }
        })
        .collect();
    let mut scores: Vec<Vec<f64>> = (0..n).map(|_| init.clone()).collect();
    let mut rng = rng(seed);
    let take = ((subsample * n as f64).round() as usize).clamp(1, n);
    let mut importance = vec![0.0; x.cols()];
    let mut stages = Vec::with_capacity(n_trees);
    let factor = if k == 1 {
        1.0
    } else {
        (k as f64 - 1.0) / k as f64
    };
    for _ in 0..n_trees {
        crate::interrupt::checkpoint();
        let probs: Vec<Vec<f64>> = scores.iter().map(|z| link(z)).collect();
        let rows: Vec<u32> = if take == n {
            (0..n as u32).collect()
        } else {
            let mut r: Vec<u32> = sample(&mut rng, n, take)
                .into_iter()
                .map(|i| i as u32)
                .collect();
            r.sort_unstable();
            r
        };
        let mut stage = Vec::with_capacity(k);
        for o in 0..k {
            let residual: Vec<f64> = (0..n).map(|i| targets[o][i] - probs[i][o]).collect();
            let mut samples = rows.clone();
            let mut tree = Tree::grow(
                &binned,
                &residual,
                &mut samples,
                params,
                &mut rng,
                &mut importance,
            );
            // Newton step per leaf over the rows that grew it.
            let mut numerator = std::collections::HashMap::<usize, (f64, f64)>::new();
            for &i in &rows {
                let i = i as usize;
                let r = residual[i];
                let entry = numerator.entry(tree.leaf_of(x.row(i))).or_default();
                entry.0 += r;
                entry.1 += (targets[o][i] - r) * (1.0 - targets[o][i] + r);
            }
            tree.set_leaves(|leaf| match numerator.get(&leaf) {
                Some(&(num, den)) if den.abs() > 1e-150 => learning_rate * factor * num / den,
                _ => 0.0,
            });
            for i in 0..n {
                scores[i][o] += tree.predict_row(x.row(i));
            }
            stage.push(tree);
        }
        stages.push(stage);
    }
    (init, stages)
}

#[cfg(test)]
mod tests;
