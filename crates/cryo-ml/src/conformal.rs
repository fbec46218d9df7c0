//! Conformal prediction intervals: distribution-free, with a finite-sample guarantee of
//! marginal coverage when calibration and new data are exchangeable.
//!
//! * Split: fit on one part, take the ⌈(n+1)·level⌉-th smallest absolute residual on the
//!   held-out calibration part as the half-width (Vovk et al.; Lei et al. 2018).
//! * CV+ and jackknife+ (Barber et al. 2021): keep the K fold models and every training row's
//!   out-of-fold residual Rᵢ; for a new x the interval runs from the ⌊α(n+1)⌋-th smallest
//!   μ₋ₖ₍ᵢ₎(x) − Rᵢ to the ⌈(1−α)(n+1)⌉-th smallest μ₋ₖ₍ᵢ₎(x) + Rᵢ. The point prediction comes
//!   from a model fitted on all rows.
//!
//! Calibration folds follow the splitter they are given, so a model meant for unseen scaffolds
//! is calibrated on scaffold-grouped hold-outs. Residuals are kept, so any level can be asked
//! for at prediction time.
//!
//! Normalised scores ([`Scale`]): each residual is divided by a difficulty σ(x) + β before its
//! quantile is taken, and a new interval is stretched by the same σ(x) + β at the new x
//! (Papadopoulos et al. 2008; Lei et al. 2018 §5.2; Johansson et al. 2014 for the forest
//! spread). The difficulty of a calibration row never saw that row's residual: the spread
//! comes from the member that held the row out, and residual models are cross-fitted over
//! blocks of calibration rows. β, the median difficulty, keeps a near-zero σ from collapsing
//! an interval.

use crate::dataset::Dataset;
use crate::matrix::{Matrix, select};
pub use crate::metrics::Interval;
use crate::model::{Regressor, Spec};
use crate::pipeline::Pipeline;
use crate::split::Splitter;
use crate::{MlError, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ConformalMethod {
    Split {
        calibration_fraction: f64,
    },
    CvPlus {
        folds: usize,
    },
    /// Leave-one-out CV+ (n fits; small data sets only).
    JackknifePlus,
}

impl ConformalMethod {
    pub fn parse(name: &str) -> Result<ConformalMethod, MlError> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "split" => Ok(ConformalMethod::Split {
                calibration_fraction: 0.2,
            }),
            "cv_plus" | "cv+" | "cvplus" => Ok(ConformalMethod::CvPlus { folds: 5 }),
            "jackknife_plus" | "jackknife+" | "jackknife" => Ok(ConformalMethod::JackknifePlus),
            other => Err(MlError::InvalidInput(format!(
                "unknown conformal method {other:?}; expected split, cv-plus or jackknife-plus"
            ))),
        }
    }

    /// Model fits needed for one calibrated model on `n` rows.
    pub fn fits(&self, n: usize) -> usize {
        match self {
            ConformalMethod::Split { .. } => 1,
            ConformalMethod::CvPlus { folds } => folds + 1,
            ConformalMethod::JackknifePlus => n + 1,
        }
    }
}

/// Point predictions, their intervals and the model's native spread (if it has one).
pub type Predictions = (Vec<f64>, Vec<Interval>, Option<Vec<f64>>);

/// Interval levels a model answers: below 1 % an interval says nothing, and above 99.9 % no
/// calibration set of a lab's size can support it.
pub const LEVELS: std::ops::RangeInclusive<f64> = 0.01..=0.999;

/// The split-conformal quantile: the ⌈(n + 1)·level⌉-th smallest of the `n` scores (sorting
/// them), or `None` when there are too few scores to promise `level`.
pub fn conformal_quantile(scores: &mut [f64], level: f64) -> Option<f64> {
    let k = ((scores.len() as f64 + 1.0) * level).ceil() as usize;
    if k == 0 || k > scores.len() {
        return None;
    }
    scores.sort_by(f64::total_cmp);
    Some(scores[k - 1])
}

/// `level` if it is within [`LEVELS`], else an error naming the range.
pub fn check_level(level: f64) -> Result<f64, MlError> {
    if LEVELS.contains(&level) {
        Ok(level)
    } else {
        Err(MlError::InvalidParameter {
            name: "level",
            reason: format!(
                "must be within {}..{} (e.g. 0.9), got {level}",
                LEVELS.start(),
                LEVELS.end()
            ),
        })
    }
}

/// Largest data set jackknife+ accepts (it fits one model per row).
pub const JACKKNIFE_MAX_ROWS: usize = 500;

/// What makes one interval wider than another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Spread for a model that has one, residual for the others (resolved when fitting).
    Auto,
    /// The same width everywhere: plain absolute residuals (what anything stored before
    /// scales existed reads as).
    #[default]
    None,
    /// The model's own ensemble spread (forest trees, kNN neighbours, MLP members).
    Spread,
    /// A small random forest fitted to the absolute held-out residuals (any model).
    Residual,
}

impl Scale {
    pub const ALL: [Scale; 4] = [Scale::Auto, Scale::None, Scale::Spread, Scale::Residual];

    pub fn name(self) -> &'static str {
        match self {
            Scale::Auto => "auto",
            Scale::None => "none",
            Scale::Spread => "spread",
            Scale::Residual => "residual",
        }
    }

    pub fn parse(name: &str) -> Result<Scale, MlError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Scale::Auto),
            "none" | "constant" => Ok(Scale::None),
            "spread" | "ensemble" => Ok(Scale::Spread),
            "residual" | "residuals" => Ok(Scale::Residual),
            other => Err(MlError::InvalidInput(format!(
                "unknown interval scale {other:?}; expected auto, none, spread or residual"
            ))),
        }
    }

    /// What `Auto` means for `spec`; other scales are themselves.
    pub fn resolve(self, spec: &Spec) -> Scale {
        match self {
            Scale::Auto if spec.has_spread() => Scale::Spread,
            Scale::Auto => Scale::Residual,
            other => other,
        }
    }
}

impl std::str::FromStr for Scale {
    type Err = MlError;
    fn from_str(s: &str) -> Result<Scale, MlError> {
        Scale::parse(s)
    }
}

impl Scale {
    pub fn label(self) -> &'static str {
        match self {
            Scale::Auto => "adaptive (model's choice)",
            Scale::None => "same width everywhere",
            Scale::Spread => "by ensemble spread",
            Scale::Residual => "by residual model",
        }
    }
}

/// The residual model: shallow and averaged, so it learns where errors are large rather than
/// the errors themselves.
fn residual_spec() -> Spec {
    Spec::RandomForest {
        n_trees: 50,
        max_depth: 6,
        min_samples_leaf: 5,
        max_features: 0.5,
    }
}

/// Fewest calibration rows a residual model is fitted on.
pub const MIN_RESIDUAL_ROWS: usize = 20;

/// Blocks of calibration rows the residual models are cross-fitted over.
const RESIDUAL_BLOCKS: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Normaliser {
    scale: Scale,
    /// Added to every difficulty: the median difficulty of the calibration rows.
    beta: f64,
    /// Residual models, each fitted on the calibration rows outside one block.
    models: Vec<Pipeline>,
    /// Per calibration row, the residual model that did not see it.
    model_of: Vec<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConformalModel {
    pub method: ConformalMethod,
    point: Pipeline,
    members: Vec<Pipeline>,
    /// Each calibration row's (member that did not see it, score): the absolute residual,
    /// divided by the row's difficulty + β when intervals are normalised.
    residuals: Vec<(usize, f64)>,
    #[serde(default)]
    normaliser: Option<Normaliser>,
}

/// A calibration row before scoring.
struct Held {
    row: usize,
    member: usize,
    residual: f64,
    spread: Option<f64>,
}

impl ConformalModel {
    /// Fits the point model and the calibration. `like` decides how calibration folds are
    /// drawn: a group splitter keeps groups apart, and so do predefined folds that keep every
    /// group in one fold (a scaffold split made elsewhere); anything else shuffles rows.
    pub fn fit(
        spec: &Spec,
        data: &Dataset,
        method: &ConformalMethod,
        scale: Scale,
        like: &Splitter,
        seed: u64,
    ) -> Result<ConformalModel, MlError> {
        let grouped = match like {
            Splitter::GroupKFold { .. } => data.groups.is_some(),
            Splitter::Predefined => folds_keep_groups_apart(data),
            _ => false,
        };
        // A training fold of a scaffold split may hold fewer scaffolds than calibration folds
        // (one large acyclic group, say): its calibration folds are then shuffled rows, as
        // grouping them is impossible.
        let distinct_groups = data.groups.as_ref().map_or(0, |g| {
            g.iter().collect::<std::collections::HashSet<_>>().len()
        });
        let splitter = |k: usize| {
            if grouped && distinct_groups >= k {
                Splitter::GroupKFold { k }
            } else {
                Splitter::KFold { k }
            }
        };
        let fit_on = |rows: &[usize], s: u64| -> Result<Pipeline, MlError> {
            let mut p = Pipeline::new(spec.clone());
            p.fit(&data.x.select_rows(rows), &select(&data.y, rows), s)?;
            Ok(p)
        };
        // Held-out residuals (and spreads) of the rows `model` never saw.
        let held_out = |model: &Pipeline, member: usize, rows: &[usize]| {
            let (pred, spread) = model.predict_with_spread(&data.x.select_rows(rows))?;
            Ok::<_, MlError>(
                rows.iter()
                    .enumerate()
                    .map(|(k, &row)| Held {
                        row,
                        member,
                        residual: (data.y[row] - pred[k]).abs(),
                        spread: spread.as_ref().map(|s| s[k]),
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let (point, members, held) = match method {
            ConformalMethod::Split {
                calibration_fraction,
            } => {
                if !(0.05..=0.5).contains(calibration_fraction) {
                    return Err(MlError::InvalidParameter {
                        name: "calibration_fraction",
                        reason: "must be within 0.05..0.5".into(),
                    });
                }
                let k = (1.0 / calibration_fraction).round() as usize;
                let fold = splitter(k)
                    .folds(data, derive_seed(seed, 1))?
                    .swap_remove(0);
                let point = fit_on(&fold.train, seed)?;
                let held = held_out(&point, 0, &fold.test)?;
                (point, Vec::new(), held)
            }
            ConformalMethod::CvPlus { .. } | ConformalMethod::JackknifePlus => {
                let folds = match method {
                    ConformalMethod::CvPlus { folds } => {
                        splitter(*folds).folds(data, derive_seed(seed, 1))?
                    }
                    _ => {
                        if data.len() > JACKKNIFE_MAX_ROWS {
                            return Err(MlError::InvalidInput(format!(
                                "jackknife+ fits one model per row; {} rows is more than {JACKKNIFE_MAX_ROWS}, use cv-plus",
                                data.len()
                            )));
                        }
                        Splitter::LeaveOneOut.folds(data, 0)?
                    }
                };
                let all: Vec<usize> = (0..data.len()).collect();
                let point = fit_on(&all, seed)?;
                let fitted: Vec<(Pipeline, Vec<Held>)> = folds
                    .par_iter()
                    .enumerate()
                    .map(|(m, fold)| {
                        let member = fit_on(&fold.train, derive_seed(seed, 100 + m as u64))?;
                        let held = held_out(&member, m, &fold.test)?;
                        Ok((member, held))
                    })
                    .collect::<Result<_, MlError>>()?;
                let mut members = Vec::with_capacity(fitted.len());
                let mut held = Vec::with_capacity(data.len());
                for (member, h) in fitted {
                    members.push(member);
                    held.extend(h);
                }
                (point, members, held)
            }
        };
        let scale = match scale.resolve(spec) {
            // Too few residuals to learn where they are large: the same width everywhere.
            Scale::Residual if scale == Scale::Auto && held.len() < MIN_RESIDUAL_ROWS => {
                Scale::None
            }
            resolved => resolved,
        };
        let (normaliser, difficulty) = match scale {
            Scale::None | Scale::Auto => (None, Vec::new()),
            Scale::Spread => {
                let spread: Vec<f64> = held
                    .iter()
                    .map(|h| h.spread)
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        MlError::InvalidInput(format!(
                            "{} has no ensemble spread to scale intervals by; use the residual scale",
                            spec.algorithm().name()
                        ))
                    })?;
                let norm = Normaliser {
                    scale,
                    beta: 0.0,
                    models: Vec::new(),
                    model_of: Vec::new(),
                };
                (Some(norm), spread)
            }
            Scale::Residual => {
                let (norm, difficulty) = fit_residual_models(data, &held, &splitter, seed)?;
                (Some(norm), difficulty)
            }
        };
        let normaliser = normaliser.map(|n| Normaliser {
            beta: median_positive(&difficulty),
            ..n
        });
        let residuals = held
            .iter()
            .enumerate()
            .map(|(j, h)| {
                let score = match &normaliser {
                    Some(n) => h.residual / (difficulty[j].max(0.0) + n.beta),
                    None => h.residual,
                };
                (h.member, score)
            })
            .collect();
        Ok(ConformalModel {
            method: method.clone(),
            point,
            members,
            residuals,
            normaliser,
        })
    }

    /// How this model's intervals are scaled (never `Auto`).
    pub fn scale(&self) -> Scale {
        self.normaliser.as_ref().map_or(Scale::None, |n| n.scale)
    }

    pub fn point(&self) -> &Pipeline {
        &self.point
    }

    pub fn calibration_size(&self) -> usize {
        self.residuals.len()
    }

    /// Point predictions, intervals at `level` (e.g. 0.9), and the native spread if any.
    pub fn predict(&self, x: &Matrix, level: f64) -> Result<Predictions, MlError> {
        check_level(level)?;
        let (point, spread) = self.point.predict_with_spread(x)?;
        let n = self.residuals.len();
        if self.members.is_empty() && self.normaliser.is_none() {
            // Too few residuals for the level (`check_level` keeps it above 0): unbounded.
            let mut residuals: Vec<f64> = self.residuals.iter().map(|r| r.1).collect();
            let q = conformal_quantile(&mut residuals, level).unwrap_or(f64::INFINITY);
            let intervals = point
                .iter()
                .map(|p| Interval {
                    lower: p - q,
                    upper: p + q,
                })
                .collect();
            return Ok((point, intervals, spread));
        }
        // Per member (the point model for split conformal): its predictions and spreads.
        let centres: Vec<(Vec<f64>, Option<Vec<f64>>)> = if self.members.is_empty() {
            vec![(point.clone(), spread.clone())]
        } else {
            self.members
                .iter()
                .map(|m| m.predict_with_spread(x))
                .collect::<Result<_, _>>()?
        };
        let residual_models: Vec<Vec<f64>> = match &self.normaliser {
            Some(norm) => norm
                .models
                .iter()
                .map(|m| m.predict(x))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        // The width multiplier of calibration row `j`'s score at new row `row`.
        let stretch = |j: usize, member: usize, row: usize| -> f64 {
            match &self.normaliser {
                None => 1.0,
                Some(norm) => {
                    let d = match norm.scale {
                        Scale::Residual => residual_models[norm.model_of[j]][row],
                        _ => centres[member].1.as_ref().map_or(0.0, |s| s[row]),
                    };
                    d.max(0.0) + norm.beta
                }
            }
        };
        let alpha = 1.0 - level;
        // Within 0..=n and 1..=n+1 whatever the level, so no index below can be out of range.
        let lo_k = ((alpha * (n + 1) as f64).floor() as usize).min(n);
        let hi_k = (((1.0 - alpha) * (n + 1) as f64).ceil() as usize).max(1);
        let mut lows = vec![0.0; n];
        let mut highs = vec![0.0; n];
        let intervals = (0..x.rows())
            .map(|row| {
                for (j, &(m, r)) in self.residuals.iter().enumerate() {
                    let mu = centres[m].0[row];
                    let half = r * stretch(j, m, row);
                    lows[j] = mu - half;
                    highs[j] = mu + half;
                }
                let lower = if lo_k == 0 {
                    f64::NEG_INFINITY
                } else {
                    *lows.select_nth_unstable_by(lo_k - 1, f64::total_cmp).1
                };
                let upper = if hi_k > n {
                    f64::INFINITY
                } else {
                    *highs.select_nth_unstable_by(hi_k - 1, f64::total_cmp).1
                };
                Interval { lower, upper }
            })
            .collect();
        Ok((point, intervals, spread))
    }
}

/// Whether `data` has groups and predefined folds, and no group lies in two folds.
pub(crate) fn folds_keep_groups_apart(data: &Dataset) -> bool {
    let (Some(groups), Some(folds)) = (&data.groups, &data.folds) else {
        return false;
    };
    let mut fold_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    groups
        .iter()
        .zip(folds)
        .all(|(g, &f)| *fold_of.entry(g.as_str()).or_insert(f) == f)
}

/// Residual models cross-fitted over blocks of the calibration rows: block b's rows are scored
/// by a model fitted on the other blocks' absolute residuals. Returns the normaliser (β still
/// to be set) and each calibration row's difficulty.
fn fit_residual_models(
    data: &Dataset,
    held: &[Held],
    splitter: &dyn Fn(usize) -> Splitter,
    seed: u64,
) -> Result<(Normaliser, Vec<f64>), MlError> {
    let rows: Vec<usize> = held.iter().map(|h| h.row).collect();
    let mut calibration = data.subset(&rows);
    calibration.y = held.iter().map(|h| h.residual).collect();
    calibration.folds = None;
    if calibration.len() < MIN_RESIDUAL_ROWS {
        return Err(MlError::NotEnoughData(format!(
            "{} calibration rows are too few to learn where residuals are large (at least {MIN_RESIDUAL_ROWS}); use the none scale",
            calibration.len()
        )));
    }
    let k = RESIDUAL_BLOCKS;
    let blocks = splitter(k).folds(&calibration, derive_seed(seed, 2))?;
    let fitted: Vec<(Pipeline, Vec<f64>)> = blocks
        .par_iter()
        .enumerate()
        .map(|(b, block)| {
            let mut model = Pipeline::new(residual_spec());
            model.fit(
                &calibration.x.select_rows(&block.train),
                &select(&calibration.y, &block.train),
                derive_seed(seed, 500 + b as u64),
            )?;
            let scored = model.predict(&calibration.x.select_rows(&block.test))?;
            Ok((model, scored))
        })
        .collect::<Result<_, MlError>>()?;
    let mut model_of = vec![0; held.len()];
    let mut difficulty = vec![0.0; held.len()];
    let mut models = Vec::with_capacity(fitted.len());
    for (b, (model, scored)) in fitted.into_iter().enumerate() {
        for (&j, d) in blocks[b].test.iter().zip(scored) {
            model_of[j] = b;
            difficulty[j] = d;
        }
        models.push(model);
    }
    let norm = Normaliser {
        scale: Scale::Residual,
        beta: 0.0,
        models,
        model_of,
    };
    Ok((norm, difficulty))
}

/// The median of the positive values (β of the normalised score); the smallest positive float
/// when none is positive, so a score never divides by zero.
fn median_positive(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d > 0.0)
        .collect();
    if v.is_empty() {
        return f64::MIN_POSITIVE;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Sample;

    fn grouped(folds: &[usize]) -> Dataset {
        let samples = (0..folds.len())
            .map(|i| Sample {
                id: format!("r{i}"),
                features: vec![i as f64],
                target: i as f64,
                group: Some(format!("g{}", i / 2)),
                time: None,
            })
            .collect();
        let mut d = Dataset::from_samples(vec!["x".into()], samples).unwrap();
        d.folds = Some(folds.to_vec());
        d
    }

    #[test]
    fn predefined_folds_calibrate_by_group_only_when_they_keep_groups_apart() {
        // Rows 2k and 2k+1 share group k.
        assert!(folds_keep_groups_apart(&grouped(&[0, 0, 1, 1, 2, 2])));
        assert!(!folds_keep_groups_apart(&grouped(&[0, 1, 1, 1, 2, 2])));
        let mut no_groups = grouped(&[0, 0, 1, 1]);
        no_groups.groups = None;
        assert!(!folds_keep_groups_apart(&no_groups));
    }

    #[test]
    fn a_training_fold_with_fewer_scaffolds_than_calibration_folds_still_calibrates() {
        // 40 rows in 2 groups, calibrated "by group" with CV+ over 5 folds: impossible to
        // group, so the calibration folds are shuffled rows instead of a refusal.
        let mut data = grouped(&[0; 40]);
        data.groups = Some((0..40).map(|i| format!("g{}", i % 2)).collect());
        let spec = crate::Algorithm::Ridge.default_spec();
        let model = ConformalModel::fit(
            &spec,
            &data,
            &ConformalMethod::CvPlus { folds: 5 },
            Scale::None,
            &Splitter::GroupKFold { k: 2 },
            0,
        )
        .unwrap();
        assert_eq!(model.calibration_size(), 40);
    }

    #[test]
    fn beta_is_the_median_positive_difficulty_and_never_zero() {
        assert_eq!(median_positive(&[0.0, 3.0, 1.0, 2.0, f64::NAN]), 2.0);
        assert_eq!(median_positive(&[0.0, 0.0]), f64::MIN_POSITIVE);
    }
}
