//! Training sets from the database: every visible experiment of one property type, on single
//! molecules and on mixtures, as rows of one length. A molecule's row is its features plus
//! `component_count` = 1 and `concentration_spread` = 0; a mixture's row is the molar-share-
//! weighted mean of its components' features plus its component count and the spread (population
//! standard deviation) of the shares. Units are reconciled exactly as for mixture scores.

use crate::AppError;
use cryo_chem::Molecule;
use cryo_chem::featurize::FeatureSet;
use cryo_core::ident::VerificationStatus;
use cryo_db::repo::Conn;
use cryo_db::repo::science::{self, ComponentRow, Measurement};
use cryo_ml::{Dataset, Sample};
use std::collections::HashMap;
use uuid::Uuid;

/// The two columns appended to every feature set so molecules and mixtures share one layout.
pub const MIXTURE_FEATURES: [&str; 2] = ["component_count", "concentration_spread"];

pub fn feature_names(set: FeatureSet) -> Vec<String> {
    let mut names = set.names();
    names.extend(MIXTURE_FEATURES.map(String::from));
    names
}

/// A single molecule's row in the mixture-aware layout.
pub fn molecule_row(set: FeatureSet, molecule: &Molecule) -> Result<Vec<f64>, AppError> {
    let mut row = set.compute(molecule)?;
    row.extend([1.0, 0.0]);
    Ok(row)
}

/// Pools component rows (features, molar share) into one mixture row.
pub fn pool<F: AsRef<[f64]>>(components: &[(F, f64)]) -> Vec<f64> {
    let width = components.first().map_or(0, |c| c.0.as_ref().len());
    let mut row = vec![0.0; width];
    for (features, share) in components {
        for (acc, v) in row.iter_mut().zip(features.as_ref()) {
            *acc += share * v;
        }
    }
    let n = components.len() as f64;
    let mean_share = components.iter().map(|c| c.1).sum::<f64>() / n;
    let spread = (components
        .iter()
        .map(|c| (c.1 - mean_share).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    row.extend([n, spread]);
    row
}

/// An experiment left out of a training set, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejected {
    pub experiment_id: Uuid,
    pub reason: String,
}

pub struct TrainingSet {
    pub dataset: Dataset,
    pub rejected: Vec<Rejected>,
}

/// Which measurements may train a model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Admit {
    /// Only measurements a colleague has verified (the latest decided verification).
    pub verified_only: bool,
}

/// Whether a measurement may train at all: never when a lab verification rejected it; under
/// `verified_only`, only when one verified it.
fn admitted(m: &Measurement, admit: Admit) -> Result<(), String> {
    match m.verdict {
        Some(VerificationStatus::Rejected) => Err("rejected by lab verification".into()),
        Some(VerificationStatus::Verified) => Ok(()),
        _ if admit.verified_only => Err("not verified (verified_only)".into()),
        _ => Ok(()),
    }
}

/// A measurement's value as a training target, in its property type's unit, or why it may not
/// train: not admitted, in a unit that does not convert to the property's, or not a number.
fn target(m: &Measurement, admit: Admit) -> Result<f64, String> {
    admitted(m, admit)?;
    let value = match (&m.numeric_value, &m.text_value, &m.boolean_value) {
        (Some(v), _, _) => *v,
        (_, Some(t), _) => t
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("text value {t:?} is not a number"))?,
        (_, _, Some(b)) => return Ok(if *b { 1.0 } else { 0.0 }),
        _ => return Err("no value".into()),
    };
    let stored = m.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
    match (stored, m.property_unit.as_deref()) {
        (Some(from), to) if Some(from) != to => cryo_core::measure::convert(value, Some(from), to)
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "stored in {from:?}, which does not convert to the property's unit {}",
                    to.unwrap_or("(none)")
                )
            }),
        _ => Ok(value),
    }
}

/// A measurement's class label, or why it may not train: not admitted, or no label. A yes/no
/// property's classes are `false` and `true` (so `true` is the positive class); a text
/// property's are its values, trimmed.
fn label(m: &Measurement, admit: Admit) -> Result<String, String> {
    admitted(m, admit)?;
    match (&m.boolean_value, &m.text_value) {
        (Some(b), _) => Ok(b.to_string()),
        (_, Some(t)) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        (_, Some(_)) => Err("the class label is empty".into()),
        _ => Err("a class property's measurement holds no class".into()),
    }
}

/// A subject's identity (canonical SMILES, or a mixture's composition), feature row and
/// grouping key (scaffold; for a mixture, its largest component's), or why it has none.
type Entry = Result<(String, Vec<f64>, String), String>;

/// A mixture's entry from its components (CPU: RDKit on each component).
fn mixture_entry(components: &[ComponentRow], set: FeatureSet) -> Result<Entry, AppError> {
    if components.is_empty() {
        return Ok(Err("the mixture has no components".into()));
    }
    let shares = match crate::composition::shares(components) {
        Ok(s) => s,
        Err(e) => return Ok(Err(format!("mixture units cannot be reconciled: {e}"))),
    };
    let mut rows = Vec::with_capacity(components.len());
    let mut key: Vec<String> = Vec::with_capacity(components.len());
    for (c, share) in components.iter().zip(&shares) {
        let molecule = match Molecule::from_smiles(&c.canonical_smiles) {
            Ok(m) => m,
            Err(e) => return Ok(Err(format!("component {}: {e}", c.canonical_smiles))),
        };
        rows.push((set.compute(&molecule)?, *share));
        key.push(format!("{}@{share:.6}", c.canonical_smiles));
    }
    key.sort();
    let major = components
        .iter()
        .zip(&shares)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(c, _)| c.canonical_smiles.clone())
        .unwrap_or_default();
    let group = Molecule::from_smiles(&major)?.murcko_scaffold()?;
    Ok(Ok((
        format!("mixture:{}", key.join("|")),
        pool(&rows),
        group,
    )))
}

/// A mixture's row in the mixture-aware layout from its components, or why it has none (CPU).
pub fn mixture_row(
    components: &[ComponentRow],
    set: FeatureSet,
) -> Result<Result<Vec<f64>, String>, AppError> {
    Ok(mixture_entry(components, set)?.map(|(_, row, _)| row))
}

/// The signature of rows built here for `set`.
pub fn signature(set: FeatureSet) -> cryo_ml::FeatureSignature {
    cryo_ml::FeatureSignature {
        set: set.name().into(),
        version: set.version(),
        names: feature_names(set),
    }
}

/// What a training set is made of, read as someone; [`Gathered::featurise`] turns it into rows
/// off the async runtime.
pub struct Gathered {
    measurements: Vec<Measurement>,
    mixtures: HashMap<Uuid, Vec<ComponentRow>>,
}

/// Reads every experiment of `property` that `conn`'s identity may read, with the components of
/// the mixtures they were measured on.
pub async fn gather(conn: &mut Conn, property: &str) -> Result<Gathered, AppError> {
    let measurements = science::measurements(conn, property).await?;
    if measurements.is_empty() {
        return Err(AppError::validation(
            "property",
            format!("no experiments of property type {property:?}"),
        ));
    }
    let mut mixtures = HashMap::new();
    for m in &measurements {
        if let (None, Some(id)) = (&m.canonical_smiles, m.mixture_id)
            && !mixtures.contains_key(&id)
        {
            mixtures.insert(id, science::components(conn, id).await?);
        }
    }
    Ok(Gathered {
        measurements,
        mixtures,
    })
}

/// Admitted measurements as samples, each with its value and experiment.
type Admitted<T> = Vec<(Sample, (T, Uuid))>;

/// A class-labelled training set, and what was left out.
pub struct LabelledSet {
    pub labelled: cryo_ml::classify::Labelled,
    pub rejected: Vec<Rejected>,
}

impl Gathered {
    /// The training set (CPU-bound: RDKit on every structure; run it off the runtime).
    pub fn featurise(self, set: FeatureSet, admit: Admit) -> Result<TrainingSet, AppError> {
        let (samples, rejected) = self.samples(set, |m| target(m, admit))?;
        Ok(TrainingSet {
            dataset: Dataset::from_samples(
                feature_names(set),
                samples
                    .into_iter()
                    .map(|(mut s, (value, _))| {
                        s.target = value;
                        s
                    })
                    .collect(),
            )?,
            rejected,
        })
    }

    /// The class-labelled training set (CPU-bound, as [`Gathered::featurise`]). Replicate
    /// measurements of one structure that disagree on the class train on neither side: each
    /// is reported with the classes it was given.
    pub fn featurise_labels(self, set: FeatureSet, admit: Admit) -> Result<LabelledSet, AppError> {
        let (samples, mut rejected) = self.samples(set, |m| label(m, admit))?;
        // Each structure's experiments, to name every one a disagreement leaves out.
        let mut experiments: HashMap<String, Vec<Uuid>> = HashMap::new();
        for (s, (_, e)) in &samples {
            experiments.entry(s.id.clone()).or_default().push(*e);
        }
        let labelled = cryo_ml::classify::settle_labels(
            feature_names(set),
            samples.into_iter().map(|(s, (l, _))| (s, l)).collect(),
        )?;
        for (id, classes) in &labelled.disagreements {
            let reason = format!("replicates disagree on the class: {}", classes.join(", "));
            rejected.extend(experiments.get(id).into_iter().flatten().map(|e| Rejected {
                experiment_id: *e,
                reason: reason.clone(),
            }));
        }
        Ok(LabelledSet { labelled, rejected })
    }

    /// A sample per admitted measurement with a feature row, with its `value` and the
    /// experiment it came from (the sample's `target` is left for the caller); the rest,
    /// rejected.
    fn samples<T>(
        self,
        set: FeatureSet,
        value: impl Fn(&Measurement) -> Result<T, String>,
    ) -> Result<(Admitted<T>, Vec<Rejected>), AppError> {
        let mut entries: HashMap<Uuid, Entry> = HashMap::new();
        let mut samples = Vec::with_capacity(self.measurements.len());
        let mut rejected = Vec::new();
        for m in &self.measurements {
            let value = match value(m) {
                Ok(v) => v,
                Err(reason) => {
                    rejected.push(Rejected {
                        experiment_id: m.experiment_id,
                        reason,
                    });
                    continue;
                }
            };
            let entry = match (&m.canonical_smiles, m.mixture_id) {
                (Some(smiles), _) => Molecule::from_smiles(smiles)
                    .map_err(|e| e.to_string())
                    .and_then(|mol| {
                        let row = molecule_row(set, &mol).map_err(|e| e.to_string())?;
                        let group = mol.murcko_scaffold().map_err(|e| e.to_string())?;
                        Ok((smiles.clone(), row, group))
                    }),
                (None, Some(mixture)) => match entries.get(&mixture) {
                    Some(entry) => entry.clone(),
                    None => {
                        let components = self.mixtures.get(&mixture).map_or(&[][..], Vec::as_slice);
                        let entry = mixture_entry(components, set)?;
                        entries.insert(mixture, entry.clone());
                        entry
                    }
                },
                (None, None) => Err("the experiment's molecule is not visible".into()),
            };
            match entry {
                Ok((id, features, group)) => samples.push((
                    Sample {
                        id,
                        features,
                        // Set by the caller from the value (a class index once all are known).
                        target: f64::NAN,
                        group: Some(group),
                        time: m.performed_on.map(|d| d.to_julian_day() as f64),
                    },
                    (value, m.experiment_id),
                )),
                Err(reason) => rejected.push(Rejected {
                    experiment_id: m.experiment_id,
                    reason,
                }),
            }
        }
        Ok((samples, rejected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_weights_by_share_and_appends_count_and_spread() {
        let row = pool(&[(vec![1.0, 10.0], 0.75), (vec![3.0, 20.0], 0.25)]);
        assert_eq!(row, vec![1.5, 12.5, 2.0, 0.25]);
    }
}
