//! Regression metrics. Every function takes observed values first, predictions second.

use crate::matrix::mean;
use serde::{Deserialize, Serialize};

/// A prediction interval: what conformal prediction gives and coverage is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub lower: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub upper: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub n: usize,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub rmse: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub mae: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub r2: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub spearman: f64,
    /// Fraction of observations inside their prediction interval.
    pub coverage: Option<f64>,
    pub mean_width: Option<f64>,
}

impl Metrics {
    pub fn compute(observed: &[f64], predicted: &[f64], intervals: Option<&[Interval]>) -> Metrics {
        let n = observed.len();
        Metrics {
            n,
            rmse: rmse(observed, predicted),
            mae: observed
                .iter()
                .zip(predicted)
                .map(|(o, p)| (o - p).abs())
                .sum::<f64>()
                / n.max(1) as f64,
            r2: r2(observed, predicted),
            spearman: spearman(observed, predicted),
            coverage: intervals.map(|iv| {
                iv.iter()
                    .zip(observed)
                    .filter(|(i, o)| i.lower <= **o && **o <= i.upper)
                    .count() as f64
                    / n.max(1) as f64
            }),
            mean_width: intervals
                .map(|iv| iv.iter().map(|i| i.upper - i.lower).sum::<f64>() / n.max(1) as f64),
        }
    }
}

/// Interval levels at which validation measures coverage (the calibration curve).
pub const CALIBRATION_LEVELS: [f64; 6] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/// How often held-out observations fell inside intervals made at one nominal level: a point
/// of the calibration curve (well calibrated: observed ≈ nominal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub nominal: f64,
    /// Held-out rows behind this point.
    pub n: usize,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub observed: f64,
    /// `None` when some interval was unbounded (too few calibration rows for the level).
    pub mean_width: Option<f64>,
}

impl Coverage {
    pub fn of(nominal: f64, m: &Metrics) -> Coverage {
        Coverage {
            nominal,
            n: m.n,
            observed: m.coverage.unwrap_or(f64::NAN),
            mean_width: m.mean_width.filter(|w| w.is_finite()),
        }
    }

    /// Pools per-fold curves level by level, weighting each fold by its rows.
    pub fn pool<'a>(curves: impl Iterator<Item = &'a [Coverage]>) -> Vec<Coverage> {
        let mut pooled: Vec<(Coverage, f64)> = Vec::new();
        for curve in curves {
            for c in curve {
                let w = c.n as f64;
                match pooled.iter_mut().find(|(p, _)| p.nominal == c.nominal) {
                    Some((p, width)) => {
                        p.observed += c.observed * w;
                        p.n += c.n;
                        *width += c.mean_width.unwrap_or(f64::INFINITY) * w;
                    }
                    None => pooled.push((
                        Coverage {
                            observed: c.observed * w,
                            ..*c
                        },
                        c.mean_width.unwrap_or(f64::INFINITY) * w,
                    )),
                }
            }
        }
        pooled
            .into_iter()
            .map(|(mut p, width)| {
                let n = p.n.max(1) as f64;
                p.observed /= n;
                p.mean_width = Some(width / n).filter(|w| w.is_finite());
                p
            })
            .collect()
    }
}

pub fn rmse(observed: &[f64], predicted: &[f64]) -> f64 {
    let n = observed.len().max(1) as f64;
    (observed
        .iter()
        .zip(predicted)
        .map(|(o, p)| (o - p).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// Coefficient of determination, 1 − SSE/SST (negative when worse than the mean).
pub fn r2(observed: &[f64], predicted: &[f64]) -> f64 {
    let m = mean(observed);
    let sst: f64 = observed.iter().map(|o| (o - m).powi(2)).sum();
    let sse: f64 = observed
        .iter()
        .zip(predicted)
        .map(|(o, p)| (o - p).powi(2))
        .sum();
    if sst == 0.0 {
        if sse == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - sse / sst
    }
}

/// Spearman's rank correlation (average ranks for ties); 0 when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|x, y| values[*x].total_cmp(&values[*y]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end - 1) as f64 / 2.0 + 1.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let o = [1.0, 2.0, 3.0, 4.0];
        let p = [1.5, 2.0, 2.5, 5.0];
        let m = Metrics::compute(&o, &p, None);
        assert!((m.rmse - (1.5f64 / 4.0).sqrt()).abs() < 1e-12);
        assert!((m.mae - 0.5).abs() < 1e-12);
        assert!((m.r2 - (1.0 - 1.5 / 5.0)).abs() < 1e-12);
        assert_eq!(m.spearman, 1.0);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // Ties get average ranks: ranks [1.5, 1.5, 3] vs [1, 2, 3].
        assert!((spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]) - 0.8660254037844387).abs() < 1e-12);
    }

    #[test]
    fn coverage_and_width() {
        let iv = [
            Interval {
                lower: 0.0,
                upper: 2.0,
            },
            Interval {
                lower: 0.0,
                upper: 1.0,
            },
        ];
        let m = Metrics::compute(&[1.0, 3.0], &[1.0, 0.5], Some(&iv));
        assert_eq!(m.coverage, Some(0.5));
        assert_eq!(m.mean_width, Some(1.5));
    }
}
