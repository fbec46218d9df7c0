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
                    rows.push((s, 1));
                }
            }
        }
        let total: usize = rows.iter().map(|r| r.1).sum();
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
