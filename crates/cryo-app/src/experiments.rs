//! Measurements and what is said about them: recording experiments (converted to the
//! property's unit, the value as sent kept beside it), lab verification by a team-mate, stored
//! predictions, the comparison of the two, and the context-weighted unified score.

use crate::{Actor, AppError, AppResult};
use cryo_core::ident::{OneOf, VerificationStatus, exactly_one};
use cryo_core::score::{Context, tg_score, unified_score};
use cryo_db::repo::science::{
    self as repo, Experiment, NewExperiment, NewPrediction, PredictedValue, Prediction, Subject,
    Value, Verification,
};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

/// Experiments before this year are typing mistakes (0000-01-01 was accepted once).
pub const EARLIEST_EXPERIMENT_YEAR: i32 = 1900;
/// Hotter than any cryobiology measurement, with room for boiling points.
pub const MAX_TEMPERATURE_C: f64 = 1000.0;
/// The property the unified score's Tg part reads.
pub const TG_PROPERTY: &str = "Glass Transition Temperature";

/// Exactly one of a molecule and a mixture.
pub fn subject(molecule: Option<Uuid>, mixture: Option<Uuid>) -> AppResult<Subject> {
    Ok(
        match exactly_one(molecule, mixture, ("molecule_id", "mixture_id"))? {
            OneOf::First(m) => Subject::Molecule(m),
            OneOf::Second(x) => Subject::Mixture(x),
        },
    )
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExperimentInput {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    /// A property-type name, e.g. "Glass Transition Temperature".
    pub property: String,
    /// A number, text or boolean, as the property type requires.
    pub value: Value,
    pub unit: Option<String>,
    pub temperature_c: Option<f64>,
    /// Free-form conditions (cooling rate, container, …).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub conditions: Option<serde_json::Value>,
    /// ISO date, e.g. 2026-11-29.
    pub performed_on: Option<String>,
    pub notes: Option<String>,
    pub protocol_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    /// For a mixture: the number of the composition used (default: the current one).
    pub mixture_version: Option<i64>,
}

fn performed_on(text: Option<&str>) -> AppResult<Option<Date>> {
    let Some(text) = text else { return Ok(None) };
    let d =
        Date::parse(text, &time::format_description::well_known::Iso8601::DATE).map_err(|_| {
            AppError::validation("performed_on", "expected an ISO date such as 2026-11-29")
        })?;
    let latest = time::OffsetDateTime::now_utc()
        .date()
        .next_day()
        .unwrap_or(d);
    if d.year() < EARLIEST_EXPERIMENT_YEAR || d > latest {
        return Err(AppError::validation(
            "performed_on",
            format!("must be between {EARLIEST_EXPERIMENT_YEAR}-01-01 and tomorrow"),
        ));
    }
    Ok(Some(d))
}

/// The value in the property's unit, and the value and unit as sent when they differ.
fn in_property_unit<'a>(
    value: &Value,
    sent_unit: Option<&'a str>,
    property: &repo::PropertyType,
) -> AppResult<(Value, Option<(f64, &'a str)>)> {
    let unit = property.units.as_deref();
    match (value, sent_unit) {
        (Value::Number(v), Some(u)) if Some(u) != unit => {
            let converted = cryo_core::measure::convert(*v, Some(u), unit)
                .map_err(|e| AppError::validation("unit", e.to_string()))?;
            if !converted.is_finite() {
                return Err(AppError::validation("value", "out of range once converted"));
            }
            Ok((Value::Number(converted), Some((*v, u))))
        }
        (Value::Number(_), _) | (_, None) => Ok((value.clone(), None)),
        (_, Some(u)) if Some(u) == unit => Ok((value.clone(), None)),
        (_, Some(u)) => Err(AppError::validation(
            "unit",
            format!(
                "a {} value has no unit; {u:?} was given",
                property.data_type
            ),
        )),
    }
}

pub use crate::molecules::VIABILITY_PROPERTY;
/// Longest exposure a viability measurement may report, minutes (24 h).
pub const MAX_EXPOSURE_MIN: f64 = 1440.0;
/// Highest CPA concentration it may report, mol/L (neat DMSO is about 14 M).
pub const MAX_EXPOSURE_MOLAR: f64 = 20.0;

/// What a viability measurement must state, beyond its value and temperature.
fn check_viability(
    value: &Value,
    temperature_c: Option<f64>,
    conditions: &serde_json::Value,
) -> AppResult<()> {
    if let Value::Number(v) = value
        && !(0.0..=100.0).contains(v)
    {
        return Err(AppError::validation(
            "value",
            "viability is a percentage, 0 to 100",
        ));
    }
    if temperature_c.is_none() {
        return Err(AppError::validation(
            "temperature_c",
            "viability after CPA exposure needs the exposure temperature",
        ));
    }
    let number = |key: &str, max: f64, what: &str| -> AppResult<()> {
        match conditions.get(key).and_then(|v| v.as_f64()) {
            Some(x) if x > 0.0 && x <= max => Ok(()),
            Some(_) => Err(AppError::validation(
                format!("conditions.{key}"),
                format!("{what} must be above 0 and at most {max}"),
            )),
            None => Err(AppError::validation(
                format!("conditions.{key}"),
                format!("viability after CPA exposure needs {what} (a number)"),
            )),
        }
    };
    number(
        "cpa_concentration_m",
        MAX_EXPOSURE_MOLAR,
        "the CPA concentration in mol/L",
    )?;
    number(
        "exposure_min",
        MAX_EXPOSURE_MIN,
        "the exposure time in minutes",
    )?;
    match conditions
        .get("cell_type")
        .and_then(|v| v.as_str())
        .map(str::trim)
    {
        Some(t) if !t.is_empty() && t.chars().count() <= 200 => Ok(()),
        _ => Err(AppError::validation(
            "conditions.cell_type",
            "viability after CPA exposure needs the cell type (1–200 characters)",
        )),
    }
}

/// Record a measurement on a molecule or a mixture the caller can see. A numeric value in
/// another unit of the same dimension (K or °F for a °C property, kJ/mol for kcal/mol,
/// fraction for %) is converted to the property's unit; the value and unit as sent are kept.
pub async fn record(actor: &Actor<'_>, input: ExperimentInput) -> AppResult<Experiment> {
    let me = actor.me()?;
    let subject = subject(input.molecule_id, input.mixture_id)?;
    if let Value::Number(n) = input.value
        && !n.is_finite()
    {
        return Err(AppError::validation("value", "must be a finite number"));
    }
    let conditions = input.conditions.unwrap_or_else(|| serde_json::json!({}));
    if !conditions.is_object() {
        return Err(AppError::validation("conditions", "must be a JSON object"));
    }
    let performed_on = performed_on(input.performed_on.as_deref())?;
    if let Some(t) = input.temperature_c
        && !(cryo_core::measure::ABSOLUTE_ZERO_C..=MAX_TEMPERATURE_C).contains(&t)
    {
        return Err(AppError::validation(
            "temperature_c",
            format!(
                "must be between {} °C (absolute zero) and {MAX_TEMPERATURE_C} °C",
                cryo_core::measure::ABSOLUTE_ZERO_C
            ),
        ));
    }
    let unknown_property =
        || AppError::validation("property", format!("unknown property `{}`", input.property));
    actor
        .run(async |tx| {
            let property = repo::property_type(tx, &input.property)
                .await?
                .ok_or_else(unknown_property)?;
            let sent_unit = input
                .unit
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty());
            let (value, raw) = in_property_unit(&input.value, sent_unit, &property)?;
            if property.name == VIABILITY_PROPERTY {
                check_viability(&value, input.temperature_c, &conditions)?;
            }
            let visible = match subject {
                Subject::Molecule(m) => repo::get_molecule(tx, m).await?.is_some(),
                Subject::Mixture(x) => repo::get_mixture(tx, x).await?.is_some(),
            };
            if let Some(v) = input.mixture_version {
                let Subject::Mixture(x) = subject else {
                    return Err(AppError::validation(
                        "mixture_version",
                        "only an experiment on a mixture has a composition version",
                    ));
                };
                if visible && repo::version_components(tx, x, v).await?.is_empty() {
                    return Err(AppError::validation(
                        "mixture_version",
                        format!("the mixture has no version {v}"),
                    ));
                }
            }
            if !visible {
                let field = match subject {
                    Subject::Molecule(_) => "molecule_id",
                    Subject::Mixture(_) => "mixture_id",
                };
                return Err(AppError::validation(field, "no such molecule or mixture"));
            }
            repo::create_experiment(
                tx,
                me,
                NewExperiment {
                    subject,
                    property: &input.property,
                    value: &value,
                    unit: property
                        .units
                        .as_deref()
                        .filter(|_| matches!(value, Value::Number(_))),
                    raw,
                    temperature_c: input.temperature_c,
                    conditions,
                    performed_on,
                    notes: input.notes.as_deref(),
                    protocol_id: input.protocol_id,
                    project_id: input.project_id,
                    mixture_version: input.mixture_version,
                },
            )
            .await?
            .ok_or_else(unknown_property)
        })
        .await
}

pub async fn get(actor: &Actor<'_>, id: Uuid) -> AppResult<Experiment> {
    actor
        .run(async |tx| {
            repo::get_experiment(tx, id)
                .await?
                .ok_or(AppError::NotFound { what: "experiment" })
        })
        .await
}

/// Ask a team-mate to verify a measurement: only someone who shares a team with the requester
/// may be named, and they can then read this measurement (and nothing else).
pub async fn request_verification(
    actor: &Actor<'_>,
    experiment: Uuid,
    verifier: Uuid,
    equipment: Option<&str>,
    comments: Option<&str>,
) -> AppResult<Verification> {
    let me = actor.me()?;
    actor
        .run(async |tx| {
            repo::get_experiment(tx, experiment)
                .await?
                .ok_or(AppError::NotFound { what: "experiment" })?;
            if !repo::shares_team_with(tx, verifier).await? {
                return Err(AppError::validation(
                    "verifier_id",
                    "name someone who shares a team with you: only a team-mate can see the measurement to verify it",
                ));
            }
            Ok(
                repo::request_verification(tx, me, experiment, verifier, equipment, comments)
                    .await?,
            )
        })
        .await
}

/// The named verifier records a decision (verified or rejected; "pending" is refused).
pub async fn decide(
    actor: &Actor<'_>,
    id: Uuid,
    status: VerificationStatus,
    equipment: Option<&str>,
    comments: Option<&str>,
) -> AppResult<Verification> {
    if status == VerificationStatus::Pending {
        return Err(AppError::validation("status", "verified or rejected"));
    }
    actor
        .run(async |tx| {
            repo::decide_verification(tx, id, status, equipment, comments)
                .await?
                .ok_or(AppError::NotFound {
                    what: "verification",
                })
        })
        .await
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntervalInput {
    pub lower: f64,
    pub upper: f64,
    /// Nominal coverage, e.g. 0.9.
    pub level: f64,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictionInput {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub property: String,
    pub value: f64,
    pub interval: Option<IntervalInput>,
    pub project_id: Option<Uuid>,
}

/// Store an externally made prediction (method "CryoProtect Model", version 1).
pub async fn store_prediction(actor: &Actor<'_>, p: PredictionInput) -> AppResult<Prediction> {
    let me = actor.me()?;
    let subject = subject(p.molecule_id, p.mixture_id)?;
    if !p.value.is_finite() {
        return Err(AppError::validation("value", "must be a finite number"));
    }
    actor
        .run(async |tx| {
            repo::store_prediction(
                tx,
                me,
                NewPrediction {
                    subject,
                    property: &p.property,
                    method: "CryoProtect Model",
                    method_version: "1",
                    value: PredictedValue::Number {
                        value: p.value,
                        interval: p.interval.map(|i| (i.lower, i.upper, i.level)),
                    },
                    domain: None,
                    beyond_training_range: None,
                    project_id: p.project_id,
                },
            )
            .await?
            .ok_or_else(|| {
                AppError::validation("property", format!("unknown property `{}`", p.property))
            })
        })
        .await
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    pub prediction: Option<Prediction>,
    pub experiment: Option<Experiment>,
    /// measured − predicted.
    pub difference: Option<f64>,
    /// |measured − predicted| / |measured| × 100; null when the measured value is 0.
    pub percent_error: Option<f64>,
}

/// The latest prediction against the latest measurement of a property.
pub async fn compare(actor: &Actor<'_>, subject: Subject, property: &str) -> AppResult<Comparison> {
    let (prediction, experiment) = actor
        .read(async |tx| repo::latest_pair(tx, subject, property).await)
        .await?;
    let (difference, percent_error) = match (
        // A class prediction's number is a probability, not a value to compare.
        prediction
            .as_ref()
            .filter(|p| p.class_label.is_none())
            .map(|p| p.numeric_value),
        experiment.as_ref().and_then(|e| e.numeric_value),
    ) {
        (Some(predicted), Some(measured)) => {
            let d = measured - predicted;
            (
                Some(d),
                (measured != 0.0).then(|| d.abs() / measured.abs() * 100.0),
            )
        }
        _ => (None, None),
    };
    Ok(Comparison {
        prediction,
        experiment,
        difference,
        percent_error,
    })
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnifiedView {
    pub context: Context,
    /// 0–100, or null when nothing is known.
    pub overall: Option<i32>,
    pub efficacy: Option<f64>,
    /// The Tg used (°C): the latest measurement, else the latest prediction.
    pub tg_celsius: Option<f64>,
    pub tg_score: Option<f64>,
    /// Toxicity risk 0–100 from measured assay data, else from stored predictions (a
    /// mixture's by molar share).
    pub toxicity_risk: Option<f64>,
    /// Whether the risk rests on measurements or predictions.
    pub toxicity_source: Option<crate::toxicity::Source>,
    /// Parts without data; their weight is spread over the others.
    pub missing: Vec<String>,
}

/// Context-weighted unified score of a molecule or mixture: efficacy (its cryoprotection
/// score), safety (100 − the toxicity risk from measured assay data the caller can see, else
/// from stored toxicity predictions, as `toxicity_source` says) and Tg against the context's
/// window.
pub async fn unified(
    actor: &Actor<'_>,
    subject: Subject,
    context: Context,
) -> AppResult<UnifiedView> {
    let (efficacy, (prediction, experiment), toxicity_risk) = actor
        .run(async |tx| {
            let efficacy = match subject {
                Subject::Molecule(id) => crate::molecules::visible(tx, id).await?.score,
                Subject::Mixture(id) => crate::mixtures::detail_in(tx, id)
                    .await?
                    .score
                    .map(|s| s.overall as f64),
            };
            let pair = repo::latest_pair(tx, subject, TG_PROPERTY).await?;
            let risk = crate::toxicity::risk(tx, subject).await?;
            AppResult::Ok((efficacy, pair, risk))
        })
        .await?;
    let tg = experiment
        .and_then(|e| e.numeric_value)
        .or(prediction.map(|p| p.numeric_value));
    let (toxicity_risk, toxicity_source) = toxicity_risk.unzip();
    let u = unified_score(efficacy, toxicity_risk, tg, context);
    Ok(UnifiedView {
        context,
        overall: u.as_ref().map(|u| u.overall),
        efficacy,
        tg_celsius: tg,
        tg_score: tg.map(|t| tg_score(t, context)),
        toxicity_risk,
        toxicity_source,
        missing: u
            .map(|u| u.missing.iter().map(|m| m.to_string()).collect())
            .unwrap_or_else(|| vec!["efficacy".into(), "toxicity".into(), "tg".into()]),
    })
}

/// An application context of the unified score: its weights and Tg window.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextView {
    pub context: Context,
    pub efficacy_weight: f64,
    pub toxicity_weight: f64,
    pub tg_weight: f64,
    /// The optimal Tg window, °C.
    pub tg_low_celsius: f64,
    pub tg_high_celsius: f64,
}

pub fn contexts() -> Vec<ContextView> {
    Context::ALL
        .iter()
        .map(|c| {
            let p = c.profile();
            ContextView {
                context: *c,
                efficacy_weight: p.efficacy,
                toxicity_weight: p.toxicity,
                tg_weight: p.tg,
                tg_low_celsius: p.tg_range.0,
                tg_high_celsius: p.tg_range.1,
            }
        })
        .collect()
}

/// Most subjects one batch request scores.
pub const MAX_UNIFIED_BATCH: usize = 200;

/// One subject's unified score in a batch, or why it has none.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnifiedBatchItem {
    pub id: Uuid,
    pub unified: Option<UnifiedView>,
    pub error: Option<String>,
}

/// The unified score of many molecules or mixtures (each as [`unified`]); ids the caller cannot
/// see answer with an error in place, not a failed batch.
pub async fn unified_batch(
    actor: &Actor<'_>,
    ids: &[Uuid],
    mixtures: bool,
    context: Context,
) -> AppResult<Vec<UnifiedBatchItem>> {
    if ids.is_empty() || ids.len() > MAX_UNIFIED_BATCH {
        return Err(AppError::Validation {
            field: "ids".into(),
            message: format!("give 1 to {MAX_UNIFIED_BATCH} ids, not {}", ids.len()),
        });
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let subject = if mixtures {
            Subject::Mixture(*id)
        } else {
            Subject::Molecule(*id)
        };
        out.push(match unified(actor, subject, context).await {
            Ok(u) => UnifiedBatchItem {
                id: *id,
                unified: Some(u),
                error: None,
            },
            Err(AppError::NotFound { what }) => UnifiedBatchItem {
                id: *id,
                unified: None,
                error: Some(format!("{what} not found")),
            },
            Err(e) => return Err(e),
        });
    }
    Ok(out)
}
