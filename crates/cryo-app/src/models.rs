//! The model registry's use cases: models per target property, immutable versions with stages
//! and aliases, promotion (with a champion/challenger margin) and rollback, each change in one
//! transaction with its audit entry; training jobs queued, followed, cancelled and retried.

use crate::registry::{StoredEnvelope, TrainRequest, VERSION, visible_model};
use crate::{Actor, AppError, AppResult};
use cryo_core::ident::{ModelStage, parse_name};
use cryo_db::repo::models::{
    self as repo, AuditEntry, Job, Model, ModelVersion, VersionHandle, VersionRef,
};
use cryo_db::repo::{Conn, Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a missing training job is called in a not-found error.
pub const JOB: &str = "training job";
/// Longest model name and description, in characters.
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewModel {
    pub name: String,
    /// The property type it predicts, e.g. "Glass Transition Temperature".
    pub property: String,
    pub description: Option<String>,
    pub project_id: Option<Uuid>,
}

/// Register a model for a target property (versions come from training jobs or imports).
pub async fn create(actor: &Actor<'_>, m: NewModel) -> AppResult<Model> {
    let me = actor.me()?;
    let name = parse_name("name", &m.name, MAX_NAME_CHARS)?;
    if m.description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(AppError::validation(
            "description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    actor
        .run(async |tx| {
            let model = repo::create_model(
                tx,
                me,
                &name,
                &m.property,
                m.description.as_deref(),
                m.project_id,
            )
            .await?
            .ok_or_else(|| {
                AppError::validation(
                    "property",
                    format!("unknown property type {:?}", m.property),
                )
            })?;
            repo::audit(
                tx,
                me,
                "model.created",
                model.id,
                serde_json::json!({ "name": model.name, "property": model.property }),
            )
            .await?;
            Ok(model)
        })
        .await
}

pub async fn list(actor: &Actor<'_>, property: Option<&str>, page: Page) -> AppResult<Vec<Model>> {
    actor
        .read(async |tx| repo::list_models(tx, property, page).await)
        .await
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelDetail {
    #[serde(flatten)]
    pub model: Model,
    /// Newest first, with metrics in each envelope.
    pub versions: Vec<ModelVersion>,
}

pub async fn detail(actor: &Actor<'_>, id: Uuid) -> AppResult<ModelDetail> {
    actor
        .run(async |tx| {
            let model = visible_model(tx, id).await?;
            let versions = repo::list_versions(tx, id).await?;
            Ok(ModelDetail { model, versions })
        })
        .await
}

/// Delete a model and all its versions; refused while a version is in production.
pub async fn delete(actor: &Actor<'_>, id: Uuid) -> AppResult<()> {
    actor
        .run(async |tx| {
            let model = visible_model(tx, id).await?;
            if let Some(v) = model.production_version {
                return Err(AppError::Conflict(format!(
                    "version {v} is in production; archive it (promote another or roll back) first"
                )));
            }
            crate::rows::delete_in(tx, cryo_db::repo::Entity::Model, id).await
        })
        .await
}

/// Version `version` of model `model`, if the caller can see it.
pub async fn visible_version(tx: &mut Conn, model: Uuid, version: i64) -> AppResult<ModelVersion> {
    repo::get_version(tx, model, version)
        .await?
        .ok_or(AppError::NotFound { what: VERSION })
}

pub async fn version(actor: &Actor<'_>, model: Uuid, version: i64) -> AppResult<ModelVersion> {
    actor
        .run(async |tx| visible_version(tx, model, version).await)
        .await
}

/// A version's model, row and decoded envelope, as the caller sees them.
pub async fn envelope(
    actor: &Actor<'_>,
    id: Uuid,
    version: i64,
) -> AppResult<(Model, ModelVersion, StoredEnvelope)> {
    let (model, v, envelope) = actor
        .run(async |tx| {
            let model = visible_model(tx, id).await?;
            let v = visible_version(tx, id, version).await?;
            let (envelope, _) = repo::artifact(tx, v.id)
                .await?
                .ok_or(AppError::NotFound { what: VERSION })?;
            AppResult::Ok((model, v, envelope))
        })
        .await?;
    let envelope = StoredEnvelope::decode(envelope)
        .map_err(|e| cryo_ml::MlError::Corrupt(format!("envelope: {e}")))?;
    Ok((model, v, envelope))
}

fn no_validation() -> AppError {
    AppError::Conflict("this version carries no validation report".into())
}

/// A version's validation report as a self-contained HTML page: held-out predictions against
/// measurements with their intervals (parity plot), residuals, feature importances, per-fold
/// metrics and the diagnosis.
pub async fn report_html(actor: &Actor<'_>, id: Uuid, version: i64) -> AppResult<String> {
    let (model, v, envelope) = envelope(actor, id, version).await?;
    let title = format!(
        "{} — version {} ({})",
        model.name, v.version, model.property
    );
    let envelope = match envelope {
        StoredEnvelope::Regression(e) => *e,
        StoredEnvelope::Classification(e) => {
            let validation = e.validation.as_ref().ok_or_else(no_validation)?;
            return Ok(crate::model_view::classifier_html(&title, &e, validation));
        }
    };
    let validation = envelope.validation.ok_or_else(no_validation)?;
    let report = validation.to_report(&envelope.spec, envelope.seed);
    Ok(crate::model_view::version_html(
        &title,
        &report,
        envelope.importance.as_deref(),
    ))
}

/// Everything a version's charts are drawn from, by its task (`task`: regression or
/// classification).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Validation {
    Regression(VersionValidation),
    Classification(ClassVersionValidation),
}

/// A classifier's held-out validation, for its charts.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassVersionValidation {
    pub version: i64,
    pub property: String,
    pub algorithm: String,
    /// Class names; with two, the second is the positive class of `roc` and `pr`.
    pub classes: Vec<String>,
    /// Training rows per class.
    pub class_counts: Vec<usize>,
    pub splitter: String,
    /// Nominal coverage of the prediction sets.
    pub level: f64,
    /// Probability recalibration: none, platt or isotonic.
    pub recalibration: &'static str,
    /// Prediction sets: marginal or class_conditional.
    pub set_method: &'static str,
    /// Over every held-out prediction: n, accuracy, balanced_accuracy, roc_auc, pr_auc,
    /// brier, log_loss, ece.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub pooled: cryo_ml::classify::ClassMetrics,
    /// Held-out prediction sets: level, coverage, mean_size, singletons, empty, per_class.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub sets: cryo_ml::classify::SetCoverage,
    /// Per fold: index, repeat, metrics, sets.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub folds: Vec<cryo_ml::classify::ClassFold>,
    /// The top class's confidence against its accuracy per bin: upper, count, confidence,
    /// accuracy.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub reliability: Vec<cryo_ml::classify::ReliabilityBin>,
    /// ROC curve ({x: false-positive rate, y: true-positive rate}) per class against the rest
    /// (two classes: the positive class only).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<Object>>))]
    pub roc: Vec<Vec<cryo_ml::classify::CurvePoint>>,
    /// Precision–recall curve ({x: recall, y: precision}), like `roc`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<Object>>))]
    pub pr: Vec<Vec<cryo_ml::classify::CurvePoint>>,
}

/// Everything a regression version's charts are drawn from.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionValidation {
    /// Pooled held-out RMSE under a scaffold split (the validation's own when it was one;
    /// absent when not measured).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub scaffold: Option<cryo_ml::Metrics>,
    /// How much the training data's replicate measurements disagree (structures, measurements,
    /// pooled_sd): the noise floor of the RMSE.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub replicate_spread: Option<cryo_ml::ReplicateSpread>,
    pub version: i64,
    pub property: String,
    pub algorithm: String,
    /// How the held-out rows were chosen, e.g. "5-fold".
    pub splitter: String,
    /// Interval level of `predictions[].interval`.
    pub level: Option<f64>,
    /// How the intervals widen from row to row: none, spread or residual.
    pub interval_scale: &'static str,
    /// Held-out uncertainty quality: n, nll, miscalibration_area, ence, spearman (between
    /// interval width and error); absent for versions trained before it was measured.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub uncertainty: Option<cryo_ml::Uncertainty>,
    /// Metrics over every held-out prediction: n, rmse, mae, r2, spearman, coverage, mean_width.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub pooled: cryo_ml::Metrics,
    /// Mean and spread of per-fold metrics.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub summary: cryo_ml::Summary,
    /// Over/under-fitting verdict with fit and validation R².
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub diagnosis: cryo_ml::Diagnosis,
    /// Per fold: index, repeat, sizes, fit and validation metrics, calibration.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub folds: Vec<cryo_ml::FoldReport>,
    /// Every held-out prediction: row, observed, predicted, interval {lower, upper}, spread.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub predictions: Vec<cryo_ml::OutOfFold>,
    /// Observed coverage at nominal levels 0.5…0.95: nominal, observed, mean_width, n
    /// (empty for versions trained before it was measured).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub calibration: Vec<cryo_ml::Coverage>,
    /// Held-out error as the training folds grow, when it was measured: train_size, fit_r2,
    /// validation_r2, validation_rmse.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub learning_curve: Option<Vec<cryo_ml::LearningPoint>>,
    /// Feature importances of the final model, largest first, as [name, importance].
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub importance: Option<Vec<(String, f64)>>,
}

/// A version's validation as data, for charts.
pub async fn validation(actor: &Actor<'_>, id: Uuid, version: i64) -> AppResult<Validation> {
    let (model, v, envelope) = envelope(actor, id, version).await?;
    let envelope = match envelope {
        StoredEnvelope::Regression(e) => *e,
        StoredEnvelope::Classification(e) => {
            let validation = e.validation.clone().ok_or_else(no_validation)?;
            return Ok(Validation::Classification(ClassVersionValidation {
                version: v.version,
                property: model.property,
                algorithm: v.algorithm,
                classes: e.classes.clone(),
                class_counts: validation.class_counts,
                splitter: validation.splitter,
                level: e.options.level,
                recalibration: e.options.recalibration.name(),
                set_method: e.options.sets.name(),
                pooled: validation.pooled,
                sets: validation.sets,
                folds: validation.folds,
                reliability: validation.reliability,
                roc: validation.roc,
                pr: validation.pr,
            }));
        }
    };
    let validation = envelope.validation.ok_or_else(no_validation)?;
    Ok(Validation::Regression(VersionValidation {
        version: v.version,
        property: model.property,
        algorithm: v.algorithm,
        splitter: validation.splitter,
        level: validation.level,
        interval_scale: envelope.interval_scale.name(),
        uncertainty: validation.uncertainty,
        pooled: validation.pooled,
        summary: validation.summary,
        diagnosis: validation.diagnosis,
        folds: validation.folds,
        predictions: validation.predictions,
        calibration: validation.calibration,
        learning_curve: validation.learning_curve,
        scaffold: validation.scaffold,
        replicate_spread: envelope.dataset.replicate_spread,
        importance: envelope.importance,
    }))
}

/// Delete a version. Only archived versions can be deleted (enforced by the database too).
pub async fn delete_version(actor: &Actor<'_>, id: Uuid, version: i64) -> AppResult<()> {
    let me = actor.me()?;
    actor
        .run(async |tx| {
            let v = visible_version(tx, id, version).await?;
            if v.stage != ModelStage::Archived {
                return Err(AppError::Conflict(format!(
                    "version {version} is {}; only archived versions can be deleted",
                    v.stage
                )));
            }
            crate::rows::delete_in(tx, cryo_db::repo::Entity::ModelVersion, v.id).await?;
            repo::audit(
                tx,
                me,
                "model.version_deleted",
                id,
                serde_json::json!({ "version": version, "sha256": v.artifact_sha256 }),
            )
            .await?;
            Ok(())
        })
        .await
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub version: i64,
    /// production (default), staging, none or archived.
    #[serde(default = "production")]
    pub stage: ModelStage,
    /// Champion/challenger: promote to production only if this version's cross-validated RMSE
    /// is at least this fraction below production's (e.g. 0.05 = 5 % better).
    pub min_improvement: Option<f64>,
    /// Champion/challenger: refuse a version whose held-out interval coverage is more than this
    /// below production's (e.g. 0.02 = two points), however much better its RMSE.
    pub max_coverage_drop: Option<f64>,
    /// Champion/challenger: refuse a version whose scaffold-split RMSE is more than this
    /// fraction above production's (e.g. 0: no worse on new scaffolds), whatever its error
    /// under the split it was validated by.
    pub max_scaffold_rmse_increase: Option<f64>,
}

fn production() -> ModelStage {
    ModelStage::Production
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageChange {
    pub model: Model,
    /// The version now in production, if any.
    pub production: Option<i64>,
    /// The version that left production, if any.
    pub previous: Option<i64>,
}

/// A version's pooled held-out interval coverage (a classifier's: its prediction sets'), from
/// its envelope.
fn coverage(v: &ModelVersion) -> Option<f64> {
    let validation = &v.envelope.0["validation"];
    validation["pooled"]["coverage"]
        .as_f64()
        .or_else(|| validation["sets"]["coverage"].as_f64())
}

/// What champion/challenger compares: the cross-validated RMSE of a regression model, the
/// held-out log loss of a classifier (lower is better for both), with its name.
fn error(v: &ModelVersion) -> Option<(f64, &'static str)> {
    match v.cv_rmse {
        Some(rmse) => Some((rmse, "CV RMSE")),
        None => v.envelope.0["validation"]["pooled"]["log_loss"]
            .as_f64()
            .map(|l| (l, "held-out log loss")),
    }
}

/// A version's held-out RMSE under a scaffold split, from its envelope.
fn scaffold_rmse(v: &ModelVersion) -> Option<f64> {
    v.envelope.0["validation"]["scaffold"]["rmse"].as_f64()
}

/// How a version's held-out rows were chosen (e.g. "5-fold by group (scaffold)").
fn splitter(v: &ModelVersion) -> Option<&str> {
    v.envelope.0["validation"]["splitter"].as_str()
}

/// The kind of split behind a splitter's description ([`cryo_ml::Splitter::describe`]): errors
/// of one kind compare whatever the fold count; a scaffold or time split's do not compare with a
/// shuffled one's.
fn split_kind(description: Option<&str>) -> &'static str {
    match description {
        Some(d) if d.contains("by group") => "scaffold",
        Some(d) if d.starts_with("time") => "time",
        Some(d) if d.contains("fold") || d.contains("leave-one-out") => "random",
        _ => "unknown",
    }
}

/// What the gate may ask of a promotion.
struct Gate {
    min_improvement: Option<f64>,
    max_coverage_drop: Option<f64>,
    max_scaffold_rmse_increase: Option<f64>,
}

impl Gate {
    fn of(p: &PromoteRequest) -> Gate {
        Gate {
            min_improvement: p.min_improvement,
            max_coverage_drop: p.max_coverage_drop,
            max_scaffold_rmse_increase: p.max_scaffold_rmse_increase,
        }
    }

    fn asked(&self) -> bool {
        self.min_improvement.is_some()
            || self.max_coverage_drop.is_some()
            || self.max_scaffold_rmse_increase.is_some()
    }

    /// The thresholds, for the audit entry.
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "min_improvement": self.min_improvement,
            "max_coverage_drop": self.max_coverage_drop,
            "max_scaffold_rmse_increase": self.max_scaffold_rmse_increase,
        })
    }
}

/// A gate threshold, refused (naming `field`) unless it is a fraction in 0..1.
fn fraction(field: &'static str, value: Option<f64>) -> AppResult<Option<f64>> {
    match value {
        Some(v) if !(0.0..1.0).contains(&v) => {
            Err(AppError::validation(field, "a fraction in 0..1"))
        }
        v => Ok(v),
    }
}

/// Champion/challenger: `challenger` must beat `champion` by `min_improvement` in CV RMSE
/// (both validated the same way), lose no more than `max_coverage_drop` of held-out coverage,
/// and be no more than `max_scaffold_rmse_increase` worse on new scaffolds.
fn gate(challenger: &ModelVersion, champion: &ModelVersion, g: &Gate) -> AppResult<()> {
    if let Some(margin) = fraction("min_improvement", g.min_improvement)? {
        let (Some((new, measure)), Some((old, theirs))) = (error(challenger), error(champion))
        else {
            return Err(AppError::Conflict(
                "champion/challenger needs the cross-validated error of both versions".into(),
            ));
        };
        if measure != theirs {
            return Err(AppError::Conflict(format!(
                "version {} is measured by {measure}, production version {} by {theirs}",
                challenger.version, champion.version
            )));
        }
        // A random split's error is not comparable with a scaffold split's.
        if split_kind(splitter(challenger)) != split_kind(splitter(champion)) {
            return Err(AppError::Conflict(format!(
                "version {} was validated by {}, production version {} by {}: their errors do not compare; validate both the same way or gate on max_scaffold_rmse_increase",
                challenger.version,
                splitter(challenger).unwrap_or("an unknown split"),
                champion.version,
                splitter(champion).unwrap_or("an unknown split"),
            )));
        }
        if new > old * (1.0 - margin) {
            return Err(AppError::Conflict(format!(
                "version {} ({measure} {new:.4}) does not beat production version {} ({measure} {old:.4}) by {:.1} %",
                challenger.version,
                champion.version,
                margin * 100.0
            )));
        }
    }
    if let Some(drop) = fraction("max_coverage_drop", g.max_coverage_drop)? {
        let (Some(new), Some(old)) = (coverage(challenger), coverage(champion)) else {
            return Err(AppError::Conflict(
                "the coverage gate needs the held-out interval coverage of both versions".into(),
            ));
        };
        if new < old - drop {
            return Err(AppError::Conflict(format!(
                "version {} covers {:.1} % of held-out measurements, production version {} {:.1} %: more than {:.1} points lower",
                challenger.version,
                new * 100.0,
                champion.version,
                old * 100.0,
                drop * 100.0
            )));
        }
    }
    if let Some(increase) = fraction("max_scaffold_rmse_increase", g.max_scaffold_rmse_increase)? {
        let (Some(new), Some(old)) = (scaffold_rmse(challenger), scaffold_rmse(champion)) else {
            return Err(AppError::Conflict(
                "the scaffold gate needs the scaffold-split RMSE of both versions (train with a scaffold split, or with scaffold_check)".into(),
            ));
        };
        if new > old * (1.0 + increase) {
            return Err(AppError::Conflict(format!(
                "version {} has scaffold-split RMSE {new:.4}, production version {} {old:.4}: more than {:.1} % worse on new scaffolds",
                challenger.version,
                champion.version,
                increase * 100.0
            )));
        }
    }
    Ok(())
}

/// What the gate compares, for the audit entry.
fn gate_numbers(challenger: &ModelVersion, champion: &ModelVersion) -> serde_json::Value {
    serde_json::json!({
        "champion": { "version": champion.version, "cv_rmse": champion.cv_rmse, "error": error(champion), "coverage": coverage(champion), "scaffold_rmse": scaffold_rmse(champion), "splitter": splitter(champion) },
        "challenger": { "version": challenger.version, "cv_rmse": challenger.cv_rmse, "error": error(challenger), "coverage": coverage(challenger), "scaffold_rmse": scaffold_rmse(challenger), "splitter": splitter(challenger) },
    })
}

/// Move a version to a stage. Promotion to production archives the current production version,
/// in one transaction with its audit entry.
pub async fn promote(actor: &Actor<'_>, id: Uuid, p: PromoteRequest) -> AppResult<StageChange> {
    let me = actor.me()?;
    actor
        .run(async |tx| {
            visible_model(tx, id).await?;
            let target = visible_version(tx, id, p.version).await?;
            let current: Option<ModelVersion> =
                repo::resolve_version(tx, id, &VersionRef::Production).await?;
            let mut compared = serde_json::Value::Null;
            if p.stage == ModelStage::Production {
                if current.as_ref().is_some_and(|c| c.id == target.id) {
                    return Err(AppError::Conflict(format!(
                        "version {} is already in production",
                        p.version
                    )));
                }
                let asked = Gate::of(&p);
                if let (true, Some(champion)) = (asked.asked(), &current) {
                    compared = gate_numbers(&target, champion);
                    match gate(&target, champion, &asked) {
                        Ok(()) => {}
                        // A refusal is a decision too: recorded (committed), then answered.
                        Err(AppError::Conflict(reason)) => {
                            repo::audit(
                                tx,
                                me,
                                "model.promotion_refused",
                                id,
                                serde_json::json!({
                                    "version": target.version,
                                    "reason": reason,
                                    "thresholds": asked.json(),
                                    "gate": compared,
                                }),
                            )
                            .await?;
                            return Ok(Err(AppError::Conflict(reason)));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            repo::set_stage(tx, id, target.id, p.stage).await?;
            let previous = current
                .filter(|c| c.id != target.id && p.stage == ModelStage::Production)
                .map(|c| c.version);
            repo::audit(
                tx,
                me,
                "model.promoted",
                id,
                serde_json::json!({
                    "version": target.version,
                    "from_stage": target.stage,
                    "to_stage": p.stage,
                    "previous_production": previous,
                    "thresholds": Gate::of(&p).json(),
                    "gate": compared,
                }),
            )
            .await?;
            Ok(Ok(stage_change(tx, id, previous).await?))
        })
        .await?
}

async fn stage_change(tx: &mut Conn, id: Uuid, previous: Option<i64>) -> AppResult<StageChange> {
    let model = visible_model(tx, id).await?;
    Ok(StageChange {
        production: model.production_version,
        model,
        previous,
    })
}

/// Return production to the version that was there before, in one transaction with its audit
/// entry. The version being replaced is archived.
pub async fn rollback(actor: &Actor<'_>, id: Uuid) -> AppResult<StageChange> {
    let me = actor.me()?;
    actor
        .run(async |tx| {
            visible_model(tx, id).await?;
            let current: Option<VersionHandle> =
                repo::resolve_version(tx, id, &VersionRef::Production).await?;
            let back_to: VersionHandle =
                repo::previous_production(tx, id).await?.ok_or_else(|| {
                    AppError::Conflict("no earlier production version to roll back to".into())
                })?;
            repo::set_stage(tx, id, back_to.id, ModelStage::Production).await?;
            repo::audit(
                tx,
                me,
                "model.rolled_back",
                id,
                serde_json::json!({
                    "from_version": current.as_ref().map(|c| c.version),
                    "to_version": back_to.version,
                }),
            )
            .await?;
            stage_change(tx, id, current.map(|c| c.version)).await
        })
        .await
}

/// Point an alias (e.g. `champion`, `candidate`) at a version.
pub async fn set_alias(actor: &Actor<'_>, id: Uuid, alias: &str, version: i64) -> AppResult<()> {
    let me = actor.me()?;
    let valid = alias.len() <= 63
        && alias.starts_with(|c: char| c.is_ascii_lowercase())
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid || alias == "production" {
        return Err(AppError::validation(
            "alias",
            "lower-case letters, digits, - and _, starting with a letter (not `production`)",
        ));
    }
    actor
        .run(async |tx| {
            let v = visible_version(tx, id, version).await?;
            repo::set_alias(tx, me, id, alias, v.id).await?;
            repo::audit(
                tx,
                me,
                "model.alias_set",
                id,
                serde_json::json!({ "alias": alias, "version": version }),
            )
            .await?;
            Ok(())
        })
        .await
}

/// Who created, trained, promoted, rolled back or deleted what, newest first. The audit log is
/// readable by service_role only: the caller first shows they may read this model, and only its
/// entries are returned.
pub async fn audit_trail(actor: &Actor<'_>, id: Uuid) -> AppResult<Vec<AuditEntry>> {
    actor.run(async |tx| visible_model(tx, id).await).await?;
    actor
        .app
        .as_service(async |tx| repo::audit_trail(tx, id).await)
        .await
}

/// Queue training (or a hyperparameter search) on every experiment of the model's property
/// the caller can read. Refused before queueing when the request is invalid or its models would
/// not fit in `models.max_model_bytes`.
pub async fn queue_training(actor: &Actor<'_>, id: Uuid, request: TrainRequest) -> AppResult<Job> {
    let me = actor.me()?;
    let value = serde_json::to_value(&request).map_err(|e| AppError::Internal(e.to_string()))?;
    let limit = actor.app.settings.models.max_model_bytes;
    let job = actor
        .run(async |tx| {
            let model = visible_model(tx, id).await?;
            request.check(model.kind)?;
            let rows = cryo_db::repo::science::count_measurements(tx, &model.property).await?;
            request.check_memory(model.kind, rows as usize, limit)?;
            AppResult::Ok(repo::create_job(tx, me, id, request.kind(), &value, None).await?)
        })
        .await?;
    actor.app.jobs.notify_waiters();
    Ok(job)
}

pub async fn jobs(actor: &Actor<'_>, model: Uuid, page: Page) -> AppResult<Vec<Job>> {
    actor
        .read(async |tx| repo::list_jobs(tx, Some(model), page).await)
        .await
}

/// A job's state, progress (0–1) and stage, if the caller can see it.
pub async fn job(actor: &Actor<'_>, id: Uuid) -> AppResult<Job> {
    actor
        .read(async |tx| repo::get_job(tx, id).await)
        .await?
        .ok_or(AppError::NotFound { what: JOB })
}

/// Stop a job: a queued one is cancelled at once, a running one at its next heartbeat.
pub async fn cancel(actor: &Actor<'_>, id: Uuid) -> AppResult<Job> {
    let current = job(actor, id).await?;
    if current.is_finished() {
        return Err(AppError::Conflict(format!(
            "the job has already {}",
            current.state
        )));
    }
    if !actor
        .read(async |tx| repo::request_cancel(tx, id).await)
        .await?
    {
        return Err(crate::error::refused(true, JOB));
    }
    // The requester asked; a queued job never starts.
    actor
        .app
        .as_service(async |tx| repo::cancel_if_queued(tx, id).await)
        .await?;
    job(actor, id).await
}

/// Queue a failed or cancelled job again, as a new job with the same request.
pub async fn retry(actor: &Actor<'_>, id: Uuid) -> AppResult<Job> {
    let me = actor.me()?;
    let old = job(actor, id).await?;
    if !matches!(old.state.as_str(), "failed" | "cancelled") {
        return Err(AppError::Conflict(format!(
            "only failed or cancelled jobs are retried; this one is {}",
            old.state
        )));
    }
    let retry = actor
        .read(async |tx| {
            repo::create_job(
                tx,
                me,
                old.model_id,
                &old.kind,
                &old.request.0,
                Some(old.id),
            )
            .await
        })
        .await?;
    actor.app.jobs.notify_waiters();
    Ok(retry)
}

/// The model a by-property request means: the one visible model of `property` with a
/// production version (`None` when there is none).
pub async fn in_production(actor: &Actor<'_>, property: &str) -> AppResult<Option<Model>> {
    let mut candidates: Vec<Model> = list(actor, Some(property), Page::new(None, None))
        .await?
        .into_iter()
        .filter(|m| m.production_version.is_some())
        .collect();
    match candidates.len() {
        0 => Ok(None),
        1 => Ok(candidates.pop()),
        _ => {
            let ids: Vec<String> = candidates
                .iter()
                .map(|m| format!("{} ({})", m.id, m.name))
                .collect();
            Err(AppError::Conflict(format!(
                "several models of {property:?} are in production; name one: {}",
                ids.join(", ")
            )))
        }
    }
}
