use super::*;

fn solute(molar_mass: f64, density: f64) -> SoluteConstants {
    SoluteConstants {
        molar_mass: Some(molar_mass),
        density: Some(density),
        ..SoluteConstants::default()
    }
}

/// DMSO, EG and sucrose with the densities of the reference table and user-given Tg for the two
/// permeating CPAs (the table cites none for them).
fn cocktail() -> Vec<SoluteConstants> {
    vec![
        SoluteConstants {
            virial_b: Some(0.108),
            virial_c: Some(0.0),
            tg_k: Some(150.0),
            ..solute(78.13, 1.100)
        },
        SoluteConstants {
            tg_k: Some(155.0),
            ..solute(62.068, 1.113)
        },
        SoluteConstants {
            tg_k: Some(335.15),
            gordon_taylor_k: Some(4.7),
            ..solute(342.30, 1.587)
        },
    ]
}

fn molar(c: &[f64], constants: &[SoluteConstants]) -> Solution {
    let components: Vec<_> = c
        .iter()
        .zip(constants)
        .map(|(c, k)| (Amount::Molarity(*c), *k))
        .collect();
    solve(&components).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn a_dmso_eg_sucrose_cocktail_matches_the_hand_computation() {
    // 2 M DMSO + 2 M EG + 0.5 M sucrose. Solute volumes 2·78.13/1.100 + 2·62.068/1.113 +
    // 0.5·342.30/1.587 = 361.432 mL, so 638.568 mL of water = 0.636684 kg.
    let k = cocktail();
    let s = molar(&[2.0, 2.0, 0.5], &k);
    assert!(close(s.water_kg_per_l, 0.636_683_9, 1e-6), "{s:?}");
    assert!(close(s.components[0].molality, 3.141_276, 1e-6));
    assert!(close(s.components[2].molality, 0.785_319, 1e-6));
    assert!(close(s.components[0].mass_percent, 14.359_098, 1e-6));
    assert!(close(s.water_mass_percent, 58.506_378, 1e-6));
    assert!(close(s.density, 1.088_230, 1e-6));
    let m: Vec<f64> = s.components.iter().map(|a| a.molality).collect();
    let osm = osmolality(&m, &k);
    // Ideal: 3.141276 + 3.141276 + 0.785319.
    assert!(close(osm.ideal, 7.067_872, 1e-6), "{osm:?}");
    // Only DMSO has B (0.108): π = Σm + 0.108·m_DMSO·Σm.
    assert!(close(osm.virial.unwrap(), 9.465_702, 1e-6), "{osm:?}");
    assert_eq!(osm.assumed_ideal, vec![1, 2]);
    let w: Vec<f64> = s.components.iter().map(|a| a.mass_percent).collect();
    let tg = glass_transition(&w, s.water_mass_percent, &k).unwrap();
    // Σ wᵢkᵢTgᵢ/Σ wᵢkᵢ with k_DMSO = 138.15/150, k_EG = 138.15/155 (Fox), k_sucrose = 1/4.7.
    assert!(close(tg.tg_k, 149.731_279, 1e-6), "{tg:?}");
    assert!(close(tg.tg_celsius, -123.418_721, 1e-6));
    assert_eq!(
        tg.k_sources,
        vec![KSource::Fox, KSource::Fox, KSource::GordonTaylor]
    );
    assert_eq!(tg.method, "mixed");
}

#[test]
fn every_basis_round_trips_to_the_same_solution() {
    let k = cocktail();
    let reference = molar(&[2.0, 2.0, 0.5], &k);
    type Basis = fn(&Amounts) -> Amount;
    let bases: [Basis; 5] = [
        |a| Amount::Molarity(a.molarity),
        |a| Amount::Molality(a.molality),
        |a| Amount::MassFraction(a.mass_percent / 100.0),
        |a| Amount::VolumeFraction(a.volume_percent / 100.0),
        |a| Amount::MoleFraction(a.mole_fraction),
    ];
    // Every basis alone, and every mix of one basis per component.
    for b0 in bases {
        for b1 in bases {
            for b2 in bases {
                let chosen = [b0, b1, b2];
                let components: Vec<_> = reference
                    .components
                    .iter()
                    .zip(&chosen)
                    .zip(&k)
                    .map(|((a, basis), c)| (basis(a), *c))
                    .collect();
                let again = solve(&components).unwrap();
                for (x, y) in again.components.iter().zip(&reference.components) {
                    assert!(close(x.molarity, y.molarity, 1e-9), "{components:?}");
                    assert!(close(x.molality, y.molality, 1e-9));
                    assert!(close(x.mass_percent, y.mass_percent, 1e-9));
                    assert!(close(x.volume_percent, y.volume_percent, 1e-9));
                    assert!(close(x.mole_fraction, y.mole_fraction, 1e-9));
                }
                assert!(close(again.density, reference.density, 1e-9));
            }
        }
    }
}

#[test]
fn a_binary_follows_the_two_component_formulas() {
    // Sucrose 40 % w/w: Roos' binary form (w_s·Tg_s + k·w_w·Tg_w)/(w_s + k·w_w).
    let sucrose = cocktail()[2];
    let s = solve(&[(Amount::MassFraction(0.40), sucrose)]).unwrap();
    assert!(close(s.components[0].mass_percent, 40.0, 1e-12));
    let tg = glass_transition(&[40.0], s.water_mass_percent, &[sucrose]).unwrap();
    let expected = (0.4 * 335.15 + 4.7 * 0.6 * WATER_TG_K) / (0.4 + 4.7 * 0.6);
    assert!(close(tg.tg_k, expected, 1e-12), "{tg:?} vs {expected}");
    assert_eq!(tg.method, "gordon_taylor");
    // Without k, Fox: 1/Tg = w_s/Tg_s + w_w/Tg_w.
    let no_k = SoluteConstants {
        gordon_taylor_k: None,
        ..sucrose
    };
    let fox = glass_transition(&[40.0], s.water_mass_percent, &[no_k]).unwrap();
    assert!(close(
        fox.tg_k,
        1.0 / (0.4 / 335.15 + 0.6 / WATER_TG_K),
        1e-12
    ));
    assert_eq!(fox.method, "fox");
    // Single-solute virial: m + B·m².
    let dmso = cocktail()[0];
    let osm = osmolality(&[2.0], &[dmso]);
    assert!(close(osm.virial.unwrap(), 2.0 + 0.108 * 4.0, 1e-12));
    // Molality from its definition: mol over kg of water.
    let s = solve(&[(Amount::Molality(1.5), dmso)]).unwrap();
    assert!(close(
        s.components[0].molarity / s.water_kg_per_l,
        1.5,
        1e-12
    ));
}

#[test]
fn impossible_or_underspecified_compositions_are_refused() {
    let dmso = cocktail()[0];
    // 78.13/1.1 = 71 mL/mol: 15 M DMSO is more than a litre of DMSO.
    assert_eq!(
        solve(&[(Amount::Molarity(15.0), dmso)]).unwrap_err(),
        SolutionError::NoWater
    );
    assert_eq!(
        solve(&[
            (Amount::MassFraction(0.6), dmso),
            (Amount::MassFraction(0.5), dmso)
        ])
        .unwrap_err(),
        SolutionError::NoWater
    );
    assert_eq!(
        solve(&[(Amount::MoleFraction(1.0), dmso)]).unwrap_err(),
        SolutionError::FractionAboveOne {
            index: 0,
            value: 1.0
        }
    );
    let no_density = SoluteConstants {
        density: None,
        ..dmso
    };
    assert_eq!(
        solve(&[
            (Amount::Molarity(1.0), dmso),
            (Amount::Molarity(1.0), no_density)
        ])
        .unwrap_err(),
        SolutionError::NeedsVolume { index: 1 }
    );
    // A partial molar volume is enough.
    let with_volume = SoluteConstants {
        partial_molar_volume: Some(70.0),
        ..no_density
    };
    assert!(solve(&[(Amount::Molarity(1.0), with_volume)]).is_ok());
    assert!(matches!(
        solve(&[(Amount::Molarity(f64::NAN), dmso)]),
        Err(SolutionError::BadAmount { index: 0, .. })
    ));
    assert!(matches!(
        glass_transition(&[10.0], 90.0, &[SoluteConstants::default()]),
        Err(TgError::NeedsTg { index: 0 })
    ));
}

#[test]
fn stored_units_become_the_amounts_they_mean() {
    use crate::units::{Concentration, ConcentrationUnit as U};
    let dmso = cocktail()[0];
    let mw = dmso.molar_mass;
    // 1 M = 1000 mM = 78.13 mg/mL = 7.813 % w/v; 10 % v/v of DMSO is 100 mL of it per litre.
    for (value, unit) in [
        (1.0, U::Molar),
        (1000.0, U::MilliMolar),
        (78.13, U::MgPerMl),
        (7.813, U::PercentWv),
    ] {
        let a = Amount::from_concentration(Concentration::new(value, unit).unwrap(), mw).unwrap();
        assert!(close(a.value(), 1.0, 1e-12), "{unit}: {a:?}");
    }
    let a =
        Amount::from_concentration(Concentration::new(10.0, U::PercentVv).unwrap(), mw).unwrap();
    let s = solve(&[(a, dmso)]).unwrap();
    assert!(close(
        s.components[0].molarity,
        100.0 * 1.100 / 78.13,
        1e-12
    ));
    assert_eq!(
        Amount::from_concentration(Concentration::new(5.0, U::PercentWv).unwrap(), None),
        None
    );
}

#[test]
fn the_originals_property_models_by_hand() {
    // Two components, shares 0.25/0.75, values 100/200, dissimilarity 0.6.
    let shares = [0.25, 0.75];
    let values = [Some(100.0), Some(200.0)];
    let d = vec![vec![0.0, 0.6], vec![0.6, 0.0]];
    let base = 0.25 * 100.0 + 0.75 * 200.0; // 175
    let cases = [
        (PropertyModel::WeightedAverage, base),
        (PropertyModel::Quadratic, base * (1.0 + 0.2 * 0.6 * 0.1875)),
        (
            PropertyModel::Exponential,
            base * (1.0 + 0.2 * 0.6 * (0.1875f64.exp() - 1.0)),
        ),
        (
            PropertyModel::Logarithmic,
            base * (1.0 + 0.2 * 0.6 * (1.0 + 1.875f64).ln()),
        ),
    ];
    for (model, expected) in cases {
        let got = mixture_property(model, &shares, &values, &d).unwrap();
        assert!(
            (got - expected).abs() < 1e-12,
            "{model:?}: {got} vs {expected}"
        );
    }
    // 175 × (1 + 0.2·0.6·0.1875) = 178.9375, written out.
    assert!(
        (mixture_property(PropertyModel::Quadratic, &shares, &values, &d).unwrap() - 178.9375)
            .abs()
            < 1e-12
    );
    // A component without a value leaves the average but still interacts.
    let partial = mixture_property(
        PropertyModel::WeightedAverage,
        &shares,
        &[None, Some(200.0)],
        &d,
    );
    assert_eq!(partial, Some(200.0));
    assert_eq!(
        mixture_property(PropertyModel::Quadratic, &shares, &[None, None], &d),
        None
    );
}
