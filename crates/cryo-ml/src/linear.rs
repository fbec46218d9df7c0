//! Linear models with scikit-learn's objectives, so published penalties mean the same here:
//! ridge minimises ‖y − Xw − b‖² + α‖w‖²; lasso and elastic net minimise
//! (1/2n)‖y − Xw − b‖² + αρ‖w‖₁ + α(1−ρ)/2 ‖w‖². The intercept is never penalised.

use crate::MlError;
use crate::matrix::{Matrix, cholesky_solve, mean};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Penalty {
    None,
    L2 { alpha: f64 },
    ElasticNet { alpha: f64, l1_ratio: f64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearModel {
    pub penalty: Penalty,
    pub coef: Vec<f64>,
    pub intercept: f64,
}

/// Coordinate descent stops when no coefficient moved more than this (relative to the largest).
const CD_TOL: f64 = 1e-6;
const CD_MAX_SWEEPS: usize = 5000;

impl LinearModel {
    pub fn new(penalty: Penalty) -> LinearModel {
        LinearModel {
            penalty,
            coef: Vec::new(),
            intercept: 0.0,
        }
    }

    pub fn fit(&mut self, x: &Matrix, y: &[f64]) -> Result<(), MlError> {
        let (n, p) = (x.rows(), x.cols());
        let x_mean: Vec<f64> = (0..p)
            .map(|j| x.column(j).sum::<f64>() / n as f64)
            .collect();
        let y_mean = mean(y);
        let mut xc = Matrix::zeros(n, p);
        for i in 0..n {
            for (j, v) in xc.row_mut(i).iter_mut().enumerate() {
                *v = x.get(i, j) - x_mean[j];
            }
        }
        let yc: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
        self.coef = match self.penalty {
            Penalty::None => {
                // A vanishing ridge keeps collinear descriptor sets solvable; the solution is
                // the minimum-norm least-squares fit in the limit.
                let scale =
                    (0..n * p).map(|k| xc.as_slice()[k].powi(2)).sum::<f64>() / p.max(1) as f64;
                ridge(&xc, &yc, 1e-10 * scale.max(1e-300))?
            }
            Penalty::L2 { alpha } => ridge(&xc, &yc, alpha)?,
            Penalty::ElasticNet { alpha, l1_ratio } => {
                coordinate_descent(&xc, &yc, alpha, l1_ratio)
            }
        };
        self.intercept = y_mean
            - self
                .coef
                .iter()
                .zip(&x_mean)
                .map(|(w, m)| w * m)
                .sum::<f64>();
        Ok(())
    }

    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(row).map(|(w, v)| w * v).sum::<f64>()
    }
}

/// Ridge on centred data, in the primal (p×p) or the dual (n×n) form, whichever is smaller.
fn ridge(x: &Matrix, y: &[f64], alpha: f64) -> Result<Vec<f64>, MlError> {
    let (n, p) = (x.rows(), x.cols());
    if p <= n {
        let mut a = vec![0.0; p * p];
        let mut b = vec![0.0; p];
        for i in 0..n {
            let row = x.row(i);
            for j in 0..p {
                let v = row[j];
                if v == 0.0 {
                    continue;
                }
                b[j] += v * y[i];
                let a_row = &mut a[j * p..j * p + j + 1];
                for (k, slot) in a_row.iter_mut().enumerate() {
                    *slot += v * row[k];
                }
            }
        }
        for j in 0..p {
            for k in 0..j {
                a[k * p + j] = a[j * p + k];
            }
            a[j * p + j] += alpha;
        }
        cholesky_solve(&mut a, &mut b, p)?;
        Ok(b)
    } else {
        let mut k = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let dot: f64 = x.row(i).iter().zip(x.row(j)).map(|(a, b)| a * b).sum();
                k[i * n + j] = dot;
                k[j * n + i] = dot;
            }
            k[i * n + i] += alpha;
        }
        let mut c = y.to_vec();
        cholesky_solve(&mut k, &mut c, n)?;
        let mut w = vec![0.0; p];
        for i in 0..n {
            for (wj, v) in w.iter_mut().zip(x.row(i)) {
                *wj += c[i] * v;
            }
        }
        Ok(w)
    }
}

fn coordinate_descent(x: &Matrix, y: &[f64], alpha: f64, l1_ratio: f64) -> Vec<f64> {
    let (n, p) = (x.rows(), x.cols());
    let nf = n as f64;
    // Column-major copy: each coordinate update walks one column.
    let cols: Vec<Vec<f64>> = (0..p).map(|j| x.column(j).collect()).collect();
    let norms: Vec<f64> = cols
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum::<f64>() / nf)
        .collect();
    let l1 = alpha * l1_ratio;
    let l2 = alpha * (1.0 - l1_ratio);
    let mut w = vec![0.0; p];
    let mut residual = y.to_vec();
    for _ in 0..CD_MAX_SWEEPS {
        crate::interrupt::checkpoint();
        let mut max_step: f64 = 0.0;
        let mut max_w: f64 = 0.0;
        for j in 0..p {
            if norms[j] == 0.0 {
                continue;
            }
            let col = &cols[j];
            let old = w[j];
            let rho =
                col.iter().zip(&residual).map(|(a, r)| a * r).sum::<f64>() / nf + norms[j] * old;
            let new = soft_threshold(rho, l1) / (norms[j] + l2);
            if new != old {
                let delta = new - old;
                for (r, a) in residual.iter_mut().zip(col) {
                    *r -= delta * a;
                }
                w[j] = new;
            }
            max_step = max_step.max((new - old).abs());
            max_w = max_w.max(new.abs());
        }
        if max_step <= CD_TOL * max_w.max(1e-12) {
            break;
        }
    }
    w
}

fn soft_threshold(value: f64, threshold: f64) -> f64 {
    if value > threshold {
        value - threshold
    } else if value < -threshold {
        value + threshold
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Matrix, Vec<f64>) {
        let rows: Vec<Vec<f64>> = (0..50)
            .map(|i| vec![i as f64, ((i * 7) % 11) as f64])
            .collect();
        let y = rows.iter().map(|r| 3.0 + 2.0 * r[0] - 0.5 * r[1]).collect();
        (Matrix::from_rows(&rows).unwrap(), y)
    }

    #[test]
    fn least_squares_recovers_exact_coefficients() {
        let (x, y) = data();
        let mut m = LinearModel::new(Penalty::None);
        m.fit(&x, &y).unwrap();
        assert!((m.coef[0] - 2.0).abs() < 1e-6 && (m.coef[1] + 0.5).abs() < 1e-6);
        assert!((m.intercept - 3.0).abs() < 1e-5);
    }

    #[test]
    fn ridge_matches_closed_form_in_both_primal_and_dual() {
        // One feature: w = Σxy / (Σx² + α) on centred data.
        let x = Matrix::from_rows(&[vec![1.0], vec![2.0], vec![3.0]]).unwrap();
        let y = [1.0, 3.0, 2.0];
        let mut m = LinearModel::new(Penalty::L2 { alpha: 1.0 });
        m.fit(&x, &y).unwrap();
        assert!((m.coef[0] - 1.0 / 3.0).abs() < 1e-12, "{}", m.coef[0]);
        // p > n uses the dual; the answer must agree with the primal on the same problem.
        let wide = Matrix::from_rows(&[
            vec![1.0, 0.0, 2.0, 1.0],
            vec![0.0, 1.0, 1.0, 3.0],
            vec![2.0, 1.0, 0.0, 1.0],
        ])
        .unwrap();
        let mut dual = LinearModel::new(Penalty::L2 { alpha: 0.5 });
        dual.fit(&wide, &y).unwrap();
        let pred: Vec<f64> = (0..3).map(|i| dual.predict_row(wide.row(i))).collect();
        // Check the normal equations (XᵀX + αI)w = Xᵀy on centred data.
        let xm: Vec<f64> = (0..4).map(|j| wide.column(j).sum::<f64>() / 3.0).collect();
        let ym = 2.0;
        for j in 0..4 {
            let mut lhs = 0.5 * dual.coef[j];
            let mut rhs = 0.0;
            for i in 0..3 {
                let xij = wide.get(i, j) - xm[j];
                let fit: f64 = (0..4)
                    .map(|k| (wide.get(i, k) - xm[k]) * dual.coef[k])
                    .sum();
                lhs += xij * fit;
                rhs += xij * (y[i] - ym);
            }
            assert!((lhs - rhs).abs() < 1e-9, "feature {j}: {lhs} vs {rhs}");
        }
        assert!(pred.iter().all(|p| p.is_finite()));
    }

    #[test]
    fn lasso_zeroes_an_irrelevant_feature_and_shrinks_the_rest() {
        let (x, y) = data();
        let mut m = LinearModel::new(Penalty::ElasticNet {
            alpha: 6.0,
            l1_ratio: 1.0,
        });
        m.fit(&x, &y).unwrap();
        assert_eq!(m.coef[1], 0.0, "{:?}", m.coef);
        assert!(m.coef[0] > 1.5 && m.coef[0] < 2.0, "{:?}", m.coef);
    }
}
