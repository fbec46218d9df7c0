//! Regression trees (CART, squared error) grown on binned features, shared by the random
//! forest and gradient boosting. Features are binned once per fit into at most 1024 bins at
//! midpoints between distinct values, so on data sets with ≤ 1024 distinct values per feature
//! the splits are exactly CART's; above that, quantile bins. Large nodes find splits from
//! histograms, small ones by sorting, so both ends of the tree stay cheap.

use crate::matrix::Matrix;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

pub const MAX_BINS: usize = 1024;

/// Features binned column-major: `codes[f * n + i]` is sample `i`'s bin for feature `f`; a
/// sample is in bin `b` of feature `f` iff `thresholds[f][b-1] < x ≤ thresholds[f][b]`.
pub(crate) struct Binned {
    n: usize,
    codes: Vec<u16>,
    thresholds: Vec<Vec<f64>>,
    /// Smallest and largest training value in each bin, so a split's threshold can sit midway
    /// between the values actually present on either side (as CART's does).
    bin_min: Vec<Vec<f64>>,
    bin_max: Vec<Vec<f64>>,
}

impl Binned {
    pub(crate) fn new(x: &Matrix) -> Binned {
        Binned::with_max_bins(x, MAX_BINS)
    }

    /// Binned into at most `max_bins` bins per feature (2..=[`MAX_BINS`]).
    pub(crate) fn with_max_bins(x: &Matrix, max_bins: usize) -> Binned {
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let (n, p) = (x.rows(), x.cols());
        let mut codes = vec![0u16; n * p];
        let mut thresholds = Vec::with_capacity(p);
        let (mut bin_min, mut bin_max) = (Vec::with_capacity(p), Vec::with_capacity(p));
        for f in 0..p {
            let mut values: Vec<f64> = x.column(f).collect();
            values.sort_by(f64::total_cmp);
            let cuts = cut_points(&values, max_bins);
            let mut lo = vec![f64::INFINITY; cuts.len() + 1];
            let mut hi = vec![f64::NEG_INFINITY; cuts.len() + 1];
            for i in 0..n {
                let v = x.get(i, f);
                let code = cuts.partition_point(|t| *t < v);
                codes[f * n + i] = code as u16;
                lo[code] = lo[code].min(v);
                hi[code] = hi[code].max(v);
            }
            thresholds.push(cuts);
            bin_min.push(lo);
            bin_max.push(hi);
        }
        Binned {
            n,
            codes,
            thresholds,
            bin_min,
            bin_max,
        }
    }

    pub(crate) fn features(&self) -> usize {
        self.thresholds.len()
    }

    pub(crate) fn column(&self, f: usize) -> &[u16] {
        &self.codes[f * self.n..(f + 1) * self.n]
    }

    /// Bins of feature `f`.
    pub(crate) fn bins(&self, f: usize) -> usize {
        self.thresholds[f].len() + 1
    }

    /// The value between bin `b` and `b + 1` of feature `f`: a row is left of a split after
    /// bin `b` iff its value is ≤ this.
    pub(crate) fn threshold(&self, f: usize, b: usize) -> f64 {
        self.thresholds[f][b]
    }
}

/// At most `max_bins - 1` thresholds, each the midpoint between two adjacent distinct values.
fn cut_points(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let mut distinct: Vec<f64> = sorted.to_vec();
    distinct.dedup();
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| midpoint(w[0], w[1])).collect();
    }
    let n = sorted.len();
    let mut cuts = Vec::with_capacity(max_bins - 1);
    for q in 1..max_bins {
        let v = sorted[q * n / max_bins];
        // Cut just above v, at the midpoint to the next distinct value.
        let next = distinct.partition_point(|d| *d <= v);
        if next < distinct.len() {
            let t = midpoint(v, distinct[next]);
            if cuts.last().is_none_or(|last| t > *last) {
                cuts.push(t);
            }
        }
    }
    cuts
}

fn midpoint(a: f64, b: f64) -> f64 {
    let m = a + (b - a) / 2.0;
    // Guard against rounding onto b, which would put b on the wrong side.
    if m >= b { a } else { m }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeParams {
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    /// Features considered at each split (all when ≥ the feature count).
    pub max_features: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Node {
    /// `u32::MAX` marks a leaf.
    feature: u32,
    threshold: f64,
    left: u32,
    right: u32,
    value: f64,
}

impl Node {
    /// A fresh node; it stays a leaf unless a split is found for it.
    const LEAF: Node = Node {
        feature: u32::MAX,
        threshold: 0.0,
        left: 0,
        right: 0,
        value: 0.0,
    };
}

impl Tree {
    pub(crate) fn predict_row(&self, row: &[f64]) -> f64 {
        self.nodes[self.leaf_of(row)].value
    }

    /// The index of the leaf `row` falls in.
    pub(crate) fn leaf_of(&self, row: &[f64]) -> usize {
        let mut at = 0;
        loop {
            let node = &self.nodes[at];
            if node.feature == u32::MAX {
                return at;
            }
            at = if row[node.feature as usize] <= node.threshold {
                node.left
            } else {
                node.right
            } as usize;
        }
    }

    /// Replaces each leaf's value by `value(leaf index)` (boosting with a Newton step per leaf).
    pub(crate) fn set_leaves(&mut self, value: impl Fn(usize) -> f64) {
        for (k, node) in self.nodes.iter_mut().enumerate() {
            if node.feature == u32::MAX {
                node.value = value(k);
            }
        }
    }

    /// Multiplies every leaf by `factor` (gradient boosting folds its learning rate in).
    pub(crate) fn scale_leaves(&mut self, factor: f64) {
        for node in &mut self.nodes {
            if node.feature == u32::MAX {
                node.value *= factor;
            }
        }
    }

    /// Grows a tree on the given samples (indices into `binned`, repeats allowed) to fit
    /// `targets`; adds each split's variance reduction to `importance[feature]`.
    pub(crate) fn grow(
        binned: &Binned,
        targets: &[f64],
        samples: &mut [u32],
        params: TreeParams,
        rng: &mut impl rand::Rng,
        importance: &mut [f64],
    ) -> Tree {
        let mut builder = Builder {
            binned,
            targets,
            params,
            nodes: Vec::new(),
            hist_count: vec![0; MAX_BINS],
            hist_sum: vec![0.0; MAX_BINS],
            pairs: Vec::new(),
        };
        builder.nodes.push(Node::LEAF);
        // (node index, start, end, depth) of nodes still to be split.
        let mut stack = vec![(0usize, 0usize, samples.len(), 0usize)];
        while let Some((node, start, end, depth)) = stack.pop() {
            let slice = &mut samples[start..end];
            let sum: f64 = slice.iter().map(|&i| targets[i as usize]).sum();
            builder.nodes[node].value = sum / slice.len() as f64;
            if depth >= params.max_depth || slice.len() < 2 * params.min_samples_leaf.max(1) {
                continue;
            }
            let Some(split) = builder.best_split(slice, sum, rng) else {
                continue;
            };
            importance[split.feature] += split.gain;
            let column = binned.column(split.feature);
            let mid = partition(slice, |i| column[i as usize] as usize <= split.bin);
            let left = builder.nodes.len();
            for _ in 0..2 {
                builder.nodes.push(Node::LEAF);
            }
            let n = &mut builder.nodes[node];
            n.feature = split.feature as u32;
            n.threshold = midpoint(
                binned.bin_max[split.feature][split.bin],
                binned.bin_min[split.feature][split.next],
            );
            n.left = left as u32;
            n.right = left as u32 + 1;
            stack.push((left + 1, start + mid, end, depth + 1));
            stack.push((left, start, start + mid, depth + 1));
        }
        Tree {
            nodes: builder.nodes,
        }
    }
}

struct Split {
    feature: usize,
    /// Highest bin going left, and lowest bin present in the node going right.
    bin: usize,
    next: usize,
    gain: f64,
}

struct Builder<'a> {
    binned: &'a Binned,
    targets: &'a [f64],
    params: TreeParams,
    nodes: Vec<Node>,
    hist_count: Vec<u32>,
    hist_sum: Vec<f64>,
    pairs: Vec<(u16, f64)>,
}

impl Builder<'_> {
    fn best_split(&mut self, samples: &[u32], sum: f64, rng: &mut impl rand::Rng) -> Option<Split> {
        let p = self.binned.features();
        let m = samples.len();
        let parent = sum * sum / m as f64;
        let mut best: Option<Split> = None;
        let mut consider = |feature: usize, bin: usize, next: usize, gain: f64| {
            if gain > 1e-12 * parent.abs().max(1e-12) && best.as_ref().is_none_or(|b| gain > b.gain)
            {
                best = Some(Split {
                    feature,
                    bin,
                    next,
                    gain,
                });
            }
        };
        let features: Vec<usize> = if self.params.max_features >= p {
            (0..p).collect()
        } else {
            let mut f = sample(rng, p, self.params.max_features.max(1)).into_vec();
            f.sort_unstable();
            f
        };
        let min_leaf = self.params.min_samples_leaf.max(1);
        for f in features {
            let bins = self.binned.thresholds[f].len() + 1;
            if bins < 2 {
                continue;
            }
            let column = self.binned.column(f);
            if m * 4 >= bins {
                let count = &mut self.hist_count[..bins];
                let hsum = &mut self.hist_sum[..bins];
                count.fill(0);
                hsum.fill(0.0);
                for &i in samples {
                    let b = column[i as usize] as usize;
                    count[b] += 1;
                    hsum[b] += self.targets[i as usize];
                }
                let (mut n_left, mut s_left) = (0usize, 0.0);
                let mut previous: Option<usize> = None;
                for b in 0..bins {
                    if count[b] == 0 {
                        continue;
                    }
                    if let Some(left_bin) = previous {
                        let n_right = m - n_left;
                        if n_right < min_leaf {
                            break;
                        }
                        if n_left >= min_leaf {
                            let s_right = sum - s_left;
                            let gain = s_left * s_left / n_left as f64
                                + s_right * s_right / n_right as f64
                                - parent;
                            consider(f, left_bin, b, gain);
                        }
                    }
                    n_left += count[b] as usize;
                    s_left += hsum[b];
                    previous = Some(b);
                }
            } else {
                self.pairs.clear();
                self.pairs.extend(
                    samples
                        .iter()
                        .map(|&i| (column[i as usize], self.targets[i as usize])),
                );
                self.pairs.sort_unstable_by_key(|p| p.0);
                let mut s_left = 0.0;
                for k in 0..m - 1 {
                    s_left += self.pairs[k].1;
                    let n_left = k + 1;
                    if self.pairs[k].0 == self.pairs[k + 1].0 || n_left < min_leaf {
                        continue;
                    }
                    let n_right = m - n_left;
                    if n_right < min_leaf {
                        break;
                    }
                    let s_right = sum - s_left;
                    consider(
                        f,
                        self.pairs[k].0 as usize,
                        self.pairs[k + 1].0 as usize,
                        s_left * s_left / n_left as f64 + s_right * s_right / n_right as f64
                            - parent,
                    );
                }
            }
        }
        best
    }
}

/// Moves the elements satisfying `left` to the front; returns how many there are.
fn partition(slice: &mut [u32], left: impl Fn(u32) -> bool) -> usize {
    let mut mid = 0;
    for k in 0..slice.len() {
        if left(slice[k]) {
            slice.swap(mid, k);
            mid += 1;
        }
    }
    mid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_separate_every_distinct_value_when_there_are_few() {
        let x = Matrix::from_rows(&[vec![1.0], vec![3.0], vec![3.0], vec![7.0]]).unwrap();
        let b = Binned::new(&x);
        assert_eq!(b.thresholds[0], vec![2.0, 5.0]);
        assert_eq!(b.column(0), &[0, 1, 1, 2]);
    }

    #[test]
    fn quantile_bins_stay_ordered_and_bounded() {
        let rows: Vec<Vec<f64>> = (0..5000)
            .map(|i| vec![((i * 7919) % 5000) as f64 / 3.0])
            .collect();
        let b = Binned::new(&Matrix::from_rows(&rows).unwrap());
        let t = &b.thresholds[0];
        assert!(t.len() < MAX_BINS && t.len() > 200);
        assert!(t.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_deep_tree_reproduces_a_step_function_and_threshold_lies_between_values() {
        let x = Matrix::from_rows(&(0..20).map(|i| vec![i as f64]).collect::<Vec<_>>()).unwrap();
        let y: Vec<f64> = (0..20).map(|i| if i < 8 { 1.0 } else { 5.0 }).collect();
        let b = Binned::new(&x);
        let mut samples: Vec<u32> = (0..20).collect();
        let mut imp = vec![0.0];
        let params = TreeParams {
            max_depth: 3,
            min_samples_leaf: 1,
            max_features: 1,
        };
        let tree = Tree::grow(&b, &y, &mut samples, params, &mut crate::rng(0), &mut imp);
        assert_eq!(tree.nodes[0].threshold, 7.5);
        for i in 0..20 {
            assert_eq!(tree.predict_row(&[i as f64]), y[i]);
        }
        assert!(imp[0] > 0.0);
    }
}
