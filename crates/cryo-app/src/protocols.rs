//! CPA loading and removal protocols (#22). Simulating, designing and fitting are computations:
//! they run on the compute pool under its deadline and store nothing. Saving keeps a protocol
//! with its mixture; the server re-simulates the steps and stores what it found, never what the
//! client says they do. Reading a protocol simulates it again, so its curves can be drawn.

use crate::{Actor, AppError, AppResult};
use cryo_db::repo::Page;
use cryo_db::repo::protocols::{self as repo, NewProtocol, ProtocolRow};
use cryo_db::repo::science;
use cryo_physics::design::{self, Design, Problem};
use cryo_physics::fit::{self, Fit};
use cryo_physics::{Protocol, Run, Step, Tolerance, Toxicity, Trajectory, simulate_with};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The integrator's tolerance for everything the API simulates (the CLI's default).
const TOLERANCE: Tolerance = Tolerance {
    rtol: 1e-6,
    atol: 1e-9,
};

/// Threads one design may use beside the compute thread it runs on.
const DESIGN_THREADS: usize = 2;

/// Protocols one comparison takes.
pub const MAX_COMPARED: usize = 6;

/// Kelvin at 0 °C.
const ZERO_CELSIUS_K: f64 = 273.15;

fn all_finite<'a>(values: impl IntoIterator<Item = &'a f64>) -> bool {
    values.into_iter().all(|v| v.is_finite())
}

/// JSON has no NaN or infinity: a computation that produced one is refused, not sent as null.
fn finite_trajectory(t: &Trajectory) -> AppResult<()> {
    let ok = all_finite(&t.t_min)
        && all_finite(&t.volume_um3)
        && all_finite(&t.water_um3)
        && all_finite(t.intracellular.iter().flatten())
        && all_finite(&t.toxicity_cost);
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "steps",
            "the simulation left the range of representable numbers; check the parameters",
        ))
    }
}

fn finite_design(d: &Design) -> AppResult<()> {
    finite_trajectory(&d.trajectory)?;
    if all_finite(&[d.total_time_min, d.toxicity_cost]) {
        Ok(())
    } else {
        Err(AppError::validation(
            "toxicity",
            "the cost is not a finite number",
        ))
    }
}

pub async fn simulate(actor: &Actor<'_>, protocol: Protocol) -> AppResult<Trajectory> {
    actor
        .compute(move |deadline| {
            let run = Run {
                deadline,
                ..Run::new(TOLERANCE, &protocol.start)
            };
            let t = simulate_with(&protocol.cell, &protocol.steps, run)?;
            finite_trajectory(&t)?;
            Ok(t)
        })
        .await
}

pub async fn design(actor: &Actor<'_>, mut request: design::Request) -> AppResult<Vec<Design>> {
    request.search.threads = request.search.threads.min(DESIGN_THREADS);
    actor
        .compute(move |deadline| {
            let designs = request.design(TOLERANCE, &deadline)?;
            designs.iter().try_for_each(finite_design)?;
            Ok(designs)
        })
        .await
}

pub async fn fit(actor: &Actor<'_>, request: fit::Request) -> AppResult<Fit> {
    actor
        .compute(move |deadline| {
            let fitted = request.fit(&deadline)?;
            let numbers = fitted
                .estimates
                .iter()
                .flat_map(|e| [e.value, e.standard_error, e.lower, e.upper]);
            if numbers.chain([fitted.residual_sd]).all(f64::is_finite) {
                Ok(fitted)
            } else {
                Err(AppError::validation(
                    "observations",
                    "the fit did not reach finite values; check the first guesses",
                ))
            }
        })
        .await
}

/// `steps` simulated exactly as given, on the compute pool under its deadline: what saving
/// stores and what reading a protocol shows.
async fn judge(
    actor: &Actor<'_>,
    problem: Problem,
    toxicity: Toxicity,
    steps: Vec<Step>,
    designer: String,
) -> AppResult<Design> {
    actor
        .compute(move |deadline| {
            let d = problem.judge(&designer, &steps, &toxicity, TOLERANCE, &deadline)?;
            finite_design(&d)?;
            Ok(d)
        })
        .await
}

/// Who made the steps being saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Stepwise,
    FewestSteps,
    ToxicityOptimal,
    ShortestTime,
    /// Entered or edited by hand.
    #[default]
    Manual,
}

impl Author {
    fn name(self) -> &'static str {
        match self {
            Author::Stepwise => "stepwise",
            Author::FewestSteps => "fewest_steps",
            Author::ToxicityOptimal => "toxicity_optimal",
            Author::ShortestTime => "shortest_time",
            Author::Manual => "manual",
        }
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProtocolInput {
    pub mixture_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub project_id: Option<Uuid>,
    /// The problem the steps answer, as for a design (its designer settings are ignored).
    pub design: design::Request,
    /// The steps to keep, as designed or edited; the server simulates them.
    pub steps: Vec<Step>,
    #[serde(default)]
    pub designer: Author,
}

/// A protocol with what simulating it now gives (none for protocols saved before designs).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProtocolDetail {
    pub protocol: ProtocolRow,
    pub simulation: Option<Design>,
}

fn checked_length(field: &str, text: &str, max: usize) -> AppResult<()> {
    if text.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(())
}

pub async fn save(actor: &Actor<'_>, input: ProtocolInput) -> AppResult<ProtocolDetail> {
    let me = actor.me()?;
    if input.name.trim().is_empty() {
        return Err(AppError::validation("name", "must not be blank"));
    }
    checked_length("name", &input.name, 300)?;
    if let Some(d) = &input.description {
        checked_length("description", d, 10_000)?;
    }
    if input.steps.is_empty() {
        return Err(AppError::validation("steps", "give at least one step"));
    }
    let problem = input.design.problem();
    let toxicity = input.design.toxicity.clone();
    let author = input.designer;
    let judged = judge(
        actor,
        problem.clone(),
        toxicity.clone(),
        input.steps.clone(),
        author.name().to_owned(),
    )
    .await?;
    let to_json = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| AppError::Internal(format!("protocol to JSON: {e}")))
    };
    let steps_json = to_json(serde_json::to_value(&input.steps))?;
    let problem_json = to_json(serde_json::to_value(&problem))?;
    let toxicity_json = to_json(serde_json::to_value(&toxicity))?;
    let row = actor
        .run(async |tx| {
            if science::get_mixture(tx, input.mixture_id).await?.is_none() {
                return Err(AppError::validation("mixture_id", "no such mixture"));
            }
            Ok(repo::create_protocol(
                tx,
                me,
                NewProtocol {
                    mixture_id: input.mixture_id,
                    name: input.name.trim(),
                    description: input.description.as_deref(),
                    sample_type: input.design.sample_type.name(),
                    designer: author.name(),
                    steps: steps_json,
                    problem: problem_json,
                    toxicity: toxicity_json,
                    total_time_min: judged.total_time_min,
                    toxicity_cost: judged.toxicity_cost,
                    min_relative_volume: judged.min_relative_volume,
                    max_relative_volume: judged.max_relative_volume,
                    within_limits: judged.is_feasible(),
                    target_concentration: problem.target.iter().sum(),
                    temperature_c: problem.temperature_k - ZERO_CELSIUS_K,
                    project_id: input.project_id,
                },
            )
            .await?)
        })
        .await?;
    Ok(ProtocolDetail {
        protocol: row,
        simulation: Some(judged),
    })
}

pub async fn list(
    actor: &Actor<'_>,
    mixture: Option<Uuid>,
    page: Page,
) -> AppResult<Vec<ProtocolRow>> {
    actor
        .read(async |tx| repo::list_protocols(tx, mixture, page).await)
        .await
}

/// The stored problem, toxicity and steps of a designed protocol, as cryo-physics reads them.
fn stored(row: &ProtocolRow) -> Option<(Problem, Toxicity, Vec<Step>)> {
    let problem = serde_json::from_value(row.problem.clone()?).ok()?;
    let toxicity = serde_json::from_value(row.toxicity.clone()?).ok()?;
    let steps = serde_json::from_value(row.steps.clone()).ok()?;
    Some((problem, toxicity, steps))
}

async fn with_simulation(actor: &Actor<'_>, row: ProtocolRow) -> AppResult<ProtocolDetail> {
    let Some((problem, toxicity, steps)) = stored(&row) else {
        return Ok(ProtocolDetail {
            protocol: row,
            simulation: None,
        });
    };
    let designer = row.designer.clone().unwrap_or_else(|| "manual".into());
    let simulation = judge(actor, problem, toxicity, steps, designer).await?;
    Ok(ProtocolDetail {
        protocol: row,
        simulation: Some(simulation),
    })
}

pub async fn detail(actor: &Actor<'_>, id: Uuid) -> AppResult<ProtocolDetail> {
    let row = actor
        .read(async |tx| repo::get_protocol(tx, id).await)
        .await?
        .ok_or(AppError::NotFound { what: "protocol" })?;
    with_simulation(actor, row).await
}

/// Two to six protocols side by side: each simulated again, in the order asked.
pub async fn compare(actor: &Actor<'_>, ids: &[Uuid]) -> AppResult<Vec<ProtocolDetail>> {
    if !(2..=MAX_COMPARED).contains(&ids.len()) {
        return Err(AppError::validation(
            "ids",
            format!("compare 2 to {MAX_COMPARED} protocols"),
        ));
    }
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        out.push(detail(actor, id).await?);
    }
    Ok(out)
}
