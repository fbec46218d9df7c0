//! A trained model as one self-describing value: the calibrated estimator plus everything needed
//! to trust and reuse it (feature signature, dataset digest, hyperparameters, the validation it
//! passed). Calibration is saved with the model, never recomputed at prediction time.

use crate::MlError;
use crate::conformal::ConformalModel;
use crate::matrix::Matrix;
use crate::metrics::Metrics;
use crate::model::Spec;
use crate::search::Trial;
use crate::validate::{CvReport, Diagnosis, Summary};
use serde::{Deserialize, Serialize};

/// Bumped when the layout changes incompatibly.
pub const ARTIFACT_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSignature {
    /// e.g. `rdkit`, or `matrix` for a precomputed feature table.
    pub set: String,
    /// How the numbers were computed (feature set, toolkit version).
    pub version: String,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub source: String,
    pub rows: usize,
    pub replicates_merged: usize,
    pub digest: String,
    /// Identity of every training row, so a later comparison can leave them out.
    pub ids: Vec<String>,
}

/// What cross-validation said about the chosen hyperparameters (predictions left out).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationSummary {
    pub splitter: String,
    pub level: Option<f64>,
    pub pooled: Metrics,
    pub summary: Summary,
    pub diagnosis: Diagnosis,
}

impl From<&CvReport> for ValidationSummary {
    fn from(r: &CvReport) -> ValidationSummary {
        ValidationSummary {
            splitter: r.splitter.clone(),
            level: r.level,
            pooled: r.pooled,
            summary: r.summary.clone(),
            diagnosis: r.diagnosis.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainedModel {
    pub format: u32,
    pub target: String,
    pub features: FeatureSignature,
    pub dataset: DatasetInfo,
    pub spec: Spec,
    pub seed: u64,
    /// RFC 3339 time of training.
    pub trained_at: String,
    pub validation: Option<ValidationSummary>,
    /// Every hyperparameter setting the search tried, best first.
    pub search: Option<Vec<Trial>>,
    /// Feature importances of the final model, by feature name, when the family has them.
    pub importance: Option<Vec<(String, f64)>>,
    pub model: ConformalModel,
}

impl TrainedModel {
    /// Refuses inputs whose features were computed differently from the training data.
    pub fn check_signature(&self, features: &FeatureSignature) -> Result<(), MlError> {
        if features.set != self.features.set || features.version != self.features.version {
            return Err(MlError::InvalidInput(format!(
                "the model was trained on features {} ({}); these are {} ({})",
                self.features.set, self.features.version, features.set, features.version
            )));
        }
        if features.names != self.features.names {
            return Err(MlError::InvalidInput(format!(
                "feature names differ from the model's ({} vs {} columns)",
                features.names.len(),
                self.features.names.len()
            )));
        }
        Ok(())
    }

    pub fn predict(
        &self,
        x: &Matrix,
        level: f64,
    ) -> Result<crate::conformal::Predictions, MlError> {
        self.model.predict(x, level)
    }
}
