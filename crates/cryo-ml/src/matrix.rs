use crate::MlError;
use serde::{Deserialize, Serialize};

/// A dense row-major matrix of `f64`: one row per sample, one column per feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Matrix, MlError> {
        if data.len() != rows * cols {
            return Err(MlError::InvalidInput(format!(
                "matrix data has {} values, expected {rows}×{cols}",
                data.len()
            )));
        }
        Ok(Matrix { rows, cols, data })
    }

    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Builds a matrix from rows that must all have the same length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Matrix, MlError> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            if row.len() != cols {
                return Err(MlError::InvalidInput(format!(
                    "row {i} has {} features, the first row has {cols}",
                    row.len()
                )));
            }
            data.extend_from_slice(row);
        }
        Ok(Matrix {
            rows: rows.len(),
            cols,
            data,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn row_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The rows at `indices`, in that order (repeats allowed).
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: indices.len(),
            cols: self.cols,
            data,
        }
    }

    pub fn column(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        (0..self.rows).map(move |i| self.get(i, j))
    }

    pub(crate) fn check_cols(&self, expected: usize) -> Result<(), MlError> {
        if self.cols == expected {
            Ok(())
        } else {
            Err(MlError::InvalidInput(format!(
                "expected {expected} features per row, got {}",
                self.cols
            )))
        }
    }
}

pub(crate) fn select<T: Copy>(values: &[T], indices: &[usize]) -> Vec<T> {
    indices.iter().map(|&i| values[i]).collect()
}

pub(crate) fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Solves the symmetric positive-definite system `a · x = b` in place by Cholesky
/// decomposition; `a` is `n×n` row-major and is overwritten by its factor.
pub(crate) fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) -> Result<(), MlError> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return Err(MlError::Numerical("matrix is not positive definite".into()));
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    Ok(())
}
