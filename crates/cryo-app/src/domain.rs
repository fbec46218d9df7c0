//! Applicability domain: how far a molecule is from what a model was trained on, and whether
//! the model's intervals can be trusted there. Similarity is Tanimoto on Morgan fingerprints
//! (radius 2, 2048 bits) to the nearest training molecule; the thresholds are calibrated on the
//! version's own cross-validation: each held-out prediction's nearest-neighbour similarity to
//! the other training molecules, against whether its interval covered the measurement.
//!
//! Everything is derived from what every stored version already holds (the training ids and the
//! held-out predictions), so versions trained before this existed get a domain too.

use cryo_chem::{Fingerprint, Molecule};
use cryo_ml::TrainedModel;
use rayon::prelude::*;
use serde::Serialize;

/// Held-out coverage may fall this far below the nominal level before a region is `edge`.
pub const COVERAGE_SLACK: f64 = 0.05;
/// The least similar share of validated molecules: below their similarity, nothing was
/// validated, so a molecule there is `out`.
pub const OUT_QUANTILE: f64 = 0.05;
/// Fewest held-out rows a coverage is judged on.
const MIN_ROWS: usize = 5;
/// Held-out rows the calibration compares with every training molecule, at most (taken at an
/// even stride beyond that): bounds the first prediction of a large version's cost.
pub const MAX_CALIBRATION_ROWS: usize = 2_000;
/// How far past the training targets' range a value may go (as a share of the range) before it
/// is flagged as an extrapolation.
pub const RANGE_MARGIN: f64 = 0.1;

pub use cryo_core::ident::DomainFlag as Flag;

/// What a prediction says about its input's place in the domain.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainView {
    pub flag: Flag,
    /// Tanimoto similarity to the nearest training molecule, 0–1.
    pub nearest_similarity: f64,
    /// That molecule's canonical SMILES.
    pub nearest: String,
}

/// The thresholds and the coverage they were read from.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Calibration {
    /// Below this similarity: `edge`.
    pub edge_below: f64,
    /// Below this similarity: `out`.
    pub out_below: f64,
    /// Interval level of the held-out predictions, when they had intervals.
    pub level: Option<f64>,
    /// Held-out rows the calibration used.
    pub rows: usize,
    /// Held-out interval coverage of the rows at or above `edge_below`, and below it.
    pub coverage_in: Option<f64>,
    pub coverage_edge: Option<f64>,
    /// Mean held-out interval width of the same two groups (adaptive intervals widen at the
    /// edge; constant ones do not).
    pub width_in: Option<f64>,
    pub width_edge: Option<f64>,
    /// The training targets' range (from the held-out observations).
    pub target_range: Option<(f64, f64)>,
}

/// A version's domain: its training molecules' fingerprints and its calibration.
pub struct Domain {
    molecules: Vec<(String, Fingerprint)>,
    pub calibration: Calibration,
}

/// The fingerprint of a SMILES, if it is one (mixture keys and unparsable ids are not).
fn fingerprint(smiles: &str) -> Option<Fingerprint> {
    if smiles.starts_with("mixture:") {
        return None;
    }
    Molecule::from_smiles(smiles).ok()?.fingerprint().ok()
}

/// The most similar of `molecules` to `fp` (leaving out index `skip`), as (similarity, index).
fn nearest(
    molecules: &[(String, Fingerprint)],
    fp: &Fingerprint,
    skip: Option<usize>,
) -> Option<(f64, usize)> {
    molecules
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(i, (_, other))| (fp.tanimoto(other), i))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
}

/// A held-out prediction as the calibration sees it: (nearest similarity, interval covered,
/// interval width).
type HeldOut = (f64, bool, f64);

/// Share of `rows` whose interval covered.
fn coverage(rows: &[HeldOut]) -> Option<f64> {
    (!rows.is_empty()).then(|| rows.iter().filter(|r| r.1).count() as f64 / rows.len() as f64)
}

/// Mean interval width of `rows` (`None` when empty or some interval is unbounded).
fn width(rows: &[HeldOut]) -> Option<f64> {
    (!rows.is_empty())
        .then(|| rows.iter().map(|r| r.2).sum::<f64>() / rows.len() as f64)
        .filter(|w| w.is_finite())
}

/// Thresholds from held-out (similarity, covered) rows at nominal `level`: `out` below the
/// [`OUT_QUANTILE`] of similarities; `edge` just above the most similar uncovered row of any run
/// of neighbouring rows (by similarity; a tenth of them, at least [`MIN_ROWS`]) whose coverage
/// falls more than [`COVERAGE_SLACK`] below `level`.
pub fn thresholds(mut rows: Vec<HeldOut>, level: Option<f64>) -> (f64, f64) {
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    if rows.is_empty() {
        return (0.0, 0.0);
    }
    let n = rows.len();
    let out_below = rows[((n as f64 * OUT_QUANTILE).floor() as usize).min(n - 1)].0;
    let mut edge_below = out_below;
    let window = MIN_ROWS.max(n / 10);
    if let Some(level) = level
        && n >= window
    {
        for run in rows.windows(window) {
            let covered = run.iter().filter(|r| r.1).count() as f64 / window as f64;
            if covered >= level - COVERAGE_SLACK {
                continue;
            }
            // Just above the most similar row of the run whose interval missed.
            if let Some(missed) = run.iter().rev().find(|r| !r.1) {
                let above = rows
                    .iter()
                    .find(|r| r.0 > missed.0)
                    .map_or(missed.0, |r| r.0);
                edge_below = edge_below.max(above);
            }
        }
    }
    (edge_below, out_below)
}

impl Domain {
    /// The domain of `model`, or `None` when none of its training rows is a molecule. CPU:
    /// fingerprints every training molecule and compares each with all the others.
    pub fn of(model: &TrainedModel) -> Option<Domain> {
        let ids = &model.dataset.ids;
        let fps: Vec<Option<Fingerprint>> = ids.par_iter().map(|id| fingerprint(id)).collect();
        let mut index_of_row = vec![None; ids.len()];
        let mut molecules = Vec::new();
        for (row, fp) in fps.into_iter().enumerate() {
            if let Some(fp) = fp {
                index_of_row[row] = Some(molecules.len());
                molecules.push((ids[row].clone(), fp));
            }
        }
        if molecules.is_empty() {
            return None;
        }
        let validation = model.validation.as_ref();
        let held_out: Vec<&cryo_ml::OutOfFold> = validation
            .map(|v| v.predictions.iter().filter(|p| p.repeat == 0).collect())
            .unwrap_or_default();
        let stride = held_out.len().div_ceil(MAX_CALIBRATION_ROWS).max(1);
        let sampled: Vec<&cryo_ml::OutOfFold> = held_out.iter().step_by(stride).copied().collect();
        let rows: Vec<HeldOut> = sampled
            .par_iter()
            .filter_map(|p| {
                let at = index_of_row.get(p.row).copied().flatten()?;
                let interval = p.interval?;
                let (similarity, _) = nearest(&molecules, &molecules[at].1, Some(at))?;
                Some((
                    similarity,
                    interval.lower <= p.observed && p.observed <= interval.upper,
                    interval.upper - interval.lower,
                ))
            })
            .collect();
        let level = validation.and_then(|v| v.level);
        let (edge_below, out_below) = thresholds(rows.clone(), level);
        let (inside, edge): (Vec<HeldOut>, Vec<HeldOut>) =
            rows.iter().partition(|r| r.0 >= edge_below);
        let observed: Vec<f64> = held_out
            .iter()
            .map(|p| p.observed)
            .filter(|v| v.is_finite())
            .collect();
        let target_range = observed
            .iter()
            .copied()
            .fold(None, |r: Option<(f64, f64)>, v| {
                Some(r.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
            });
        Some(Domain {
            molecules,
            calibration: Calibration {
                edge_below,
                out_below,
                level,
                rows: rows.len(),
                coverage_in: coverage(&inside),
                coverage_edge: coverage(&edge),
                width_in: width(&inside),
                width_edge: width(&edge),
                target_range,
            },
        })
    }

    /// Where the molecule `smiles` stands (`None` when it does not parse). CPU.
    pub fn judge(&self, smiles: &str) -> Option<DomainView> {
        let fp = Molecule::from_smiles(smiles).ok()?.fingerprint().ok()?;
        let (similarity, at) = nearest(&self.molecules, &fp, None)?;
        let c = &self.calibration;
        let flag = if similarity < c.out_below {
            Flag::Out
        } else if similarity < c.edge_below {
            Flag::Edge
        } else {
            Flag::In
        };
        Some(DomainView {
            flag,
            nearest_similarity: similarity,
            nearest: self.molecules[at].0.clone(),
        })
    }

    /// Whether `value` lies beyond the training targets' range by more than [`RANGE_MARGIN`]
    /// of it.
    pub fn extrapolates(&self, value: f64) -> bool {
        self.calibration.target_range.is_some_and(|(lo, hi)| {
            let margin = (hi - lo) * RANGE_MARGIN;
            value < lo - margin || value > hi + margin
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_are_their_serialised_names() {
        for f in Flag::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
            assert_eq!(f.as_str().parse::<Flag>().unwrap(), f);
        }
    }

    #[test]
    fn coverage_falling_off_at_low_similarity_sets_the_edge() {
        // 40 rows: the 10 least similar (0.10–0.19) cover half the time, the rest always.
        let mut rows = Vec::new();
        for i in 0..10 {
            rows.push((0.10 + i as f64 * 0.01, i % 2 == 0, 1.0));
        }
        for i in 0..30 {
            rows.push((0.40 + i as f64 * 0.01, true, 1.0));
        }
        let (edge, out) = thresholds(rows, Some(0.9));
        assert!(
            (out - 0.12).abs() < 1e-12,
            "the 5th percentile of 40 is the third: {out}"
        );
        assert!(
            (edge - 0.40).abs() < 1e-12,
            "just above the last miss (0.19): {edge}"
        );
    }

    #[test]
    fn without_a_coverage_drop_the_edge_is_the_out_threshold() {
        let rows: Vec<HeldOut> = (0..20).map(|i| (i as f64 / 20.0, true, 1.0)).collect();
        let (edge, out) = thresholds(rows, Some(0.9));
        assert_eq!(edge, out);
        assert_eq!(thresholds(Vec::new(), Some(0.9)), (0.0, 0.0));
    }
}
