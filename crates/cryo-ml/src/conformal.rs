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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConformalModel {
    pub method: ConformalMethod,
    point: Pipeline,
    members: Vec<Pipeline>,
    /// Each calibration row's (member that did not see it, absolute residual).
    residuals: Vec<(usize, f64)>,
}

impl ConformalModel {
    /// Fits the point model and the calibration. `like` decides how calibration folds are
    /// drawn: a group splitter keeps groups apart, anything else shuffles rows.
    pub fn fit(
        spec: &Spec,
        data: &Dataset,
        method: &ConformalMethod,
        like: &Splitter,
        seed: u64,
    ) -> Result<ConformalModel, MlError> {
        let grouped = matches!(like, Splitter::GroupKFold { .. }) && data.groups.is_some();
        let splitter = |k: usize| {
            if grouped {
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
        match method {
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
                let pred = point.predict(&data.x.select_rows(&fold.test))?;
                let residuals = fold
                    .test
                    .iter()
                    .zip(pred)
                    .map(|(&i, p)| (0, (data.y[i] - p).abs()))
                    .collect();
                Ok(ConformalModel {
                    method: method.clone(),
                    point,
                    members: Vec::new(),
                    residuals,
                })
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
                let fitted: Vec<(Pipeline, Vec<(usize, f64)>)> = folds
                    .par_iter()
                    .enumerate()
                    .map(|(m, fold)| {
                        let member = fit_on(&fold.train, derive_seed(seed, 100 + m as u64))?;
                        let pred = member.predict(&data.x.select_rows(&fold.test))?;
                        let res = fold
                            .test
                            .iter()
                            .zip(pred)
                            .map(|(&i, p)| (m, (data.y[i] - p).abs()))
                            .collect();
                        Ok((member, res))
                    })
                    .collect::<Result<_, MlError>>()?;
                let mut members = Vec::with_capacity(fitted.len());
                let mut residuals = Vec::with_capacity(data.len());
                for (member, res) in fitted {
                    members.push(member);
                    residuals.extend(res);
                }
                Ok(ConformalModel {
                    method: method.clone(),
                    point,
                    members,
                    residuals,
                })
            }
        }
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
        let intervals = if self.members.is_empty() {
            let mut sorted: Vec<f64> = self.residuals.iter().map(|r| r.1).collect();
            sorted.sort_by(f64::total_cmp);
            let k = ((n + 1) as f64 * level).ceil() as usize;
            let q = if k == 0 {
                0.0
            } else if k > n {
                f64::INFINITY
            } else {
                sorted[k - 1]
            };
            point
                .iter()
                .map(|p| Interval {
                    lower: p - q,
                    upper: p + q,
                })
                .collect()
        } else {
            let member_preds: Vec<Vec<f64>> = self
                .members
                .iter()
                .map(|m| m.predict(x))
                .collect::<Result<_, _>>()?;
            let alpha = 1.0 - level;
            // Within 0..=n and 1..=n+1 whatever the level, so no index below can be out of range.
            let lo_k = ((alpha * (n + 1) as f64).floor() as usize).min(n);
            let hi_k = (((1.0 - alpha) * (n + 1) as f64).ceil() as usize).max(1);
            let mut lows = vec![0.0; n];
            let mut highs = vec![0.0; n];
            (0..x.rows())
                .map(|row| {
                    for (j, &(m, r)) in self.residuals.iter().enumerate() {
                        let mu = member_preds[m][row];
                        lows[j] = mu - r;
                        highs[j] = mu + r;
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
                .collect()
        };
        Ok((point, intervals, spread))
    }
}
