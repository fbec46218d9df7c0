//! The whole training procedure in one place, shared by the CLI and the server's job workers:
//!
//! 1. choose hyperparameters (inner CV over all rows);
//! 2. estimate the whole procedure honestly (nested CV when searching, so the reported error
//!    never saw the search);
//! 3. fit and calibrate the final model on every row.
//!
//! Stopping: the progress sink is a checkpoint, and so is every tree, boosting round and epoch
//! inside a fit ([`crate::interrupt`]); a cancelled or overdue training stops there with
//! [`MlError::Cancelled`] or [`MlError::DeadlineExceeded`].

use crate::artifact::{DatasetInfo, FeatureSignature, TrainedModel, ValidationSummary};
use crate::conformal::{ConformalMethod, ConformalModel, Scale};
use crate::dataset::Dataset;
use crate::interrupt::{Stop, checkpoint};
use crate::model::{Regressor, Spec};
use crate::search::{SearchSpace, Strategy, nested_cv, search};
use crate::split::Splitter;
use crate::validate::{CvOptions, CvReport, cross_validate, learning_curve};
use crate::{ARTIFACT_FORMAT, MlError};
use serde::{Deserialize, Serialize};

/// How to search hyperparameters before training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPlan {
    pub strategy: Strategy,
    /// Folds of the inner CV that scores the candidates.
    pub inner_folds: usize,
}

/// Everything that decides a trained model, besides the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPlan {
    /// The hyperparameters, or the centre of the search space when searching.
    pub spec: Spec,
    pub search: Option<SearchPlan>,
    /// Outer validation (and the grouping used for calibration folds).
    pub splitter: Splitter,
    pub conformal: ConformalMethod,
    /// How intervals are scaled from row to row (none in plans stored before it existed).
    #[serde(default)]
    pub scale: Scale,
    /// Interval level reported by validation (the model answers any level later).
    pub level: f64,
    pub seed: u64,
    /// Also measure held-out error at 20…100 % of each training fold (five more CVs).
    #[serde(default)]
    pub learning_curve: bool,
    /// Also measure error and coverage under a scaffold split (one more CV, with intervals)
    /// when the outer split is not one already: what a promotion gate compares, since new
    /// cryoprotectants are mostly new scaffolds.
    #[serde(default)]
    pub scaffold_check: bool,
}

/// The part of the work in progress; reported with (done, total) fits of that stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Searching,
    Validating,
    ScaffoldCheck,
    Learning,
    Fitting,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Searching => "searching",
            Stage::Validating => "validating",
            Stage::ScaffoldCheck => "scaffold_check",
            Stage::Learning => "learning_curve",
            Stage::Fitting => "fitting",
        }
    }
}

/// Where training reports progress: stage, fits done, fits in the stage.
pub type StageProgress<'a> = &'a (dyn Fn(Stage, usize, usize) + Sync);

/// Overall completion in 0..=1 of a plan's stages, from one stage's progress.
pub fn overall_progress(plan: &TrainPlan, stage: Stage, done: usize, total: usize) -> f64 {
    let mut stages = Vec::with_capacity(4);
    if plan.search.is_some() {
        stages.push(Stage::Searching);
    }
    stages.push(Stage::Validating);
    if plan.scaffold_check {
        stages.push(Stage::ScaffoldCheck);
    }
    if plan.learning_curve {
        stages.push(Stage::Learning);
    }
    stages.push(Stage::Fitting);
    let index = stages.iter().position(|s| *s == stage).unwrap_or(0);
    let within = if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    (index as f64 + within) / stages.len() as f64
}

/// What the data is, for the model's record.
pub struct TrainInput<'a> {
    pub data: &'a Dataset,
    pub target: &'a str,
    pub features: &'a FeatureSignature,
    pub source: &'a str,
}

impl TrainPlan {
    pub fn validate(&self, rows: usize) -> Result<(), MlError> {
        self.spec.validate()?;
        crate::conformal::check_level(self.level)?;
        if let Some(s) = &self.search
            && s.inner_folds < 2
        {
            return Err(MlError::InvalidParameter {
                name: "inner_folds",
                reason: "must be at least 2".into(),
            });
        }
        if matches!(self.conformal, ConformalMethod::JackknifePlus)
            && rows > crate::conformal::JACKKNIFE_MAX_ROWS
        {
            return Err(MlError::InvalidInput(format!(
                "jackknife+ fits one model per row; use cv-plus above {} rows ({rows} here)",
                crate::conformal::JACKKNIFE_MAX_ROWS
            )));
        }
        Ok(())
    }
}

impl TrainPlan {
    /// An upper estimate of the memory the plan's models hold at once on `rows` × `cols` data:
    /// the calibrated model keeps one model per calibration fit, and validation fits as many
    /// models in parallel as there are threads. Searching takes the largest candidate of the
    /// grid.
    pub fn estimated_bytes(&self, rows: usize, cols: usize) -> u64 {
        let largest = match &self.search {
            Some(_) => SearchSpace {
                base: self.spec.clone(),
                ..SearchSpace::default_for(self.spec.algorithm())
            }
            .grid()
            .ok()
            .and_then(|specs| specs.iter().map(|s| s.estimated_bytes(rows, cols)).max()),
            None => None,
        }
        .unwrap_or_else(|| self.spec.estimated_bytes(rows, cols));
        let held = self.conformal.fits(rows) as u64 + rayon::current_num_threads() as u64;
        largest.saturating_mul(held)
    }

    /// Refuses, before any fitting, a plan whose models would need more than `limit` bytes.
    pub fn check_memory(&self, rows: usize, cols: usize, limit: u64) -> Result<(), MlError> {
        let estimated = self.estimated_bytes(rows, cols);
        if estimated > limit {
            Err(MlError::TooLarge {
                estimated_mb: estimated.div_ceil(1 << 20),
                limit_mb: limit >> 20,
            })
        } else {
            Ok(())
        }
    }
}

/// Runs the plan. Returns the calibrated model and the validation report behind its metrics.
pub fn train(
    input: &TrainInput<'_>,
    plan: &TrainPlan,
    progress: StageProgress<'_>,
    stop: &Stop,
) -> Result<(TrainedModel, CvReport), MlError> {
    plan.validate(input.data.len())?;
    let report = |stage: Stage, done: usize, total: usize| {
        checkpoint();
        progress(stage, done, total);
    };
    crate::interrupt::run(stop, || run(input, plan, &report))
}

fn run(
    input: &TrainInput<'_>,
    plan: &TrainPlan,
    progress: StageProgress<'_>,
) -> Result<(TrainedModel, CvReport), MlError> {
    let data = input.data;
    let seed = plan.seed;
    let options = CvOptions {
        seed,
        conformal: Some((plan.conformal.clone(), plan.level)),
        scale: plan.scale,
    };
    let (spec, trials, report) = match &plan.search {
        Some(s) => {
            let space = SearchSpace {
                base: plan.spec.clone(),
                ..SearchSpace::default_for(plan.spec.algorithm())
            };
            let inner = plan.splitter.inner(s.inner_folds);
            let found = search(data, &space, &s.strategy, &inner, seed, &|d, t| {
                progress(Stage::Searching, d, t)
            })?;
            let report = nested_cv(
                data,
                &space,
                &s.strategy,
                &plan.splitter,
                &inner,
                &options,
                &|d, t| progress(Stage::Validating, d, t),
            )?;
            (found.best.clone(), Some(found.trials), report)
        }
        None => {
            let report = cross_validate(data, &plan.spec, &plan.splitter, &options, &|d, t| {
                progress(Stage::Validating, d, t)
            })?;
            (plan.spec.clone(), None, report)
        }
    };
    let scaffold = scaffold_metrics(data, &spec, plan, &report, progress)?;
    let learning = if plan.learning_curve {
        Some(learning_curve(
            data,
            &spec,
            &plan.splitter,
            seed,
            &|d, t| progress(Stage::Learning, d, t),
        )?)
    } else {
        None
    };
    progress(Stage::Fitting, 0, 1);
    let model = ConformalModel::fit(
        &spec,
        data,
        &plan.conformal,
        plan.scale,
        &plan.splitter,
        seed,
    )?;
    progress(Stage::Fitting, 1, 1);
    let importance = model.point().importance().map(|v| {
        let mut named: Vec<(String, f64)> = data.feature_names.iter().cloned().zip(v).collect();
        named.sort_by(|a, b| b.1.total_cmp(&a.1));
        named
    });
    let trained = TrainedModel {
        format: ARTIFACT_FORMAT,
        target: input.target.to_string(),
        features: input.features.clone(),
        dataset: DatasetInfo::of(data, input.source),
        spec,
        seed,
        trained_at: crate::artifact::now_rfc3339(),
        validation: Some(ValidationSummary {
            learning_curve: learning,
            scaffold,
            ..ValidationSummary::from(&report)
        }),
        search: trials,
        importance,
        model,
    };
    Ok((trained, report))
}

/// The pooled metrics under a scaffold split: the validation's own when its folds already keep
/// scaffolds apart, else one more CV with as many folds and the same intervals (when asked for
/// and the rows have scaffolds).
fn scaffold_metrics(
    data: &Dataset,
    spec: &Spec,
    plan: &TrainPlan,
    report: &CvReport,
    progress: StageProgress<'_>,
) -> Result<Option<crate::Metrics>, MlError> {
    let by_scaffold = match &plan.splitter {
        Splitter::GroupKFold { .. } => data.groups.is_some(),
        Splitter::Predefined => crate::conformal::folds_keep_groups_apart(data),
        _ => false,
    };
    if by_scaffold {
        return Ok(Some(report.pooled));
    }
    if !plan.scaffold_check || data.groups.is_none() {
        return Ok(None);
    }
    let k = match plan.splitter {
        Splitter::KFold { k } | Splitter::RepeatedKFold { k, .. } | Splitter::Time { k } => k,
        _ => 5,
    };
    let by_scaffold_cv = |conformal: Option<(ConformalMethod, f64)>| {
        let options = CvOptions {
            seed: plan.seed,
            conformal,
            scale: plan.scale,
        };
        cross_validate(
            data,
            spec,
            &Splitter::GroupKFold { k },
            &options,
            &|d, t| progress(Stage::ScaffoldCheck, d, t),
        )
    };
    match by_scaffold_cv(Some((plan.conformal.clone(), plan.level))) {
        Ok(r) => Ok(Some(r.pooled)),
        // A training fold too small to calibrate (one scaffold holding most rows, say): the
        // error alone, without intervals.
        Err(MlError::NotEnoughData(_)) => match by_scaffold_cv(None) {
            Ok(r) => Ok(Some(r.pooled)),
            // Fewer scaffolds than folds: there is no scaffold split to measure.
            Err(MlError::NotEnoughData(_)) => Ok(None),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    }
}
