//! Toxicity: a molecule's structural alerts, QED and measured assay activity scored by endpoint;
//! a mixture's toxicity from its components; importing assay files (Tox21 wide layout and a long
//! layout) with per-row errors.

use crate::{Actor, AppResult, composition};
use cryo_chem::Molecule;
use cryo_chem::toxicity::Alert;
use cryo_core::toxicity::{
    AlertFamily, Endpoint, MixtureToxicity, QedProperties, ToxicityScore, mixture_toxicity,
    score_observations,
};
use cryo_db::repo::Conn;
use cryo_db::repo::science::{ComponentRow, Subject};
use cryo_db::repo::toxicity::{self as repo, ActivityRow, NewActivity, PredictedActivity};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Most activities listed with a molecule (its score reads them all).
pub const MAX_LISTED_ACTIVITIES: usize = 2_000;

/// Every visible activity and stored assay prediction of these molecules: what their scores
/// rest on.
async fn measured_and_predicted(
    tx: &mut Conn,
    molecules: &[Uuid],
) -> AppResult<(Vec<ActivityRow>, Vec<PredictedActivity>)> {
    Ok((
        repo::activities(tx, molecules).await?,
        repo::predicted_activities(tx, molecules).await?,
    ))
}

/// A molecule's toxicity score from its measured activities, else from its stored predictions,
/// and which it was.
fn molecule_score(
    molecule: Uuid,
    activities: &[ActivityRow],
    predictions: &[PredictedActivity],
) -> Option<(ToxicityScore, Source)> {
    score_activities(activities.iter().filter(|a| a.molecule_id == molecule))
        .map(|s| (s, Source::Measured))
        .or_else(|| {
            score_predictions(predictions.iter().filter(|p| p.molecule_id == molecule))
                .map(|s| (s, Source::Predicted))
        })
}

/// Alerts, QED and measured toxicity of one molecule.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoleculeToxicity {
    pub molecule_id: Uuid,
    pub canonical_smiles: String,
    /// Every alert that matched, with the atoms it matched.
    pub alerts: Vec<Alert>,
    /// Alerts per family (every family listed).
    pub alert_counts: BTreeMap<AlertFamily, u32>,
    pub qed: f64,
    pub qed_properties: QedProperties,
    /// The score from measured activities visible to the caller; null without any.
    pub measured: Option<ToxicityScore>,
    pub activities: Vec<ActivityRow>,
    /// The score from stored classifier predictions of assays (`Toxicity: <assay>` models),
    /// probabilities of activity as values; null without any.
    pub predicted: Option<ToxicityScore>,
    pub predictions: Vec<PredictedActivity>,
}

/// What a structure's alerts and QED are (CPU).
fn structure_view(smiles: &str) -> AppResult<(Vec<Alert>, QedProperties)> {
    let mol = Molecule::from_smiles(smiles)?;
    Ok((mol.structural_alerts()?, mol.qed_properties()?))
}

/// A hit call counts 1/0; a potency without a hit call means the assay saw activity.
fn activity_value(a: &ActivityRow) -> Option<f64> {
    match (a.hit_call, a.potency) {
        (Some(hit), _) => Some(if hit { 1.0 } else { 0.0 }),
        (None, Some(_)) => Some(1.0),
        (None, None) => None,
    }
}

/// The toxicity score of predicted activities: each assay's probability of activity.
pub fn score_predictions<'a>(
    predictions: impl IntoIterator<Item = &'a PredictedActivity>,
) -> Option<ToxicityScore> {
    score_observations(predictions.into_iter().map(|p| {
        (
            Endpoint::parse(&p.endpoint).unwrap_or(Endpoint::Other),
            p.probability_active.clamp(0.0, 1.0),
        )
    }))
}

/// The toxicity score of a molecule's activities.
pub fn score_activities<'a>(
    activities: impl IntoIterator<Item = &'a ActivityRow>,
) -> Option<ToxicityScore> {
    score_observations(activities.into_iter().filter_map(|a| {
        let endpoint = Endpoint::parse(&a.endpoint).unwrap_or(Endpoint::Other);
        activity_value(a).map(|v| (endpoint, v))
    }))
}

pub async fn molecule(actor: &Actor<'_>, id: Uuid) -> AppResult<MoleculeToxicity> {
    let (m, mut activities, predictions) = actor
        .run(async |tx| {
            let m = crate::molecules::visible(tx, id).await?;
            let (activities, predictions) = measured_and_predicted(tx, &[id]).await?;
            AppResult::Ok((m, activities, predictions))
        })
        .await?;
    let smiles = m.canonical_smiles.clone();
    let (alerts, qed_properties) = actor.compute(move |_| structure_view(&smiles)).await?;
    let measured = score_activities(&activities);
    activities.truncate(MAX_LISTED_ACTIVITIES);
    Ok(MoleculeToxicity {
        molecule_id: id,
        canonical_smiles: m.canonical_smiles,
        alert_counts: cryo_chem::toxicity::counts(&alerts).into_iter().collect(),
        alerts,
        qed: cryo_core::toxicity::qed(&qed_properties),
        qed_properties,
        measured,
        activities,
        predicted: score_predictions(&predictions),
        predictions,
    })
}

/// One component's part in a mixture's toxicity.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentToxicity {
    pub molecule_id: Uuid,
    pub molecule_name: Option<String>,
    /// Share of the mixture's molar amount (0–1); null when units cannot be reconciled.
    pub molar_share: Option<f64>,
    /// Its toxicity score: measured, else predicted (see `source`).
    pub score: Option<ToxicityScore>,
    pub source: Option<Source>,
    pub alert_counts: BTreeMap<AlertFamily, u32>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MixtureToxicityView {
    pub mixture_id: Uuid,
    pub components: Vec<ComponentToxicity>,
    /// Components' scores weighted by molar share; null when no component has data or the
    /// shares cannot be computed.
    pub toxicity: Option<MixtureToxicity>,
    /// Where the components' scores came from.
    pub source: Option<Source>,
    /// The union of the components' alerts (family and name, once each).
    pub alerts: Vec<AlertName>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertName {
    pub family: AlertFamily,
    pub name: String,
}

pub async fn mixture(actor: &Actor<'_>, id: Uuid) -> AppResult<MixtureToxicityView> {
    let (components, activities, predictions) = actor
        .run(async |tx| {
            let d = crate::mixtures::detail_in(tx, id).await?;
            let ids: Vec<Uuid> = d.components.iter().map(|c| c.molecule_id).collect();
            let (activities, predictions) = measured_and_predicted(tx, &ids).await?;
            AppResult::Ok((d.components, activities, predictions))
        })
        .await?;
    let smiles: Vec<String> = components
        .iter()
        .map(|c| c.canonical_smiles.clone())
        .collect();
    let alerts = actor
        .compute(move |_| {
            smiles
                .iter()
                .map(|s| Ok(Molecule::from_smiles(s)?.structural_alerts()?))
                .collect::<AppResult<Vec<_>>>()
        })
        .await?;
    let shares = composition::shares(&components).ok();
    let scores = component_scores(&components, &activities, &predictions);
    let toxicity = shares.as_ref().and_then(|sh| by_share(sh, &scores));
    let source = combined_source(scores.iter().flatten().map(|(_, s)| *s));
    let mut union: Vec<AlertName> = alerts
        .iter()
        .flatten()
        .map(|a| AlertName {
            family: a.family,
            name: a.name.clone(),
        })
        .collect();
    union.sort();
    union.dedup();
    Ok(MixtureToxicityView {
        mixture_id: id,
        components: components
            .iter()
            .zip(scores)
            .zip(&alerts)
            .enumerate()
            .map(|(i, ((c, score), a))| ComponentToxicity {
                molecule_id: c.molecule_id,
                molecule_name: c.molecule_name.clone(),
                molar_share: shares.as_ref().map(|s| s[i]),
                source: score.as_ref().map(|(_, s)| *s),
                score: score.map(|(t, _)| t),
                alert_counts: cryo_chem::toxicity::counts(a).into_iter().collect(),
            })
            .collect(),
        toxicity,
        source,
        alerts: union,
    })
}

/// Each component's score (as [`molecule_score`]).
fn component_scores(
    components: &[ComponentRow],
    activities: &[ActivityRow],
    predictions: &[PredictedActivity],
) -> Vec<Option<(ToxicityScore, Source)>> {
    components
        .iter()
        .map(|c| molecule_score(c.molecule_id, activities, predictions))
        .collect()
}

/// Each of `molecules`' toxicity score (measured, else predicted) as the caller sees them.
pub async fn scores_of(tx: &mut Conn, molecules: &[Uuid]) -> AppResult<Vec<Option<ToxicityScore>>> {
    let (activities, predictions) = measured_and_predicted(tx, molecules).await?;
    Ok(molecules
        .iter()
        .map(|m| molecule_score(*m, &activities, &predictions).map(|(s, _)| s))
        .collect())
}

/// Where a toxicity score came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Measured assay activities.
    Measured,
    /// Stored classifier predictions (no measurement visible).
    Predicted,
    /// A mixture whose components' scores come from both.
    MeasuredAndPredicted,
}

/// The source of a combination of scores.
fn combined_source(sources: impl IntoIterator<Item = Source>) -> Option<Source> {
    sources.into_iter().reduce(|a, b| {
        if a == b {
            a
        } else {
            Source::MeasuredAndPredicted
        }
    })
}

/// Components' scores weighted by their molar shares (same order).
fn by_share(shares: &[f64], scores: &[Option<(ToxicityScore, Source)>]) -> Option<MixtureToxicity> {
    let parts: Vec<(f64, Option<&ToxicityScore>)> = shares
        .iter()
        .copied()
        .zip(scores.iter().map(|s| s.as_ref().map(|(t, _)| t)))
        .collect();
    mixture_toxicity(&parts)
}

/// The toxicity risk (0–100) the unified score uses, from measured data the caller can see,
/// else from stored predictions, and which it was.
pub async fn risk(tx: &mut Conn, subject: Subject) -> AppResult<Option<(f64, Source)>> {
    Ok(match subject {
        Subject::Molecule(id) => {
            let (activities, predictions) = measured_and_predicted(tx, &[id]).await?;
            molecule_score(id, &activities, &predictions).map(|(s, source)| (s.risk(), source))
        }
        Subject::Mixture(id) => {
            let components = cryo_db::repo::science::components(tx, id).await?;
            let ids: Vec<Uuid> = components.iter().map(|c| c.molecule_id).collect();
            let (activities, predictions) = measured_and_predicted(tx, &ids).await?;
            let Ok(shares) = composition::shares(&components) else {
                return Ok(None);
            };
            let scores = component_scores(&components, &activities, &predictions);
            let source = combined_source(scores.iter().flatten().map(|(_, s)| *s));
            by_share(&shares, &scores)
                .zip(source)
                .map(|(m, s)| (100.0 * m.score, s))
        }
    })
}

/// The reference assays and the endpoint each informs.
pub async fn assays(actor: &Actor<'_>) -> AppResult<Vec<repo::AssayRow>> {
    actor.run(async |tx| Ok(repo::assays(tx).await?)).await
}

// ---------------------------------------------------------------- import

/// One measurement read from a file, before its structure is resolved.
#[derive(Debug, Clone)]
pub struct ImportMeasurement {
    pub assay_key: String,
    pub hit_call: Option<bool>,
    pub activity_type: Option<String>,
    pub potency: Option<f64>,
    pub potency_unit: Option<String>,
}

/// One file row: its line, structure (computed on the compute side) and measurements.
pub struct ImportRow {
    pub line: usize,
    pub computed: crate::molecules::Computed,
    pub measurements: Vec<ImportMeasurement>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub activities_new: usize,
    pub activities_updated: usize,
    pub molecules_created: usize,
    pub molecules_matched: usize,
    /// (line, reason) of every row or cell that was not stored.
    pub rejected: Vec<(usize, String)>,
}

/// Store one batch of rows in the open transaction: structures matched by InChIKey to the
/// caller's or reference molecules (else registered for the caller), then one activity per
/// (molecule, assay, caller), replaced on re-import.
pub async fn import_rows(
    tx: &mut Conn,
    owner: Option<Uuid>,
    rows: &[ImportRow],
    report: &mut ImportReport,
) -> AppResult<()> {
    let assays: HashMap<String, Uuid> = repo::assays(tx)
        .await?
        .into_iter()
        .map(|a| (a.assay_key.to_ascii_lowercase(), a.id))
        .collect();
    for row in rows {
        report.rows += 1;
        let known = match &row.computed.row.inchikey {
            Some(key) => repo::molecule_by_inchikey(tx, owner, key).await?,
            None => None,
        };
        let molecule_id = match known {
            Some(id) => {
                report.molecules_matched += 1;
                id
            }
            None => {
                let (id, created) = crate::molecules::store(tx, owner, &row.computed).await?;
                if created {
                    report.molecules_created += 1;
                } else {
                    report.molecules_matched += 1;
                }
                id
            }
        };
        for m in &row.measurements {
            let Some(assay_id) = assays.get(&m.assay_key.to_ascii_lowercase()) else {
                report
                    .rejected
                    .push((row.line, format!("unknown assay `{}`", m.assay_key)));
                continue;
            };
            let new = repo::upsert_activity(
                tx,
                owner,
                &NewActivity {
                    molecule_id,
                    assay_id: *assay_id,
                    hit_call: m.hit_call,
                    activity_type: m.activity_type.as_deref(),
                    potency: m.potency,
                    potency_unit: m.potency_unit.as_deref(),
                    reliability: 1.0,
                    provenance: Some(&format!("line {}", row.line)),
                },
            )
            .await?;
            if new {
                report.activities_new += 1;
            } else {
                report.activities_updated += 1;
            }
        }
    }
    Ok(())
}

/// A hit call as files write it: 1/0, true/false, active/inactive; blank is no measurement.
pub fn parse_hit_call(s: &str) -> Result<Option<bool>, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "na" | "nan" => Ok(None),
        "1" | "1.0" | "true" | "active" | "yes" => Ok(Some(true)),
        "0" | "0.0" | "false" | "inactive" | "no" => Ok(Some(false)),
        other => Err(format!(
            "hit call `{other}` is not 1/0, true/false or active/inactive"
        )),
    }
}

/// A potency with its unit: a positive finite number, unit one of M, mM, uM (µM), nM.
pub fn parse_potency(value: &str, unit: &str) -> Result<Option<(f64, String)>, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let x: f64 = v
        .parse()
        .map_err(|_| format!("potency `{v}` is not a number"))?;
    if !(x.is_finite() && x > 0.0) {
        return Err(format!("potency {v} must be a positive number"));
    }
    let unit = match unit.trim() {
        "M" => "M",
        "mM" => "mM",
        "uM" | "µM" | "μM" | "" => "uM",
        "nM" => "nM",
        other => return Err(format!("potency unit `{other}` is not M, mM, uM or nM")),
    };
    Ok(Some((x, unit.to_string())))
}

/// An activity type: AC50, IC50 or EC50 (case-insensitive); blank is none.
pub fn parse_activity_type(s: &str) -> Result<Option<String>, String> {
    let t = s.trim().to_ascii_uppercase();
    match t.as_str() {
        "" => Ok(None),
        "AC50" | "IC50" | "EC50" => Ok(Some(t)),
        _ => Err(format!(
            "activity type `{}` is not AC50, IC50 or EC50",
            s.trim()
        )),
    }
}
