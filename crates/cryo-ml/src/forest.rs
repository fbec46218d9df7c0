//! Random forest: bootstrap-aggregated CART trees; its native uncertainty is the spread of the
//! individual trees' predictions.

use crate::matrix::Matrix;
use crate::tree::{Binned, Tree, TreeParams};
use crate::{MlError, derive_seed, rng};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomForest {
    pub n_trees: usize,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    /// Fraction of features tried at each split.
    pub max_features: f64,
    trees: Vec<Tree>,
    importance: Vec<f64>,
}

impl RandomForest {
    pub fn new(
        n_trees: usize,
        max_depth: usize,
        min_samples_leaf: usize,
        max_features: f64,
    ) -> Self {
        RandomForest {
            n_trees,
            max_depth,
            min_samples_leaf,
            max_features,
            trees: Vec::new(),
            importance: Vec::new(),
        }
    }

    pub fn fit(&mut self, x: &Matrix, y: &[f64], seed: u64) -> Result<(), MlError> {
        self.fit_drawing(x, y, None, seed)
    }

    /// Fits with each bootstrap drawn with row probabilities proportional to `weights` (a
    /// class-balanced forest), rather than uniformly.
    pub(crate) fn fit_weighted_bootstrap(
        &mut self,
        x: &Matrix,
        y: &[f64],
        weights: &[f64],
        seed: u64,
    ) -> Result<(), MlError> {
        let mut cumulative = Vec::with_capacity(weights.len());
        let mut total = 0.0;
        for w in weights {
            total += w.max(0.0);
            cumulative.push(total);
        }
        if !(total > 0.0 && total.is_finite()) {
            return Err(MlError::InvalidInput(
                "bootstrap weights must be positive".into(),
            ));
        }
        self.fit_drawing(x, y, Some(&cumulative), seed)
    }

    fn fit_drawing(
        &mut self,
        x: &Matrix,
        y: &[f64],
        cumulative: Option<&[f64]>,
        seed: u64,
    ) -> Result<(), MlError> {
        let n = x.rows();
        let binned = Binned::new(x);
        let params = TreeParams {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            max_features: ((self.max_features * x.cols() as f64).ceil() as usize)
                .clamp(1, x.cols().max(1)),
        };
        let grown: Vec<(Tree, Vec<f64>)> = (0..self.n_trees)
            .into_par_iter()
            .map(|t| {
                crate::interrupt::checkpoint();
                let mut rng = rng(derive_seed(seed, t as u64));
                let mut samples: Vec<u32> = match cumulative {
                    None => (0..n).map(|_| rng.random_range(0..n as u32)).collect(),
                    Some(c) => {
                        let total = c[n - 1];
                        (0..n)
                            .map(|_| {
                                let u = rng.random_range(0.0..total);
                                c.partition_point(|v| *v <= u).min(n - 1) as u32
                            })
                            .collect()
                    }
                };
                let mut importance = vec![0.0; x.cols()];
                let tree = Tree::grow(&binned, y, &mut samples, params, &mut rng, &mut importance);
                (tree, importance)
            })
            .collect();
        self.importance = vec![0.0; x.cols()];
        self.trees = Vec::with_capacity(grown.len());
        for (tree, importance) in grown {
            for (total, v) in self.importance.iter_mut().zip(importance) {
                *total += v;
            }
            self.trees.push(tree);
        }
        normalise(&mut self.importance);
        Ok(())
    }

    /// Mean and standard deviation over the trees for each row.
    pub fn predict_with_spread(&self, x: &Matrix) -> (Vec<f64>, Vec<f64>) {
        (0..x.rows())
            .map(|i| {
                let row = x.row(i);
                let (mut s, mut s2) = (0.0, 0.0);
                for tree in &self.trees {
                    let v = tree.predict_row(row);
                    s += v;
                    s2 += v * v;
                }
                let k = self.trees.len().max(1) as f64;
                let mean = s / k;
                (mean, (s2 / k - mean * mean).max(0.0).sqrt())
            })
            .unzip()
    }

    pub fn importance(&self) -> &[f64] {
        &self.importance
    }
}

pub(crate) fn normalise(values: &mut [f64]) {
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        values.iter_mut().for_each(|v| *v /= total);
    }
}
