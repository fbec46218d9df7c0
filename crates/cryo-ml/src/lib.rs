//! Machine learning for CryoProtect: one [`Regressor`] interface over linear models, forests,
//! gradient boosting, a small neural network and Tanimoto nearest neighbours; conformal
//! prediction intervals; classifiers with calibrated probabilities and conformal prediction
//! sets ([`classify`]); a validation framework whose statistics never touch data the model was
//! fitted on; and grid/random hyperparameter search with nested cross-validation.
//!
//! The crate sees numbers only: a [`Matrix`] of features, a target vector, and optional group
//! keys (e.g. scaffolds) and times for splitting. Featurisation belongs to `cryo-chem`, storage
//! to `cryo-db`.

// Numeric kernels index several parallel arrays at once; iterator chains would obscure them.
#![allow(clippy::needless_range_loop)]

mod artifact;
mod boosting;
pub mod classify;
mod conformal;
mod dataset;
mod error;
mod forest;
pub mod hist_boosting;
pub mod interrupt;
mod knn;
mod leverage;
mod linear;
mod matrix;
mod metrics;
mod mlp;
mod model;
pub mod optimise;
mod pipeline;
mod search;
mod split;
mod train;
mod tree;
mod uncertainty;
mod validate;

pub use artifact::{
    ARTIFACT_FORMAT, Artefact, BODY_CODEC, BodyInfo, DatasetInfo, DatasetSummary, Envelope,
    FeatureSignature, Task, TrainedModel, ValidationSummary, sha256_hex,
};
pub use conformal::{
    ConformalMethod, ConformalModel, Interval, LEVELS as INTERVAL_LEVELS, Predictions, Scale,
    check_level, conformal_quantile,
};
pub use cryo_core::quantile::normal_quantile;
pub use dataset::{Dataset, ReplicateSpread, Sample};
pub use error::MlError;
pub use leverage::Leverage;
pub use matrix::Matrix;
pub use metrics::{CALIBRATION_LEVELS, Coverage, Metrics, rmse, spearman};
pub use model::{Algorithm, Estimator, Regressor, Spec};
pub use pipeline::{Pipeline, Preprocessing};
pub use search::{Domain, SearchReport, SearchSpace, Strategy, Trial, nested_cv, search};
pub use split::{Fold, Splitter};
pub use train::{SearchPlan, Stage, StageProgress, TrainInput, TrainPlan, overall_progress, train};
pub use uncertainty::{ENCE_BINS, Uncertainty};
pub use validate::{
    CvOptions, CvReport, Diagnosis, FoldReport, LearningPoint, MeanStd, OutOfFold, Summary,
    Verdict, cross_validate, learning_curve,
};

/// JSON has no NaN or infinity (serde_json writes them as null). Statistics that can be
/// undefined (a Spearman correlation of constant predictions, an interval too wide to
/// calibrate) read null back as NaN, so a stored envelope holding one still loads. Binary
/// formats keep the exact value.
pub(crate) fn f64_or_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::Deserialize;
    Option::<f64>::deserialize(d).map(|v| v.unwrap_or(f64::NAN))
}

/// [`f64_or_nan`] for a vector.
pub(crate) fn f64_vec_or_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    use serde::Deserialize;
    Vec::<Option<f64>>::deserialize(d)
        .map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

/// Progress of long work: `done` of `total` units (fits) finished.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// A progress sink that ignores updates.
pub fn no_progress(_: usize, _: usize) {}

pub(crate) fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}

/// Derives an independent seed for sub-task `index` of work seeded with `seed` (SplitMix64), so
/// parallel work is deterministic whatever the thread count.
pub(crate) fn derive_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
