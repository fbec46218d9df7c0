//! Recommend components: rank molecules of the visible library by how much adding one to a
//! mixture (at the best of a few amounts that keep the solution possible and under the
//! osmolality ceiling) improves the objective, with similarity and structural-alert filters.
//! The candidates are the caller's explicit list, or the [`MAX_CANDIDATES`] visible molecules
//! with the highest stored cryoprotection score (said in the answer).

use crate::mixture_optimise::{Evaluator, Objective, ObjectiveInput, gather};
use crate::mixture_physics::{ConstantsOverride, constants_of, parse_overrides, positive};
use crate::{Actor, AppError, AppResult};
use cryo_chem::Molecule;
use cryo_core::units::ConcentrationUnit;
use cryo_db::repo::science::{self as repo, ComponentRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Candidates one request considers.
pub const MAX_CANDIDATES: i64 = 2000;
/// Recommendations one answer returns.
pub const MAX_RECOMMENDATIONS: usize = 50;
/// Amounts tried per candidate.
pub const MAX_AMOUNTS: usize = 8;

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendInput {
    #[serde(flatten)]
    pub objective: ObjectiveInput,
    /// Molecules to consider (default: the visible library's best-scored).
    pub candidates: Option<Vec<Uuid>>,
    /// The unit a candidate is added in (default: the first component's).
    pub unit: Option<String>,
    /// Amounts to try, in `unit` (default: four levels typical of the unit).
    pub amounts: Option<Vec<f64>>,
    /// osmol/kg; amounts that break it are not tried.
    pub max_osmolality: Option<f64>,
    /// Leave out candidates more similar than this (Morgan Tanimoto, 0–1) to any component.
    pub max_similarity: Option<f64>,
    /// Leave out candidates with any structural alert.
    #[serde(default)]
    pub alert_free: bool,
    /// Default 10.
    pub limit: Option<usize>,
    #[serde(default)]
    pub overrides: Vec<ConstantsOverride>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    pub molecule_id: Uuid,
    pub name: Option<String>,
    pub canonical_smiles: String,
    /// The amount that did best, in `unit`.
    pub amount: f64,
    pub unit: ConcentrationUnit,
    pub value: Option<f64>,
    /// How much better than the current mixture (positive: better), in the quantity's terms.
    pub improvement: f64,
    pub interval: Option<(f64, f64)>,
    pub osmolality: Option<f64>,
    /// Highest Tanimoto similarity to a current component.
    pub similarity: f64,
    pub alerts: usize,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecommendOutcome {
    pub mixture_id: Uuid,
    /// The current mixture's value.
    pub current: Option<f64>,
    /// Candidates read, and how many were evaluated (not already a component, not filtered).
    pub considered: usize,
    pub evaluated: usize,
    /// The candidates were the library's best-scored, not all of it.
    pub library_truncated: bool,
    pub recommendations: Vec<Recommendation>,
}

/// Four amounts typical of a unit.
fn default_amounts(unit: ConcentrationUnit) -> Vec<f64> {
    match unit {
        ConcentrationUnit::PercentWv | ConcentrationUnit::PercentVv => vec![2.5, 5.0, 10.0, 20.0],
        ConcentrationUnit::Molar => vec![0.25, 0.5, 1.0, 2.0],
        ConcentrationUnit::MilliMolar => vec![250.0, 500.0, 1000.0, 2000.0],
        ConcentrationUnit::MgPerMl => vec![25.0, 50.0, 100.0, 200.0],
        ConcentrationUnit::MolFraction => vec![0.01, 0.02, 0.05, 0.1],
    }
}

fn fraction(field: &str, v: Option<f64>) -> AppResult<Option<f64>> {
    match v {
        Some(x) if !(0.0..=1.0).contains(&x) => {
            Err(AppError::validation(field, "must be between 0 and 1"))
        }
        _ => Ok(v),
    }
}

pub async fn recommend(
    actor: &Actor<'_>,
    id: Uuid,
    input: RecommendInput,
) -> AppResult<RecommendOutcome> {
    let overrides = parse_overrides(&input.overrides)?;
    let objective = Objective::parse(&input.objective)?;
    let limit = input.limit.unwrap_or(10);
    if !(1..=MAX_RECOMMENDATIONS).contains(&limit) {
        return Err(AppError::validation(
            "limit",
            format!("between 1 and {MAX_RECOMMENDATIONS}"),
        ));
    }
    let max_similarity = fraction("max_similarity", input.max_similarity)?;
    let max_osmolality = positive("max_osmolality", input.max_osmolality)?;
    if let Some(c) = &input.candidates
        && (c.is_empty() || c.len() > MAX_CANDIDATES as usize)
    {
        return Err(AppError::validation(
            "candidates",
            format!("between 1 and {MAX_CANDIDATES} molecule ids"),
        ));
    }
    let gathered = gather(actor, id, &input.objective, &overrides).await?;
    let unit = match &input.unit {
        Some(u) => u
            .parse::<ConcentrationUnit>()
            .map_err(|e| AppError::validation("unit", e.to_string()))?,
        None => gathered.components[0].concentration_unit,
    };
    let amounts = match &input.amounts {
        Some(a) => {
            if a.is_empty()
                || a.len() > MAX_AMOUNTS
                || a.iter()
                    .any(|v| cryo_core::units::Concentration::new(*v, unit).is_err())
            {
                return Err(AppError::validation(
                    "amounts",
                    format!("1 to {MAX_AMOUNTS} amounts, each valid in {unit}"),
                ));
            }
            a.clone()
        }
        None => default_amounts(unit),
    };
    let existing: Vec<Uuid> = gathered.components.iter().map(|c| c.molecule_id).collect();
    let (candidates, toxicity, library_truncated) = actor
        .run(async |tx| {
            let rows = match &input.candidates {
                Some(ids) => repo::component_molecules(tx, ids).await?,
                None => repo::best_scored_molecules(tx, MAX_CANDIDATES + 1).await?,
            };
            let truncated = input.candidates.is_none() && rows.len() as i64 > MAX_CANDIDATES;
            let rows: Vec<_> = rows
                .into_iter()
                .take(MAX_CANDIDATES as usize)
                .filter(|m| !existing.contains(&m.id))
                .collect();
            let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
            let toxicity = crate::toxicity::scores_of(tx, &ids).await?;
            AppResult::Ok((rows, toxicity, truncated))
        })
        .await?;
    let considered = candidates.len();
    let alert_free = input.alert_free;
    actor
        .app
        .compute
        .run(move |deadline| {
            let base = Evaluator::new(
                gathered.components.clone(),
                gathered.constants,
                gathered.model.map(|(_, l, set)| (l, set)),
                objective.level,
                gathered.toxicity,
            )?;
            let now = base.evaluate(objective.quantity, &base.current());
            objective.check_bounded(&now)?;
            let now_cost = objective.cost(&now);
            let fingerprints = gathered
                .components
                .iter()
                .map(|c| Ok(Molecule::from_smiles(&c.canonical_smiles)?.fingerprint()?))
                .collect::<AppResult<Vec<_>>>()?;
            let mut ranked = Vec::new();
            let mut evaluated = 0;
            for (m, tox) in candidates.iter().zip(toxicity) {
                deadline.check().map_err(|e| AppError::Chem(e.into()))?;
                let Ok(mol) = Molecule::from_smiles(&m.canonical_smiles) else {
                    continue;
                };
                let similarity = match mol.fingerprint() {
                    Ok(fp) => fingerprints
                        .iter()
                        .map(|f| f.tanimoto(&fp))
                        .fold(0.0, f64::max),
                    Err(_) => continue,
                };
                if max_similarity.is_some_and(|max| similarity > max) {
                    continue;
                }
                let alerts = mol.structural_alerts().map(|a| a.len()).unwrap_or(0);
                if alert_free && alerts > 0 {
                    continue;
                }
                let added = ComponentRow {
                    molecule_id: m.id,
                    molecule_name: m.name.clone(),
                    canonical_smiles: m.canonical_smiles.clone(),
                    inchikey: m.inchikey.clone(),
                    molecular_weight: m.molecular_weight,
                    density_g_per_ml: m.density_g_per_ml,
                    concentration: amounts[0],
                    concentration_unit: unit,
                    score: m.score,
                };
                let constants = constants_of(&added, &overrides).0;
                let Ok(ev) = base.with(added, constants, tox, &mol) else {
                    continue;
                };
                evaluated += 1;
                let mut x = ev.current();
                let best = amounts
                    .iter()
                    .filter_map(|&a| {
                        *x.last_mut()? = a;
                        let e = ev.evaluate(objective.quantity, &x);
                        let allowed =
                            max_osmolality.is_none_or(|max| e.osmolality.is_some_and(|o| o <= max));
                        let cost = objective.cost(&e);
                        (allowed && cost.is_finite()).then_some((a, e, cost))
                    })
                    .min_by(|a, b| a.2.total_cmp(&b.2));
                let Some((amount, e, cost)) = best else {
                    continue;
                };
                ranked.push(Recommendation {
                    molecule_id: m.id,
                    name: m.name.clone(),
                    canonical_smiles: m.canonical_smiles.clone(),
                    amount,
                    unit,
                    value: e.value,
                    improvement: now_cost - cost,
                    interval: e.interval,
                    osmolality: e.osmolality,
                    similarity,
                    alerts,
                });
            }
            ranked.sort_by(|a, b| b.improvement.total_cmp(&a.improvement));
            ranked.truncate(limit);
            Ok(RecommendOutcome {
                mixture_id: id,
                current: now.value,
                considered,
                evaluated,
                library_truncated,
                recommendations: ranked,
            })
        })
        .await
}
