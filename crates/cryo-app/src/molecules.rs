//! Registering structures: parse → compute (descriptors, score, fingerprint, identifiers) →
//! store with the calculation method and version. Shared by the API and the CLI importer.

use crate::AppError;
use cryo_chem::{ChemError, Molecule};
use cryo_core::features::CryoFeatures;
use cryo_core::score::{MoleculeScore, molecule_score};
use cryo_db::repo::Conn;
use cryo_db::repo::science::{self as repo, NewMolecule, PropertyValue};
use cryo_db::{DbError, Identity};
use sqlx::PgPool;
use uuid::Uuid;

pub const DESCRIPTOR_METHOD: &str = "RDKit Descriptors";
pub const SCORING_METHOD: &str = "CryoProtect Scoring";

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
}

/// The pure part: no database. Runs in parallel in the importer.
pub fn compute(mol: &Molecule, name: Option<String>) -> Result<Computed, ChemError> {
    let features = mol.features()?;
    let score = molecule_score(&features);
    let ids = mol.identifiers()?;
    let scaffold = mol.murcko_scaffold()?;
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
    })
}

/// Store a computed molecule and its properties for `owner` (None: a reference molecule).
/// Returns (id, created); an existing structure of the same owner is reused, not duplicated.
pub async fn store(
    conn: &mut Conn,
    owner: Option<Uuid>,
    c: &Computed,
) -> Result<(Uuid, bool), DbError> {
    let (id, created) = repo::upsert_molecule(conn, owner, &c.row).await?;
    if created {
        let (dv, sv) = (descriptor_method_version(), scoring_method_version());
        let f = &c.features.core;
        let mut values = vec![
            prop(
                "Molecular Weight",
                DESCRIPTOR_METHOD,
                &dv,
                f.molecular_weight,
            ),
            prop("LogP", DESCRIPTOR_METHOD, &dv, f.logp),
            prop("TPSA", DESCRIPTOR_METHOD, &dv, f.tpsa),
            prop(
                "H-Bond Donors",
                DESCRIPTOR_METHOD,
                &dv,
                f.h_bond_donors as f64,
            ),
            prop(
                "H-Bond Acceptors",
                DESCRIPTOR_METHOD,
                &dv,
                f.h_bond_acceptors as f64,
            ),
            prop(
                "Cryoprotection Score",
                SCORING_METHOD,
                &sv,
                c.score.overall as f64,
            ),
        ];
        for (component, value) in &c.score.components {
            values.push(prop(
                component.property_name(),
                SCORING_METHOD,
                &sv,
                *value as f64,
            ));
        }
        repo::store_properties(conn, id, &values).await?;
    }
    Ok((id, created))
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

/// Seed what the application needs to store values: the current calculation-method versions and
/// the reference molecules. Idempotent; runs as service_role through the given pool.
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
    let mut created = 0;
    for (name, smiles, cid, density) in REFERENCE_CRYOPROTECTANTS {
        let mol = Molecule::from_smiles(smiles)?;
        let mut c = compute(&mol, Some(name.to_string()))?;
        c.row.pubchem_cid = *cid;
        c.row.density_g_per_ml = *density;
        c.row.data_source = Some("CryoProtect reference set".into());
        if store(&mut tx, None, &c).await?.1 {
            created += 1;
        }
    }
    tx.commit().await?;
    Ok(created)
}
