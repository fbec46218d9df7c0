//! Mixtures: components with unit-checked concentrations, scored on a molar basis. A mixture is
//! validated and scored before anything is written, so no mixture exists that cannot be scored.

use crate::composition;
use crate::{Actor, AppError, AppResult};
use cryo_core::ident::{parse_name, parse_optional_name};
use cryo_core::score::MixtureScore;
use cryo_core::units::{Concentration, ConcentrationUnit, UnitError};
use cryo_db::repo::science::{
    self as repo, ComponentRow, CompositionRefused, Mixture, MixtureVersion, NewComponent,
    NewPrediction, PredictedValue, Prediction, Subject,
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

/// Components as sent, with their units parsed and amounts checked (no database needed).
fn parse_components(components: &[ComponentInput]) -> AppResult<Vec<NewComponent>> {
    if components.is_empty() {
        return Err(AppError::validation(
            "components",
            "a mixture needs at least one component",
        ));
    }
    if components.len() > MAX_COMPONENTS {
        return Err(AppError::validation(
            "components",
            format!("at most {MAX_COMPONENTS} components"),
        ));
    }
    components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if components[..i]
                .iter()
                .any(|o| o.molecule_id == c.molecule_id)
            {
                return Err(AppError::validation(
                    format!("components[{i}].molecule_id"),
                    "this molecule is already a component",
                ));
            }
            let unit: ConcentrationUnit = c.unit.parse().map_err(|e| unit_error(i, e))?;
            Concentration::new(c.concentration, unit).map_err(|e| unit_error(i, e))?;
            Ok(NewComponent {
                molecule_id: c.molecule_id,
                concentration: c.concentration,
                unit,
            })
        })
        .collect()
}

/// The components with what the unit arithmetic needs of their molecules (one query), refused
/// when a molecule is not visible or the units cannot be reconciled to a molar basis (so no
/// composition is stored that cannot be scored).
async fn resolve_components(
    tx: &mut Conn,
    parsed: &[NewComponent],
) -> AppResult<(Vec<ComponentRow>, MixtureScore)> {
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
                    AppError::validation(format!("components[{i}].molecule_id"), "no such molecule")
                })?;
            Ok(ComponentRow {
                molecule_id: m.id,
                molecule_name: m.name.clone(),
                canonical_smiles: m.canonical_smiles.clone(),
                inchikey: m.inchikey.clone(),
                molecular_weight: m.molecular_weight,
                density_g_per_ml: m.density_g_per_ml,
                concentration: c.concentration,
                concentration_unit: c.unit,
                score: m.score,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let score = composition::score(&components)
        .map_err(|e| AppError::validation("components", e.to_string()))?;
    Ok((components, score))
}

/// Create a mixture for the signed-in caller. Units are checked and must be reconcilable to a
/// molar basis (mole fractions cannot be mixed with per-volume units; % v/v needs a density).
/// Its composition is version 1.
pub async fn create(actor: &Actor<'_>, input: MixtureInput) -> AppResult<MixtureDetail> {
    let me = actor.me()?;
    let name = parse_name("name", &input.name, MAX_NAME_CHARS)?;
    let parsed = parse_components(&input.components)?;
    actor
        .run(async |tx| {
            let (components, score) = resolve_components(tx, &parsed).await?;
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

/// Longest note on a saved composition, in characters (the database allows 2,000 bytes).
pub const MAX_NOTE_CHARS: usize = 500;

/// Most components one mixture may have.
pub const MAX_COMPONENTS: usize = 32;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompositionInput {
    pub components: Vec<ComponentInput>,
    /// The version this edit started from; when another was saved since, the edit is refused
    /// (409) rather than silently overwriting it.
    pub base_version: Option<i64>,
    /// Why the composition changed.
    pub note: Option<String>,
}

/// Save a new composition as the mixture's next version (the old ones stay, and experiments
/// keep pointing at the version they used).
pub async fn save_composition(
    actor: &Actor<'_>,
    id: Uuid,
    input: CompositionInput,
) -> AppResult<MixtureDetail> {
    let me = actor.me()?;
    let parsed = parse_components(&input.components)?;
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(AppError::validation(
            "note",
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    actor
        .run(async |tx| {
            visible(tx, id).await?;
            let (components, score) = resolve_components(tx, &parsed).await?;
            match repo::save_composition(tx, me, id, input.base_version, note, &parsed).await? {
                Ok(mixture) => Ok(MixtureDetail {
                    mixture,
                    components,
                    score: Some(score.into()),
                    score_error: None,
                }),
                Err(CompositionRefused::Stale { current }) => Err(AppError::Conflict(format!(
                    "version {current} was saved since version {} you edited; reload and edit again",
                    input.base_version.unwrap_or_default()
                ))),
                Err(CompositionRefused::NotWritable) => {
                    Err(crate::rows::why_unchanged(tx, Entity::Mixture, id).await)
                }
            }
        })
        .await
}

pub async fn versions(actor: &Actor<'_>, id: Uuid) -> AppResult<Vec<MixtureVersion>> {
    actor
        .run(async |tx| {
            visible(tx, id).await?;
            Ok(repo::mixture_versions(tx, id).await?)
        })
        .await
}

/// One saved composition, with its score.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionDetail {
    pub mixture_id: Uuid,
    pub version: i64,
    pub current: bool,
    pub components: Vec<ComponentRow>,
    pub score: Option<MixtureScoreView>,
    pub score_error: Option<String>,
}

pub async fn version(actor: &Actor<'_>, id: Uuid, version: i64) -> AppResult<VersionDetail> {
    actor
        .run(async |tx| {
            let mixture = visible(tx, id).await?;
            let components = repo::version_components(tx, id, version).await?;
            if components.is_empty() {
                return Err(AppError::NotFound {
                    what: "mixture version",
                });
            }
            let (score, score_error) = match composition::score(&components) {
                Ok(s) => (Some(s.into()), None),
                Err(e) => (None, Some(e.to_string())),
            };
            Ok(VersionDetail {
                mixture_id: id,
                version,
                current: mixture.version == version,
                components,
                score,
                score_error,
            })
        })
        .await
}

#[derive(Debug, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CopyInput {
    /// Default: "<name> (copy)".
    pub name: Option<String>,
    /// Copy this version rather than the current composition.
    pub version: Option<i64>,
    pub project_id: Option<Uuid>,
}

/// A new mixture of the caller's with the same composition (the current one, or `version`).
pub async fn copy(actor: &Actor<'_>, id: Uuid, input: CopyInput) -> AppResult<MixtureDetail> {
    let me = actor.me()?;
    let name = input
        .name
        .as_deref()
        .map(|n| parse_name("name", n, MAX_NAME_CHARS))
        .transpose()?;
    actor
        .run(async |tx| {
            let original = visible(tx, id).await?;
            let components = match input.version {
                Some(v) => repo::version_components(tx, id, v).await?,
                None => repo::components(tx, id).await?,
            };
            if components.is_empty() {
                return Err(AppError::validation("version", "no such version"));
            }
            let parsed: Vec<NewComponent> = components
                .iter()
                .map(|c| NewComponent {
                    molecule_id: c.molecule_id,
                    concentration: c.concentration,
                    unit: c.concentration_unit,
                })
                .collect();
            let name = match name {
                Some(n) => n,
                None => {
                    let copy = format!("{} (copy)", original.name);
                    parse_name("name", &copy, MAX_NAME_CHARS)
                        .unwrap_or_else(|_| original.name.clone())
                }
            };
            let score = composition::score(&components).ok();
            let mixture = repo::create_mixture(
                tx,
                me,
                &name,
                original.description.as_deref(),
                input.project_id,
                &parsed,
            )
            .await?;
            Ok(MixtureDetail {
                mixture,
                components,
                score: score.map(Into::into),
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
