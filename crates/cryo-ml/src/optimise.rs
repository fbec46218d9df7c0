//! Constrained minimisation over a small box (a mixture's component amounts): bounds
//! lᵢ ≤ xᵢ ≤ uᵢ, an optional fixed total Σ xᵢ = S, any number of smooth inequalities gⱼ(x) ≤ 0,
//! and an optional cap on how many components may be non-zero.
//!
//! **Method.** An augmented Lagrangian for the inequalities (Powell–Hestenes–Rockafellar:
//! ψ(g, λ, ρ) = (max(0, λ + ρ·g)² − λ²)/(2ρ), multipliers updated as λ ← max(0, λ + ρ·g), ρ
//! raised tenfold when the violation does not fall by 4×) around an inner solver that stays
//! exactly inside the box ∩ hyperplane (the projection onto it is a one-dimensional root find
//! on the shift τ in clamp(y − τ, l, u)):
//! - [`Method::Gradient`]: projected gradient with Barzilai–Borwein steps and an Armijo search
//!   along the projection arc; gradients by central differences (one-sided at a bound). For
//!   smooth objectives (the score, linear and kernel models), like SciPy's SLSQP.
//! - [`Method::Pattern`]: a compass search over moves that keep the total (eᵢ − eⱼ when Σ is
//!   fixed, ±eᵢ otherwise), halving the step when no move improves. For piecewise-constant
//!   objectives (tree ensembles) whose gradient is zero almost everywhere.
//!
//! Several starts (the caller's, then uniform draws in the box projected onto the feasible set,
//! from a seeded generator) give several local optima; the best distinct ones are returned.
//! The component cap is met greedily: solve, keep the largest components, fix the rest at zero
//! and solve again.

use crate::MlError;
use cryo_core::deadline::Deadline;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// The most variables a problem may have (a cocktail's components).
pub const MAX_VARIABLES: usize = 32;
/// The most starts one run may take.
pub const MAX_STARTS: usize = 64;

/// A function of the variables.
pub type Function<'a> = Box<dyn Fn(&[f64]) -> f64 + Sync + 'a>;

/// What to minimise, over what.
pub struct Problem<'a> {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Σ x = this, when set.
    pub total: Option<f64>,
    /// Each gⱼ(x) ≤ 0, with a name for the report.
    pub inequalities: Vec<(String, Function<'a>)>,
    pub objective: Function<'a>,
    /// At most this many xᵢ > 0.
    pub max_nonzero: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Method {
    Gradient,
    Pattern,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub method: Method,
    pub starts: usize,
    /// Starting points tried first (projected onto the feasible set).
    pub initial: Vec<Vec<f64>>,
    pub seed: u64,
    /// How many distinct optima to return.
    pub keep: usize,
    pub deadline: Deadline,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            method: Method::Gradient,
            starts: 8,
            initial: Vec::new(),
            seed: 0,
            keep: 5,
            deadline: Deadline::NONE,
        }
    }
}

/// How a constraint stands at a solution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Binding {
    pub name: String,
    /// g(x) for an inequality (≤ 0 when met), x − bound for a bound.
    pub value: f64,
    /// At its limit (within tolerance): relaxing it could improve the objective.
    pub active: bool,
    pub satisfied: bool,
}

/// One local optimum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Optimum {
    pub x: Vec<f64>,
    pub objective: f64,
    /// Bounds at their limit and every inequality.
    pub constraints: Vec<Binding>,
    pub feasible: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Best first, distinct.
    pub optima: Vec<Optimum>,
    pub starts: usize,
    pub evaluations: u64,
    /// Stopped at the deadline before every start ran.
    pub truncated: bool,
}

/// Tolerance on constraint violation and on "at a bound".
const FEASIBILITY_TOL: f64 = 1e-6;

/// Minimise `problem.objective` under its constraints. `progress(done, total)` is called after
/// each start.
pub fn minimise(
    problem: &Problem<'_>,
    options: &Options,
    mut progress: impl FnMut(usize, usize),
) -> Result<Outcome, MlError> {
    check(problem, options)?;
    let n = problem.lower.len();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
    let starts: Vec<Vec<f64>> = options
        .initial
        .iter()
        .take(options.starts)
        .cloned()
        .chain(std::iter::repeat_with(|| {
            (0..n)
                .map(|i| {
                    let (l, u) = (problem.lower[i], problem.upper[i]);
                    if u > l { rng.random_range(l..=u) } else { l }
                })
                .collect()
        }))
        .take(options.starts)
        .collect();
    let mut counter = Counter::default();
    let mut found: Vec<Optimum> = Vec::new();
    let mut ran = 0;
    let mut truncated = false;
    for start in &starts {
        if ran > 0 && options.deadline.expired() {
            truncated = true;
            break;
        }
        let start = finite_start(problem, &starts[0], start, &mut counter);
        let x = solve_with_cap(problem, options, &start, &mut counter);
        found.push(report(problem, x, &mut counter));
        ran += 1;
        progress(ran, starts.len());
    }
    found.sort_by(|a, b| {
        b.feasible
            .cmp(&a.feasible)
            .then(a.objective.total_cmp(&b.objective))
    });
    let mut distinct: Vec<Optimum> = Vec::new();
    for o in found {
        let scale = problem
            .upper
            .iter()
            .zip(&problem.lower)
            .map(|(u, l)| u - l)
            .fold(1e-12, f64::max);
        if !distinct
            .iter()
            .any(|d| distance(&d.x, &o.x) <= 1e-3 * scale)
        {
            distinct.push(o);
        }
        if distinct.len() == options.keep {
            break;
        }
    }
    Ok(Outcome {
        optima: distinct,
        starts: ran,
        evaluations: counter.0,
        truncated,
    })
}

/// A start where the objective is undefined (a composition with no room for water, say) is
/// pulled halfway toward the first start, up to 30 times, so the search begins where it can
/// compare points.
fn finite_start(
    problem: &Problem<'_>,
    anchor: &[f64],
    start: &[f64],
    counter: &mut Counter,
) -> Vec<f64> {
    let mut x = start.to_vec();
    for _ in 0..30 {
        if counter.eval(&problem.objective, &x).is_finite() {
            break;
        }
        for (v, a) in x.iter_mut().zip(anchor) {
            *v = 0.5 * (*v + a);
        }
    }
    x
}

fn check(problem: &Problem<'_>, options: &Options) -> Result<(), MlError> {
    let n = problem.lower.len();
    let bad = |name: &'static str, reason: String| MlError::InvalidParameter { name, reason };
    if n == 0 || n > MAX_VARIABLES {
        return Err(bad(
            "variables",
            format!("between 1 and {MAX_VARIABLES}, got {n}"),
        ));
    }
    if problem.upper.len() != n {
        return Err(bad("upper", "one bound per variable".into()));
    }
    for i in 0..n {
        let (l, u) = (problem.lower[i], problem.upper[i]);
        if !l.is_finite() || !u.is_finite() || l > u {
            return Err(bad(
                "bounds",
                format!("variable {i}: need finite lower ≤ upper, got [{l}, {u}]"),
            ));
        }
    }
    if let Some(s) = problem.total {
        let (lo, hi): (f64, f64) = (problem.lower.iter().sum(), problem.upper.iter().sum());
        if !s.is_finite() || s < lo - 1e-12 || s > hi + 1e-12 {
            return Err(bad(
                "total",
                format!("the bounds allow totals from {lo} to {hi}, not {s}"),
            ));
        }
    }
    if options.starts == 0 || options.starts > MAX_STARTS {
        return Err(bad(
            "starts",
            format!("between 1 and {MAX_STARTS}, got {}", options.starts),
        ));
    }
    if problem.max_nonzero == Some(0) {
        return Err(bad("max_components", "at least 1".into()));
    }
    if let Some(k) = problem.max_nonzero
        && problem.lower.iter().filter(|l| **l > 0.0).count() > k
    {
        return Err(bad(
            "max_components",
            format!("more than {k} components have a minimum above zero"),
        ));
    }
    Ok(())
}

#[derive(Default)]
struct Counter(u64);

impl Counter {
    fn eval(&mut self, f: &Function<'_>, x: &[f64]) -> f64 {
        self.0 += 1;
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    }
}

/// Solve from `start`; if more than `max_nonzero` components are used, keep the largest
/// (those with a positive minimum first), fix the others at zero and solve again. When that
/// subset cannot meet the inequalities, try swapping one kept component for one dropped (at most
/// 2n subsets), and keep the least violating answer.
fn solve_with_cap(
    problem: &Problem<'_>,
    options: &Options,
    start: &[f64],
    counter: &mut Counter,
) -> Vec<f64> {
    let x = solve(
        problem,
        &problem.lower,
        &problem.upper,
        options,
        start,
        counter,
    );
    let Some(cap) = problem.max_nonzero else {
        return x;
    };
    if x.iter().filter(|v| **v > FEASIBILITY_TOL).count() <= cap {
        return x;
    }
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| {
        (problem.lower[b] > 0.0)
            .cmp(&(problem.lower[a] > 0.0))
            .then(x[b].total_cmp(&x[a]))
    });
    let (kept, dropped) = order.split_at(cap);
    let swaps = kept
        .iter()
        .rev()
        .filter(|&&k| problem.lower[k] <= 0.0)
        .flat_map(|&k| {
            dropped.iter().map(move |&d| {
                let mut subset: Vec<usize> = kept.to_vec();
                subset.retain(|&i| i != k);
                subset.push(d);
                subset
            })
        });
    let mut best: Option<(f64, Vec<f64>)> = None;
    for subset in std::iter::once(kept.to_vec())
        .chain(swaps)
        .take(2 * x.len())
    {
        let upper: Vec<f64> = (0..x.len())
            .map(|i| {
                if subset.contains(&i) {
                    problem.upper[i]
                } else {
                    0.0
                }
            })
            .collect();
        if problem
            .total
            .is_some_and(|s| upper.iter().sum::<f64>() < s - 1e-12)
        {
            continue;
        }
        let y = solve(problem, &problem.lower, &upper, options, &x, counter);
        let violation = problem
            .inequalities
            .iter()
            .map(|(_, g)| counter.eval(g, &y))
            .fold(0.0f64, f64::max);
        if violation <= FEASIBILITY_TOL {
            return y;
        }
        if best.as_ref().is_none_or(|(v, _)| violation < *v) {
            best = Some((violation, y));
        }
        if options.deadline.expired() {
            break;
        }
    }
    best.map_or(x, |(_, y)| y)
}

/// The augmented-Lagrangian outer loop.
fn solve(
    problem: &Problem<'_>,
    lower: &[f64],
    upper: &[f64],
    options: &Options,
    start: &[f64],
    counter: &mut Counter,
) -> Vec<f64> {
    let set = Feasible {
        lower,
        upper,
        total: problem.total,
    };
    let mut x = set.project(start);
    let m = problem.inequalities.len();
    let mut lambda = vec![0.0; m];
    let mut rho = 10.0;
    let mut last_violation = f64::INFINITY;
    for _outer in 0..30 {
        let merit = |x: &[f64], counter: &mut Counter| -> f64 {
            let mut v = counter.eval(&problem.objective, x);
            for (j, (_, g)) in problem.inequalities.iter().enumerate() {
                let gj = counter.eval(g, x);
                v += ((lambda[j] + rho * gj).max(0.0).powi(2) - lambda[j].powi(2)) / (2.0 * rho);
            }
            v
        };
        x = match options.method {
            Method::Gradient => projected_gradient(&set, merit, x, counter, &options.deadline),
            Method::Pattern => compass(&set, merit, x, counter, &options.deadline),
        };
        let g: Vec<f64> = problem
            .inequalities
            .iter()
            .map(|(_, g)| counter.eval(g, &x))
            .collect();
        let violation = g.iter().fold(0.0f64, |a, v| a.max(*v));
        let slack_ok = g
            .iter()
            .zip(&lambda)
            .all(|(gj, l)| *gj > -FEASIBILITY_TOL * 1e-4 || *l < 1e-8);
        if m == 0 || (violation <= FEASIBILITY_TOL * 1e-4 && slack_ok) {
            break;
        }
        for j in 0..m {
            lambda[j] = (lambda[j] + rho * g[j]).max(0.0);
        }
        if violation > 0.25 * last_violation {
            rho = (rho * 10.0).min(1e10);
        }
        last_violation = violation;
        if options.deadline.expired() {
            break;
        }
    }
    x
}

/// The box ∩ hyperplane the inner solvers stay in.
struct Feasible<'a> {
    lower: &'a [f64],
    upper: &'a [f64],
    total: Option<f64>,
}

impl Feasible<'_> {
    /// The nearest point (Euclidean) of the set.
    fn project(&self, y: &[f64]) -> Vec<f64> {
        let clamp = |tau: f64| -> Vec<f64> {
            y.iter()
                .zip(self.lower.iter().zip(self.upper))
                .map(|(v, (l, u))| (v - tau).clamp(*l, *u))
                .collect()
        };
        let Some(s) = self.total else {
            return clamp(0.0);
        };
        // Σ clamp(y − τ) falls as τ rises: bisect on τ.
        let spread = y
            .iter()
            .zip(self.lower.iter().zip(self.upper))
            .map(|(v, (l, u))| (v - l).abs().max((v - u).abs()))
            .fold(1.0, f64::max);
        let (mut lo, mut hi) = (-spread - 1.0, spread + 1.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if clamp(mid).iter().sum::<f64>() > s {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-15 * spread {
                break;
            }
        }
        let mut x = clamp(0.5 * (lo + hi));
        // Put the last rounding error on a variable with room, so Σ holds to the ulp.
        let err = s - x.iter().sum::<f64>();
        if let Some(i) = (0..x.len()).find(|&i| {
            let v = x[i] + err;
            v >= self.lower[i] && v <= self.upper[i]
        }) {
            x[i] += err;
        }
        x
    }
}

/// Central differences, one-sided where a bound is closer than the step.
fn gradient(
    set: &Feasible<'_>,
    f: &impl Fn(&[f64], &mut Counter) -> f64,
    x: &[f64],
    fx: f64,
    counter: &mut Counter,
) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut probe = x.to_vec();
    for i in 0..x.len() {
        let (l, u) = (set.lower[i], set.upper[i]);
        if u <= l {
            continue;
        }
        let h = 1e-6 * x[i].abs().max((u - l).abs()).max(1e-3);
        let up = x[i] + h <= u;
        let down = x[i] - h >= l;
        g[i] = match (up, down) {
            (true, true) => {
                probe[i] = x[i] + h;
                let a = f(&probe, counter);
                probe[i] = x[i] - h;
                let b = f(&probe, counter);
                (a - b) / (2.0 * h)
            }
            (true, false) => {
                probe[i] = x[i] + h;
                (f(&probe, counter) - fx) / h
            }
            (false, true) => {
                probe[i] = x[i] - h;
                (fx - f(&probe, counter)) / h
            }
            (false, false) => 0.0,
        };
        probe[i] = x[i];
    }
    g
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn projected_gradient(
    set: &Feasible<'_>,
    f: impl Fn(&[f64], &mut Counter) -> f64,
    mut x: Vec<f64>,
    counter: &mut Counter,
    deadline: &Deadline,
) -> Vec<f64> {
    let scale = set
        .upper
        .iter()
        .zip(set.lower)
        .map(|(u, l)| u - l)
        .fold(1e-12, f64::max);
    let mut fx = f(&x, counter);
    let mut g = gradient(set, &f, &x, fx, counter);
    let mut step = 0.1 * scale / g.iter().map(|v| v.abs()).fold(1e-12, f64::max);
    for _ in 0..500 {
        if deadline.expired() {
            break;
        }
        let mut accepted = None;
        let mut alpha = step;
        for _ in 0..40 {
            let trial: Vec<f64> = x.iter().zip(&g).map(|(xi, gi)| xi - alpha * gi).collect();
            let trial = set.project(&trial);
            let decrease: f64 = g
                .iter()
                .zip(trial.iter().zip(&x))
                .map(|(gi, (t, xi))| gi * (t - xi))
                .sum();
            let ft = f(&trial, counter);
            if ft <= fx + 1e-4 * decrease {
                accepted = Some((trial, ft));
                break;
            }
            alpha *= 0.5;
        }
        let Some((next, fnext)) = accepted else { break };
        let moved = distance(&next, &x);
        let g_next = gradient(set, &f, &next, fnext, counter);
        // Barzilai–Borwein: s·s / s·y when the curvature along the step is positive.
        let (mut ss, mut sy) = (0.0, 0.0);
        for i in 0..x.len() {
            let s = next[i] - x[i];
            ss += s * s;
            sy += s * (g_next[i] - g[i]);
        }
        step = if sy > 1e-300 {
            (ss / sy).clamp(1e-12, 1e12)
        } else {
            step * 2.0
        };
        let improvement = fx - fnext;
        x = next;
        fx = fnext;
        g = g_next;
        if moved <= 1e-10 * scale || improvement.abs() <= 1e-14 * fx.abs().max(1.0) {
            break;
        }
    }
    x
}

fn compass(
    set: &Feasible<'_>,
    f: impl Fn(&[f64], &mut Counter) -> f64,
    mut x: Vec<f64>,
    counter: &mut Counter,
    deadline: &Deadline,
) -> Vec<f64> {
    let n = x.len();
    let free: Vec<usize> = (0..n).filter(|&i| set.upper[i] > set.lower[i]).collect();
    let mut directions: Vec<Vec<(usize, f64)>> = Vec::new();
    if set.total.is_some() {
        for &i in &free {
            for &j in &free {
                if i != j {
                    directions.push(vec![(i, 1.0), (j, -1.0)]);
                }
            }
        }
    } else {
        for &i in &free {
            directions.push(vec![(i, 1.0)]);
            directions.push(vec![(i, -1.0)]);
        }
    }
    let scale = free
        .iter()
        .map(|&i| set.upper[i] - set.lower[i])
        .fold(1e-12, f64::max);
    let mut step = 0.25 * scale;
    let mut fx = f(&x, counter);
    while step > 1e-7 * scale && !deadline.expired() {
        let mut improved = false;
        for d in &directions {
            let mut trial = x.clone();
            let mut inside = true;
            for &(i, sign) in d {
                trial[i] += sign * step;
                inside &= trial[i] >= set.lower[i] - 1e-12 && trial[i] <= set.upper[i] + 1e-12;
            }
            if !inside {
                continue;
            }
            let ft = f(&trial, counter);
            if ft < fx {
                x = trial;
                fx = ft;
                improved = true;
            }
        }
        if !improved {
            step *= 0.5;
        }
    }
    x
}

/// How `x` stands against `problem`: its objective and every constraint (for a starting point
/// or any composition the caller wants to compare with the optima).
pub fn assess(problem: &Problem<'_>, x: Vec<f64>) -> Optimum {
    report(problem, x, &mut Counter::default())
}

fn report(problem: &Problem<'_>, x: Vec<f64>, counter: &mut Counter) -> Optimum {
    let mut constraints = Vec::new();
    let mut feasible = true;
    for (i, v) in x.iter().enumerate() {
        let (l, u) = (problem.lower[i], problem.upper[i]);
        let width = (u - l).abs().max(1.0);
        if u > l && (v - l).abs() <= FEASIBILITY_TOL * width {
            constraints.push(Binding {
                name: format!("x[{i}] ≥ {l}"),
                value: v - l,
                active: true,
                satisfied: true,
            });
        } else if u > l && (u - v).abs() <= FEASIBILITY_TOL * width {
            constraints.push(Binding {
                name: format!("x[{i}] ≤ {u}"),
                value: v - u,
                active: true,
                satisfied: true,
            });
        }
        feasible &= *v >= l - FEASIBILITY_TOL * width && *v <= u + FEASIBILITY_TOL * width;
    }
    if let Some(s) = problem.total {
        let sum: f64 = x.iter().sum();
        let ok = (sum - s).abs() <= FEASIBILITY_TOL * s.abs().max(1.0);
        feasible &= ok;
        constraints.push(Binding {
            name: format!("Σ = {s}"),
            value: sum - s,
            active: true,
            satisfied: ok,
        });
    }
    for (name, g) in &problem.inequalities {
        let value = counter.eval(g, &x);
        let satisfied = value <= FEASIBILITY_TOL;
        feasible &= satisfied;
        constraints.push(Binding {
            name: name.clone(),
            value,
            active: value.abs() <= 1e-4 || value > 0.0,
            satisfied,
        });
    }
    if let Some(cap) = problem.max_nonzero {
        let used = x.iter().filter(|v| **v > FEASIBILITY_TOL).count();
        feasible &= used <= cap;
        constraints.push(Binding {
            name: format!("at most {cap} components"),
            value: used as f64 - cap as f64,
            active: used == cap,
            satisfied: used <= cap,
        });
    }
    let objective = counter.eval(&problem.objective, &x);
    Optimum {
        x,
        objective,
        constraints,
        feasible,
    }
}

#[cfg(test)]
mod tests;
