//! Propose compositions of a mixture's components that maximise (or minimise, or bring to a
//! target) the mixture score, its Gordon–Taylor Tg, or a production model's prediction, under
//! per-component bounds, a fixed total, ceilings on total molarity and osmolality, and a cap on
//! the number of components. The variables are each component's amount in the unit it is
//! stored in; the search is `cryo_ml::optimise` on the compute pool under the request's
//! deadline. A model's lower (or upper) interval bound can be optimised instead of its point
//! prediction, so an uncertain prediction is not rewarded.

use crate::composition;
use crate::mixture_physics::{self, ConstantsOverride, parse_overrides, positive};
use crate::mixtures::visible;
use crate::registry::{Layout, Loaded, visible_model};
use crate::training::pool;
use crate::{Actor, AppError, AppResult};
use cryo_chem::Molecule;
use cryo_chem::featurize::FeatureSet;
use cryo_core::solution::{self, SoluteConstants};
use cryo_core::toxicity::{ToxicityScore, mixture_toxicity};
use cryo_core::units::ConcentrationUnit;
use cryo_db::repo::models::{self as models_repo, VersionHandle, VersionRef};
use cryo_db::repo::science::{self as repo, ComponentRow};
use cryo_ml::optimise::{self, Binding, Function, Method, Options, Problem};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Starts one run may take (each a local search).
pub const MAX_STARTS: usize = 32;
/// Proposals one run may return.
pub const MAX_PROPOSALS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Quantity {
    /// The mixture cryoprotection score (weighted mean of component scores + synergy bonus).
    Score,
    /// The Gordon–Taylor glass transition, °C.
    Tg,
    /// A production model's prediction (`model_id`).
    Model,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Goal {
    #[default]
    Maximise,
    Minimise,
    /// Bring the quantity to `target`.
    Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MethodChoice {
    /// Gradient for smooth objectives; pattern search for tree models.
    #[default]
    Auto,
    Gradient,
    Pattern,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoundInput {
    pub molecule_id: Uuid,
    /// In the component's unit; default 0.
    pub min: Option<f64>,
    /// In the component's unit; default the unit's ceiling (100 %, mole fraction 1, 10 M,
    /// 10,000 mM, 1,000 mg/mL).
    pub max: Option<f64>,
    /// Keep the current amount.
    #[serde(default)]
    pub fixed: bool,
}

/// What to improve (shared by the optimiser and the recommender).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectiveInput {
    pub quantity: Quantity,
    #[serde(default)]
    pub goal: Goal,
    /// With goal `target`.
    pub target: Option<f64>,
    /// With quantity `model`: the model whose production version predicts.
    pub model_id: Option<Uuid>,
    /// Optimise the interval's pessimistic end (lower when maximising, upper when minimising)
    /// at `level` rather than the point prediction (models only).
    #[serde(default)]
    pub pessimistic: bool,
    /// Interval level (default 0.9).
    pub level: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptimiseInput {
    #[serde(flatten)]
    pub objective: ObjectiveInput,
    #[serde(default)]
    pub bounds: Vec<BoundInput>,
    /// Toxicity by molar share, 0–100 (components without toxicity data are left out of the
    /// share, as the mixture's toxicity is computed).
    pub max_toxicity: Option<f64>,
    /// Σ of the amounts (all components must share a unit), e.g. 100 for percentages.
    pub total: Option<f64>,
    /// mol/L.
    pub max_total_molarity: Option<f64>,
    /// osmol/kg (virial where coefficients are known, else ideal).
    pub max_osmolality: Option<f64>,
    pub max_components: Option<usize>,
    #[serde(default)]
    pub method: MethodChoice,
    /// Default 8.
    pub starts: Option<usize>,
    /// Default 5.
    pub proposals: Option<usize>,
    pub seed: Option<u64>,
    #[serde(default)]
    pub overrides: Vec<ConstantsOverride>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposedComponent {
    pub molecule_id: Uuid,
    pub name: Option<String>,
    pub concentration: f64,
    pub unit: ConcentrationUnit,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    /// Components at a non-zero amount.
    pub components: Vec<ProposedComponent>,
    /// The optimised quantity at this composition (the model's point prediction for a model).
    pub value: Option<f64>,
    /// A model's interval at `level`.
    pub interval: Option<(f64, f64)>,
    pub tg_celsius: Option<f64>,
    pub osmolality: Option<f64>,
    pub total_molarity: Option<f64>,
    /// By molar share, 0–100, when a component has toxicity data.
    pub toxicity: Option<f64>,
    pub constraints: Vec<Binding>,
    pub feasible: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptimiseOutcome {
    pub mixture_id: Uuid,
    /// What was optimised, in words.
    pub objective: String,
    pub method: Method,
    /// The current composition, evaluated the same way.
    pub current: Proposal,
    /// Best first.
    pub proposals: Vec<Proposal>,
    pub starts: usize,
    pub evaluations: u64,
    /// The deadline stopped it before every start ran.
    pub truncated: bool,
}

/// The unit's default ceiling.
fn unit_ceiling(unit: ConcentrationUnit) -> f64 {
    match unit {
        ConcentrationUnit::PercentWv | ConcentrationUnit::PercentVv => 100.0,
        ConcentrationUnit::MolFraction => 1.0,
        ConcentrationUnit::Molar => 10.0,
        ConcentrationUnit::MilliMolar => 10_000.0,
        ConcentrationUnit::MgPerMl => 1_000.0,
    }
}

/// Amounts at or below this are absent (the variable's zero).
const ABSENT: f64 = 1e-9;

/// What the objective evaluates at a composition: the components (amounts replaced by the
/// point evaluated), their constants, each one's features for a model, and each one's
/// toxicity score (for the toxicity ceiling).
pub(crate) struct Evaluator {
    pub(crate) components: Vec<ComponentRow>,
    constants: Vec<SoluteConstants>,
    model: Option<ModelObjective>,
    toxicity: Vec<Option<ToxicityScore>>,
    /// The last point evaluated: the optimiser asks for the objective and then each ceiling at
    /// the same point, and one evaluation answers them all.
    last: Mutex<Option<(Quantity, Vec<f64>, Evaluated)>>,
}

#[derive(Clone)]
struct ModelObjective {
    loaded: Arc<Loaded>,
    set: FeatureSet,
    /// Each component's molecular features.
    features: Vec<Vec<f64>>,
    level: f64,
}

/// One evaluation: the quantity (and a model's interval), and the physics when it solved.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Evaluated {
    pub(crate) value: Option<f64>,
    pub(crate) interval: Option<(f64, f64)>,
    pub(crate) tg_celsius: Option<f64>,
    pub(crate) osmolality: Option<f64>,
    pub(crate) total_molarity: Option<f64>,
    /// By molar share, 0–100.
    pub(crate) toxicity: Option<f64>,
}

/// A checked objective: what to compute and which way is better.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Objective {
    pub(crate) quantity: Quantity,
    goal: Goal,
    target: Option<f64>,
    pessimistic: bool,
    pub(crate) level: f64,
}

impl Objective {
    pub(crate) fn parse(input: &ObjectiveInput) -> AppResult<Objective> {
        if input.goal == Goal::Target && !input.target.is_some_and(f64::is_finite) {
            return Err(AppError::validation(
                "target",
                "goal `target` needs a finite target",
            ));
        }
        if input.quantity == Quantity::Model && input.model_id.is_none() {
            return Err(AppError::validation(
                "model_id",
                "quantity `model` needs a model_id",
            ));
        }
        Ok(Objective {
            quantity: input.quantity,
            goal: input.goal,
            target: input.target,
            pessimistic: input.pessimistic,
            level: crate::registry::checked_level(input.level)?,
        })
    }

    /// A pessimistic objective needs a finite interval end; refuse one the model cannot give
    /// (a split-conformal interval on a small calibration set is unbounded) rather than rank
    /// everything as equally bad.
    pub(crate) fn check_bounded(&self, at_current: &Evaluated) -> AppResult<()> {
        let bounded = at_current
            .interval
            .is_some_and(|(lo, hi)| lo.is_finite() && hi.is_finite());
        if self.pessimistic && self.quantity == Quantity::Model && !bounded {
            return Err(AppError::validation(
                "pessimistic",
                format!(
                    "the model's {} % interval is unbounded for this mixture; optimise the point prediction or ask for a lower level",
                    self.level * 100.0
                ),
            ));
        }
        Ok(())
    }

    /// What is minimised: lower is better; infinite where the quantity is undefined.
    pub(crate) fn cost(&self, e: &Evaluated) -> f64 {
        let point = match (self.pessimistic, self.goal, e.interval) {
            (true, Goal::Maximise, Some((lo, _))) => Some(lo),
            (true, Goal::Minimise, Some((_, hi))) => Some(hi),
            _ => e.value,
        };
        match (point, self.goal) {
            (None, _) => f64::INFINITY,
            (Some(v), Goal::Maximise) => -v,
            (Some(v), Goal::Minimise) => v,
            (Some(v), Goal::Target) => (v - self.target.unwrap_or_default()).abs(),
        }
    }
}

/// The production version of `model` and its loaded model, if it can predict mixtures.
pub(crate) async fn production_model(
    actor: &Actor<'_>,
    tx: &mut cryo_db::repo::Conn,
    model: Uuid,
) -> AppResult<(VersionHandle, Arc<Loaded>, FeatureSet)> {
    let m = visible_model(tx, model).await?;
    let version = models_repo::resolve_version::<VersionHandle>(tx, model, &VersionRef::Production)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(format!(
                "model {:?} has no production version; promote one",
                m.name
            ))
        })?;
    let loaded = actor.app.registry.load(tx, &version).await?;
    match loaded.layout {
        Layout::MixtureAware(set) => Ok((version, loaded, set)),
        Layout::MoleculesOnly(_) => Err(AppError::validation(
            "model_id",
            "this model was trained on single molecules only; it cannot predict mixtures",
        )),
    }
}

impl Evaluator {
    /// CPU (RDKit, for a model's features): call it on the compute pool.
    pub(crate) fn new(
        components: Vec<ComponentRow>,
        constants: Vec<SoluteConstants>,
        model: Option<(Arc<Loaded>, FeatureSet)>,
        level: f64,
        toxicity: Vec<Option<ToxicityScore>>,
    ) -> AppResult<Evaluator> {
        let model = match model {
            Some((loaded, set)) => Some(ModelObjective {
                features: components
                    .iter()
                    .map(|c| Ok(set.compute(&Molecule::from_smiles(&c.canonical_smiles)?)?))
                    .collect::<AppResult<Vec<_>>>()?,
                loaded,
                set,
                level,
            }),
            None => None,
        };
        Ok(Evaluator {
            components,
            constants,
            model,
            toxicity,
            last: Mutex::default(),
        })
    }

    /// This evaluator with one more component (`molecule` is its parsed structure): only the
    /// new component's features are computed (CPU: call it on the compute pool).
    pub(crate) fn with(
        &self,
        added: ComponentRow,
        constants: SoluteConstants,
        toxicity: Option<ToxicityScore>,
        molecule: &Molecule,
    ) -> AppResult<Evaluator> {
        let model = match &self.model {
            Some(m) => {
                let mut m = m.clone();
                m.features.push(m.set.compute(molecule)?);
                Some(m)
            }
            None => None,
        };
        let mut components = self.components.clone();
        components.push(added);
        let mut all_constants = self.constants.clone();
        all_constants.push(constants);
        let mut all_toxicity = self.toxicity.clone();
        all_toxicity.push(toxicity);
        Ok(Evaluator {
            components,
            constants: all_constants,
            model,
            toxicity: all_toxicity,
            last: Mutex::default(),
        })
    }

    fn present(&self, x: &[f64]) -> Vec<usize> {
        (0..x.len()).filter(|&i| x[i] > ABSENT).collect()
    }

    /// The current amounts.
    pub(crate) fn current(&self) -> Vec<f64> {
        self.components.iter().map(|c| c.concentration).collect()
    }

    pub(crate) fn evaluate(&self, quantity: Quantity, x: &[f64]) -> Evaluated {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((q, at, e)) = last.as_ref()
            && *q == quantity
            && at.as_slice() == x
        {
            return *e;
        }
        let e = self.compute(quantity, x);
        *last = Some((quantity, x.to_vec(), e));
        e
    }

    fn compute(&self, quantity: Quantity, x: &[f64]) -> Evaluated {
        let present = self.present(x);
        if present.is_empty() {
            return Evaluated::default();
        }
        let rows: Vec<ComponentRow> = present
            .iter()
            .map(|&i| ComponentRow {
                concentration: x[i],
                ..self.components[i].clone()
            })
            .collect();
        let constants: Vec<SoluteConstants> = present.iter().map(|&i| self.constants[i]).collect();
        let amounts: Vec<f64> = rows.iter().map(|r| r.concentration).collect();
        let mut out = Evaluated::default();
        if let Ok(s) = mixture_physics::solve(&rows, &constants, &amounts) {
            let m: Vec<f64> = s.components.iter().map(|a| a.molality).collect();
            let w: Vec<f64> = s.components.iter().map(|a| a.mass_percent).collect();
            let osm = solution::osmolality(&m, &constants);
            out.osmolality = Some(osm.virial.unwrap_or(osm.ideal));
            out.total_molarity = Some(s.total_molarity);
            out.tg_celsius = solution::glass_transition(&w, s.water_mass_percent, &constants)
                .ok()
                .map(|t| t.tg_celsius);
        }
        let shares = composition::shares(&rows).ok();
        if self.toxicity.iter().any(Option::is_some)
            && let Some(shares) = &shares
        {
            let parts: Vec<(f64, Option<&ToxicityScore>)> = shares
                .iter()
                .zip(&present)
                .map(|(s, &i)| (*s, self.toxicity[i].as_ref()))
                .collect();
            out.toxicity = mixture_toxicity(&parts).map(|t| 100.0 * t.score);
        }
        match quantity {
            Quantity::Score => {
                out.value = composition::score(&rows)
                    .ok()
                    .map(|s| s.weighted_mean + s.synergy_bonus);
            }
            Quantity::Tg => out.value = out.tg_celsius,
            Quantity::Model => {
                if let (Some(m), Some(shares)) = (&self.model, &shares)
                    && let Some((v, i)) = m.predict(shares, &present)
                {
                    out.value = Some(v);
                    out.interval = Some(i);
                }
            }
        }
        out
    }
}

impl ModelObjective {
    /// The model's point and interval for the `present` components at their molar `shares`.
    fn predict(&self, shares: &[f64], present: &[usize]) -> Option<(f64, (f64, f64))> {
        let pooled: Vec<(&[f64], f64)> = present
            .iter()
            .zip(shares)
            .map(|(&i, s)| (self.features[i].as_slice(), *s))
            .collect();
        let row = pool(&pooled);
        let x = cryo_ml::Matrix::new(1, row.len(), row).ok()?;
        let model = self.loaded.model.regression().ok()?;
        let (points, intervals, _) = model.predict(&x, self.level).ok()?;
        Some((points[0], (intervals[0].lower, intervals[0].upper)))
    }
}

/// Checked bounds, in component order.
fn bounds_of(
    components: &[ComponentRow],
    bounds: &[BoundInput],
) -> AppResult<(Vec<f64>, Vec<f64>)> {
    for (i, b) in bounds.iter().enumerate() {
        if !components.iter().any(|c| c.molecule_id == b.molecule_id) {
            return Err(AppError::validation(
                format!("bounds[{i}].molecule_id"),
                "not a component of this mixture",
            ));
        }
    }
    let mut lower = Vec::with_capacity(components.len());
    let mut upper = Vec::with_capacity(components.len());
    for c in components {
        let ceiling = unit_ceiling(c.concentration_unit);
        let given = bounds
            .iter()
            .enumerate()
            .find(|(_, b)| b.molecule_id == c.molecule_id);
        let (l, u) = match given {
            Some((_, b)) if b.fixed => (c.concentration, c.concentration),
            Some((i, b)) => {
                let l = b.min.unwrap_or(0.0);
                let u = b.max.unwrap_or(ceiling);
                if !(l.is_finite() && u.is_finite() && 0.0 <= l && l <= u && u <= ceiling) {
                    return Err(AppError::validation(
                        format!("bounds[{i}]"),
                        format!("need 0 ≤ min ≤ max ≤ {ceiling} {}", c.concentration_unit),
                    ));
                }
                (l, u)
            }
            None => (0.0, ceiling),
        };
        lower.push(l);
        upper.push(u);
    }
    Ok((lower, upper))
}

fn describe(input: &ObjectiveInput, model: Option<&VersionHandle>) -> String {
    let what = match (input.quantity, model) {
        (Quantity::Score, _) => "the mixture score".to_string(),
        (Quantity::Tg, _) => "the Gordon–Taylor Tg (°C)".to_string(),
        (Quantity::Model, Some(v)) => {
            let end = match (input.pessimistic, input.goal) {
                (false, _) | (true, Goal::Target) => "prediction",
                (true, Goal::Maximise) => "interval's lower bound",
                (true, Goal::Minimise) => "interval's upper bound",
            };
            format!("the {end} of {} (model version {})", v.property, v.version)
        }
        (Quantity::Model, None) => "a model's prediction".to_string(),
    };
    match input.goal {
        Goal::Maximise => format!("maximise {what}"),
        Goal::Minimise => format!("minimise {what}"),
        Goal::Target => format!("bring {what} to {}", input.target.unwrap_or_default()),
    }
}

/// What the optimiser and the recommender read before computing: the components, their
/// constants, their toxicity scores and the model.
pub(crate) struct Gathered {
    pub(crate) components: Vec<ComponentRow>,
    pub(crate) constants: Vec<SoluteConstants>,
    pub(crate) toxicity: Vec<Option<ToxicityScore>>,
    pub(crate) model: Option<(VersionHandle, Arc<Loaded>, FeatureSet)>,
}

/// Reads a visible mixture's components (plus `extra` molecules, appended as components at
/// their given amounts), their toxicity and the objective's model, as the caller.
pub(crate) async fn gather(
    actor: &Actor<'_>,
    id: Uuid,
    objective: &ObjectiveInput,
    overrides: &[(Uuid, SoluteConstants)],
) -> AppResult<Gathered> {
    let (components, toxicity, model) = actor
        .run(async |tx| {
            visible(tx, id).await?;
            let components = repo::components(tx, id).await?;
            let ids: Vec<Uuid> = components.iter().map(|c| c.molecule_id).collect();
            let toxicity = crate::toxicity::scores_of(tx, &ids).await?;
            let model = match (objective.quantity, objective.model_id) {
                (Quantity::Model, Some(model)) => Some(production_model(actor, tx, model).await?),
                _ => None,
            };
            AppResult::Ok((components, toxicity, model))
        })
        .await?;
    let constants = components
        .iter()
        .map(|c| mixture_physics::constants_of(c, overrides).0)
        .collect();
    Ok(Gathered {
        components,
        constants,
        toxicity,
        model,
    })
}

/// Run the optimisation for a visible mixture.
pub async fn optimise(
    actor: &Actor<'_>,
    id: Uuid,
    input: OptimiseInput,
) -> AppResult<OptimiseOutcome> {
    optimise_reporting(actor, id, input, |_, _| {}).await
}

/// [`optimise`], calling `progress(starts done, starts)` (from the compute thread) after each
/// start, so a client can watch it.
pub async fn optimise_reporting(
    actor: &Actor<'_>,
    id: Uuid,
    input: OptimiseInput,
    progress: impl Fn(usize, usize) + Send + 'static,
) -> AppResult<OptimiseOutcome> {
    let overrides = parse_overrides(&input.overrides)?;
    let objective = Objective::parse(&input.objective)?;
    let starts = input.starts.unwrap_or(8);
    if !(1..=MAX_STARTS).contains(&starts) {
        return Err(AppError::validation(
            "starts",
            format!("between 1 and {MAX_STARTS}"),
        ));
    }
    let keep = input.proposals.unwrap_or(5);
    if !(1..=MAX_PROPOSALS).contains(&keep) {
        return Err(AppError::validation(
            "proposals",
            format!("between 1 and {MAX_PROPOSALS}"),
        ));
    }
    let max_molarity = positive("max_total_molarity", input.max_total_molarity)?;
    let max_osmolality = positive("max_osmolality", input.max_osmolality)?;
    let max_toxicity = positive("max_toxicity", input.max_toxicity)?;
    let total = positive("total", input.total)?;
    let gathered = gather(actor, id, &input.objective, &overrides).await?;
    let components = &gathered.components;
    let n = components.len();
    if let Some(cap) = input.max_components
        && !(1..=n).contains(&cap)
    {
        return Err(AppError::validation(
            "max_components",
            format!("between 1 and the mixture's {n} components"),
        ));
    }
    if max_toxicity.is_some() && gathered.toxicity.iter().all(Option::is_none) {
        return Err(AppError::validation(
            "max_toxicity",
            "no component has toxicity data (measured or predicted) you can see",
        ));
    }
    let (lower, upper) = bounds_of(components, &input.bounds)?;
    if let Some(s) = total {
        let unit = components[0].concentration_unit;
        if components.iter().any(|c| c.concentration_unit != unit) {
            return Err(AppError::validation(
                "total",
                "a fixed total needs every component in one unit",
            ));
        }
        let (lo, hi): (f64, f64) = (lower.iter().sum(), upper.iter().sum());
        if s < lo || s > hi {
            return Err(AppError::validation(
                "total",
                format!("the bounds allow totals from {lo} to {hi}"),
            ));
        }
    }
    let version = gathered.model.as_ref().map(|(v, _, _)| v.clone());
    let method = match input.method {
        MethodChoice::Gradient => Method::Gradient,
        MethodChoice::Pattern => Method::Pattern,
        MethodChoice::Auto => match &version {
            Some(v)
                if ["forest", "boost", "tree"]
                    .iter()
                    .any(|k| v.algorithm.contains(k)) =>
            {
                Method::Pattern
            }
            _ => Method::Gradient,
        },
    };
    let objective_text = describe(&input.objective, version.as_ref());
    let seed = input.seed.unwrap_or(0);
    let max_components = input.max_components;
    actor
        .app
        .compute
        .run(move |deadline| {
            let ev = Evaluator::new(
                gathered.components,
                gathered.constants,
                gathered.model.map(|(_, l, set)| (l, set)),
                objective.level,
                gathered.toxicity,
            )?;
            let ev = &ev;
            let quantity = objective.quantity;
            let mut inequalities: Vec<(String, Function<'_>)> = Vec::new();
            let mut ceiling = |name: String, max: f64, of: fn(&Evaluated) -> Option<f64>| {
                inequalities.push((
                    name,
                    Box::new(move |x: &[f64]| {
                        of(&ev.evaluate(quantity, x)).map_or(1e6, |v| v - max)
                    }),
                ));
            };
            if let Some(max) = max_molarity {
                ceiling(format!("total molarity ≤ {max} mol/L"), max, |e| {
                    e.total_molarity
                });
            }
            if let Some(max) = max_osmolality {
                ceiling(format!("osmolality ≤ {max} osmol/kg"), max, |e| {
                    e.osmolality
                });
            }
            if let Some(max) = max_toxicity {
                ceiling(format!("toxicity ≤ {max} / 100"), max, |e| e.toxicity);
            }
            let problem = Problem {
                lower,
                upper,
                total,
                inequalities,
                objective: Box::new(move |x: &[f64]| objective.cost(&ev.evaluate(quantity, x))),
                max_nonzero: max_components,
            };
            let current = ev.current();
            objective.check_bounded(&ev.evaluate(quantity, &current))?;
            let options = Options {
                method,
                starts,
                initial: vec![current.clone()],
                seed,
                keep,
                deadline,
            };
            let outcome = optimise::minimise(&problem, &options, progress)?;
            // Bounds are reported by variable index: name the component instead.
            let named = |constraints: Vec<Binding>| -> Vec<Binding> {
                constraints
                    .into_iter()
                    .map(|mut b| {
                        if let Some(rest) = b.name.strip_prefix("x[")
                            && let Some((i, tail)) = rest.split_once(']')
                            && let Some(c) =
                                i.parse::<usize>().ok().and_then(|i| ev.components.get(i))
                        {
                            let label = c.molecule_name.as_deref().unwrap_or(&c.canonical_smiles);
                            b.name = format!("{label}{tail} {}", c.concentration_unit.label());
                        }
                        b
                    })
                    .collect()
            };
            let proposal = |x: &[f64], constraints: Vec<Binding>, feasible: bool| {
                let constraints = named(constraints);
                let e = ev.evaluate(quantity, x);
                Proposal {
                    components: ev
                        .components
                        .iter()
                        .zip(x)
                        .filter(|(_, v)| **v > ABSENT)
                        .map(|(c, v)| ProposedComponent {
                            molecule_id: c.molecule_id,
                            name: c.molecule_name.clone(),
                            concentration: *v,
                            unit: c.concentration_unit,
                        })
                        .collect(),
                    value: e.value,
                    interval: e.interval,
                    tg_celsius: e.tg_celsius,
                    osmolality: e.osmolality,
                    total_molarity: e.total_molarity,
                    toxicity: e.toxicity,
                    constraints,
                    feasible,
                }
            };
            let now = optimise::assess(&problem, current.clone());
            // Feasible answers with a value; the best other one only when there is none.
            let usable: Vec<_> = outcome
                .optima
                .iter()
                .filter(|o| o.feasible && o.objective.is_finite())
                .collect();
            let shown: Vec<_> = if usable.is_empty() {
                outcome.optima.iter().take(1).collect()
            } else {
                usable
            };
            Ok(OptimiseOutcome {
                mixture_id: id,
                objective: objective_text,
                method,
                current: proposal(&current, now.constraints, now.feasible),
                proposals: shown
                    .into_iter()
                    .map(|o| proposal(&o.x, o.constraints.clone(), o.feasible))
                    .collect(),
                starts: outcome.starts,
                evaluations: outcome.evaluations,
                truncated: outcome.truncated,
            })
        })
        .await
}
