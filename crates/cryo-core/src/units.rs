//! Concentrations and units.
//!
//! The original weighted mixture components by their raw numbers, so 10 mM and 10 % counted the
//! same. Here every unit has a defined conversion to a common **molar** basis (mol/L), which is
//! what colligative cryoprotection depends on:
//!
//! | unit          | to mol/L                                   | needs          |
//! |---------------|--------------------------------------------|----------------|
//! | `M`           | c                                          | –              |
//! | `mM`          | c / 1000                                   | –              |
//! | `mg_per_mL`   | c / MW (mg/mL = g/L)                       | molar mass     |
//! | `percent_w_v` | 10·c / MW (1 % w/v = 10 g/L)               | molar mass     |
//! | `percent_v_v` | 10·c·ρ / MW (ρ in g/mL)                    | mass, density  |
//! | `mol_fraction`| only comparable with other mole fractions  | –              |
//!
//! Mole fractions describe proportions of the whole solution (including water), so they cannot
//! be turned into mol/L without the solution's composition. A mixture given entirely in mole
//! fractions is weighted by them directly (the same molar basis); one that mixes mole fractions
//! with per-volume units is refused, as is `% v/v` for a compound whose density is unknown.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConcentrationUnit {
    #[serde(rename = "mol_fraction")]
    MolFraction,
    #[serde(rename = "percent_w_v")]
    PercentWv,
    #[serde(rename = "percent_v_v")]
    PercentVv,
    #[serde(rename = "mM")]
    MilliMolar,
    #[serde(rename = "M")]
    Molar,
    #[serde(rename = "mg_per_mL")]
    MgPerMl,
}

impl ConcentrationUnit {
    pub const ALL: [ConcentrationUnit; 6] = [
        Self::MolFraction,
        Self::PercentWv,
        Self::PercentVv,
        Self::MilliMolar,
        Self::Molar,
        Self::MgPerMl,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MolFraction => "mol_fraction",
            Self::PercentWv => "percent_w_v",
            Self::PercentVv => "percent_v_v",
            Self::MilliMolar => "mM",
            Self::Molar => "M",
            Self::MgPerMl => "mg_per_mL",
        }
    }

    /// How people write it.
    pub fn label(self) -> &'static str {
        match self {
            Self::MolFraction => "mole fraction",
            Self::PercentWv => "% w/v",
            Self::PercentVv => "% v/v",
            Self::MilliMolar => "mM",
            Self::Molar => "M (mol/L)",
            Self::MgPerMl => "mg/mL",
        }
    }

    /// The largest value that makes physical sense, if any.
    fn upper_bound(self) -> Option<f64> {
        match self {
            Self::MolFraction => Some(1.0),
            Self::PercentWv | Self::PercentVv => Some(100.0),
            _ => None,
        }
    }
}

impl fmt::Display for ConcentrationUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// As the database stores it (an enum type of exactly the canonical names).
impl TryFrom<String> for ConcentrationUnit {
    type Error = UnitError;
    fn try_from(s: String) -> Result<Self, UnitError> {
        s.parse()
    }
}

impl FromStr for ConcentrationUnit {
    type Err = UnitError;
    /// Accepts the canonical names and the common spellings labs type.
    fn from_str(s: &str) -> Result<Self, UnitError> {
        let norm: String = s.trim().chars().filter(|c| !c.is_whitespace()).collect();
        Ok(match norm.as_str() {
            "mol_fraction" | "molfraction" | "x" | "mole_fraction" => Self::MolFraction,
            "percent_w_v" | "%w/v" | "%(w/v)" | "w/v%" => Self::PercentWv,
            "percent_v_v" | "%v/v" | "%(v/v)" | "v/v%" => Self::PercentVv,
            "mM" | "mmol/L" | "mmol/l" => Self::MilliMolar,
            "M" | "mol/L" | "mol/l" => Self::Molar,
            "mg_per_mL" | "mg/mL" | "mg/ml" | "g/L" | "g/l" => Self::MgPerMl,
            _ => {
                return Err(UnitError::UnknownUnit {
                    given: s.to_string(),
                });
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error(
        "unknown concentration unit `{given}`; use one of mol_fraction, percent_w_v, percent_v_v, mM, M, mg_per_mL"
    )]
    UnknownUnit { given: String },
    #[error("concentration must be a finite number greater than 0, got {value}")]
    NotPositive { value: f64 },
    #[error("concentration {value} {unit} is above the maximum of {max} for that unit")]
    AboveMaximum {
        value: f64,
        unit: ConcentrationUnit,
        max: f64,
    },
    #[error("component {index}: {unit} needs the molar mass, which is unknown")]
    NeedsMolarMass {
        index: usize,
        unit: ConcentrationUnit,
    },
    #[error(
        "component {index}: percent_v_v needs the compound's density, which is unknown; give the concentration in another unit"
    )]
    NeedsDensity { index: usize },
    #[error(
        "mole fractions cannot be combined with per-volume units in one mixture (component {index} is {unit})"
    )]
    MixedMolFraction {
        index: usize,
        unit: ConcentrationUnit,
    },
    #[error("a mixture needs at least one component")]
    Empty,
    #[error("mole fractions add up to {sum:.4}, more than 1")]
    FractionsAboveOne { sum: f64 },
}

/// A validated concentration: finite, positive, within its unit's physical range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Concentration {
    value: f64,
    unit: ConcentrationUnit,
}

impl Concentration {
    pub fn new(value: f64, unit: ConcentrationUnit) -> Result<Self, UnitError> {
        if !value.is_finite() || value <= 0.0 {
            return Err(UnitError::NotPositive { value });
        }
        if let Some(max) = unit.upper_bound()
            && value > max
        {
            return Err(UnitError::AboveMaximum { value, unit, max });
        }
        Ok(Concentration { value, unit })
    }

    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn unit(&self) -> ConcentrationUnit {
        self.unit
    }
}

/// What a unit conversion may need to know about the compound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompoundProps {
    /// g/mol.
    pub molar_mass: Option<f64>,
    /// g/mL at room temperature.
    pub density: Option<f64>,
}

/// Convert each component to its share of the mixture's molar amount (shares sum to 1).
pub fn molar_shares(components: &[(Concentration, CompoundProps)]) -> Result<Vec<f64>, UnitError> {
    if components.is_empty() {
        return Err(UnitError::Empty);
    }
    let fractions = components
        .iter()
        .filter(|(c, _)| c.unit == ConcentrationUnit::MolFraction)
        .count();
    let amounts: Vec<f64> = if fractions == components.len() {
        let sum: f64 = components.iter().map(|(c, _)| c.value).sum();
        if sum > 1.0 + 1e-9 {
            return Err(UnitError::FractionsAboveOne { sum });
        }
        components.iter().map(|(c, _)| c.value).collect()
    } else if fractions > 0 {
        let (index, (c, _)) = components
            .iter()
            .enumerate()
            .find(|(_, (c, _))| c.unit != ConcentrationUnit::MolFraction)
            .expect("some component is not a mole fraction");
        return Err(UnitError::MixedMolFraction {
            index,
            unit: c.unit,
        });
    } else {
        components
            .iter()
            .enumerate()
            .map(|(index, (c, props))| molar(index, c, props))
            .collect::<Result<_, _>>()?
    };
    let total: f64 = amounts.iter().sum();
    Ok(amounts.iter().map(|a| a / total).collect())
}

/// mol/L for a per-volume concentration.
fn molar(index: usize, c: &Concentration, props: &CompoundProps) -> Result<f64, UnitError> {
    let mass = || {
        props
            .molar_mass
            .filter(|m| *m > 0.0)
            .ok_or(UnitError::NeedsMolarMass {
                index,
                unit: c.unit,
            })
    };
    Ok(match c.unit {
        ConcentrationUnit::Molar => c.value,
        ConcentrationUnit::MilliMolar => c.value / 1000.0,
        ConcentrationUnit::MgPerMl => c.value / mass()?,
        ConcentrationUnit::PercentWv => 10.0 * c.value / mass()?,
        ConcentrationUnit::PercentVv => {
            let density = props
                .density
                .filter(|d| *d > 0.0)
                .ok_or(UnitError::NeedsDensity { index })?;
            10.0 * c.value * density / mass()?
        }
        ConcentrationUnit::MolFraction => unreachable!("handled by molar_shares"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conc(v: f64, u: ConcentrationUnit) -> Concentration {
        Concentration::new(v, u).unwrap()
    }

    const DMSO: CompoundProps = CompoundProps {
        molar_mass: Some(78.13),
        density: Some(1.100),
    };
    const EG: CompoundProps = CompoundProps {
        molar_mass: Some(62.068),
        density: Some(1.113),
    };

    #[test]
    fn invalid_concentrations_are_refused() {
        assert!(matches!(
            Concentration::new(0.0, ConcentrationUnit::Molar),
            Err(UnitError::NotPositive { .. })
        ));
        assert!(matches!(
            Concentration::new(f64::NAN, ConcentrationUnit::Molar),
            Err(UnitError::NotPositive { .. })
        ));
        assert!(matches!(
            Concentration::new(1.5, ConcentrationUnit::MolFraction),
            Err(UnitError::AboveMaximum { .. })
        ));
        assert!(matches!(
            Concentration::new(101.0, ConcentrationUnit::PercentVv),
            Err(UnitError::AboveMaximum { .. })
        ));
    }

    #[test]
    fn unit_spellings_parse_and_round_trip() {
        for u in ConcentrationUnit::ALL {
            assert_eq!(u.as_str().parse::<ConcentrationUnit>().unwrap(), u);
        }
        assert_eq!(
            "% w/v".parse::<ConcentrationUnit>().unwrap(),
            ConcentrationUnit::PercentWv
        );
        assert_eq!(
            "mg/ml".parse::<ConcentrationUnit>().unwrap(),
            ConcentrationUnit::MgPerMl
        );
        assert!(
            "%".parse::<ConcentrationUnit>().is_err(),
            "bare % is ambiguous"
        );
    }

    #[test]
    fn equal_molarities_in_different_units_get_equal_shares() {
        // 1 M DMSO = 1000 mM = 78.13 mg/mL = 7.813 % w/v.
        let cases = [
            conc(1000.0, ConcentrationUnit::MilliMolar),
            conc(78.13, ConcentrationUnit::MgPerMl),
            conc(7.813, ConcentrationUnit::PercentWv),
            conc(78.13 / 11.0, ConcentrationUnit::PercentVv),
        ];
        for c in cases {
            let shares =
                molar_shares(&[(conc(1.0, ConcentrationUnit::Molar), DMSO), (c, DMSO)]).unwrap();
            assert!((shares[0] - 0.5).abs() < 1e-9, "{c:?}: {shares:?}");
        }
    }

    #[test]
    fn the_originals_mm_and_percent_mix_is_now_weighted_by_moles() {
        // 10 mM DMSO with 10 % w/v EG: the original weighted them 50:50.
        let shares = molar_shares(&[
            (conc(10.0, ConcentrationUnit::MilliMolar), DMSO),
            (conc(10.0, ConcentrationUnit::PercentWv), EG),
        ])
        .unwrap();
        let eg_molar = 100.0 / 62.068;
        assert!((shares[0] - 0.01 / (0.01 + eg_molar)).abs() < 1e-12);
    }

    #[test]
    fn irreconcilable_units_are_refused_with_the_component() {
        let err = molar_shares(&[
            (conc(0.2, ConcentrationUnit::MolFraction), DMSO),
            (conc(1.0, ConcentrationUnit::Molar), EG),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            UnitError::MixedMolFraction {
                index: 1,
                unit: ConcentrationUnit::Molar
            }
        );
        let no_density = CompoundProps {
            molar_mass: Some(342.3),
            density: None,
        };
        let err =
            molar_shares(&[(conc(5.0, ConcentrationUnit::PercentVv), no_density)]).unwrap_err();
        assert_eq!(err, UnitError::NeedsDensity { index: 0 });
        let err = molar_shares(&[
            (conc(0.6, ConcentrationUnit::MolFraction), DMSO),
            (conc(0.6, ConcentrationUnit::MolFraction), EG),
        ])
        .unwrap_err();
        assert!(matches!(err, UnitError::FractionsAboveOne { .. }));
    }
}
