//! Cross-validation, learning curves and a fit diagnosis. Each fold fits a fresh pipeline on
//! its training rows only (preprocessing included) and is scored on rows it never saw; the
//! "fit" metrics are labelled as such and serve only the over/under-fitting diagnosis.

use crate::conformal::{ConformalMethod, ConformalModel, Interval, Scale};
use crate::dataset::Dataset;
use crate::matrix::select;
use crate::metrics::{CALIBRATION_LEVELS, Coverage, Metrics};
use crate::model::{Regressor, Spec};
use crate::pipeline::Pipeline;
use crate::split::{Fold, Splitter};
use crate::uncertainty::Uncertainty;
use crate::{MlError, Progress, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CvOptions {
    pub seed: u64,
    /// Calibrate intervals inside every fold with this method, at this level.
    pub conformal: Option<(ConformalMethod, f64)>,
    /// How calibrated intervals are scaled (normalised conformal scores).
    #[serde(default)]
    pub scale: Scale,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoldReport {
    pub index: usize,
    pub repeat: usize,
    pub train_size: usize,
    pub test_size: usize,
    /// On the rows the model was fitted on (for the diagnosis only).
    pub fit: Metrics,
    /// On the held-out rows.
    pub validation: Metrics,
    /// Wall time of fitting (all fits of the fold, calibration included).
    pub fit_seconds: f64,
    /// The hyperparameters an inner search chose (nested CV).
    pub chosen: Option<Spec>,
    /// Coverage at each of [`CALIBRATION_LEVELS`] (calibrated folds only).
    #[serde(default)]
    pub calibration: Vec<Coverage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutOfFold {
    pub row: usize,
    pub repeat: usize,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub observed: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub predicted: f64,
    pub interval: Option<Interval>,
    pub spread: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct MeanStd {
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub mean: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub std: f64,
}

impl MeanStd {
    fn of(values: impl Iterator<Item = f64>) -> MeanStd {
        let v: Vec<f64> = values.collect();
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        MeanStd { mean, std }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub rmse: MeanStd,
    pub mae: MeanStd,
    pub r2: MeanStd,
    pub spearman: MeanStd,
    pub fit_r2: MeanStd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Overfitting,
    Underfitting,
    Balanced,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnosis {
    pub verdict: Verdict,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub fit_r2: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub validation_r2: f64,
    pub message: String,
}

/// Fit-minus-validation R² above which a model is called overfitted (the original's rule).
pub const OVERFIT_GAP: f64 = 0.3;

impl Diagnosis {
    pub fn from_r2(fit_r2: f64, validation_r2: f64) -> Diagnosis {
        let gap = fit_r2 - validation_r2;
        let (verdict, message) = if gap > OVERFIT_GAP {
            (
                Verdict::Overfitting,
                format!(
                    "R² drops by {gap:.2} from fitted to held-out data; regularise more, reduce depth or add data"
                ),
            )
        } else if validation_r2 < 0.5 && fit_r2 < 0.7 {
            (
                Verdict::Underfitting,
                format!(
                    "R² is low even on fitted data ({fit_r2:.2}); try a more flexible model or better features"
                ),
            )
        } else {
            (
                Verdict::Balanced,
                format!("fit R² {fit_r2:.2}, held-out R² {validation_r2:.2}"),
            )
        };
        Diagnosis {
            verdict,
            fit_r2,
            validation_r2,
            message,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CvReport {
    pub spec: Spec,
    pub splitter: String,
    pub seed: u64,
    pub level: Option<f64>,
    pub folds: Vec<FoldReport>,
    /// Metrics over all held-out predictions together.
    pub pooled: Metrics,
    /// Mean and spread of per-fold held-out metrics.
    pub summary: Summary,
    pub diagnosis: Diagnosis,
    pub predictions: Vec<OutOfFold>,
    /// Pooled coverage against nominal level (empty without intervals).
    pub calibration: Vec<Coverage>,
    /// Quality of the held-out intervals beyond coverage (calibrated runs only).
    #[serde(default)]
    pub uncertainty: Option<Uncertainty>,
    pub wall_seconds: f64,
}

type FoldPrediction = (Vec<f64>, Option<Vec<Interval>>, Option<Vec<f64>>);

enum FoldModel {
    Plain(Pipeline),
    Calibrated(ConformalModel, f64),
}

impl FoldModel {
    fn predict(&self, x: &crate::Matrix) -> Result<FoldPrediction, MlError> {
        match self {
            FoldModel::Plain(p) => p
                .predict_with_spread(x)
                .map(|(pred, spread)| (pred, None, spread)),
            FoldModel::Calibrated(c, level) => c
                .predict(x, *level)
                .map(|(pred, iv, spread)| (pred, Some(iv), spread)),
        }
    }
}

/// Fits `spec` on a fold's training rows and scores it on the test rows.
pub(crate) fn run_fold(
    data: &Dataset,
    fold: &Fold,
    spec: &Spec,
    like: &Splitter,
    options: &CvOptions,
) -> Result<(FoldReport, Vec<OutOfFold>), MlError> {
    let started = Instant::now();
    let seed = derive_seed(options.seed, (fold.repeat * 1000 + fold.index) as u64);
    let train = data.subset(&fold.train);
    let test_x = data.x.select_rows(&fold.test);
    let test_y = select(&data.y, &fold.test);
    let model = match &options.conformal {
        Some((method, level)) => FoldModel::Calibrated(
            ConformalModel::fit(spec, &train, method, options.scale, like, seed)?,
            *level,
        ),
        None => {
            let mut p = Pipeline::new(spec.clone());
            p.fit(&train.x, &train.y, seed)?;
            FoldModel::Plain(p)
        }
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    let (fit_pred, _, _) = model.predict(&train.x)?;
    let (pred, intervals, spread) = model.predict(&test_x)?;
    let calibration = match &model {
        FoldModel::Calibrated(c, _) => CALIBRATION_LEVELS
            .iter()
            .map(|&level| {
                let (p, iv, _) = c.predict(&test_x, level)?;
                Ok(Coverage::of(
                    level,
                    &Metrics::compute(&test_y, &p, Some(&iv)),
                ))
            })
            .collect::<Result<Vec<_>, MlError>>()?,
        FoldModel::Plain(_) => Vec::new(),
    };
    let report = FoldReport {
        index: fold.index,
        repeat: fold.repeat,
        train_size: fold.train.len(),
        test_size: fold.test.len(),
        fit: Metrics::compute(&train.y, &fit_pred, None),
        validation: Metrics::compute(&test_y, &pred, intervals.as_deref()),
        fit_seconds,
        chosen: None,
        calibration,
    };
    let oof = fold
        .test
        .iter()
        .enumerate()
        .map(|(k, &row)| OutOfFold {
            row,
            repeat: fold.repeat,
            observed: data.y[row],
            predicted: pred[k],
            interval: intervals.as_ref().map(|i| i[k]),
            spread: spread.as_ref().map(|s| s[k]),
        })
        .collect();
    Ok((report, oof))
}

pub(crate) fn assemble(
    spec: &Spec,
    splitter: &Splitter,
    options: &CvOptions,
    results: Vec<(FoldReport, Vec<OutOfFold>)>,
    started: Instant,
) -> CvReport {
    let mut folds = Vec::with_capacity(results.len());
    let mut predictions = Vec::new();
    for (f, p) in results {
        folds.push(f);
        predictions.extend(p);
    }
    let observed: Vec<f64> = predictions.iter().map(|p| p.observed).collect();
    let predicted: Vec<f64> = predictions.iter().map(|p| p.predicted).collect();
    let intervals: Option<Vec<Interval>> = predictions.iter().map(|p| p.interval).collect();
    let summary = Summary {
        rmse: MeanStd::of(folds.iter().map(|f| f.validation.rmse)),
        mae: MeanStd::of(folds.iter().map(|f| f.validation.mae)),
        r2: MeanStd::of(folds.iter().map(|f| f.validation.r2)),
        spearman: MeanStd::of(folds.iter().map(|f| f.validation.spearman)),
        fit_r2: MeanStd::of(folds.iter().map(|f| f.fit.r2)),
    };
    let pooled = Metrics::compute(&observed, &predicted, intervals.as_deref());
    let uncertainty = intervals
        .as_deref()
        .zip(options.conformal.as_ref())
        .and_then(|(intervals, (_, level))| {
            Uncertainty::of(&observed, &predicted, intervals, *level)
        });
    CvReport {
        spec: spec.clone(),
        splitter: splitter.describe(),
        seed: options.seed,
        level: options.conformal.as_ref().map(|c| c.1),
        diagnosis: Diagnosis::from_r2(summary.fit_r2.mean, summary.r2.mean),
        calibration: Coverage::pool(folds.iter().map(|f| f.calibration.as_slice())),
        folds,
        pooled,
        summary,
        predictions,
        uncertainty,
        wall_seconds: started.elapsed().as_secs_f64(),
    }
}

/// K-fold (or any splitter's) cross-validation of one hyperparameter setting.
pub fn cross_validate(
    data: &Dataset,
    spec: &Spec,
    splitter: &Splitter,
    options: &CvOptions,
    progress: Progress,
) -> Result<CvReport, MlError> {
    spec.validate()?;
    let started = Instant::now();
    let folds = splitter.folds(data, options.seed)?;
    let done = AtomicUsize::new(0);
    let total = folds.len();
    progress(0, total);
    let results = folds
        .par_iter()
        .map(|fold| {
            let r = run_fold(data, fold, spec, splitter, options);
            progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
            r
        })
        .collect::<Result<Vec<_>, MlError>>()?;
    Ok(assemble(spec, splitter, options, results, started))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LearningPoint {
    /// Mean number of training rows at this point.
    pub train_size: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub fit_r2: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub validation_r2: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub validation_rmse: f64,
}

/// Held-out R²/RMSE as the training part of each fold grows (20, 40, … 100 %).
pub fn learning_curve(
    data: &Dataset,
    spec: &Spec,
    splitter: &Splitter,
    seed: u64,
    progress: Progress,
) -> Result<Vec<LearningPoint>, MlError> {
    use rand::seq::SliceRandom;
    let folds = splitter.folds(data, seed)?;
    let fractions = [0.2, 0.4, 0.6, 0.8, 1.0];
    let tasks: Vec<(usize, &Fold)> = (0..fractions.len())
        .flat_map(|f| folds.iter().map(move |fold| (f, fold)))
        .collect();
    let done = AtomicUsize::new(0);
    let results = tasks
        .par_iter()
        .map(|&(f, fold)| {
            let mut train = fold.train.clone();
            train.shuffle(&mut crate::rng(derive_seed(seed, fold.index as u64)));
            train.truncate(((train.len() as f64 * fractions[f]).round() as usize).max(2));
            let sub = Fold {
                train,
                ..fold.clone()
            };
            let (report, _) = run_fold(
                data,
                &sub,
                spec,
                splitter,
                &CvOptions {
                    seed,
                    conformal: None,
                    scale: Scale::None,
                },
            )?;
            progress(done.fetch_add(1, Ordering::SeqCst) + 1, tasks.len());
            Ok((f, report))
        })
        .collect::<Result<Vec<_>, MlError>>()?;
    Ok((0..fractions.len())
        .map(|f| {
            let at: Vec<&FoldReport> = results.iter().filter(|r| r.0 == f).map(|r| &r.1).collect();
            let k = at.len().max(1) as f64;
            LearningPoint {
                train_size: at.iter().map(|r| r.train_size as f64).sum::<f64>() / k,
                fit_r2: at.iter().map(|r| r.fit.r2).sum::<f64>() / k,
                validation_r2: at.iter().map(|r| r.validation.r2).sum::<f64>() / k,
                validation_rmse: at.iter().map(|r| r.validation.rmse).sum::<f64>() / k,
            }
        })
        .collect())
}
