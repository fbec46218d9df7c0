//! Chemistry for CryoProtect. This crate alone links RDKit (Debian's librdkit, through a small
//! cxx bridge in `cpp/`) and the IUPAC InChI library; everything above it sees plain Rust types.
//!
//! - [`Molecule`]: a validated structure parsed from SMILES or a MOL block.
//! - [`Molecule::features`]: the 20-feature descriptor vector on the H-explicit molecule.
//! - [`Fingerprint`]: Morgan (radius 2, 2048 bits by default) with Tanimoto similarity.
//! - [`Query`]: SMARTS or SMILES substructure queries.
//! - [`sdf`]: streaming SDF reading with per-record errors.
//! - [`toxicity`]: structural alerts (FilterCatalog) and QED.

pub mod featurize;
mod ffi;
pub mod fixtures;
pub mod limits;
pub mod sdf;
mod smiles_lint;
pub mod toxicity;

pub use cryo_core::deadline::Deadline;
use cryo_core::features::{CoreDescriptors, CryoFeatures};
use cxx::UniquePtr;
use ffi::sys;
use std::fmt;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChemError {
    #[error("invalid SMILES: {0}")]
    InvalidSmiles(String),
    #[error("invalid MOL block: {0}")]
    InvalidMolBlock(String),
    #[error("invalid SMARTS: {0}")]
    InvalidSmarts(String),
    /// The input exceeds one of the [`limits::Limits`]; `limit` is the field's name.
    #[error("{what}: {found}, more than the {max} allowed ({limit})")]
    TooLarge {
        limit: &'static str,
        what: &'static str,
        found: usize,
        max: usize,
    },
    /// A computation ran past its deadline and was stopped.
    #[error("{0}")]
    DeadlineExceeded(#[from] cryo_core::deadline::Expired),
    #[error("RDKit failed: {0}")]
    Toolkit(String),
}

/// The message the C++ side throws when a match runs past its deadline.
const DEADLINE_MESSAGE: &str = "cryo: deadline exceeded";

fn toolkit(e: cxx::Exception) -> ChemError {
    ChemError::Toolkit(e.what().to_string())
}

/// Turn RDKit's sanitisation messages into something a chemist reads at a glance.
fn explain(what: &str) -> String {
    let w = what.trim();
    if let Some(rest) = w.strip_prefix("Explicit valence for atom # ") {
        // "1 N, 4, is greater than permitted"
        let parts: Vec<&str> = rest.split(',').map(str::trim).collect();
        if let [atom, valence, ..] = parts.as_slice() {
            let (idx, element) = atom.split_once(' ').unwrap_or((atom, "?"));
            let pos = idx.parse::<usize>().map(|i| i + 1).unwrap_or(0);
            return format!(
                "atom {pos} ({element}) has valence {valence}, more than {element} allows"
            );
        }
    }
    if w.starts_with("Can't kekulize mol") {
        return format!("aromatic ring cannot be kekulized (check lowercase atoms and [nH]): {w}");
    }
    w.to_string()
}

/// A sanitised molecule (implicit hydrogens). Created only by the parsers, so every
/// `Molecule` is valid.
pub struct Molecule {
    mol: UniquePtr<sys::Mol>,
}

impl fmt::Debug for Molecule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Molecule")
            .field(&self.canonical_smiles())
            .finish()
    }
}

/// Canonical identifiers from InChI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identifiers {
    pub inchi: String,
    pub inchikey: String,
}

impl Molecule {
    pub fn from_smiles(smiles: &str) -> Result<Molecule, ChemError> {
        limits::check_smiles(smiles, &limits::current())?;
        smiles_lint::check(smiles).map_err(ChemError::InvalidSmiles)?;
        sys::init();
        let mol =
            sys::parse_smiles(smiles).map_err(|e| ChemError::InvalidSmiles(explain(e.what())))?;
        if mol.is_null() {
            return Err(ChemError::InvalidSmiles("not understood".into()));
        }
        if sys::atom_count(&mol) == 0 {
            return Err(ChemError::InvalidSmiles("no atoms".into()));
        }
        Ok(Molecule { mol })
    }

    pub fn from_molblock(block: &str) -> Result<Molecule, ChemError> {
        if block.lines().count() < 4 || !block.contains("M  END") {
            return Err(ChemError::InvalidMolBlock(
                "expected a V2000/V3000 MOL block ending in `M  END`".into(),
            ));
        }
        let l = limits::current();
        limits::check_molblock(block, &l)?;
        sys::init();
        let mol = sys::parse_molblock(block)
            .map_err(|e| ChemError::InvalidMolBlock(explain(e.what())))?;
        if sys::atom_count(&mol) == 0 {
            return Err(ChemError::InvalidMolBlock(
                "the MOL block has no atoms".into(),
            ));
        }
        let parts = sys::fragment_count(&mol) as usize;
        if parts > l.max_fragments {
            return Err(ChemError::TooLarge {
                limit: "max_fragments",
                what: "disconnected parts",
                found: parts,
                max: l.max_fragments,
            });
        }
        Ok(Molecule { mol })
    }

    pub fn canonical_smiles(&self) -> String {
        sys::canonical_smiles(&self.mol).unwrap_or_default()
    }

    pub fn formula(&self) -> String {
        sys::formula(&self.mol).unwrap_or_default()
    }

    pub fn mol_block(&self) -> Result<String, ChemError> {
        sys::mol_block(&self.mol).map_err(toolkit)
    }

    /// Standard InChI and InChIKey, stereo layers included (tetrahedral centres and double
    /// bonds, passed to InChI as 0D parities), so enantiomers get different keys. `Ok(None)` for
    /// molecules with wildcard atoms (`*`), which InChI cannot represent.
    pub fn identifiers(&self) -> Result<Option<Identifiers>, ChemError> {
        if sys::dummy_atom_count(&self.mol) > 0 {
            return Ok(None);
        }
        // The InChI library (1.03) keeps global state: one call at a time, process-wide.
        static INCHI: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = INCHI.lock().unwrap_or_else(|e| e.into_inner());
        let inchi = sys::std_inchi(&self.mol).map_err(toolkit)?;
        let inchikey = sys::std_inchi_key(&inchi).map_err(toolkit)?;
        Ok(Some(Identifiers { inchi, inchikey }))
    }

    /// Raw descriptors computed on the hydrogen-explicit molecule, as the original did.
    pub fn core_descriptors(&self) -> Result<CoreDescriptors, ChemError> {
        let with_h = sys::add_hydrogens(&self.mol).map_err(toolkit)?;
        let d = sys::core_descriptors(&with_h).map_err(toolkit)?;
        debug_assert_eq!(d.len(), ffi::CORE_DESCRIPTORS);
        let count = |p: &Pattern| PATTERNS.with(|ps| ps.count(&with_h, *p));
        Ok(CoreDescriptors {
            h_bond_donors: d[0] as u32,
            h_bond_acceptors: d[1] as u32,
            logp: d[2],
            tpsa: d[3],
            molecular_weight: d[4],
            exact_mass: d[5],
            heavy_atom_count: d[6] as u32,
            atom_count: d[7] as u32,
            rotatable_bond_count: count(&Pattern::RotatableBond)?,
            ring_count: d[8] as u32,
            aromatic_ring_count: d[9] as u32,
            fraction_csp3: d[10],
            hydroxyl_count: count(&Pattern::AliphaticOh)? + count(&Pattern::AromaticOh)?,
            ether_count: count(&Pattern::Ether)?,
            amine_count: count(&Pattern::Nh1)? + count(&Pattern::Nh2)?,
            amide_count: count(&Pattern::Amide)?,
            carboxylic_acid_count: count(&Pattern::CarboxylicAcid)?,
            nitro_count: count(&Pattern::Nitro)?,
            alkyl_halide_count: count(&Pattern::AlkylHalide)?,
        })
    }

    /// The 20-feature vector and permeability rules (§3.2/§4.2 of the original).
    pub fn features(&self) -> Result<CryoFeatures, ChemError> {
        Ok(CryoFeatures::from_core(self.core_descriptors()?))
    }

    /// RDKit's wider descriptor set (`Descriptors::Properties`), by name, on the implicit-H
    /// molecule.
    pub fn descriptor_set(&self) -> Result<Vec<(String, f64)>, ChemError> {
        let values = sys::all_properties(&self.mol).map_err(toolkit)?;
        Ok(descriptor_names().iter().cloned().zip(values).collect())
    }

    pub fn morgan(&self, radius: u32, n_bits: u32) -> Result<Fingerprint, ChemError> {
        let words = sys::morgan_bits(&self.mol, radius, n_bits).map_err(toolkit)?;
        Ok(Fingerprint { words, n_bits })
    }

    /// Morgan radius 2, 2048 bits: the default for similarity search.
    pub fn fingerprint(&self) -> Result<Fingerprint, ChemError> {
        self.morgan(2, 2048)
    }

    /// Bemis–Murcko scaffold as canonical SMILES; empty for acyclic molecules.
    pub fn murcko_scaffold(&self) -> Result<String, ChemError> {
        sys::murcko_scaffold(&self.mol).map_err(toolkit)
    }

    /// A 2D depiction as SVG.
    pub fn svg(&self, width: u32, height: u32) -> Result<String, ChemError> {
        self.svg_highlighted(width, height, &[])
    }

    /// A 2D depiction with these atoms (indices of this molecule, e.g. an alert's match) and
    /// the bonds between them highlighted; indices beyond the molecule are ignored.
    pub fn svg_highlighted(
        &self,
        width: u32,
        height: u32,
        atoms: &[u32],
    ) -> Result<String, ChemError> {
        sys::to_svg(
            &self.mol,
            width.clamp(50, 2000),
            height.clamp(50, 2000),
            atoms.to_vec(),
        )
        .map_err(toolkit)
    }

    /// Whether `query` occurs in this molecule. The matcher checks `deadline` as it goes (inside
    /// RDKit, between atom comparisons), so a pathological query stops on time.
    pub fn matches(&self, query: &Query, deadline: Deadline) -> Result<bool, ChemError> {
        let budget_us = deadline
            .remaining()
            .map_or(u64::MAX, |d| d.as_micros().min(u64::MAX as u128) as u64);
        if budget_us == 0 {
            return Err(deadline.expired_error().into());
        }
        sys::has_match(&self.mol, &query.mol, budget_us).map_err(|e| {
            if e.what() == DEADLINE_MESSAGE {
                deadline.expired_error().into()
            } else {
                toolkit(e)
            }
        })
    }

    pub fn count_matches(&self, query: &Query) -> Result<u32, ChemError> {
        sys::count_matches(&self.mol, &query.mol).map_err(toolkit)
    }
}

/// The linked RDKit's version, e.g. "2022.09.3": recorded with every computed value.
pub fn rdkit_version() -> String {
    sys::rdkit_version()
}

/// Names of [`Molecule::descriptor_set`], in order.
pub fn descriptor_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        sys::init();
        sys::property_names()
    })
}

/// A substructure query.
pub struct Query {
    mol: UniquePtr<sys::Mol>,
}

impl Query {
    pub fn smarts(smarts: &str) -> Result<Query, ChemError> {
        if smarts.trim().is_empty() {
            return Err(ChemError::InvalidSmarts("empty SMARTS".into()));
        }
        let l = limits::current();
        limits::check_smarts(smarts, &l)?;
        sys::init();
        let mol = sys::parse_smarts(smarts)
            .map_err(|e| ChemError::InvalidSmarts(e.what().to_string()))?;
        Query::guarded(mol, &l)
    }

    /// A SMILES used as a query (matches the structure it spells, aromaticity perceived).
    pub fn smiles(smiles: &str) -> Result<Query, ChemError> {
        Query::guarded(Molecule::from_smiles(smiles)?.mol, &limits::current())
    }

    /// Bounds the query's size, then wraps every atom so the matcher checks its deadline.
    fn guarded(mol: UniquePtr<sys::Mol>, l: &limits::Limits) -> Result<Query, ChemError> {
        limits::check_query_atoms(sys::query_atom_count(&mol) as usize, l)?;
        let mol = sys::guard_query(&mol).map_err(toolkit)?;
        Ok(Query { mol })
    }
}

/// A folded bit fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    words: Vec<u64>,
    n_bits: u32,
}

impl Fingerprint {
    pub fn n_bits(&self) -> u32 {
        self.n_bits
    }

    pub fn count_ones(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    pub fn bit(&self, i: u32) -> bool {
        i < self.n_bits && self.words[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    /// Tanimoto similarity |A∩B| / |A∪B| (1.0 for two empty fingerprints).
    pub fn tanimoto(&self, other: &Fingerprint) -> f64 {
        assert_eq!(
            self.n_bits, other.n_bits,
            "fingerprints of different lengths"
        );
        let (mut both, mut either) = (0u32, 0u32);
        for (a, b) in self.words.iter().zip(&other.words) {
            both += (a & b).count_ones();
            either += (a | b).count_ones();
        }
        if either == 0 {
            1.0
        } else {
            both as f64 / either as f64
        }
    }

    /// The fingerprint as bytes (little-endian words), for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(8) {
            return None;
        }
        let words = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect::<Vec<_>>();
        let n_bits = (words.len() * 64) as u32;
        Some(Fingerprint { words, n_bits })
    }
}

/// RDKit's fragment SMARTS (FragmentDescriptors.csv) for the functional groups the score uses.
#[derive(Clone, Copy)]
enum Pattern {
    AliphaticOh,
    AromaticOh,
    Ether,
    Nh1,
    Nh2,
    Amide,
    CarboxylicAcid,
    Nitro,
    AlkylHalide,
    RotatableBond,
}

/// RDKit's "Strict" rotatable-bond definition as current RDKit (2026.09) ships it. Debian's
/// RDKit 2022.09 lacks the `!$([CH3])` terms, which matter on hydrogen-explicit molecules
/// (DMSO: 2 there, 0 here and in the reference values).
const ROTATABLE_BOND_SMARTS: &str = "[!$(*#*)&!D1&!$(C(F)(F)F)&!$(C(Cl)(Cl)Cl)&!$(C(Br)(Br)Br)&!$(C([CH3])([CH3])[CH3])&!$([CH3])&!$([CD3](=[N,O,S])-!@[#7,O,S!D1])&!$([#7,O,S!D1]-!@[CD3]=[N,O,S])&!$([CD3](=[N+])-!@[#7!D1])&!$([#7!D1]-!@[CD3]=[N+])]-,:;!@[!$(*#*)&!D1&!$(C(F)(F)F)&!$(C(Cl)(Cl)Cl)&!$(C(Br)(Br)Br)&!$(C([CH3])([CH3])[CH3])&!$([CH3])]";

const PATTERN_SMARTS: [(Pattern, &str); 10] = [
    (Pattern::AliphaticOh, "[C!$(C=O)]-[OH]"),
    (Pattern::AromaticOh, "c[OH1]"),
    (Pattern::Ether, "[OD2]([#6])[#6]"),
    (Pattern::Nh1, "[NH1,nH1]"),
    (Pattern::Nh2, "[NH2,nH2]"),
    (Pattern::Amide, "C(=O)-N"),
    (Pattern::CarboxylicAcid, "[#6]C(=O)[O;H,-1]"),
    (Pattern::Nitro, "[$([NX3](=O)=O),$([NX3+](=O)[O-])][!#8]"),
    (Pattern::AlkylHalide, "[CX4]-[Cl,Br,I,F]"),
    (Pattern::RotatableBond, ROTATABLE_BOND_SMARTS),
];

/// Parsed once per thread: query molecules are not shared across threads.
struct Patterns(Vec<UniquePtr<sys::Mol>>);

impl Patterns {
    fn new() -> Patterns {
        sys::init();
        Patterns(
            PATTERN_SMARTS
                .iter()
                .map(|(_, s)| sys::parse_smarts(s).expect("built-in SMARTS parse"))
                .collect(),
        )
    }

    fn count(&self, mol: &sys::Mol, p: Pattern) -> Result<u32, ChemError> {
        sys::count_matches(mol, &self.0[p as usize]).map_err(toolkit)
    }
}

thread_local! {
    static PATTERNS: Patterns = Patterns::new();
}

#[cfg(test)]
mod tests;
