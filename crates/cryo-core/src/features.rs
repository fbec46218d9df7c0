//! The descriptor vector of the original CryoProtect (§4.2 of the behaviour reference), computed
//! on the hydrogen-explicit molecule. The order of [`FEATURE_NAMES`] is the order models see.

/// The 20 features, in model order.
pub const FEATURE_NAMES: [&str; 20] = [
    "h_bond_donors",
    "h_bond_acceptors",
    "h_bond_total",
    "logp",
    "tpsa",
    "molecular_weight",
    "heavy_atom_count",
    "rotatable_bond_count",
    "ring_count",
    "fraction_csp3",
    "hydroxyl_count",
    "alcohol_count",
    "ether_count",
    "amine_count",
    "amide_count",
    "rule_of_5_violations",
    "veber_violations",
    "bbb_permeant",
    "intestinal_absorption",
    "estimated_log_papp",
];

/// Raw descriptors from the chemistry toolkit; the rule-based fields are derived from these.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CoreDescriptors {
    pub h_bond_donors: u32,
    pub h_bond_acceptors: u32,
    /// Crippen logP.
    pub logp: f64,
    /// Ertl TPSA, Å².
    pub tpsa: f64,
    /// Average molecular weight, g/mol.
    pub molecular_weight: f64,
    pub exact_mass: f64,
    pub heavy_atom_count: u32,
    /// All atoms including explicit hydrogens.
    pub atom_count: u32,
    pub rotatable_bond_count: u32,
    pub ring_count: u32,
    pub aromatic_ring_count: u32,
    pub fraction_csp3: f64,
    /// Functional-group counts (RDKit fragment SMARTS).
    pub hydroxyl_count: u32,
    pub ether_count: u32,
    pub amine_count: u32,
    pub amide_count: u32,
    pub carboxylic_acid_count: u32,
    pub nitro_count: u32,
    pub alkyl_halide_count: u32,
}

/// Descriptors plus the permeability rules the original derives from them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CryoFeatures {
    pub core: CoreDescriptors,
    pub rule_of_5_violations: u32,
    pub veber_violations: u32,
    pub bbb_permeant: bool,
    pub intestinal_absorption: bool,
    pub estimated_log_papp: f64,
}

impl CryoFeatures {
    pub fn from_core(core: CoreDescriptors) -> Self {
        let (logp, tpsa, mw) = (core.logp, core.tpsa, core.molecular_weight);
        let rule_of_5_violations = [
            logp > 5.0,
            mw > 500.0,
            core.h_bond_donors > 5,
            core.h_bond_acceptors > 10,
        ]
        .iter()
        .filter(|v| **v)
        .count() as u32;
        let veber_violations = [core.rotatable_bond_count > 10, tpsa > 140.0]
            .iter()
            .filter(|v| **v)
            .count() as u32;
        CryoFeatures {
            core,
            rule_of_5_violations,
            veber_violations,
            // BOILED-Egg style rule as the original states it.
            bbb_permeant: (logp < 3.0 && tpsa < 75.0) || (logp > 3.0 && tpsa < 60.0),
            intestinal_absorption: logp < 5.0 && tpsa < 130.0,
            estimated_log_papp: -4.3 - 0.01 * tpsa + 0.4 * logp,
        }
    }

    pub fn h_bond_total(&self) -> u32 {
        self.core.h_bond_donors + self.core.h_bond_acceptors
    }

    /// The 20-feature vector in [`FEATURE_NAMES`] order. The original counted `hydroxyl` and
    /// `alcohol` as the same fragment sum; both slots carry it, as the models expect 20 columns.
    pub fn vector(&self) -> [f64; 20] {
        let c = &self.core;
        [
            c.h_bond_donors as f64,
            c.h_bond_acceptors as f64,
            self.h_bond_total() as f64,
            c.logp,
            c.tpsa,
            c.molecular_weight,
            c.heavy_atom_count as f64,
            c.rotatable_bond_count as f64,
            c.ring_count as f64,
            c.fraction_csp3,
            c.hydroxyl_count as f64,
            c.hydroxyl_count as f64,
            c.ether_count as f64,
            c.amine_count as f64,
            c.amide_count as f64,
            self.rule_of_5_violations as f64,
            self.veber_violations as f64,
            f64::from(u8::from(self.bbb_permeant)),
            f64::from(u8::from(self.intestinal_absorption)),
            self.estimated_log_papp,
        ]
    }
}
