//! Histogram gradient boosting in LightGBM's style (Ke et al. 2017, "LightGBM: a highly
//! efficient gradient boosting decision tree"; scikit-learn's HistGradientBoostingRegressor is
//! the same design): every feature is binned once per fit (at most `max_bins` bins), each
//! tree grows leaf-wise (the leaf whose best split gains most is split next, up to
//! `max_leaves`), split gains come from per-leaf histograms of gradient sums, and a child's
//! histogram is its parent's minus its sibling's, so only the smaller child is counted. Squared
//! loss: gradient = prediction − target, hessian 1, leaf value −G / (n + λ), shrunk by the
//! learning rate. With `early_stopping`, a tenth of the rows (drawn by the seed) is held out and
//! boosting stops once `patience` rounds pass without lowering its error; the rounds kept are
//! those up to the best.

use crate::forest::normalise;
use crate::matrix::{Matrix, mean};
use crate::tree::Binned;
use crate::{MlError, rng};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Share of the rows early stopping holds out (scikit-learn's `validation_fraction`).
pub const VALIDATION_FRACTION: f64 = 0.1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistBoosting {
    pub n_trees: usize,
    pub learning_rate: f64,
    pub max_leaves: usize,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    pub l2: f64,
    pub max_bins: usize,
    /// Rounds without improvement on the held-out tenth before stopping (0: no early stopping).
    pub patience: usize,
    init: f64,
    trees: Vec<HistTree>,
    importance: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HistTree {
    nodes: Vec<HistNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HistNode {
    /// `u32::MAX` marks a leaf.
    feature: u32,
    threshold: f64,
    left: u32,
    right: u32,
    value: f64,
}

impl HistTree {
    fn predict_row(&self, row: &[f64]) -> f64 {
        let mut at = 0usize;
        loop {
            let n = &self.nodes[at];
            if n.feature == u32::MAX {
                return n.value;
            }
            at = if row[n.feature as usize] <= n.threshold {
                n.left as usize
            } else {
                n.right as usize
            };
        }
    }
}

/// A leaf being grown: its rows (a range of the shared row order), gradient sum, depth, node
/// index, histogram and the best split found on it.
struct Leaf {
    start: usize,
    end: usize,
    sum: f64,
    depth: usize,
    node: usize,
    hist: Vec<(f64, u32)>,
    best: Option<Split>,
}

#[derive(Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    /// Rows with bin ≤ this go left.
    bin: usize,
    left_sum: f64,
    left_count: u32,
}

/// Where each feature's bins start in a flat histogram, and the histogram's length.
fn offsets(binned: &Binned) -> (Vec<usize>, usize) {
    let mut at = 0;
    let starts = (0..binned.features())
        .map(|f| {
            let o = at;
            at += binned.bins(f);
            o
        })
        .collect();
    (starts, at)
}

/// The bins of `n` rows, row-major.
fn row_major(binned: &Binned, n: usize) -> Vec<u16> {
    let p = binned.features();
    let mut out = vec![0u16; n * p];
    for f in 0..p {
        for (r, &code) in binned.column(f).iter().enumerate() {
            out[r * p + f] = code;
        }
    }
    out
}

struct Grower<'a> {
    binned: &'a Binned,
    /// The bins again, row-major (`rowwise[r * p + f]`), so a histogram reads each row's bins
    /// in one sweep (LightGBM's row-wise histograms).
    rowwise: &'a [u16],
    offsets: &'a [usize],
    total_bins: usize,
    grad: &'a [f64],
    min_leaf: u32,
    l2: f64,
}

impl Grower<'_> {
    /// The histogram of `rows`, in a buffer from `pool` (histograms are large enough that
    /// fresh allocations would be fresh pages every time).
    fn histogram(&self, rows: &[u32], pool: &mut Vec<Vec<(f64, u32)>>) -> Vec<(f64, u32)> {
        let mut hist = pool.pop().unwrap_or_default();
        hist.clear();
        hist.resize(self.total_bins, (0.0, 0));
        let p = self.offsets.len();
        for &r in rows {
            let g = self.grad[r as usize];
            let codes = &self.rowwise[r as usize * p..(r as usize + 1) * p];
            for (&code, &offset) in codes.iter().zip(self.offsets) {
                let cell = &mut hist[offset + code as usize];
                cell.0 += g;
                cell.1 += 1;
            }
        }
        hist
    }

    fn score(&self, sum: f64, count: u32) -> f64 {
        sum * sum / (count as f64 + self.l2)
    }

    fn best_split(&self, hist: &[(f64, u32)], sum: f64, count: u32) -> Option<Split> {
        let parent = self.score(sum, count);
        let mut best: Option<Split> = None;
        for f in 0..self.binned.features() {
            let bins = self.binned.bins(f);
            let h = &hist[self.offsets[f]..self.offsets[f] + bins];
            let (mut left_sum, mut left_count) = (0.0, 0u32);
            for (b, cell) in h.iter().enumerate().take(bins - 1) {
                // An empty bin moves no row: the split after it is the one before it.
                if cell.1 == 0 {
                    continue;
                }
                left_sum += cell.0;
                left_count += cell.1;
                if left_count < self.min_leaf {
                    continue;
                }
                let right_count = count - left_count;
                if right_count < self.min_leaf {
                    break;
                }
                let gain = self.score(left_sum, left_count)
                    + self.score(sum - left_sum, right_count)
                    - parent;
                if gain > best.map_or(1e-12, |s| s.gain) {
                    best = Some(Split {
                        gain,
                        feature: f,
                        bin: b,
                        left_sum,
                        left_count,
                    });
                }
            }
        }
        best
    }
}

impl HistBoosting {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n_trees: usize,
        learning_rate: f64,
        max_leaves: usize,
        max_depth: usize,
        min_samples_leaf: usize,
        l2: f64,
        max_bins: usize,
        patience: usize,
    ) -> Self {
        HistBoosting {
            n_trees,
            learning_rate,
            max_leaves,
            max_depth,
            min_samples_leaf,
            l2,
            max_bins,
            patience,
            init: 0.0,
            trees: Vec::new(),
            importance: Vec::new(),
        }
    }

    /// Rounds kept after fitting (fewer than `n_trees` when early stopping stopped it).
    pub fn rounds(&self) -> usize {
        self.trees.len()
    }

    pub fn fit(&mut self, x: &Matrix, y: &[f64], seed: u64) -> Result<(), MlError> {
        let n = x.rows();
        // The rows trained on and the held-out tenth, when stopping early.
        let mut order: Vec<u32> = (0..n as u32).collect();
        let held = if self.patience > 0 {
            ((n as f64 * VALIDATION_FRACTION).round() as usize).clamp(1, n.saturating_sub(2))
        } else {
            0
        };
        if held > 0 {
            order.shuffle(&mut rng(seed));
        }
        let (valid, train) = order.split_at(held);
        let train_x = x.select_rows(&train.iter().map(|&i| i as usize).collect::<Vec<_>>());
        let train_y: Vec<f64> = train.iter().map(|&i| y[i as usize]).collect();
        let binned = Binned::with_max_bins(&train_x, self.max_bins);
        let (offsets, total_bins) = offsets(&binned);
        let rowwise = row_major(&binned, train.len());
        let m = train_y.len();
        self.init = mean(&train_y);
        self.importance = vec![0.0; x.cols()];
        self.trees = Vec::with_capacity(self.n_trees);
        let mut fitted = vec![self.init; m];
        let mut valid_fitted = vec![self.init; valid.len()];
        let mut grad = vec![0.0; m];
        let mut pool = Vec::new();
        let (mut best_error, mut best_rounds, mut since_best) = (f64::INFINITY, 0usize, 0usize);
        for _ in 0..self.n_trees {
            crate::interrupt::checkpoint();
            for i in 0..m {
                grad[i] = fitted[i] - train_y[i];
            }
            let grower = Grower {
                binned: &binned,
                rowwise: &rowwise,
                offsets: &offsets,
                total_bins,
                grad: &grad,
                min_leaf: self.min_samples_leaf as u32,
                l2: self.l2,
            };
            let (tree, leaf_of_row) = self.grow(&grower, m, &mut pool);
            for (i, f) in fitted.iter_mut().enumerate() {
                *f += tree.nodes[leaf_of_row[i] as usize].value;
            }
            for (k, &r) in valid.iter().enumerate() {
                valid_fitted[k] += tree.predict_row(x.row(r as usize));
            }
            self.trees.push(tree);
            if held > 0 {
                let error = valid
                    .iter()
                    .zip(&valid_fitted)
                    .map(|(&r, p)| (p - y[r as usize]).powi(2))
                    .sum::<f64>();
                if error < best_error - 1e-12 * best_error.abs().max(1.0) {
                    (best_error, best_rounds, since_best) = (error, self.trees.len(), 0);
                } else {
                    since_best += 1;
                    if since_best >= self.patience {
                        break;
                    }
                }
            }
        }
        if held > 0 {
            self.trees.truncate(best_rounds.max(1));
        }
        normalise(&mut self.importance);
        Ok(())
    }

    /// One tree on the current gradients, leaf-wise; returns it with each training row's leaf.
    fn grow(
        &mut self,
        g: &Grower<'_>,
        m: usize,
        pool: &mut Vec<Vec<(f64, u32)>>,
    ) -> (HistTree, Vec<u32>) {
        let mut rows: Vec<u32> = (0..m as u32).collect();
        let sum: f64 = g.grad.iter().sum();
        let hist = g.histogram(&rows, pool);
        let best = g.best_split(&hist, sum, m as u32);
        let mut nodes = vec![HistNode {
            feature: u32::MAX,
            threshold: 0.0,
            left: 0,
            right: 0,
            value: 0.0,
        }];
        let mut leaves = vec![Leaf {
            start: 0,
            end: m,
            sum,
            depth: 0,
            node: 0,
            hist,
            best,
        }];
        let mut open = 1usize;
        while open < self.max_leaves {
            // The splittable leaf that gains most.
            let Some(at) = leaves
                .iter()
                .enumerate()
                .filter(|(_, l)| l.best.is_some() && l.depth < self.max_depth)
                .max_by(|a, b| {
                    let (ga, gb) = (a.1.best.unwrap().gain, b.1.best.unwrap().gain);
                    ga.total_cmp(&gb)
                })
                .map(|(i, _)| i)
            else {
                break;
            };
            let leaf = leaves.swap_remove(at);
            let split = leaf.best.expect("chosen for its split");
            let column = g.binned.column(split.feature);
            let slice = &mut rows[leaf.start..leaf.end];
            // Partition: left rows (bin ≤ split) first.
            let mut mid = 0;
            for k in 0..slice.len() {
                if (column[slice[k] as usize] as usize) <= split.bin {
                    slice.swap(k, mid);
                    mid += 1;
                }
            }
            let mid = leaf.start + mid;
            self.importance[split.feature] += split.gain;
            let (left_node, right_node) = (nodes.len(), nodes.len() + 1);
            for _ in 0..2 {
                nodes.push(HistNode {
                    feature: u32::MAX,
                    threshold: 0.0,
                    left: 0,
                    right: 0,
                    value: 0.0,
                });
            }
            let parent = &mut nodes[leaf.node];
            parent.feature = split.feature as u32;
            parent.threshold = g.binned.threshold(split.feature, split.bin);
            parent.left = left_node as u32;
            parent.right = right_node as u32;
            // Count the smaller child; the larger one is the parent minus it.
            let (left_rows, right_rows) = (mid - leaf.start, leaf.end - mid);
            let small_is_left = left_rows <= right_rows;
            let small = if small_is_left {
                g.histogram(&rows[leaf.start..mid], pool)
            } else {
                g.histogram(&rows[mid..leaf.end], pool)
            };
            let mut large = leaf.hist;
            for (l, s) in large.iter_mut().zip(&small) {
                l.0 -= s.0;
                l.1 -= s.1;
            }
            let (left_hist, right_hist) = if small_is_left {
                (small, large)
            } else {
                (large, small)
            };
            let right_sum = leaf.sum - split.left_sum;
            let right_count = leaf.end as u32 - leaf.start as u32 - split.left_count;
            let left_best = g.best_split(&left_hist, split.left_sum, split.left_count);
            let right_best = g.best_split(&right_hist, right_sum, right_count);
            leaves.push(Leaf {
                start: leaf.start,
                end: mid,
                sum: split.left_sum,
                depth: leaf.depth + 1,
                node: left_node,
                hist: left_hist,
                best: left_best,
            });
            leaves.push(Leaf {
                start: mid,
                end: leaf.end,
                sum: right_sum,
                depth: leaf.depth + 1,
                node: right_node,
                hist: right_hist,
                best: right_best,
            });
            open += 1;
        }
        let mut leaf_of_row = vec![0u32; m];
        for leaf in &mut leaves {
            pool.push(std::mem::take(&mut leaf.hist));
        }
        for leaf in &leaves {
            let count = (leaf.end - leaf.start) as f64;
            nodes[leaf.node].value = -self.learning_rate * leaf.sum / (count + self.l2);
            for &r in &rows[leaf.start..leaf.end] {
                leaf_of_row[r as usize] = leaf.node as u32;
            }
        }
        (HistTree { nodes }, leaf_of_row)
    }

    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.init + self.trees.iter().map(|t| t.predict_row(row)).sum::<f64>()
    }

    pub fn importance(&self) -> &[f64] {
        &self.importance
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn friedman(n: usize, seed: u64) -> (Matrix, Vec<f64>) {
        use rand::Rng;
        let mut r = rng(seed);
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..6).map(|_| r.random_range(0.0..1.0)).collect())
            .collect();
        let y = rows
            .iter()
            .map(|x: &Vec<f64>| {
                10.0 * (std::f64::consts::PI * x[0] * x[1]).sin()
                    + 20.0 * (x[2] - 0.5).powi(2)
                    + 10.0 * x[3]
                    + 5.0 * x[4]
            })
            .collect();
        (Matrix::from_rows(&rows).unwrap(), y)
    }

    fn rmse(model: &HistBoosting, x: &Matrix, y: &[f64]) -> f64 {
        let se: f64 = (0..x.rows())
            .map(|i| (model.predict_row(x.row(i)) - y[i]).powi(2))
            .sum();
        (se / y.len() as f64).sqrt()
    }

    #[test]
    fn it_learns_friedmans_function_and_a_leaf_never_holds_fewer_than_the_minimum() {
        let (x, y) = friedman(800, 1);
        let (tx, ty) = friedman(400, 2);
        let mut m = HistBoosting::new(200, 0.1, 31, 40, 20, 0.0, 255, 0);
        m.fit(&x, &y, 7).unwrap();
        let sd = {
            let mu = mean(&ty);
            (ty.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / ty.len() as f64).sqrt()
        };
        let error = rmse(&m, &tx, &ty);
        assert!(error < 0.4 * sd, "held-out RMSE {error} vs SD {sd}");
        assert_eq!(m.rounds(), 200);
        // x5 is noise-free irrelevance: the least important feature.
        let imp = m.importance();
        assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(imp[5] < imp[3] && imp[5] < imp[0], "{imp:?}");
        for t in &m.trees {
            let leaves = t.nodes.iter().filter(|n| n.feature == u32::MAX).count();
            assert!(leaves <= 31);
            // Every leaf holds at least min_samples_leaf training rows.
            let mut rows_in = std::collections::HashMap::new();
            for i in 0..x.rows() {
                let mut at = 0usize;
                while t.nodes[at].feature != u32::MAX {
                    let n = &t.nodes[at];
                    at = if x.get(i, n.feature as usize) <= n.threshold {
                        n.left as usize
                    } else {
                        n.right as usize
                    };
                }
                *rows_in.entry(at).or_insert(0) += 1;
            }
            assert!(rows_in.values().all(|&c| c >= 20), "{rows_in:?}");
        }
    }

    #[test]
    fn subtracted_histograms_equal_counted_ones() {
        let (x, y) = friedman(300, 3);
        let binned = Binned::with_max_bins(&x, 64);
        let grad: Vec<f64> = y.iter().map(|v| -v).collect();
        let (off, total_bins) = offsets(&binned);
        let rowwise = row_major(&binned, 300);
        let g = Grower {
            binned: &binned,
            rowwise: &rowwise,
            total_bins,
            offsets: &off,
            grad: &grad,
            min_leaf: 5,
            l2: 0.0,
        };
        let all: Vec<u32> = (0..300).collect();
        let (left, right) = all.split_at(120);
        let mut pool = vec![vec![(9.0, 9); 3]];
        let parent = g.histogram(&all, &mut pool);
        let l = g.histogram(left, &mut pool);
        let r = g.histogram(right, &mut pool);
        for ((p, a), b) in parent.iter().zip(&l).zip(&r) {
            assert_eq!(p.1, a.1 + b.1);
            assert!((p.0 - a.0 - b.0).abs() < 1e-9);
        }
    }

    #[test]
    fn early_stopping_keeps_the_best_rounds_and_stops_well_before_the_cap_on_noise() {
        use rand::Rng;
        let mut r = rng(5);
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|_| (0..4).map(|_| r.random_range(0.0..1.0)).collect())
            .collect();
        let y: Vec<f64> = (0..400).map(|_| r.random_range(-1.0..1.0)).collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let mut m = HistBoosting::new(2000, 0.1, 31, 40, 5, 0.0, 255, 10);
        m.fit(&x, &y, 1).unwrap();
        assert!(m.rounds() < 100, "{} rounds on pure noise", m.rounds());
    }
}
