//! Hyperparameter search (grid or random) scored by inner cross-validation, and nested
//! cross-validation for an unbiased estimate of the whole "search, then fit" procedure.
//!
//! Default search spaces, per algorithm (documented in the README too):
//! * ridge: alpha ∈ log-uniform [1e-3, 1e3] (grid 0.001 … 1000, 7 points)
//! * lasso: alpha ∈ log-uniform [1e-4, 10] (grid 6 points)
//! * elastic_net: alpha as lasso × l1_ratio ∈ {0.2, 0.5, 0.8}
//! * random_forest: max_depth ∈ {6, 10, 20}, max_features ∈ {0.33, 0.66, 1.0}, min_samples_leaf ∈ {1, 3}
//! * gradient_boosting: n_trees ∈ {100, 300}, learning_rate ∈ {0.03, 0.1}, max_depth ∈ {3, 5},
//!   subsample ∈ {0.8, 1.0}
//! * mlp: hidden ∈ {[50], [100], [100, 50]}, alpha ∈ {1e-4, 1e-2}
//! * knn: k ∈ {1, 3, 5, 10}
//! * linear: nothing to search.

use crate::dataset::Dataset;
use crate::matrix::select;
use crate::model::{Algorithm, Regressor, Spec};
use crate::pipeline::Pipeline;
use crate::split::Splitter;
use crate::validate::{CvOptions, CvReport, assemble, run_fold};
use crate::{MlError, Progress, derive_seed, rng};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    Grid,
    Random { trials: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Domain {
    Choice {
        values: Vec<Value>,
    },
    /// Sampled log-uniformly; a grid takes `grid` points evenly spaced in log scale.
    LogUniform {
        low: f64,
        high: f64,
        grid: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    pub base: Spec,
    pub params: Vec<(String, Domain)>,
}

fn choice(values: Vec<Value>) -> Domain {
    Domain::Choice { values }
}

impl SearchSpace {
    pub fn default_for(algorithm: Algorithm) -> SearchSpace {
        let lasso_alpha = Domain::LogUniform {
            low: 1e-4,
            high: 10.0,
            grid: 6,
        };
        let params: Vec<(&str, Domain)> = match algorithm {
            Algorithm::Linear => vec![],
            Algorithm::Ridge => vec![(
                "alpha",
                Domain::LogUniform {
                    low: 1e-3,
                    high: 1e3,
                    grid: 7,
                },
            )],
            Algorithm::Lasso => vec![("alpha", lasso_alpha)],
            Algorithm::ElasticNet => vec![
                ("alpha", lasso_alpha),
                ("l1_ratio", choice(vec![json!(0.2), json!(0.5), json!(0.8)])),
            ],
            Algorithm::RandomForest => vec![
                ("max_depth", choice(vec![json!(6), json!(10), json!(20)])),
                (
                    "max_features",
                    choice(vec![json!(0.33), json!(0.66), json!(1.0)]),
                ),
                ("min_samples_leaf", choice(vec![json!(1), json!(3)])),
            ],
            Algorithm::GradientBoosting => vec![
                ("n_trees", choice(vec![json!(100), json!(300)])),
                ("learning_rate", choice(vec![json!(0.03), json!(0.1)])),
                ("max_depth", choice(vec![json!(3), json!(5)])),
                ("subsample", choice(vec![json!(0.8), json!(1.0)])),
            ],
            Algorithm::Mlp => vec![
                (
                    "hidden",
                    choice(vec![json!([50]), json!([100]), json!([100, 50])]),
                ),
                ("alpha", choice(vec![json!(1e-4), json!(1e-2)])),
            ],
            Algorithm::Knn => vec![("k", choice(vec![json!(1), json!(3), json!(5), json!(10)]))],
        };
        SearchSpace {
            base: algorithm.default_spec(),
            params: params
                .into_iter()
                .map(|(n, d)| (n.to_string(), d))
                .collect(),
        }
    }

    /// Every combination (continuous domains at their grid points).
    pub fn grid(&self) -> Result<Vec<Spec>, MlError> {
        let mut specs = vec![self.base.clone()];
        for (name, domain) in &self.params {
            let values = match domain {
                Domain::Choice { values } => values.clone(),
                Domain::LogUniform { low, high, grid } => {
                    let g = (*grid).max(2);
                    (0..g)
                        .map(|i| {
                            json!(
                                (low.ln() + (high.ln() - low.ln()) * i as f64 / (g - 1) as f64)
                                    .exp()
                            )
                        })
                        .collect()
                }
            };
            specs = specs
                .iter()
                .flat_map(|s| values.iter().map(move |v| s.with_param(name, v.clone())))
                .collect::<Result<_, _>>()?;
        }
        Ok(specs)
    }

    /// `trials` random draws (distinct; fewer when the space is smaller).
    pub fn sample(&self, trials: usize, seed: u64) -> Result<Vec<Spec>, MlError> {
        let mut rng = rng(seed);
        let mut specs: Vec<Spec> = Vec::new();
        for _ in 0..trials * 20 {
            if specs.len() == trials {
                break;
            }
            let mut s = self.base.clone();
            for (name, domain) in &self.params {
                let v = match domain {
                    Domain::Choice { values } => values[rng.random_range(0..values.len())].clone(),
                    Domain::LogUniform { low, high, .. } => {
                        json!(rng.random_range(low.ln()..high.ln()).exp())
                    }
                };
                s = s.with_param(name, v)?;
            }
            if !specs.contains(&s) {
                specs.push(s);
            }
        }
        Ok(specs)
    }

    pub fn candidates(&self, strategy: &Strategy, seed: u64) -> Result<Vec<Spec>, MlError> {
        match strategy {
            Strategy::Grid => self.grid(),
            Strategy::Random { trials } => self.sample((*trials).max(1), seed),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trial {
    pub spec: Spec,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub rmse_mean: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub rmse_std: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub r2_mean: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchReport {
    pub strategy: Strategy,
    pub splitter: String,
    /// Best (lowest inner-CV RMSE) first.
    pub trials: Vec<Trial>,
    pub best: Spec,
    pub wall_seconds: f64,
}

/// Scores every candidate by cross-validation on `data`; all candidates see the same folds.
/// (candidate × fold) fits run in parallel; `progress` counts finished fits.
pub fn search(
    data: &Dataset,
    space: &SearchSpace,
    strategy: &Strategy,
    inner: &Splitter,
    seed: u64,
    progress: Progress,
) -> Result<SearchReport, MlError> {
    let started = Instant::now();
    let candidates = space.candidates(strategy, seed)?;
    let folds = inner.folds(data, derive_seed(seed, 7))?;
    let tasks: Vec<(usize, usize)> = (0..candidates.len())
        .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
        .collect();
    let done = AtomicUsize::new(0);
    progress(0, tasks.len());
    let scores = tasks
        .par_iter()
        .map(|&(c, f)| {
            let fold = &folds[f];
            let mut p = Pipeline::new(candidates[c].clone());
            p.fit(
                &data.x.select_rows(&fold.train),
                &select(&data.y, &fold.train),
                derive_seed(seed, f as u64),
            )?;
            let pred = p.predict(&data.x.select_rows(&fold.test))?;
            let obs = select(&data.y, &fold.test);
            progress(done.fetch_add(1, Ordering::SeqCst) + 1, tasks.len());
            Ok((
                c,
                crate::metrics::rmse(&obs, &pred),
                crate::metrics::r2(&obs, &pred),
            ))
        })
        .collect::<Result<Vec<_>, MlError>>()?;
    let mut trials: Vec<Trial> = candidates
        .iter()
        .enumerate()
        .map(|(c, spec)| {
            let mine: Vec<(f64, f64)> = scores
                .iter()
                .filter(|s| s.0 == c)
                .map(|s| (s.1, s.2))
                .collect();
            let k = mine.len().max(1) as f64;
            let mean = mine.iter().map(|s| s.0).sum::<f64>() / k;
            Trial {
                spec: spec.clone(),
                rmse_mean: mean,
                rmse_std: (mine.iter().map(|s| (s.0 - mean).powi(2)).sum::<f64>() / k).sqrt(),
                r2_mean: mine.iter().map(|s| s.1).sum::<f64>() / k,
            }
        })
        .collect();
    trials.sort_by(|a, b| a.rmse_mean.total_cmp(&b.rmse_mean));
    Ok(SearchReport {
        strategy: strategy.clone(),
        splitter: inner.describe(),
        best: trials
            .first()
            .map(|t| t.spec.clone())
            .ok_or_else(|| MlError::InvalidInput("empty search space".into()))?,
        trials,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Nested cross-validation: in every outer fold, search on the training rows only (inner CV),
/// then fit the winner on those rows and score it on the outer test rows.
pub fn nested_cv(
    data: &Dataset,
    space: &SearchSpace,
    strategy: &Strategy,
    outer: &Splitter,
    inner: &Splitter,
    options: &CvOptions,
    progress: Progress,
) -> Result<CvReport, MlError> {
    let started = Instant::now();
    let folds = outer.folds(data, options.seed)?;
    let per_fold = space.candidates(strategy, options.seed)?.len() * inner_folds(inner);
    let total = folds.len() * (per_fold + 1);
    let mut results = Vec::with_capacity(folds.len());
    for (k, fold) in folds.iter().enumerate() {
        let train = data.subset(&fold.train);
        let base = k * (per_fold + 1);
        let report = search(
            &train,
            space,
            strategy,
            inner,
            derive_seed(options.seed, k as u64),
            &|d, _| progress(base + d, total),
        )?;
        let (mut fold_report, oof) = run_fold(data, fold, &report.best, outer, options)?;
        fold_report.chosen = Some(report.best);
        progress(base + per_fold + 1, total);
        results.push((fold_report, oof));
    }
    Ok(assemble(&space.base, outer, options, results, started))
}

fn inner_folds(inner: &Splitter) -> usize {
    match inner {
        Splitter::KFold { k } | Splitter::GroupKFold { k } | Splitter::Time { k } => *k,
        Splitter::RepeatedKFold { k, repeats } => k * repeats,
        Splitter::LeaveOneOut | Splitter::Predefined => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_cartesian_product() {
        let rf = SearchSpace::default_for(Algorithm::RandomForest)
            .grid()
            .unwrap();
        assert_eq!(rf.len(), 18);
        let ridge = SearchSpace::default_for(Algorithm::Ridge).grid().unwrap();
        assert_eq!(ridge.len(), 7);
        assert!(matches!(ridge[0], Spec::Ridge { alpha } if (alpha - 1e-3).abs() < 1e-12));
        assert!(matches!(ridge[6], Spec::Ridge { alpha } if (alpha - 1e3).abs() < 1e-9));
    }

    #[test]
    fn random_draws_are_distinct_seeded_and_bounded_by_the_space() {
        let space = SearchSpace::default_for(Algorithm::Knn);
        assert_eq!(space.sample(10, 1).unwrap().len(), 4);
        let gb = SearchSpace::default_for(Algorithm::GradientBoosting);
        assert_eq!(gb.sample(5, 3).unwrap(), gb.sample(5, 3).unwrap());
        assert_eq!(gb.sample(5, 3).unwrap().len(), 5);
    }
}
