//! The algorithm catalogue: a [`Spec`] names an algorithm with its hyperparameters (serialisable,
//! so it can be stored, searched over and overridden from the command line), and builds the
//! unfitted [`Estimator`]. Defaults are the original CryoProtect's (scikit-learn's where it set
//! none).

use crate::MlError;
use crate::boosting::GradientBoosting;
use crate::forest::RandomForest;
use crate::hist_boosting::HistBoosting;
use crate::knn::Knn;
use crate::linear::{LinearModel, Penalty};
use crate::matrix::Matrix;
use crate::mlp::Mlp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Anything that learns `y ≈ f(x)`.
pub trait Regressor {
    fn fit(&mut self, x: &Matrix, y: &[f64], seed: u64) -> Result<(), MlError>;
    /// Point predictions, plus the model family's own spread (standard deviation) where it has
    /// one: the trees of a forest, the members of an MLP ensemble, the neighbours of kNN.
    fn predict_with_spread(&self, x: &Matrix) -> Result<(Vec<f64>, Option<Vec<f64>>), MlError>;
    fn predict(&self, x: &Matrix) -> Result<Vec<f64>, MlError> {
        Ok(self.predict_with_spread(x)?.0)
    }
    /// Relative importance of each input feature (sums to 1 for trees; |coefficient| for
    /// linear models on standardised features), when the family defines one.
    fn importance(&self) -> Option<Vec<f64>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    Linear,
    Ridge,
    Lasso,
    ElasticNet,
    RandomForest,
    GradientBoosting,
    HistGradientBoosting,
    Mlp,
    Knn,
}

impl Algorithm {
    pub const ALL: [Algorithm; 9] = [
        Algorithm::Linear,
        Algorithm::Ridge,
        Algorithm::Lasso,
        Algorithm::ElasticNet,
        Algorithm::RandomForest,
        Algorithm::GradientBoosting,
        Algorithm::HistGradientBoosting,
        Algorithm::Mlp,
        Algorithm::Knn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Linear => "linear",
            Algorithm::Ridge => "ridge",
            Algorithm::Lasso => "lasso",
            Algorithm::ElasticNet => "elastic_net",
            Algorithm::RandomForest => "random_forest",
            Algorithm::GradientBoosting => "gradient_boosting",
            Algorithm::HistGradientBoosting => "hist_gradient_boosting",
            Algorithm::Mlp => "mlp",
            Algorithm::Knn => "knn",
        }
    }

    /// How people call it.
    pub fn label(self) -> &'static str {
        match self {
            Algorithm::Linear => "Linear (OLS)",
            Algorithm::Ridge => "Ridge regression",
            Algorithm::Lasso => "Lasso",
            Algorithm::ElasticNet => "Elastic net",
            Algorithm::RandomForest => "Random forest",
            Algorithm::GradientBoosting => "Gradient boosting",
            Algorithm::HistGradientBoosting => "Histogram gradient boosting (LightGBM-style)",
            Algorithm::Mlp => "Neural network (MLP ensemble)",
            Algorithm::Knn => "k-nearest neighbours (Tanimoto)",
        }
    }

    /// The default hyperparameters (§4.1 of the original's behaviour).
    pub fn default_spec(self) -> Spec {
        match self {
            Algorithm::Linear => Spec::Linear,
            Algorithm::Ridge => Spec::Ridge { alpha: 1.0 },
            Algorithm::Lasso => Spec::Lasso { alpha: 1.0 },
            Algorithm::ElasticNet => Spec::ElasticNet {
                alpha: 1.0,
                l1_ratio: 0.5,
            },
            Algorithm::RandomForest => Spec::RandomForest {
                n_trees: 100,
                max_depth: 10,
                min_samples_leaf: 1,
                max_features: 1.0,
            },
            Algorithm::GradientBoosting => Spec::GradientBoosting {
                n_trees: 100,
                learning_rate: 0.1,
                max_depth: 3,
                min_samples_leaf: 1,
                subsample: 1.0,
            },
            // LightGBM's defaults: 100 rounds at 0.1, 31 leaves, 20 rows per leaf, 255 bins.
            Algorithm::HistGradientBoosting => Spec::HistGradientBoosting {
                n_trees: 100,
                learning_rate: 0.1,
                max_leaves: 31,
                max_depth: bounds::MAX_DEPTH,
                min_samples_leaf: 20,
                l2: 0.0,
                max_bins: 255,
                patience: 0,
            },
            Algorithm::Mlp => Spec::Mlp {
                hidden: vec![100],
                alpha: 1e-4,
                learning_rate: 1e-3,
                max_iter: 1000,
                ensemble: 3,
            },
            Algorithm::Knn => Spec::Knn { k: 5 },
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = MlError;
    fn from_str(s: &str) -> Result<Algorithm, MlError> {
        let key = s.trim().to_ascii_lowercase().replace('-', "_");
        let alias = match key.as_str() {
            "linear_regression" | "ols" => "linear",
            "ridge_regression" => "ridge",
            "lasso_regression" => "lasso",
            "elasticnet" | "enet" => "elastic_net",
            "rf" | "forest" => "random_forest",
            "gbm" | "gb" | "boosting" => "gradient_boosting",
            "hgb" | "hist_gbm" | "lightgbm" | "histogram_boosting" => "hist_gradient_boosting",
            "neural_network" | "nn" => "mlp",
            "nearest_neighbours" | "nearest_neighbors" => "knn",
            other => other,
        };
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == alias)
            .ok_or_else(|| {
                let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                MlError::InvalidInput(format!(
                    "unknown algorithm {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// An algorithm with its hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case", deny_unknown_fields)]
pub enum Spec {
    Linear,
    Ridge {
        alpha: f64,
    },
    Lasso {
        alpha: f64,
    },
    ElasticNet {
        alpha: f64,
        l1_ratio: f64,
    },
    RandomForest {
        n_trees: usize,
        max_depth: usize,
        min_samples_leaf: usize,
        max_features: f64,
    },
    GradientBoosting {
        n_trees: usize,
        learning_rate: f64,
        max_depth: usize,
        min_samples_leaf: usize,
        subsample: f64,
    },
    /// Leaf-wise trees on histograms of binned features ([`crate::hist_boosting`]).
    HistGradientBoosting {
        n_trees: usize,
        learning_rate: f64,
        max_leaves: usize,
        max_depth: usize,
        min_samples_leaf: usize,
        /// L2 penalty on leaf values (LightGBM's `lambda_l2`).
        l2: f64,
        max_bins: usize,
        /// Stop after this many rounds without improvement on a held-out tenth (0: never).
        patience: usize,
    },
    Mlp {
        hidden: Vec<usize>,
        alpha: f64,
        learning_rate: f64,
        max_iter: usize,
        ensemble: usize,
    },
    Knn {
        k: usize,
    },
}

/// Upper bounds on hyperparameters that set how much memory and time a fit takes: beyond them
/// a lab's data gains nothing, and one request could exhaust the server. Each is far above the
/// defaults and the search spaces.
pub mod bounds {
    pub const MAX_TREES: usize = 5000;
    pub const MAX_DEPTH: usize = 40;
    pub const MAX_LAYERS: usize = 4;
    pub const MAX_LAYER_SIZE: usize = 1024;
    pub const MAX_ITER: usize = 20_000;
    pub const MAX_ENSEMBLE: usize = 50;
    pub const MAX_K: usize = 1000;
    pub const MAX_LEAVES: usize = 4096;
    /// Bytes of one tree node (`tree::Node`), with slack for the vector's growth.
    pub const TREE_NODE_BYTES: u64 = 48;
}

fn check(ok: bool, name: &'static str, reason: &str) -> Result<(), MlError> {
    if ok {
        Ok(())
    } else {
        Err(MlError::InvalidParameter {
            name,
            reason: reason.into(),
        })
    }
}

fn check_trees(n_trees: usize, max_depth: usize) -> Result<(), MlError> {
    check(
        (1..=bounds::MAX_TREES).contains(&n_trees),
        "n_trees",
        &format!("must be within 1..{}", bounds::MAX_TREES),
    )?;
    check(
        (1..=bounds::MAX_DEPTH).contains(&max_depth),
        "max_depth",
        &format!("must be within 1..{}", bounds::MAX_DEPTH),
    )
}

impl Spec {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Spec::Linear => Algorithm::Linear,
            Spec::Ridge { .. } => Algorithm::Ridge,
            Spec::Lasso { .. } => Algorithm::Lasso,
            Spec::ElasticNet { .. } => Algorithm::ElasticNet,
            Spec::RandomForest { .. } => Algorithm::RandomForest,
            Spec::GradientBoosting { .. } => Algorithm::GradientBoosting,
            Spec::HistGradientBoosting { .. } => Algorithm::HistGradientBoosting,
            Spec::Mlp { .. } => Algorithm::Mlp,
            Spec::Knn { .. } => Algorithm::Knn,
        }
    }

    /// Hyperparameters as a JSON object (without the algorithm tag).
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut value = serde_json::to_value(self).expect("specs serialise");
        let map = value.as_object_mut().expect("specs are objects");
        map.remove("algorithm");
        map.clone()
    }

    /// This spec with one hyperparameter replaced, e.g. `("n_trees", 300)`; unknown names and
    /// ill-typed values are errors naming the parameter.
    pub fn with_param(&self, name: &str, value: serde_json::Value) -> Result<Spec, MlError> {
        let mut object = serde_json::to_value(self).expect("specs serialise");
        let map = object.as_object_mut().expect("specs are objects");
        if name == "algorithm" || !map.contains_key(name) {
            let known: Vec<&String> = map.keys().filter(|k| *k != "algorithm").collect();
            return Err(MlError::InvalidInput(format!(
                "{} has no hyperparameter {name:?} (it has: {})",
                self.algorithm(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
        map.insert(name.to_string(), value);
        let spec: Spec = serde_json::from_value(object)
            .map_err(|e| MlError::InvalidInput(format!("hyperparameter {name}: {e}")))?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn validate(&self) -> Result<(), MlError> {
        match self {
            Spec::Linear => Ok(()),
            Spec::Ridge { alpha } | Spec::Lasso { alpha } => {
                check(*alpha > 0.0 && alpha.is_finite(), "alpha", "must be > 0")
            }
            Spec::ElasticNet { alpha, l1_ratio } => {
                check(*alpha > 0.0 && alpha.is_finite(), "alpha", "must be > 0")?;
                check(
                    (0.0..=1.0).contains(l1_ratio),
                    "l1_ratio",
                    "must be within 0..1",
                )
            }
            Spec::RandomForest {
                n_trees,
                max_depth,
                min_samples_leaf,
                max_features,
            } => {
                check_trees(*n_trees, *max_depth)?;
                check(*min_samples_leaf >= 1, "min_samples_leaf", "must be ≥ 1")?;
                check(
                    *max_features > 0.0 && *max_features <= 1.0,
                    "max_features",
                    "a fraction within (0, 1]",
                )
            }
            Spec::GradientBoosting {
                n_trees,
                learning_rate,
                max_depth,
                min_samples_leaf,
                subsample,
            } => {
                check_trees(*n_trees, *max_depth)?;
                check(
                    *learning_rate > 0.0 && *learning_rate <= 1.0,
                    "learning_rate",
                    "must be within (0, 1]",
                )?;
                check(*min_samples_leaf >= 1, "min_samples_leaf", "must be ≥ 1")?;
                check(
                    *subsample > 0.0 && *subsample <= 1.0,
                    "subsample",
                    "a fraction within (0, 1]",
                )
            }
            Spec::HistGradientBoosting {
                n_trees,
                learning_rate,
                max_leaves,
                max_depth,
                min_samples_leaf,
                l2,
                max_bins,
                patience,
            } => {
                check_trees(*n_trees, *max_depth)?;
                check(
                    *learning_rate > 0.0 && *learning_rate <= 1.0,
                    "learning_rate",
                    "must be within (0, 1]",
                )?;
                check(
                    (2..=bounds::MAX_LEAVES).contains(max_leaves),
                    "max_leaves",
                    &format!("must be within 2..{}", bounds::MAX_LEAVES),
                )?;
                check(*min_samples_leaf >= 1, "min_samples_leaf", "must be ≥ 1")?;
                check(*l2 >= 0.0 && l2.is_finite(), "l2", "must be ≥ 0")?;
                check(
                    (2..=crate::tree::MAX_BINS).contains(max_bins),
                    "max_bins",
                    &format!("must be within 2..{}", crate::tree::MAX_BINS),
                )?;
                check(
                    *patience <= bounds::MAX_TREES,
                    "patience",
                    &format!("must be within 0..{}", bounds::MAX_TREES),
                )
            }
            Spec::Mlp {
                hidden,
                alpha,
                learning_rate,
                max_iter,
                ensemble,
            } => {
                check(
                    (1..=bounds::MAX_LAYERS).contains(&hidden.len())
                        && hidden
                            .iter()
                            .all(|h| (1..=bounds::MAX_LAYER_SIZE).contains(h)),
                    "hidden",
                    &format!(
                        "1 to {} layers of 1 to {} units",
                        bounds::MAX_LAYERS,
                        bounds::MAX_LAYER_SIZE
                    ),
                )?;
                check(*alpha >= 0.0 && alpha.is_finite(), "alpha", "must be ≥ 0")?;
                check(
                    *learning_rate > 0.0 && *learning_rate <= 10.0,
                    "learning_rate",
                    "must be within (0, 10]",
                )?;
                check(
                    (1..=bounds::MAX_ITER).contains(max_iter),
                    "max_iter",
                    &format!("must be within 1..{}", bounds::MAX_ITER),
                )?;
                check(
                    (1..=bounds::MAX_ENSEMBLE).contains(ensemble),
                    "ensemble",
                    &format!("must be within 1..{}", bounds::MAX_ENSEMBLE),
                )
            }
            Spec::Knn { k } => check(
                (1..=bounds::MAX_K).contains(k),
                "k",
                &format!("must be within 1..{}", bounds::MAX_K),
            ),
        }
    }

    /// An upper estimate of one fitted model's size in bytes, for `rows` × `cols` training data:
    /// trees cannot have more nodes than 2^(depth+1) − 1 nor more leaves than rows/min_leaf;
    /// networks hold weights plus Adam's two moments; kNN keeps its training matrix.
    pub fn estimated_bytes(&self, rows: usize, cols: usize) -> u64 {
        let (rows, cols) = (rows as u64, cols as u64);
        let tree = |depth: usize, leaf: usize| {
            let by_depth = 1u64.checked_shl(depth as u32 + 1).unwrap_or(u64::MAX) - 1;
            let by_rows = 2 * (rows / leaf.max(1) as u64) + 1;
            by_depth.min(by_rows) * bounds::TREE_NODE_BYTES
        };
        // Every model also carries its hyperparameters and bookkeeping.
        const OVERHEAD: u64 = 1024;
        OVERHEAD
            + match self {
                Spec::Linear
                | Spec::Ridge { .. }
                | Spec::Lasso { .. }
                | Spec::ElasticNet { .. } => 8 * (cols + 1),
                Spec::RandomForest {
                    n_trees,
                    max_depth,
                    min_samples_leaf,
                    ..
                }
                | Spec::GradientBoosting {
                    n_trees,
                    max_depth,
                    min_samples_leaf,
                    ..
                } => (*n_trees as u64).saturating_mul(tree(*max_depth, *min_samples_leaf)),
                Spec::HistGradientBoosting {
                    n_trees,
                    max_leaves,
                    min_samples_leaf,
                    ..
                } => {
                    let leaves =
                        (*max_leaves as u64).min(rows / *min_samples_leaf.max(&1) as u64 + 1);
                    // Trees, plus the histograms of the leaves being grown (16 bytes a bin).
                    (*n_trees as u64).saturating_mul((2 * leaves) * bounds::TREE_NODE_BYTES)
                        + leaves * cols * 256 * 16
                }
                Spec::Mlp {
                    hidden, ensemble, ..
                } => {
                    let mut sizes = vec![cols];
                    sizes.extend(hidden.iter().map(|h| *h as u64));
                    sizes.push(1);
                    let weights: u64 = sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
                    // weights, two Adam moments, and one batch of activations per layer
                    (*ensemble as u64)
                        .saturating_mul(3 * 8 * weights + 8 * 256 * sizes.iter().sum::<u64>())
                }
                Spec::Knn { .. } => 8 * rows * (cols + 1),
            }
    }

    /// Whether predictions come with the model's own spread (an ensemble's disagreement).
    pub fn has_spread(&self) -> bool {
        match self {
            Spec::RandomForest { .. } | Spec::Knn { .. } => true,
            Spec::Mlp { ensemble, .. } => *ensemble > 1,
            _ => false,
        }
    }

    /// Whether inputs are standardised before fitting (distance- and gradient-based models).
    pub fn needs_scaling(&self) -> bool {
        !matches!(
            self,
            Spec::RandomForest { .. }
                | Spec::GradientBoosting { .. }
                | Spec::HistGradientBoosting { .. }
                | Spec::Knn { .. }
        )
    }

    pub fn build(&self) -> Result<Estimator, MlError> {
        self.validate()?;
        Ok(match self.clone() {
            Spec::Linear => Estimator::Linear(LinearModel::new(Penalty::None)),
            Spec::Ridge { alpha } => Estimator::Linear(LinearModel::new(Penalty::L2 { alpha })),
            Spec::Lasso { alpha } => Estimator::Linear(LinearModel::new(Penalty::ElasticNet {
                alpha,
                l1_ratio: 1.0,
            })),
            Spec::ElasticNet { alpha, l1_ratio } => {
                Estimator::Linear(LinearModel::new(Penalty::ElasticNet { alpha, l1_ratio }))
            }
            Spec::RandomForest {
                n_trees,
                max_depth,
                min_samples_leaf,
                max_features,
            } => Estimator::Forest(RandomForest::new(
                n_trees,
                max_depth,
                min_samples_leaf,
                max_features,
            )),
            Spec::GradientBoosting {
                n_trees,
                learning_rate,
                max_depth,
                min_samples_leaf,
                subsample,
            } => Estimator::Boosting(GradientBoosting::new(
                n_trees,
                learning_rate,
                max_depth,
                min_samples_leaf,
                subsample,
            )),
            Spec::HistGradientBoosting {
                n_trees,
                learning_rate,
                max_leaves,
                max_depth,
                min_samples_leaf,
                l2,
                max_bins,
                patience,
            } => Estimator::HistBoosting(HistBoosting::new(
                n_trees,
                learning_rate,
                max_leaves,
                max_depth,
                min_samples_leaf,
                l2,
                max_bins,
                patience,
            )),
            Spec::Mlp {
                hidden,
                alpha,
                learning_rate,
                max_iter,
                ensemble,
            } => Estimator::Mlp(Mlp::new(hidden, alpha, learning_rate, max_iter, ensemble)),
            Spec::Knn { k } => Estimator::Knn(Knn::new(k)),
        })
    }
}

/// A concrete model of any family (serialisable, so a fitted model can be persisted).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "family", content = "model", rename_all = "snake_case")]
pub enum Estimator {
    Linear(LinearModel),
    Forest(RandomForest),
    Boosting(GradientBoosting),
    HistBoosting(HistBoosting),
    Mlp(Mlp),
    Knn(Knn),
}

impl Regressor for Estimator {
    fn fit(&mut self, x: &Matrix, y: &[f64], seed: u64) -> Result<(), MlError> {
        if x.rows() != y.len() {
            return Err(MlError::InvalidInput(format!(
                "{} rows but {} targets",
                x.rows(),
                y.len()
            )));
        }
        if x.rows() < 2 {
            return Err(MlError::NotEnoughData(format!(
                "{} samples; at least 2 are needed to fit",
                x.rows()
            )));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(MlError::InvalidInput(format!(
                "target {i} is not a finite number"
            )));
        }
        match self {
            Estimator::Linear(m) => m.fit(x, y),
            Estimator::Forest(m) => m.fit(x, y, seed),
            Estimator::Boosting(m) => m.fit(x, y, seed),
            Estimator::HistBoosting(m) => m.fit(x, y, seed),
            Estimator::Mlp(m) => m.fit(x, y, seed),
            Estimator::Knn(m) => m.fit(x, y),
        }
    }

    fn predict_with_spread(&self, x: &Matrix) -> Result<(Vec<f64>, Option<Vec<f64>>), MlError> {
        let rows = 0..x.rows();
        Ok(match self {
            Estimator::Linear(m) => {
                x.check_cols(m.coef.len())?;
                (rows.map(|i| m.predict_row(x.row(i))).collect(), None)
            }
            Estimator::Boosting(m) => (rows.map(|i| m.predict_row(x.row(i))).collect(), None),
            Estimator::HistBoosting(m) => (rows.map(|i| m.predict_row(x.row(i))).collect(), None),
            Estimator::Forest(m) => {
                let (p, s) = m.predict_with_spread(x);
                (p, Some(s))
            }
            Estimator::Mlp(m) => {
                let (p, s) = m.predict_with_spread(x);
                (p, (m.ensemble > 1).then_some(s))
            }
            Estimator::Knn(m) => {
                let (p, s) = m.predict_with_spread(x);
                (p, Some(s))
            }
        })
    }

    fn importance(&self) -> Option<Vec<f64>> {
        match self {
            Estimator::Linear(m) => Some(m.coef.iter().map(|c| c.abs()).collect()),
            Estimator::Forest(m) => Some(m.importance().to_vec()),
            Estimator::Boosting(m) => Some(m.importance().to_vec()),
            Estimator::HistBoosting(m) => Some(m.importance().to_vec()),
            Estimator::Mlp(_) | Estimator::Knn(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_parses_by_name_and_has_valid_defaults() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>().unwrap(), a);
            assert_eq!(a.default_spec().algorithm(), a);
            a.default_spec().validate().unwrap();
        }
        assert_eq!("RF".parse::<Algorithm>().unwrap(), Algorithm::RandomForest);
        assert!(
            "svm"
                .parse::<Algorithm>()
                .unwrap_err()
                .to_string()
                .contains("random_forest")
        );
    }

    #[test]
    fn param_overrides_name_the_parameter_when_wrong() {
        let rf = Algorithm::RandomForest.default_spec();
        let more = rf.with_param("n_trees", 300.into()).unwrap();
        assert!(matches!(more, Spec::RandomForest { n_trees: 300, .. }));
        assert!(
            rf.with_param("n_tree", 3.into())
                .unwrap_err()
                .to_string()
                .contains("n_trees")
        );
        assert!(
            rf.with_param("max_features", 2.0.into())
                .unwrap_err()
                .to_string()
                .contains("max_features")
        );
        assert!(
            rf.with_param("n_trees", "many".into())
                .unwrap_err()
                .to_string()
                .contains("n_trees")
        );
    }

    #[test]
    fn specs_round_trip_through_json() {
        for a in Algorithm::ALL {
            let spec = a.default_spec();
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(serde_json::from_str::<Spec>(&json).unwrap(), spec, "{json}");
        }
    }
}
