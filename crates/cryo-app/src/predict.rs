//! Prediction with a stored model version: inputs (SMILES, stored molecules and mixtures) to
//! values with conformal intervals, optionally stored with the version that made them.

use crate::domain::DomainView;
use crate::registry::{
    Answers, Loaded, PredictInput, Trained, VERSION, checked_level, gather, predict_gathered,
    visible_model,
};
use crate::{Actor, AppError, AppResult};
use cryo_db::repo::models::{self as repo, VersionHandle, VersionRef};
use cryo_db::repo::science::{NewPrediction, PredictedValue, Subject};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    /// Shorthand for one input with this SMILES.
    pub smiles: Option<String>,
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    /// A batch (up to `models.max_batch` inputs).
    pub inputs: Option<Vec<PredictInput>>,
    /// A version number; default: the production version.
    pub version: Option<i64>,
    /// An alias instead of a version number.
    pub alias: Option<String>,
    /// Interval level, default 0.9. A classifier's prediction sets hold at the level they
    /// were calibrated at when it was trained; another level is refused.
    pub level: Option<f64>,
    /// Store each prediction for a molecule or mixture (with the version that made it).
    #[serde(default)]
    pub store: bool,
    pub project_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictedInterval {
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictionResult {
    pub index: usize,
    pub smiles: Option<String>,
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub value: Option<f64>,
    pub interval: Option<PredictedInterval>,
    /// The standard deviation of the ensemble members' predictions (forests, boosting, MLP
    /// ensembles): their disagreement, beside the calibrated interval.
    pub spread: Option<f64>,
    /// Why no value could be given for this input.
    pub error: Option<String>,
    /// The stored prediction, with `store`.
    pub prediction_id: Option<Uuid>,
    /// How close a molecule input is to the training molecules, and whether the version's
    /// intervals held there in validation (`in`, `edge`, `out`); absent for mixtures.
    pub domain: Option<DomainView>,
    /// The value lies beyond the training targets' range (by more than a tenth of it): an
    /// extrapolation, whatever the interval says.
    pub beyond_training_range: bool,
    /// The factor the interval was stretched (above 1) or shrunk (below 1) by for the domain
    /// bin, so that held-out intervals in that bin covered at the level (`domain.bins`);
    /// absent when the version's bins were calibrated at another level, or for mixtures.
    pub interval_factor: Option<f64>,
    /// A classifier's most probable class.
    pub label: Option<String>,
    /// A classifier's calibrated probability of each class.
    pub probabilities: Option<std::collections::BTreeMap<String, f64>>,
    /// A classifier's conformal prediction set at `level`: the classes it cannot rule out,
    /// most probable first (it holds the true class at that rate on held-out rows).
    pub set: Option<Vec<String>>,
}

impl PredictionResult {
    fn new(index: usize, input: &PredictInput, domain: Option<DomainView>) -> PredictionResult {
        PredictionResult {
            index,
            smiles: input.smiles.clone(),
            molecule_id: input.molecule_id,
            mixture_id: input.mixture_id,
            value: None,
            interval: None,
            spread: None,
            error: None,
            prediction_id: None,
            domain,
            beyond_training_range: false,
            interval_factor: None,
            label: None,
            probabilities: None,
            set: None,
        }
    }

    /// What the row stores as, when it has an answer.
    fn stored_value(&self, level: f64) -> Option<PredictedValue> {
        if let (Some(value), Some(i)) = (self.value, &self.interval) {
            return Some(PredictedValue::Number {
                value,
                interval: Some((i.lower, i.upper, level)),
            });
        }
        let (label, probabilities, set) = (
            self.label.as_ref()?,
            self.probabilities.as_ref()?,
            self.set.as_ref()?,
        );
        Some(PredictedValue::Class {
            label: label.clone(),
            probability: *probabilities.get(label)?,
            probabilities: serde_json::to_value(probabilities).ok()?,
            set: set.clone(),
            level,
        })
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fallback {
    /// The version that should have answered.
    pub from_version: i64,
    pub reason: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictResponse {
    pub model_id: Uuid,
    pub property: String,
    pub version: i64,
    pub version_id: Uuid,
    pub algorithm: String,
    /// What the version predicts: regression (values with intervals) or classification
    /// (classes with probabilities and prediction sets).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub task: cryo_ml::Task,
    /// A classifier's classes (two classes: the second is the positive one).
    pub classes: Option<Vec<String>>,
    pub level: f64,
    /// Set when the production version could not answer and the previous production version
    /// did (only with `models.fallback_to_previous`).
    pub fallback: Option<Fallback>,
    /// The model's ten most important features (name, share of importance), when it has them.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub feature_importance: Vec<(String, f64)>,
    /// The version's applicability domain: the similarity thresholds of `edge` and `out` and the
    /// held-out coverage they were calibrated on (absent when it was trained on no molecule).
    pub domain: Option<crate::domain::Calibration>,
    pub predictions: Vec<PredictionResult>,
}

/// Predicts with a version of model `id` (production by default) as user `me`: the version
/// handle and any stored inputs are read in one short transaction, inference runs on the compute
/// pool with no connection held, and with `store` the answers are written in a second one.
pub async fn predict(actor: &Actor<'_>, id: Uuid, p: PredictRequest) -> AppResult<PredictResponse> {
    let (s, me, identity) = (actor.app, actor.me()?, actor.identity);
    let started = std::time::Instant::now();
    let level = checked_level(p.level)?;
    let inputs = inputs_of(&p, s.settings.models.max_batch)?;
    let which = match (p.version, &p.alias) {
        (Some(n), None) => VersionRef::Number(n),
        (None, Some(a)) => VersionRef::Alias(a.clone()),
        (None, None) => VersionRef::Production,
        (Some(_), Some(_)) => {
            return Err(AppError::validation(
                "alias",
                "give version or alias, not both",
            ));
        }
    };
    let mut tx = s.begin(&identity).await?;
    // One query on the hot path; the model itself is read only to explain a miss.
    let Some(version) = repo::resolve_version::<VersionHandle>(&mut tx, id, &which).await? else {
        let model = visible_model(&mut tx, id).await?;
        return Err(match &which {
            VersionRef::Production => AppError::Conflict(format!(
                "model {:?} has no production version; promote one or name a version",
                model.name
            )),
            _ => AppError::NotFound { what: VERSION },
        });
    };
    let (loaded, fallback) = match s.registry.load(&mut tx, &version).await {
        Ok(l) => (l, None),
        Err(e)
            if matches!(which, VersionRef::Production)
                && s.settings.models.fallback_to_previous =>
        {
            let previous = repo::previous_production::<VersionHandle>(&mut tx, id)
                .await?
                .ok_or(e)?;
            tracing::warn!(model = %id, version = version.version, fallback = previous.version,
                "production model unusable; answering with the previous production version");
            let reason = format!("version {} could not be used", version.version);
            (
                s.registry.load(&mut tx, &previous).await?,
                Some((previous, reason)),
            )
        }
        Err(e) => return Err(e),
    };
    let answering = fallback.as_ref().map_or(&version, |f| &f.0);

    let (level, classes) = match &loaded.model {
        Trained::Regression(_) => (level, None),
        Trained::Classification(c) => {
            let at = c.model.options.level;
            if p.level.is_some_and(|l| (l - at).abs() > 1e-9) {
                return Err(AppError::validation(
                    "level",
                    format!(
                        "this classifier's prediction sets were calibrated at {at}; omit level or give {at}"
                    ),
                ));
            }
            (at, Some(c.classes.clone()))
        }
    };

    let gathered = gather(&mut tx, &s.compute, loaded.layout, &inputs).await?;
    // The connection goes back to the pool before inference; storing, if asked, is a second
    // transaction (row-level security judges each stored row as it is written).
    tx.commit().await?;
    let (answers, domains) = predict_gathered(&s.compute, &loaded, gathered, level).await?;
    let mut results: Vec<PredictionResult> = inputs
        .iter()
        .zip(domains)
        .enumerate()
        .map(|(index, (input, domain))| PredictionResult::new(index, input, domain))
        .collect();
    match answers {
        Answers::Numbers(answers) => {
            for (r, answer) in results.iter_mut().zip(answers) {
                match answer {
                    Ok(p) => {
                        r.value = Some(p.value);
                        r.interval = Some(PredictedInterval {
                            lower: p.interval.lower,
                            upper: p.interval.upper,
                        });
                        r.spread = p.spread;
                        r.interval_factor = p.interval_factor;
                        r.beyond_training_range =
                            loaded.domain().is_some_and(|d| d.extrapolates(p.value));
                    }
                    Err(why) => r.error = Some(why),
                }
            }
        }
        Answers::Classes(answers) => {
            let names = classes.as_deref().unwrap_or_default();
            for (r, answer) in results.iter_mut().zip(answers) {
                match answer {
                    Ok(p) => {
                        r.label = names.get(p.label).cloned();
                        r.probabilities = Some(
                            names
                                .iter()
                                .cloned()
                                .zip(p.probabilities.iter().copied())
                                .collect(),
                        );
                        r.set = Some(
                            p.set
                                .iter()
                                .filter_map(|&c| names.get(c).cloned())
                                .collect(),
                        );
                    }
                    Err(why) => r.error = Some(why),
                }
            }
        }
    }

    if p.store {
        let mut tx = s.begin(&identity).await?;
        for r in &mut results {
            let Some(value) = r.stored_value(level) else {
                continue;
            };
            let subject = match (r.molecule_id, r.mixture_id) {
                (Some(m), None) => Subject::Molecule(m),
                (None, Some(x)) => Subject::Mixture(x),
                _ => {
                    return Err(AppError::validation(
                        format!("inputs[{}]", r.index),
                        "store needs a molecule_id or mixture_id (a bare SMILES has no row to store against)",
                    ));
                }
            };
            let stored = cryo_db::repo::science::store_prediction(
                &mut tx,
                me,
                NewPrediction {
                    subject,
                    property: &version.property,
                    method: "CryoProtect Model",
                    method_version: "1",
                    value,
                    domain: r.domain.as_ref().map(|d| (d.flag, d.nearest_similarity)),
                    beyond_training_range: Some(r.beyond_training_range),
                    project_id: p.project_id,
                },
            )
            .await?
            .ok_or_else(|| AppError::validation("property", "unknown property"))?;
            repo::record_provenance(&mut tx, stored.id, answering.id).await?;
            r.prediction_id = Some(stored.id);
        }
        tx.commit().await?;
    }
    let answered = results.iter().filter(|r| r.error.is_none()).count() as u64;
    s.observer
        .predicted(&version.property, answered, started.elapsed().as_secs_f64());
    Ok(PredictResponse {
        model_id: id,
        property: version.property.clone(),
        version: answering.version,
        version_id: answering.id,
        algorithm: answering.algorithm.clone(),
        task: loaded.model.task(),
        classes,
        level,
        fallback: fallback.map(|(_, reason)| Fallback {
            from_version: version.version,
            reason,
        }),
        feature_importance: top_importance(&loaded),
        domain: loaded.domain().map(|d| d.calibration.clone()),
        predictions: results,
    })
}

fn inputs_of(p: &PredictRequest, max_batch: usize) -> AppResult<Vec<PredictInput>> {
    let single = p.smiles.is_some() || p.molecule_id.is_some() || p.mixture_id.is_some();
    let inputs = match (&p.inputs, single) {
        (Some(_), true) => {
            return Err(AppError::validation(
                "inputs",
                "give one input (smiles, molecule_id or mixture_id) or `inputs`, not both",
            ));
        }
        (Some(list), false) => list.clone(),
        (None, true) => vec![PredictInput {
            smiles: p.smiles.clone(),
            molecule_id: p.molecule_id,
            mixture_id: p.mixture_id,
        }],
        (None, false) => {
            return Err(AppError::validation(
                "inputs",
                "nothing to predict: give smiles, molecule_id, mixture_id or inputs",
            ));
        }
    };
    if inputs.is_empty() {
        return Err(AppError::validation("inputs", "empty"));
    }
    if inputs.len() > max_batch {
        return Err(AppError::validation(
            "inputs",
            format!("{} inputs; at most {max_batch} per request", inputs.len()),
        ));
    }
    Ok(inputs)
}

/// The ten most important features, when the model has importances.
fn top_importance(loaded: &Loaded) -> Vec<(String, f64)> {
    loaded
        .model
        .importance()
        .map(|v| v.iter().take(10).cloned().collect())
        .unwrap_or_default()
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TgComponentEstimate {
    pub smiles: String,
    pub name: Option<String>,
    /// Molar share (the original's mean), or mass fraction (Gordon–Taylor), as the note says.
    pub share: f64,
    pub tg_celsius: f64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub source: cryo_core::score::TgSource,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TgReferenceEstimate {
    pub tg_celsius: f64,
    pub components: Vec<TgComponentEstimate>,
    pub note: String,
}

/// Where a by-property answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PredictionSource {
    /// The visible model with a production version.
    Model,
    /// Tg only, with no model in production: a rough estimate, no interval.
    ReferenceTable,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertyPrediction {
    pub property: String,
    pub source: PredictionSource,
    pub prediction: Option<PredictResponse>,
    pub reference_estimate: Option<TgReferenceEstimate>,
}

/// Predict a property with whichever visible model has a production version for it: the
/// original's vitrification, Tg, membrane-protection and protein-stabilisation predictions are
/// registry models of those property types. With no Tg model in production, a mixture's Tg is
/// estimated from the reference table (molar-share-weighted), and flagged as such.
pub async fn by_property(
    actor: &Actor<'_>,
    property: String,
    p: PredictRequest,
) -> AppResult<PropertyPrediction> {
    actor.me()?;
    if p.version.is_some() || p.alias.is_some() {
        return Err(AppError::validation(
            "version",
            "by property, the production version answers; use /api/v1/models/{id}/predict to name one",
        ));
    }
    let model = crate::models::in_production(actor, &property).await?;
    match (model, p.mixture_id) {
        (Some(model), _) => {
            let prediction = predict(actor, model.id, p).await?;
            Ok(PropertyPrediction {
                property,
                source: PredictionSource::Model,
                prediction: Some(prediction),
                reference_estimate: None,
            })
        }
        (None, Some(mixture)) if property == crate::experiments::TG_PROPERTY => {
            let estimate = tg_reference_estimate(actor, mixture).await?;
            Ok(PropertyPrediction {
                property,
                source: PredictionSource::ReferenceTable,
                prediction: None,
                reference_estimate: Some(estimate),
            })
        }
        (None, _) => Err(AppError::Conflict(format!(
            "no visible model of {property:?} has a production version"
        ))),
    }
}

/// Gordon–Taylor (Fox where a constant is unknown) over the mixture's mass fractions when its
/// physical properties can be computed; else the original's molar-share-weighted mean.
async fn tg_reference_estimate(actor: &Actor<'_>, mixture: Uuid) -> AppResult<TgReferenceEstimate> {
    let detail = crate::mixtures::detail(actor, mixture).await?;
    let components = detail.components;
    if let Ok(p) = crate::mixture_physics::physics(&components, &[], Some(detail.mixture.version))
        && let Some(tg) = &p.glass_transition
    {
        return Ok(TgReferenceEstimate {
            tg_celsius: tg.tg_celsius,
            components: components
                .iter()
                .zip(&p.components)
                .map(|(c, k)| TgComponentEstimate {
                    smiles: c.canonical_smiles.clone(),
                    name: c.molecule_name.clone(),
                    share: k.amounts.mass_percent / 100.0,
                    tg_celsius: k.constants.tg_k.unwrap_or(f64::NAN)
                        - cryo_core::solution::KELVIN_AT_0C,
                    source: cryo_core::score::TgSource::GordonTaylor,
                })
                .collect(),
            note: format!(
                "No Tg model is in production: {} over mass fractions with water (shares here are mass fractions), from each component's tabulated Tg (see the mixture's physical properties for sources). No interval; train and promote a Tg model for a calibrated prediction.",
                tg.method.replace('_', "–")
            ),
        });
    }
    let shares = crate::composition::shares(&components).map_err(|e| {
        AppError::validation("components", format!("units cannot be reconciled: {e}"))
    })?;
    let mut out = Vec::with_capacity(components.len());
    for (c, share) in components.iter().zip(shares) {
        let (tg, source) = cryo_core::score::component_tg(
            &c.canonical_smiles,
            c.molecule_name.as_deref(),
            c.molecular_weight,
        )
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "no Tg model in production, and {} is neither in the reference table nor has a molecular weight",
                c.canonical_smiles
            ))
        })?;
        out.push(TgComponentEstimate {
            smiles: c.canonical_smiles.clone(),
            name: c.molecule_name.clone(),
            share,
            tg_celsius: tg,
            source,
        });
    }
    let pairs: Vec<(f64, f64)> = out.iter().map(|c| (c.share, c.tg_celsius)).collect();
    let tg = cryo_core::score::tg_fallback_estimate(&pairs)
        .ok_or_else(|| AppError::Conflict("the mixture has no components".into()))?;
    Ok(TgReferenceEstimate {
        tg_celsius: tg,
        components: out,
        note: "No Tg model is in production: a molar-share-weighted mean of tabulated component values (−150 + 0.5·MW when a component is not tabulated). No interval; train and promote a Tg model for a calibrated prediction.".into(),
    })
}
