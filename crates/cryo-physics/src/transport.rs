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

use crate::ode::{Tolerance, integrate, integrate_until};
use crate::toxicity::Toxicity;
use crate::{PhysicsError, invalid};
use cryo_core::deadline::Deadline;
use serde::{Deserialize, Serialize};

/// Molar gas constant, J·mol⁻¹·K⁻¹ (CODATA 2018, exact since the 2019 SI).
pub const GAS_CONSTANT_J: f64 = 8.314_462_618;
/// The same in L·atm·mol⁻¹·K⁻¹ (8.314462618 J / 101.325 J per L·atm).
pub const GAS_CONSTANT_L_ATM: f64 = GAS_CONSTANT_J / 101.325;

/// A solute that crosses the membrane.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Medium {
    /// Osmolality of everything that does not cross the membrane (salts, sucrose), osmol/kg.
    pub nonpermeating_osmolality: f64,
    /// Concentration of each of the cell's permeants, osmol/L, in `Cell::permeants` order.
    pub permeating: Vec<f64>,
}

/// One step of a protocol: a medium held for a time, at a temperature that may ramp linearly.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The toxicity cost accumulated up to each time point (empty when none was asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub toxicity_cost: Vec<f64>,
    /// Index into the time points of the last point of each step.
    pub step_ends: Vec<usize>,
    /// Whether the run's endpoint was reached (false when none was asked for).
    pub reached_endpoint: bool,
}

impl Trajectory {
    /// The toxicity cost of the whole trajectory (0 when none was integrated).
    pub fn total_cost(&self) -> f64 {
        self.toxicity_cost.last().copied().unwrap_or(0.0)
    }

    /// Smallest and largest V / V0 during step `i`, its starting point included.
    pub fn step_extremes(&self, i: usize, isotonic_volume_um3: f64) -> (f64, f64) {
        let from = if i == 0 { 0 } else { self.step_ends[i - 1] };
        self.volume_um3[from..=self.step_ends[i]].iter().fold(
            (f64::INFINITY, f64::NEG_INFINITY),
            |(lo, hi), v| {
                let r = v / isotonic_volume_um3;
                (lo.min(r), hi.max(r))
            },
        )
    }

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
        // Ranges far wider than any cell (a mammalian oocyte is ~3·10⁶ µm³), narrow enough
        // that no product of them overflows.
        let within = |v: f64, field: &str, min: f64, max: f64| {
            // `min` 0 admits zero (a permeant that does not cross); any other is exclusive.
            let above = if min == 0.0 { v >= 0.0 } else { v > min };
            if v.is_finite() && above && v <= max {
                Ok(())
            } else {
                Err(invalid(
                    field,
                    format!("must be a number in ({min}, {max}], got {v}"),
                ))
            }
        };
        within(self.isotonic_volume_um3, "isotonic_volume_um3", 0.0, 1e12)?;
        within(self.area_um2, "area_um2", 0.0, 1e10)?;
        within(self.lp_um_per_min_atm, "lp_um_per_min_atm", 0.0, 1e4)?;
        within(
            self.reference_temperature_k,
            "reference_temperature_k",
            1.0,
            1000.0,
        )?;
        within(self.isotonic_osmolality, "isotonic_osmolality", 0.0, 100.0)?;
        if !(self.lp_activation_j_per_mol.is_finite() && self.lp_activation_j_per_mol.abs() <= 1e6)
        {
            return Err(invalid(
                "lp_activation_j_per_mol",
                "must be within ±1e6 J/mol",
            ));
        }
        if self.permeants.len() > MAX_PERMEANTS {
            return Err(invalid("permeants", format!("at most {MAX_PERMEANTS}")));
        }
        if !(0.0..1.0).contains(&self.inactive_fraction) {
            return Err(invalid("inactive_fraction", "a fraction in 0..1"));
        }
        for (i, p) in self.permeants.iter().enumerate() {
            within(
                p.ps_um_per_min,
                &format!("permeants[{i}].ps_um_per_min"),
                0.0,
                1e4,
            )?;
            within(
                p.partial_molar_volume_l_per_mol,
                &format!("permeants[{i}].partial_molar_volume_l_per_mol"),
                0.0,
                10.0,
            )?;
            if !(p.ps_activation_j_per_mol.is_finite() && p.ps_activation_j_per_mol.abs() <= 1e6) {
                return Err(invalid(
                    format!("permeants[{i}].ps_activation_j_per_mol"),
                    "must be within ±1e6 J/mol",
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

/// Most steps one protocol may have, and most permeants one cell: far beyond any bench
/// protocol, small enough that one request stays cheap.
pub const MAX_STEPS: usize = 200;
pub const MAX_PERMEANTS: usize = 10;

/// A protocol to simulate, as a file or an API body gives it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    pub cell: Cell,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub start: Start,
}

/// Where a simulation starts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// At isotonic equilibrium with no permeant inside (before loading).
    #[default]
    Isotonic,
    /// At equilibrium in isotonic carrier holding these permeant concentrations, osmol/L in
    /// `Cell::permeants` order (a loaded cell, before removal). Water is then at its isotonic
    /// volume: the carrier balances the impermeant solutes inside, the permeants balance.
    Loaded(Vec<f64>),
}

impl Start {
    fn state(&self, cell: &Cell) -> Result<Vec<f64>, PhysicsError> {
        let k = cell.permeants.len();
        let water = cell.isotonic_water_um3();
        match self {
            Start::Isotonic => Ok(std::iter::once(water)
                .chain(std::iter::repeat_n(0.0, k))
                .collect()),
            Start::Loaded(c) if c.len() != k => Err(invalid(
                "start.loaded",
                format!("{} concentrations for {k} permeants", c.len()),
            )),
            Start::Loaded(c) if c.iter().any(|c| !(c.is_finite() && *c >= 0.0)) => {
                Err(invalid("start.loaded", "concentrations must be ≥ 0"))
            }
            Start::Loaded(c) => Ok(std::iter::once(water)
                .chain(c.iter().map(|c| c * water))
                .collect()),
        }
    }
}

/// Where the last step of a protocol ends, on the total intracellular permeant concentration
/// (osmol/L): loading is done once it has risen to a level, removal once it has fallen to one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    AtLeast(f64),
    AtMost(f64),
}

impl Endpoint {
    /// Whether a total intracellular permeant concentration (osmol/L) is at the endpoint.
    pub(crate) fn reached(self, total: f64) -> bool {
        match self {
            Endpoint::AtLeast(level) => total >= level,
            Endpoint::AtMost(level) => total <= level,
        }
    }

    fn level(self) -> f64 {
        match self {
            Endpoint::AtLeast(level) | Endpoint::AtMost(level) => level,
        }
    }
}

/// How a simulation runs, beyond its cell and steps.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub tol: Tolerance,
    pub start: &'a Start,
    /// Integrate this toxicity cost along the trajectory ([`Trajectory::toxicity_cost`]).
    pub toxicity: Option<&'a Toxicity>,
    /// End the last step as soon as this is reached (its duration is then the longest wait).
    pub endpoint: Option<Endpoint>,
    /// Give up with [`PhysicsError::Expired`] once this has passed.
    pub deadline: Deadline,
}

impl<'a> Run<'a> {
    pub fn new(tol: Tolerance, start: &'a Start) -> Run<'a> {
        Run {
            tol,
            start,
            toxicity: None,
            endpoint: None,
            deadline: Deadline::NONE,
        }
    }
}

/// Simulates `steps` in order, from the cell at isotonic equilibrium with no permeant inside.
pub fn simulate(cell: &Cell, steps: &[Step], tol: Tolerance) -> Result<Trajectory, PhysicsError> {
    simulate_with(cell, steps, Run::new(tol, &Start::Isotonic))
}

fn check_step(i: usize, step: &Step, permeants: usize) -> Result<(), PhysicsError> {
    if step.medium.permeating.len() != permeants {
        return Err(invalid(
            format!("steps[{i}].medium.permeating"),
            format!(
                "{} concentrations for {permeants} permeants",
                step.medium.permeating.len()
            ),
        ));
    }
    if step
        .medium
        .permeating
        .iter()
        .chain(std::iter::once(&step.medium.nonpermeating_osmolality))
        .any(|c| !(c.is_finite() && (0.0..=100.0).contains(c)))
    {
        return Err(invalid(
            format!("steps[{i}].medium"),
            "concentrations must be in 0..=100 osmol",
        ));
    }
    if !(step.duration_min.is_finite() && step.duration_min > 0.0 && step.duration_min <= 1e5) {
        return Err(invalid(
            format!("steps[{i}].duration_min"),
            "must be in (0, 100000] min",
        ));
    }
    let end = step.end_temperature_k.unwrap_or(step.start_temperature_k);
    if ![step.start_temperature_k, end]
        .iter()
        .all(|t| t.is_finite() && (1.0..=1000.0).contains(t))
    {
        return Err(invalid(
            format!("steps[{i}].start_temperature_k"),
            "temperatures must be in 1..=1000 K",
        ));
    }
    Ok(())
}

/// The temperature `t` minutes into a protocol whose current step started at `t0`.
fn step_temperature(step: &Step, t0: f64, t: f64) -> f64 {
    let start = step.start_temperature_k;
    let end = step.end_temperature_k.unwrap_or(start);
    start + (end - start) * ((t - t0) / step.duration_min).clamp(0.0, 1.0)
}

/// The right-hand side of one step, with the toxicity cost appended to the state when asked.
fn step_rate<'a>(
    cell: &'a Cell,
    step: &'a Step,
    t0: f64,
    toxicity: Option<&'a Toxicity>,
) -> impl Fn(f64, &[f64]) -> Option<Vec<f64>> + 'a {
    let k = cell.permeants.len();
    move |t: f64, y: &[f64]| {
        let t_k = step_temperature(step, t0, t);
        let mut dy = cell.rate(&step.medium, t_k, &y[..=k])?;
        if let Some(tox) = toxicity {
            dy.push(tox.rate(y[1..=k].iter().sum::<f64>() / y[0], t_k));
        }
        Some(dy)
    }
}

/// Simulates `steps` as `run` says: from its start, with its cost, up to its endpoint.
pub fn simulate_with(
    cell: &Cell,
    steps: &[Step],
    run: Run<'_>,
) -> Result<Trajectory, PhysicsError> {
    cell.check()?;
    if steps.is_empty() || steps.len() > MAX_STEPS {
        return Err(invalid("steps", format!("give 1 to {MAX_STEPS} steps")));
    }
    if let Some(tox) = run.toxicity {
        tox.check()?;
    }
    let k = cell.permeants.len();
    for (i, step) in steps.iter().enumerate() {
        check_step(i, step, k)?;
    }
    let mut y = run.start.state(cell)?;
    if run.toxicity.is_some() {
        y.push(0.0);
    }
    let total_inside = |y: &[f64]| y[1..=k].iter().sum::<f64>() / y[0];
    let v0 = cell.isotonic_volume_um3;
    let first = cell.volume(&y) / v0;
    let mut out = Trajectory {
        t_min: vec![0.0],
        volume_um3: vec![cell.volume(&y)],
        water_um3: vec![y[0]],
        intracellular: vec![y[1..=k].iter().map(|n| n / y[0]).collect()],
        min_relative_volume: first,
        max_relative_volume: first,
        rejected_steps: 0,
        toxicity_cost: if run.toxicity.is_some() {
            vec![0.0]
        } else {
            Vec::new()
        },
        step_ends: Vec::with_capacity(steps.len()),
        reached_endpoint: false,
    };
    let mut t0 = 0.0;
    for (i, step) in steps.iter().enumerate() {
        let f = step_rate(cell, step, t0, run.toxicity);
        let last = i + 1 == steps.len();
        let endpoint = run.endpoint.filter(|_| last);
        let stop = |y: &[f64]| endpoint.is_some_and(|e| e.reached(total_inside(y)));
        let mut sol = integrate_until(
            &f,
            t0,
            t0 + step.duration_min,
            &y,
            run.tol,
            &stop,
            &run.deadline,
        )?;
        out.rejected_steps += sol.rejected;
        if let Some(e) = endpoint {
            let n = sol.y.len();
            if e.reached(total_inside(&sol.y[0])) {
                // Already there when the step began: the step still takes its first
                // accepted step, so the medium is changed for a non-zero time.
                out.reached_endpoint = n >= 2;
            } else if n >= 2 && e.reached(total_inside(&sol.y[n - 1])) {
                // Linear interpolation inside the last accepted step, to the crossing.
                let (a, b) = (total_inside(&sol.y[n - 2]), total_inside(&sol.y[n - 1]));
                let theta = if (b - a).abs() > 0.0 {
                    ((e.level() - a) / (b - a)).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let (ta, tb) = (sol.t[n - 2], sol.t[n - 1]);
                sol.t[n - 1] = ta + theta * (tb - ta);
                let ya = sol.y[n - 2].clone();
                for (v, start) in sol.y[n - 1].iter_mut().zip(ya) {
                    *v = start + theta * (*v - start);
                }
                out.reached_endpoint = true;
            }
        }
        for (t, state) in sol.t.iter().zip(&sol.y).skip(1) {
            let v = cell.volume(state);
            out.t_min.push(*t);
            out.volume_um3.push(v);
            out.water_um3.push(state[0]);
            out.intracellular
                .push(state[1..=k].iter().map(|n| n / state[0]).collect());
            if run.toxicity.is_some() {
                out.toxicity_cost.push(state[k + 1]);
            }
            out.min_relative_volume = out.min_relative_volume.min(v / v0);
            out.max_relative_volume = out.max_relative_volume.max(v / v0);
        }
        out.step_ends.push(out.t_min.len() - 1);
        y = sol.y.last().cloned().unwrap_or(y);
        t0 = *out.t_min.last().unwrap_or(&t0);
    }
    Ok(out)
}

/// The cell's volume relative to isotonic at each of `times` (minutes from the protocol's
/// start, ascending), integrated exactly to each time rather than interpolated: what a fit
/// compares with measured volumes.
pub fn relative_volumes_at(
    cell: &Cell,
    steps: &[Step],
    start: &Start,
    times: &[f64],
    tol: Tolerance,
    deadline: &Deadline,
) -> Result<Vec<f64>, PhysicsError> {
    cell.check()?;
    let k = cell.permeants.len();
    for (i, step) in steps.iter().enumerate() {
        check_step(i, step, k)?;
    }
    if times.windows(2).any(|w| w[1] < w[0]) || times.iter().any(|t| !t.is_finite() || *t < 0.0) {
        return Err(invalid("times", "must be finite, ≥ 0 and ascending"));
    }
    let total: f64 = steps.iter().map(|s| s.duration_min).sum();
    if times.last().is_some_and(|t| *t > total * (1.0 + 1e-12)) {
        return Err(invalid(
            "times",
            format!("the last observation is after the protocol's end ({total} min)"),
        ));
    }
    let mut y = start.state(cell)?;
    let mut out = Vec::with_capacity(times.len());
    let mut next = times.iter().peekable();
    let mut t0 = 0.0;
    for step in steps {
        let f = step_rate(cell, step, t0, None);
        let end = t0 + step.duration_min;
        let mut t = t0;
        loop {
            let until = match next.peek() {
                Some(&&at) if at <= end => at,
                _ => end,
            };
            deadline.check()?;
            y = integrate(&f, t, until, &y, tol)?.y.pop().unwrap_or(y);
            t = until;
            if next.peek().is_some_and(|&&at| at <= end) {
                next.next();
                out.push(cell.volume(&y) / cell.isotonic_volume_um3);
            } else {
                break;
            }
        }
        t0 = end;
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A generic mammalian cell at room temperature with DMSO as its permeant (round values in
    /// the range the literature reports; the checks below are exact physics, not fits). The
    /// designer and fit tests use it too.
    pub(crate) fn cell() -> Cell {
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
    fn a_loaded_cell_in_its_own_medium_stays_put_and_accrues_cost_at_its_rate() {
        let c = cell();
        let start = Start::Loaded(vec![1.4]);
        let tox = Toxicity {
            alpha: 1.6,
            ..Toxicity::default()
        };
        let run = Run {
            toxicity: Some(&tox),
            ..Run::new(tight(), &start)
        };
        let t = simulate_with(&c, &[step(0.3, 1.4, 10.0)], run).unwrap();
        let loaded = c.isotonic_volume_um3 + 1.4 * c.isotonic_water_um3() * 0.071;
        for v in &t.volume_um3 {
            assert!((v - loaded).abs() / loaded < 1e-9, "{v}");
        }
        // k = C^α at the reference temperature, constant here: J = 1.4^1.6 × 10 min.
        let want = 1.4f64.powf(1.6) * 10.0;
        assert!(
            (t.total_cost() - want).abs() < 1e-6 * want,
            "{}",
            t.total_cost()
        );
        // α = 0: the cost is the elapsed time.
        let time = Toxicity::elapsed_time();
        let run = Run {
            toxicity: Some(&time),
            ..Run::new(tight(), &Start::Isotonic)
        };
        let t = simulate_with(&c, &[step(0.3, 1.4, 3.0), step(0.3, 0.0, 4.5)], run).unwrap();
        assert!((t.total_cost() - 7.5).abs() < 1e-9);
        assert_eq!(t.step_ends.len(), 2);
        assert_eq!(*t.step_ends.last().unwrap(), t.t_min.len() - 1);
    }

    #[test]
    fn an_endpoint_ends_the_last_step_where_the_concentration_crosses_it() {
        let c = cell();
        let start = Start::Isotonic;
        let run = Run {
            endpoint: Some(Endpoint::AtLeast(0.95 * 1.4)),
            ..Run::new(tight(), &start)
        };
        let t = simulate_with(&c, &[step(0.3, 1.4, 600.0)], run).unwrap();
        assert!(t.reached_endpoint);
        let inside = t.intracellular.last().unwrap()[0];
        assert!((inside - 1.33).abs() < 1e-3, "{inside}");
        let end = *t.t_min.last().unwrap();
        assert!(end > 1.0 && end < 100.0, "{end}");
        // The same time from the full curve: the first point past 1.33.
        let full = simulate(&c, &[step(0.3, 1.4, 600.0)], tight()).unwrap();
        let i = full
            .intracellular
            .iter()
            .position(|c| c[0] >= 1.33)
            .unwrap();
        assert!(full.t_min[i - 1] <= end && end <= full.t_min[i]);
        // An endpoint out of reach is reported as not reached.
        let run = Run {
            endpoint: Some(Endpoint::AtLeast(1.5)),
            ..Run::new(tight(), &start)
        };
        assert!(
            !simulate_with(&c, &[step(0.3, 1.4, 30.0)], run)
                .unwrap()
                .reached_endpoint
        );
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
