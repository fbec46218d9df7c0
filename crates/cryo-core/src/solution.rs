//! Physical properties of an aqueous cocktail: its amounts on every basis, its osmolality and its
//! glass transition. Pure functions of the components' constants.
//!
//! # The solution model
//! Water fills whatever the solutes leave of one litre. Each solute occupies its partial molar
//! volume v̄ (mL/mol), by default M/ρ of the pure compound. This is **ideal volume additivity**:
//! real CPA–water mixtures contract by up to a few percent, so molality and mass fractions derived
//! from per-volume amounts carry that error. Water: M = 18.015 g/mol; ρ = 0.99705 g/mL at 25 °C
//! (CRC Handbook of Chemistry and Physics, "Properties of water"), so v̄ = 18.07 mL/mol.
//!
//! Every input basis is one linear equation in the amounts n (mol per litre of solution) of the
//! solutes and of water, together with the volume equation Σ nᵢ·v̄ᵢ + n_w·v̄_w = 1000 mL:
//!
//! | basis                   | equation                                   |
//! |-------------------------|--------------------------------------------|
//! | molarity c (mol/L)      | nᵢ = c                                     |
//! | volume fraction φ       | nᵢ·v̄ᵢ = 1000·φ                             |
//! | molality m (mol/kg)     | nᵢ = m·n_w·M_w/1000                        |
//! | mass fraction w         | nᵢ·Mᵢ = w·(Σ nₖ·Mₖ + n_w·M_w)              |
//! | mole fraction x         | nᵢ = x·(Σ nₖ + n_w)                        |
//!
//! so any mix of bases is solved exactly (Gaussian elimination), and a composition that leaves
//! no room for water is refused rather than given negative amounts.
//!
//! # Osmolality
//! Ideal dilute: π = Σ νᵢ·mᵢ (osmol/kg water). Non-ideal: the multi-solute osmotic virial
//! equation (Elliott, Prickett & McGann, J Phys Chem B 111:1775, 2007) with the mixing rules
//! Bᵢⱼ = (Bᵢ + Bⱼ)/2 and Cᵢⱼₖ = (CᵢCⱼCₖ)^⅓, in terms of kᵢ·mᵢ with the molality-based
//! dissociation constant kᵢ (Prickett, Elliott & McGann, Cryobiology 60:30, 2010). Solutes whose
//! coefficients are unknown enter the virial sum as ideal (B = C = 0), and say so.
//!
//! # Glass transition
//! Gordon–Taylor generalised to many components over mass fractions, water included:
//! Tg = Σ wᵢ·kᵢ·Tgᵢ / Σ wᵢ·kᵢ with k relative to water (k_w = 1). Tabulated binary constants
//! follow the food-science convention Tg = (w_s·Tg_s + k·w_w·Tg_w)/(w_s + k·w_w), so a solute's
//! k relative to water is 1/k_table. Where a solute's k is unknown it takes Fox's value
//! kᵢ = Tg_w/Tgᵢ (with every k from Fox the formula *is* Fox's 1/Tg = Σ wᵢ/Tgᵢ).

use crate::units::{Concentration, ConcentrationUnit};
use serde::Serialize;

/// Water, g/mol.
pub const WATER_MOLAR_MASS: f64 = 18.015;
/// Water at 25 °C, g/mL (CRC Handbook).
pub const WATER_DENSITY: f64 = 0.99705;
/// Water's glass transition, K: −135 °C, the value the Gordon–Taylor constants of
/// [`REFERENCE_SOLUTES`] were fitted with (Roos, Carbohydr Res 238:39, 1993). Johari, Hallbrucker
/// & Mayer (Nature 330:552, 1987) measured 136 K.
pub const WATER_TG_K: f64 = 138.15;

/// Kelvin at 0 °C.
pub const KELVIN_AT_0C: f64 = 273.15;

/// How an amount of one component is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "basis", content = "value", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Amount {
    /// mol per litre of solution.
    Molarity(f64),
    /// mol per kg of water.
    Molality(f64),
    /// Mass of the component over mass of the solution (0–1).
    MassFraction(f64),
    /// Volume of the pure component over volume of the solution (0–1).
    VolumeFraction(f64),
    /// Moles of the component over moles of everything, water included (0–1).
    MoleFraction(f64),
}

/// What the arithmetic needs to know of one solute. `None` is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SoluteConstants {
    /// g/mol.
    pub molar_mass: Option<f64>,
    /// Pure compound, g/mL.
    pub density: Option<f64>,
    /// mL/mol; M/ρ when not given.
    pub partial_molar_volume: Option<f64>,
    /// Osmoles per mole in the ideal dilute sum (1 for non-electrolytes).
    pub ideal_dissociation: Option<f64>,
    /// Molality-based dissociation constant k of the virial equation.
    pub virial_dissociation: Option<f64>,
    /// Second osmotic virial coefficient, kg/mol.
    pub virial_b: Option<f64>,
    /// Third osmotic virial coefficient, (kg/mol)².
    pub virial_c: Option<f64>,
    /// Glass transition of the pure compound, K.
    pub tg_k: Option<f64>,
    /// Gordon–Taylor constant of the binary with water, food-science convention (see the module
    /// docs): the k that multiplies water's mass fraction.
    pub gordon_taylor_k: Option<f64>,
}

impl SoluteConstants {
    /// `self`, with what it does not know taken from `fallback`.
    pub fn or(self, fallback: SoluteConstants) -> SoluteConstants {
        SoluteConstants {
            molar_mass: self.molar_mass.or(fallback.molar_mass),
            density: self.density.or(fallback.density),
            partial_molar_volume: self.partial_molar_volume.or(fallback.partial_molar_volume),
            ideal_dissociation: self.ideal_dissociation.or(fallback.ideal_dissociation),
            virial_dissociation: self.virial_dissociation.or(fallback.virial_dissociation),
            virial_b: self.virial_b.or(fallback.virial_b),
            virial_c: self.virial_c.or(fallback.virial_c),
            tg_k: self.tg_k.or(fallback.tg_k),
            gordon_taylor_k: self.gordon_taylor_k.or(fallback.gordon_taylor_k),
        }
    }

    /// mL/mol: the given partial molar volume, else M/ρ.
    pub fn molar_volume(&self) -> Option<f64> {
        self.partial_molar_volume
            .or(match (self.molar_mass, self.density) {
                (Some(m), Some(d)) if m > 0.0 && d > 0.0 => Some(m / d),
                _ => None,
            })
    }
}

/// A literature entry: the solute, identified by its standard InChIKey, and where each value
/// comes from.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferenceSolute {
    pub name: &'static str,
    pub inchikey: &'static str,
    #[serde(flatten)]
    pub constants: SoluteConstants,
    pub sources: &'static str,
}

const fn reference(
    name: &'static str,
    inchikey: &'static str,
    constants: SoluteConstants,
    sources: &'static str,
) -> ReferenceSolute {
    ReferenceSolute {
        name,
        inchikey,
        constants,
        sources,
    }
}

const NONE: SoluteConstants = SoluteConstants {
    molar_mass: None,
    density: None,
    partial_molar_volume: None,
    ideal_dissociation: None,
    virial_dissociation: None,
    virial_b: None,
    virial_c: None,
    tg_k: None,
    gordon_taylor_k: None,
};

const ROOS_1993: &str = "Tg and Gordon–Taylor k: Roos, Carbohydr Res 238:39–48 (1993), doi:10.1016/0008-6215(93)87004-C; density of the crystal: CRC Handbook of Chemistry and Physics";
const PRICKETT_2010: &str =
    "Prickett, Elliott & McGann, Cryobiology 60:30–42 (2010), doi:10.1016/j.cryobiol.2009.07.011";

/// Solute constants with their sources. Molar masses come from the structure; what is not known
/// here is left `None` rather than guessed, and the user can give it per molecule or per request.
pub const REFERENCE_SOLUTES: &[ReferenceSolute] = &[
    reference(
        "dimethyl sulfoxide",
        "IAZDPXIOMUYVGZ-UHFFFAOYSA-N",
        SoluteConstants {
            density: Some(1.100),
            virial_b: Some(0.108),
            virial_c: Some(0.0),
            ..NONE
        },
        PRICKETT_2010,
    ),
    reference(
        "glycerol",
        "PEDCQBHIVMGVHV-UHFFFAOYSA-N",
        SoluteConstants {
            density: Some(1.261),
            virial_b: Some(0.023),
            virial_c: Some(0.0),
            tg_k: Some(190.0),
            ..NONE
        },
        "virial: Prickett, Elliott & McGann, Cryobiology 60:30–42 (2010); Tg 190 K: Lunkenheimer, Schneider, Brand & Loidl, Contemp Phys 41:15 (2000)",
    ),
    reference(
        "propylene glycol",
        "DNIAPMSPPWPWGF-UHFFFAOYSA-N",
        SoluteConstants {
            density: Some(1.036),
            tg_k: Some(167.0),
            ..NONE
        },
        "Tg 167 K: Lunkenheimer, Schneider, Brand & Loidl, Contemp Phys 41:15 (2000)",
    ),
    reference(
        "sucrose",
        "CZMRCDWAGMRECN-UGDNZRGBSA-N",
        SoluteConstants {
            density: Some(1.587),
            tg_k: Some(62.0 + KELVIN_AT_0C),
            gordon_taylor_k: Some(4.7),
            ..NONE
        },
        ROOS_1993,
    ),
    reference(
        "trehalose",
        "HDTRYLNUVZCQOY-LIZSDCNHSA-N",
        SoluteConstants {
            density: Some(1.58),
            tg_k: Some(100.0 + KELVIN_AT_0C),
            gordon_taylor_k: Some(5.2),
            ..NONE
        },
        ROOS_1993,
    ),
    reference(
        "sodium chloride",
        "FAPWRFPIFSIZLT-UHFFFAOYSA-M",
        SoluteConstants {
            density: Some(2.165),
            // 0.9 % saline (154 mM) is ≈ 286 mOsm/kg: 1.86 osmol per mol.
            ideal_dissociation: Some(1.86),
            virial_dissociation: Some(1.678),
            virial_b: Some(0.044),
            virial_c: Some(0.0),
            ..NONE
        },
        PRICKETT_2010,
    ),
];

/// The literature entry for a structure, by standard InChIKey.
pub fn reference_solute(inchikey: &str) -> Option<&'static ReferenceSolute> {
    REFERENCE_SOLUTES.iter().find(|r| r.inchikey == inchikey)
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolutionError {
    #[error("a solution needs at least one solute")]
    Empty,
    #[error("component {index}: the amount must be a finite number ≥ 0, got {value}")]
    BadAmount { index: usize, value: f64 },
    #[error("component {index}: a fraction must be below 1, got {value}")]
    FractionAboveOne { index: usize, value: f64 },
    #[error("component {index}: the molar mass is unknown")]
    NeedsMolarMass { index: usize },
    #[error(
        "component {index}: its volume is unknown; give the compound's density or partial molar volume"
    )]
    NeedsVolume { index: usize },
    #[error("these amounts leave no room for water (they describe more than a litre of solutes)")]
    NoWater,
}

/// One component, solved: its amount on every basis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Amounts {
    /// mol/L of solution.
    pub molarity: f64,
    /// mol/kg of water.
    pub molality: f64,
    /// Percent of the solution's mass.
    pub mass_percent: f64,
    /// Percent of the solution's volume, as the pure compound (ideal mixing).
    pub volume_percent: f64,
    /// Of all moles, water included.
    pub mole_fraction: f64,
}

/// A solved solution: every component's amounts, and the water.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Solution {
    pub components: Vec<Amounts>,
    /// kg of water per litre of solution.
    pub water_kg_per_l: f64,
    pub water_mass_percent: f64,
    pub water_mole_fraction: f64,
    /// g/mL, under ideal volume additivity.
    pub density: f64,
    /// Σ molarity, mol/L.
    pub total_molarity: f64,
}

/// Solve a solution of `components` (amount, constants) in water. Every component needs a molar
/// mass and a volume (density or partial molar volume).
pub fn solve(components: &[(Amount, SoluteConstants)]) -> Result<Solution, SolutionError> {
    if components.is_empty() {
        return Err(SolutionError::Empty);
    }
    let k = components.len();
    let mut masses = Vec::with_capacity(k);
    let mut volumes = Vec::with_capacity(k);
    for (index, (amount, c)) in components.iter().enumerate() {
        let value = amount.value();
        if !value.is_finite() || value < 0.0 {
            return Err(SolutionError::BadAmount { index, value });
        }
        if amount.is_fraction() && value >= 1.0 {
            return Err(SolutionError::FractionAboveOne { index, value });
        }
        masses.push(
            c.molar_mass
                .filter(|m| *m > 0.0)
                .ok_or(SolutionError::NeedsMolarMass { index })?,
        );
        volumes.push(
            c.molar_volume()
                .filter(|v| *v > 0.0)
                .ok_or(SolutionError::NeedsVolume { index })?,
        );
    }
    // Unknowns n_0..n_{k-1} (solutes) and n_k (water), mol per litre of solution.
    let w = k;
    let mut a = vec![vec![0.0; k + 2]; k + 1];
    for (i, (amount, _)) in components.iter().enumerate() {
        let row = &mut a[i];
        match *amount {
            Amount::Molarity(c) => {
                row[i] = 1.0;
                row[k + 1] = c;
            }
            Amount::VolumeFraction(phi) => {
                row[i] = volumes[i];
                row[k + 1] = 1000.0 * phi;
            }
            Amount::Molality(m) => {
                row[i] = 1.0;
                row[w] = -m * WATER_MOLAR_MASS / 1000.0;
            }
            Amount::MassFraction(x) => {
                for (j, mass) in masses.iter().enumerate() {
                    row[j] = -x * mass;
                }
                row[i] += masses[i];
                row[w] = -x * WATER_MOLAR_MASS;
            }
            Amount::MoleFraction(x) => {
                for cell in row.iter_mut().take(k + 1) {
                    *cell = -x;
                }
                row[i] += 1.0;
            }
        }
    }
    a[k][..k].copy_from_slice(&volumes);
    a[k][w] = WATER_MOLAR_MASS / WATER_DENSITY;
    a[k][k + 1] = 1000.0;
    let n = gauss(a).ok_or(SolutionError::NoWater)?;
    let water = n[w];
    if water <= 0.0 || n[..k].iter().any(|x| *x < -1e-12) {
        return Err(SolutionError::NoWater);
    }
    let solutes: Vec<f64> = n[..k].iter().map(|x| x.max(0.0)).collect();
    let water_kg = water * WATER_MOLAR_MASS / 1000.0;
    let total_mass: f64 =
        solutes.iter().zip(&masses).map(|(n, m)| n * m).sum::<f64>() + water * WATER_MOLAR_MASS;
    let total_moles: f64 = solutes.iter().sum::<f64>() + water;
    let amounts = solutes
        .iter()
        .zip(masses.iter().zip(&volumes))
        .map(|(&n, (&m, &v))| Amounts {
            molarity: n,
            molality: n / water_kg,
            mass_percent: 100.0 * n * m / total_mass,
            volume_percent: n * v / 10.0,
            mole_fraction: n / total_moles,
        })
        .collect();
    Ok(Solution {
        components: amounts,
        water_kg_per_l: water_kg,
        water_mass_percent: 100.0 * water * WATER_MOLAR_MASS / total_mass,
        water_mole_fraction: water / total_moles,
        density: total_mass / 1000.0,
        total_molarity: solutes.iter().sum(),
    })
}

impl Amount {
    /// A stored concentration as an amount: per-volume units become molarity (mass units through
    /// the molar mass, `None` when it is unknown), % v/v a volume fraction, mole fractions stay.
    pub fn from_concentration(c: Concentration, molar_mass: Option<f64>) -> Option<Amount> {
        let mass = || molar_mass.filter(|m| *m > 0.0);
        Some(match c.unit() {
            ConcentrationUnit::Molar => Amount::Molarity(c.value()),
            ConcentrationUnit::MilliMolar => Amount::Molarity(c.value() / 1000.0),
            // mg/mL = g/L.
            ConcentrationUnit::MgPerMl => Amount::Molarity(c.value() / mass()?),
            // 1 % w/v = 10 g/L.
            ConcentrationUnit::PercentWv => Amount::Molarity(10.0 * c.value() / mass()?),
            ConcentrationUnit::PercentVv => Amount::VolumeFraction(c.value() / 100.0),
            ConcentrationUnit::MolFraction => Amount::MoleFraction(c.value()),
        })
    }

    pub fn value(&self) -> f64 {
        match *self {
            Amount::Molarity(v)
            | Amount::Molality(v)
            | Amount::MassFraction(v)
            | Amount::VolumeFraction(v)
            | Amount::MoleFraction(v) => v,
        }
    }

    fn is_fraction(&self) -> bool {
        matches!(
            self,
            Amount::MassFraction(_) | Amount::VolumeFraction(_) | Amount::MoleFraction(_)
        )
    }
}

/// Solves the augmented system `a` (rows of n coefficients and the right-hand side) by Gaussian
/// elimination with partial pivoting; `None` when singular.
fn gauss(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let n = a.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for row in rest.iter_mut() {
            let f = row[col] / pivot_row[col];
            if f != 0.0 {
                for (cell, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *cell -= f * p;
                }
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|j| a[row][j] * x[j]).sum();
        x[row] = (a[row][n] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// A mixture's osmolality, osmol/kg of water.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Osmolality {
    /// Σ νᵢ·mᵢ.
    pub ideal: f64,
    /// The osmotic virial equation; `None` when no component has known coefficients.
    pub virial: Option<f64>,
    /// Components that entered the virial sum as ideal for want of coefficients.
    pub assumed_ideal: Vec<usize>,
}

/// Osmolality of solved `molalities` (mol/kg) of solutes with `constants`.
pub fn osmolality(molalities: &[f64], constants: &[SoluteConstants]) -> Osmolality {
    let ideal = molalities
        .iter()
        .zip(constants)
        .map(|(m, c)| c.ideal_dissociation.unwrap_or(1.0) * m)
        .sum();
    let known: Vec<bool> = constants
        .iter()
        .map(|c| c.virial_b.is_some() || c.virial_c.is_some())
        .collect();
    let assumed_ideal: Vec<usize> = (0..constants.len()).filter(|&i| !known[i]).collect();
    let virial = known.iter().any(|k| *k).then(|| {
        let xi: Vec<f64> = molalities
            .iter()
            .zip(constants)
            .map(|(m, c)| {
                c.virial_dissociation
                    .or(c.ideal_dissociation)
                    .unwrap_or(1.0)
                    * m
            })
            .collect();
        let b: Vec<f64> = constants
            .iter()
            .map(|c| c.virial_b.unwrap_or(0.0))
            .collect();
        let c: Vec<f64> = constants
            .iter()
            .map(|c| c.virial_c.unwrap_or(0.0))
            .collect();
        let n = xi.len();
        let mut pi: f64 = xi.iter().sum();
        for i in 0..n {
            for j in 0..n {
                pi += (b[i] + b[j]) / 2.0 * xi[i] * xi[j];
                for k in 0..n {
                    pi += (c[i] * c[j] * c[k]).cbrt() * xi[i] * xi[j] * xi[k];
                }
            }
        }
        pi
    });
    Osmolality {
        ideal,
        virial,
        assumed_ideal,
    }
}

/// Where a component's k in the Tg estimate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KSource {
    GordonTaylor,
    /// k = Tg_water/Tg, which makes the term Fox's.
    Fox,
}

/// A mixture's glass transition estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GlassTransition {
    pub tg_k: f64,
    pub tg_celsius: f64,
    /// Per solute, in order.
    pub k_sources: Vec<KSource>,
    /// "gordon_taylor" when every solute had its constant, "fox" when none had, else "mixed".
    pub method: &'static str,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TgError {
    #[error("component {index}: its glass transition is unknown")]
    NeedsTg { index: usize },
}

/// Gordon–Taylor over mass percentages (solutes, then water from `water_mass_percent`).
pub fn glass_transition(
    mass_percents: &[f64],
    water_mass_percent: f64,
    constants: &[SoluteConstants],
) -> Result<GlassTransition, TgError> {
    let mut num = water_mass_percent * WATER_TG_K;
    let mut den = water_mass_percent;
    let mut k_sources = Vec::with_capacity(constants.len());
    for (index, (w, c)) in mass_percents.iter().zip(constants).enumerate() {
        let tg = c
            .tg_k
            .filter(|t| *t > 0.0)
            .ok_or(TgError::NeedsTg { index })?;
        let (k, source) = match c.gordon_taylor_k.filter(|k| *k > 0.0) {
            Some(k_table) => (1.0 / k_table, KSource::GordonTaylor),
            None => (WATER_TG_K / tg, KSource::Fox),
        };
        num += w * k * tg;
        den += w * k;
        k_sources.push(source);
    }
    let tg_k = num / den;
    let method = if k_sources.iter().all(|s| *s == KSource::GordonTaylor) {
        "gordon_taylor"
    } else if k_sources.iter().all(|s| *s == KSource::Fox) {
        "fox"
    } else {
        "mixed"
    };
    Ok(GlassTransition {
        tg_k,
        tg_celsius: tg_k - KELVIN_AT_0C,
        k_sources,
        method,
    })
}

#[cfg(test)]
mod tests;

/// The original's mixture property models (`mixture_analysis.py`, §3.5 of the behaviour notes):
/// a share-weighted average of the components' stored values, optionally multiplied by
/// 1 + 0.2·Σ_pairs Iᵢⱼ·f(sᵢ, sⱼ), where Iᵢⱼ = 1 − Tanimoto(Morgan) of the pair. Here the
/// shares s are molar shares (0–1; the original used its raw, unit-blind concentrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PropertyModel {
    /// Σ sᵢ·vᵢ / Σ sᵢ over the components with a value.
    WeightedAverage,
    /// f = sᵢ·sⱼ.
    Quadratic,
    /// f = e^{sᵢ·sⱼ} − 1.
    Exponential,
    /// f = ln(1 + 10·sᵢ·sⱼ).
    Logarithmic,
}

impl PropertyModel {
    pub const ALL: [PropertyModel; 4] = [
        Self::WeightedAverage,
        Self::Quadratic,
        Self::Exponential,
        Self::Logarithmic,
    ];

    fn interaction(self, a: f64, b: f64) -> f64 {
        match self {
            Self::WeightedAverage => 0.0,
            Self::Quadratic => a * b,
            Self::Exponential => (a * b).exp() - 1.0,
            Self::Logarithmic => (1.0 + 10.0 * a * b).ln(),
        }
    }
}

/// The mixture's value of a property under `model`: `values[i]` is component i's stored value
/// (`None`: left out of the average), `shares` their molar shares, `dissimilarity[i][j]` the
/// pair's 1 − Tanimoto. `None` when no component has a value.
pub fn mixture_property(
    model: PropertyModel,
    shares: &[f64],
    values: &[Option<f64>],
    dissimilarity: &[Vec<f64>],
) -> Option<f64> {
    let known: Vec<(f64, f64)> = shares
        .iter()
        .zip(values)
        .filter_map(|(s, v)| v.map(|v| (*s, v)))
        .collect();
    let weight: f64 = known.iter().map(|(s, _)| s).sum();
    if known.is_empty() || weight <= 0.0 {
        return None;
    }
    let base = known.iter().map(|(s, v)| s * v).sum::<f64>() / weight;
    let mut pairs = 0.0;
    for i in 0..shares.len() {
        for j in i + 1..shares.len() {
            pairs += dissimilarity[i][j] * model.interaction(shares[i], shares[j]);
        }
    }
    Some(base * (1.0 + 0.2 * pairs))
}
