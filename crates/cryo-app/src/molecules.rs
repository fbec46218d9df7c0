//! Molecules: registering structures (parse → compute descriptors, score, fingerprint and
//! identifiers → store with the calculation method and version; shared by the API and the CLI
//! importer), reading them with their computed views, depicting, renaming and scoring.

use crate::{Actor, AppError, AppResult};
use cryo_chem::featurize::FeatureSet;
use cryo_chem::{ChemError, Molecule};
use cryo_core::features::{CryoFeatures, FEATURE_NAMES};
use cryo_core::ident::{OneOf, exactly_one, parse_name, parse_optional_name};
use cryo_core::score::{MoleculeScore, molecule_score};
use cryo_core::toxicity::AlertFamily;
use cryo_db::repo::science::{
    self as repo, MoleculeRow, NewMolecule, PropertyValue, StoredProperty,
};
use cryo_db::repo::toxicity as tox_repo;
use cryo_db::repo::{Conn, Entity};
use cryo_db::{DbError, Identity};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Longest molecule name, in characters.
pub const MAX_NAME_CHARS: usize = 500;

pub const DESCRIPTOR_METHOD: &str = "RDKit Descriptors";
pub const SCORING_METHOD: &str = "CryoProtect Scoring";
/// Structural-alert counts (FilterCatalog) and QED.
pub const ALERTS_METHOD: &str = "RDKit FilterCatalog";
pub const QED_PROPERTY: &str = "QED";

/// Versions recorded with every stored value: the toolkit's and our formula's.
pub fn descriptor_method_version() -> String {
    format!("rdkit {}", cryo_chem::rdkit_version())
}

pub fn scoring_method_version() -> String {
    format!(
        "cryoprotect {} (rdkit {})",
        env!("CARGO_PKG_VERSION"),
        cryo_chem::rdkit_version()
    )
}

/// A structure in one of the accepted input formats.
#[derive(Debug, Clone, Copy)]
pub enum Structure<'a> {
    Smiles(&'a str),
    MolBlock(&'a str),
}

impl Structure<'_> {
    pub fn parse(self) -> Result<Molecule, ChemError> {
        match self {
            Structure::Smiles(s) => Molecule::from_smiles(s.trim()),
            Structure::MolBlock(b) => Molecule::from_molblock(b),
        }
    }
}

/// A structure's text owned, for work that leaves the request (the compute pool).
#[derive(Debug, Clone)]
pub enum StructureText {
    Smiles(String),
    MolBlock(String),
}

impl StructureText {
    /// Exactly one of a SMILES and a MOL block, as a registration gives them.
    pub fn one_of(smiles: Option<String>, molblock: Option<String>) -> AppResult<Self> {
        Ok(
            match exactly_one(smiles, molblock, ("smiles", "molblock"))? {
                OneOf::First(s) => StructureText::Smiles(s),
                OneOf::Second(b) => StructureText::MolBlock(b),
            },
        )
    }

    pub fn as_structure(&self) -> Structure<'_> {
        match self {
            StructureText::Smiles(s) => Structure::Smiles(s),
            StructureText::MolBlock(b) => Structure::MolBlock(b),
        }
    }
}

/// Everything computed for one structure, ready to store.
#[derive(Debug, Clone)]
pub struct Computed {
    pub row: NewMolecule,
    pub features: CryoFeatures,
    pub score: MoleculeScore,
    /// Structural alerts per family, every family present.
    pub alert_counts: Vec<(AlertFamily, u32)>,
    pub qed: f64,
}

/// The pure part: no database. Runs in parallel in the importer.
pub fn compute(mol: &Molecule, name: Option<String>) -> Result<Computed, ChemError> {
    let features = mol.features()?;
    let score = molecule_score(&features);
    let ids = mol.identifiers()?;
    let scaffold = mol.murcko_scaffold()?;
    let alert_counts = cryo_chem::toxicity::counts(&mol.structural_alerts()?);
    let qed = mol.qed()?;
    Ok(Computed {
        row: NewMolecule {
            name,
            canonical_smiles: mol.canonical_smiles(),
            inchi: ids.as_ref().map(|i| i.inchi.clone()),
            inchikey: ids.map(|i| i.inchikey),
            formula: mol.formula(),
            molecular_weight: features.core.molecular_weight,
            pubchem_cid: None,
            data_source: None,
            project_id: None,
            morgan_fp: mol.fingerprint()?.to_bytes(),
            murcko_scaffold: (!scaffold.is_empty()).then_some(scaffold),
            density_g_per_ml: None,
        },
        features,
        score,
        alert_counts,
        qed,
    })
}

/// Store a computed molecule and its properties for `owner` (None: a reference molecule).
/// Returns (id, created); an existing structure of the same owner is reused, not duplicated.
pub async fn store(
    conn: &mut Conn,
    owner: Option<Uuid>,
    c: &Computed,
) -> Result<(Uuid, bool), DbError> {
    let stored = store_many(conn, owner, &[c]).await?;
    Ok(stored[0])
}

/// [`store`] for a batch (an import's): three statements whatever its size, so an import is
/// bound by the chemistry, not by round trips. Answers in input order.
pub async fn store_many(
    conn: &mut Conn,
    owner: Option<Uuid>,
    cs: &[&Computed],
) -> Result<Vec<(Uuid, bool)>, DbError> {
    let rows: Vec<&repo::NewMolecule> = cs.iter().map(|c| &c.row).collect();
    let stored = repo::upsert_molecules(conn, owner, &rows).await?;
    let (dv, sv) = (descriptor_method_version(), scoring_method_version());
    let values: Vec<(Uuid, PropertyValue<'_>)> = cs
        .iter()
        .zip(&stored)
        .filter(|(_, (_, created))| *created)
        .flat_map(|(c, (id, _))| {
            computed_properties(c, &dv, &sv)
                .into_iter()
                .map(|v| (*id, v))
        })
        .collect();
    repo::store_properties_of_many(conn, &values).await?;
    Ok(stored)
}

/// Store (or replace) everything computed about a stored molecule as properties.
async fn store_computed_properties(conn: &mut Conn, id: Uuid, c: &Computed) -> Result<(), DbError> {
    let (dv, sv) = (descriptor_method_version(), scoring_method_version());
    repo::store_properties(conn, id, &computed_properties(c, &dv, &sv)).await
}

/// What is stored as properties of a computed molecule: descriptors, the score and its
/// components, QED and alert counts (`dv`, `sv`: the descriptor and scoring method versions).
fn computed_properties<'a>(c: &'a Computed, dv: &'a str, sv: &'a str) -> Vec<PropertyValue<'a>> {
    let f = &c.features.core;
    let mut values = vec![
        prop(
            "Molecular Weight",
            DESCRIPTOR_METHOD,
            dv,
            f.molecular_weight,
        ),
        prop("LogP", DESCRIPTOR_METHOD, dv, f.logp),
        prop("TPSA", DESCRIPTOR_METHOD, dv, f.tpsa),
        prop(
            "H-Bond Donors",
            DESCRIPTOR_METHOD,
            dv,
            f.h_bond_donors as f64,
        ),
        prop(
            "H-Bond Acceptors",
            DESCRIPTOR_METHOD,
            dv,
            f.h_bond_acceptors as f64,
        ),
        prop(
            "Cryoprotection Score",
            SCORING_METHOD,
            sv,
            c.score.overall as f64,
        ),
    ];
    for (component, value) in &c.score.components {
        values.push(prop(
            component.property_name(),
            SCORING_METHOD,
            sv,
            *value as f64,
        ));
    }
    values.push(prop(QED_PROPERTY, ALERTS_METHOD, dv, c.qed));
    for (family, n) in &c.alert_counts {
        values.push(prop(family.property_name(), ALERTS_METHOD, dv, *n as f64));
    }
    values
}

fn prop<'a>(property: &'a str, method: &'a str, version: &'a str, value: f64) -> PropertyValue<'a> {
    PropertyValue {
        property,
        method,
        method_version: version,
        value,
    }
}

/// The reference cryoprotectants every installation carries, with structures checked against
/// their InChIKeys (the original stored wrong keys for PG, 1,3-propanediol and tert-butanol and
/// non-sugar SMILES for trehalose and sucrose). Density in g/mL for liquids (for % v/v).
pub const REFERENCE_CRYOPROTECTANTS: &[(&str, &str, Option<i32>, Option<f64>)] = &[
    ("Dimethyl sulfoxide", "CS(=O)C", Some(679), Some(1.100)),
    ("Glycerol", "C(C(CO)O)O", Some(753), Some(1.261)),
    ("Ethylene glycol", "C(CO)O", Some(174), Some(1.113)),
    ("Propylene glycol", "CC(CO)O", Some(1030), Some(1.036)),
    ("1,3-Propanediol", "C(CO)CO", Some(10442), Some(1.053)),
    ("Methanol", "CO", Some(887), Some(0.792)),
    ("Ethanol", "CCO", Some(702), Some(0.789)),
    ("Formamide", "C(=O)N", Some(713), Some(1.133)),
    ("Acetamide", "CC(=O)N", Some(178), None),
    ("Urea", "C(=O)(N)N", Some(1176), None),
    ("Glycine", "C(C(=O)O)N", Some(750), None),
    ("beta-Alanine", "C(CN)C(=O)O", Some(239), None),
    ("L-Proline", "C1C[C@H](NC1)C(=O)O", Some(145742), None),
    ("Betaine", "C[N+](C)(C)CC(=O)[O-]", Some(247), None),
    (
        "Trehalose",
        "C([C@@H]1[C@H]([C@@H]([C@H]([C@H](O1)O[C@@H]2[C@@H]([C@H]([C@@H]([C@H](O2)CO)O)O)O)O)O)O)O",
        Some(7427),
        None,
    ),
    (
        "Sucrose",
        "C([C@@H]1[C@H]([C@@H]([C@H]([C@H](O1)O[C@]2([C@H]([C@@H]([C@H](O2)CO)O)O)CO)O)O)O)O",
        Some(5988),
        None,
    ),
    ("tert-Butanol", "CC(C)(C)O", Some(6386), Some(0.781)),
];

/// The yes/no property type seeded with the reference data.
pub const VITRIFIED_PROPERTY: &str = "Vitrified";

/// Cell viability after CPA exposure (%): the lab's measure of CPA toxicity, which a toxicity
/// rate (cryo-physics' k·C^α model) is fitted to; recorded on the CPA or the mixture, its
/// conditions checked when recorded (`experiments`).
pub const VIABILITY_PROPERTY: &str = "Cell Viability After CPA Exposure";

/// Seed what the application needs to store values: the current calculation-method versions,
/// the yes/no property types and the reference molecules. Idempotent; runs as service_role
/// through the given pool.
pub async fn seed_reference_data(pool: &PgPool) -> Result<usize, AppError> {
    let mut tx = cryo_db::identity::begin(pool, &Identity::service()).await?;
    repo::ensure_method(
        &mut tx,
        DESCRIPTOR_METHOD,
        &descriptor_method_version(),
        "RDKit descriptors on the hydrogen-explicit molecule",
    )
    .await?;
    repo::ensure_method(
        &mut tx,
        SCORING_METHOD,
        &scoring_method_version(),
        "Cryoprotection score, weights 0.25/0.15/0.15/0.15/0.20/0.10",
    )
    .await?;
    // A yes/no outcome a lab records every day, so its models are classifiers.
    repo::ensure_property_type(
        &mut tx,
        VITRIFIED_PROPERTY,
        "Whether the sample vitrified on cooling (no ice seen)",
        None,
        "boolean",
    )
    .await?;
    repo::ensure_method(
        &mut tx,
        ALERTS_METHOD,
        &descriptor_method_version(),
        "Structural alerts (PAINS A/B/C, Brenk, NIH, ZINC) per family, and QED (Bickerton 2012)",
    )
    .await?;
    repo::ensure_property_type(
        &mut tx,
        QED_PROPERTY,
        "Quantitative estimate of drug-likeness, 0-1 (Bickerton et al. 2012)",
        None,
        "numeric",
    )
    .await?;
    for family in AlertFamily::ALL {
        repo::ensure_property_type(
            &mut tx,
            family.property_name(),
            "Structural alerts of this family that match the molecule",
            None,
            "numeric",
        )
        .await?;
    }
    repo::ensure_property_type(
        &mut tx,
        VIABILITY_PROPERTY,
        "Cells alive after exposure to a CPA (conditions: cell_type, cpa_concentration_m, exposure_min; \
         temperature_c): the data a toxicity rate is fitted to",
        Some("%"),
        "numeric",
    )
    .await?;
    // Each assay's hit calls as a yes/no property: what a toxicity classifier is trained on.
    for a in tox_repo::assays(&mut tx).await? {
        repo::ensure_property_type(
            &mut tx,
            &cryo_core::toxicity::assay_property(&a.assay_key),
            &format!(
                "{} ({}): active in the assay (hit call), read from imported toxicity activities",
                a.name, a.source
            ),
            None,
            "boolean",
        )
        .await?;
    }
    let mut created = 0;
    for (name, smiles, cid, density) in REFERENCE_CRYOPROTECTANTS {
        let mol = Molecule::from_smiles(smiles)?;
        let mut c = compute(&mol, Some(name.to_string()))?;
        c.row.pubchem_cid = *cid;
        c.row.density_g_per_ml = *density;
        c.row.data_source = Some("CryoProtect reference set".into());
        let (id, new) = store(&mut tx, None, &c).await?;
        if new {
            created += 1;
        } else if !repo::molecule_properties(&mut tx, id)
            .await?
            .iter()
            .any(|p| p.property == QED_PROPERTY)
        {
            // Seeded by a version before alerts and QED: store them (once, not every start).
            store_computed_properties(&mut tx, id, &c).await?;
        }
    }
    backfill_identifiers(&mut tx).await?;
    tx.commit().await?;
    Ok(created)
}

/// Molecules with stereo stored before stereo InChI was generated have no InChIKey: give
/// them theirs (at most 10,000 per start; the rest on the next).
async fn backfill_identifiers(tx: &mut Conn) -> Result<usize, AppError> {
    let mut updated = 0;
    for (id, smiles) in tox_repo::molecules_missing_identifiers(tx, 10_000).await? {
        let Ok(mol) = Molecule::from_smiles(&smiles) else {
            continue;
        };
        if let Some(ids) = mol.identifiers()?
            && tox_repo::set_missing_identifiers(tx, id, &ids.inchi, &ids.inchikey).await?
        {
            updated += 1;
        }
    }
    Ok(updated)
}

/// A molecule's overall score and its parts, as shown to people.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoreView {
    pub overall: i32,
    /// Component scores (0–100) by component.
    pub components: BTreeMap<String, i32>,
}

impl From<&MoleculeScore> for ScoreView {
    fn from(s: &MoleculeScore) -> Self {
        ScoreView {
            overall: s.overall,
            components: s
                .components
                .iter()
                .map(|(c, v)| (c.as_str().to_string(), *v))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoleculeDetail {
    pub molecule: MoleculeRow,
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

/// A structure to register, with what the caller knows about it.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoleculeInput {
    /// SMILES; give this or `molblock`.
    pub smiles: Option<String>,
    /// A V2000/V3000 MOL block; give this or `smiles`.
    pub molblock: Option<String>,
    pub name: Option<String>,
    pub project_id: Option<Uuid>,
    pub pubchem_cid: Option<i32>,
}

/// Computed on request: (20 features, score, wider descriptor set).
type Views = (BTreeMap<String, f64>, ScoreView, BTreeMap<String, f64>);

/// The computed views of a stored molecule, from its canonical SMILES (CPU).
fn views(canonical_smiles: &str) -> AppResult<Views> {
    let mol = Molecule::from_smiles(canonical_smiles)?;
    let f = mol.features()?;
    let features = FEATURE_NAMES
        .iter()
        .map(|n| n.to_string())
        .zip(f.vector())
        .collect();
    let descriptors = mol.descriptor_set()?.into_iter().collect();
    Ok((features, (&molecule_score(&f)).into(), descriptors))
}

/// The molecule and its stored properties, as the caller sees them.
async fn molecule_and_properties(
    tx: &mut Conn,
    id: Uuid,
) -> AppResult<(MoleculeRow, Vec<StoredProperty>)> {
    let molecule = visible(tx, id).await?;
    let properties = repo::molecule_properties(tx, id).await?;
    Ok((molecule, properties))
}

/// The molecule with `id` if the caller can see it.
pub async fn visible(tx: &mut Conn, id: Uuid) -> AppResult<MoleculeRow> {
    repo::get_molecule(tx, id)
        .await?
        .ok_or(AppError::NotFound { what: "molecule" })
}

/// Register a structure for the signed-in caller. The same structure registered twice by one
/// user is the same row (`created: false`). One hand-off to the compute pool, then one
/// transaction.
pub async fn register(actor: &Actor<'_>, r: MoleculeInput) -> AppResult<MoleculeDetail> {
    let me = actor.me()?;
    let name = parse_optional_name("name", r.name.as_deref(), MAX_NAME_CHARS)?;
    let text = StructureText::one_of(r.smiles, r.molblock)?;
    // The answer's views come from the canonical SMILES, as reading the molecule back computes
    // them: the input's atom order would change the last bits of summed descriptors.
    let (mut computed, (features, score, descriptors)) = actor
        .compute(move |_| {
            let computed = compute(&text.as_structure().parse()?, name)?;
            let views = views(&computed.row.canonical_smiles)?;
            Ok((computed, views))
        })
        .await?;
    computed.row.project_id = r.project_id;
    computed.row.pubchem_cid = r.pubchem_cid;
    let (molecule, properties, created) = actor
        .run(async |tx| {
            let (id, created) = store(tx, Some(me), &computed).await?;
            let (molecule, properties) = molecule_and_properties(tx, id).await?;
            AppResult::Ok((molecule, properties, created))
        })
        .await?;
    Ok(MoleculeDetail {
        molecule,
        created,
        features,
        score,
        properties,
        descriptors,
    })
}

/// A molecule the caller can see, with its stored properties and computed views.
pub async fn detail(actor: &Actor<'_>, id: Uuid) -> AppResult<MoleculeDetail> {
    let (molecule, properties) = actor
        .run(async |tx| molecule_and_properties(tx, id).await)
        .await?;
    let smiles = molecule.canonical_smiles.clone();
    let (features, score, descriptors) = actor.compute(move |_| views(&smiles)).await?;
    Ok(MoleculeDetail {
        molecule,
        created: false,
        features,
        score,
        properties,
        descriptors,
    })
}

/// Rename a molecule (its owner), then read it back.
/// Densities the database accepts (g/mL), as its CHECK says.
pub const DENSITY_RANGE: (f64, f64) = (0.0, 30.0);

/// Rename a molecule and/or give its density (g/mL, the pure compound at room temperature: what
/// % v/v amounts and a mixture's physical properties need).
pub async fn update(
    actor: &Actor<'_>,
    id: Uuid,
    name: Option<&str>,
    density_g_per_ml: Option<f64>,
) -> AppResult<MoleculeDetail> {
    let name = name
        .map(|n| parse_name("name", n, MAX_NAME_CHARS))
        .transpose()?;
    if let Some(d) = density_g_per_ml
        && !(d.is_finite() && d > DENSITY_RANGE.0 && d < DENSITY_RANGE.1)
    {
        return Err(AppError::validation(
            "density_g_per_ml",
            format!(
                "must be above {} and below {} g/mL",
                DENSITY_RANGE.0, DENSITY_RANGE.1
            ),
        ));
    }
    if name.is_none() && density_g_per_ml.is_none() {
        return Err(AppError::validation(
            "name",
            "give a name or a density_g_per_ml to change",
        ));
    }
    actor
        .run(async |tx| {
            if repo::update_molecule(tx, id, name.as_deref(), density_g_per_ml).await? {
                Ok(())
            } else {
                Err(crate::rows::why_unchanged(tx, Entity::Molecule, id).await)
            }
        })
        .await?;
    detail(actor, id).await
}

/// Most atoms one depiction highlights.
pub const MAX_HIGHLIGHTED_ATOMS: usize = 500;

/// A 2D depiction as SVG, with `highlight` (atom indices of the canonical SMILES' molecule, as
/// alerts report them) highlighted.
pub async fn svg(
    actor: &Actor<'_>,
    id: Uuid,
    width: u32,
    height: u32,
    highlight: Vec<u32>,
) -> AppResult<String> {
    if highlight.len() > MAX_HIGHLIGHTED_ATOMS {
        return Err(AppError::Validation {
            field: "highlight".into(),
            message: format!(
                "at most {MAX_HIGHLIGHTED_ATOMS} atoms, not {}",
                highlight.len()
            ),
        });
    }
    let m = actor.run(async |tx| visible(tx, id).await).await?;
    actor
        .compute(move |_| {
            Ok(Molecule::from_smiles(&m.canonical_smiles)?
                .svg_highlighted(width, height, &highlight)?)
        })
        .await
}

/// Score a structure without storing it.
/// One structure's answer in a batch: its score, or why it has none.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchScore {
    pub index: usize,
    pub smiles: String,
    pub canonical_smiles: Option<String>,
    pub score: Option<ScoreView>,
    pub error: Option<String>,
}

/// Scores up to `models.max_batch` structures without storing them, in parallel on the compute
/// pool under its deadline; a structure that does not parse (or is over the structure limits)
/// gets its error and the rest are scored. The deadline passing fails the whole request.
pub async fn score_batch(actor: &Actor<'_>, smiles: Vec<String>) -> AppResult<Vec<BatchScore>> {
    let max = actor.app.settings.models.max_batch;
    if smiles.is_empty() {
        return Err(AppError::validation(
            "smiles",
            "empty: give at least one structure",
        ));
    }
    if smiles.len() > max {
        return Err(AppError::validation(
            "smiles",
            format!("{} structures; at most {max} per request", smiles.len()),
        ));
    }
    actor
        .compute(move |deadline| {
            use rayon::prelude::*;
            let scored: Vec<BatchScore> = smiles
                .into_par_iter()
                .enumerate()
                .map(|(index, smiles)| {
                    let answer = deadline
                        .check()
                        .map_err(|e| e.to_string())
                        .and_then(|()| scored(&smiles).map_err(|e| e.to_string()));
                    let (canonical_smiles, score, error) = match answer {
                        Ok((c, s)) => (Some(c), Some(s), None),
                        Err(e) => (None, None, Some(e)),
                    };
                    BatchScore {
                        index,
                        smiles,
                        canonical_smiles,
                        score,
                        error,
                    }
                })
                .collect();
            deadline.check().map_err(|e| AppError::Chem(e.into()))?;
            Ok(scored)
        })
        .await
}

/// A structure's descriptors in one feature set, computed without storing anything.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Descriptors {
    pub canonical_smiles: String,
    /// The feature set: cryo20, rdkit, morgan or combined.
    pub features: &'static str,
    /// How they were computed (feature set and toolkit version), as models record it.
    pub version: String,
    pub names: Vec<String>,
    /// In the order of `names`; null where a descriptor is undefined for this structure.
    pub values: Vec<Option<f64>>,
}

pub async fn descriptors(
    actor: &Actor<'_>,
    smiles: String,
    set: FeatureSet,
) -> AppResult<Descriptors> {
    actor
        .compute(move |_| {
            let mol = Molecule::from_smiles(&smiles)?;
            let values = set.compute(&mol)?;
            Ok(Descriptors {
                canonical_smiles: mol.canonical_smiles(),
                features: set.name(),
                version: set.version(),
                names: set.names(),
                values: values
                    .into_iter()
                    .map(|v| v.is_finite().then_some(v))
                    .collect(),
            })
        })
        .await
}

pub async fn score(actor: &Actor<'_>, smiles: String) -> AppResult<ScoreView> {
    let (_, score) = actor.compute(move |_| Ok(scored(&smiles)?)).await?;
    Ok(score)
}

/// A structure's canonical SMILES and score (CPU: RDKit), as single and batch scoring give it.
fn scored(smiles: &str) -> Result<(String, ScoreView), cryo_chem::ChemError> {
    let mol = Molecule::from_smiles(smiles)?;
    Ok((mol.canonical_smiles(), score_of(&mol)?))
}

/// A parsed structure's score (CPU: RDKit).
pub(crate) fn score_of(mol: &Molecule) -> Result<ScoreView, cryo_chem::ChemError> {
    Ok((&molecule_score(&mol.features()?)).into())
}
