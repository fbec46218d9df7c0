//! Preprocessing + estimator, fitted together so that imputation means and scaling statistics
//! come from the training rows only: inside cross-validation a pipeline is fitted per fold, and
//! the held-out fold never informs its preprocessing.

use crate::MlError;
use crate::matrix::Matrix;
use crate::model::{Estimator, Regressor, Spec};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pipeline {
    pub spec: Spec,
    features: usize,
    /// Replacement for missing or non-finite values: the training mean of each column.
    fill: Vec<f64>,
    /// (mean, standard deviation) per column when the estimator wants standardised inputs.
    scale: Option<Vec<(f64, f64)>>,
    estimator: Option<Estimator>,
}

/// What a fitted pipeline does to a row before its estimator sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Preprocessing {
    pub description: String,
    /// Per column: the value that replaces a missing one.
    pub fill: Vec<f64>,
    /// Per column: (mean, standard deviation), when the estimator wants standardised inputs.
    pub scale: Option<Vec<(f64, f64)>>,
}

impl Pipeline {
    pub fn new(spec: Spec) -> Pipeline {
        Pipeline {
            spec,
            features: 0,
            fill: Vec::new(),
            scale: None,
            estimator: None,
        }
    }

    pub fn estimator(&self) -> Option<&Estimator> {
        self.estimator.as_ref()
    }

    pub fn features(&self) -> usize {
        self.features
    }

    /// The fitted preprocessing, for a model's readable record.
    pub fn preprocessing(&self) -> Preprocessing {
        Preprocessing {
            description: if self.scale.is_some() {
                "missing values replaced by the training mean; columns standardised with the training mean and standard deviation".into()
            } else {
                "missing values replaced by the training mean; no scaling".into()
            },
            fill: self.fill.clone(),
            scale: self.scale.clone(),
        }
    }

    fn transform(&self, x: &Matrix) -> Result<Matrix, MlError> {
        x.check_cols(self.features)?;
        Ok(prepare(x, &self.fill, self.scale.as_deref()))
    }
}

/// Each column's mean over its finite values (0 for a column with none): what replaces a
/// missing value.
pub(crate) fn fill_values(x: &Matrix) -> Vec<f64> {
    (0..x.cols())
        .map(|j| {
            let (s, k) = x
                .column(j)
                .filter(|v| v.is_finite())
                .fold((0.0, 0usize), |(s, k), v| (s + v, k + 1));
            if k == 0 { 0.0 } else { s / k as f64 }
        })
        .collect()
}

/// (mean, standard deviation) of each column of `filled` (no missing values).
pub(crate) fn scales(filled: &Matrix) -> Vec<(f64, f64)> {
    let n = filled.rows() as f64;
    (0..filled.cols())
        .map(|j| {
            let m = filled.column(j).sum::<f64>() / n;
            let var = filled.column(j).map(|v| (v - m).powi(2)).sum::<f64>() / n;
            // Constant columns stay constant (0) rather than dividing by zero.
            (m, if var > 0.0 { var.sqrt() } else { 1.0 })
        })
        .collect()
}

/// `x` with missing values replaced by `fill` and, given `scale`, columns standardised.
pub(crate) fn prepare(x: &Matrix, fill: &[f64], scale: Option<&[(f64, f64)]>) -> Matrix {
    let mut out = x.clone();
    for i in 0..out.rows() {
        for (j, v) in out.row_mut(i).iter_mut().enumerate() {
            if !v.is_finite() {
                *v = fill[j];
            }
            if let Some(scale) = scale {
                let (m, s) = scale[j];
                *v = (*v - m) / s;
            }
        }
    }
    out
}

impl Regressor for Pipeline {
    fn fit(&mut self, x: &Matrix, y: &[f64], seed: u64) -> Result<(), MlError> {
        self.features = x.cols();
        self.fill = fill_values(x);
        self.scale = None;
        let filled = self.transform(x)?;
        self.scale = self.spec.needs_scaling().then(|| scales(&filled));
        let prepared = if self.scale.is_some() {
            self.transform(x)?
        } else {
            filled
        };
        let mut estimator = self.spec.build()?;
        estimator.fit(&prepared, y, seed)?;
        self.estimator = Some(estimator);
        Ok(())
    }

    fn predict_with_spread(&self, x: &Matrix) -> Result<(Vec<f64>, Option<Vec<f64>>), MlError> {
        let estimator = self.estimator.as_ref().ok_or(MlError::NotFitted)?;
        estimator.predict_with_spread(&self.transform(x)?)
    }

    fn importance(&self) -> Option<Vec<f64>> {
        self.estimator.as_ref()?.importance()
    }
}
