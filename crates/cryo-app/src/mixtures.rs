//! Mixtures: components with unit-checked concentrations, scored on a molar basis. A mixture is
//! validated and scored before anything is written, so no mixture exists that cannot be scored.

use crate::composition;
use crate::{Actor, AppError, AppResult};
use cryo_core::ident::{parse_name, parse_optional_name};
use cryo_core::score::MixtureScore;
use cryo_core::units::{Concentration, ConcentrationUnit, UnitError};
use cryo_db::repo::science::{
    self as repo, ComponentRow, Mixture, NewComponent, NewPrediction, PredictedValue, Prediction,
    Subject,
};
use cryo_db::repo::{Conn, Entity, Page};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest mixture name, in characters.
pub const MAX_NAME_CHARS: usize = 300;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentInput {
    pub molecule_id: Uuid,
    pub concentration: f64,
    /// mol_fraction, percent_w_v, percent_v_v, mM, M or mg_per_mL.
    pub unit: String,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MixtureInput {
    pub name: String,
    pub description: Option<String>,
    pub project_id: Option<Uuid>,
    pub components: Vec<ComponentInput>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MixtureScoreView {
    pub overall: i32,
    pub weighted_mean: f64,
    pub synergy_bonus: f64,
    /// Each component's share of the mixture's molar amount.
    pub molar_shares: Vec<f64>,
}

impl From<MixtureScore> for MixtureScoreView {
    fn from(s: MixtureScore) -> Self {
        MixtureScoreView {
            overall: s.overall,
            weighted_mean: s.weighted_mean,
            synergy_bonus: s.synergy_bonus,
            molar_shares: s.molar_shares,
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MixtureDetail {
    pub mixture: Mixture,
    pub components: Vec<ComponentRow>,
    pub score: Option<MixtureScoreView>,
    /// Why there is no score (e.g. units that cannot be reconciled).
    pub score_error: Option<String>,
}

fn unit_error(index: usize, e: UnitError) -> AppError {
    let field = match e {
        UnitError::UnknownUnit { .. } => format!("components[{index}].unit"),
        UnitError::NotPositive { .. } | UnitError::AboveMaximum { .. } => {
            format!("components[{index}].concentration")
        }
        _ => "components".to_string(),
    };
    AppError::Validation {
        field,
        message: e.to_string(),
    }
}

/// The mixture with `id` if the caller can see it.
pub async fn visible(tx: &mut Conn, id: Uuid) -> AppResult<Mixture> {
    repo::get_mixture(tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "mixture" })
}

/// A mixture the caller can see, with its components and score (or why it has none).
pub async fn detail_in(tx: &mut Conn, id: Uuid) -> AppResult<MixtureDetail> {
    let mixture = visible(tx, id).await?;
    let components = repo::components(tx, id).await?;
    let (score, score_error) = match composition::score(&components) {
        Ok(s) => (Some(s.into()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(MixtureDetail {
        mixture,
        components,
        score,
        score_error,
    })
}

pub async fn detail(actor: &Actor<'_>, id: Uuid) -> AppResult<MixtureDetail> {
    actor.run(async |tx| detail_in(tx, id).await).await
}

pub async fn list(actor: &Actor<'_>, page: Page) -> AppResult<Vec<Mixture>> {
    actor
        .read(async |tx| repo::list_mixtures(tx, page).await)
        .await
}

/// Create a mixture for the signed-in caller. Units are checked and must be reconcilable to a
/// molar basis (mole fractions cannot be mixed with per-volume units; % v/v needs a density).
/// Three statements: read the component molecules, insert the mixture, insert every component.
pub async fn create(actor: &Actor<'_>, input: MixtureInput) -> AppResult<MixtureDetail> {
    let me = actor.me()?;
    let name = parse_name("name", &input.name, MAX_NAME_CHARS)?;
    if input.components.is_empty() {
        return Err(AppError::validation(
            "components",
            "a mixture needs at least one component",
        ));
    }
    let parsed = input
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let unit: ConcentrationUnit = c.unit.parse().map_err(|e| unit_error(i, e))?;
            Concentration::new(c.concentration, unit).map_err(|e| unit_error(i, e))?;
            Ok(NewComponent {
                molecule_id: c.molecule_id,
                concentration: c.concentration,
                unit,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    actor
        .run(async |tx| {
            let ids: Vec<Uuid> = parsed.iter().map(|c| c.molecule_id).collect();
            let known = repo::component_molecules(tx, &ids).await?;
            let components = parsed
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let m = known
                        .iter()
                        .find(|m| m.id == c.molecule_id)
                        .ok_or_else(|| {
                            AppError::validation(
                                format!("components[{i}].molecule_id"),
                                "no such molecule",
                            )
                        })?;
                    Ok(ComponentRow {
                        molecule_id: m.id,
                        molecule_name: m.name.clone(),
                        canonical_smiles: m.canonical_smiles.clone(),
                        molecular_weight: m.molecular_weight,
                        density_g_per_ml: m.density_g_per_ml,
                        concentration: c.concentration,
                        concentration_unit: c.unit,
                        score: m.score,
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            // Refuse units that cannot be reconciled rather than store a mixture no one can
            // score.
            let score = composition::score(&components)
                .map_err(|e| AppError::validation("components", e.to_string()))?;
            let mixture = repo::create_mixture(
                tx,
                me,
                &name,
                input.description.as_deref(),
                input.project_id,
                &parsed,
            )
            .await?;
            Ok(MixtureDetail {
                mixture,
                components,
                score: Some(score.into()),
                score_error: None,
            })
        })
        .await
}

/// Rename or re-describe a mixture (its owner or a writer), then read it back.
pub async fn update(
    actor: &Actor<'_>,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> AppResult<MixtureDetail> {
    let name = parse_optional_name("name", name, MAX_NAME_CHARS)?;
    actor
        .run(async |tx| {
            if !repo::update_mixture(tx, id, name.as_deref(), description).await? {
                return Err(crate::rows::why_unchanged(tx, Entity::Mixture, id).await);
            }
            detail_in(tx, id).await
        })
        .await
}

/// Store the mixture's current score as a prediction (method "CryoProtect Scoring").
pub async fn store_score(actor: &Actor<'_>, id: Uuid) -> AppResult<Prediction> {
    let me = actor.me()?;
    actor
        .run(async |tx| {
            let d = detail_in(tx, id).await?;
            let score = d.score.ok_or_else(|| {
                AppError::validation("components", d.score_error.unwrap_or_default())
            })?;
            let version = crate::molecules::scoring_method_version();
            repo::store_prediction(
                tx,
                me,
                NewPrediction {
                    subject: Subject::Mixture(id),
                    property: "Mixture Cryoprotection Score",
                    method: crate::molecules::SCORING_METHOD,
                    method_version: &version,
                    value: PredictedValue::Number {
                        value: score.overall as f64,
                        interval: None,
                    },
                    domain: None,
                    beyond_training_range: None,
                    project_id: d.mixture.project_id,
                },
            )
            .await?
            .ok_or_else(|| AppError::Unavailable("scoring method not seeded".into()))
        })
        .await
}
