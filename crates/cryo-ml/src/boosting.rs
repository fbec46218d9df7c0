//! Gradient boosting with squared loss: each stage fits a shallow tree to the residuals of the
//! stages before it (optionally on a subsample, i.e. stochastic gradient boosting).

use crate::forest::normalise;
use crate::matrix::{Matrix, mean};
use crate::tree::{Binned, Tree, TreeParams};
use crate::{MlError, rng};
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradientBoosting {
    pub n_trees: usize,
    pub learning_rate: f64,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    /// Fraction of rows each stage is fitted on (1.0 = all).
    pub subsample: f64,
    init: f64,
    trees: Vec<Tree>,
    importance: Vec<f64>,
}

impl GradientBoosting {
    pub fn new(
        n_trees: usize,
        learning_rate: f64,
        max_depth: usize,
        min_samples_leaf: usize,
        subsample: f64,
    ) -> Self {
        GradientBoosting {
            n_trees,
            learning_rate,
            max_depth,
            min_samples_leaf,
            subsample,
            init: 0.0,
            trees: Vec::new(),
            importance: Vec::new(),
        }
    }

    pub fn fit(&mut self, x: &Matrix, y: &[f64], seed: u64) -> Result<(), MlError> {
        let n = x.rows();
        let binned = Binned::new(x);
        let params = TreeParams {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            max_features: x.cols(),
        };
        let mut rng = rng(seed);
        self.init = mean(y);
        self.importance = vec![0.0; x.cols()];
        self.trees = Vec::with_capacity(self.n_trees);
        let mut fitted = vec![self.init; n];
        let mut residual = vec![0.0; n];
        let take = ((self.subsample * n as f64).round() as usize).clamp(1, n);
        for _ in 0..self.n_trees {
            crate::interrupt::checkpoint();
            for i in 0..n {
                residual[i] = y[i] - fitted[i];
            }
            let mut samples: Vec<u32> = if take == n {
                (0..n as u32).collect()
            } else {
                sample(&mut rng, n, take)
                    .into_iter()
                    .map(|i| i as u32)
                    .collect()
            };
            let mut tree = Tree::grow(
                &binned,
                &residual,
                &mut samples,
                params,
                &mut rng,
                &mut self.importance,
            );
            tree.scale_leaves(self.learning_rate);
            for (i, f) in fitted.iter_mut().enumerate() {
                *f += tree.predict_row(x.row(i));
            }
            self.trees.push(tree);
        }
        normalise(&mut self.importance);
        Ok(())
    }

    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.init + self.trees.iter().map(|t| t.predict_row(row)).sum::<f64>()
    }

    pub fn importance(&self) -> &[f64] {
        &self.importance
    }
}
