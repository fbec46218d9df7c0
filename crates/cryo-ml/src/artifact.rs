//! A trained model as one self-describing value: the calibrated estimator plus everything needed
//! to trust and reuse it (feature signature, dataset digest, hyperparameters, the validation it
//! passed). Calibration is saved with the model, never recomputed at prediction time.
//!
//! Stored, a model is an [`Artefact`]: a JSON [`Envelope`] anyone can read without this crate
//! (metrics, hyperparameters, feature order, dataset digest, who and when) and a compact body
//! (MessagePack with field names, zstd-compressed) whose SHA-256 the envelope records and
//! [`Artefact::open`] checks before decoding. MessagePack rather than postcard: the model types
//! use internally tagged enums, which need a self-describing format, and named fields let later
//! versions add fields without breaking old artefacts (a committed golden artefact is loaded by
//! the test suite to prove it).

use crate::MlError;
use crate::conformal::ConformalModel;
use crate::matrix::Matrix;
use crate::metrics::{Coverage, Metrics};
use crate::model::Spec;
use crate::search::Trial;
use crate::validate::{CvReport, Diagnosis, FoldReport, LearningPoint, OutOfFold, Summary};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Bumped when the layout changes incompatibly.
pub const ARTIFACT_FORMAT: u32 = 1;

/// How the body is encoded; recorded in the envelope.
pub const BODY_CODEC: &str = "msgpack-named+zstd";

/// First bytes of an exported model file.
const FILE_MAGIC: &[u8; 18] = b"CRYOPROTECT-MODEL\n";

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What a stored model predicts: a number with an interval, or a class with probabilities
/// and a prediction set. Envelopes written before classifiers existed have no marker and are
/// regression models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    #[default]
    Regression,
    Classification,
}

impl Task {
    /// The task of a stored envelope (JSON), by its `task` marker.
    pub fn of_envelope(envelope: &serde_json::Value) -> Task {
        match envelope.get("task").and_then(|t| t.as_str()) {
            Some("classification") => Task::Classification,
            _ => Task::Regression,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Task::Regression => "regression",
            Task::Classification => "classification",
        }
    }
}

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
    /// How much the training data's replicate measurements disagree (absent without them, and
    /// in artefacts written before it was kept).
    #[serde(default)]
    pub replicate_spread: Option<crate::dataset::ReplicateSpread>,
}

impl DatasetInfo {
    /// The record of `data`, read from `source`.
    pub fn of(data: &crate::Dataset, source: &str) -> DatasetInfo {
        DatasetInfo {
            source: source.to_string(),
            rows: data.len(),
            replicates_merged: data.replicates_merged,
            digest: data.digest(),
            ids: data.ids.clone(),
            replicate_spread: data.replicate_spread,
        }
    }
}

/// What cross-validation said about the chosen hyperparameters, with the per-fold metrics and
/// every held-out prediction (for parity and residual plots). The last two were added after the
/// first artefacts: older ones read them as empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationSummary {
    pub splitter: String,
    pub level: Option<f64>,
    pub pooled: Metrics,
    pub summary: Summary,
    pub diagnosis: Diagnosis,
    #[serde(default)]
    pub folds: Vec<FoldReport>,
    #[serde(default)]
    pub predictions: Vec<OutOfFold>,
    #[serde(default)]
    pub calibration: Vec<Coverage>,
    /// Held-out error as the training set grows, when the plan asked for it.
    #[serde(default)]
    pub learning_curve: Option<Vec<LearningPoint>>,
    /// NLL, miscalibration area, ENCE and σ–error correlation of the held-out intervals.
    #[serde(default)]
    pub uncertainty: Option<crate::uncertainty::Uncertainty>,
    /// Pooled held-out metrics under a scaffold split, intervals included (the validation's
    /// own when it was one): what the model does on new scaffolds.
    #[serde(default)]
    pub scaffold: Option<Metrics>,
}

impl From<&CvReport> for ValidationSummary {
    fn from(r: &CvReport) -> ValidationSummary {
        ValidationSummary {
            splitter: r.splitter.clone(),
            level: r.level,
            pooled: r.pooled,
            summary: r.summary.clone(),
            diagnosis: r.diagnosis.clone(),
            folds: r.folds.clone(),
            predictions: r.predictions.clone(),
            calibration: r.calibration.clone(),
            learning_curve: None,
            uncertainty: r.uncertainty,
            scaffold: None,
        }
    }
}

impl ValidationSummary {
    /// The report it came from, as far as it was kept (for rendering).
    pub fn to_report(&self, spec: &Spec, seed: u64) -> CvReport {
        CvReport {
            spec: spec.clone(),
            splitter: self.splitter.clone(),
            seed,
            level: self.level,
            folds: self.folds.clone(),
            pooled: self.pooled,
            summary: self.summary.clone(),
            diagnosis: self.diagnosis.clone(),
            predictions: self.predictions.clone(),
            calibration: self.calibration.clone(),
            uncertainty: self.uncertainty,
            wall_seconds: 0.0,
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

/// The readable half of a stored model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub format: u32,
    /// Always [`Task::Regression`] here (absent in envelopes written before classifiers).
    #[serde(default)]
    pub task: Task,
    /// The algorithm family, e.g. `random_forest`.
    pub kind: String,
    /// Versions of what produced it: the application, this crate, the body codec.
    pub libraries: BTreeMap<String, String>,
    pub target: String,
    /// Feature set, its version, and the column order the model expects.
    pub features: FeatureSignature,
    /// What happens to a row before the estimator sees it (fitted on the training rows only).
    pub preprocessing: crate::pipeline::Preprocessing,
    pub spec: Spec,
    pub seed: u64,
    pub dataset: DatasetSummary,
    pub conformal: crate::conformal::ConformalMethod,
    /// How intervals widen from row to row (`none` for envelopes written before scales).
    #[serde(default)]
    pub interval_scale: crate::conformal::Scale,
    pub validation: Option<ValidationSummary>,
    pub search: Option<Vec<Trial>>,
    pub importance: Option<Vec<(String, f64)>>,
    pub created_by: Option<String>,
    /// RFC 3339 time of training.
    pub created_at: String,
    pub body: BodyInfo,
}

/// [`DatasetInfo`] without the row ids (those travel in the body).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub source: String,
    pub rows: usize,
    pub replicates_merged: usize,
    pub digest: String,
    #[serde(default)]
    pub replicate_spread: Option<crate::dataset::ReplicateSpread>,
}

impl DatasetSummary {
    pub fn of(d: &DatasetInfo) -> DatasetSummary {
        DatasetSummary {
            source: d.source.clone(),
            rows: d.rows,
            replicates_merged: d.replicates_merged,
            digest: d.digest.clone(),
            replicate_spread: d.replicate_spread,
        }
    }

    /// The full record again, with the row ids the body carried.
    pub fn with_ids(&self, ids: Vec<String>) -> DatasetInfo {
        DatasetInfo {
            source: self.source.clone(),
            rows: self.rows,
            replicates_merged: self.replicates_merged,
            digest: self.digest.clone(),
            ids,
            replicate_spread: self.replicate_spread,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BodyInfo {
    pub codec: String,
    pub bytes: usize,
    /// Lower-case hex SHA-256 of the body bytes.
    pub sha256: String,
}

/// The decoded body.
#[derive(Serialize, Deserialize)]
struct Body {
    model: ConformalModel,
    training_ids: Vec<String>,
}

/// A model ready to store or move: envelope plus checksummed body.
#[derive(Debug, Clone)]
pub struct Artefact {
    pub envelope: Envelope,
    pub body: Vec<u8>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn corrupt(what: impl std::fmt::Display) -> MlError {
    MlError::Corrupt(what.to_string())
}

/// Encodes a body (MessagePack with field names, zstd) and describes it for the envelope.
pub(crate) fn pack<T: Serialize>(body: &T) -> Result<(Vec<u8>, BodyInfo), MlError> {
    let packed = rmp_serde::to_vec_named(body).map_err(corrupt)?;
    let body = zstd::encode_all(packed.as_slice(), 9).map_err(corrupt)?;
    let info = BodyInfo {
        codec: BODY_CODEC.to_string(),
        bytes: body.len(),
        sha256: sha256_hex(&body),
    };
    Ok((body, info))
}

/// Decodes a body after checking the format, the checksum and the codec the envelope names.
pub(crate) fn unpack<T: serde::de::DeserializeOwned>(
    format: u32,
    info: &BodyInfo,
    bytes: &[u8],
) -> Result<T, MlError> {
    if format != ARTIFACT_FORMAT {
        return Err(corrupt(format!(
            "model format {format} (this build reads {ARTIFACT_FORMAT})"
        )));
    }
    let actual = sha256_hex(bytes);
    if actual != info.sha256 {
        return Err(MlError::Checksum {
            expected: info.sha256.clone(),
            actual,
        });
    }
    if info.codec != BODY_CODEC {
        return Err(corrupt(format!("unknown body codec {:?}", info.codec)));
    }
    let packed = zstd::decode_all(bytes).map_err(corrupt)?;
    rmp_serde::from_slice(&packed).map_err(corrupt)
}

/// The versions of what produced a model: the application, this crate, the body codec.
pub(crate) fn libraries(app_version: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("cryoprotect".to_string(), app_version.to_string()),
        ("cryo-ml".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("body".to_string(), BODY_CODEC.to_string()),
    ])
}

impl TrainedModel {
    /// Encodes the model for storage. `app_version` and `created_by` are recorded as given.
    pub fn seal(&self, app_version: &str, created_by: Option<&str>) -> Result<Artefact, MlError> {
        let (body, info) = pack(&Body {
            model: self.model.clone(),
            training_ids: self.dataset.ids.clone(),
        })?;
        let envelope = Envelope {
            format: self.format,
            task: Task::Regression,
            kind: self.spec.algorithm().name().to_string(),
            libraries: libraries(app_version),
            target: self.target.clone(),
            features: self.features.clone(),
            preprocessing: self.model.point().preprocessing(),
            spec: self.spec.clone(),
            seed: self.seed,
            dataset: DatasetSummary::of(&self.dataset),
            conformal: self.model.method.clone(),
            interval_scale: self.model.scale(),
            validation: self.validation.clone(),
            search: self.search.clone(),
            importance: self.importance.clone(),
            created_by: created_by.map(String::from),
            created_at: self.trained_at.clone(),
            body: info,
        };
        Ok(Artefact { envelope, body })
    }
}

impl Artefact {
    /// Checks the checksum, then decodes. Never returns a model from bytes that do not match.
    pub fn open(&self) -> Result<TrainedModel, MlError> {
        let e = &self.envelope;
        if e.task != Task::Regression {
            return Err(corrupt("the envelope is a classifier's"));
        }
        let body: Body = unpack(e.format, &e.body, &self.body)?;
        Ok(TrainedModel {
            format: e.format,
            target: e.target.clone(),
            features: e.features.clone(),
            dataset: e.dataset.with_ids(body.training_ids),
            spec: e.spec.clone(),
            seed: e.seed,
            trained_at: e.created_at.clone(),
            validation: e.validation.clone(),
            search: e.search.clone(),
            importance: e.importance.clone(),
            model: body.model,
        })
    }

    /// One file: magic line, envelope length (u32, little-endian), envelope JSON, body.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, MlError> {
        let envelope = serde_json::to_vec(&self.envelope).map_err(corrupt)?;
        let len = u32::try_from(envelope.len()).map_err(corrupt)?;
        let mut out = Vec::with_capacity(FILE_MAGIC.len() + 4 + envelope.len() + self.body.len());
        out.extend_from_slice(FILE_MAGIC);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&envelope);
        out.extend_from_slice(&self.body);
        Ok(out)
    }

    /// Reads [`Artefact::to_file_bytes`]' layout. The checksum is checked by [`Artefact::open`].
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Artefact, MlError> {
        let rest = bytes
            .strip_prefix(FILE_MAGIC.as_slice())
            .ok_or_else(|| corrupt("not a CryoProtect model file (wrong header)"))?;
        let (len, rest) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("file ends inside the header"))?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(corrupt("file ends inside the envelope"));
        }
        let (envelope, body) = rest.split_at(len);
        let envelope: Envelope = serde_json::from_slice(envelope).map_err(corrupt)?;
        Ok(Artefact {
            envelope,
            body: body.to_vec(),
        })
    }
}
