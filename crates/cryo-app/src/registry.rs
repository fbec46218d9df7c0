//! The model registry's server side: what a training request may ask for, loading stored
//! versions (checksum checked on every load from the database; decoded models cached by version
//! id and checksum), and turning prediction inputs into feature rows the model expects.

use crate::compute::Compute;
use crate::domain::DomainView;
use crate::training::{self, MIXTURE_FEATURES};
use crate::{AppError, AppResult};
use cryo_chem::Molecule;
use cryo_chem::featurize::FeatureSet;
use cryo_core::deadline::Deadline;
use cryo_core::ident::PropertyKind;
use cryo_db::repo::Conn;
use cryo_db::repo::models::{self as repo, ModelVersion, VersionHandle};
use cryo_ml::classify::{
    ClassAlgorithm, ClassArtefact, ClassEnvelope, ClassOptions, ClassPlan, ClassSpec,
    Recalibration, SetMethod, TrainedClassifier,
};
use cryo_ml::{
    Algorithm, Artefact, ConformalMethod, Dataset, Envelope, SearchPlan, Splitter, Strategy, Task,
    TrainPlan, TrainedModel,
};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// What a missing model or version is called in a not-found error.
pub const MODEL: &str = "model";
pub const VERSION: &str = "model version";

/// The model, if the caller can see it (row-level security decides); not found otherwise.
pub async fn visible_model(conn: &mut Conn, id: Uuid) -> AppResult<repo::Model> {
    repo::get_model(conn, id)
        .await?
        .ok_or(AppError::NotFound { what: MODEL })
}

/// How validation chooses held-out rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Shuffled k-fold.
    Random,
    /// k-fold over Bemis–Murcko scaffolds: no scaffold on both sides.
    Scaffold,
    /// Forward-chaining by experiment date.
    Time,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Random, Split::Scaffold, Split::Time];

    pub fn name(self) -> &'static str {
        match self {
            Split::Random => "random",
            Split::Scaffold => "scaffold",
            Split::Time => "time",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Split::Random => "random",
            Split::Scaffold => "by scaffold",
            Split::Time => "by date",
        }
    }
}

/// How hyperparameter candidates are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Search {
    Grid,
    Random,
    /// Successive halving over `trials` random candidates: a third go on to three times the
    /// rows each round.
    Halving,
}

impl Search {
    pub const ALL: [Search; 3] = [Search::Grid, Search::Random, Search::Halving];

    pub fn name(self) -> &'static str {
        match self {
            Search::Grid => "grid",
            Search::Random => "random",
            Search::Halving => "halving",
        }
    }
}

/// How prediction intervals are calibrated (conformal prediction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum IntervalMethod {
    /// CV+ on 5 folds (Barber et al. 2021).
    CvPlus,
    /// Split conformal with 20 % of the rows held for calibration.
    Split,
    /// Leave-one-out CV+: n fits, small data sets only.
    JackknifePlus,
}

impl IntervalMethod {
    pub const ALL: [IntervalMethod; 3] = [Self::CvPlus, Self::Split, Self::JackknifePlus];

    pub fn name(self) -> &'static str {
        match self {
            Self::CvPlus => "cv-plus",
            Self::Split => "split",
            Self::JackknifePlus => "jackknife-plus",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::CvPlus => "CV+",
            Self::Split => "split",
            Self::JackknifePlus => "jackknife+",
        }
    }

    pub fn method(self) -> ConformalMethod {
        match self {
            Self::CvPlus => ConformalMethod::CvPlus { folds: 5 },
            Self::Split => ConformalMethod::Split {
                calibration_fraction: 0.2,
            },
            Self::JackknifePlus => ConformalMethod::JackknifePlus,
        }
    }
}

impl std::str::FromStr for IntervalMethod {
    type Err = cryo_ml::MlError;
    /// The names [`ConformalMethod::parse`] accepts (`cv+`, `jackknife`, …).
    fn from_str(s: &str) -> Result<Self, cryo_ml::MlError> {
        Ok(match ConformalMethod::parse(s)? {
            ConformalMethod::CvPlus { .. } => Self::CvPlus,
            ConformalMethod::Split { .. } => Self::Split,
            ConformalMethod::JackknifePlus => Self::JackknifePlus,
        })
    }
}

/// The algorithm a training request names: a regressor, a classifier, or a name both
/// families have (random_forest, gradient_boosting, knn), which the model's property kind
/// resolves when the request is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learner {
    regressor: Option<Algorithm>,
    classifier: Option<ClassAlgorithm>,
}

impl Learner {
    pub fn name(self) -> &'static str {
        match (self.regressor, self.classifier) {
            (Some(a), _) => a.name(),
            (None, Some(c)) => c.name(),
            (None, None) => unreachable!("a learner names at least one family"),
        }
    }

    /// The regressor it names, for a model of a numeric property.
    pub fn regressor(self) -> AppResult<Algorithm> {
        self.regressor.ok_or_else(|| {
            AppError::validation(
                "algorithm",
                format!(
                    "{} is a classifier; a numeric property's model takes one of {}",
                    self.name(),
                    Algorithm::ALL.map(|a| a.name()).join(", ")
                ),
            )
        })
    }

    /// The classifier it names, for a model of a yes/no or categorical property.
    pub fn classifier(self) -> AppResult<ClassAlgorithm> {
        self.classifier.ok_or_else(|| {
            AppError::validation(
                "algorithm",
                format!(
                    "{} is a regressor; a class property's model takes one of {}",
                    self.name(),
                    ClassAlgorithm::ALL.map(|a| a.name()).join(", ")
                ),
            )
        })
    }
}

impl std::str::FromStr for Learner {
    type Err = String;
    fn from_str(s: &str) -> Result<Learner, String> {
        let learner = Learner {
            regressor: s.parse::<Algorithm>().ok(),
            classifier: ClassAlgorithm::parse(s).ok(),
        };
        if learner.regressor.is_none() && learner.classifier.is_none() {
            return Err(format!(
                "unknown algorithm {s:?}; regressors: {}; classifiers: {}",
                Algorithm::ALL.map(|a| a.name()).join(", "),
                ClassAlgorithm::ALL.map(|a| a.name()).join(", ")
            ));
        }
        Ok(learner)
    }
}

impl Serialize for Learner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Reads a value through its `FromStr` (so aliases such as `rf` or `cv+` are accepted), naming
/// what was expected when it does not parse.
fn by_name<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// What to train. Every field has a default, so `{}` trains a random forest on RDKit descriptors
/// with 5-fold CV and CV+ intervals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    /// For a numeric property: linear, ridge, lasso, elastic_net, random_forest,
    /// gradient_boosting, hist_gradient_boosting, mlp or knn. For a yes/no or categorical one: logistic,
    /// random_forest, gradient_boosting or knn.
    #[serde(default = "default_algorithm", deserialize_with = "by_name")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub algorithm: Learner,
    /// Hyperparameters overriding the algorithm's defaults, e.g. {"n_trees": 300}.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Feature set: cryo20, rdkit, morgan or combined.
    #[serde(default = "default_features", deserialize_with = "by_name")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub features: FeatureSet,
    /// Search hyperparameters first: grid, random or halving (the job's kind becomes
    /// `search`).
    pub search: Option<Search>,
    /// Candidates drawn by a random search.
    #[serde(default = "default_trials")]
    pub trials: usize,
    /// Folds of the inner CV scoring search candidates.
    #[serde(default = "default_inner_folds")]
    pub inner_folds: usize,
    /// Folds of the validation CV.
    #[serde(default = "default_folds")]
    pub folds: usize,
    /// random, scaffold (no scaffold on both sides) or time (forward-chaining by experiment date).
    #[serde(default = "default_split")]
    pub split: Split,
    /// Interval method: cv-plus, split or jackknife-plus.
    #[serde(default = "default_conformal", deserialize_with = "by_name")]
    pub conformal: IntervalMethod,
    /// What widens one interval over another: auto (the ensemble spread when the algorithm
    /// has one, else a residual model), spread, residual or none (the same width everywhere).
    #[serde(default = "default_scale", deserialize_with = "by_name")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub interval_scale: cryo_ml::Scale,
    /// Interval level reported by validation.
    #[serde(default = "default_level")]
    pub level: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Also measure held-out error at 20…100 % of each training fold, for the learning-curve
    /// chart (five more cross-validations; on by default).
    #[serde(default = "default_learning_curve")]
    pub learning_curve: bool,
    /// Train only on measurements a colleague has verified. Rejected measurements never train.
    #[serde(default)]
    pub verified_only: bool,
    /// Also measure error and interval coverage under a scaffold split when `split` is not one
    /// (one more cross-validation; on by default): what `max_scaffold_rmse_increase` compares
    /// at promotion.
    #[serde(default = "default_scaffold_check")]
    pub scaffold_check: bool,
    /// Classifiers: how held-out probabilities recalibrate the model's (none, platt, isotonic).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub calibration: Recalibration,
    /// Classifiers: conformal prediction sets covering at `level` overall (marginal) or within
    /// every class (class_conditional, the default: a rare class is not neglected).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sets: SetMethod,
}

fn default_scaffold_check() -> bool {
    true
}

fn default_learning_curve() -> bool {
    true
}

fn default_algorithm() -> Learner {
    Learner {
        regressor: Some(Algorithm::RandomForest),
        classifier: Some(ClassAlgorithm::RandomForest),
    }
}
fn default_features() -> FeatureSet {
    FeatureSet::Rdkit
}
fn default_trials() -> usize {
    20
}
fn default_inner_folds() -> usize {
    3
}
fn default_folds() -> usize {
    5
}
fn default_split() -> Split {
    Split::Random
}
fn default_conformal() -> IntervalMethod {
    IntervalMethod::CvPlus
}
fn default_scale() -> cryo_ml::Scale {
    cryo_ml::Scale::Auto
}
fn default_level() -> f64 {
    0.9
}
fn default_seed() -> u64 {
    42
}

impl TrainRequest {
    /// Which measurements this request trains on.
    pub fn admit(&self) -> crate::training::Admit {
        crate::training::Admit {
            verified_only: self.verified_only,
        }
    }

    pub fn kind(&self) -> &'static str {
        if self.search.is_some() {
            "search"
        } else {
            "train"
        }
    }

    /// Checks everything that does not need the data, so a bad request fails at submission
    /// rather than in the queue. A model's `kind` decides whether it regresses or classifies.
    pub fn check(&self, kind: PropertyKind) -> AppResult<()> {
        if !(2..=20).contains(&self.folds) {
            return Err(AppError::validation("folds", "between 2 and 20"));
        }
        if !(2..=10).contains(&self.inner_folds) {
            return Err(AppError::validation("inner_folds", "between 2 and 10"));
        }
        if !(1..=500).contains(&self.trials) {
            return Err(AppError::validation("trials", "between 1 and 500"));
        }
        checked_level(Some(self.level))?;
        if kind.classifies() {
            return self
                .class_plan_with(Splitter::KFold { k: self.folds })
                .map(drop);
        }
        let spec = self.spec()?;
        spec.validate()
            .map_err(|e| AppError::validation("params", e.to_string()))?;
        if self.interval_scale == cryo_ml::Scale::Spread && !spec.has_spread() {
            return Err(AppError::validation(
                "interval_scale",
                format!(
                    "{} has no ensemble spread; use auto, residual or none",
                    self.algorithm.name()
                ),
            ));
        }
        Ok(())
    }

    fn spec(&self) -> AppResult<cryo_ml::Spec> {
        let mut spec = self.algorithm.regressor()?.default_spec();
        for (name, value) in &self.params {
            spec = spec
                .with_param(name, value.clone())
                .map_err(|e| AppError::validation(format!("params.{name}"), e.to_string()))?;
        }
        Ok(spec)
    }

    fn class_spec(&self) -> AppResult<ClassSpec> {
        let mut spec = self.algorithm.classifier()?.default_spec();
        for (name, value) in &self.params {
            spec = spec
                .with_params(&[(name.clone(), value.clone())])
                .map_err(|e| AppError::validation(format!("params.{name}"), e.to_string()))?;
        }
        Ok(spec)
    }

    /// The classifier's training plan for `data`: random or scaffold folds.
    pub fn class_plan(&self, data: &Dataset) -> AppResult<ClassPlan> {
        let splitter = match self.split {
            Split::Scaffold if data.groups.is_some() => Splitter::GroupKFold { k: self.folds },
            _ => Splitter::KFold { k: self.folds },
        };
        self.class_plan_with(splitter)
    }

    fn class_plan_with(&self, splitter: Splitter) -> AppResult<ClassPlan> {
        if self.search.is_some() {
            return Err(AppError::validation(
                "search",
                "hyperparameter search is for regression models; give a classifier's params",
            ));
        }
        if self.split == Split::Time {
            return Err(AppError::validation(
                "split",
                "classifiers are validated on random or scaffold folds",
            ));
        }
        let plan = ClassPlan {
            spec: self.class_spec()?,
            splitter,
            options: ClassOptions {
                level: self.level,
                recalibration: self.calibration,
                sets: self.sets,
                ..ClassOptions::default()
            },
            seed: self.seed,
        };
        plan.options
            .check()
            .map_err(|e| AppError::validation("level", e.to_string()))?;
        Ok(plan)
    }

    fn strategy(&self) -> Option<Strategy> {
        self.search.map(|s| match s {
            Search::Grid => Strategy::Grid,
            Search::Random => Strategy::Random {
                trials: self.trials,
            },
            Search::Halving => Strategy::Halving {
                trials: self.trials,
                factor: 3,
            },
        })
    }

    /// The training plan for `data`.
    pub fn plan(&self, data: &Dataset) -> AppResult<TrainPlan> {
        let splitter = match self.split {
            Split::Scaffold => Splitter::GroupKFold { k: self.folds },
            Split::Time if data.times.is_none() => {
                return Err(AppError::validation(
                    "split",
                    "time split needs a date on every experiment",
                ));
            }
            Split::Time => Splitter::Time { k: self.folds },
            Split::Random => Splitter::KFold { k: self.folds },
        };
        self.plan_with(splitter)
    }

    /// Refuses, before anything is queued, a request whose models would need more than `limit`
    /// bytes on `rows` rows (the visible experiments of the property: an upper bound; a
    /// classifier is counted at two classes here and at its own when its data is read).
    pub fn check_memory(&self, kind: PropertyKind, rows: usize, limit: u64) -> AppResult<()> {
        let cols = training::feature_names(self.features).len();
        let splitter = Splitter::KFold { k: self.folds };
        if kind.classifies() {
            return self
                .class_plan_with(splitter)?
                .check_memory(rows, cols, 2, limit)
                .map_err(|e| AppError::validation("params", e.to_string()));
        }
        self.plan_with(splitter)?
            .check_memory(rows, cols, limit)
            .map_err(|e| AppError::validation("params", e.to_string()))
    }

    fn plan_with(&self, splitter: Splitter) -> AppResult<TrainPlan> {
        Ok(TrainPlan {
            spec: self.spec()?,
            search: self.strategy().map(|strategy| SearchPlan {
                strategy,
                inner_folds: self.inner_folds,
            }),
            splitter,
            conformal: self.conformal.method(),
            scale: self.interval_scale,
            level: self.level,
            seed: self.seed,
            learning_curve: self.learning_curve,
            scaffold_check: self.scaffold_check,
        })
    }
}

/// The interval level asked for (0.9 by default), refused outside [`cryo_ml::INTERVAL_LEVELS`]
/// naming the `level` field: for training, prediction and evaluation alike.
pub fn checked_level(level: Option<f64>) -> AppResult<f64> {
    cryo_ml::check_level(level.unwrap_or(0.9))
        .map_err(|e| AppError::validation("level", e.to_string()))
}

/// How a model's rows are laid out, from its feature signature.
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    /// Trained in the registry: features plus the two mixture columns; molecules and mixtures.
    MixtureAware(FeatureSet),
    /// Trained from a structure file (e.g. imported from the CLI): molecules only.
    MoleculesOnly(FeatureSet),
}

/// A decoded model of either task.
pub enum Trained {
    Regression(Box<TrainedModel>),
    Classification(Box<TrainedClassifier>),
}

impl Trained {
    pub fn features(&self) -> &cryo_ml::FeatureSignature {
        match self {
            Trained::Regression(m) => &m.features,
            Trained::Classification(c) => &c.features,
        }
    }

    pub fn task(&self) -> Task {
        match self {
            Trained::Regression(_) => Task::Regression,
            Trained::Classification(_) => Task::Classification,
        }
    }

    /// The feature importances of the final model, largest first, when it has them.
    pub fn importance(&self) -> Option<&[(String, f64)]> {
        match self {
            Trained::Regression(m) => m.importance.as_deref(),
            Trained::Classification(_) => None,
        }
    }

    /// The regression model, for what only a number's model does (evaluation, intervals).
    pub fn regression(&self) -> AppResult<&TrainedModel> {
        match self {
            Trained::Regression(m) => Ok(m),
            Trained::Classification(_) => Err(AppError::Conflict(
                "this version is a classifier: it predicts classes, not numbers".into(),
            )),
        }
    }
}

/// A decoded version, ready to predict.
pub struct Loaded {
    pub version_id: Uuid,
    pub sha256: String,
    pub model: Trained,
    pub layout: Layout,
    /// Built on first use, on the compute pool (see [`Loaded::domain`]).
    domain: std::sync::OnceLock<Option<crate::domain::Domain>>,
}

impl Loaded {
    /// The version's applicability domain (`None` when it was trained on no molecule). CPU on
    /// first call: call it from the compute pool.
    pub fn domain(&self) -> Option<&crate::domain::Domain> {
        self.domain
            .get_or_init(|| match &self.model {
                Trained::Regression(m) => crate::domain::Domain::of(m),
                Trained::Classification(c) => crate::domain::Domain::of_classifier(c),
            })
            .as_ref()
    }
}

fn layout_of(features: &cryo_ml::FeatureSignature) -> AppResult<Layout> {
    let unusable = |why: String| {
        AppError::Conflict(format!(
            "this model version cannot predict from structures: {why}"
        ))
    };
    let set: FeatureSet = features
        .set
        .parse()
        .map_err(|e: String| unusable(format!("it was trained on a feature table ({e})")))?;
    if features.version != set.version() {
        return Err(unusable(format!(
            "its features were computed by {}, this server computes {}",
            features.version,
            set.version()
        )));
    }
    if features.names == training::feature_names(set) {
        Ok(Layout::MixtureAware(set))
    } else if features.names == set.names() {
        Ok(Layout::MoleculesOnly(set))
    } else {
        Err(unusable(format!(
            "its {} feature columns match neither layout of {}",
            features.names.len(),
            set.name()
        )))
    }
}

/// Decoded models by version id and checksum, most recently used last.
pub struct Registry {
    cache: Mutex<VecDeque<Arc<Loaded>>>,
    capacity: usize,
}

impl Registry {
    pub fn new(capacity: usize) -> Registry {
        Registry {
            cache: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }

    fn cached(&self, version: &VersionHandle) -> Option<Arc<Loaded>> {
        let mut cache = self.cache.lock().ok()?;
        let at = cache
            .iter()
            .position(|l| l.version_id == version.id && l.sha256 == version.artifact_sha256)?;
        let hit = cache.remove(at)?;
        cache.push_back(hit.clone());
        Some(hit)
    }

    /// The decoded model of `version`, from the cache or from the database (checksum checked).
    pub async fn load(&self, conn: &mut Conn, version: &VersionHandle) -> AppResult<Arc<Loaded>> {
        if let Some(hit) = self.cached(version) {
            return Ok(hit);
        }
        let model = read_trained(conn, version).await?;
        let loaded = Arc::new(Loaded {
            version_id: version.id,
            sha256: version.artifact_sha256.clone(),
            layout: layout_of(model.features())?,
            model,
            domain: std::sync::OnceLock::new(),
        });
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|l| l.version_id != version.id);
            cache.push_back(loaded.clone());
            while cache.len() > self.capacity {
                cache.pop_front();
            }
        }
        Ok(loaded)
    }
}

/// Reads a version's envelope and body; the envelope must name the checksum recorded with the
/// row (opening the body then hashes it once against that).
async fn read_stored(
    conn: &mut Conn,
    version: &VersionHandle,
) -> AppResult<(serde_json::Value, Vec<u8>)> {
    let (envelope, body) = repo::artifact(conn, version.id)
        .await?
        .ok_or(AppError::NotFound {
            what: "model version",
        })?;
    let named = envelope["body"]["sha256"].as_str().unwrap_or_default();
    if named != version.artifact_sha256 {
        return Err(cryo_ml::MlError::Corrupt(format!(
            "version {}: the envelope's checksum {named} is not the one recorded with the version ({})",
            version.version, version.artifact_sha256
        ))
        .into());
    }
    Ok((envelope, body))
}

/// A stored version's readable envelope, decoded by its task (the `task` marker; an envelope
/// without one is a regression model's).
pub enum StoredEnvelope {
    Regression(Box<Envelope>),
    Classification(Box<ClassEnvelope>),
}

impl StoredEnvelope {
    pub fn decode(envelope: serde_json::Value) -> Result<StoredEnvelope, serde_json::Error> {
        Ok(match Task::of_envelope(&envelope) {
            Task::Regression => StoredEnvelope::Regression(serde_json::from_value(envelope)?),
            Task::Classification => {
                StoredEnvelope::Classification(serde_json::from_value(envelope)?)
            }
        })
    }
}

/// A version's envelope, decoded, and its body (checksums as [`read_stored`] checks them).
async fn read_decoded(
    conn: &mut Conn,
    version: &VersionHandle,
) -> AppResult<(StoredEnvelope, Vec<u8>)> {
    let (envelope, body) = read_stored(conn, version).await?;
    let envelope = StoredEnvelope::decode(envelope).map_err(|e| {
        cryo_ml::MlError::Corrupt(format!("version {}: envelope: {e}", version.version))
    })?;
    Ok((envelope, body))
}

/// Reads a regression version's artefact and opens it: the bytes must match both the checksum
/// recorded in the row and the one in the envelope.
pub async fn read_verified(
    conn: &mut Conn,
    version: &VersionHandle,
) -> AppResult<(Artefact, TrainedModel)> {
    let (envelope, body) = read_decoded(conn, version).await?;
    let StoredEnvelope::Regression(envelope) = envelope else {
        return Err(AppError::Conflict(format!(
            "version {} is a classifier; only regression models are exported as files so far",
            version.version
        )));
    };
    let artefact = Artefact {
        envelope: *envelope,
        body,
    };
    let model = artefact.open()?;
    Ok((artefact, model))
}

/// Reads and opens a version of either task (checksums checked as by [`read_verified`]).
pub async fn read_trained(conn: &mut Conn, version: &VersionHandle) -> AppResult<Trained> {
    let (envelope, body) = read_decoded(conn, version).await?;
    Ok(match envelope {
        StoredEnvelope::Regression(e) => {
            Trained::Regression(Box::new(Artefact { envelope: *e, body }.open()?))
        }
        StoredEnvelope::Classification(e) => {
            Trained::Classification(Box::new(ClassArtefact { envelope: *e, body }.open()?))
        }
    })
}

/// One thing to predict for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PredictInput {
    pub smiles: Option<String>,
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
}

/// A feature row, or a message naming why an input has none.
pub type FeatureRow = Result<Vec<f64>, String>;

/// Inputs resolved against the database: rows already known (mixtures, problems) and the
/// structures still to featurise on the compute pool.
pub struct Gathered {
    rows: Vec<Option<FeatureRow>>,
    /// (index, how the input is named in a message, structure)
    pending: Vec<(usize, String, String)>,
}

impl Gathered {
    /// Bare structures, read from nowhere (no connection needed).
    pub fn of_smiles(smiles: &[String]) -> Gathered {
        Gathered {
            rows: vec![None; smiles.len()],
            pending: smiles
                .iter()
                .enumerate()
                .map(|(i, s)| (i, format!("row {}", i + 1), s.clone()))
                .collect(),
        }
    }

    /// The structures (by input index) that featurisation will parse: the molecule inputs.
    pub fn structures(&self) -> Vec<(usize, String)> {
        self.pending
            .iter()
            .map(|(i, _, s)| (*i, s.clone()))
            .collect()
    }

    /// Featurises the pending structures in parallel (on the pool that calls it), checking the
    /// deadline between molecules.
    pub fn featurise(self, layout: Layout, deadline: &Deadline) -> Vec<FeatureRow> {
        use rayon::prelude::*;
        let Gathered { mut rows, pending } = self;
        let computed: Vec<(usize, FeatureRow)> = pending
            .into_par_iter()
            .map(|(i, label, smiles)| {
                let row = match deadline.check() {
                    Ok(()) => smiles_row(layout, &smiles),
                    Err(e) => Err(e.to_string()),
                };
                (i, row.map_err(|e| format!("{label}: {e}")))
            })
            .collect();
        for (i, row) in computed {
            rows[i] = Some(row);
        }
        rows.into_iter()
            .map(|r| r.unwrap_or_else(|| Err("not featurised".into())))
            .collect()
    }
}

/// Reads the molecules and mixtures that inputs name, as the caller.
pub async fn gather(
    conn: &mut Conn,
    compute: &Compute,
    layout: Layout,
    inputs: &[PredictInput],
) -> AppResult<Gathered> {
    let mut rows = Vec::with_capacity(inputs.len());
    let mut pending = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let row = match (&input.smiles, input.molecule_id, input.mixture_id) {
            (Some(s), None, None) => {
                pending.push((i, "smiles".into(), s.clone()));
                None
            }
            (None, Some(id), None) => match cryo_db::repo::science::get_molecule(conn, id).await? {
                Some(m) => {
                    pending.push((i, format!("molecule {id}"), m.canonical_smiles));
                    None
                }
                None => Some(Err(format!("molecule {id} not found"))),
            },
            (None, None, Some(id)) => Some(mixture_input_row(conn, compute, layout, id).await?),
            _ => Some(Err(
                "give exactly one of smiles, molecule_id or mixture_id".into()
            )),
        };
        rows.push(row);
    }
    Ok(Gathered { rows, pending })
}

/// What a model answered for one input.
#[derive(Debug, Clone, Copy)]
pub struct Predicted {
    pub value: f64,
    pub interval: cryo_ml::Interval,
    /// The spread of the ensemble's members (forests, boosting, MLP ensembles), when it has them.
    pub spread: Option<f64>,
    /// The domain bin's factor the interval was recalibrated by (molecule inputs of a version
    /// whose held-out intervals had a level).
    pub interval_factor: Option<f64>,
}

/// What a model answered for one input: its feature row's problem, or a prediction.
pub type Answer = Result<Predicted, String>;

/// What a classifier answered for one input: its feature row's problem, or probabilities,
/// most probable class and prediction set (class indices).
pub type ClassAnswer = Result<cryo_ml::classify::ClassPrediction, String>;

/// A batch's answers, by the model's task.
pub enum Answers {
    Numbers(Vec<Answer>),
    Classes(Vec<ClassAnswer>),
}

/// Featurises and predicts what [`gather`] read, in one hand-off to the compute pool (each
/// hand-off is two cross-thread wake-ups). Needs no connection: a caller releases its
/// transaction before the inference starts.
pub async fn predict_gathered(
    compute: &Compute,
    loaded: &Arc<Loaded>,
    gathered: Gathered,
    level: f64,
) -> AppResult<(Answers, Vec<Option<DomainView>>)> {
    let loaded = loaded.clone();
    compute
        .run(move |deadline| {
            let structures = gathered.structures();
            let n = gathered.rows.len();
            let rows = gathered.featurise(loaded.layout, &deadline);
            deadline.check().map_err(|e| AppError::Chem(e.into()))?;
            let mut smiles = vec![None; n];
            for (i, s) in structures {
                smiles[i] = Some(s);
            }
            match &loaded.model {
                Trained::Regression(_) => {
                    let (answers, domains) = predict_in_domain(&loaded, rows, &smiles, level)?;
                    Ok((Answers::Numbers(answers), domains))
                }
                Trained::Classification(c) => {
                    let answers = predict_classes(c, rows)?;
                    let domains = judge_all(&loaded, &smiles);
                    Ok((Answers::Classes(answers), domains))
                }
            }
        })
        .await
}

/// Each structure's place in the version's domain (mixtures and versions without one: none).
fn judge_all(loaded: &Loaded, smiles: &[Option<String>]) -> Vec<Option<DomainView>> {
    let domain = loaded.domain();
    smiles
        .iter()
        .map(|s| domain.zip(s.as_deref()).and_then(|(d, s)| d.judge(s)))
        .collect()
}

/// Predicts classes for the rows that have features; the others keep their message.
pub fn predict_classes(
    model: &TrainedClassifier,
    rows: Vec<FeatureRow>,
) -> AppResult<Vec<ClassAnswer>> {
    on_usable_rows(rows, |x| Ok(model.predict(x)?))
}

/// Runs `predict` once on the matrix of the rows that have features (one answer per such row,
/// in order) and gives every other row its message back.
fn on_usable_rows<T>(
    rows: Vec<FeatureRow>,
    predict: impl FnOnce(&cryo_ml::Matrix) -> AppResult<Vec<T>>,
) -> AppResult<Vec<Result<T, String>>> {
    let usable: Vec<&Vec<f64>> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut predicted = match usable.first() {
        None => Vec::new(),
        Some(first) => {
            let data: Vec<f64> = usable.iter().flat_map(|r| r.iter().copied()).collect();
            predict(&cryo_ml::Matrix::new(usable.len(), first.len(), data)?)?
        }
    }
    .into_iter();
    Ok(rows
        .into_iter()
        .map(|row| row.map(|_| predicted.next().expect("one prediction per usable row")))
        .collect())
}

/// [`predict_rows`], and for each row with a structure (`smiles[i]`) its place in the version's
/// domain, with its interval recalibrated for that domain bin (mixtures: no domain yet). The
/// factors for `level` scale the interval at the level the bins were calibrated at.
pub fn predict_in_domain(
    loaded: &Loaded,
    rows: Vec<FeatureRow>,
    smiles: &[Option<String>],
    level: f64,
) -> AppResult<(Vec<Answer>, Vec<Option<DomainView>>)> {
    let domain = loaded.domain();
    let factors = domain.and_then(|d| d.factors(level));
    let at_calibration = match domain.and_then(|d| d.rescale_from(level)) {
        Some(at) => Some(predict_rows(loaded, rows.clone(), at)?),
        None => None,
    };
    let mut answers = predict_rows(loaded, rows, level)?;
    let domains = judge_all(loaded, smiles);
    for i in 0..answers.len() {
        let (Some(view), Some(factors)) = (&domains[i], &factors) else {
            continue;
        };
        let base = at_calibration.as_ref().map_or(&answers[i], |a| &a[i]);
        let Ok(base) = *base else { continue };
        if let Ok(answer) = &mut answers[i] {
            let (lower, upper, factor) =
                crate::domain::rescale(factors, view.flag, base.interval, answer.value);
            answer.interval = cryo_ml::Interval { lower, upper };
            answer.interval_factor = Some(factor);
        }
    }
    Ok((answers, domains))
}

/// Predicts for the rows that have features; the others keep their message.
pub fn predict_rows(loaded: &Loaded, rows: Vec<FeatureRow>, level: f64) -> AppResult<Vec<Answer>> {
    let model = loaded.model.regression()?;
    on_usable_rows(rows, |x| {
        let (points, intervals, spread) = model.predict(x, level)?;
        Ok(points
            .into_iter()
            .zip(intervals)
            .enumerate()
            .map(|(k, (value, interval))| Predicted {
                value,
                interval,
                spread: spread.as_ref().map(|s| s[k]),
                interval_factor: None,
            })
            .collect())
    })
}

fn molecule_row_for(layout: Layout, mol: &Molecule) -> AppResult<Vec<f64>> {
    Ok(match layout {
        Layout::MixtureAware(set) => training::molecule_row(set, mol)?,
        Layout::MoleculesOnly(set) => set.compute(mol)?,
    })
}

fn smiles_row(layout: Layout, smiles: &str) -> Result<Vec<f64>, String> {
    let mol = Molecule::from_smiles(smiles).map_err(|e| e.to_string())?;
    molecule_row_for(layout, &mol).map_err(|e| e.to_string())
}

/// A visible mixture's row, or why it has none.
async fn mixture_input_row(
    conn: &mut Conn,
    compute: &Compute,
    layout: Layout,
    id: Uuid,
) -> AppResult<Result<Vec<f64>, String>> {
    match layout {
        Layout::MixtureAware(set) => {
            if cryo_db::repo::science::get_mixture(conn, id)
                .await?
                .is_none()
            {
                return Ok(Err(format!("mixture {id} not found")));
            }
            let components = cryo_db::repo::science::components(conn, id).await?;
            compute
                .run(move |_| training::mixture_row(&components, set))
                .await
        }
        Layout::MoleculesOnly(_) => Ok(Err(format!(
            "this model was trained on single molecules only (its features lack {}); it cannot predict mixtures",
            MIXTURE_FEATURES.join(", ")
        ))),
    }
}

/// A sealed model of either task, as a version row stores it.
pub struct Sealed<'a> {
    pub task: Task,
    pub algorithm: &'a str,
    pub format: u32,
    pub envelope: serde_json::Value,
    pub body: &'a [u8],
    pub sha256: &'a str,
    /// Cross-validated RMSE (regression only).
    pub cv_rmse: Option<f64>,
    pub rows: usize,
}

impl<'a> Sealed<'a> {
    pub fn regression(a: &'a Artefact) -> AppResult<Sealed<'a>> {
        let e = &a.envelope;
        let cv_rmse = e.validation.as_ref().map(|v| v.pooled.rmse);
        let parts = (
            e.kind.as_str(),
            e.format,
            e.body.sha256.as_str(),
            e.dataset.rows,
        );
        Sealed::of(Task::Regression, e, parts, &a.body, cv_rmse)
    }

    pub fn classifier(a: &'a ClassArtefact) -> AppResult<Sealed<'a>> {
        let e = &a.envelope;
        let parts = (
            e.kind.as_str(),
            e.format,
            e.body.sha256.as_str(),
            e.dataset.rows,
        );
        Sealed::of(Task::Classification, e, parts, &a.body, None)
    }

    /// From an envelope and its (kind, format, checksum, rows).
    fn of(
        task: Task,
        envelope: &impl Serialize,
        (algorithm, format, sha256, rows): (&'a str, u32, &'a str, usize),
        body: &'a [u8],
        cv_rmse: Option<f64>,
    ) -> AppResult<Sealed<'a>> {
        Ok(Sealed {
            task,
            algorithm,
            format,
            envelope: serde_json::to_value(envelope)
                .map_err(|e| AppError::Malformed(e.to_string()))?,
            body,
            sha256,
            cv_rmse,
            rows,
        })
    }
}

/// Stores a sealed model as the next version of `model`, as `owner`, with its audit entry
/// (`action`, plus `details` merged into the entry). Refused when the model's property kind
/// asks for the other task. Runs in the caller's transaction.
pub async fn store_version(
    conn: &mut Conn,
    owner: Uuid,
    model: Uuid,
    sealed: Sealed<'_>,
    action: &str,
    details: serde_json::Value,
) -> AppResult<ModelVersion> {
    let target = visible_model(conn, model).await?;
    let wanted = if target.kind.classifies() {
        Task::Classification
    } else {
        Task::Regression
    };
    if sealed.task != wanted {
        return Err(AppError::Conflict(format!(
            "model {:?} predicts a {} property ({}); this is a {} model",
            target.name,
            target.kind,
            wanted.name(),
            sealed.task.name()
        )));
    }
    let version = repo::insert_version(
        conn,
        owner,
        model,
        repo::NewVersion {
            algorithm: sealed.algorithm,
            format: i64::from(sealed.format),
            envelope: &sealed.envelope,
            artifact: sealed.body,
            sha256: sealed.sha256,
            cv_rmse: sealed.cv_rmse,
        },
    )
    .await?;
    let mut entry = serde_json::json!({
        "version": version.version,
        "task": sealed.task.name(),
        "algorithm": version.algorithm,
        "cv_rmse": version.cv_rmse,
        "rows": sealed.rows,
        "sha256": version.artifact_sha256,
    });
    if let (Some(e), serde_json::Value::Object(extra)) = (entry.as_object_mut(), details) {
        e.extend(extra);
    }
    repo::audit(conn, owner, action, model, entry).await?;
    Ok(version)
}
