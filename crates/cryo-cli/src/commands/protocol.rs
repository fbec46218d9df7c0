//! `cryoprotect protocol`: CPA loading and unloading protocols simulated with the two-parameter
//! membrane transport model (`cryo-physics`). No database.

use anyhow::Context;
use clap::{Args, Subcommand};
use cryo_core::deadline::Deadline;
use cryo_physics::design::{self, Design, Problem};
use cryo_physics::{Protocol, Run, Tolerance, simulate_with};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ProtocolCommand {
    /// Simulate a protocol: cell volume and intracellular concentration over its steps.
    Simulate(SimulateArgs),
    /// Design a loading or removal protocol that keeps the cell within its volume limits.
    Design(DesignArgs),
    /// Fit Lp, Ps and the inactive volume to a measured volume–time curve.
    Fit(FitArgs),
}

/// The integrator's tolerances, shared by every subcommand.
#[derive(Debug, Args)]
pub struct ToleranceArgs {
    /// Relative tolerance of the integrator.
    #[arg(long, default_value_t = 1e-6)]
    rtol: f64,
    /// Absolute tolerance of the integrator (µm³ and osmol/L·µm³).
    #[arg(long, default_value_t = 1e-9)]
    atol: f64,
}

impl ToleranceArgs {
    fn parse(&self) -> anyhow::Result<Tolerance> {
        if !(self.rtol > 0.0 && self.rtol < 1.0 && self.atol > 0.0) {
            anyhow::bail!("--rtol must be in (0, 1) and --atol > 0");
        }
        Ok(Tolerance {
            rtol: self.rtol,
            atol: self.atol,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Designer {
    /// The original: equal steps sized and held by the sample type's profile, then checked.
    Stepwise,
    /// Each step as far as the limits allow, held until the cell settles.
    FewestSteps,
    /// Least toxicity cost (∫ k·C^α dt) within the limits.
    ToxicityOptimal,
    /// Least total time within the limits.
    ShortestTime,
    /// Every designer, side by side.
    All,
}

impl Designer {
    fn physics(self) -> design::Designer {
        match self {
            Designer::Stepwise => design::Designer::Stepwise,
            Designer::FewestSteps => design::Designer::FewestSteps,
            Designer::ToxicityOptimal => design::Designer::ToxicityOptimal,
            Designer::ShortestTime => design::Designer::ShortestTime,
            Designer::All => design::Designer::All,
        }
    }
}

#[derive(Debug, Args)]
pub struct DesignArgs {
    /// JSON file: {"cell": {...}, "direction": "loading"|"removal", "target": [osmol/L per
    /// permeant], "temperature_k", and optionally "limits": {"min_relative_volume",
    /// "max_relative_volume"} (else the sample type's), "sample_type", "endpoint_fraction"
    /// (0.95), "max_time_min" (60), "max_nonpermeating_osmolality", "max_concentration_factor"
    /// (2), "toxicity": {"k_ref_per_min", "alpha", "activation_j_per_mol",
    /// "reference_temperature_k"}, "search": {"max_free_steps", "starts", ...}}.
    file: PathBuf,
    /// Overrides the file's "designer" (default toxicity-optimal).
    #[arg(long, value_enum)]
    designer: Option<Designer>,
    /// Number of steps for the stepwise designer (default: from the sample type's profile).
    #[arg(long)]
    step_count: Option<usize>,
    #[command(flatten)]
    tolerance: ToleranceArgs,
    /// Print the design(s) as JSON (with --trajectory, the simulated curves too).
    #[arg(long)]
    json: bool,
    #[arg(long, requires = "json")]
    trajectory: bool,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// JSON file: {"cell": {...first guesses...}, "steps": [...], "start": "isotonic" |
    /// {"loaded": [osmol/L]}, "observations": [{"t_min", "relative_volume"}, ...],
    /// "parameters": ["lp", "ps:NAME", "vb"], "level": 0.95}.
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// JSON file: {"cell": {...}, "steps": [...]} (field names and units as in cryo-physics:
    /// isotonic_volume_um3, area_um2, lp_um_per_min_atm, …; steps with medium, duration_min,
    /// start_temperature_k and optionally end_temperature_k).
    file: PathBuf,
    #[command(flatten)]
    tolerance: ToleranceArgs,
    /// Simulate this many times and report the mean time of one (for benchmarks).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Print the whole trajectory and the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: ProtocolCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ProtocolCommand::Simulate(args) => simulate_file(args),
        ProtocolCommand::Design(args) => design_file(args),
        ProtocolCommand::Fit(args) => fit_file(args),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    what: &str,
) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not {what}", path.display()))
}

fn simulate_file(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let protocol: Protocol = read_json(&args.file, "a protocol")?;
    let tol = args.tolerance.parse()?;
    let repeat = args.repeat.clamp(1, 100_000);
    let started = std::time::Instant::now();
    let run = Run::new(tol, &protocol.start);
    let mut trajectory = simulate_with(&protocol.cell, &protocol.steps, run)?;
    for _ in 1..repeat {
        trajectory = simulate_with(&protocol.cell, &protocol.steps, run)?;
    }
    let seconds = started.elapsed().as_secs_f64() / repeat as f64;
    let v0 = protocol.cell.isotonic_volume_um3;
    let last = trajectory.volume_um3.last().copied().unwrap_or(v0);
    let summary = serde_json::json!({
        "steps": protocol.steps.len(),
        "duration_min": trajectory.t_min.last(),
        "min_relative_volume": trajectory.min_relative_volume,
        "max_relative_volume": trajectory.max_relative_volume,
        "final_relative_volume": last / v0,
        "final_intracellular": trajectory.intracellular.last(),
        "equilibrated_within_1pct_after_min": trajectory.equilibrated_after(0.01),
        "integration_steps": trajectory.t_min.len() - 1,
        "rejected_steps": trajectory.rejected_steps,
        "seconds_per_simulation": seconds,
    });
    if args.json {
        let mut out = summary;
        out["trajectory"] = serde_json::to_value(&trajectory)?;
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "{} steps over {:.1} min: volume {:.3}–{:.3} × isotonic (final {:.3}); {} integration steps ({} rejected), {:.3} ms a simulation",
            protocol.steps.len(),
            trajectory.t_min.last().unwrap_or(&0.0),
            trajectory.min_relative_volume,
            trajectory.max_relative_volume,
            last / v0,
            trajectory.t_min.len() - 1,
            trajectory.rejected_steps,
            seconds * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn design_file(args: DesignArgs) -> anyhow::Result<ExitCode> {
    let mut request: design::Request = read_json(&args.file, "a design request")?;
    let tol = args.tolerance.parse()?;
    if let Some(n) = args.step_count {
        request.step_count = Some(n);
    }
    let chosen = args.designer.map_or(request.designer, Designer::physics);
    let problem = request.problem();
    let mut designs: Vec<(Design, f64)> = Vec::new();
    for designer in chosen.expand() {
        // One designer at a time, so each is timed on its own.
        let started = std::time::Instant::now();
        let one = design::Request {
            designer,
            ..request.clone()
        };
        for d in one.design(tol, &Deadline::NONE)? {
            designs.push((d, started.elapsed().as_secs_f64()));
        }
    }
    let feasible = designs.iter().all(|(d, _)| d.is_feasible());
    if args.json {
        let out: Vec<serde_json::Value> = designs
            .iter()
            .map(|(d, seconds)| {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                if !args.trajectory
                    && let Some(o) = v.as_object_mut()
                {
                    o.remove("trajectory");
                }
                v["seconds"] = serde_json::json!(seconds);
                v
            })
            .collect();
        println!("{}", serde_json::to_string(&out)?);
    } else {
        let stepwise_cost = designs
            .iter()
            .find(|(d, _)| d.designer == "stepwise")
            .map(|(d, _)| d.toxicity_cost);
        for (d, seconds) in &designs {
            print_design(&problem, d, *seconds, stepwise_cost);
        }
    }
    // Exit 1 when a design breaks a limit or misses the endpoint, like a failed check.
    Ok(if feasible {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The printable step table for the bench: concentrations, temperature and time per step.
fn print_design(problem: &Problem, d: &Design, seconds: f64, stepwise_cost: Option<f64>) {
    let status = if d.is_feasible() {
        "within the limits".to_owned()
    } else if !d.reached_endpoint {
        "ENDPOINT NOT REACHED".to_owned()
    } else {
        format!(
            "BREAKS THE LIMITS in step(s) {}",
            d.violations
                .iter()
                .map(|v| (v.step + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let ratio = stepwise_cost
        .filter(|c| *c > 0.0 && d.designer != "stepwise")
        .map(|c| format!(" ({:.3} × stepwise)", d.toxicity_cost / c))
        .unwrap_or_default();
    println!(
        "{}: {} steps, {:.1} min, toxicity cost {:.4}{ratio}, volume {:.3}–{:.3} × isotonic (limits {:.2}–{:.2}), {status}; {} simulations in {:.2} s",
        d.designer,
        d.steps.len(),
        d.total_time_min,
        d.toxicity_cost,
        d.min_relative_volume,
        d.max_relative_volume,
        problem.limits.min_relative_volume,
        problem.limits.max_relative_volume,
        d.simulations,
        seconds,
    );
    let names: Vec<String> = problem
        .cell
        .permeants
        .iter()
        .map(|p| format!("{} (osmol/L)", p.name))
        .collect();
    print!("  {:>4}", "step");
    for n in &names {
        print!("  {n:>18}");
    }
    println!(
        "  {:>26}  {:>7}  {:>8}",
        "non-permeating (osmol/kg)", "°C", "min"
    );
    for (i, s) in d.steps.iter().enumerate() {
        print!("  {:>4}", i + 1);
        for c in &s.medium.permeating {
            print!("  {c:>18.3}");
        }
        let flag = if d.violations.iter().any(|v| v.step == i) {
            "  ← outside the limits"
        } else if i + 1 == d.steps.len() && s.duration_min < 0.01 {
            "  ← endpoint already reached: transfer into the final medium"
        } else {
            ""
        };
        println!(
            "  {:>26.3}  {:>7.1}  {:>8.2}{flag}",
            s.medium.nonpermeating_osmolality,
            s.start_temperature_k - 273.15,
            s.duration_min
        );
    }
}

fn fit_file(args: FitArgs) -> anyhow::Result<ExitCode> {
    let request: cryo_physics::fit::Request = read_json(&args.file, "a fit request")?;
    let fitted = request.fit(&Deadline::NONE)?;
    if args.json {
        println!("{}", serde_json::to_string(&fitted)?);
    } else {
        println!(
            "{} observations, residual SD {:.4} (relative volume), {} iterations{}",
            request.observations.len(),
            fitted.residual_sd,
            fitted.iterations,
            if fitted.converged {
                ""
            } else {
                ", NOT CONVERGED"
            }
        );
        println!(
            "  {:<20} {:>12} {:>12} {:>26}",
            "parameter",
            "value",
            "std. error",
            format!("{:.0} % interval", fitted.level * 100.0)
        );
        for e in &fitted.estimates {
            println!(
                "  {:<20} {:>12.5} {:>12.5} {:>12.5} – {:<12.5}",
                e.parameter, e.value, e.standard_error, e.lower, e.upper
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
