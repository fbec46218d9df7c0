//! Train/test splits. Every splitter yields folds whose test parts never share a row with their
//! training parts; group splits never put one group on both sides.

use crate::dataset::Dataset;
use crate::{MlError, derive_seed, rng};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Splitter {
    /// Shuffled k-fold.
    KFold { k: usize },
    /// k-fold repeated with different shuffles.
    RepeatedKFold { k: usize, repeats: usize },
    /// One fold per sample (small data sets).
    LeaveOneOut,
    /// k-fold over groups (e.g. Bemis–Murcko scaffolds): a group is never split.
    GroupKFold { k: usize },
    /// Forward-chaining over time: each fold trains on the past and tests on the next block.
    Time { k: usize },
    /// The dataset's own fold column.
    Predefined,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    pub index: usize,
    pub repeat: usize,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

impl Splitter {
    /// The splitter for an inner CV (e.g. scoring search candidates) with `k` folds: it keeps
    /// this one's grouping, so a scaffold split stays scaffold-aware inside.
    pub fn inner(&self, k: usize) -> Splitter {
        match self {
            Splitter::GroupKFold { .. } => Splitter::GroupKFold { k },
            Splitter::Time { .. } => Splitter::Time { k },
            _ => Splitter::KFold { k },
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Splitter::KFold { k } => format!("{k}-fold"),
            Splitter::RepeatedKFold { k, repeats } => format!("{k}-fold × {repeats} repeats"),
            Splitter::LeaveOneOut => "leave-one-out".into(),
            Splitter::GroupKFold { k } => format!("{k}-fold by group (scaffold)"),
            Splitter::Time { k } => format!("time-ordered, {k} forward folds"),
            Splitter::Predefined => "predefined folds".into(),
        }
    }

    pub fn folds(&self, data: &Dataset, seed: u64) -> Result<Vec<Fold>, MlError> {
        let n = data.len();
        let need = |k: usize, what: &str| -> Result<(), MlError> {
            if k < 2 {
                return Err(MlError::InvalidParameter {
                    name: "k",
                    reason: "at least 2 folds".into(),
                });
            }
            if n < k {
                return Err(MlError::NotEnoughData(format!(
                    "{n} samples for {k} {what}"
                )));
            }
            Ok(())
        };
        let folds = match self {
            Splitter::KFold { k } => {
                need(*k, "folds")?;
                kfold(n, *k, seed, 0)
            }
            Splitter::RepeatedKFold { k, repeats } => {
                need(*k, "folds")?;
                (0..(*repeats).max(1))
                    .flat_map(|r| kfold(n, *k, derive_seed(seed, r as u64), r))
                    .collect()
            }
            Splitter::LeaveOneOut => {
                need(2, "folds")?;
                (0..n)
                    .map(|i| {
                        from_assignment(
                            &(0..n).map(|j| usize::from(j == i)).collect::<Vec<_>>(),
                            1,
                            i,
                            0,
                        )
                    })
                    .collect()
            }
            Splitter::GroupKFold { k } => {
                let groups = data.groups.as_ref().ok_or_else(|| {
                    MlError::InvalidInput(
                        "a group split needs a group (scaffold) for every row".into(),
                    )
                })?;
                group_kfold(groups, *k, seed)?
            }
            Splitter::Time { k } => {
                need(*k + 1, "time blocks")?;
                let times = data.times.as_ref().ok_or_else(|| {
                    MlError::InvalidInput("a time split needs a time for every row".into())
                })?;
                time_split(times, *k)
            }
            Splitter::Predefined => {
                let ids = data
                    .folds
                    .as_ref()
                    .ok_or_else(|| MlError::InvalidInput("no predefined fold column".into()))?;
                let distinct: std::collections::BTreeSet<usize> = ids.iter().copied().collect();
                if distinct.len() < 2 {
                    return Err(MlError::NotEnoughData(
                        "the fold column has fewer than 2 distinct folds".into(),
                    ));
                }
                distinct
                    .into_iter()
                    .enumerate()
                    .map(|(index, f)| Fold {
                        index,
                        repeat: 0,
                        train: (0..n).filter(|&i| ids[i] != f).collect(),
                        test: (0..n).filter(|&i| ids[i] == f).collect(),
                    })
                    .collect()
            }
        };
        Ok(folds)
    }
}

fn kfold(n: usize, k: usize, seed: u64, repeat: usize) -> Vec<Fold> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng(seed));
    let mut assignment = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        assignment[i] = pos * k / n;
    }
    (0..k)
        .map(|f| from_assignment(&assignment, f, f, repeat))
        .collect()
}

fn from_assignment(assignment: &[usize], test_fold: usize, index: usize, repeat: usize) -> Fold {
    let (test, train): (Vec<usize>, Vec<usize>) =
        (0..assignment.len()).partition(|&i| assignment[i] == test_fold);
    Fold {
        index,
        repeat,
        train,
        test,
    }
}

/// Largest groups first, each into the currently smallest fold (ties shuffled by the seed).
fn group_kfold(groups: &[String], k: usize, seed: u64) -> Result<Vec<Fold>, MlError> {
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        members.entry(g.as_str()).or_default().push(i);
    }
    if members.len() < k || k < 2 {
        return Err(MlError::NotEnoughData(format!(
            "{} distinct groups for {k} folds",
            members.len()
        )));
    }
    let mut list: Vec<Vec<usize>> = members.into_values().collect();
    list.shuffle(&mut rng(seed));
    list.sort_by_key(|m| std::cmp::Reverse(m.len()));
    let mut sizes = vec![0usize; k];
    let mut assignment = vec![0; groups.len()];
    for m in list {
        let fold = (0..k).min_by_key(|&f| (sizes[f], f)).expect("k ≥ 2");
        sizes[fold] += m.len();
        for i in m {
            assignment[i] = fold;
        }
    }
    Ok((0..k)
        .map(|f| from_assignment(&assignment, f, f, 0))
        .collect())
}

fn time_split(times: &[f64], k: usize) -> Vec<Fold> {
    let n = times.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| times[*a].total_cmp(&times[*b]).then(a.cmp(b)));
    let block = n / (k + 1);
    let first = n - k * block;
    (0..k)
        .map(|f| {
            let start = first + f * block;
            Fold {
                index: f,
                repeat: 0,
                train: order[..start].to_vec(),
                test: order[start..start + block].to_vec(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Sample;

    fn data(n: usize) -> Dataset {
        let samples = (0..n)
            .map(|i| Sample {
                id: i.to_string(),
                features: vec![i as f64],
                target: i as f64,
                group: Some(format!("g{}", i % 7)),
                time: Some((n - i) as f64),
            })
            .collect();
        Dataset::from_samples(vec!["f".into()], samples).unwrap()
    }

    fn assert_partition(folds: &[Fold], n: usize) {
        let mut seen = vec![0; n];
        for f in folds {
            for &i in &f.test {
                seen[i] += 1;
                assert!(!f.train.contains(&i));
            }
            assert_eq!(f.train.len() + f.test.len(), n);
        }
        assert!(seen.iter().all(|&c| c == 1), "{seen:?}");
    }

    #[test]
    fn kfold_tests_every_row_exactly_once_and_is_seeded() {
        let d = data(23);
        let a = Splitter::KFold { k: 5 }.folds(&d, 1).unwrap();
        assert_partition(&a, 23);
        assert_eq!(a, Splitter::KFold { k: 5 }.folds(&d, 1).unwrap());
        assert_ne!(a, Splitter::KFold { k: 5 }.folds(&d, 2).unwrap());
        assert_eq!(
            Splitter::RepeatedKFold { k: 5, repeats: 3 }
                .folds(&d, 1)
                .unwrap()
                .len(),
            15
        );
        assert_partition(&Splitter::LeaveOneOut.folds(&d, 0).unwrap(), 23);
    }

    #[test]
    fn group_kfold_never_splits_a_group() {
        let d = data(50);
        let folds = Splitter::GroupKFold { k: 3 }.folds(&d, 4).unwrap();
        assert_partition(&folds, 50);
        let groups = d.groups.as_ref().unwrap();
        for f in &folds {
            for &i in &f.test {
                assert!(f.train.iter().all(|&j| groups[j] != groups[i]));
            }
        }
    }

    #[test]
    fn time_split_trains_only_on_the_past() {
        let d = data(20);
        let times = d.times.as_ref().unwrap();
        let folds = Splitter::Time { k: 3 }.folds(&d, 0).unwrap();
        assert_eq!(folds.len(), 3);
        for f in &folds {
            let latest_train = f.train.iter().map(|&i| times[i]).fold(f64::MIN, f64::max);
            assert!(f.test.iter().all(|&i| times[i] > latest_train));
        }
    }
}
