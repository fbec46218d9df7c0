//! Cross-validation of a calibrated classifier: each outer fold's model, recalibration and
//! prediction-set thresholds are fitted on its training rows only (with their own inner
//! folds), so the pooled metrics and set coverage are on rows nothing was fitted on.

use super::calibrate::labels_of;
use super::metrics::{
    ClassMetrics, CurvePoint, ReliabilityBin, SetCoverage, pr_curve, reliability, roc_curve,
};
use super::{CalibratedClassifier, ClassOptions, ClassPrediction, ClassSpec};
use crate::dataset::Dataset;
use crate::split::Splitter;
use crate::{MlError, Progress, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassFold {
    pub index: usize,
    pub repeat: usize,
    pub metrics: ClassMetrics,
    pub sets: SetCoverage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutOfFoldClass {
    pub row: usize,
    pub id: String,
    pub fold: usize,
    pub label: usize,
    pub prediction: ClassPrediction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassReport {
    pub algorithm: String,
    pub spec: ClassSpec,
    pub splitter: String,
    pub classes: Vec<String>,
    /// Rows per class.
    pub class_counts: Vec<usize>,
    pub options: ClassOptions,
    /// Over every held-out prediction.
    pub pooled: ClassMetrics,
    pub sets: SetCoverage,
    pub folds: Vec<ClassFold>,
    /// The top class's confidence against its accuracy, for a reliability diagram.
    pub reliability: Vec<ReliabilityBin>,
    /// ROC curve per class against the rest (two classes: the positive class only).
    pub roc: Vec<Vec<CurvePoint>>,
    /// Precision–recall curve per class against the rest, like `roc`.
    #[serde(default)]
    pub pr: Vec<Vec<CurvePoint>>,
    pub out_of_fold: Vec<OutOfFoldClass>,
}

/// Whether calibration folds inside each outer fold should keep groups apart.
fn grouped(splitter: &Splitter, data: &Dataset) -> bool {
    match splitter {
        Splitter::GroupKFold { .. } => data.groups.is_some(),
        Splitter::Predefined => crate::conformal::folds_keep_groups_apart(data),
        _ => false,
    }
}

/// A curve per class against the rest (two classes: the positive class only).
fn one_vs_rest(
    y: &[usize],
    probs: &[Vec<f64>],
    k: usize,
    curve: fn(&[f64], &[bool]) -> Vec<CurvePoint>,
) -> Vec<Vec<CurvePoint>> {
    (if k == 2 { 1..2 } else { 0..k })
        .map(|c| {
            let s: Vec<f64> = probs.iter().map(|p| p[c]).collect();
            let pos: Vec<bool> = y.iter().map(|&l| l == c).collect();
            curve(&s, &pos)
        })
        .collect()
}

pub fn cross_validate_classifier(
    spec: &ClassSpec,
    data: &Dataset,
    classes: &[String],
    splitter: &Splitter,
    options: &ClassOptions,
    seed: u64,
    progress: Progress,
) -> Result<ClassReport, MlError> {
    spec.check()?;
    options.check()?;
    let k = classes.len();
    let labels = labels_of(data, k)?;
    let folds = splitter.folds(data, seed)?;
    let grouped = grouped(splitter, data);
    let done = AtomicUsize::new(0);
    progress(0, folds.len());
    let results: Vec<(usize, usize, Vec<usize>, Vec<ClassPrediction>)> = folds
        .par_iter()
        .map(|fold| {
            let train = data.subset(&fold.train);
            let model = CalibratedClassifier::fit(
                spec,
                &train,
                k,
                options,
                grouped,
                derive_seed(seed, 100 + (fold.repeat * 1000 + fold.index) as u64),
            )?;
            let predictions = model.predict(&data.x.select_rows(&fold.test))?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, folds.len());
            Ok((fold.index, fold.repeat, fold.test.clone(), predictions))
        })
        .collect::<Result<_, MlError>>()?;
    let mut fold_reports = Vec::new();
    let mut out_of_fold = Vec::new();
    for (index, repeat, rows, predictions) in results {
        let y: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
        let probs: Vec<Vec<f64>> = predictions
            .iter()
            .map(|p| p.probabilities.clone())
            .collect();
        fold_reports.push(ClassFold {
            index,
            repeat,
            metrics: ClassMetrics::compute(&y, &probs, k),
            sets: SetCoverage::compute(&y, &predictions, k, options.level),
        });
        for (row, prediction) in rows.into_iter().zip(predictions) {
            out_of_fold.push(OutOfFoldClass {
                row,
                id: data.ids[row].clone(),
                fold: index,
                label: labels[row],
                prediction,
            });
        }
    }
    out_of_fold.sort_by_key(|o| (o.row, o.fold));
    let y: Vec<usize> = out_of_fold.iter().map(|o| o.label).collect();
    let probs: Vec<Vec<f64>> = out_of_fold
        .iter()
        .map(|o| o.prediction.probabilities.clone())
        .collect();
    let predictions: Vec<ClassPrediction> =
        out_of_fold.iter().map(|o| o.prediction.clone()).collect();
    let mut class_counts = vec![0; k];
    labels.iter().for_each(|&l| class_counts[l] += 1);
    Ok(ClassReport {
        algorithm: spec.algorithm().name().into(),
        spec: spec.clone(),
        splitter: splitter.describe(),
        classes: classes.to_vec(),
        class_counts,
        options: options.clone(),
        pooled: ClassMetrics::compute(&y, &probs, k),
        sets: SetCoverage::compute(&y, &predictions, k, options.level),
        folds: fold_reports,
        reliability: reliability(&y, &probs),
        roc: one_vs_rest(&y, &probs, k, roc_curve),
        pr: one_vs_rest(&y, &probs, k, pr_curve),
        out_of_fold,
    })
}
