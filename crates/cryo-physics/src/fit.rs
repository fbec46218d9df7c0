//! Transport parameters from a measured volume curve: Lp, each Ps and the inactive fraction Vb
//! fitted by least squares (Levenberg–Marquardt on log Lp, log Ps and logit Vb, so every
//! iterate is physical), with Wald confidence intervals from the Jacobian at the optimum in the
//! parameters' own units: cov = s²·(JᵀJ)⁻¹, s² = RSS / (n − p), bounds value ± t(n − p)·SE.
//! The model is integrated exactly to each observation time ([`relative_volumes_at`]), at a
//! tight tolerance, so the finite-difference Jacobian is not drowned in integration noise.

use crate::ode::{Lu, Tolerance};
use crate::transport::{Cell, Start, Step, relative_volumes_at};
use crate::{PhysicsError, invalid};
use cryo_core::deadline::Deadline;
use serde::{Deserialize, Serialize};

/// A parameter to fit; the others keep the cell's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    Lp,
    /// Ps of the permeant at this index of `Cell::permeants`.
    Ps(usize),
    InactiveFraction,
}

impl Parameter {
    /// `lp`, `inactive_fraction` (or `vb`), or `ps:NAME` for a permeant of `cell`.
    pub fn parse(text: &str, cell: &Cell) -> Result<Parameter, PhysicsError> {
        match text {
            "lp" => Ok(Parameter::Lp),
            "inactive_fraction" | "vb" => Ok(Parameter::InactiveFraction),
            _ => {
                let name = text.strip_prefix("ps:").ok_or_else(|| {
                    invalid(
                        "fit",
                        format!("unknown parameter {text:?}: lp, vb or ps:NAME"),
                    )
                })?;
                cell.permeants
                    .iter()
                    .position(|p| p.name == name)
                    .map(Parameter::Ps)
                    .ok_or_else(|| invalid("fit", format!("the cell has no permeant {name:?}")))
            }
        }
    }

    pub fn name(self, cell: &Cell) -> String {
        match self {
            Parameter::Lp => "lp".into(),
            Parameter::InactiveFraction => "inactive_fraction".into(),
            Parameter::Ps(i) => format!("ps:{}", cell.permeants[i].name),
        }
    }

    fn get(self, cell: &Cell) -> f64 {
        match self {
            Parameter::Lp => cell.lp_um_per_min_atm,
            Parameter::Ps(i) => cell.permeants[i].ps_um_per_min,
            Parameter::InactiveFraction => cell.inactive_fraction,
        }
    }

    fn set(self, cell: &mut Cell, value: f64) {
        match self {
            Parameter::Lp => cell.lp_um_per_min_atm = value,
            Parameter::Ps(i) => cell.permeants[i].ps_um_per_min = value,
            Parameter::InactiveFraction => cell.inactive_fraction = value,
        }
    }

    /// To the unconstrained scale the search moves on, and back.
    fn free_of(self, value: f64) -> f64 {
        match self {
            Parameter::InactiveFraction => (value / (1.0 - value)).ln(),
            _ => value.ln(),
        }
    }

    fn value_of(self, x: f64) -> f64 {
        match self {
            Parameter::InactiveFraction => 1.0 / (1.0 + (-x).exp()),
            _ => x.exp(),
        }
    }
}

/// One measured point: minutes from the protocol's start, and V / V0.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub t_min: f64,
    pub relative_volume: f64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub parameter: String,
    pub value: f64,
    pub standard_error: f64,
    pub lower: f64,
    pub upper: f64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// The cell with the fitted values.
    pub cell: Cell,
    pub estimates: Vec<Estimate>,
    /// Confidence level of the intervals.
    pub level: f64,
    pub residual_sum_of_squares: f64,
    /// √(RSS / (n − p)), in relative volume.
    pub residual_sd: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Most observations one fit takes.
pub const MAX_OBSERVATIONS: usize = 10_000;

/// A fit request as a file or an API body gives it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The first guesses (and the values of what is not fitted).
    pub cell: Cell,
    /// What the cell went through while it was measured.
    pub steps: Vec<Step>,
    #[serde(default)]
    pub start: Start,
    pub observations: Vec<Observation>,
    /// `lp`, `vb` (`inactive_fraction`) and `ps:NAME` per permeant.
    pub parameters: Vec<String>,
    /// Confidence level of the intervals (default 0.95).
    #[serde(default = "default_level")]
    pub level: f64,
}

fn default_level() -> f64 {
    0.95
}

impl Request {
    pub fn fit(&self, deadline: &Deadline) -> Result<Fit, PhysicsError> {
        let parameters = self
            .parameters
            .iter()
            .map(|p| Parameter::parse(p, &self.cell))
            .collect::<Result<Vec<_>, _>>()?;
        fit(
            &self.cell,
            &self.steps,
            &self.start,
            &self.observations,
            &parameters,
            self.level,
            deadline,
        )
    }
}

/// Fits `parameters` of `cell` to `observations` of the cell going through `steps` from
/// `start`; the cell's values are the first guess.
pub fn fit(
    cell: &Cell,
    steps: &[Step],
    start: &Start,
    observations: &[Observation],
    parameters: &[Parameter],
    level: f64,
    deadline: &Deadline,
) -> Result<Fit, PhysicsError> {
    let p = parameters.len();
    let n = observations.len();
    if p == 0 {
        return Err(invalid("fit", "name at least one parameter"));
    }
    if (1..p).any(|i| parameters[..i].contains(&parameters[i])) {
        return Err(invalid("fit", "a parameter is named twice"));
    }
    if n <= p + 1 || n > MAX_OBSERVATIONS {
        return Err(invalid(
            "observations",
            format!(
                "need more than {} and at most {MAX_OBSERVATIONS} points",
                p + 1
            ),
        ));
    }
    if observations
        .iter()
        .any(|o| !(o.relative_volume.is_finite() && o.relative_volume > 0.0))
    {
        return Err(invalid("observations", "relative volumes must be > 0"));
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(invalid("level", "must be in (0, 1)"));
    }
    for &q in parameters {
        let v = q.get(cell);
        let ok = match q {
            Parameter::InactiveFraction => v > 0.0 && v < 1.0,
            _ => v > 0.0 && v.is_finite(),
        };
        if !ok {
            return Err(invalid(
                q.name(cell),
                format!("the first guess {v} is outside the parameter's range"),
            ));
        }
    }
    let tol = Tolerance {
        rtol: 1e-9,
        atol: 1e-10,
    };
    let times: Vec<f64> = observations.iter().map(|o| o.t_min).collect();
    let with = |values: &[f64]| {
        let mut c = cell.clone();
        for (q, v) in parameters.iter().zip(values) {
            q.set(&mut c, *v);
        }
        c
    };
    let residuals = |values: &[f64]| -> Result<Vec<f64>, PhysicsError> {
        let model = relative_volumes_at(&with(values), steps, start, &times, tol, deadline)?;
        Ok(model
            .iter()
            .zip(observations)
            .map(|(m, o)| m - o.relative_volume)
            .collect())
    };
    let rss = |r: &[f64]| r.iter().map(|e| e * e).sum::<f64>();
    // Jacobian of the residuals by forward differences, on whatever scale `values_of` maps.
    let jacobian = |x: &[f64],
                    r: &[f64],
                    values_of: &dyn Fn(&[f64]) -> Vec<f64>|
     -> Result<Vec<Vec<f64>>, PhysicsError> {
        let mut columns = Vec::with_capacity(p);
        for j in 0..p {
            let h = 1e-6 * x[j].abs().max(1e-3);
            let mut xp = x.to_vec();
            xp[j] += h;
            let rp = residuals(&values_of(&xp))?;
            columns.push(
                rp.iter()
                    .zip(r)
                    .map(|(a, b)| (a - b) / h)
                    .collect::<Vec<_>>(),
            );
        }
        Ok(columns)
    };
    let normal = |cols: &[Vec<f64>], r: &[f64]| {
        let jtj: Vec<Vec<f64>> = cols
            .iter()
            .map(|a| {
                cols.iter()
                    .map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum())
                    .collect()
            })
            .collect();
        let jtr: Vec<f64> = cols
            .iter()
            .map(|a| a.iter().zip(r).map(|(x, y)| x * y).sum())
            .collect();
        (jtj, jtr)
    };
    let natural = |x: &[f64]| -> Vec<f64> {
        parameters
            .iter()
            .zip(x)
            .map(|(q, v)| q.value_of(*v))
            .collect()
    };
    let mut x: Vec<f64> = parameters.iter().map(|q| q.free_of(q.get(cell))).collect();
    let mut r = residuals(&natural(&x))?;
    let mut current = rss(&r);
    let mut lambda = 1e-3;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < 200 {
        iterations += 1;
        let cols = jacobian(&x, &r, &natural)?;
        let (jtj, jtr) = normal(&cols, &r);
        let mut improved = false;
        while lambda < 1e12 {
            let damped: Vec<Vec<f64>> = (0..p)
                .map(|i| {
                    (0..p)
                        .map(|j| {
                            jtj[i][j]
                                + if i == j {
                                    lambda * jtj[i][i].max(1e-12)
                                } else {
                                    0.0
                                }
                        })
                        .collect()
                })
                .collect();
            let Some(lu) = Lu::factor(damped) else {
                lambda *= 10.0;
                continue;
            };
            let step = lu.solve(&jtr.iter().map(|g| -g).collect::<Vec<_>>());
            let trial: Vec<f64> = x.iter().zip(&step).map(|(a, b)| a + b).collect();
            if let Ok(rt) = residuals(&natural(&trial)) {
                let candidate = rss(&rt);
                if candidate < current {
                    let gain = (current - candidate) / current.max(1e-300);
                    let small = step
                        .iter()
                        .zip(&x)
                        .all(|(d, v)| d.abs() <= 1e-10 * v.abs().max(1.0));
                    x = trial;
                    r = rt;
                    current = candidate;
                    lambda = (lambda / 10.0).max(1e-12);
                    improved = true;
                    converged = gain < 1e-12 || small;
                    break;
                }
            }
            lambda *= 10.0;
        }
        if !improved {
            // No step lowers the sum of squares: a minimum to the precision of the model.
            converged = true;
        }
        if converged {
            break;
        }
    }
    // Intervals on the parameters' own scale.
    let values = natural(&x);
    let cols = jacobian(&values, &r, &|v: &[f64]| v.to_vec())?;
    let (jtj, _) = normal(&cols, &r);
    let dof = (n - p) as f64;
    let s2 = current / dof;
    let lu = Lu::factor(jtj)
        .ok_or_else(|| invalid("fit", "the parameters are not identifiable from these data"))?;
    let t = cryo_core::quantile::student_t_quantile(0.5 + level / 2.0, dof);
    let estimates = parameters
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let unit: Vec<f64> = (0..p).map(|j| f64::from(u8::from(i == j))).collect();
            let se = (s2 * lu.solve(&unit)[i]).max(0.0).sqrt();
            Estimate {
                parameter: q.name(cell),
                value: values[i],
                standard_error: se,
                lower: values[i] - t * se,
                upper: values[i] + t * se,
            }
        })
        .collect();
    Ok(Fit {
        cell: with(&values),
        estimates,
        level,
        residual_sum_of_squares: current,
        residual_sd: s2.sqrt(),
        iterations,
        converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Medium;

    use crate::transport::tests::cell;

    /// The classic perfusion experiment: isotonic medium with 1.4 M DMSO for 15 minutes.
    fn steps() -> Vec<Step> {
        vec![Step {
            medium: Medium {
                nonpermeating_osmolality: 0.3,
                permeating: vec![1.4],
            },
            duration_min: 15.0,
            start_temperature_k: 295.15,
            end_temperature_k: None,
        }]
    }

    /// Gaussian noise, Box–Muller over a xorshift stream (deterministic per seed).
    fn noise(seed: u64, n: usize, sd: f64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut uniform = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let (u, v) = (uniform(), uniform());
                sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
            })
            .collect()
    }

    fn curve(truth: &Cell, sd: f64, seed: u64) -> Vec<Observation> {
        let times: Vec<f64> = (1..=60).map(|i| f64::from(i) * 0.25).collect();
        let tol = Tolerance {
            rtol: 1e-10,
            atol: 1e-12,
        };
        let v = relative_volumes_at(
            truth,
            &steps(),
            &Start::Isotonic,
            &times,
            tol,
            &Deadline::NONE,
        )
        .unwrap();
        v.iter()
            .zip(&times)
            .zip(noise(seed, times.len(), sd))
            .map(|((v, t), e)| Observation {
                t_min: *t,
                relative_volume: v + e,
            })
            .collect()
    }

    fn all(c: &Cell) -> Vec<Parameter> {
        ["lp", "ps:DMSO", "vb"]
            .iter()
            .map(|n| Parameter::parse(n, c).unwrap())
            .collect()
    }

    fn guess() -> Cell {
        let mut c = cell();
        c.lp_um_per_min_atm = 0.1;
        c.permeants[0].ps_um_per_min = 1.0;
        c.inactive_fraction = 0.5;
        c
    }

    #[test]
    fn a_noiseless_curve_gives_back_its_parameters_from_a_distant_guess() {
        let truth = cell();
        let f = fit(
            &guess(),
            &steps(),
            &Start::Isotonic,
            &curve(&truth, 0.0, 1),
            &all(&truth),
            0.95,
            &Deadline::NONE,
        )
        .unwrap();
        assert!(f.converged);
        for (e, want) in f.estimates.iter().zip([0.2, 0.5, 0.3]) {
            assert!((e.value - want).abs() < 1e-5 * want, "{e:?}");
        }
    }

    #[test]
    fn noisy_curves_give_intervals_that_cover_the_truth_at_their_level() {
        let truth = cell();
        let mut covered = [0; 3];
        let runs = 20;
        for seed in 0..runs {
            let f = fit(
                &guess(),
                &steps(),
                &Start::Isotonic,
                &curve(&truth, 0.005, seed),
                &all(&truth),
                0.95,
                &Deadline::NONE,
            )
            .unwrap();
            assert!(f.converged);
            // The residual SD estimates the noise.
            assert!((f.residual_sd - 0.005).abs() < 0.0015, "{}", f.residual_sd);
            for (i, (e, want)) in f.estimates.iter().zip([0.2, 0.5, 0.3]).enumerate() {
                assert!(e.lower < e.value && e.value < e.upper);
                // Within 15 % of the truth at this noise, and the interval says so.
                assert!((e.value - want).abs() < 0.15 * want, "{e:?}");
                covered[i] += usize::from(e.lower <= want && want <= e.upper);
            }
        }
        // 95 % intervals: at least 16 of 20 cover (P(fewer) < 0.2 % if they are calibrated).
        assert!(covered.iter().all(|&c| c >= 16), "{covered:?}");
    }

    #[test]
    fn bad_requests_are_refused_by_name() {
        let c = cell();
        assert!(matches!(
            Parameter::parse("ps:glycerol", &c),
            Err(PhysicsError::Invalid { field, .. }) if field == "fit"
        ));
        let points = curve(&c, 0.0, 1);
        assert!(matches!(
            fit(&c, &steps(), &Start::Isotonic, &points[..3], &all(&c), 0.95, &Deadline::NONE),
            Err(PhysicsError::Invalid { field, .. }) if field == "observations"
        ));
        let mut late = points.clone();
        late.push(Observation {
            t_min: 99.0,
            relative_volume: 1.0,
        });
        assert!(matches!(
            fit(&c, &steps(), &Start::Isotonic, &late, &all(&c), 0.95, &Deadline::NONE),
            Err(PhysicsError::Invalid { field, .. }) if field == "times"
        ));
    }
}
