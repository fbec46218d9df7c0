//! Feature sets for models: which numbers describe a molecule. The set's name and version are
//! stored with every model so prediction refuses inputs computed differently.

use crate::{ChemError, Molecule, descriptor_names, rdkit_version};
use cryo_core::features::FEATURE_NAMES;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Morgan fingerprint used as features: radius 2, 2048 bits (ECFP4-like).
pub const MORGAN_RADIUS: u32 = 2;
pub const MORGAN_BITS: u32 = 2048;

/// Revision of how the RDKit descriptor set is computed here, part of the feature version: a
/// model is never fed descriptors computed differently from its training rows. 2: chi2v and
/// chi2n from their own functions (RDKit 2022.09's table gave them the order-3 values). 3:
/// NumHBA with RDKit's corrected acceptor pattern (degree-three aromatic N are not acceptors).
pub const DESCRIPTOR_REVISION: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSet {
    /// The original's 20 cryoprotectant features (H-explicit; §4.2).
    Cryo20,
    /// RDKit's descriptor set (`Descriptors::Properties`).
    Rdkit,
    /// Morgan fingerprint bits (r = 2, 2048 bits).
    Morgan,
    /// All three, in that order.
    Combined,
}

impl FeatureSet {
    pub const ALL: [FeatureSet; 4] = [
        FeatureSet::Cryo20,
        FeatureSet::Rdkit,
        FeatureSet::Morgan,
        FeatureSet::Combined,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FeatureSet::Cryo20 => "cryo20",
            FeatureSet::Rdkit => "rdkit",
            FeatureSet::Morgan => "morgan",
            FeatureSet::Combined => "combined",
        }
    }

    /// How people call it.
    pub fn label(self) -> &'static str {
        match self {
            FeatureSet::Cryo20 => "CryoProtect 20 features",
            FeatureSet::Rdkit => "RDKit descriptors",
            FeatureSet::Morgan => "Morgan fingerprint (r = 2, 2048 bits)",
            FeatureSet::Combined => "combined (all three)",
        }
    }

    /// Identifies how the numbers were computed (set, toolkit version, fingerprint shape).
    pub fn version(self) -> String {
        let descriptors = match self {
            FeatureSet::Rdkit | FeatureSet::Combined => {
                format!("/descriptors-r{DESCRIPTOR_REVISION}")
            }
            FeatureSet::Cryo20 | FeatureSet::Morgan => String::new(),
        };
        format!(
            "{}/rdkit-{}/morgan-r{MORGAN_RADIUS}-{MORGAN_BITS}{descriptors}",
            self.name(),
            rdkit_version()
        )
    }

    pub fn names(self) -> Vec<String> {
        match self {
            FeatureSet::Cryo20 => FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            FeatureSet::Rdkit => descriptor_names().to_vec(),
            FeatureSet::Morgan => (0..MORGAN_BITS).map(|b| format!("morgan_{b:04}")).collect(),
            FeatureSet::Combined => [FeatureSet::Cryo20, FeatureSet::Rdkit, FeatureSet::Morgan]
                .into_iter()
                .flat_map(FeatureSet::names)
                .collect(),
        }
    }

    pub fn compute(self, molecule: &Molecule) -> Result<Vec<f64>, ChemError> {
        Ok(match self {
            FeatureSet::Cryo20 => molecule.features()?.vector().to_vec(),
            FeatureSet::Rdkit => molecule
                .descriptor_set()?
                .into_iter()
                .map(|(_, v)| v)
                .collect(),
            FeatureSet::Morgan => {
                let fp = molecule.morgan(MORGAN_RADIUS, MORGAN_BITS)?;
                (0..MORGAN_BITS)
                    .map(|b| if fp.bit(b) { 1.0 } else { 0.0 })
                    .collect()
            }
            FeatureSet::Combined => {
                let mut v = FeatureSet::Cryo20.compute(molecule)?;
                v.extend(FeatureSet::Rdkit.compute(molecule)?);
                v.extend(FeatureSet::Morgan.compute(molecule)?);
                v
            }
        })
    }
}

impl fmt::Display for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FeatureSet {
    type Err = String;
    fn from_str(s: &str) -> Result<FeatureSet, String> {
        let key = s.trim().to_ascii_lowercase();
        FeatureSet::ALL
            .into_iter()
            .find(|f| f.name() == key)
            .ok_or_else(|| {
                format!("unknown feature set {s:?}; expected cryo20, rdkit, morgan or combined")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_yields_as_many_values_as_names() {
        let mol = Molecule::from_smiles("OCC(O)CO").unwrap();
        for set in FeatureSet::ALL {
            let values = set.compute(&mol).unwrap();
            assert_eq!(values.len(), set.names().len(), "{set}");
            assert_eq!(set.name().parse::<FeatureSet>().unwrap(), set);
        }
        let bits = FeatureSet::Morgan.compute(&mol).unwrap();
        assert!(bits.iter().all(|b| *b == 0.0 || *b == 1.0));
        assert!(bits.contains(&1.0));
    }
}
