//! Molecules, mixtures, experiments, lab verification, predictions and their comparison.

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult, refused};
use crate::extract::{Db, UserDb};
use crate::routes::collab::Paging;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use cryo_app::science::{self, StructureText};
use cryo_chem::{Fingerprint, Molecule as ChemMolecule, Query as ChemQuery};
use cryo_core::features::FEATURE_NAMES;
use cryo_core::ident::parse_name;
use cryo_core::score::{MixtureScore, ScoredComponent, mixture_score};
use cryo_core::units::{CompoundProps, Concentration, ConcentrationUnit, UnitError};
use cryo_db::repo::Page;
use cryo_db::repo::science::{
    self as repo, Component, Experiment, Mixture, Molecule, NewComponent, NewExperiment,
    NewPrediction, Prediction, StoredProperty, Subject, Value, Verification,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn not_found(what: &'static str) -> ApiError {
    ApiError::NotFound { what }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoleculeInput {
    /// SMILES; give this or `molblock`.
    pub smiles: Option<String>,
    /// A V2000/V3000 MOL block; give this or `smiles`.
    pub molblock: Option<String>,
    pub name: Option<String>,
    pub project_id: Option<Uuid>,
    pub pubchem_cid: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreView {
    pub overall: i32,
    /// Component scores (0–100) by component.
    pub components: BTreeMap<String, i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MoleculeDetail {
    pub molecule: Molecule,
    /// False when the structure was already registered by the caller.
    pub created: bool,
    /// The 20 model features on the hydrogen-explicit molecule.
    pub features: BTreeMap<String, f64>,
    pub score: ScoreView,
    /// Values stored with their calculation method and version.
    pub properties: Vec<StoredProperty>,
    /// RDKit's wider descriptor set, computed on request.
    pub descriptors: BTreeMap<String, f64>,
}

/// The structure text of a registration, owned so it can travel to the compute pool.
fn structure_of(input: &MoleculeInput) -> Result<StructureText, ApiError> {
    match (&input.smiles, &input.molblock) {
        (Some(s), None) => Ok(StructureText::Smiles(s.clone())),
        (None, Some(b)) => Ok(StructureText::MolBlock(b.clone())),
        _ => Err(ApiError::validation(
            "smiles",
            "give exactly one of `smiles` or `molblock`",
        )),
    }
}

/// Computed on request: (20 features, score, wider descriptor set).
type Views = (BTreeMap<String, f64>, ScoreView, BTreeMap<String, f64>);

fn views(mol: &ChemMolecule) -> cryo_app::AppResult<Views> {
    let f = mol.features()?;
    let features = FEATURE_NAMES
        .iter()
        .map(|n| n.to_string())
        .zip(f.vector())
        .collect();
    let descriptors = mol.descriptor_set()?.into_iter().collect();
    Ok((
        features,
        score_view(&cryo_core::score::molecule_score(&f)),
        descriptors,
    ))
}

fn score_view(s: &cryo_core::score::MoleculeScore) -> ScoreView {
    let components = s
        .components
        .iter()
        .map(|(c, v)| {
            (
                serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                *v,
            )
        })
        .collect();
    ScoreView {
        overall: s.overall,
        components,
    }
}

/// The molecule and its stored properties, as the caller sees them.
async fn molecule_and_properties(
    tx: &mut cryo_db::repo::Conn,
    id: Uuid,
) -> ApiResult<(Molecule, Vec<StoredProperty>)> {
    let molecule = repo::get_molecule(tx, id)
        .await?
        .ok_or(not_found("molecule"))?;
    let properties = repo::molecule_properties(tx, id).await?;
    Ok((molecule, properties))
}

async fn detail(db: &Db, id: Uuid) -> ApiResult<MoleculeDetail> {
    let (molecule, properties) = db
        .run(async |tx| molecule_and_properties(tx, id).await)
        .await?;
    let smiles = molecule.canonical_smiles.clone();
    let (features, score, descriptors) = db
        .state()
        .compute
        .run(move |_| views(&ChemMolecule::from_smiles(&smiles)?))
        .await?;
    Ok(MoleculeDetail {
        molecule,
        created: false,
        features,
        score,
        properties,
        descriptors,
    })
}

/// Register a molecule from SMILES or a MOL block. The same structure registered twice by one
/// user is the same row (200, `created: false`).
#[utoipa::path(post, path = "/api/v1/molecules", tag = "molecules", request_body = MoleculeInput, security(("bearer" = [])),
    responses((status = 201, body = MoleculeDetail), (status = 200, body = MoleculeDetail),
              (status = 422, description = "Invalid structure, naming the problem", body = crate::error::ErrorBody)))]
pub async fn create_molecule(
    db: UserDb,
    ApiJson(input): ApiJson<MoleculeInput>,
) -> ApiResult<(StatusCode, Json<MoleculeDetail>)> {
    let name = input
        .name
        .as_deref()
        .map(|n| parse_name("name", n, 500))
        .transpose()?;
    let text = structure_of(&input)?;
    // One hand-off to the compute pool. The answer's views come from the canonical SMILES, as
    // reading the molecule back computes them: the input's atom order would change the last
    // bits of summed descriptors.
    let (mut computed, (features, score, descriptors)) = db
        .state()
        .compute
        .run(move |_| {
            let computed = science::compute(&text.as_structure().parse()?, name)?;
            let views = views(&ChemMolecule::from_smiles(&computed.row.canonical_smiles)?)?;
            Ok((computed, views))
        })
        .await?;
    computed.row.project_id = input.project_id;
    computed.row.pubchem_cid = input.pubchem_cid;
    let (molecule, properties, created) = db
        .run(async |tx| {
            let (id, created) = science::store(tx, Some(db.user), &computed).await?;
            let (molecule, properties) = molecule_and_properties(tx, id).await?;
            Ok((molecule, properties, created))
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(MoleculeDetail {
            molecule,
            created,
            features,
            score,
            properties,
            descriptors,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MoleculeFilter {
    /// Name fragment (case-insensitive) or an exact canonical SMILES.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Molecules the caller can see: their own, shared ones, and the reference set.
#[utoipa::path(get, path = "/api/v1/molecules", tag = "molecules", params(MoleculeFilter),
    responses((status = 200, body = Vec<Molecule>)))]
pub async fn list_molecules(
    db: Db,
    Query(f): Query<MoleculeFilter>,
) -> ApiResult<Json<Vec<Molecule>>> {
    db.run(async |tx| {
        let rows = repo::list_molecules(
            tx,
            f.q.as_deref().filter(|q| !q.trim().is_empty()),
            Page::new(f.limit, f.offset),
        )
        .await?;
        Ok(Json(rows))
    })
    .await
}

/// Property types: what experiments measure and models predict (name, units, data type).
#[utoipa::path(get, path = "/api/v1/property-types", tag = "experiments",
    responses((status = 200, body = Vec<repo::PropertyType>)))]
pub async fn list_property_types(db: Db) -> ApiResult<Json<Vec<repo::PropertyType>>> {
    db.run(async |tx| {
        let rows = repo::list_property_types(tx).await?;
        Ok(Json(rows))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/molecules/{id}", tag = "molecules",
    responses((status = 200, body = MoleculeDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_molecule(db: Db, Path(id): Path<Uuid>) -> ApiResult<Json<MoleculeDetail>> {
    Ok(Json(detail(&db, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SvgSize {
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A 2D depiction (SVG, 400×300 by default).
#[utoipa::path(get, path = "/api/v1/molecules/{id}/svg", tag = "molecules", params(SvgSize),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404)))]
pub async fn molecule_svg(
    db: Db,
    Path(id): Path<Uuid>,
    Query(size): Query<SvgSize>,
) -> ApiResult<impl IntoResponse> {
    let m = db
        .run(async |tx| {
            repo::get_molecule(tx, id)
                .await?
                .ok_or(not_found("molecule"))
        })
        .await?;
    let (width, height) = (size.width.unwrap_or(400), size.height.unwrap_or(300));
    let svg = db
        .state()
        .compute
        .run(move |_| Ok(ChemMolecule::from_smiles(&m.canonical_smiles)?.svg(width, height)?))
        .await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoleculePatch {
    pub name: String,
}

#[utoipa::path(patch, path = "/api/v1/molecules/{id}", tag = "molecules", request_body = MoleculePatch, security(("bearer" = [])),
    responses((status = 200, body = MoleculeDetail), (status = 403), (status = 404)))]
pub async fn rename_molecule(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<MoleculePatch>,
) -> ApiResult<Json<MoleculeDetail>> {
    let name = parse_name("name", &p.name, 500)?;
    db.run(async |tx| {
        if !repo::rename_molecule(tx, id, &name).await? {
            return Err(refused(
                repo::get_molecule(tx, id).await?.is_some(),
                "molecule",
            ));
        }
        Ok(())
    })
    .await?;
    Ok(Json(detail(&db, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/molecules/{id}", tag = "molecules", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404), (status = 409, description = "Used by a mixture or experiment")))]
pub async fn delete_molecule(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if !repo::delete_molecule(tx, id).await? {
            return Err(refused(
                repo::get_molecule(tx, id).await?.is_some(),
                "molecule",
            ));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SimilarityRequest {
    pub smiles: String,
    /// Minimum Tanimoto similarity, 0–1 (default 0.3).
    pub threshold: Option<f64>,
    /// At most this many hits (default 50, at most 500).
    pub limit: Option<i64>,
    /// Hits to skip, for the next page.
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarityHit {
    pub molecule: Molecule,
    /// Tanimoto similarity on Morgan fingerprints (radius 2, 2048 bits).
    pub similarity: f64,
}

/// Molecules similar to a SMILES, most similar first.
#[utoipa::path(post, path = "/api/v1/molecules/search/similarity", tag = "molecules", request_body = SimilarityRequest,
    responses((status = 200, body = Vec<SimilarityHit>), (status = 422)))]
pub async fn similarity(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SimilarityRequest>,
) -> ApiResult<Json<Vec<SimilarityHit>>> {
    let threshold = req.threshold.unwrap_or(0.3);
    if !(0.0..=1.0).contains(&threshold) {
        return Err(ApiError::validation("threshold", "must be between 0 and 1"));
    }
    let page = Page::new(req.limit.or(Some(50)), req.offset);
    let smiles = req.smiles;
    let query = s
        .compute
        .run(move |_| Ok(ChemMolecule::from_smiles(&smiles)?.fingerprint()?))
        .await?;
    let mut tx = s.begin(&caller.identity).await?;
    let fps = repo::fingerprints(&mut tx).await?;
    let scored = s
        .compute
        .run(move |deadline| {
            let mut scored = fps
                .par_iter()
                .map(|(id, bytes)| {
                    deadline.check()?;
                    Ok(Fingerprint::from_bytes(bytes).map(|fp| (*id, query.tanimoto(&fp))))
                })
                .collect::<Result<Vec<_>, cryo_core::deadline::Expired>>()
                .map_err(cryo_chem::ChemError::from)?
                .into_iter()
                .flatten()
                .filter(|(_, sim)| *sim >= threshold)
                .collect::<Vec<(Uuid, f64)>>();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            Ok(scored)
        })
        .await?;
    let scored: Vec<(Uuid, f64)> = scored
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    let ids: Vec<Uuid> = scored.iter().map(|(id, _)| *id).collect();
    let mut molecules: BTreeMap<Uuid, Molecule> = repo::molecules_by_ids(&mut tx, &ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    tx.commit().await?;
    Ok(Json(
        scored
            .into_iter()
            .filter_map(|(id, similarity)| {
                molecules.remove(&id).map(|molecule| SimilarityHit {
                    molecule,
                    similarity,
                })
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubstructureRequest {
    /// A SMARTS pattern; or give `smiles`.
    pub smarts: Option<String>,
    pub smiles: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Molecules containing a substructure, in a stable order, paged.
#[utoipa::path(post, path = "/api/v1/molecules/search/substructure", tag = "molecules", request_body = SubstructureRequest,
    responses((status = 200, body = Vec<Molecule>), (status = 422)))]
pub async fn substructure(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SubstructureRequest>,
) -> ApiResult<Json<Vec<Molecule>>> {
    let page = Page::new(req.limit, req.offset);
    let (text, is_smarts) = match (&req.smarts, &req.smiles) {
        (Some(q), None) => (q.clone(), true),
        (None, Some(q)) => (q.clone(), false),
        _ => {
            return Err(ApiError::validation(
                "smarts",
                "give exactly one of `smarts` or `smiles`",
            ));
        }
    };
    let parse = move |t: &str| {
        if is_smarts {
            ChemQuery::smarts(t)
        } else {
            ChemQuery::smiles(t)
        }
    };
    let checked = text.clone();
    s.compute
        .run(move |_| Ok(parse(&checked).map(drop)?))
        .await?;
    let mut tx = s.begin(&caller.identity).await?;
    let structures = repo::structures(&mut tx).await?;
    let hits = s
        .compute
        .run(move |deadline| {
            // Each worker parses its own copy of the query: RDKit query molecules are not
            // shared. The deadline stops the scan between molecules and inside a match.
            let mut hits = structures
                .par_iter()
                .map_init(
                    || parse(&text).ok(),
                    |q, (id, smiles)| {
                        let (Some(q), Ok(m)) = (q.as_ref(), ChemMolecule::from_smiles(smiles))
                        else {
                            return Ok(None);
                        };
                        match m.matches(q, deadline) {
                            Ok(hit) => Ok(hit.then_some(*id)),
                            Err(e @ cryo_chem::ChemError::DeadlineExceeded(_)) => Err(e),
                            Err(_) => Ok(None),
                        }
                    },
                )
                .collect::<Result<Vec<Option<Uuid>>, cryo_chem::ChemError>>()?
                .into_iter()
                .flatten()
                .collect::<Vec<Uuid>>();
            hits.sort();
            Ok(hits)
        })
        .await?;
    let ids: Vec<Uuid> = hits
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    let mut rows = repo::molecules_by_ids(&mut tx, &ids).await?;
    tx.commit().await?;
    rows.sort_by_key(|m| m.id);
    Ok(Json(rows))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScoreRequest {
    pub smiles: String,
}

/// Score a structure without storing it.
#[utoipa::path(post, path = "/api/v1/scoring/molecule", tag = "molecules", request_body = ScoreRequest,
    responses((status = 200, body = ScoreView), (status = 422)))]
pub async fn score_molecule(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<ScoreRequest>,
) -> ApiResult<Json<ScoreView>> {
    let score = s
        .compute
        .run(move |_| Ok(ChemMolecule::from_smiles(&req.smiles)?.features()?))
        .await
        .map(|f| score_view(&cryo_core::score::molecule_score(&f)))?;
    Ok(Json(score))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ComponentInput {
    pub molecule_id: Uuid,
    pub concentration: f64,
    /// mol_fraction, percent_w_v, percent_v_v, mM, M or mg_per_mL.
    pub unit: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MixtureInput {
    pub name: String,
    pub description: Option<String>,
    pub project_id: Option<Uuid>,
    pub components: Vec<ComponentInput>,
}

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct MixtureDetail {
    pub mixture: Mixture,
    pub components: Vec<Component>,
    pub score: Option<MixtureScoreView>,
    /// Why there is no score (e.g. units that cannot be reconciled).
    pub score_error: Option<String>,
}

fn unit_error(index: usize, e: UnitError) -> ApiError {
    let field = match e {
        UnitError::UnknownUnit { .. } => format!("components[{index}].unit"),
        UnitError::NotPositive { .. } | UnitError::AboveMaximum { .. } => {
            format!("components[{index}].concentration")
        }
        _ => "components".to_string(),
    };
    ApiError::Validation {
        field,
        message: e.to_string(),
    }
}

fn score_components(components: &[Component]) -> Result<MixtureScore, UnitError> {
    let scored: Vec<ScoredComponent> = components
        .iter()
        .map(|c| {
            let unit: ConcentrationUnit = c.concentration_unit.parse()?;
            Ok(ScoredComponent {
                score: c.score.unwrap_or(0.0),
                concentration: Concentration::new(c.concentration, unit)?,
                props: CompoundProps {
                    molar_mass: c.molecular_weight,
                    density: c.density_g_per_ml,
                },
            })
        })
        .collect::<Result<_, UnitError>>()?;
    mixture_score(&scored)
}

async fn mixture_detail(tx: &mut cryo_db::repo::Conn, id: Uuid) -> ApiResult<MixtureDetail> {
    let mixture = repo::get_mixture(tx, id)
        .await?
        .ok_or(not_found("mixture"))?;
    let components = repo::components(tx, id).await?;
    let (score, score_error) = match score_components(&components) {
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

/// Create a mixture. Units are checked and must be reconcilable to a molar basis (e.g. mole
/// fractions cannot be mixed with per-volume units; % v/v needs a known density).
#[utoipa::path(post, path = "/api/v1/mixtures", tag = "mixtures", request_body = MixtureInput, security(("bearer" = [])),
    responses((status = 201, body = MixtureDetail), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_mixture(
    db: UserDb,
    ApiJson(input): ApiJson<MixtureInput>,
) -> ApiResult<(StatusCode, Json<MixtureDetail>)> {
    let me = db.user;
    let name = parse_name("name", &input.name, 300)?;
    if input.components.is_empty() {
        return Err(ApiError::validation(
            "components",
            "a mixture needs at least one component",
        ));
    }
    let mut parsed = Vec::new();
    for (i, c) in input.components.iter().enumerate() {
        let unit: ConcentrationUnit = c.unit.parse().map_err(|e| unit_error(i, e))?;
        Concentration::new(c.concentration, unit).map_err(|e| unit_error(i, e))?;
        parsed.push(NewComponent {
            molecule_id: c.molecule_id,
            concentration: c.concentration,
            unit: unit.as_str(),
        });
    }
    db.run(async |tx| {
        // Validated and scored before anything is written: one read, then two inserts.
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
                        ApiError::validation(
                            format!("components[{i}].molecule_id"),
                            "no such molecule",
                        )
                    })?;
                Ok(repo::Component {
                    molecule_id: m.id,
                    molecule_name: m.name.clone(),
                    canonical_smiles: m.canonical_smiles.clone(),
                    molecular_weight: m.molecular_weight,
                    density_g_per_ml: m.density_g_per_ml,
                    concentration: c.concentration,
                    concentration_unit: c.unit.to_string(),
                    score: m.score,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        // Refuse units that cannot be reconciled rather than store a mixture no one can score.
        let score = score_components(&components)
            .map_err(|e| ApiError::validation("components", e.to_string()))?;
        let mixture = repo::create_mixture(
            tx,
            me,
            &name,
            input.description.as_deref(),
            input.project_id,
            &parsed,
        )
        .await?;
        let detail = MixtureDetail {
            mixture,
            components,
            score: Some(score.into()),
            score_error: None,
        };
        Ok((StatusCode::CREATED, Json(detail)))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/mixtures", tag = "mixtures", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Vec<Mixture>)))]
pub async fn list_mixtures(db: UserDb, Query(p): Query<Paging>) -> ApiResult<Json<Vec<Mixture>>> {
    db.run(async |tx| {
        let rows = repo::list_mixtures(tx, Page::new(p.limit, p.offset)).await?;
        Ok(Json(rows))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/mixtures/{id}", tag = "mixtures", security(("bearer" = [])),
    responses((status = 200, body = MixtureDetail), (status = 404)))]
pub async fn get_mixture(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<MixtureDetail>> {
    db.run(async |tx| {
        let d = mixture_detail(tx, id).await?;
        Ok(Json(d))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MixturePatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/mixtures/{id}", tag = "mixtures", request_body = MixturePatch, security(("bearer" = [])),
    responses((status = 200, body = MixtureDetail), (status = 403), (status = 404)))]
pub async fn update_mixture(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<MixturePatch>,
) -> ApiResult<Json<MixtureDetail>> {
    let name = p
        .name
        .as_deref()
        .map(|n| parse_name("name", n, 300))
        .transpose()?;
    db.run(async |tx| {
        if !repo::update_mixture(tx, id, name.as_deref(), p.description.as_deref()).await? {
            return Err(refused(
                repo::get_mixture(tx, id).await?.is_some(),
                "mixture",
            ));
        }
        let d = mixture_detail(tx, id).await?;
        Ok(Json(d))
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/mixtures/{id}", tag = "mixtures", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404), (status = 409, description = "Has experiments")))]
pub async fn delete_mixture(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if !repo::delete_mixture(tx, id).await? {
            return Err(refused(
                repo::get_mixture(tx, id).await?.is_some(),
                "mixture",
            ));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// Store the mixture's current score as a prediction (method "CryoProtect Scoring").
#[utoipa::path(post, path = "/api/v1/mixtures/{id}/score", tag = "mixtures", security(("bearer" = [])),
    responses((status = 201, body = Prediction), (status = 404), (status = 422)))]
pub async fn store_mixture_score(
    db: UserDb,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<Prediction>)> {
    let me = db.user;
    db.run(async |tx| {
        let d = mixture_detail(tx, id).await?;
        let score = d
            .score
            .ok_or_else(|| ApiError::validation("components", d.score_error.unwrap_or_default()))?;
        let version = science::scoring_method_version();
        let p = repo::store_prediction(
            tx,
            me,
            NewPrediction {
                subject: Subject::Mixture(id),
                property: "Mixture Cryoprotection Score",
                method: science::SCORING_METHOD,
                method_version: &version,
                value: score.overall as f64,
                interval: None,
                project_id: d.mixture.project_id,
            },
        )
        .await?
        .ok_or_else(|| ApiError::Unavailable("scoring method not seeded".into()))?;
        Ok((StatusCode::CREATED, Json(p)))
    })
    .await
}

fn subject(molecule: Option<Uuid>, mixture: Option<Uuid>) -> ApiResult<Subject> {
    match (molecule, mixture) {
        (Some(m), None) => Ok(Subject::Molecule(m)),
        (None, Some(x)) => Ok(Subject::Mixture(x)),
        _ => Err(ApiError::validation(
            "molecule_id",
            "give exactly one of `molecule_id` or `mixture_id`",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
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
    #[schema(value_type = Object)]
    pub conditions: Option<serde_json::Value>,
    /// ISO date, e.g. 2026-11-29.
    pub performed_on: Option<String>,
    pub notes: Option<String>,
    pub protocol_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
}

/// Experiments before this year are typing mistakes (0000-01-01 was accepted once).
const EARLIEST_EXPERIMENT_YEAR: i32 = 1900;
/// Hotter than any cryobiology measurement, with room for boiling points.
const MAX_TEMPERATURE_C: f64 = 1000.0;

/// Record a measurement on a molecule or a mixture. A numeric value in another unit of the same
/// dimension (K or °F for a °C property, kJ/mol for kcal/mol, fraction for %) is converted to
/// the property's unit; the value and unit as sent are kept in `raw_value` and `raw_unit`.
#[utoipa::path(post, path = "/api/v1/experiments", tag = "experiments", request_body = ExperimentInput, security(("bearer" = [])),
    responses((status = 201, body = Experiment), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_experiment(
    db: UserDb,
    ApiJson(input): ApiJson<ExperimentInput>,
) -> ApiResult<(StatusCode, Json<Experiment>)> {
    let me = db.user;
    let subject = subject(input.molecule_id, input.mixture_id)?;
    if let Value::Number(n) = input.value
        && !n.is_finite()
    {
        return Err(ApiError::validation("value", "must be a finite number"));
    }
    let conditions = input.conditions.unwrap_or_else(|| serde_json::json!({}));
    if !conditions.is_object() {
        return Err(ApiError::validation("conditions", "must be a JSON object"));
    }
    let performed_on = input
        .performed_on
        .as_deref()
        .map(|d| time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE))
        .transpose()
        .map_err(|_| {
            ApiError::validation("performed_on", "expected an ISO date such as 2026-11-29")
        })?;
    if let Some(d) = performed_on {
        let latest = time::OffsetDateTime::now_utc()
            .date()
            .next_day()
            .unwrap_or(d);
        if d.year() < EARLIEST_EXPERIMENT_YEAR || d > latest {
            return Err(ApiError::validation(
                "performed_on",
                format!("must be between {EARLIEST_EXPERIMENT_YEAR}-01-01 and tomorrow"),
            ));
        }
    }
    if let Some(t) = input.temperature_c
        && !(cryo_core::measure::ABSOLUTE_ZERO_C..=MAX_TEMPERATURE_C).contains(&t)
    {
        return Err(ApiError::validation(
            "temperature_c",
            format!(
                "must be between {} °C (absolute zero) and {MAX_TEMPERATURE_C} °C",
                cryo_core::measure::ABSOLUTE_ZERO_C
            ),
        ));
    }
    db.run(async |tx| {
        let property = repo::property_type(tx, &input.property)
            .await?
            .ok_or_else(|| {
                ApiError::validation("property", format!("unknown property `{}`", input.property))
            })?;
        // Stored in the property's unit; what was sent in another unit is kept beside it.
        let sent_unit = input
            .unit
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let (value, raw) = match (&input.value, sent_unit) {
            (Value::Number(v), Some(u)) if Some(u) != property.units.as_deref() => {
                let converted = cryo_core::measure::convert(*v, Some(u), property.units.as_deref())
                    .map_err(|e| ApiError::validation("unit", e.to_string()))?;
                if !converted.is_finite() {
                    return Err(ApiError::validation("value", "out of range once converted"));
                }
                (Value::Number(converted), Some((*v, u)))
            }
            (Value::Number(_), _) | (_, None) => (input.value.clone(), None),
            (_, Some(u)) if Some(u) == property.units.as_deref() => (input.value.clone(), None),
            (_, Some(u)) => {
                return Err(ApiError::validation(
                    "unit",
                    format!(
                        "a {} value has no unit; {u:?} was given",
                        property.data_type
                    ),
                ));
            }
        };
        let visible = match subject {
            Subject::Molecule(m) => repo::get_molecule(tx, m).await?.is_some(),
            Subject::Mixture(x) => repo::get_mixture(tx, x).await?.is_some(),
        };
        if !visible {
            return Err(ApiError::validation(
                if input.molecule_id.is_some() {
                    "molecule_id"
                } else {
                    "mixture_id"
                },
                "no such molecule or mixture",
            ));
        }
        let e = repo::create_experiment(
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
            },
        )
        .await?
        .ok_or_else(|| {
            ApiError::validation("property", format!("unknown property `{}`", input.property))
        })?;
        Ok((StatusCode::CREATED, Json(e)))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SubjectFilter {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/experiments", tag = "experiments", params(SubjectFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Experiment>)))]
pub async fn list_experiments(
    db: UserDb,
    Query(f): Query<SubjectFilter>,
) -> ApiResult<Json<Vec<Experiment>>> {
    db.run(async |tx| {
        let rows = repo::list_experiments(
            tx,
            f.molecule_id,
            f.mixture_id,
            Page::new(f.limit, f.offset),
        )
        .await?;
        Ok(Json(rows))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/experiments/{id}", tag = "experiments", security(("bearer" = [])),
    responses((status = 200, body = Experiment), (status = 404)))]
pub async fn get_experiment(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<Json<Experiment>> {
    db.run(async |tx| {
        let e = repo::get_experiment(tx, id)
            .await?
            .ok_or(not_found("experiment"))?;
        Ok(Json(e))
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/experiments/{id}", tag = "experiments", security(("bearer" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_experiment(db: UserDb, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    db.run(async |tx| {
        if !repo::delete_experiment(tx, id).await? {
            return Err(refused(
                repo::get_experiment(tx, id).await?.is_some(),
                "experiment",
            ));
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationRequest {
    /// Who will verify: someone who shares a team with the requester (they may then read this
    /// measurement).
    pub verifier_id: Uuid,
    pub equipment_used: Option<String>,
    pub comments: Option<String>,
}

/// Ask a colleague to verify a measurement.
#[utoipa::path(post, path = "/api/v1/experiments/{id}/verification", tag = "experiments", request_body = VerificationRequest,
    security(("bearer" = [])), responses((status = 201, body = Verification), (status = 404)))]
pub async fn request_verification(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(r): ApiJson<VerificationRequest>,
) -> ApiResult<(StatusCode, Json<Verification>)> {
    let me = db.user;
    db.run(async |tx| {
        repo::get_experiment(tx, id)
            .await?
            .ok_or(not_found("experiment"))?;
        // Only a team-mate may be named: they can then read this measurement (and nothing else).
        if !repo::shares_team_with(tx, r.verifier_id).await? {
            return Err(ApiError::validation(
                "verifier_id",
                "name someone who shares a team with you: only a team-mate can see the measurement to verify it",
            ));
        }
        let v = repo::request_verification(
            tx,
            me,
            id,
            r.verifier_id,
            r.equipment_used.as_deref(),
            r.comments.as_deref(),
        )
        .await?;
        Ok((StatusCode::CREATED, Json(v)))
    })
    .await
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Verified,
    Rejected,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionInput {
    pub status: Decision,
    pub equipment_used: Option<String>,
    pub comments: Option<String>,
}

/// The named verifier records the decision.
#[utoipa::path(patch, path = "/api/v1/verifications/{id}", tag = "experiments", request_body = DecisionInput,
    security(("bearer" = [])), responses((status = 200, body = Verification), (status = 404)))]
pub async fn decide(
    db: UserDb,
    Path(id): Path<Uuid>,
    ApiJson(d): ApiJson<DecisionInput>,
) -> ApiResult<Json<Verification>> {
    let status = match d.status {
        Decision::Verified => "verified",
        Decision::Rejected => "rejected",
    };
    db.run(async |tx| {
        let v = repo::decide_verification(
            tx,
            id,
            status,
            d.equipment_used.as_deref(),
            d.comments.as_deref(),
        )
        .await?
        .ok_or(not_found("verification"))?;
        Ok(Json(v))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VerificationFilter {
    /// pending, verified or rejected.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Verifications assigned to or requested by the caller (the verification queue).
#[utoipa::path(get, path = "/api/v1/verifications", tag = "experiments", params(VerificationFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Verification>)))]
pub async fn list_verifications(
    db: UserDb,
    Query(f): Query<VerificationFilter>,
) -> ApiResult<Json<Vec<Verification>>> {
    let me = db.user;
    if let Some(st) = f.status.as_deref()
        && !["pending", "verified", "rejected"].contains(&st)
    {
        return Err(ApiError::validation(
            "status",
            "pending, verified or rejected",
        ));
    }
    db.run(async |tx| {
        let rows =
            repo::list_verifications(tx, me, f.status.as_deref(), Page::new(f.limit, f.offset))
                .await?;
        Ok(Json(rows))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IntervalInput {
    pub lower: f64,
    pub upper: f64,
    /// Nominal coverage, e.g. 0.9.
    pub level: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PredictionInput {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub property: String,
    pub value: f64,
    pub interval: Option<IntervalInput>,
    pub project_id: Option<Uuid>,
}

/// Store an externally made prediction (method "CryoProtect Model", version 1).
#[utoipa::path(post, path = "/api/v1/predictions", tag = "predictions", request_body = PredictionInput, security(("bearer" = [])),
    responses((status = 201, body = Prediction), (status = 422)))]
pub async fn create_prediction(
    db: UserDb,
    ApiJson(p): ApiJson<PredictionInput>,
) -> ApiResult<(StatusCode, Json<Prediction>)> {
    let me = db.user;
    let subject = subject(p.molecule_id, p.mixture_id)?;
    if !p.value.is_finite() {
        return Err(ApiError::validation("value", "must be a finite number"));
    }
    db.run(async |tx| {
        let stored = repo::store_prediction(
            tx,
            me,
            NewPrediction {
                subject,
                property: &p.property,
                method: "CryoProtect Model",
                method_version: "1",
                value: p.value,
                interval: p.interval.map(|i| (i.lower, i.upper, i.level)),
                project_id: p.project_id,
            },
        )
        .await?
        .ok_or_else(|| {
            ApiError::validation("property", format!("unknown property `{}`", p.property))
        })?;
        Ok((StatusCode::CREATED, Json(stored)))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/predictions", tag = "predictions", params(SubjectFilter), security(("bearer" = [])),
    responses((status = 200, body = Vec<Prediction>)))]
pub async fn list_predictions(
    db: UserDb,
    Query(f): Query<SubjectFilter>,
) -> ApiResult<Json<Vec<Prediction>>> {
    let subject = subject(f.molecule_id, f.mixture_id)?;
    db.run(async |tx| {
        let rows = repo::list_predictions(tx, subject, Page::new(f.limit, f.offset)).await?;
        Ok(Json(rows))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CompareQuery {
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    /// Property-type name.
    pub property: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Comparison {
    pub prediction: Option<Prediction>,
    pub experiment: Option<Experiment>,
    /// measured − predicted.
    pub difference: Option<f64>,
    /// |measured − predicted| / |measured| × 100; null when the measured value is 0.
    pub percent_error: Option<f64>,
}

/// The latest prediction against the latest measurement of a property.
#[utoipa::path(get, path = "/api/v1/compare", tag = "predictions", params(CompareQuery), security(("bearer" = [])),
    responses((status = 200, body = Comparison), (status = 422)))]
pub async fn compare(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Json<Comparison>> {
    caller.require_user()?;
    let subject = subject(q.molecule_id, q.mixture_id)?;
    let mut tx = s.begin(&caller.identity).await?;
    let (prediction, experiment) = repo::latest_pair(&mut tx, subject, &q.property).await?;
    tx.commit().await?;
    let (difference, percent_error) = match (
        &prediction,
        experiment.as_ref().and_then(|e| e.numeric_value),
    ) {
        (Some(p), Some(measured)) => {
            let d = measured - p.numeric_value;
            (
                Some(d),
                (measured != 0.0).then(|| d.abs() / measured.abs() * 100.0),
            )
        }
        _ => (None, None),
    };
    Ok(Json(Comparison {
        prediction,
        experiment,
        difference,
        percent_error,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UnifiedQuery {
    /// general, cell_preservation, organ_preservation, long_term_storage or sensitive_tissues.
    #[param(inline)]
    pub context: Option<cryo_core::score::Context>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnifiedView {
    pub context: String,
    /// 0–100, or null when nothing is known.
    pub overall: Option<i32>,
    pub efficacy: Option<f64>,
    /// The Tg used (°C): the latest measurement, else the latest prediction.
    pub tg_celsius: Option<f64>,
    pub tg_score: Option<f64>,
    /// Parts without data; their weight is spread over the others.
    pub missing: Vec<String>,
}

/// Context-weighted unified score of a molecule or mixture: efficacy (its cryoprotection
/// score), toxicity (not yet available, reported as missing) and Tg against the context's window.
#[utoipa::path(get, path = "/api/v1/unified/{kind}/{id}", tag = "molecules", params(UnifiedQuery),
    responses((status = 200, body = UnifiedView), (status = 404)))]
pub async fn unified(
    State(s): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, Uuid)>,
    Query(q): Query<UnifiedQuery>,
) -> ApiResult<Json<UnifiedView>> {
    let context = q.context.unwrap_or(cryo_core::score::Context::General);
    let mut tx = s.begin(&caller.identity).await?;
    let (subject, efficacy) = match kind.as_str() {
        "molecule" => {
            let m = repo::get_molecule(&mut tx, id)
                .await?
                .ok_or(not_found("molecule"))?;
            (Subject::Molecule(id), m.score)
        }
        "mixture" => {
            let d = mixture_detail(&mut tx, id).await?;
            (Subject::Mixture(id), d.score.map(|x| x.overall as f64))
        }
        _ => return Err(ApiError::validation("kind", "molecule or mixture")),
    };
    let (prediction, experiment) =
        repo::latest_pair(&mut tx, subject, "Glass Transition Temperature").await?;
    tx.commit().await?;
    let tg = experiment
        .and_then(|e| e.numeric_value)
        .or(prediction.map(|p| p.numeric_value));
    let u = cryo_core::score::unified_score(efficacy, None, tg, context);
    let context_name = serde_json::to_value(context)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    Ok(Json(UnifiedView {
        context: context_name,
        overall: u.as_ref().map(|u| u.overall),
        efficacy,
        tg_celsius: tg,
        tg_score: tg.map(|t| cryo_core::score::tg_score(t, context)),
        missing: u
            .map(|u| u.missing.iter().map(|m| m.to_string()).collect())
            .unwrap_or_else(|| vec!["efficacy".into(), "toxicity".into(), "tg".into()]),
    }))
}
