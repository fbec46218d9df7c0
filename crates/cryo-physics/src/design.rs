//! Protocol designers: how to bring a cell to a CPA concentration (loading) or back from it
//! (removal) without its volume leaving the limits it tolerates.
//!
//! Three designers share one [`Problem`] and one judge ([`Problem::evaluate`]): every design
//! ends with the final medium (the target in isotonic carrier for loading, isotonic carrier
//! for removal) held until the intracellular permeants are `endpoint_fraction` of the way
//! there, and every design is re-simulated and its steps checked against the limits.
//!
//! - [`stepwise`]: the original CryoProtect designer (equal concentration steps from 0 to the
//!   target, the step size and hold taken from the sample type's sensitivity profile), now
//!   checked by the simulator: a step that breaks a limit is reported, not hidden.
//! - [`fewest_steps`]: greedy: each step goes as far towards the final medium as the limits
//!   allow (bisection on the concentration, and for removal on a non-permeating buffer such as
//!   sucrose), held until the cell has equilibrated with it.
//! - [`optimal`]: minimises a toxicity cost (or, with [`Toxicity::elapsed_time`], the total
//!   time) over piecewise-constant media by multi-start Nelder–Mead with an exact penalty for
//!   the volume limits, as in the piecewise-constant formulation of Davidson, Benson & Higgins
//!   (Theor. Biol. Med. Model. 11 (2014) 13): each free step chooses its CPA concentration, its
//!   non-permeating osmolality and its duration; the final step is held to the endpoint. Starts
//!   include the greedy design and the structure those authors found optimal (first a medium
//!   of CPA in water, which swells the cell towards its upper limit, then a concentrated one).

use crate::ode::Tolerance;
use crate::toxicity::Toxicity;
use crate::transport::{Cell, Endpoint, Medium, Run, Start, Step, Trajectory, simulate_with};
use crate::{PhysicsError, invalid};
use cryo_core::deadline::Deadline;
use serde::{Deserialize, Serialize};

/// The relative volumes a cell tolerates, V / V0.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub min_relative_volume: f64,
    pub max_relative_volume: f64,
}

impl Limits {
    fn excess(&self, min: f64, max: f64, margin: f64) -> f64 {
        (self.min_relative_volume + margin - min).max(0.0)
            + (max - (self.max_relative_volume - margin)).max(0.0)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Loading,
    Removal,
}

/// What to design: a cell, a target, the limits and the temperature (held constant).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub cell: Cell,
    pub direction: Direction,
    /// Concentration of each permeant when loaded, osmol/L, in `cell.permeants` order.
    pub target: Vec<f64>,
    pub temperature_k: f64,
    pub limits: Limits,
    /// Done when the intracellular permeants are this share of the way to the final medium.
    #[serde(default = "default_endpoint_fraction")]
    pub endpoint_fraction: f64,
    /// Longest total time, min.
    #[serde(default = "default_max_time")]
    pub max_time_min: f64,
    /// Highest non-permeating osmolality a step may use, osmol/kg (removal buffers with it;
    /// absent: isotonic + 0.5, e.g. the isotonic carrier with about 0.5 M sucrose).
    #[serde(default)]
    pub max_nonpermeating_osmolality: Option<f64>,
    /// Highest CPA concentration a step may use, as a multiple of the target.
    #[serde(default = "default_concentration_factor")]
    pub max_concentration_factor: f64,
}

fn default_endpoint_fraction() -> f64 {
    0.95
}
fn default_max_time() -> f64 {
    60.0
}
fn default_concentration_factor() -> f64 {
    2.0
}

/// Relative volume by which a limit may be missed and still count as kept (integration noise).
const LIMIT_SLACK: f64 = 1e-6;

/// A step whose volume left the limits.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub step: usize,
    pub min_relative_volume: f64,
    pub max_relative_volume: f64,
}

/// A designed protocol as the simulator judged it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Design {
    pub designer: String,
    pub steps: Vec<Step>,
    pub total_time_min: f64,
    pub toxicity_cost: f64,
    pub min_relative_volume: f64,
    pub max_relative_volume: f64,
    /// Whether the final step reached the endpoint within `max_time_min`.
    pub reached_endpoint: bool,
    pub violations: Vec<Violation>,
    /// Simulations run to design it.
    pub simulations: usize,
    pub trajectory: Trajectory,
}

impl Design {
    /// Reached the endpoint without leaving the limits.
    pub fn is_feasible(&self) -> bool {
        self.reached_endpoint && self.violations.is_empty()
    }
}

impl Problem {
    pub fn check(&self) -> Result<(), PhysicsError> {
        let k = self.cell.permeants.len();
        if k == 0 {
            return Err(invalid(
                "cell.permeants",
                "a protocol needs at least one permeant",
            ));
        }
        if self.target.len() != k {
            return Err(invalid(
                "target",
                format!("{} concentrations for {k} permeants", self.target.len()),
            ));
        }
        if self
            .target
            .iter()
            .any(|c| !(c.is_finite() && (0.0..=20.0).contains(c)))
            || self.target_total() <= 0.0
        {
            return Err(invalid("target", "osmol/L in 0..=20, not all zero"));
        }
        let l = self.limits;
        if !(l.min_relative_volume > 0.0
            && l.min_relative_volume < 1.0
            && l.max_relative_volume > 1.0
            && l.max_relative_volume.is_finite())
        {
            return Err(invalid(
                "limits",
                "need 0 < min_relative_volume < 1 < max_relative_volume",
            ));
        }
        if !(self.temperature_k.is_finite() && (200.0..=350.0).contains(&self.temperature_k)) {
            return Err(invalid("temperature_k", "must be in 200..=350 K"));
        }
        if !(self.endpoint_fraction > 0.5 && self.endpoint_fraction < 1.0) {
            return Err(invalid("endpoint_fraction", "must be in (0.5, 1)"));
        }
        if !(self.max_time_min > 0.0 && self.max_time_min <= 10_080.0) {
            return Err(invalid("max_time_min", "must be in (0, 10080] (a week)"));
        }
        if let Some(s) = self.max_nonpermeating_osmolality
            && !(s.is_finite() && s >= self.cell.isotonic_osmolality && s <= 10.0)
        {
            return Err(invalid(
                "max_nonpermeating_osmolality",
                "must be between the isotonic osmolality and 10 osmol/kg",
            ));
        }
        if !(1.0..=5.0).contains(&self.max_concentration_factor) {
            return Err(invalid("max_concentration_factor", "must be in 1..=5"));
        }
        Ok(())
    }

    fn target_total(&self) -> f64 {
        self.target.iter().sum()
    }

    fn isotonic(&self) -> f64 {
        self.cell.isotonic_osmolality
    }

    fn max_nonpermeating(&self) -> f64 {
        self.max_nonpermeating_osmolality
            .unwrap_or(self.isotonic() + 0.5)
    }

    /// A step of `share` × the target's permeants in `nonpermeating` osmol/kg, for `minutes`.
    pub fn step(&self, share: f64, nonpermeating: f64, minutes: f64) -> Step {
        Step {
            medium: Medium {
                nonpermeating_osmolality: nonpermeating,
                permeating: self.target.iter().map(|c| c * share).collect(),
            },
            duration_min: minutes,
            start_temperature_k: self.temperature_k,
            end_temperature_k: None,
        }
    }

    fn start(&self) -> Start {
        match self.direction {
            Direction::Loading => Start::Isotonic,
            Direction::Removal => Start::Loaded(self.target.clone()),
        }
    }

    /// The share of the target in the final medium.
    fn final_share(&self) -> f64 {
        match self.direction {
            Direction::Loading => 1.0,
            Direction::Removal => 0.0,
        }
    }

    /// Equilibrated with a medium of `to` × the target after coming from `from` × the
    /// target: within `1 − endpoint_fraction` of the change.
    fn settled_at(&self, from: f64, to: f64) -> Endpoint {
        let total = self.target_total();
        let margin = (1.0 - self.endpoint_fraction) * (to - from).abs() * total;
        match self.direction {
            Direction::Loading => Endpoint::AtLeast(to * total - margin),
            Direction::Removal => Endpoint::AtMost(to * total + margin),
        }
    }

    /// The share of the target inside the cell at the start.
    fn start_share(&self) -> f64 {
        1.0 - self.final_share()
    }

    fn run<'a>(
        &self,
        start: &'a Start,
        toxicity: &'a Toxicity,
        tol: Tolerance,
        deadline: &Deadline,
    ) -> Run<'a> {
        Run {
            tol,
            start,
            toxicity: Some(toxicity),
            endpoint: Some(self.settled_at(self.start_share(), self.final_share())),
            deadline: *deadline,
        }
    }

    /// Judges `free` steps followed by the final medium held until the endpoint (or until
    /// `max_time_min` runs out): time, cost, extremes and the steps that leave the limits.
    pub fn evaluate(
        &self,
        designer: &str,
        free: &[Step],
        toxicity: &Toxicity,
        tol: Tolerance,
        deadline: &Deadline,
    ) -> Result<Design, PhysicsError> {
        self.check()?;
        let used: f64 = free.iter().map(|s| s.duration_min).sum();
        let remaining = self.max_time_min - used;
        if remaining <= 0.0 {
            return Err(invalid(
                "steps",
                format!("the steps take {used} min, more than max_time_min"),
            ));
        }
        let mut steps = free.to_vec();
        steps.push(self.step(self.final_share(), self.isotonic(), remaining));
        let start = self.start();
        let trajectory = simulate_with(
            &self.cell,
            &steps,
            self.run(&start, toxicity, tol, deadline),
        )?;
        let total = *trajectory.t_min.last().unwrap_or(&0.0);
        if let Some(last) = steps.last_mut() {
            last.duration_min = total - used;
        }
        Ok(self.assess(designer, steps, trajectory))
    }

    /// Judges `steps` exactly as given (edited by hand, or saved earlier): no endpoint ends the
    /// last step; the endpoint counts as reached when the intracellular permeants are where
    /// it says at the end.
    pub fn judge(
        &self,
        designer: &str,
        steps: &[Step],
        toxicity: &Toxicity,
        tol: Tolerance,
        deadline: &Deadline,
    ) -> Result<Design, PhysicsError> {
        self.check()?;
        let start = self.start();
        let run = Run {
            endpoint: None,
            ..self.run(&start, toxicity, tol, deadline)
        };
        let mut trajectory = simulate_with(&self.cell, steps, run)?;
        let inside: f64 = trajectory
            .intracellular
            .last()
            .map_or(0.0, |c| c.iter().sum());
        trajectory.reached_endpoint = self
            .settled_at(self.start_share(), self.final_share())
            .reached(inside);
        Ok(self.assess(designer, steps.to_vec(), trajectory))
    }

    /// A design's numbers from its simulated trajectory.
    fn assess(&self, designer: &str, steps: Vec<Step>, trajectory: Trajectory) -> Design {
        let v0 = self.cell.isotonic_volume_um3;
        let violations = (0..steps.len())
            .filter_map(|i| {
                let (min, max) = trajectory.step_extremes(i, v0);
                (self.limits.excess(min, max, 0.0) > LIMIT_SLACK).then_some(Violation {
                    step: i,
                    min_relative_volume: min,
                    max_relative_volume: max,
                })
            })
            .collect();
        Design {
            designer: designer.to_owned(),
            total_time_min: *trajectory.t_min.last().unwrap_or(&0.0),
            toxicity_cost: trajectory.total_cost(),
            min_relative_volume: trajectory.min_relative_volume,
            max_relative_volume: trajectory.max_relative_volume,
            reached_endpoint: trajectory.reached_endpoint,
            violations,
            simulations: 1,
            steps,
            trajectory,
        }
    }
}

/// The sample types of the original designer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleType {
    CellLine,
    PrimaryCells,
    Tissue,
    Organoid,
    Embryo,
}

/// The original's sensitivity profile of a sample type.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Profile {
    /// Tolerated relative volume change either way (0.3: 0.7–1.3 × isotonic).
    pub osmotic_tolerance: f64,
    /// Largest concentration step, % (v/v).
    pub max_step_percent: f64,
    pub minutes_per_step: f64,
    pub cooling_c_per_min: f64,
    pub warming_c_per_min: f64,
}

impl SampleType {
    pub const ALL: [SampleType; 5] = [
        SampleType::CellLine,
        SampleType::PrimaryCells,
        SampleType::Tissue,
        SampleType::Organoid,
        SampleType::Embryo,
    ];

    /// The name the API and files use (as serde spells it).
    pub fn name(self) -> &'static str {
        match self {
            SampleType::CellLine => "cell_line",
            SampleType::PrimaryCells => "primary_cells",
            SampleType::Tissue => "tissue",
            SampleType::Organoid => "organoid",
            SampleType::Embryo => "embryo",
        }
    }

    /// The original's table (CryoProtect v2, protocol designer), unchanged.
    pub fn profile(self) -> Profile {
        let (osmotic_tolerance, max_step_percent, minutes_per_step, cooling, warming) = match self {
            SampleType::CellLine => (0.3, 5.0, 5.0, 1.0, 10.0),
            SampleType::PrimaryCells => (0.2, 2.5, 10.0, 0.5, 8.0),
            SampleType::Tissue => (0.15, 2.0, 15.0, 0.3, 5.0),
            SampleType::Organoid => (0.18, 2.0, 12.0, 0.4, 6.0),
            SampleType::Embryo => (0.1, 1.5, 8.0, 0.3, 15.0),
        };
        Profile {
            osmotic_tolerance,
            max_step_percent,
            minutes_per_step,
            cooling_c_per_min: cooling,
            warming_c_per_min: warming,
        }
    }

    /// The volume limits the profile's tolerance implies, for cells without measured ones.
    pub fn limits(self) -> Limits {
        let t = self.profile().osmotic_tolerance;
        Limits {
            min_relative_volume: 1.0 - t,
            max_relative_volume: 1.0 + t,
        }
    }
}

/// The original designer: `step_count` equal steps (absent: the target's % (v/v), Σ c·v̄, over
/// the profile's largest step, at least one), each held for the profile's time; the last is
/// the final medium held to the endpoint. Steps that break the limits are reported.
pub fn stepwise(
    problem: &Problem,
    sample: SampleType,
    step_count: Option<usize>,
    toxicity: &Toxicity,
    tol: Tolerance,
    deadline: &Deadline,
) -> Result<Design, PhysicsError> {
    problem.check()?;
    let profile = sample.profile();
    let percent: f64 = problem
        .target
        .iter()
        .zip(&problem.cell.permeants)
        .map(|(c, p)| c * p.partial_molar_volume_l_per_mol * 100.0)
        .sum();
    let n = match step_count {
        Some(0) | Some(101..) => return Err(invalid("step_count", "must be in 1..=100")),
        Some(n) => n,
        None => ((percent / profile.max_step_percent).ceil() as usize).clamp(1, 100),
    };
    let free: Vec<Step> = (1..n)
        .map(|i| {
            let share = match problem.direction {
                Direction::Loading => i as f64 / n as f64,
                Direction::Removal => (n - i) as f64 / n as f64,
            };
            problem.step(share, problem.isotonic(), profile.minutes_per_step)
        })
        .collect();
    // The original's steps take what the profile says, whatever the time limit: it is
    // reported, not refused, and the final step still gets the full limit to settle.
    let fixed: f64 = free.iter().map(|s| s.duration_min).sum();
    let problem = Problem {
        max_time_min: problem.max_time_min + fixed,
        ..problem.clone()
    };
    problem.evaluate("stepwise", &free, toxicity, tol, deadline)
}

/// Greedy: each step the furthest concentration towards the final medium that keeps the cell
/// within its limits, held until the cell has equilibrated with it; for removal each step may
/// also raise the non-permeating osmolality (sucrose) up to the problem's ceiling, which holds
/// water back as CPA leaves. Stops when the final medium itself stays within the limits.
pub fn fewest_steps(
    problem: &Problem,
    toxicity: &Toxicity,
    tol: Tolerance,
    deadline: &Deadline,
) -> Result<Design, PhysicsError> {
    problem.check()?;
    let iso = problem.isotonic();
    let buffers: Vec<f64> = match problem.direction {
        Direction::Loading => vec![iso],
        Direction::Removal => (0..=4)
            .map(|i| iso + (problem.max_nonpermeating() - iso) * f64::from(i) / 4.0)
            .collect(),
    };
    let start = problem.start();
    let mut simulations = 0;
    let mut free: Vec<Step> = Vec::new();
    let mut share = problem.start_share();
    for _ in 0..50 {
        let used: f64 = free.iter().map(|s| s.duration_min).sum();
        if used >= problem.max_time_min {
            return Err(invalid(
                "max_time_min",
                format!(
                    "settling each step within the limits takes longer than {} min",
                    problem.max_time_min
                ),
            ));
        }
        let done = problem.evaluate("fewest_steps", &free, toxicity, tol, deadline)?;
        simulations += done.simulations;
        if done.violations.is_empty() || !done.reached_endpoint {
            return Ok(Design {
                simulations,
                ..done
            });
        }
        let cap = problem.max_time_min - used;
        // The step of `s` × target in buffer `b`, held until settled (None: breaks a limit).
        let mut attempt = |s: f64, b: f64| -> Result<Option<Step>, PhysicsError> {
            let mut steps = free.clone();
            steps.push(problem.step(s, b, cap));
            let run = Run {
                tol,
                start: &start,
                toxicity: None,
                endpoint: Some(problem.settled_at(share, s)),
                deadline: *deadline,
            };
            simulations += 1;
            let t = simulate_with(&problem.cell, &steps, run)?;
            let (min, max) = t.step_extremes(steps.len() - 1, problem.cell.isotonic_volume_um3);
            if problem.limits.excess(min, max, 0.0) > 0.0 {
                return Ok(None);
            }
            let held = t.t_min.last().unwrap_or(&0.0) - used;
            Ok(Some(problem.step(s, b, held.max(1e-3))))
        };
        let mut best: Option<(f64, Step)> = None;
        for &b in &buffers {
            // Bisection between where the cell is (feasible) and the final medium (not).
            let (mut ok, mut bad) = (share, problem.final_share());
            let mut found = None;
            if let Some(step) = attempt(bad, b)? {
                found = Some((bad, step));
            } else {
                for _ in 0..14 {
                    let mid = 0.5 * (ok + bad);
                    match attempt(mid, b)? {
                        Some(step) => {
                            ok = mid;
                            found = Some((mid, step));
                        }
                        None => bad = mid,
                    }
                }
            }
            if let Some((s, step)) = found {
                let further = best
                    .as_ref()
                    .is_none_or(|(t, _)| (s - share).abs() > (t - share).abs() + 1e-9);
                if further {
                    best = Some((s, step));
                }
            }
        }
        match best {
            Some((s, step)) if (s - share).abs() > 1e-3 => {
                share = s;
                free.push(step);
            }
            _ => {
                return Err(invalid(
                    "limits",
                    "no step towards the final medium keeps the cell within them",
                ));
            }
        }
    }
    Err(invalid("limits", "more than 50 steps would be needed"))
}

/// How hard [`optimal`] searches.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Search {
    /// Free steps before the final medium: every count from 1 to this is searched.
    pub max_free_steps: usize,
    /// Nelder–Mead starts per step count (the greedy design and the published structure
    /// first, then pseudo-random ones).
    pub starts: usize,
    /// Objective evaluations per start.
    pub evaluations_per_start: usize,
    /// Distance kept from the limits while searching, relative volume (the result is then
    /// re-simulated at the caller's tolerance and checked without it).
    pub margin: f64,
    pub seed: u64,
    /// Threads the starts run on.
    pub threads: usize,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            max_free_steps: 3,
            starts: 4,
            evaluations_per_start: 400,
            margin: 0.002,
            seed: 0x5eed,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl Search {
    pub fn check(&self) -> Result<(), PhysicsError> {
        if !(1..=6).contains(&self.max_free_steps) {
            return Err(invalid("search.max_free_steps", "must be in 1..=6"));
        }
        if !(1..=64).contains(&self.starts) {
            return Err(invalid("search.starts", "must be in 1..=64"));
        }
        if !(10..=20_000).contains(&self.evaluations_per_start) {
            return Err(invalid(
                "search.evaluations_per_start",
                "must be in 10..=20000",
            ));
        }
        if !(self.margin >= 0.0 && self.margin <= 0.05) {
            return Err(invalid("search.margin", "must be in 0..=0.05"));
        }
        if !(1..=64).contains(&self.threads) {
            return Err(invalid("search.threads", "must be in 1..=64"));
        }
        Ok(())
    }
}

/// Which designer to run.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Designer {
    Stepwise,
    FewestSteps,
    #[default]
    ToxicityOptimal,
    ShortestTime,
    /// Every designer, side by side.
    All,
}

impl Designer {
    /// The designers [`Designer::All`] runs, in the order it reports them.
    pub const EACH: [Designer; 4] = [
        Designer::Stepwise,
        Designer::FewestSteps,
        Designer::ToxicityOptimal,
        Designer::ShortestTime,
    ];

    /// The designers this choice runs.
    pub fn expand(self) -> Vec<Designer> {
        match self {
            Designer::All => Designer::EACH.to_vec(),
            one => vec![one],
        }
    }
}

/// A design request as a file or an API body gives it: the problem, with the limits from the
/// sample type's profile when none are measured, and the designer's settings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub cell: Cell,
    pub direction: Direction,
    /// osmol/L of each permeant when loaded, in `cell.permeants` order.
    pub target: Vec<f64>,
    pub temperature_k: f64,
    /// Absent: the sample type's tolerance either side of isotonic.
    #[serde(default)]
    pub limits: Option<Limits>,
    #[serde(default = "default_sample")]
    pub sample_type: SampleType,
    /// Default 0.95.
    #[serde(default)]
    pub endpoint_fraction: Option<f64>,
    /// Default 60.
    #[serde(default)]
    pub max_time_min: Option<f64>,
    #[serde(default)]
    pub max_nonpermeating_osmolality: Option<f64>,
    /// Default 2.
    #[serde(default)]
    pub max_concentration_factor: Option<f64>,
    #[serde(default)]
    pub toxicity: Toxicity,
    #[serde(default)]
    pub search: Search,
    #[serde(default)]
    pub designer: Designer,
    /// Steps of the stepwise designer (absent: from the sample type's profile).
    #[serde(default)]
    pub step_count: Option<usize>,
}

fn default_sample() -> SampleType {
    SampleType::CellLine
}

impl Request {
    pub fn problem(&self) -> Problem {
        Problem {
            cell: self.cell.clone(),
            direction: self.direction,
            target: self.target.clone(),
            temperature_k: self.temperature_k,
            limits: self.limits.unwrap_or(self.sample_type.limits()),
            endpoint_fraction: self
                .endpoint_fraction
                .unwrap_or(default_endpoint_fraction()),
            max_time_min: self.max_time_min.unwrap_or(default_max_time()),
            max_nonpermeating_osmolality: self.max_nonpermeating_osmolality,
            max_concentration_factor: self
                .max_concentration_factor
                .unwrap_or(default_concentration_factor()),
        }
    }

    /// Runs the requested designer (every one for [`Designer::All`], in a fixed order). The
    /// shortest-time design is reported with the request's toxicity cost, so it compares.
    pub fn design(&self, tol: Tolerance, deadline: &Deadline) -> Result<Vec<Design>, PhysicsError> {
        let problem = self.problem();
        let tox = &self.toxicity;
        self.designer
            .expand()
            .into_iter()
            .map(|designer| match designer {
                Designer::Stepwise => stepwise(
                    &problem,
                    self.sample_type,
                    self.step_count,
                    tox,
                    tol,
                    deadline,
                ),
                Designer::FewestSteps => fewest_steps(&problem, tox, tol, deadline),
                Designer::ShortestTime => {
                    let time = Toxicity::elapsed_time();
                    let fastest = optimal(&problem, &time, &self.search, tol, deadline)?;
                    let free = &fastest.steps[..fastest.steps.len() - 1];
                    let judged = problem.evaluate("shortest_time", free, tox, tol, deadline)?;
                    Ok(Design {
                        simulations: fastest.simulations,
                        ..judged
                    })
                }
                Designer::ToxicityOptimal | Designer::All => {
                    optimal(&problem, tox, &self.search, tol, deadline)
                }
            })
            .collect()
    }
}

/// The free steps as a point of ℝ³ⁿ: per step the logit of its concentration share (of
/// `max_concentration_factor` × target), the logit of its non-permeating osmolality (of the
/// ceiling) and the log of its duration in minutes. Unconstrained, so Nelder–Mead needs no
/// bounds; every point decodes to a valid protocol.
struct Encoding<'a> {
    problem: &'a Problem,
    ceiling: f64,
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

impl Encoding<'_> {
    fn decode(&self, x: &[f64]) -> Vec<Step> {
        let p = self.problem;
        x.chunks(3)
            .map(|c| {
                let minutes = c[2].exp().clamp(1e-3, p.max_time_min);
                p.step(
                    p.max_concentration_factor * logistic(c[0]),
                    self.ceiling * logistic(c[1]),
                    minutes,
                )
            })
            .collect()
    }

    fn encode(&self, steps: &[Step]) -> Vec<f64> {
        let p = self.problem;
        let total = p.target_total();
        steps
            .iter()
            .flat_map(|s| {
                let share = s.medium.permeating.iter().sum::<f64>() / total;
                [
                    logit(share / p.max_concentration_factor),
                    logit(s.medium.nonpermeating_osmolality / self.ceiling),
                    s.duration_min.max(1e-3).ln(),
                ]
            })
            .collect()
    }
}

/// A small deterministic generator for the random starts (xorshift64*).
struct Xorshift(u64);

impl Xorshift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Nelder–Mead with the dimension-adapted coefficients of Gao & Han (Comput. Optim. Appl. 51
/// (2012) 259–277), from `x0` with initial steps `scale`, for at most `budget` evaluations.
fn nelder_mead(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    scale: f64,
    budget: usize,
    deadline: &Deadline,
) -> (Vec<f64>, f64) {
    let n = x0.len();
    let nf = n as f64;
    let (alpha, beta, gamma, delta) =
        (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
    let mut simplex: Vec<(Vec<f64>, f64)> = std::iter::once(x0.to_vec())
        .chain((0..n).map(|i| {
            let mut x = x0.to_vec();
            x[i] += scale;
            x
        }))
        .map(|x| {
            let fx = f(&x);
            (x, fx)
        })
        .collect();
    let mut used = n + 1;
    while used < budget && !deadline.expired() {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= 1e-9 * best.abs().max(1e-12) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|(x, _)| x[j]).sum::<f64>() / nf)
            .collect();
        let toward = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&simplex[n].0)
                .map(|(c, w)| c + t * (c - w))
                .collect()
        };
        let xr = toward(alpha);
        let fr = f(&xr);
        used += 1;
        if fr < simplex[0].1 {
            let xe = toward(beta);
            let fe = f(&xe);
            used += 1;
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            // Outside contraction when the reflection beat the worst point, inside otherwise.
            let xc = toward(if fr < simplex[n].1 { gamma } else { -gamma });
            let fc = f(&xc);
            used += 1;
            if fc < fr.min(simplex[n].1) {
                simplex[n] = (xc, fc);
            } else {
                let x0 = simplex[0].0.clone();
                for entry in simplex.iter_mut().skip(1) {
                    let x: Vec<f64> = x0
                        .iter()
                        .zip(&entry.0)
                        .map(|(b, v)| b + delta * (v - b))
                        .collect();
                    let fx = f(&x);
                    *entry = (x, fx);
                }
                used += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

/// The designer that minimises `objective`'s cost (a toxicity model, or
/// [`Toxicity::elapsed_time`] for the shortest protocol) under the volume limits and
/// `max_time_min`. Deterministic for a given `search.seed`.
pub fn optimal(
    problem: &Problem,
    objective: &Toxicity,
    search: &Search,
    tol: Tolerance,
    deadline: &Deadline,
) -> Result<Design, PhysicsError> {
    problem.check()?;
    search.check()?;
    let name = if objective.alpha == 0.0 {
        "shortest_time"
    } else {
        "toxicity_optimal"
    };
    let ceiling = match problem.direction {
        Direction::Loading => problem.isotonic(),
        Direction::Removal => problem.max_nonpermeating(),
    };
    let coding = Encoding { problem, ceiling };
    // Looser while searching; the winner is re-simulated at the caller's tolerance.
    let search_tol = Tolerance {
        rtol: tol.rtol.max(1e-5),
        atol: tol.atol.max(1e-7),
    };
    let greedy = match fewest_steps(problem, objective, search_tol, deadline) {
        Err(e @ PhysicsError::Expired(_)) => return Err(e),
        other => other.ok(),
    };
    let reference = greedy
        .as_ref()
        .filter(|d| d.is_feasible())
        .map(|d| d.toxicity_cost)
        .or_else(|| {
            problem
                .evaluate(name, &[], objective, search_tol, deadline)
                .ok()
                .map(|d| d.toxicity_cost)
        })
        .filter(|c| c.is_finite() && *c > 0.0)
        .unwrap_or(1.0);
    let counter = std::sync::atomic::AtomicUsize::new(greedy.as_ref().map_or(0, |d| d.simulations));
    let score = |x: &[f64]| -> f64 {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let free = coding.decode(x);
        let used: f64 = free.iter().map(|s| s.duration_min).sum();
        if used >= problem.max_time_min {
            return reference * (10.0 + used / problem.max_time_min);
        }
        match problem.evaluate(name, &free, objective, search_tol, deadline) {
            Err(_) => reference * 100.0,
            Ok(d) => {
                let excess = problem.limits.excess(
                    d.min_relative_volume,
                    d.max_relative_volume,
                    search.margin,
                );
                let mut value = d.toxicity_cost;
                if excess > 0.0 {
                    value += reference * (1.0 + 50.0 * excess);
                }
                if !d.reached_endpoint {
                    value += reference * 2.0;
                }
                value
            }
        }
    };
    // Starts for each count of free steps.
    let mut rng = Xorshift(search.seed | 1);
    let mut starts: Vec<Vec<f64>> = Vec::new();
    for n in 1..=search.max_free_steps {
        let mut planned: Vec<Vec<Step>> = Vec::new();
        if let Some(g) = &greedy {
            let free = &g.steps[..g.steps.len() - 1];
            if free.len() >= n {
                planned.push(free[free.len() - n..].to_vec());
            }
        }
        // The published structure: CPA in water (swelling), then concentrated CPA, then the
        // final medium (for removal: CPA-free hypotonic water, then buffer).
        let published: Vec<Step> = (0..n)
            .map(|i| match problem.direction {
                Direction::Loading if i == 0 => problem.step(0.5, 0.0, 1.0),
                Direction::Loading => problem.step(1.5, problem.isotonic(), 2.0),
                Direction::Removal if i + 1 == n => problem.step(0.0, ceiling, 2.0),
                Direction::Removal => problem.step(0.5 / (i + 1) as f64, ceiling * 0.5, 2.0),
            })
            .collect();
        planned.push(published);
        for p in planned.into_iter().take(search.starts) {
            starts.push(coding.encode(&p));
        }
        while starts.iter().filter(|s| s.len() == 3 * n).count() < search.starts {
            let x: Vec<f64> = (0..n)
                .flat_map(|_| {
                    [
                        logit(rng.next_f64()),
                        logit(rng.next_f64()),
                        (problem.max_time_min / (4.0 * n as f64) * (0.05 + rng.next_f64())).ln(),
                    ]
                })
                .collect();
            starts.push(x);
        }
    }
    // Each start runs Nelder–Mead, then once more from where it stopped (a fresh simplex
    // escapes the collapsed one that often stalls it).
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..search.threads.min(starts.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(x0) = starts.get(i) else { break };
                    let half = search.evaluations_per_start / 2;
                    let (x1, _) = nelder_mead(&score, x0, 0.7, half, deadline);
                    let (x, value) = nelder_mead(&score, &x1, 0.2, half, deadline);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((value, i, x));
                }
            });
        }
    });
    deadline.check()?;
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    // By value, then by start: threads finish in any order, and equal values must not let
    // that order choose the design.
    results.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut candidates: Vec<Vec<Step>> = results.iter().map(|(_, _, x)| coding.decode(x)).collect();
    if let Some(g) = &greedy {
        candidates.push(g.steps[..g.steps.len() - 1].to_vec());
    }
    // The best candidate that stays feasible at the caller's tolerance.
    let mut fallback = None;
    for free in candidates {
        let design = problem.evaluate(name, &free, objective, tol, deadline)?;
        if design.is_feasible() {
            let simulations = counter.load(std::sync::atomic::Ordering::Relaxed) + 1;
            return Ok(Design {
                simulations,
                ..design
            });
        }
        fallback.get_or_insert(design);
    }
    fallback.ok_or_else(|| invalid("search", "no candidate protocol"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::simulate_with;

    /// The generic mammalian cell of the transport tests, DMSO as its permeant.
    fn problem(direction: Direction, limits: Limits) -> Problem {
        Problem {
            cell: crate::transport::tests::cell(),
            direction,
            target: vec![2.0],
            temperature_k: 295.15,
            limits,
            endpoint_fraction: 0.95,
            // Removal settles slowly without a buffer (each step a few τ = Vw/(Ps·A) ≈ 3.5 min).
            max_time_min: 240.0,
            max_nonpermeating_osmolality: None,
            max_concentration_factor: 2.0,
        }
    }

    fn tol() -> Tolerance {
        Tolerance::default()
    }

    /// Re-simulates a design's steps from scratch, tighter than it was designed, and checks
    /// the limits and the endpoint on that independent run.
    fn assert_keeps_limits(p: &Problem, d: &Design) {
        let start = p.start();
        let run = Run {
            tol: Tolerance {
                rtol: 1e-8,
                atol: 1e-10,
            },
            start: &start,
            toxicity: None,
            endpoint: None,
            deadline: Deadline::NONE,
        };
        let t = simulate_with(&p.cell, &d.steps, run).unwrap();
        let l = p.limits;
        assert!(
            t.min_relative_volume >= l.min_relative_volume - 1e-5
                && t.max_relative_volume <= l.max_relative_volume + 1e-5,
            "{}: {:.4}–{:.4} outside {l:?}: {:?}",
            d.designer,
            t.min_relative_volume,
            t.max_relative_volume,
            d.steps
        );
        let inside: f64 = t.intracellular.last().unwrap().iter().sum();
        let want = p.target_total() * p.endpoint_fraction;
        match p.direction {
            Direction::Loading => assert!(inside >= want - 1e-3, "{}: {inside}", d.designer),
            Direction::Removal => {
                assert!(
                    inside <= p.target_total() - want + 1e-3,
                    "{}: {inside}",
                    d.designer
                )
            }
        }
        assert!(d.is_feasible(), "{}: {:?}", d.designer, d.violations);
    }

    fn cell_line() -> Limits {
        SampleType::CellLine.limits()
    }

    #[test]
    fn sample_type_names_are_the_serialised_ones() {
        for t in SampleType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.name());
        }
    }

    #[test]
    fn the_stepwise_designer_flags_the_steps_that_break_the_limits() {
        let p = problem(Direction::Loading, cell_line());
        // One jump to 2 M DMSO shrinks this cell well below 0.7 × isotonic.
        let one = stepwise(
            &p,
            SampleType::CellLine,
            Some(1),
            &Toxicity::default(),
            tol(),
            &Deadline::NONE,
        )
        .unwrap();
        assert_eq!(one.steps.len(), 1);
        assert_eq!(one.violations.len(), 1, "{:?}", one.violations);
        assert!(one.violations[0].min_relative_volume < 0.7);
        // The profile's own count: 2 M × 0.071 L/mol = 14.2 % (v/v) in 5 % steps → 3 steps.
        let profiled = stepwise(
            &p,
            SampleType::CellLine,
            None,
            &Toxicity::default(),
            tol(),
            &Deadline::NONE,
        )
        .unwrap();
        assert_eq!(profiled.steps.len(), 3);
        assert!((profiled.steps[0].medium.permeating[0] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(profiled.steps[0].duration_min, 5.0);
        assert!(profiled.reached_endpoint);
        // Each reported violation is a step whose own extremes leave the limits.
        for v in &profiled.violations {
            let (min, max) = profiled.trajectory.step_extremes(v.step, 2_000.0);
            assert!(min < 0.7 || max > 1.3);
        }
    }

    #[test]
    fn the_stepwise_design_takes_its_profiles_time_even_past_the_limit() {
        // Tissue: 2 M DMSO is 14.2 % (v/v) in 2 % steps, 15 min each: 105 min before the final
        // step, beyond a 60 min limit. Reported with its length, not refused.
        let mut p = problem(Direction::Loading, SampleType::Tissue.limits());
        p.max_time_min = 60.0;
        let d = stepwise(
            &p,
            SampleType::Tissue,
            None,
            &Toxicity::default(),
            tol(),
            &Deadline::NONE,
        )
        .unwrap();
        assert_eq!(d.steps.len(), 8);
        assert!(d.total_time_min > 105.0, "{}", d.total_time_min);
        assert!(d.reached_endpoint);
    }

    #[test]
    fn fewest_steps_keeps_every_step_within_the_limits_for_loading_and_removal() {
        for direction in [Direction::Loading, Direction::Removal] {
            let p = problem(direction, cell_line());
            let d = fewest_steps(&p, &Toxicity::default(), tol(), &Deadline::NONE).unwrap();
            assert!(d.steps.len() >= 2, "{direction:?}: {:?}", d.steps);
            assert_keeps_limits(&p, &d);
        }
        // Tighter limits need more steps.
        let loose = fewest_steps(
            &problem(Direction::Loading, cell_line()),
            &Toxicity::default(),
            tol(),
            &Deadline::NONE,
        )
        .unwrap();
        let tight = fewest_steps(
            &problem(Direction::Loading, SampleType::Embryo.limits()),
            &Toxicity::default(),
            tol(),
            &Deadline::NONE,
        )
        .unwrap();
        assert!(tight.steps.len() > loose.steps.len());
        assert_keeps_limits(
            &problem(Direction::Loading, SampleType::Embryo.limits()),
            &tight,
        );
    }

    #[test]
    fn removal_with_a_sucrose_buffer_takes_fewer_steps_than_without() {
        let mut p = problem(Direction::Removal, cell_line());
        p.max_nonpermeating_osmolality = Some(0.3);
        let plain = fewest_steps(&p, &Toxicity::default(), tol(), &Deadline::NONE).unwrap();
        p.max_nonpermeating_osmolality = Some(1.0);
        let buffered = fewest_steps(&p, &Toxicity::default(), tol(), &Deadline::NONE).unwrap();
        assert_keeps_limits(&p, &buffered);
        assert!(
            buffered.steps.len() < plain.steps.len(),
            "{} vs {}",
            buffered.steps.len(),
            plain.steps.len()
        );
        assert!(
            buffered
                .steps
                .iter()
                .any(|s| s.medium.nonpermeating_osmolality > 0.3)
        );
    }

    #[test]
    fn the_toxicity_optimal_protocol_is_feasible_and_costs_less_than_the_stepwise_one() {
        for direction in [Direction::Loading, Direction::Removal] {
            let p = problem(direction, cell_line());
            let tox = Toxicity::default();
            let best = optimal(&p, &tox, &Search::default(), tol(), &Deadline::NONE).unwrap();
            assert_keeps_limits(&p, &best);
            let greedy = fewest_steps(&p, &tox, tol(), &Deadline::NONE).unwrap();
            // The stepwise protocol for a profile whose steps stay within the limits here.
            let mut steps = 1;
            let classic = loop {
                let d = stepwise(
                    &p,
                    SampleType::CellLine,
                    Some(steps),
                    &tox,
                    tol(),
                    &Deadline::NONE,
                )
                .unwrap();
                if d.is_feasible() {
                    break d;
                }
                steps += 1;
            };
            let ratio = best.toxicity_cost / classic.toxicity_cost;
            println!(
                "{direction:?}: optimal {:.4} ({} steps, {:.1} min) vs stepwise {:.4} ({} steps) = {ratio:.3}; greedy {:.4}",
                best.toxicity_cost,
                best.steps.len(),
                best.total_time_min,
                classic.toxicity_cost,
                classic.steps.len(),
                greedy.toxicity_cost
            );
            if direction == Direction::Loading {
                // The structure Davidson, Benson & Higgins (2014) found: CPA in water without
                // salts first, so the cell swells towards its upper limit while CPA enters.
                let (_, swollen) = best.trajectory.step_extremes(0, 2_000.0);
                assert!(
                    best.steps[0].medium.nonpermeating_osmolality < 0.15,
                    "{:?}",
                    best.steps[0]
                );
                assert!(swollen > 1.2, "{swollen}");
            }
            assert!(ratio < 1.0, "{ratio}");
            assert!(best.toxicity_cost <= greedy.toxicity_cost * (1.0 + 1e-9));
            // Deterministic for a seed.
            let again = optimal(&p, &tox, &Search::default(), tol(), &Deadline::NONE).unwrap();
            assert_eq!(again.toxicity_cost, best.toxicity_cost);
        }
    }

    #[test]
    fn the_shortest_protocol_is_no_longer_than_the_greedy_one() {
        let p = problem(Direction::Loading, cell_line());
        let time = Toxicity::elapsed_time();
        let fastest = optimal(&p, &time, &Search::default(), tol(), &Deadline::NONE).unwrap();
        assert_eq!(fastest.designer, "shortest_time");
        assert_keeps_limits(&p, &fastest);
        // With α = 0 the cost is the elapsed time.
        assert!(
            (fastest.toxicity_cost - fastest.total_time_min).abs() < 1e-6 * fastest.total_time_min
        );
        let greedy = fewest_steps(&p, &time, tol(), &Deadline::NONE).unwrap();
        assert!(
            fastest.total_time_min <= greedy.total_time_min,
            "{} vs {}",
            fastest.total_time_min,
            greedy.total_time_min
        );
    }

    #[test]
    fn judging_a_designs_own_steps_agrees_with_the_design() {
        let p = problem(Direction::Loading, cell_line());
        let tox = Toxicity::default();
        let d = fewest_steps(&p, &tox, tol(), &Deadline::NONE).unwrap();
        let j = p
            .judge("manual", &d.steps, &tox, tol(), &Deadline::NONE)
            .unwrap();
        assert!(j.is_feasible(), "{:?}", j.violations);
        assert!((j.total_time_min - d.total_time_min).abs() < 1e-9);
        assert!((j.toxicity_cost - d.toxicity_cost).abs() < 1e-3 * d.toxicity_cost);
        // One jump to the target breaks the lower limit; too short a hold misses the endpoint.
        let jump = p
            .judge(
                "manual",
                &[p.step(1.0, 0.3, 60.0)],
                &tox,
                tol(),
                &Deadline::NONE,
            )
            .unwrap();
        assert_eq!(jump.violations.len(), 1);
        assert!(jump.reached_endpoint);
        let short = p
            .judge(
                "manual",
                &[p.step(0.05, 0.3, 1.0)],
                &tox,
                tol(),
                &Deadline::NONE,
            )
            .unwrap();
        assert!(!short.reached_endpoint && short.violations.is_empty());
    }

    #[test]
    fn a_deadline_stops_every_designer_and_the_fitter() {
        let p = problem(Direction::Loading, cell_line());
        let gone = Deadline::after(std::time::Duration::ZERO);
        let tox = Toxicity::default();
        assert!(matches!(
            optimal(&p, &tox, &Search::default(), tol(), &gone),
            Err(PhysicsError::Expired(_))
        ));
        assert!(matches!(
            fewest_steps(&p, &tox, tol(), &gone),
            Err(PhysicsError::Expired(_))
        ));
        // A budget too short for the search, long enough to start it: stopped, not finished.
        let short = Deadline::after(std::time::Duration::from_millis(30));
        let started = std::time::Instant::now();
        assert!(matches!(
            optimal(&p, &tox, &Search::default(), tol(), &short),
            Err(PhysicsError::Expired(_))
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn problems_and_searches_out_of_range_are_refused_by_field() {
        let mut p = problem(Direction::Loading, cell_line());
        p.limits.min_relative_volume = 1.2;
        let field = |r: Result<Design, PhysicsError>| match r {
            Err(PhysicsError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(fewest_steps(
                &p,
                &Toxicity::default(),
                tol(),
                &Deadline::NONE
            )),
            "limits"
        );
        let mut p = problem(Direction::Loading, cell_line());
        p.target = vec![2.0, 1.0];
        assert_eq!(
            field(fewest_steps(
                &p,
                &Toxicity::default(),
                tol(),
                &Deadline::NONE
            )),
            "target"
        );
        let p = problem(Direction::Loading, cell_line());
        let search = Search {
            evaluations_per_start: 1_000_000,
            ..Search::default()
        };
        assert_eq!(
            field(optimal(
                &p,
                &Toxicity::default(),
                &search,
                tol(),
                &Deadline::NONE
            )),
            "search.evaluations_per_start"
        );
        assert_eq!(
            field(stepwise(
                &p,
                SampleType::Tissue,
                Some(0),
                &Toxicity::default(),
                tol(),
                &Deadline::NONE,
            )),
            "step_count"
        );
        // Limits no medium can keep: a cell that may not shrink at all.
        let mut p = problem(Direction::Loading, cell_line());
        p.limits.min_relative_volume = 0.999;
        assert_eq!(
            field(fewest_steps(
                &p,
                &Toxicity::default(),
                tol(),
                &Deadline::NONE
            )),
            "limits"
        );
    }
}
