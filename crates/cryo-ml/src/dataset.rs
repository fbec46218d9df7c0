//! A training table: one row per distinct structure, all rows the same length, with optional
//! grouping keys (e.g. Bemis–Murcko scaffolds) and times for splitting, and a content digest
//! that identifies exactly what a model was trained on.

use crate::MlError;
use crate::matrix::Matrix;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// One measured sample before de-duplication.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Identity of the structure (canonical SMILES, or a mixture key); replicates share it.
    pub id: String,
    pub features: Vec<f64>,
    pub target: f64,
    pub group: Option<String>,
    pub time: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dataset {
    pub feature_names: Vec<String>,
    pub x: Matrix,
    pub y: Vec<f64>,
    pub ids: Vec<String>,
    pub groups: Option<Vec<String>>,
    pub times: Option<Vec<f64>>,
    /// Predefined fold of each row, when the split is given rather than computed.
    pub folds: Option<Vec<usize>>,
    /// How many input samples were replicates folded into an earlier row.
    pub replicates_merged: usize,
    /// How much replicate measurements of one structure disagree: the noise no model can
    /// predict below. `None` without replicates.
    #[serde(default)]
    pub replicate_spread: Option<ReplicateSpread>,
}

/// The disagreement between replicate measurements of the same structure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplicateSpread {
    /// Structures measured more than once.
    pub structures: usize,
    /// Their measurements.
    pub measurements: usize,
    /// Pooled within-structure standard deviation, √(Σ (nᵢ − 1) sᵢ² / Σ (nᵢ − 1)): the
    /// repeatability of the measurement, in the target's unit.
    pub pooled_sd: f64,
}

impl Dataset {
    /// Builds a dataset, merging samples with the same id into one row whose target is the mean
    /// of the replicates (first-seen features and group; earliest time).
    pub fn from_samples(
        feature_names: Vec<String>,
        samples: Vec<Sample>,
    ) -> Result<Dataset, MlError> {
        let p = feature_names.len();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut rows: Vec<(Sample, usize)> = Vec::new();
        // Per row: the sum of squared targets, for the replicates' spread.
        let mut squares: Vec<f64> = Vec::new();
        for (k, s) in samples.into_iter().enumerate() {
            if s.features.len() != p {
                return Err(MlError::InvalidInput(format!(
                    "sample {} ({}) has {} features, expected {p}",
                    k + 1,
                    s.id,
                    s.features.len()
                )));
            }
            if !s.target.is_finite() {
                return Err(MlError::InvalidInput(format!(
                    "sample {} ({}) has a non-finite target",
                    k + 1,
                    s.id
                )));
            }
            match index.get(&s.id) {
                Some(&row) => {
                    squares[row] += s.target * s.target;
                    let (first, count) = &mut rows[row];
                    first.target += s.target;
                    *count += 1;
                    first.time = match (first.time, s.time) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                None => {
                    index.insert(s.id.clone(), rows.len());
                    squares.push(s.target * s.target);
                    rows.push((s, 1));
                }
            }
        }
        let total: usize = rows.iter().map(|r| r.1).sum();
        let replicated: Vec<(f64, usize)> = rows
            .iter()
            .zip(&squares)
            .filter(|((_, c), _)| *c > 1)
            .map(|((s, c), sq)| {
                // Σ (x − x̄)² = Σ x² − (Σ x)² / n, floored at 0 against rounding.
                ((sq - s.target * s.target / *c as f64).max(0.0), *c)
            })
            .collect();
        let replicate_spread = (!replicated.is_empty()).then(|| {
            let (ss, df) = replicated
                .iter()
                .fold((0.0, 0usize), |(ss, df), (s, c)| (ss + s, df + c - 1));
            ReplicateSpread {
                structures: replicated.len(),
                measurements: replicated.iter().map(|r| r.1).sum(),
                pooled_sd: (ss / df as f64).sqrt(),
            }
        });
        let has_groups = rows.iter().any(|(s, _)| s.group.is_some());
        let has_times = !rows.is_empty() && rows.iter().all(|(s, _)| s.time.is_some());
        let mut data = Vec::with_capacity(rows.len() * p);
        for (s, _) in &rows {
            data.extend_from_slice(&s.features);
        }
        Ok(Dataset {
            feature_names,
            x: Matrix::new(rows.len(), p, data)?,
            y: rows.iter().map(|(s, c)| s.target / *c as f64).collect(),
            groups: has_groups.then(|| {
                rows.iter()
                    .map(|(s, _)| s.group.clone().unwrap_or_default())
                    .collect()
            }),
            times: has_times.then(|| {
                rows.iter()
                    .map(|(s, _)| s.time.unwrap_or_default())
                    .collect()
            }),
            ids: rows.into_iter().map(|(s, _)| s.id).collect(),
            folds: None,
            replicates_merged: total - index.len(),
            replicate_spread,
        })
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The rows at `indices` (order kept).
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let pick = |v: &Vec<String>| indices.iter().map(|&i| v[i].clone()).collect();
        Dataset {
            feature_names: self.feature_names.clone(),
            x: self.x.select_rows(indices),
            y: indices.iter().map(|&i| self.y[i]).collect(),
            ids: pick(&self.ids),
            groups: self.groups.as_ref().map(pick),
            times: self
                .times
                .as_ref()
                .map(|t| indices.iter().map(|&i| t[i]).collect()),
            folds: self
                .folds
                .as_ref()
                .map(|f| indices.iter().map(|&i| f[i]).collect()),
            replicates_merged: 0,
            replicate_spread: None,
        }
    }

    /// SHA-256 over the feature names and the rows sorted by id (id, target and features as
    /// exact bit patterns), so the same data in any order has the same digest.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for name in &self.feature_names {
            h.update(name.as_bytes());
            h.update([0]);
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|a, b| self.ids[*a].cmp(&self.ids[*b]));
        for i in order {
            h.update(self.ids[i].as_bytes());
            h.update([0]);
            h.update(self.y[i].to_bits().to_le_bytes());
            for v in self.x.row(i) {
                h.update(v.to_bits().to_le_bytes());
            }
        }
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, f: f64, t: f64) -> Sample {
        Sample {
            id: id.into(),
            features: vec![f],
            target: t,
            group: None,
            time: None,
        }
    }

    #[test]
    fn replicates_become_one_row_with_the_mean_target() {
        let d = Dataset::from_samples(
            vec!["f".into()],
            vec![s("CCO", 1.0, 2.0), s("CO", 3.0, 5.0), s("CCO", 1.0, 4.0)],
        )
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.y, vec![3.0, 5.0]);
        assert_eq!(d.replicates_merged, 1);
    }

    #[test]
    fn the_replicates_spread_is_their_pooled_standard_deviation() {
        // CCO: 1, 3 (Σ(x − x̄)² = 2, 1 df); CO: 5, 5, 8 (6, 2 df); CCC once: √(8 / 3).
        let d = Dataset::from_samples(
            vec!["f".into()],
            vec![
                s("CCO", 1.0, 1.0),
                s("CO", 1.0, 5.0),
                s("CCO", 1.0, 3.0),
                s("CCC", 1.0, 9.0),
                s("CO", 1.0, 5.0),
                s("CO", 1.0, 8.0),
            ],
        )
        .unwrap();
        let spread = d.replicate_spread.unwrap();
        assert_eq!((spread.structures, spread.measurements), (2, 5));
        assert!((spread.pooled_sd - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let single = Dataset::from_samples(vec!["f".into()], vec![s("A", 1.0, 2.0)]).unwrap();
        assert_eq!(single.replicate_spread, None);
    }

    #[test]
    fn digest_ignores_order_but_not_values() {
        let a = Dataset::from_samples(vec!["f".into()], vec![s("A", 1.0, 2.0), s("B", 3.0, 5.0)])
            .unwrap();
        let b = Dataset::from_samples(vec!["f".into()], vec![s("B", 3.0, 5.0), s("A", 1.0, 2.0)])
            .unwrap();
        let c = Dataset::from_samples(vec!["f".into()], vec![s("B", 3.0, 5.0), s("A", 1.0, 2.5)])
            .unwrap();
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn ragged_rows_are_refused_with_the_sample_number() {
        let mut bad = s("C", 1.0, 1.0);
        bad.features.push(2.0);
        let err = Dataset::from_samples(vec!["f".into()], vec![s("A", 1.0, 2.0), bad]).unwrap_err();
        assert!(err.to_string().contains("sample 2"), "{err}");
    }
}
