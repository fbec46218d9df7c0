//! Cryoprotection scores (§3 of the behaviour reference): the molecule score, the mixture score,
//! the Tg score and the context-weighted unified score. The formulas and weights are the
//! original's; the mixture score's unit handling is new (see [`crate::units`]).

use crate::features::CryoFeatures;
use crate::round_half_even;
use crate::units::{CompoundProps, Concentration, UnitError, molar_shares};
use serde::Serialize;

/// Weights of the six components, in the order they are summed.
pub const WEIGHTS: [(Component, f64); 6] = [
    (Component::HydrogenBonding, 0.25),
    (Component::Logp, 0.15),
    (Component::Size, 0.15),
    (Component::Tpsa, 0.15),
    (Component::FunctionalGroups, 0.20),
    (Component::Permeability, 0.10),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    HydrogenBonding,
    Logp,
    Size,
    Tpsa,
    FunctionalGroups,
    Permeability,
}

impl Component {
    /// The name the API uses (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HydrogenBonding => "hydrogen_bonding",
            Self::Logp => "logp",
            Self::Size => "size",
            Self::Tpsa => "tpsa",
            Self::FunctionalGroups => "functional_groups",
            Self::Permeability => "permeability",
        }
    }

    /// The property-type name a stored component score uses.
    pub fn property_name(self) -> &'static str {
        match self {
            Self::HydrogenBonding => "Cryoprotection Hydrogen Bonding Score",
            Self::Logp => "Cryoprotection Logp Score",
            Self::Size => "Cryoprotection Size Score",
            Self::Tpsa => "Cryoprotection Tpsa Score",
            Self::FunctionalGroups => "Cryoprotection Functional Groups Score",
            Self::Permeability => "Cryoprotection Permeability Score",
        }
    }
}

/// A molecule's score: overall and per component, each 0–100 (rounded half to even).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoleculeScore {
    pub overall: i32,
    pub components: Vec<(Component, i32)>,
    /// Unrounded component values in 0–1 (the H-bond term can leave that range for very large
    /// molecules, as in the original).
    pub raw: Vec<(Component, f64)>,
}

impl MoleculeScore {
    pub fn component(&self, c: Component) -> i32 {
        self.components
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }
}

pub fn hydrogen_bonding(total: f64) -> f64 {
    if total <= 2.0 {
        0.2
    } else if total <= 5.0 {
        0.5 + 0.1 * (total - 2.0)
    } else if total <= 12.0 {
        0.8 + 0.02 * (total - 5.0)
    } else {
        1.0 - 0.05 * (total - 12.0)
    }
}

pub fn logp(x: f64) -> f64 {
    if x < -5.0 {
        0.3
    } else if x < -3.0 {
        0.5 + 0.1 * (x + 5.0)
    } else if x <= 0.0 {
        0.9
    } else if x <= 2.0 {
        0.9 - 0.2 * x
    } else {
        0.5 - 0.1 * (x - 2.0)
    }
}

pub fn size(mw: f64) -> f64 {
    if mw < 30.0 {
        0.2
    } else if mw < 60.0 {
        0.5 + 0.01 * (mw - 30.0)
    } else if mw <= 180.0 {
        0.8 + 0.001 * (180.0 - mw)
    } else if mw <= 300.0 {
        0.8 - 0.002 * (mw - 180.0)
    } else {
        0.4 - 0.001 * (mw - 300.0)
    }
}

pub fn tpsa(p: f64) -> f64 {
    if p < 20.0 {
        0.3
    } else if p < 40.0 {
        0.5 + 0.01 * (p - 20.0)
    } else if p <= 90.0 {
        0.7 + 0.006 * (p - 40.0)
    } else if p <= 140.0 {
        1.0 - 0.006 * (p - 90.0)
    } else {
        0.7 - 0.005 * (p - 140.0)
    }
}

pub fn functional_groups(hydroxyl: u32, ether: u32, amine: u32, amide: u32) -> f64 {
    let base = match hydroxyl {
        0 => 0.2,
        1..=3 => 0.5 + 0.15 * hydroxyl as f64,
        _ => 0.95,
    };
    (base + (0.05 * (ether + amine + amide) as f64).min(0.2)).min(1.0)
}

pub fn permeability(ro5_violations: u32, veber_violations: u32, log_papp: f64) -> f64 {
    let rule = 1.0 - 0.2 * ro5_violations as f64 - 0.15 * veber_violations as f64;
    let l = log_papp;
    let papp = if l < -6.0 {
        0.4
    } else if l < -5.0 {
        0.6 + 0.2 * (l + 6.0)
    } else if l <= -4.0 {
        0.8
    } else if l <= -3.0 {
        0.8 - 0.1 * (l + 4.0)
    } else {
        0.7 - 0.1 * (l + 3.0)
    };
    0.4 * rule + 0.6 * papp
}

/// The molecule cryoprotection score from its (H-explicit) features.
pub fn molecule_score(f: &CryoFeatures) -> MoleculeScore {
    let c = &f.core;
    let raw = vec![
        (
            Component::HydrogenBonding,
            hydrogen_bonding(f.h_bond_total() as f64),
        ),
        (Component::Logp, logp(c.logp)),
        (Component::Size, size(c.molecular_weight)),
        (Component::Tpsa, tpsa(c.tpsa)),
        (
            Component::FunctionalGroups,
            functional_groups(
                c.hydroxyl_count,
                c.ether_count,
                c.amine_count,
                c.amide_count,
            ),
        ),
        (
            Component::Permeability,
            permeability(
                f.rule_of_5_violations,
                f.veber_violations,
                f.estimated_log_papp,
            ),
        ),
    ];
    // The original's piecewise lines keep falling past their last knot (hydrogen bonding is
    // 1 − 0.05·(n − 12), so a large structure scored −8364); a component is a share, 0…1.
    let raw: Vec<(Component, f64)> = raw
        .into_iter()
        .map(|(k, s)| (k, s.clamp(0.0, 1.0)))
        .collect();
    let total: f64 = raw
        .iter()
        .zip(WEIGHTS.iter())
        .map(|((_, s), (_, w))| s * w)
        .sum();
    MoleculeScore {
        overall: round_half_even(100.0 * total) as i32,
        components: raw
            .iter()
            .map(|(k, s)| (*k, round_half_even(100.0 * s) as i32))
            .collect(),
        raw,
    }
}

/// One scored component of a mixture.
#[derive(Debug, Clone, Copy)]
pub struct ScoredComponent {
    /// The component molecule's overall score (0–100).
    pub score: f64,
    pub concentration: Concentration,
    pub props: CompoundProps,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixtureScore {
    /// 0–100, rounded half to even.
    pub overall: i32,
    /// Molar-share-weighted mean of the component scores, before the synergy bonus.
    pub weighted_mean: f64,
    pub synergy_bonus: f64,
    /// Each component's share of the mixture's molar amount, in input order.
    pub molar_shares: Vec<f64>,
}

/// Molar-share-weighted mean of component scores, plus min(5, 2n) for n ≥ 2, capped at 100.
pub fn mixture_score(components: &[ScoredComponent]) -> Result<MixtureScore, UnitError> {
    let shares = molar_shares(
        &components
            .iter()
            .map(|c| (c.concentration, c.props))
            .collect::<Vec<_>>(),
    )?;
    let weighted_mean: f64 = components
        .iter()
        .zip(&shares)
        .map(|(c, s)| c.score * s)
        .sum();
    let n = components.len();
    let synergy_bonus = if n >= 2 {
        (2.0 * n as f64).min(5.0)
    } else {
        0.0
    };
    let total = (weighted_mean + synergy_bonus).min(100.0);
    Ok(MixtureScore {
        overall: round_half_even(total) as i32,
        weighted_mean,
        synergy_bonus,
        molar_shares: shares,
    })
}

/// Application contexts of the unified score, with the original's weights and Tg windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Context {
    General,
    CellPreservation,
    OrganPreservation,
    LongTermStorage,
    SensitiveTissues,
}

pub struct ContextProfile {
    pub efficacy: f64,
    pub toxicity: f64,
    pub tg: f64,
    /// Optimal Tg window, °C.
    pub tg_range: (f64, f64),
}

impl Context {
    pub const ALL: [Context; 5] = [
        Self::General,
        Self::CellPreservation,
        Self::OrganPreservation,
        Self::LongTermStorage,
        Self::SensitiveTissues,
    ];

    /// The name the API uses (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::CellPreservation => "cell_preservation",
            Self::OrganPreservation => "organ_preservation",
            Self::LongTermStorage => "long_term_storage",
            Self::SensitiveTissues => "sensitive_tissues",
        }
    }

    pub fn profile(self) -> ContextProfile {
        let (efficacy, toxicity, tg, tg_range) = match self {
            Self::General => (0.40, 0.30, 0.30, (-120.0, -80.0)),
            Self::CellPreservation => (0.50, 0.25, 0.25, (-130.0, -100.0)),
            Self::OrganPreservation => (0.30, 0.40, 0.30, (-110.0, -90.0)),
            Self::LongTermStorage => (0.30, 0.20, 0.50, (-100.0, -70.0)),
            Self::SensitiveTissues => (0.30, 0.50, 0.20, (-120.0, -100.0)),
        };
        ContextProfile {
            efficacy,
            toxicity,
            tg,
            tg_range,
        }
    }
}

/// Tg score (0–100): a parabola inside the context's window (100 at its centre, 90 at its
/// edges), falling by 0.5 per °C outside it.
pub fn tg_score(tg_celsius: f64, context: Context) -> f64 {
    let (lo, hi) = context.profile().tg_range;
    if (lo..=hi).contains(&tg_celsius) {
        let pos = (tg_celsius - lo) / (hi - lo);
        90.0 + 10.0 * (1.0 - 4.0 * (pos - 0.5).powi(2))
    } else {
        let distance = if tg_celsius < lo {
            lo - tg_celsius
        } else {
            tg_celsius - hi
        };
        (90.0 - 0.5 * distance).max(0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnifiedScore {
    pub overall: i32,
    pub context: Context,
    /// Components that were missing; their weight was spread over the others.
    pub missing: Vec<&'static str>,
}

/// Context-weighted score of efficacy (the cryoprotection score), safety (100 − toxicity
/// risk) and the Tg score. Missing parts are reported, and the remaining weights renormalised.
pub fn unified_score(
    efficacy: Option<f64>,
    toxicity_risk: Option<f64>,
    tg_celsius: Option<f64>,
    context: Context,
) -> Option<UnifiedScore> {
    let p = context.profile();
    let parts = [
        ("efficacy", efficacy, p.efficacy),
        (
            "toxicity",
            toxicity_risk.map(|t| 100.0 - t.clamp(0.0, 100.0)),
            p.toxicity,
        ),
        ("tg", tg_celsius.map(|t| tg_score(t, context)), p.tg),
    ];
    let weight: f64 = parts
        .iter()
        .filter(|(_, v, _)| v.is_some())
        .map(|(_, _, w)| w)
        .sum();
    if weight == 0.0 {
        return None;
    }
    let total: f64 = parts
        .iter()
        .filter_map(|(_, v, w)| v.map(|v| v * w))
        .sum::<f64>()
        / weight;
    Some(UnifiedScore {
        overall: round_half_even(total) as i32,
        context,
        missing: parts
            .iter()
            .filter(|(_, v, _)| v.is_none())
            .map(|(n, _, _)| *n)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::ConcentrationUnit;

    #[test]
    fn component_names_are_their_serialised_names() {
        for (c, _) in WEIGHTS {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for c in Context::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    fn component(score: f64, fraction: f64) -> ScoredComponent {
        ScoredComponent {
            score,
            concentration: Concentration::new(fraction, ConcentrationUnit::MolFraction).unwrap(),
            props: CompoundProps {
                molar_mass: None,
                density: None,
            },
        }
    }

    #[test]
    fn glycerol_worked_example_components() {
        assert!((hydrogen_bonding(6.0) - 0.82).abs() < 1e-12);
        assert!((size(92.094) - 0.887906).abs() < 1e-9);
        assert!((tpsa(60.69) - 0.82414).abs() < 1e-9);
        assert!((functional_groups(3, 0, 0, 0) - 0.95).abs() < 1e-12);
        assert!((permeability(0, 0, -5.5741) - 0.811108).abs() < 1e-6);
    }

    #[test]
    fn the_originals_mixture_examples_read_as_molar_proportions() {
        // DMSO/EG 50:50 → (49 + 80)/2 + 4 = 68.5 → 68 (half to even).
        let s = mixture_score(&[component(49.0, 0.5), component(80.0, 0.5)]).unwrap();
        assert_eq!(
            (s.weighted_mean, s.synergy_bonus, s.overall),
            (64.5, 4.0, 68)
        );
        // PG/EG/DMSO 33.3/33.3/33.4 → 69.646 + min(5, 2·3) = 74.646 → 75. (The reference
        // text writes "70.65 + 4", which its own formula does not give; the result agrees.)
        let s = mixture_score(&[
            component(80.0, 0.333),
            component(80.0, 0.333),
            component(49.0, 0.334),
        ])
        .unwrap();
        assert!((s.weighted_mean - 69.646).abs() < 1e-9);
        assert_eq!(s.synergy_bonus, 5.0);
        assert_eq!(s.overall, 75);
    }

    #[test]
    fn single_components_get_no_bonus_and_scores_cap_at_100() {
        let s = mixture_score(&[component(87.0, 0.2)]).unwrap();
        assert_eq!((s.synergy_bonus, s.overall), (0.0, 87));
        let s = mixture_score(&[component(99.0, 0.2), component(99.0, 0.2)]).unwrap();
        assert_eq!(s.overall, 100);
    }

    #[test]
    fn tg_score_matches_the_reference_examples() {
        let got: Vec<i32> = [-137.0, -128.0, -100.0, -93.0, -80.0, 115.0]
            .iter()
            .map(|t| round_half_even(tg_score(*t, Context::General)) as i32)
            .collect();
        assert_eq!(got, vec![82, 86, 100, 99, 90, 0]);
    }

    #[test]
    fn unified_score_weights_by_context_and_reports_missing_parts() {
        let full = unified_score(Some(80.0), Some(20.0), Some(-100.0), Context::General).unwrap();
        // 0.4·80 + 0.3·80 + 0.3·100 = 86
        assert_eq!(full.overall, 86);
        assert!(full.missing.is_empty());
        let partial = unified_score(Some(80.0), None, Some(-100.0), Context::General).unwrap();
        // (0.4·80 + 0.3·100) / 0.7 = 88.57
        assert_eq!(partial.overall, 89);
        assert_eq!(partial.missing, vec!["toxicity"]);
        assert!(unified_score(None, None, None, Context::General).is_none());
    }
}

/// Glass transition temperatures (°C) of common cryoprotectants, as CryoProtect v2's mixture Tg
/// estimate tabulated them, keyed by a lower-case name fragment and the canonical SMILES of the
/// small ones. Used only when no Tg model is in production; every use is flagged.
pub const TG_REFERENCE_C: &[(&str, Option<&str>, f64)] = &[
    ("dmso", Some("CS(C)=O"), -137.0),
    ("dimethyl sulfoxide", None, -137.0),
    ("glycerol", Some("OCC(O)CO"), -93.0),
    ("ethylene glycol", Some("OCCO"), -128.0),
    ("propylene glycol", Some("CC(O)CO"), -108.0),
    ("1,2-propanediol", None, -108.0),
    ("trehalose", None, 115.0),
    ("sucrose", None, 65.0),
    ("methanol", Some("CO"), -175.0),
    ("formamide", Some("NC=O"), -113.0),
    ("acetamide", Some("CC(N)=O"), -73.0),
];

/// Where a component's Tg in [`tg_fallback_estimate`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TgSource {
    /// [`TG_REFERENCE_C`].
    ReferenceTable,
    /// −150 + 0.5·MW, the original's last resort.
    MolecularWeightRule,
    /// The constant the mixture's physical properties use (cited table, the molecule's own
    /// record or the original's table), combined by Gordon–Taylor over mass fractions.
    GordonTaylor,
}

/// A component's reference Tg (°C): the table by SMILES or name, else −150 + 0.5·MW; `None`
/// when neither is known.
pub fn component_tg(
    smiles: &str,
    name: Option<&str>,
    molecular_weight: Option<f64>,
) -> Option<(f64, TgSource)> {
    let name = name.map(str::to_lowercase);
    TG_REFERENCE_C
        .iter()
        .find(|(fragment, table_smiles, _)| {
            *table_smiles == Some(smiles) || name.as_deref().is_some_and(|n| n.contains(fragment))
        })
        .map(|(_, _, tg)| (*tg, TgSource::ReferenceTable))
        .or_else(|| molecular_weight.map(|mw| (-150.0 + 0.5 * mw, TgSource::MolecularWeightRule)))
}

/// A mixture's Tg estimate: the molar-share-weighted mean of its components' reference values.
pub fn tg_fallback_estimate(components: &[(f64, f64)]) -> Option<f64> {
    let total: f64 = components.iter().map(|(share, _)| share).sum();
    (total > 0.0).then(|| components.iter().map(|(s, tg)| s * tg).sum::<f64>() / total)
}

#[cfg(test)]
mod tg_fallback_tests {
    use super::*;

    #[test]
    fn table_then_name_then_molecular_weight() {
        assert_eq!(
            component_tg("OCC(O)CO", None, Some(92.09)),
            Some((-93.0, TgSource::ReferenceTable))
        );
        assert_eq!(
            component_tg("whatever", Some("D-(+)-Trehalose dihydrate"), None),
            Some((115.0, TgSource::ReferenceTable))
        );
        assert_eq!(
            component_tg("CCCCO", None, Some(74.12)),
            Some((-150.0 + 37.06, TgSource::MolecularWeightRule))
        );
        assert_eq!(component_tg("CCCCO", None, None), None);
    }

    #[test]
    fn mixture_estimate_weights_by_molar_share() {
        // DMSO/EG 1:1 by mole: (−137 − 128)/2.
        assert_eq!(
            tg_fallback_estimate(&[(0.5, -137.0), (0.5, -128.0)]),
            Some(-132.5)
        );
        assert_eq!(tg_fallback_estimate(&[]), None);
    }
}
