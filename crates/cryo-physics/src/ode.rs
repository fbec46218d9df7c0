//! An adaptive, L-stable Rosenbrock integrator for small stiff systems: Shampine & Reichelt's
//! ode23s (SIAM J. Sci. Comput. 18 (1997) 1–22, the method of MATLAB's `ode23s`), a second-order
//! W-method with a third-order error estimate, d = 1 / (2 + √2). The Jacobian is taken by
//! forward differences each step (the systems here have one equation per species), and the
//! step size follows the error with the usual safety factor. A high-Lp cell in a large osmotic
//! step is stiff; this method stays stable there at step sizes set by accuracy alone.

use crate::PhysicsError;
use cryo_core::deadline::Deadline;

/// Error control: a step is accepted when |err_i| ≤ atol + rtol·|y_i| for every component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            rtol: 1e-6,
            atol: 1e-9,
        }
    }
}

/// The accepted steps: times and states.
#[derive(Debug, Clone)]
pub struct Solution {
    pub t: Vec<f64>,
    pub y: Vec<Vec<f64>>,
    /// Steps rejected by the error control.
    pub rejected: usize,
}

/// Most steps one integration may take.
pub const MAX_STEPS: usize = 200_000;

/// W = LU with partial pivoting, factored once per step and solved for all three stages.
pub(crate) struct Lu {
    /// U above the diagonal (and on it), L's multipliers below.
    a: Vec<Vec<f64>>,
    /// Row `i` of the factored matrix is row `perm[i]` of W.
    perm: Vec<usize>,
}

impl Lu {
    pub(crate) fn factor(mut a: Vec<Vec<f64>>) -> Option<Lu> {
        let n = a.len();
        let mut perm: Vec<usize> = (0..n).collect();
        for col in 0..n {
            let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
            if a[pivot][col].abs() < 1e-300 {
                return None;
            }
            a.swap(col, pivot);
            perm.swap(col, pivot);
            let (top, rest) = a.split_at_mut(col + 1);
            let pivot_row = &top[col];
            for row in rest.iter_mut() {
                let f = row[col] / pivot_row[col];
                for (x, p) in row[col + 1..].iter_mut().zip(&pivot_row[col + 1..]) {
                    *x -= f * p;
                }
                row[col] = f;
            }
        }
        Some(Lu { a, perm })
    }

    pub(crate) fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = b.len();
        let mut x: Vec<f64> = self.perm.iter().map(|&i| b[i]).collect();
        for row in 0..n {
            let s: f64 = (0..row).map(|k| self.a[row][k] * x[k]).sum();
            x[row] -= s;
        }
        for row in (0..n).rev() {
            let s: f64 = (row + 1..n).map(|k| self.a[row][k] * x[k]).sum();
            x[row] = (x[row] - s) / self.a[row][row];
        }
        x
    }
}

/// A right-hand side: y' at (t, y), or `None` where the state is outside its domain.
pub type Rhs<'a> = &'a dyn Fn(f64, &[f64]) -> Option<Vec<f64>>;

/// Integrates y' = f(t, y) from `t0` to `t1`, starting at `y0`. `f` returns `None` where the
/// state is outside its domain (the step is then retried smaller).
pub fn integrate(
    f: Rhs<'_>,
    t0: f64,
    t1: f64,
    y0: &[f64],
    tol: Tolerance,
) -> Result<Solution, PhysicsError> {
    integrate_until(f, t0, t1, y0, tol, &|_| false, &Deadline::NONE)
}

/// [`integrate`], ending early after the first accepted step whose state satisfies `stop`
/// (an endpoint: the caller interpolates within that last step), and failing once `deadline`
/// has passed (checked every 64 steps).
pub fn integrate_until(
    f: Rhs<'_>,
    t0: f64,
    t1: f64,
    y0: &[f64],
    tol: Tolerance,
    stop: &dyn Fn(&[f64]) -> bool,
    deadline: &Deadline,
) -> Result<Solution, PhysicsError> {
    let n = y0.len();
    let d = 1.0 / (2.0 + std::f64::consts::SQRT_2);
    let e32 = 6.0 + std::f64::consts::SQRT_2;
    let span = t1 - t0;
    let mut t = t0;
    let mut y = y0.to_vec();
    let mut out = Solution {
        t: vec![t0],
        y: vec![y.clone()],
        rejected: 0,
    };
    if span <= 0.0 {
        return Ok(out);
    }
    let mut h = (span * 1e-4).max(1e-12);
    let h_min = span * 1e-14;
    let mut f0 = f(t, &y).ok_or(PhysicsError::Unphysical {
        water_um3: y[0],
        at: t,
    })?;
    let mut derivatives: Option<(Vec<Vec<f64>>, Vec<f64>)> = None;
    for attempt_no in 0..MAX_STEPS {
        if t >= t1 {
            return Ok(out);
        }
        if attempt_no % 64 == 63 {
            deadline.check()?;
        }
        h = h.min(t1 - t);
        // Jacobian by forward differences, and ∂f/∂t likewise (temperature ramps): once per
        // accepted state, reused by the retries of a rejected step.
        let (jac, tdot) = derivatives.get_or_insert_with(|| {
            let mut jac = vec![vec![0.0; n]; n];
            for j in 0..n {
                let delta = 1e-7 * y[j].abs().max(1e-7);
                let mut yp = y.clone();
                yp[j] += delta;
                let fp = f(t, &yp).unwrap_or_else(|| f0.clone());
                for i in 0..n {
                    jac[i][j] = (fp[i] - f0[i]) / delta;
                }
            }
            let dt = 1e-7 * t.abs().max(1e-3);
            let ft = f(t + dt, &y).unwrap_or_else(|| f0.clone());
            let tdot: Vec<f64> = (0..n).map(|i| (ft[i] - f0[i]) / dt).collect();
            (jac, tdot)
        });
        let w: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| f64::from(u8::from(i == j)) - h * d * jac[i][j])
                    .collect()
            })
            .collect();
        let attempt = (|| {
            let lu = Lu::factor(w)?;
            let k1 = lu.solve(&(0..n).map(|i| f0[i] + h * d * tdot[i]).collect::<Vec<_>>());
            let y_half: Vec<f64> = (0..n).map(|i| y[i] + 0.5 * h * k1[i]).collect();
            let f1 = f(t + 0.5 * h, &y_half)?;
            let k2: Vec<f64> = lu
                .solve(&(0..n).map(|i| f1[i] - k1[i]).collect::<Vec<_>>())
                .iter()
                .zip(&k1)
                .map(|(a, b)| a + b)
                .collect();
            let y_new: Vec<f64> = (0..n).map(|i| y[i] + h * k2[i]).collect();
            let f2 = f(t + h, &y_new)?;
            let k3 = lu.solve(
                &(0..n)
                    .map(|i| {
                        f2[i] - e32 * (k2[i] - f1[i]) - 2.0 * (k1[i] - f0[i]) + h * d * tdot[i]
                    })
                    .collect::<Vec<_>>(),
            );
            let err = (0..n)
                .map(|i| {
                    let e = h / 6.0 * (k1[i] - 2.0 * k2[i] + k3[i]);
                    let scale = tol.atol + tol.rtol * y[i].abs().max(y_new[i].abs());
                    (e / scale).abs()
                })
                .fold(0.0, f64::max);
            Some((y_new, f2, err))
        })();
        match attempt {
            Some((y_new, f2, err)) if err <= 1.0 => {
                derivatives = None;
                t += h;
                y = y_new;
                f0 = f2;
                out.t.push(t);
                out.y.push(y.clone());
                if stop(&y) {
                    return Ok(out);
                }
                // Third-order error estimate: the step grows with err^(-1/3).
                let grow = if err == 0.0 {
                    5.0
                } else {
                    (0.8 * err.powf(-1.0 / 3.0)).clamp(0.2, 5.0)
                };
                h *= grow;
            }
            Some((_, _, err)) => {
                out.rejected += 1;
                h *= (0.8 * err.powf(-1.0 / 3.0)).clamp(0.1, 0.5);
            }
            None => {
                out.rejected += 1;
                h *= 0.25;
            }
        }
        if h < h_min {
            return Err(PhysicsError::StepTooSmall { step: h, at: t });
        }
    }
    Err(PhysicsError::TooManySteps(MAX_STEPS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factorisation_solves_a_system_that_needs_pivoting() {
        // A zero on the first pivot: without row exchanges this fails.
        let a = vec![
            vec![0.0, 2.0, 1.0],
            vec![1.0, 1.0, 0.0],
            vec![3.0, 0.0, 1.0],
        ];
        let x = [1.0, -2.0, 4.0];
        let b: Vec<f64> = a
            .iter()
            .map(|row| row.iter().zip(&x).map(|(r, v)| r * v).sum())
            .collect();
        let lu = Lu::factor(a).unwrap();
        for (got, want) in lu.solve(&b).iter().zip(x) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!(Lu::factor(vec![vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
    }

    #[test]
    fn exponential_decay_matches_its_closed_form() {
        let sol = integrate(
            &|_, y| Some(vec![-2.0 * y[0]]),
            0.0,
            3.0,
            &[1.0],
            Tolerance {
                rtol: 1e-10,
                atol: 1e-14,
            },
        )
        .unwrap();
        // A second-order method: the global error is the local tolerance times the steps.
        let end = sol.y.last().unwrap()[0];
        assert!(
            (end - (-6.0f64).exp()).abs() / (-6.0f64).exp() < 1e-6,
            "{end}"
        );
    }

    #[test]
    fn a_stiff_system_takes_steps_set_by_accuracy_not_by_stability() {
        // y' = −1e6 (y − cos t): explicit methods need h < 2e-6; the solution tracks cos t.
        let sol = integrate(
            &|t, y| Some(vec![-1e6 * (y[0] - t.cos())]),
            0.0,
            2.0,
            &[0.0],
            Tolerance::default(),
        )
        .unwrap();
        assert!(sol.t.len() < 2_000, "{} steps", sol.t.len());
        let end = sol.y.last().unwrap()[0];
        assert!((end - 2f64.cos()).abs() < 1e-4, "{end}");
    }
}
