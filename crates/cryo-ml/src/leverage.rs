//! Leverage: how far a row lies from the training rows in descriptor space, h = xᵀ(XᵀX)⁻¹x on
//! centred, standardised columns plus 1/n for the intercept (the diagonal of the hat matrix
//! for a training row). The usual warning threshold is h* = 3p′/n with p′ the number of model
//! parameters (columns + 1), the Williams plot's (Gramatica, QSAR Comb. Sci. 26 (2007) 694).

use crate::MlError;
use crate::matrix::{Matrix, cholesky_solve};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Leverage {
    /// Columns that vary in the training rows (constant ones carry no distance).
    keep: Vec<usize>,
    mean: Vec<f64>,
    sd: Vec<f64>,
    /// ZᵀZ of the kept, standardised training columns (row-major), with a whisker of ridge.
    gram: Vec<f64>,
    n: usize,
}

impl Leverage {
    /// From training rows (non-finite values are replaced by the column mean).
    pub fn fit(x: &Matrix) -> Result<Leverage, MlError> {
        let n = x.rows();
        if n < 3 {
            return Err(MlError::NotEnoughData(format!("{n} rows for a leverage")));
        }
        let mut keep = Vec::new();
        let (mut mean, mut sd) = (Vec::new(), Vec::new());
        for j in 0..x.cols() {
            let finite: Vec<f64> = x.column(j).filter(|v| v.is_finite()).collect();
            let m = crate::matrix::mean(&finite);
            let var = finite.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64;
            if var > 1e-12 * (1.0 + m * m) {
                keep.push(j);
                mean.push(m);
                sd.push(var.sqrt());
            }
        }
        let p = keep.len();
        let mut lev = Leverage {
            keep,
            mean,
            sd,
            gram: vec![0.0; p * p],
            n,
        };
        for i in 0..n {
            let z = lev.standardised(x.row(i));
            for a in 0..p {
                for b in 0..p {
                    lev.gram[a * p + b] += z[a] * z[b];
                }
            }
        }
        // Collinear descriptors would make ZᵀZ singular; 1e-8 · n on the diagonal barely moves
        // the rest.
        for a in 0..p {
            lev.gram[a * p + a] += 1e-8 * n as f64;
        }
        Ok(lev)
    }

    fn standardised(&self, row: &[f64]) -> Vec<f64> {
        self.keep
            .iter()
            .zip(self.mean.iter().zip(&self.sd))
            .map(|(&j, (m, s))| {
                let v = row[j];
                if v.is_finite() { (v - m) / s } else { 0.0 }
            })
            .collect()
    }

    /// The leverage of `row` (a new row: as if it joined the hat matrix's design).
    pub fn of(&self, row: &[f64]) -> f64 {
        let p = self.keep.len();
        let z = self.standardised(row);
        if p == 0 {
            return 1.0 / self.n as f64;
        }
        let mut a = self.gram.clone();
        let mut solved = z.clone();
        match cholesky_solve(&mut a, &mut solved, p) {
            Ok(()) => 1.0 / self.n as f64 + z.iter().zip(&solved).map(|(u, v)| u * v).sum::<f64>(),
            Err(_) => f64::INFINITY,
        }
    }

    /// The leverage a training row would have had with itself left out: h / (1 − h).
    pub fn left_out(h: f64) -> f64 {
        if h < 1.0 {
            h / (1.0 - h)
        } else {
            f64::INFINITY
        }
    }

    /// The warning threshold h* = 3 (p + 1) / n.
    pub fn threshold(&self) -> f64 {
        3.0 * (self.keep.len() + 1) as f64 / self.n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_leverages_are_the_hat_diagonal_and_sum_to_the_parameter_count() {
        // The hat matrix of a design with an intercept has trace p + 1.
        let rows: Vec<Vec<f64>> = (0..30)
            .map(|i| {
                let t = i as f64;
                vec![t, (t * 0.7).sin() * 5.0, 3.0, (t * t) % 7.0]
            })
            .collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let lev = Leverage::fit(&x).unwrap();
        let trace: f64 = rows.iter().map(|r| lev.of(r)).sum();
        // Three varying columns (the constant one is dropped) + intercept.
        assert!((trace - 4.0).abs() < 1e-5, "{trace}");
        assert!((lev.threshold() - 3.0 * 4.0 / 30.0).abs() < 1e-12);
        // A row far outside in the first column has a leverage far above the threshold.
        assert!(lev.of(&[300.0, 0.0, 3.0, 3.0]) > 10.0 * lev.threshold());
        assert_eq!(Leverage::left_out(0.5), 1.0);
    }
}
