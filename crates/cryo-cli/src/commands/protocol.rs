//! `cryoprotect protocol`: CPA loading and unloading protocols simulated with the two-parameter
//! membrane transport model (`cryo-physics`). No database.

use anyhow::Context;
use clap::{Args, Subcommand};
use cryo_physics::{Cell, Step, Tolerance, simulate};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ProtocolCommand {
    /// Simulate a protocol: cell volume and intracellular concentration over its steps.
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// JSON file: {"cell": {...}, "steps": [...]} (field names and units as in cryo-physics:
    /// isotonic_volume_um3, area_um2, lp_um_per_min_atm, …; steps with medium, duration_min,
    /// start_temperature_k and optionally end_temperature_k).
    file: PathBuf,
    /// Relative tolerance of the integrator.
    #[arg(long, default_value_t = 1e-6)]
    rtol: f64,
    /// Absolute tolerance of the integrator (µm³ and osmol/L·µm³).
    #[arg(long, default_value_t = 1e-9)]
    atol: f64,
    /// Simulate this many times and report the mean time of one (for benchmarks).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Print the whole trajectory and the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Protocol {
    cell: Cell,
    steps: Vec<Step>,
}

pub fn run(cmd: ProtocolCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ProtocolCommand::Simulate(args) => simulate_file(args),
    }
}

fn simulate_file(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let protocol: Protocol = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a protocol", args.file.display()))?;
    if !(args.rtol > 0.0 && args.rtol < 1.0 && args.atol > 0.0) {
        anyhow::bail!("--rtol must be in (0, 1) and --atol > 0");
    }
    let tol = Tolerance {
        rtol: args.rtol,
        atol: args.atol,
    };
    let repeat = args.repeat.clamp(1, 100_000);
    let started = std::time::Instant::now();
    let mut trajectory = simulate(&protocol.cell, &protocol.steps, tol)?;
    for _ in 1..repeat {
        trajectory = simulate(&protocol.cell, &protocol.steps, tol)?;
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
