//! Calibrated probabilities and conformal prediction sets. Both are fitted on held-out rows:
//! an inner k-fold over the training rows gives every row a probability from a model that
//! never saw it; the recalibration map and the conformal thresholds are fitted on those, and
//! the final model is then fitted on every row (cross-conformal, as CV+ is for intervals).
//!
//! The prediction set at level 1 − α holds every class whose nonconformity 1 − p̂(class) is
//! within the threshold: the ⌈(n + 1)(1 − α)⌉-th smallest held-out score (marginal), or the
//! same taken over each class's own rows (class-conditional, Mondrian by class), which
//! promises the level for every class, the rare toxic one included.

use super::{ClassSpec, Classifier, sigmoid};
use crate::dataset::Dataset;
use crate::split::Splitter;
use crate::{MlError, derive_seed};
use serde::{Deserialize, Serialize};

/// How held-out probabilities remap the model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recalibration {
    /// The model's own probabilities.
    None,
    /// Platt scaling: a logistic curve on the log-odds, per class (one-vs-rest) then
    /// normalised.
    #[default]
    Platt,
    /// Isotonic regression (pool adjacent violators) per class, then normalised.
    Isotonic,
}

impl Recalibration {
    pub const ALL: [Recalibration; 3] = [
        Recalibration::None,
        Recalibration::Platt,
        Recalibration::Isotonic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Recalibration::None => "none",
            Recalibration::Platt => "platt",
            Recalibration::Isotonic => "isotonic",
        }
    }

    pub fn parse(s: &str) -> Result<Recalibration, MlError> {
        Recalibration::ALL
            .into_iter()
            .find(|r| r.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                MlError::InvalidInput(format!(
                    "unknown probability calibration {s:?}; expected none, platt or isotonic"
                ))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetMethod {
    /// One threshold over all held-out rows: the level holds on average over classes.
    Marginal,
    /// One threshold per class (Mondrian): the level holds within every class.
    #[default]
    ClassConditional,
}

impl SetMethod {
    pub fn name(self) -> &'static str {
        match self {
            SetMethod::Marginal => "marginal",
            SetMethod::ClassConditional => "class_conditional",
        }
    }

    pub fn parse(s: &str) -> Result<SetMethod, MlError> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "marginal" => Ok(SetMethod::Marginal),
            "class_conditional" | "mondrian" => Ok(SetMethod::ClassConditional),
            other => Err(MlError::InvalidInput(format!(
                "unknown prediction-set method {other:?}; expected marginal or class_conditional"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassOptions {
    /// Nominal coverage of the prediction sets, e.g. 0.9.
    pub level: f64,
    pub recalibration: Recalibration,
    pub sets: SetMethod,
    /// Inner folds giving the held-out probabilities.
    pub folds: usize,
}

impl Default for ClassOptions {
    fn default() -> Self {
        ClassOptions {
            level: 0.9,
            recalibration: Recalibration::default(),
            sets: SetMethod::default(),
            folds: 5,
        }
    }
}

impl ClassOptions {
    pub fn check(&self) -> Result<(), MlError> {
        crate::conformal::check_level(self.level)?;
        if !(2..=20).contains(&self.folds) {
            return Err(MlError::InvalidParameter {
                name: "folds",
                reason: format!("must be within 2..20, got {}", self.folds),
            });
        }
        Ok(())
    }
}

/// A one-dimensional increasing map fitted on (probability, outcome) pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Map {
    /// p ↦ σ(a · logit p + b).
    Platt { a: f64, b: f64 },
    /// Piecewise linear through (x, y) knots, constant beyond the ends.
    Isotonic { x: Vec<f64>, y: Vec<f64> },
}

const LOGIT_FLOOR: f64 = 1e-12;

fn logit(p: f64) -> f64 {
    let p = p.clamp(LOGIT_FLOOR, 1.0 - LOGIT_FLOOR);
    (p / (1.0 - p)).ln()
}

impl Map {
    fn apply(&self, p: f64) -> f64 {
        match self {
            Map::Platt { a, b } => sigmoid(a * logit(p) + b),
            Map::Isotonic { x, y } => {
                let k = x.partition_point(|v| *v < p);
                if k == 0 {
                    y[0]
                } else if k == x.len() {
                    y[x.len() - 1]
                } else if x[k] == x[k - 1] {
                    y[k]
                } else {
                    let t = (p - x[k - 1]) / (x[k] - x[k - 1]);
                    y[k - 1] + t * (y[k] - y[k - 1])
                }
            }
        }
    }

    /// Platt (1999): maximum likelihood of the sigmoid with his smoothed targets
    /// (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2), by Newton's method on (a, b).
    fn platt(p: &[f64], y: &[bool]) -> Map {
        let positives = y.iter().filter(|v| **v).count() as f64;
        let negatives = y.len() as f64 - positives;
        let (hi, lo) = (
            (positives + 1.0) / (positives + 2.0),
            1.0 / (negatives + 2.0),
        );
        let f: Vec<f64> = p.iter().map(|&v| logit(v)).collect();
        let t: Vec<f64> = y.iter().map(|&v| if v { hi } else { lo }).collect();
        let loss = |a: f64, b: f64| -> f64 {
            f.iter()
                .zip(&t)
                .map(|(fi, ti)| {
                    let z = a * fi + b;
                    z.max(0.0) + (-z.abs()).exp().ln_1p() - ti * z
                })
                .sum()
        };
        let (mut a, mut b) = (1.0, 0.0);
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for (fi, ti) in f.iter().zip(&t) {
                let q = sigmoid(a * fi + b);
                let (r, w) = (q - ti, q * (1.0 - q));
                ga += r * fi;
                gb += r;
                haa += w * fi * fi;
                hab += w * fi;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
            let mut step = 1.0;
            let mut moved = false;
            while step > 1e-10 {
                let (na, nb) = (a - step * da, b - step * db);
                let v = loss(na, nb);
                if v < current {
                    (a, b, current, moved) = (na, nb, v, true);
                    break;
                }
                step *= 0.5;
            }
            if !moved || (da.abs() + db.abs()) * step < 1e-10 {
                break;
            }
        }
        Map::Platt { a, b }
    }

    /// Pool adjacent violators on (p, y) sorted by p; each pooled block becomes two knots at
    /// its smallest and largest p.
    fn isotonic(p: &[f64], y: &[bool]) -> Map {
        let mut pairs: Vec<(f64, f64)> = p
            .iter()
            .zip(y)
            .map(|(&a, &b)| (a, f64::from(u8::from(b))))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Blocks of (sum, count, lowest x, highest x).
        let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
        for (x, v) in pairs {
            blocks.push((v, 1.0, x, x));
            while blocks.len() > 1 {
                let (s1, c1, ..) = blocks[blocks.len() - 1];
                let (s0, c0, ..) = blocks[blocks.len() - 2];
                // Equal x must share a value, and an increasing fit must not fall.
                let same_x = blocks[blocks.len() - 2].3 == blocks[blocks.len() - 1].2;
                if s0 / c0 >= s1 / c1 || same_x {
                    let last = blocks.pop().unwrap();
                    let prev = blocks.last_mut().unwrap();
                    prev.0 += last.0;
                    prev.1 += last.1;
                    prev.3 = last.3;
                } else {
                    break;
                }
            }
        }
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for (s, c, lo, hi) in blocks {
            xs.push(lo);
            ys.push(s / c);
            if hi > lo {
                xs.push(hi);
                ys.push(s / c);
            }
        }
        Map::Isotonic { x: xs, y: ys }
    }
}

/// Held-out probabilities remapped per class and renormalised.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recalibrator {
    maps: Vec<Map>,
}

impl Recalibrator {
    fn fit(
        method: Recalibration,
        probs: &[Vec<f64>],
        labels: &[usize],
        classes: usize,
    ) -> Option<Self> {
        let fit_one = match method {
            Recalibration::None => return None,
            Recalibration::Platt => Map::platt,
            Recalibration::Isotonic => Map::isotonic,
        };
        // Two classes: one map on the positive class; more: one per class.
        let outputs = if classes == 2 { 1 } else { classes };
        let maps = (0..outputs)
            .map(|o| {
                let class = if classes == 2 { 1 } else { o };
                let p: Vec<f64> = probs.iter().map(|r| r[class]).collect();
                let y: Vec<bool> = labels.iter().map(|&l| l == class).collect();
                fit_one(&p, &y)
            })
            .collect();
        Some(Recalibrator { maps })
    }

    fn apply(&self, probs: &[f64]) -> Vec<f64> {
        if probs.len() == 2 {
            let p = self.maps[0].apply(probs[1]).clamp(0.0, 1.0);
            return vec![1.0 - p, p];
        }
        let mut out: Vec<f64> = probs
            .iter()
            .zip(&self.maps)
            .map(|(p, m)| m.apply(*p).clamp(0.0, 1.0))
            .collect();
        let total: f64 = out.iter().sum();
        if total > 0.0 {
            out.iter_mut().for_each(|v| *v /= total);
        } else {
            out = probs.to_vec();
        }
        out
    }
}

/// One row's prediction: probabilities per class, the most probable class, and the
/// conformal prediction set (class indices, most probable first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassPrediction {
    pub probabilities: Vec<f64>,
    pub label: usize,
    pub set: Vec<usize>,
}

/// A classifier with recalibrated probabilities and conformal prediction sets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalibratedClassifier {
    pub model: Classifier,
    pub options: ClassOptions,
    recalibrator: Option<Recalibrator>,
    /// One threshold (marginal) or one per class, on the score 1 − p̂.
    thresholds: Vec<f64>,
    /// Held-out rows the thresholds rest on, per class.
    pub calibration_rows: Vec<usize>,
}

/// The conformal threshold on the scores 1 − p̂, or 1 (every class in the set) with too few
/// held-out rows to promise the level.
fn set_threshold(scores: &mut [f64], level: f64) -> f64 {
    crate::conformal::conformal_quantile(scores, level).unwrap_or(1.0)
}

impl CalibratedClassifier {
    /// Fits on `data` (labels in `data.y` as class indices). `grouped` keeps groups apart in
    /// the inner folds (scaffold split).
    pub fn fit(
        spec: &ClassSpec,
        data: &Dataset,
        classes: usize,
        options: &ClassOptions,
        grouped: bool,
        seed: u64,
    ) -> Result<CalibratedClassifier, MlError> {
        options.check()?;
        spec.check()?;
        let labels = labels_of(data, classes)?;
        let splitter = if grouped && data.groups.is_some() {
            Splitter::GroupKFold { k: options.folds }
        } else {
            Splitter::KFold { k: options.folds }
        };
        let mut inner = data.clone();
        inner.folds = None;
        let folds = splitter.folds(&inner, derive_seed(seed, 1))?;
        let mut held: Vec<Option<Vec<f64>>> = vec![None; data.len()];
        for fold in &folds {
            let train_labels: Vec<usize> = fold.train.iter().map(|&i| labels[i]).collect();
            let model = Classifier::fit(
                spec,
                &data.x.select_rows(&fold.train),
                &train_labels,
                classes,
                derive_seed(seed, 10 + fold.index as u64),
            )?;
            let probs = model.predict_proba(&data.x.select_rows(&fold.test))?;
            for (&row, p) in fold.test.iter().zip(probs) {
                held[row] = Some(p);
            }
        }
        let (rows, probs): (Vec<usize>, Vec<Vec<f64>>) = held
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .unzip();
        let held_labels: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
        let recalibrator = Recalibrator::fit(options.recalibration, &probs, &held_labels, classes);
        let calibrated: Vec<Vec<f64>> = probs
            .iter()
            .map(|p| {
                recalibrator
                    .as_ref()
                    .map_or_else(|| p.clone(), |r| r.apply(p))
            })
            .collect();
        let score = |k: usize| 1.0 - calibrated[k][held_labels[k]];
        let mut calibration_rows = vec![0usize; classes];
        held_labels.iter().for_each(|&l| calibration_rows[l] += 1);
        let thresholds = match options.sets {
            SetMethod::Marginal => {
                let mut s: Vec<f64> = (0..held_labels.len()).map(score).collect();
                vec![set_threshold(&mut s, options.level)]
            }
            SetMethod::ClassConditional => (0..classes)
                .map(|c| {
                    let mut s: Vec<f64> = (0..held_labels.len())
                        .filter(|&k| held_labels[k] == c)
                        .map(score)
                        .collect();
                    set_threshold(&mut s, options.level)
                })
                .collect(),
        };
        let model = Classifier::fit(spec, &data.x, &labels, classes, seed)?;
        Ok(CalibratedClassifier {
            model,
            options: options.clone(),
            recalibrator,
            thresholds,
            calibration_rows,
        })
    }

    pub fn classes(&self) -> usize {
        self.model.classes
    }

    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    pub fn predict(&self, x: &crate::Matrix) -> Result<Vec<ClassPrediction>, MlError> {
        Ok(self
            .model
            .predict_proba(x)?
            .into_iter()
            .map(|p| self.predict_one(&p))
            .collect())
    }

    fn predict_one(&self, raw: &[f64]) -> ClassPrediction {
        let probabilities = self
            .recalibrator
            .as_ref()
            .map_or_else(|| raw.to_vec(), |r| r.apply(raw));
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| {
            probabilities[b]
                .total_cmp(&probabilities[a])
                .then(a.cmp(&b))
        });
        // A whisker of tolerance: a score equal to the threshold up to rounding is in.
        let set = order
            .iter()
            .copied()
            .filter(|&c| {
                let t = self.thresholds[if self.thresholds.len() == 1 { 0 } else { c }];
                1.0 - probabilities[c] <= t + 1e-12
            })
            .collect();
        ClassPrediction {
            label: order[0],
            probabilities,
            set,
        }
    }
}

/// Class indices from a dataset whose `y` holds them.
pub(crate) fn labels_of(data: &Dataset, classes: usize) -> Result<Vec<usize>, MlError> {
    data.y
        .iter()
        .map(|&v| {
            if v >= 0.0 && v.fract() == 0.0 && (v as usize) < classes {
                Ok(v as usize)
            } else {
                Err(MlError::InvalidInput(format!(
                    "class label {v} is not an index below {classes}"
                )))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_is_monotone_and_pools_violators() {
        let p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        let y = [false, true, false, false, true, true];
        let Map::Isotonic { x, y: v } = Map::isotonic(&p, &y) else {
            unreachable!()
        };
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{v:?}");
        // 0.2, 0.3, 0.4 pool to 1/3 (scikit-learn's IsotonicRegression gives the same).
        let m = Map::Isotonic { x, y: v };
        assert!((m.apply(0.3) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.apply(0.0), 0.0);
        assert_eq!(m.apply(0.9), 1.0);
    }

    #[test]
    fn platt_sharpens_underconfident_probabilities() {
        // Outcomes follow p' = σ(3 · logit p): the fit should find a ≈ 3, b ≈ 0.
        let mut p = Vec::new();
        let mut y = Vec::new();
        for i in 1..200 {
            let q = i as f64 / 200.0;
            let truth = sigmoid(3.0 * logit(q));
            for k in 0..20 {
                p.push(q);
                y.push((k as f64 + 0.5) / 20.0 < truth);
            }
        }
        let Map::Platt { a, b } = Map::platt(&p, &y) else {
            unreachable!()
        };
        assert!((a - 3.0).abs() < 0.3 && b.abs() < 0.2, "a {a}, b {b}");
    }

    #[test]
    fn quantile_needs_enough_rows_for_the_level() {
        let mut few = vec![0.1; 5];
        assert_eq!(set_threshold(&mut few, 0.9), 1.0);
        let mut scores: Vec<f64> = (1..=19).map(|i| i as f64 / 20.0).collect();
        // ⌈20 · 0.9⌉ = 18th smallest.
        assert_eq!(set_threshold(&mut scores, 0.9), 0.9);
    }
}
