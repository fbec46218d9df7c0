//! The two-parameter membrane transport model (Kleinhans 1998, eqs. 7–8): water crosses the
//! membrane with hydraulic conductivity Lp down the osmolality difference, each permeating solute
//! with permeability Ps down its concentration difference, and the cell holds an osmotically
//! inactive volume Vb that never changes (Boyle–van't Hoff):
//!
//! dVw/dt = −Lp·A·R·T·(Mₑ − Mᵢ),  Mᵢ = (n_np + Σ nₛ) / Vw
//! dnₛ/dt = Pₛ·A·(Cₑ,ₛ − nₛ / Vw)
//! V = Vw + Vb + Σ nₛ·v̄ₛ
//!
//! with ideal-dilute osmolalities, a constant membrane area, and Lp and Pₛ following Arrhenius
//! from their values at a reference temperature. Amounts nₛ are kept as osmol/L × µm³, so nₛ/Vw
//! is a concentration in osmol/L and nₛ·v̄ₛ (v̄ in L/mol) a volume in µm³.

use crate::ode::{Tolerance, integrate};
use crate::{PhysicsError, invalid};
use serde::{Deserialize, Serialize};

/// Molar gas constant, J·mol⁻¹·K⁻¹ (CODATA 2018, exact since the 2019 SI).
pub const GAS_CONSTANT_J: f64 = 8.314_462_618;
/// The same in L·atm·mol⁻¹·K⁻¹ (8.314462618 J / 101.325 J per L·atm).
pub const GAS_CONSTANT_L_ATM: f64 = GAS_CONSTANT_J / 101.325;

/// A solute that crosses the membrane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permeant {
    pub name: String,
    /// Permeability at the cell's reference temperature, µm/min.
    pub ps_um_per_min: f64,
    /// Arrhenius activation energy of Ps, J/mol (0: no temperature dependence).
    pub ps_activation_j_per_mol: f64,
    /// Partial molar volume, L/mol; commonly approximated by the pure liquid's molar volume M/ρ
    /// at 20–25 °C: DMSO 78.13 / 1.100 = 0.0710, glycerol 92.09 / 1.261 = 0.0730, ethylene
    /// glycol 62.07 / 1.113 = 0.0558.
    pub partial_molar_volume_l_per_mol: f64,
}

/// A cell type's transport parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Volume in isotonic medium, µm³.
    pub isotonic_volume_um3: f64,
    /// Membrane area, µm² (held constant).
    pub area_um2: f64,
    /// Osmotically inactive share of the isotonic volume, Vb / V0 (0..1).
    pub inactive_fraction: f64,
    /// Hydraulic conductivity at the reference temperature, µm·min⁻¹·atm⁻¹.
    pub lp_um_per_min_atm: f64,
    /// Arrhenius activation energy of Lp, J/mol.
    pub lp_activation_j_per_mol: f64,
    /// Temperature at which Lp and Ps are given, K.
    pub reference_temperature_k: f64,
    /// Isotonic osmolality, osmol/kg (about 0.29–0.30 for mammalian cells).
    pub isotonic_osmolality: f64,
    pub permeants: Vec<Permeant>,
}

/// The solution outside the cell during a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Medium {
    /// Osmolality of everything that does not cross the membrane (salts, sucrose), osmol/kg.
    pub nonpermeating_osmolality: f64,
    /// Concentration of each of the cell's permeants, osmol/L, in `Cell::permeants` order.
    pub permeating: Vec<f64>,
}

/// One step of a protocol: a medium held for a time, at a temperature that may ramp linearly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub medium: Medium,
    pub duration_min: f64,
    pub start_temperature_k: f64,
    /// Reached linearly at the end of the step (absent: held at the start temperature).
    pub end_temperature_k: Option<f64>,
}

/// What a simulation gives: cell volume, water volume and intracellular permeant
/// concentrations at every accepted step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trajectory {
    pub t_min: Vec<f64>,
    pub volume_um3: Vec<f64>,
    pub water_um3: Vec<f64>,
    /// Per time point, osmol/L of each permeant.
    pub intracellular: Vec<Vec<f64>>,
    /// Smallest and largest V / V0 over the protocol.
    pub min_relative_volume: f64,
    pub max_relative_volume: f64,
    /// Steps the error control rejected (a stiff or abrupt step has some).
    pub rejected_steps: usize,
}

impl Trajectory {
    /// First time after which V stays within `tolerance` (relative) of its final value.
    pub fn equilibrated_after(&self, tolerance: f64) -> Option<f64> {
        let last = *self.volume_um3.last()?;
        let outside = self
            .volume_um3
            .iter()
            .rposition(|v| ((v - last) / last).abs() > tolerance);
        Some(match outside {
            None => self.t_min[0],
            Some(i) => self.t_min[(i + 1).min(self.t_min.len() - 1)],
        })
    }
}

fn arrhenius(at_reference: f64, activation: f64, reference_k: f64, t_k: f64) -> f64 {
    at_reference * (-activation / GAS_CONSTANT_J * (1.0 / t_k - 1.0 / reference_k)).exp()
}

impl Cell {
    fn check(&self) -> Result<(), PhysicsError> {
        let positive = |v: f64, field: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(invalid(
                    field,
                    format!("must be a positive number, got {v}"),
                ))
            }
        };
        positive(self.isotonic_volume_um3, "isotonic_volume_um3")?;
        positive(self.area_um2, "area_um2")?;
        positive(self.lp_um_per_min_atm, "lp_um_per_min_atm")?;
        positive(self.reference_temperature_k, "reference_temperature_k")?;
        positive(self.isotonic_osmolality, "isotonic_osmolality")?;
        if !(0.0..1.0).contains(&self.inactive_fraction) {
            return Err(invalid("inactive_fraction", "a fraction in 0..1"));
        }
        for (i, p) in self.permeants.iter().enumerate() {
            if !(p.ps_um_per_min.is_finite() && p.ps_um_per_min >= 0.0) {
                return Err(invalid(
                    format!("permeants[{i}].ps_um_per_min"),
                    "must be ≥ 0",
                ));
            }
            if !(p.partial_molar_volume_l_per_mol.is_finite()
                && p.partial_molar_volume_l_per_mol >= 0.0)
            {
                return Err(invalid(
                    format!("permeants[{i}].partial_molar_volume_l_per_mol"),
                    "must be ≥ 0",
                ));
            }
        }
        Ok(())
    }

    /// Water volume in isotonic medium, µm³.
    pub fn isotonic_water_um3(&self) -> f64 {
        self.isotonic_volume_um3 * (1.0 - self.inactive_fraction)
    }

    /// Amount of intracellular non-permeating solute (osmol/L × µm³), fixed for the cell's life.
    fn nonpermeating_amount(&self) -> f64 {
        self.isotonic_osmolality * self.isotonic_water_um3()
    }

    /// Cell volume of state `y` = [Vw, n₁, …], µm³.
    pub fn volume(&self, y: &[f64]) -> f64 {
        let vb = self.isotonic_volume_um3 * self.inactive_fraction;
        y[0] + vb
            + self
                .permeants
                .iter()
                .zip(&y[1..])
                .map(|(p, n)| n * p.partial_molar_volume_l_per_mol)
                .sum::<f64>()
    }

    /// The right-hand side at temperature `t_k` in `medium`; `None` outside the physical
    /// domain (no water left).
    pub fn rate(&self, medium: &Medium, t_k: f64, y: &[f64]) -> Option<Vec<f64>> {
        let water = y[0];
        if water.is_nan() || water <= 0.0 {
            return None;
        }
        let inside: f64 = (self.nonpermeating_amount() + y[1..].iter().sum::<f64>()) / water;
        let outside = medium.nonpermeating_osmolality + medium.permeating.iter().sum::<f64>();
        let lp = arrhenius(
            self.lp_um_per_min_atm,
            self.lp_activation_j_per_mol,
            self.reference_temperature_k,
            t_k,
        );
        let mut dy = Vec::with_capacity(y.len());
        dy.push(-lp * self.area_um2 * GAS_CONSTANT_L_ATM * t_k * (outside - inside));
        for ((p, n), c_out) in self.permeants.iter().zip(&y[1..]).zip(&medium.permeating) {
            let ps = arrhenius(
                p.ps_um_per_min,
                p.ps_activation_j_per_mol,
                self.reference_temperature_k,
                t_k,
            );
            dy.push(ps * self.area_um2 * (c_out - n / water));
        }
        Some(dy)
    }
}

/// Simulates `steps` in order, from the cell at isotonic equilibrium with no permeant inside.
pub fn simulate(cell: &Cell, steps: &[Step], tol: Tolerance) -> Result<Trajectory, PhysicsError> {
    cell.check()?;
    if steps.is_empty() {
        return Err(invalid("steps", "give at least one step"));
    }
    let k = cell.permeants.len();
    let mut y: Vec<f64> = std::iter::once(cell.isotonic_water_um3())
        .chain(std::iter::repeat_n(0.0, k))
        .collect();
    let mut t0 = 0.0;
    let mut out = Trajectory {
        t_min: vec![0.0],
        volume_um3: vec![cell.volume(&y)],
        water_um3: vec![y[0]],
        intracellular: vec![vec![0.0; k]],
        min_relative_volume: 1.0,
        max_relative_volume: 1.0,
        rejected_steps: 0,
    };
    for (i, step) in steps.iter().enumerate() {
        if step.medium.permeating.len() != k {
            return Err(invalid(
                format!("steps[{i}].medium.permeating"),
                format!(
                    "{} concentrations for {k} permeants",
                    step.medium.permeating.len()
                ),
            ));
        }
        if !(step.duration_min.is_finite() && step.duration_min > 0.0) {
            return Err(invalid(format!("steps[{i}].duration_min"), "must be > 0"));
        }
        let start = step.start_temperature_k;
        let end = step.end_temperature_k.unwrap_or(start);
        if !(start > 0.0 && end > 0.0) {
            return Err(invalid(
                format!("steps[{i}].start_temperature_k"),
                "must be > 0 K",
            ));
        }
        let duration = step.duration_min;
        let temperature = |t: f64| start + (end - start) * ((t - t0) / duration).clamp(0.0, 1.0);
        let f = |t: f64, y: &[f64]| cell.rate(&step.medium, temperature(t), y);
        let sol = integrate(&f, t0, t0 + duration, &y, tol)?;
        out.rejected_steps += sol.rejected;
        for (t, state) in sol.t.iter().zip(&sol.y).skip(1) {
            let v = cell.volume(state);
            out.t_min.push(*t);
            out.volume_um3.push(v);
            out.water_um3.push(state[0]);
            out.intracellular
                .push(state[1..].iter().map(|n| n / state[0]).collect());
            let relative = v / cell.isotonic_volume_um3;
            out.min_relative_volume = out.min_relative_volume.min(relative);
            out.max_relative_volume = out.max_relative_volume.max(relative);
        }
        y = sol.y.last().cloned().unwrap_or(y);
        t0 += duration;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generic mammalian cell at room temperature with DMSO as its permeant (round values in
    /// the range the literature reports; the checks below are exact physics, not fits).
    fn cell() -> Cell {
        Cell {
            isotonic_volume_um3: 2_000.0,
            area_um2: 800.0,
            inactive_fraction: 0.3,
            lp_um_per_min_atm: 0.2,
            lp_activation_j_per_mol: 50_000.0,
            reference_temperature_k: 295.15,
            isotonic_osmolality: 0.3,
            permeants: vec![Permeant {
                name: "DMSO".into(),
                ps_um_per_min: 0.5,
                ps_activation_j_per_mol: 60_000.0,
                partial_molar_volume_l_per_mol: 0.071,
            }],
        }
    }

    fn step(nonpermeating: f64, dmso: f64, minutes: f64) -> Step {
        Step {
            medium: Medium {
                nonpermeating_osmolality: nonpermeating,
                permeating: vec![dmso],
            },
            duration_min: minutes,
            start_temperature_k: 295.15,
            end_temperature_k: None,
        }
    }

    fn tight() -> Tolerance {
        Tolerance {
            rtol: 1e-9,
            atol: 1e-9,
        }
    }

    #[test]
    fn twice_isotonic_nonpermeating_settles_at_boyle_van_t_hoff() {
        let c = cell();
        let t = simulate(&c, &[step(0.6, 0.0, 60.0)], tight()).unwrap();
        let vb = c.isotonic_volume_um3 * c.inactive_fraction;
        let expected = vb + (c.isotonic_volume_um3 - vb) / 2.0;
        let last = *t.volume_um3.last().unwrap();
        assert!(
            (last - expected).abs() / expected < 1e-6,
            "{last} vs {expected}"
        );
        // Monotone shrinkage to it: never below the equilibrium.
        assert!((t.min_relative_volume - expected / c.isotonic_volume_um3).abs() < 1e-6);
    }

    #[test]
    fn a_permeating_cpa_shrinks_the_cell_then_it_returns_to_isotonic_water_plus_the_solute() {
        let c = cell();
        // The slow mode (solute in, water following) relaxes over ~20 min here: 600 min is
        // equilibrium to far below the tolerance.
        let t = simulate(&c, &[step(0.3, 1.4, 600.0)], tight()).unwrap();
        assert!(t.min_relative_volume < 0.85, "{}", t.min_relative_volume);
        let lowest = t
            .volume_um3
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert!(lowest > 0 && lowest < t.t_min.len() - 1);
        // At equilibrium water is isotonic again and holds 1.4 osmol/L of DMSO.
        let water = *t.water_um3.last().unwrap();
        assert!(
            (water - c.isotonic_water_um3()).abs() / water < 1e-6,
            "{water}"
        );
        let vb = c.isotonic_volume_um3 * c.inactive_fraction;
        let expected = c.isotonic_water_um3() + vb + 1.4 * c.isotonic_water_um3() * 0.071;
        let last = *t.volume_um3.last().unwrap();
        assert!(
            (last - expected).abs() / expected < 1e-6,
            "{last} vs {expected}"
        );
        assert!((t.intracellular.last().unwrap()[0] - 1.4).abs() < 1e-6);
        assert!(t.equilibrated_after(0.01).unwrap() < 200.0);
    }

    /// Classic fourth-order Runge–Kutta at a tiny fixed step: the reference the adaptive
    /// integrator is held to.
    fn rk4(c: &Cell, m: &Medium, t_k: f64, y0: &[f64], t1: f64, n: usize) -> Vec<f64> {
        let h = t1 / n as f64;
        let mut y = y0.to_vec();
        let add = |y: &[f64], k: &[f64], s: f64| -> Vec<f64> {
            y.iter().zip(k).map(|(a, b)| a + s * b).collect()
        };
        for _ in 0..n {
            let k1 = c.rate(m, t_k, &y).unwrap();
            let k2 = c.rate(m, t_k, &add(&y, &k1, h / 2.0)).unwrap();
            let k3 = c.rate(m, t_k, &add(&y, &k2, h / 2.0)).unwrap();
            let k4 = c.rate(m, t_k, &add(&y, &k3, h)).unwrap();
            for i in 0..y.len() {
                y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
        }
        y
    }

    #[test]
    fn the_adaptive_integrator_agrees_with_a_fine_runge_kutta_reference_to_1e_6() {
        let c = cell();
        let s = step(0.3, 1.4, 5.0);
        let t = simulate(&c, std::slice::from_ref(&s), tight()).unwrap();
        let y0 = [c.isotonic_water_um3(), 0.0];
        let reference = rk4(&c, &s.medium, 295.15, &y0, 5.0, 200_000);
        let water = *t.water_um3.last().unwrap();
        assert!(
            (water - reference[0]).abs() / reference[0] < 1e-6,
            "{water} vs {}",
            reference[0]
        );
        let inside = t.intracellular.last().unwrap()[0] * water;
        assert!((inside - reference[1]).abs() / reference[1] < 1e-6);
    }

    #[test]
    fn a_high_lp_cell_is_stiff_and_the_steps_adapt_to_it() {
        let mut c = cell();
        c.lp_um_per_min_atm = 200.0; // water equilibrates in milliseconds, DMSO in minutes
        let t = simulate(&c, &[step(0.3, 1.4, 600.0)], Tolerance::default()).unwrap();
        let steps: Vec<f64> = t.t_min.windows(2).map(|w| w[1] - w[0]).collect();
        let smallest = steps.iter().copied().fold(f64::INFINITY, f64::min);
        let largest = steps.iter().copied().fold(0.0, f64::max);
        assert!(largest / smallest > 1_000.0, "{smallest} … {largest}");
        assert!(t.t_min.len() < 5_000, "{} steps", t.t_min.len());
        let water = *t.water_um3.last().unwrap();
        assert!((water - c.isotonic_water_um3()).abs() / water < 1e-4);
    }

    #[test]
    fn cooling_slows_permeation_as_arrhenius_says() {
        let c = cell();
        let m = step(0.3, 1.4, 1.0).medium;
        let y0 = [c.isotonic_water_um3(), 0.0];
        let (warm, cold) = (295.15, 277.15);
        let (rw, rc) = (
            c.rate(&m, warm, &y0).unwrap(),
            c.rate(&m, cold, &y0).unwrap(),
        );
        // Solute influx scales by Ps's Arrhenius factor; water flux by Lp's and by T (R·T).
        let ps = (-60_000.0 / GAS_CONSTANT_J * (1.0 / cold - 1.0 / warm)).exp();
        let lp = (-50_000.0 / GAS_CONSTANT_J * (1.0 / cold - 1.0 / warm)).exp();
        assert!(
            (rc[1] / rw[1] - ps).abs() < 1e-12,
            "{} vs {ps}",
            rc[1] / rw[1]
        );
        assert!((rc[0] / rw[0] - lp * cold / warm).abs() < 1e-12);
        assert!(ps < 0.25 && ps > 0.15, "{ps}");
        // So the cold cell takes longer to load.
        let time = |k: f64| {
            let mut s = step(0.3, 1.4, 600.0);
            s.start_temperature_k = k;
            simulate(&c, &[s], tight())
                .unwrap()
                .equilibrated_after(0.01)
                .unwrap()
        };
        assert!(time(cold) > time(warm));
    }

    #[test]
    fn bad_parameters_are_refused_by_name() {
        let mut c = cell();
        c.inactive_fraction = 1.2;
        assert!(matches!(
            simulate(&c, &[step(0.3, 0.0, 1.0)], Tolerance::default()),
            Err(PhysicsError::Invalid { field, .. }) if field == "inactive_fraction"
        ));
        let c = cell();
        let mut s = step(0.3, 0.0, 1.0);
        s.medium.permeating.clear();
        assert!(matches!(
            simulate(&c, &[s], Tolerance::default()),
            Err(PhysicsError::Invalid { field, .. }) if field == "steps[0].medium.permeating"
        ));
    }
}
