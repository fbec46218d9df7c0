//! A mixture's physical properties (amounts on every basis, osmolality, glass transition) from
//! its components and the constants each needs, with where each constant came from. The
//! formulas are `cryo_core::solution`'s; this module only decides which constants apply:
//! the caller's override, else the molecule's own record (its molar mass and density), else the
//! cited reference table (by InChIKey), else, for Tg only, the original's uncited table.

use crate::mixtures::visible;
use crate::{Actor, AppError, AppResult};
use cryo_core::solution::{
    self, Amount, Amounts, GlassTransition, Osmolality, PropertyModel, SoluteConstants,
    SolutionError,
};
use cryo_core::units::Concentration;
use cryo_db::repo::science::{self as repo, ComponentRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user's value for some of a component's constants (those not given are looked up).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConstantsOverride {
    pub molecule_id: Uuid,
    /// g/mol.
    pub molar_mass: Option<f64>,
    /// g/mL.
    pub density: Option<f64>,
    /// mL/mol.
    pub partial_molar_volume: Option<f64>,
    pub ideal_dissociation: Option<f64>,
    pub virial_dissociation: Option<f64>,
    /// kg/mol.
    pub virial_b: Option<f64>,
    /// (kg/mol)².
    pub virial_c: Option<f64>,
    /// °C.
    pub tg_celsius: Option<f64>,
    /// Gordon–Taylor k of the binary with water (food-science convention).
    pub gordon_taylor_k: Option<f64>,
}

impl ConstantsOverride {
    /// The override as constants, each checked: positive where physics requires it, finite.
    fn parse(&self, index: usize) -> AppResult<SoluteConstants> {
        let field = |name: &str| format!("overrides[{index}].{name}");
        let positive = |name: &str, v: Option<f64>| positive(&field(name), v);
        let finite = |name: &str, v: Option<f64>| -> AppResult<Option<f64>> {
            match v {
                Some(x) if !x.is_finite() || x.abs() > 100.0 => Err(AppError::validation(
                    field(name),
                    "must be a finite number within ±100",
                )),
                _ => Ok(v),
            }
        };
        let tg_k = match self.tg_celsius {
            Some(t) if !(t.is_finite() && t > -273.0 && t < 500.0) => {
                return Err(AppError::validation(
                    field("tg_celsius"),
                    "must be between −273 and 500 °C",
                ));
            }
            t => t.map(|t| t + solution::KELVIN_AT_0C),
        };
        Ok(SoluteConstants {
            molar_mass: positive("molar_mass", self.molar_mass)?,
            density: positive("density", self.density)?,
            partial_molar_volume: positive("partial_molar_volume", self.partial_molar_volume)?,
            ideal_dissociation: positive("ideal_dissociation", self.ideal_dissociation)?,
            virial_dissociation: positive("virial_dissociation", self.virial_dissociation)?,
            virial_b: finite("virial_b", self.virial_b)?,
            virial_c: finite("virial_c", self.virial_c)?,
            tg_k,
            gordon_taylor_k: positive("gordon_taylor_k", self.gordon_taylor_k)?,
        })
    }
}

/// `v`, refused (naming `field`) unless it is absent or a finite number above 0.
pub fn positive(field: &str, v: Option<f64>) -> AppResult<Option<f64>> {
    match v {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(AppError::validation(
            field,
            "must be a finite number above 0",
        )),
        _ => Ok(v),
    }
}

/// Most overrides one request may carry.
pub const MAX_OVERRIDES: usize = 64;

/// Checked overrides by molecule.
pub fn parse_overrides(overrides: &[ConstantsOverride]) -> AppResult<Vec<(Uuid, SoluteConstants)>> {
    if overrides.len() > MAX_OVERRIDES {
        return Err(AppError::validation(
            "overrides",
            format!("at most {MAX_OVERRIDES}"),
        ));
    }
    overrides
        .iter()
        .enumerate()
        .map(|(i, o)| Ok((o.molecule_id, o.parse(i)?)))
        .collect()
}

/// One component's amounts and the constants they were computed with.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentPhysics {
    pub molecule_id: Uuid,
    pub name: Option<String>,
    pub amounts: Amounts,
    pub constants: SoluteConstants,
    /// Where each constant came from ("density: molecule record", …).
    pub sources: Vec<String>,
}

/// The solution's water.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaterView {
    pub kg_per_l: f64,
    pub mass_percent: f64,
    pub mole_fraction: f64,
}

/// How a quantity was computed, shown next to it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Method {
    pub quantity: &'static str,
    pub formula: &'static str,
    pub source: &'static str,
    pub assumptions: &'static str,
}

/// The formulas behind [`MixturePhysics`] (as documented in `cryo_core::solution`).
pub const METHODS: &[Method] = &[
    Method {
        quantity: "amounts",
        formula: "one linear system: each component's amount on its basis, and Σ nᵢ·v̄ᵢ + n_w·v̄_w = 1 L",
        source: "definitions; water 18.015 g/mol, 0.99705 g/mL at 25 °C (CRC Handbook)",
        assumptions: "ideal volume additivity: v̄ = M/ρ of the pure compound unless a partial molar volume is given",
    },
    Method {
        quantity: "osmolality (ideal)",
        formula: "π = Σ νᵢ·mᵢ (osmol/kg water)",
        source: "van 't Hoff dilute limit",
        assumptions: "dilute, ideal solution; ν = 1 for non-electrolytes",
    },
    Method {
        quantity: "osmolality (virial)",
        formula: "π = Σ kᵢmᵢ + ΣΣ (Bᵢ+Bⱼ)/2·kᵢmᵢ·kⱼmⱼ + ΣΣΣ (CᵢCⱼCₖ)^⅓·kᵢmᵢ·kⱼmⱼ·kₖmₖ",
        source: "Elliott, Prickett & McGann, J Phys Chem B 111:1775 (2007); coefficients: Prickett et al., Cryobiology 60:30 (2010)",
        assumptions: "solutes without coefficients enter as ideal (listed)",
    },
    Method {
        quantity: "glass transition",
        formula: "Tg = Σ wᵢ·kᵢ·Tgᵢ / Σ wᵢ·kᵢ over mass fractions with water (k_w = 1); kᵢ = 1/k_GT, or Tg_w/Tgᵢ (Fox) when k_GT is unknown",
        source: "Gordon & Taylor, J Appl Chem 2:493 (1952); Fox, Bull Am Phys Soc 1:123 (1956); sugar constants: Roos, Carbohydr Res 238:39 (1993)",
        assumptions: "a homogeneous amorphous phase (no ice): the vitrified solution's Tg",
    },
];

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MixturePhysics {
    /// The composition version these are for.
    pub version: Option<i64>,
    pub components: Vec<ComponentPhysics>,
    pub water: WaterView,
    /// g/mL.
    pub density: f64,
    /// mol/L.
    pub total_molarity: f64,
    pub osmolality: Osmolality,
    pub glass_transition: Option<GlassTransition>,
    /// Why there is no Tg (a component without one).
    pub glass_transition_error: Option<String>,
    pub methods: &'static [Method],
}

/// Constants of one component and where they came from.
/// Checked overrides by molecule.
pub type Overrides = [(Uuid, SoluteConstants)];

/// The constants of `c`, with the caller's override of it when `overrides` has one, and where
/// each came from.
pub fn constants_of(c: &ComponentRow, overrides: &Overrides) -> (SoluteConstants, Vec<String>) {
    let user = overrides
        .iter()
        .find(|(id, _)| *id == c.molecule_id)
        .map(|(_, k)| k);
    let record = SoluteConstants {
        molar_mass: c.molecular_weight,
        density: c.density_g_per_ml,
        ..SoluteConstants::default()
    };
    let reference = c.inchikey.as_deref().and_then(solution::reference_solute);
    let original_tg = cryo_core::score::TG_REFERENCE_C
        .iter()
        .find(|(_, smiles, _)| *smiles == Some(c.canonical_smiles.as_str()))
        .map(|(_, _, tg)| SoluteConstants {
            tg_k: Some(tg + solution::KELVIN_AT_0C),
            ..SoluteConstants::default()
        });
    let layers: [(&str, Option<SoluteConstants>); 4] = [
        ("your override", user.copied()),
        ("molecule record", Some(record)),
        (
            reference.map_or("reference", |r| r.sources),
            reference.map(|r| r.constants),
        ),
        ("the original's table (uncited)", original_tg),
    ];
    let mut merged = SoluteConstants::default();
    let mut sources = Vec::new();
    for (label, layer) in layers {
        let Some(layer) = layer else { continue };
        let before = merged;
        merged = merged.or(layer);
        let filled: Vec<&str> = [
            ("molar mass", before.molar_mass, merged.molar_mass),
            ("density", before.density, merged.density),
            (
                "partial molar volume",
                before.partial_molar_volume,
                merged.partial_molar_volume,
            ),
            (
                "dissociation",
                before.ideal_dissociation,
                merged.ideal_dissociation,
            ),
            ("virial B", before.virial_b, merged.virial_b),
            ("virial C", before.virial_c, merged.virial_c),
            ("Tg", before.tg_k, merged.tg_k),
            (
                "Gordon–Taylor k",
                before.gordon_taylor_k,
                merged.gordon_taylor_k,
            ),
        ]
        .into_iter()
        .filter(|(_, was, now)| was.is_none() && now.is_some())
        .map(|(name, _, _)| name)
        .collect();
        if !filled.is_empty() {
            sources.push(format!("{}: {label}", filled.join(", ")));
        }
    }
    (merged, sources)
}

/// The amounts of `components` in the solution model, with their constants, or the component
/// at fault (as a validation error naming it).
pub fn solve(
    components: &[ComponentRow],
    constants: &[SoluteConstants],
    amounts: &[f64],
) -> Result<solution::Solution, (usize, String)> {
    let parts = components
        .iter()
        .zip(constants)
        .zip(amounts)
        .enumerate()
        .map(|(i, ((c, k), value))| {
            let concentration =
                Concentration::new(*value, c.concentration_unit).map_err(|e| (i, e.to_string()))?;
            let amount = Amount::from_concentration(concentration, k.molar_mass)
                .ok_or((i, "the molar mass is unknown".to_string()))?;
            Ok((amount, *k))
        })
        .collect::<Result<Vec<_>, (usize, String)>>()?;
    solution::solve(&parts).map_err(|e| match e {
        SolutionError::NeedsMolarMass { index }
        | SolutionError::NeedsVolume { index }
        | SolutionError::BadAmount { index, .. }
        | SolutionError::FractionAboveOne { index, .. } => (index, e.to_string()),
        SolutionError::Empty | SolutionError::NoWater => (usize::MAX, e.to_string()),
    })
}

/// A validation error for a component that stops the arithmetic.
pub fn component_error(components: &[ComponentRow], (index, message): (usize, String)) -> AppError {
    match components.get(index) {
        Some(c) => AppError::validation(
            format!("components[{index}]"),
            format!(
                "{} ({}): {message}; give its density (PATCH the molecule) or an override",
                c.molecule_name.as_deref().unwrap_or("unnamed"),
                c.canonical_smiles
            ),
        ),
        None => AppError::validation("components", message),
    }
}

/// Every property of `components`, with `overrides` applied.
pub fn physics(
    components: &[ComponentRow],
    overrides: &[(Uuid, SoluteConstants)],
    version: Option<i64>,
) -> AppResult<MixturePhysics> {
    let (constants, sources): (Vec<SoluteConstants>, Vec<Vec<String>>) = components
        .iter()
        .map(|c| constants_of(c, overrides))
        .unzip();
    let amounts: Vec<f64> = components.iter().map(|c| c.concentration).collect();
    let solved = solve(components, &constants, &amounts)
        .map_err(|fault| component_error(components, fault))?;
    let molalities: Vec<f64> = solved.components.iter().map(|a| a.molality).collect();
    let mass: Vec<f64> = solved.components.iter().map(|a| a.mass_percent).collect();
    let (glass_transition, glass_transition_error) =
        match solution::glass_transition(&mass, solved.water_mass_percent, &constants) {
            Ok(tg) => (Some(tg), None),
            Err(solution::TgError::NeedsTg { index }) => (
                None,
                Some(format!(
                    "{}: its glass transition is unknown; give tg_celsius in an override",
                    components[index]
                        .molecule_name
                        .as_deref()
                        .unwrap_or(&components[index].canonical_smiles)
                )),
            ),
        };
    Ok(MixturePhysics {
        version,
        components: components
            .iter()
            .zip(&solved.components)
            .zip(constants.iter().zip(sources))
            .map(|((c, amounts), (k, sources))| ComponentPhysics {
                molecule_id: c.molecule_id,
                name: c.molecule_name.clone(),
                amounts: *amounts,
                constants: *k,
                sources,
            })
            .collect(),
        water: WaterView {
            kg_per_l: solved.water_kg_per_l,
            mass_percent: solved.water_mass_percent,
            mole_fraction: solved.water_mole_fraction,
        },
        density: solved.density,
        total_molarity: solved.total_molarity,
        osmolality: solution::osmolality(&molalities, &constants),
        glass_transition,
        glass_transition_error,
        methods: METHODS,
    })
}

/// The physical properties of a visible mixture's current composition (or `version`).
pub async fn properties(
    actor: &Actor<'_>,
    id: Uuid,
    version: Option<i64>,
    overrides: &[ConstantsOverride],
) -> AppResult<MixturePhysics> {
    let overrides = parse_overrides(overrides)?;
    let (components, number) = actor
        .run(async |tx| {
            let mixture = visible(tx, id).await?;
            let number = version.unwrap_or(mixture.version);
            let components = match version {
                Some(v) => repo::version_components(tx, id, v).await?,
                None => repo::components(tx, id).await?,
            };
            if components.is_empty() {
                return Err(AppError::NotFound {
                    what: "mixture version",
                });
            }
            Ok((components, number))
        })
        .await?;
    physics(&components, &overrides, Some(number))
}

/// A mixture's value of a stored molecular property under one of the original's models.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PropertyModelView {
    pub property: String,
    pub units: Option<String>,
    pub model: PropertyModel,
    /// `None` when no component has a stored value of the property.
    pub value: Option<f64>,
    pub components: Vec<ComponentValue>,
    /// 1 − Morgan Tanimoto of each pair (a square matrix in component order).
    pub dissimilarity: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentValue {
    pub molecule_id: Uuid,
    pub name: Option<String>,
    pub molar_share: f64,
    /// The latest stored numeric value of the property for this molecule.
    pub value: Option<f64>,
}

/// The original's property models over a visible mixture's current composition.
pub async fn property_model(
    actor: &Actor<'_>,
    id: Uuid,
    property: &str,
    model: PropertyModel,
) -> AppResult<PropertyModelView> {
    let (components, stored) = actor
        .run(async |tx| {
            visible(tx, id).await?;
            let components = repo::components(tx, id).await?;
            let mut stored = Vec::with_capacity(components.len());
            for c in &components {
                stored.push(repo::molecule_properties(tx, c.molecule_id).await?);
            }
            AppResult::Ok((components, stored))
        })
        .await?;
    let units = stored
        .iter()
        .flatten()
        .find(|p| p.property == property)
        .and_then(|p| p.units.clone());
    if units.is_none() && !stored.iter().flatten().any(|p| p.property == property) {
        return Err(AppError::validation(
            "property",
            format!("no component has a stored value of {property:?}"),
        ));
    }
    let values: Vec<Option<f64>> = stored
        .iter()
        .map(|props| {
            props
                .iter()
                .filter(|p| p.property == property)
                .max_by_key(|p| p.updated_at)
                .and_then(|p| p.numeric_value)
        })
        .collect();
    let shares = crate::composition::shares(&components)
        .map_err(|e| AppError::validation("components", e.to_string()))?;
    let smiles: Vec<String> = components
        .iter()
        .map(|c| c.canonical_smiles.clone())
        .collect();
    let dissimilarity = actor
        .compute(move |_| {
            let fps = smiles
                .iter()
                .map(|s| Ok(cryo_chem::Molecule::from_smiles(s)?.fingerprint()?))
                .collect::<AppResult<Vec<_>>>()?;
            Ok(fps
                .iter()
                .map(|a| fps.iter().map(|b| 1.0 - a.tanimoto(b)).collect())
                .collect::<Vec<Vec<f64>>>())
        })
        .await?;
    Ok(PropertyModelView {
        property: property.to_string(),
        units,
        model,
        value: solution::mixture_property(model, &shares, &values, &dissimilarity),
        components: components
            .iter()
            .zip(&shares)
            .zip(&values)
            .map(|((c, s), v)| ComponentValue {
                molecule_id: c.molecule_id,
                name: c.molecule_name.clone(),
                molar_share: *s,
                value: *v,
            })
            .collect(),
        dissimilarity,
    })
}

#[cfg(test)]
mod tests {
    use cryo_chem::Molecule;
    use cryo_core::solution::REFERENCE_SOLUTES;

    /// Every cited entry is found by the InChIKey RDKit gives its structure (a wrong key would
    /// silently never match).
    #[test]
    fn reference_solutes_are_keyed_by_the_inchikey_of_their_structure() {
        let structures = [
            ("dimethyl sulfoxide", "CS(=O)C"),
            ("glycerol", "C(C(CO)O)O"),
            ("propylene glycol", "CC(CO)O"),
            (
                "sucrose",
                "C([C@@H]1[C@H]([C@@H]([C@H]([C@H](O1)O[C@]2([C@H]([C@@H]([C@H](O2)CO)O)O)CO)O)O)O)O",
            ),
            (
                "trehalose",
                "C([C@@H]1[C@H]([C@@H]([C@H]([C@H](O1)O[C@@H]2[C@@H]([C@H]([C@@H]([C@H](O2)CO)O)O)O)O)O)O)O",
            ),
            ("sodium chloride", "[Na+].[Cl-]"),
        ];
        assert_eq!(structures.len(), REFERENCE_SOLUTES.len());
        for r in REFERENCE_SOLUTES {
            let (_, smiles) = structures
                .iter()
                .find(|(n, _)| *n == r.name)
                .unwrap_or_else(|| panic!("no structure for {}", r.name));
            let ids = Molecule::from_smiles(smiles)
                .unwrap()
                .identifiers()
                .unwrap();
            let key = ids.map(|i| i.inchikey).unwrap_or_default();
            assert_eq!(key, r.inchikey, "{}", r.name);
        }
    }
}
