//! Hyperparameter search (grid, random or successive halving) scored by inner cross-validation, and nested
//! cross-validation for an unbiased estimate of the whole "search, then fit" procedure.
//!
//! Default search spaces, per algorithm (documented in the README too):
//! * ridge: alpha ∈ log-uniform [1e-3, 1e3] (grid 0.001 … 1000, 7 points)
//! * lasso: alpha ∈ log-uniform [1e-4, 10] (grid 6 points)
//! * elastic_net: alpha as lasso × l1_ratio ∈ {0.2, 0.5, 0.8}
//! * random_forest: max_depth ∈ {6, 10, 20}, max_features ∈ {0.33, 0.66, 1.0}, min_samples_leaf ∈ {1, 3}
//! * gradient_boosting: n_trees ∈ {100, 300}, learning_rate ∈ {0.03, 0.1}, max_depth ∈ {3, 5},
//!   subsample ∈ {0.8, 1.0}
//! * hist_gradient_boosting: n_trees ∈ {100, 300}, learning_rate ∈ {0.03, 0.1}, max_leaves ∈
//!   {15, 31, 63}, min_samples_leaf ∈ {5, 20}
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
    Random {
        trials: usize,
    },
    /// Successive halving (Jamieson & Talwalkar 2016; scikit-learn's HalvingRandomSearchCV):
    /// `trials` random candidates are scored on a subsample of the rows, the best
    /// 1/`factor` go on to `factor` times as many rows, until the last round uses them all.
    /// Most candidates are only ever fitted on a small share of the data.
    Halving {
        trials: usize,
        factor: usize,
    },
}

/// Fewest rows a halving round scores candidates on (each inner fold needs a few).
const HALVING_MIN_ROWS: usize = 40;

impl Strategy {
    /// The rounds of a halving search on `rows` rows with `candidates` candidates: (candidates
    /// scored, rows used) per round, the last on every row. One round for grid and random.
    pub fn rounds(&self, candidates: usize, rows: usize) -> Vec<(usize, usize)> {
        let Strategy::Halving { factor, .. } = *self else {
            return vec![(candidates, rows)];
        };
        let factor = factor.max(2);
        let mut sizes = vec![candidates.max(1)];
        while *sizes.last().expect("one size") > 1 {
            let next = sizes.last().expect("one size").div_ceil(factor);
            sizes.push(next);
        }
        // As many rounds as the rows allow: each has `factor` times the rows of the one before,
        // the first at least HALVING_MIN_ROWS.
        let mut fit = 1;
        while fit < sizes.len() && rows / factor.pow(fit as u32) >= HALVING_MIN_ROWS {
            fit += 1;
        }
        sizes.truncate(fit);
        let last = sizes.len() - 1;
        sizes
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, rows / factor.pow((last - i) as u32)))
            .collect()
    }

    /// Fits a search with this strategy makes on `rows` rows, over `folds` inner folds.
    pub fn fits(&self, candidates: usize, rows: usize, folds: usize) -> usize {
        self.rounds(candidates, rows)
            .iter()
            .map(|r| r.0)
            .sum::<usize>()
            * folds
    }
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
            Algorithm::HistGradientBoosting => vec![
                ("n_trees", choice(vec![json!(100), json!(300)])),
                ("learning_rate", choice(vec![json!(0.03), json!(0.1)])),
                ("max_leaves", choice(vec![json!(15), json!(31), json!(63)])),
                ("min_samples_leaf", choice(vec![json!(5), json!(20)])),
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
            Strategy::Random { trials } | Strategy::Halving { trials, .. } => {
                self.sample((*trials).max(1), seed)
            }
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
    /// Rows it was last scored on (a halving search scores most candidates on a subsample;
    /// absent for searches on every row).
    #[serde(default)]
    pub rows: Option<usize>,
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
/// (candidate × fold) fits run in parallel; `progress` counts finished fits. A halving search
/// scores them round by round on growing subsamples (the same rows for every candidate of a
/// round), keeping the best 1/factor each time.
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
    let rounds = strategy.rounds(candidates.len(), data.len());
    let k = inner_folds(inner);
    let total = strategy.fits(candidates.len(), data.len(), k);
    let done = AtomicUsize::new(0);
    progress(0, total);
    // Rows in a random order drawn once: each round takes a prefix, so later rounds contain
    // the earlier ones' rows.
    let mut order: Vec<usize> = (0..data.len()).collect();
    if rounds.len() > 1 {
        use rand::seq::SliceRandom;
        order.shuffle(&mut rng(derive_seed(seed, 11)));
    }
    let mut alive: Vec<Spec> = candidates;
    let mut finished: Vec<Trial> = Vec::new();
    for (round, &(keep, rows)) in rounds.iter().enumerate() {
        alive.truncate(keep.max(1));
        let subset = if rows >= data.len() {
            data.clone()
        } else {
            let mut picked = order[..rows].to_vec();
            picked.sort_unstable();
            data.subset(&picked)
        };
        let mut trials = score(&subset, &alive, inner, seed, &|| {
            progress(done.fetch_add(1, Ordering::SeqCst) + 1, total)
        })?;
        if rounds.len() > 1 {
            trials.iter_mut().for_each(|t| t.rows = Some(rows));
        }
        let next = rounds.get(round + 1).map_or(0, |r| r.0);
        alive = trials.iter().take(next).map(|t| t.spec.clone()).collect();
        // Those that go no further keep the score of their last round, after every later one.
        finished.splice(0..0, trials.into_iter().skip(next));
    }
    let trials = finished;
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

/// Every candidate's inner-CV scores on `data`, best first; `fitted` is called per fit.
fn score(
    data: &Dataset,
    candidates: &[Spec],
    inner: &Splitter,
    seed: u64,
    fitted: &(dyn Fn() + Sync),
) -> Result<Vec<Trial>, MlError> {
    let folds = inner.folds(data, derive_seed(seed, 7))?;
    let tasks: Vec<(usize, usize)> = (0..candidates.len())
        .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
        .collect();
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
            fitted();
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
                rows: None,
            }
        })
        .collect();
    trials.sort_by(|a, b| a.rmse_mean.total_cmp(&b.rmse_mean));
    Ok(trials)
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
    let candidates = space.candidates(strategy, options.seed)?.len();
    let largest = folds.iter().map(|f| f.train.len()).max().unwrap_or(0);
    let per_fold = strategy.fits(candidates, largest, inner_folds(inner));
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

    #[test]
    fn halving_rounds_keep_a_third_and_triple_the_rows_up_to_all() {
        let s = Strategy::Halving {
            trials: 27,
            factor: 3,
        };
        assert_eq!(s.rounds(27, 1000), vec![(27, 111), (9, 333), (3, 1000)]);
        // A third of the row-fits of scoring all 27 on every row.
        let row_fits: usize = s.rounds(27, 1000).iter().map(|r| r.0 * r.1).sum();
        assert!(row_fits * 3 <= 27 * 1000 + 27, "{row_fits}");
        // Too few rows for a first subsample: one round on all of them.
        assert_eq!(s.rounds(27, 100), vec![(27, 100)]);
        assert_eq!(Strategy::Grid.rounds(5, 100), vec![(5, 100)]);
    }

    #[test]
    fn a_halving_search_finds_what_scoring_every_candidate_on_every_row_finds() {
        use rand::Rng;
        let mut r = rng(3);
        let samples: Vec<crate::Sample> = (0..600)
            .map(|i| {
                let x: Vec<f64> = (0..8).map(|_| r.random_range(-1.0..1.0)).collect();
                let y = x
                    .iter()
                    .enumerate()
                    .map(|(j, v)| v * (j as f64 - 3.0))
                    .sum::<f64>()
                    + r.random_range(-0.5..0.5);
                crate::Sample {
                    id: format!("r{i}"),
                    features: x,
                    target: y,
                    group: None,
                    time: None,
                }
            })
            .collect();
        let names = (0..8).map(|j| format!("f{j}")).collect();
        let data = Dataset::from_samples(names, samples).unwrap();
        let space = SearchSpace::default_for(Algorithm::Ridge);
        let inner = Splitter::KFold { k: 3 };
        let fits = AtomicUsize::new(0);
        let halving = Strategy::Halving {
            trials: 7,
            factor: 3,
        };
        let found = search(&data, &space, &halving, &inner, 1, &|d, t| {
            assert!(d <= t);
            fits.store(d, Ordering::SeqCst);
        })
        .unwrap();
        let every = search(&data, &space, &Strategy::Grid, &inner, 1, &|_, _| {}).unwrap();
        assert_eq!(found.trials.len(), 7);
        assert_eq!(found.trials[0].rows, Some(600));
        assert!(found.trials.last().unwrap().rows < Some(600));
        assert_eq!(fits.load(Ordering::SeqCst), halving.fits(7, 600, 3));
        // The winner scores, on every row, within a whisker of the best of all.
        assert!(
            found.trials[0].rmse_mean <= every.trials[0].rmse_mean * 1.02,
            "{} vs {}",
            found.trials[0].rmse_mean,
            every.trials[0].rmse_mean
        );
    }
}
