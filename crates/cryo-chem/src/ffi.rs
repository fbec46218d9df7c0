//! The cxx bridge to `cpp/cryo_rdkit.cc`. Only this crate sees it.

#[cxx::bridge(namespace = "cryo")]
pub(crate) mod sys {
    /// One FilterCatalog entry that matched: its set, name, literature reference, scope and
    /// the molecule's atoms it matched (sorted, unique).
    #[derive(Debug, Clone)]
    struct AlertHit {
        family: String,
        name: String,
        reference: String,
        scope: String,
        atoms: Vec<u32>,
    }

    unsafe extern "C++" {
        include!("cryo-chem/cpp/cryo_rdkit.h");

        type Mol;

        fn init();
        fn rdkit_version() -> String;
        fn parse_smiles(smiles: &str) -> Result<UniquePtr<Mol>>;
        fn parse_molblock(block: &str) -> Result<UniquePtr<Mol>>;
        fn parse_smarts(smarts: &str) -> Result<UniquePtr<Mol>>;
        fn add_hydrogens(mol: &Mol) -> Result<UniquePtr<Mol>>;
        fn canonical_smiles(mol: &Mol) -> Result<String>;
        fn formula(mol: &Mol) -> Result<String>;
        fn mol_block(mol: &Mol) -> Result<String>;
        fn core_descriptors(mol: &Mol) -> Result<Vec<f64>>;
        fn property_names() -> Vec<String>;
        fn all_properties(mol: &Mol) -> Result<Vec<f64>>;
        fn count_matches(mol: &Mol, query: &Mol) -> Result<u32>;
        fn has_match(mol: &Mol, query: &Mol, budget_us: u64) -> Result<bool>;
        fn guard_query(query: &Mol) -> Result<UniquePtr<Mol>>;
        fn query_atom_count(query: &Mol) -> u32;
        fn fragment_count(mol: &Mol) -> u32;
        fn atom_count(mol: &Mol) -> u32;
        fn dummy_atom_count(mol: &Mol) -> u32;
        fn morgan_bits(mol: &Mol, radius: u32, n_bits: u32) -> Result<Vec<u64>>;
        fn murcko_scaffold(mol: &Mol) -> Result<String>;
        fn to_svg(mol: &Mol, width: u32, height: u32, highlight: Vec<u32>) -> Result<String>;
        fn std_inchi(mol: &Mol) -> Result<String>;
        fn std_inchi_key(inchi: &str) -> Result<String>;
        fn structural_alerts(mol: &Mol) -> Result<Vec<AlertHit>>;

        type QedPatterns;
        fn qed_patterns(
            acceptors: Vec<String>,
            alerts: Vec<String>,
            aliphatic_ring: &str,
        ) -> Result<UniquePtr<QedPatterns>>;
        fn qed_properties(mol: &Mol, patterns: &QedPatterns) -> Result<Vec<f64>>;
    }
}

// A molecule is owned by one thread at a time; RDKit's ROMol has no thread-affine state.
unsafe impl Send for sys::Mol {}
// Read-only RDKit operations on a const ROMol are safe to run concurrently.
unsafe impl Sync for sys::Mol {}

/// Fields of `core_descriptors`, in the C++ order.
pub(crate) const CORE_DESCRIPTORS: usize = 12;
