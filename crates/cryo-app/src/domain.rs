//! Applicability domain: how far a molecule is from what a model was trained on, and whether
//! the model's intervals can be trusted there. Similarity is Tanimoto on Morgan fingerprints
//! (radius 2, 2048 bits) to the nearest training molecule; the thresholds are calibrated on the
//! version's own cross-validation: each held-out prediction's nearest-neighbour similarity to
//! the other training molecules, against whether its interval covered the measurement.
//!
//! Intervals are then recalibrated per domain bin (Mondrian conformal): within each of `in`,
//! `edge` and `out`, the factor by which held-out intervals must be stretched (or may shrink)
//! about their centre to cover at the nominal level, the ⌈(n + 1)·level⌉-th smallest
//! |observed − centre| / half-width of the bin's held-out rows. So an `edge` molecule, where
//! intervals were found to miss, gets a wider one, and an `in` one may get a narrower one. The
//! coverage reported after the factors is cross-fitted (each fifth of the rows judged by
//! factors from the other four).
//!
//! Everything is derived from what every stored version already holds (the training ids and the
//! held-out predictions), so versions trained before this existed get a domain too.

use cryo_chem::featurize::FeatureSet;
use cryo_chem::{Fingerprint, Molecule};
use cryo_ml::TrainedModel;
use cryo_ml::classify::TrainedClassifier;
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
/// Blocks the per-bin factors are cross-fitted over when their coverage is reported.
const CROSS_FIT_BLOCKS: usize = 5;

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
    /// Leverage in the space of the 20 cryoprotectant descriptors (`cryo20`): above the
    /// calibration's `leverage_above` the molecule is `out`, however similar its nearest
    /// neighbour (an extrapolation in size, polarity or charge).
    pub leverage: Option<f64>,
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
    /// Above this leverage (h* = 3(p + 1)/n, the Williams plot's warning line): `out`.
    pub leverage_above: Option<f64>,
    /// Per-bin interval recalibration (`in`, `edge`, `out`), when the held-out predictions had
    /// intervals at a known level.
    pub bins: Vec<BinCalibration>,
}

/// One domain bin's interval recalibration and what it did on held-out rows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BinCalibration {
    pub flag: Flag,
    /// Held-out rows in the bin.
    pub rows: usize,
    /// An interval in this bin is stretched by this factor about its centre (below 1: it
    /// shrinks). A bin with too few rows for the level borrows from the less similar ones.
    pub factor: f64,
    /// Held-out coverage and mean width as validated, and with the factors (cross-fitted).
    pub coverage_before: Option<f64>,
    pub width_before: Option<f64>,
    pub coverage_after: Option<f64>,
    pub width_after: Option<f64>,
}

/// A version's domain: its training molecules' fingerprints, their descriptor space, and its
/// calibration.
pub struct Domain {
    molecules: Vec<(String, Fingerprint)>,
    leverage: Option<cryo_ml::Leverage>,
    /// (bin, |observed − centre| / half-width) of the held-out rows with intervals.
    ratios: Vec<(Flag, f64)>,
    /// Whether the bins' factors rescale predictions (intervals: yes; prediction sets: no).
    rescalable: bool,
    pub calibration: Calibration,
}

/// A held-out row as the calibration takes it: its training row, |observed − centre| /
/// half-width (≤ 1 when covered) and interval width.
struct HeldRow {
    row: usize,
    ratio: f64,
    width: f64,
}

/// The descriptors leverage is measured on: few, physical, and computed for any molecule.
const LEVERAGE_FEATURES: FeatureSet = FeatureSet::Cryo20;

/// The fingerprint and leverage descriptors of a SMILES, if it is one (mixture keys and
/// unparsable ids are not).
fn structure(smiles: &str) -> Option<(Fingerprint, Option<Vec<f64>>)> {
    if smiles.starts_with("mixture:") {
        return None;
    }
    let mol = Molecule::from_smiles(smiles).ok()?;
    let fp = mol.fingerprint().ok()?;
    Some((fp, LEVERAGE_FEATURES.compute(&mol).ok()))
}

/// A molecule's bin: `out` below the `out` similarity or above the leverage threshold, `edge`
/// below the `edge` similarity, else `in`.
fn flag_of(similarity: f64, leverage: Option<f64>, c: &Calibration) -> Flag {
    if leverage
        .zip(c.leverage_above)
        .is_some_and(|(h, above)| h > above)
    {
        Flag::Out
    } else {
        bin_of(similarity, c.edge_below, c.out_below)
    }
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

/// |observed − interval centre| / half-width: covered iff ≤ 1; the factor a bin needs is a
/// quantile of these.
fn ratio(lower: f64, upper: f64, observed: f64) -> f64 {
    let half = (upper - lower) / 2.0;
    let off = (observed - (lower + upper) / 2.0).abs();
    if !half.is_finite() {
        0.0
    } else if half > 0.0 {
        off / half
    } else if off == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// The bin of a similarity.
fn bin_of(similarity: f64, edge_below: f64, out_below: f64) -> Flag {
    if similarity < out_below {
        Flag::Out
    } else if similarity < edge_below {
        Flag::Edge
    } else {
        Flag::In
    }
}

/// The split-conformal quantile of `ratios` at `level`, or `None` with too few of them (or
/// when it is a zero-width interval's infinite ratio).
fn conformal_factor(mut ratios: Vec<f64>, level: f64) -> Option<f64> {
    cryo_ml::conformal_quantile(&mut ratios, level).filter(|f| f.is_finite())
}

/// The largest finite ratio: the bin's factor when it has fewer rows than the level needs
/// (as wide as the worst held-out miss, so a factor never falls as the level rises).
fn widest(ratios: &[f64]) -> Option<f64> {
    ratios
        .iter()
        .copied()
        .filter(|r| r.is_finite())
        .max_by(f64::total_cmp)
}

/// Factors for `in`, `edge`, `out` from (bin, ratio) rows. A bin too small for the level
/// takes the factor of itself and the less similar bins together, or failing that the widest
/// ratio they hold; no bin gets a smaller factor than a more similar one.
fn bin_factors(rows: &[(Flag, f64)], level: f64) -> [f64; 3] {
    let pick = |keep: &dyn Fn(Flag) -> bool| -> Vec<f64> {
        rows.iter().filter(|(f, _)| keep(*f)).map(|r| r.1).collect()
    };
    let inside = pick(&|f| f == Flag::In);
    let f_in = conformal_factor(inside.clone(), level)
        .or(widest(&inside))
        .unwrap_or(1.0);
    let beyond_rows = pick(&|f| f != Flag::In);
    let beyond = conformal_factor(beyond_rows.clone(), level).or(widest(&beyond_rows));
    let f_edge = conformal_factor(pick(&|f| f == Flag::Edge), level)
        .or(beyond)
        .unwrap_or(f_in.max(1.0))
        .max(f_in);
    let f_out = conformal_factor(pick(&|f| f == Flag::Out), level)
        .or(beyond)
        .unwrap_or(f_edge)
        .max(f_edge);
    [f_in, f_edge, f_out]
}

fn factor_index(flag: Flag) -> usize {
    match flag {
        Flag::In => 0,
        Flag::Edge => 1,
        Flag::Out => 2,
    }
}

/// `interval` (at the calibration level) recalibrated for a molecule in bin `flag`: stretched
/// by the bin's factor about its centre, and still holding `value` (a shrunk asymmetric interval
/// could miss it). Returns (lower, upper, factor).
pub fn rescale(
    factors: &[f64; 3],
    flag: Flag,
    interval: cryo_ml::Interval,
    value: f64,
) -> (f64, f64, f64) {
    let factor = factors[factor_index(flag)];
    let (centre, half) = (
        (interval.lower + interval.upper) / 2.0,
        (interval.upper - interval.lower) / 2.0,
    );
    if !half.is_finite() {
        return (interval.lower, interval.upper, factor);
    }
    (
        (centre - factor * half).min(value),
        (centre + factor * half).max(value),
        factor,
    )
}

/// Per-bin factors and their held-out effect: (bin, ratio, width) rows.
fn bins(rows: &[(Flag, f64, f64)], level: f64) -> Vec<BinCalibration> {
    let pairs: Vec<(Flag, f64)> = rows.iter().map(|r| (r.0, r.1)).collect();
    let factors = bin_factors(&pairs, level);
    // Cross-fitted: row k is judged by the factors of the blocks it is not in.
    let fold_factors: Vec<[f64; 3]> = (0..CROSS_FIT_BLOCKS)
        .map(|b| {
            let others: Vec<(Flag, f64)> = pairs
                .iter()
                .enumerate()
                .filter(|(k, _)| k % CROSS_FIT_BLOCKS != b)
                .map(|(_, r)| *r)
                .collect();
            bin_factors(&others, level)
        })
        .collect();
    Flag::ALL
        .into_iter()
        .map(|flag| {
            let inside: Vec<(usize, &(Flag, f64, f64))> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.0 == flag)
                .collect();
            let n = inside.len();
            let mean = |values: Vec<f64>| {
                (n > 0)
                    .then(|| values.iter().sum::<f64>() / n as f64)
                    .filter(|v| v.is_finite())
            };
            let after = |k: usize| fold_factors[k % CROSS_FIT_BLOCKS][factor_index(flag)];
            BinCalibration {
                flag,
                rows: n,
                factor: factors[factor_index(flag)],
                coverage_before: mean(
                    inside
                        .iter()
                        .map(|(_, r)| f64::from(u8::from(r.1 <= 1.0)))
                        .collect(),
                ),
                width_before: mean(inside.iter().map(|(_, r)| r.2).collect()),
                coverage_after: mean(
                    inside
                        .iter()
                        .map(|(k, r)| f64::from(u8::from(r.1 <= after(*k))))
                        .collect(),
                ),
                width_after: mean(inside.iter().map(|(k, r)| r.2 * after(*k)).collect()),
            }
        })
        .collect()
}

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
        let validation = model.validation.as_ref();
        let held_out: Vec<&cryo_ml::OutOfFold> = validation
            .map(|v| v.predictions.iter().filter(|p| p.repeat == 0).collect())
            .unwrap_or_default();
        let target_range = held_out
            .iter()
            .map(|p| p.observed)
            .filter(|v| v.is_finite())
            .fold(None, |r: Option<(f64, f64)>, v| {
                Some(r.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
            });
        let rows = held_out
            .iter()
            .filter_map(|p| {
                let i = p.interval?;
                Some(HeldRow {
                    row: p.row,
                    ratio: ratio(i.lower, i.upper, p.observed),
                    width: i.upper - i.lower,
                })
            })
            .collect();
        let level = validation.and_then(|v| v.level);
        Domain::build(&model.dataset.ids, rows, level, target_range, true)
    }

    /// The domain of a classifier: the same similarity and leverage, with thresholds
    /// calibrated on whether the held-out prediction sets held the true class (their
    /// "width" is the set's size). Sets are not rescaled per bin.
    pub fn of_classifier(model: &TrainedClassifier) -> Option<Domain> {
        let rows = model
            .validation
            .as_ref()
            .map(|v| {
                v.predictions
                    .iter()
                    .map(|p| HeldRow {
                        row: p.row,
                        ratio: if p.prediction.set.contains(&p.label) {
                            0.0
                        } else {
                            2.0
                        },
                        width: p.prediction.set.len() as f64,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let level = Some(model.model.options.level);
        Domain::build(&model.dataset.ids, rows, level, None, false)
    }

    /// The domain of training rows `ids` from their held-out rows, at nominal `level`; with
    /// `rescalable`, also the per-bin factors that rescale intervals.
    fn build(
        ids: &[String],
        held_out: Vec<HeldRow>,
        level: Option<f64>,
        target_range: Option<(f64, f64)>,
        rescalable: bool,
    ) -> Option<Domain> {
        let parsed: Vec<_> = ids.par_iter().map(|id| structure(id)).collect();
        let mut index_of_row = vec![None; ids.len()];
        let mut molecules = Vec::new();
        let mut descriptors = Vec::new();
        for (row, parsed) in parsed.into_iter().enumerate() {
            if let Some((fp, d)) = parsed {
                index_of_row[row] = Some(molecules.len());
                molecules.push((ids[row].clone(), fp));
                descriptors.push(d);
            }
        }
        if molecules.is_empty() {
            return None;
        }
        // Leverage needs every training molecule's descriptors.
        let leverage = descriptors
            .iter()
            .cloned()
            .collect::<Option<Vec<Vec<f64>>>>()
            .and_then(|rows| cryo_ml::Matrix::from_rows(&rows).ok())
            .and_then(|x| cryo_ml::Leverage::fit(&x).ok());
        // Each training molecule's leverage had it been left out, as its held-out row was.
        let left_out = |at: usize| -> Option<f64> {
            let lev = leverage.as_ref()?;
            Some(cryo_ml::Leverage::left_out(
                lev.of(descriptors[at].as_ref()?),
            ))
        };
        let stride = held_out.len().div_ceil(MAX_CALIBRATION_ROWS).max(1);
        let sampled: Vec<&HeldRow> = held_out.iter().step_by(stride).collect();
        // (similarity, left-out leverage, ratio, width) of each sampled held-out row.
        let measured: Vec<(f64, Option<f64>, f64, f64)> = sampled
            .par_iter()
            .filter_map(|p| {
                let at = index_of_row.get(p.row).copied().flatten()?;
                let (similarity, _) = nearest(&molecules, &molecules[at].1, Some(at))?;
                Some((similarity, left_out(at), p.ratio, p.width))
            })
            .collect();
        let rows: Vec<HeldOut> = measured
            .iter()
            .map(|&(s, _, r, w)| (s, r <= 1.0, w))
            .collect();
        let (edge_below, out_below) = thresholds(rows.clone(), level);
        let (inside, edge): (Vec<HeldOut>, Vec<HeldOut>) =
            rows.iter().partition(|r| r.0 >= edge_below);
        let mut calibration = Calibration {
            edge_below,
            out_below,
            level,
            rows: rows.len(),
            coverage_in: coverage(&inside),
            coverage_edge: coverage(&edge),
            width_in: width(&inside),
            width_edge: width(&edge),
            target_range,
            leverage_above: leverage.as_ref().map(cryo_ml::Leverage::threshold),
            bins: Vec::new(),
        };
        let binned: Vec<(Flag, f64, f64)> = measured
            .iter()
            .map(|&(s, h, r, w)| (flag_of(s, h, &calibration), r, w))
            .collect();
        if let (Some(l), true) = (level, rescalable) {
            calibration.bins = bins(&binned, l);
        }
        Some(Domain {
            molecules,
            leverage,
            ratios: if rescalable {
                binned.iter().map(|r| (r.0, r.1)).collect()
            } else {
                Vec::new()
            },
            rescalable,
            calibration,
        })
    }

    /// Where the molecule `smiles` stands (`None` when it does not parse). CPU.
    pub fn judge(&self, smiles: &str) -> Option<DomainView> {
        let (fp, descriptors) = structure(smiles)?;
        let (similarity, at) = nearest(&self.molecules, &fp, None)?;
        let leverage = self
            .leverage
            .as_ref()
            .zip(descriptors)
            .map(|(l, d)| l.of(&d));
        Some(DomainView {
            flag: flag_of(similarity, leverage, &self.calibration),
            nearest_similarity: similarity,
            nearest: self.molecules[at].0.clone(),
            leverage,
        })
    }

    /// The per-bin factors (`in`, `edge`, `out`) for intervals at `level`, applied to intervals
    /// at the calibration level (`calibration.level`); `None` without one.
    pub fn factors(&self, level: f64) -> Option<[f64; 3]> {
        let c = &self.calibration;
        c.level?;
        self.rescalable.then(|| bin_factors(&self.ratios, level))
    }

    /// The level the intervals to be rescaled must be predicted at, when it is not `level`
    /// itself (the factors for `level` apply to intervals at the calibration level).
    pub fn rescale_from(&self, level: f64) -> Option<f64> {
        self.calibration
            .level
            .filter(|at| (at - level).abs() > 1e-12)
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
    fn bins_stretch_where_intervals_missed_and_shrink_where_they_over_covered() {
        // 200 in-domain rows whose intervals are twice as wide as needed (ratios 0–0.5), 100
        // edge rows missing often (ratios 0–2), 20 out rows (ratios 0–3).
        let mut rows = Vec::new();
        for i in 0..200 {
            rows.push((0.8, (i as f64 + 0.5) / 200.0 * 0.5, 2.0));
        }
        for i in 0..100 {
            rows.push((0.4, (i as f64 + 0.5) / 100.0 * 2.0, 2.0));
        }
        for i in 0..20 {
            rows.push((0.1, (i as f64 + 0.5) / 20.0 * 3.0, 2.0));
        }
        let rows: Vec<(Flag, f64, f64)> = rows
            .into_iter()
            .map(|(s, r, w)| (bin_of(s, 0.5, 0.2), r, w))
            .collect();
        let b = bins(&rows, 0.9);
        let [inside, edge, out] = [&b[0], &b[1], &b[2]];
        assert_eq!(
            (inside.flag, edge.flag, out.flag),
            (Flag::In, Flag::Edge, Flag::Out)
        );
        // ⌈201 · 0.9⌉ = 181st of 200 ratios (i + 0.5)/400: 180.5/400.
        assert!((inside.factor - 180.5 / 400.0).abs() < 1e-12, "{inside:?}");
        // ⌈101 · 0.9⌉ = 91st of 100 ratios (i + 0.5)/50: 90.5/50.
        assert!((edge.factor - 90.5 / 50.0).abs() < 1e-12, "{edge:?}");
        assert!(out.factor >= edge.factor);
        assert_eq!(inside.coverage_before, Some(1.0));
        assert_eq!(edge.coverage_before, Some(0.5));
        for bin in &b {
            let after = bin.coverage_after.unwrap();
            assert!((0.85..=0.95).contains(&after), "{bin:?}");
        }
        assert!(inside.width_after.unwrap() < 1.0 && edge.width_after.unwrap() > 3.0);
    }

    #[test]
    fn a_bin_too_small_for_the_level_borrows_from_the_less_similar_ones() {
        // 5 edge rows cannot set a 90 % factor (⌈6 · 0.9⌉ = 6 > 5): edge and out together can.
        let mut rows: Vec<(f64, f64)> = (0..50).map(|i| (0.8, i as f64 / 100.0)).collect();
        rows.extend((0..5).map(|i| (0.4, 1.0 + i as f64)));
        rows.extend((0..20).map(|i| (0.1, 2.0 + i as f64 / 10.0)));
        let rows: Vec<(Flag, f64)> = rows
            .into_iter()
            .map(|(s, r)| (bin_of(s, 0.5, 0.2), r))
            .collect();
        let [f_in, f_edge, f_out] = bin_factors(&rows, 0.9);
        let beyond = conformal_factor(rows[50..].iter().map(|r| r.1).collect(), 0.9).unwrap();
        assert_eq!(f_edge, beyond);
        assert!(f_in < 1.0 && f_out >= f_edge);
    }

    #[test]
    fn factors_never_fall_as_the_level_rises_even_where_rows_run_out() {
        let mut rows: Vec<(f64, f64)> = (0..100).map(|i| (0.8, i as f64 / 80.0)).collect();
        rows.extend((0..12).map(|i| (0.1, 1.0 + i as f64 / 4.0)));
        let mut previous = [0.0; 3];
        for level in [0.5, 0.8, 0.9, 0.95, 0.99] {
            let binned: Vec<(Flag, f64)> = rows
                .iter()
                .map(|&(s, r)| (bin_of(s, 0.5, 0.2), r))
                .collect();
            let f = bin_factors(&binned, level);
            assert!(
                f.iter().zip(&previous).all(|(a, b)| a >= b),
                "{level}: {f:?} after {previous:?}"
            );
            previous = f;
        }
        // 12 out rows cannot set a 99 % factor: the widest of them, 1 + 11/4.
        assert_eq!(previous[2], 3.75);
    }

    #[test]
    fn rescaling_keeps_the_value_inside_and_leaves_unbounded_intervals_alone() {
        let iv = |lower, upper| cryo_ml::Interval { lower, upper };
        // Asymmetric (value 0.9 near the top), shrunk by half about the centre 0.
        assert_eq!(
            rescale(&[0.5, 1.0, 1.0], Flag::In, iv(-1.0, 1.0), 0.9),
            (-0.5, 0.9, 0.5)
        );
        assert_eq!(
            rescale(&[1.0, 2.0, 3.0], Flag::Out, iv(-1.0, 3.0), 0.0),
            (-5.0, 7.0, 3.0)
        );
        let open = rescale(
            &[1.0, 2.0, 3.0],
            Flag::Edge,
            iv(f64::NEG_INFINITY, f64::INFINITY),
            0.0,
        );
        assert!(open.0.is_infinite() && open.1.is_infinite());
    }

    #[test]
    fn a_leverage_above_the_threshold_is_out_however_similar_the_neighbour() {
        let c = Calibration {
            edge_below: 0.5,
            out_below: 0.2,
            level: Some(0.9),
            rows: 0,
            coverage_in: None,
            coverage_edge: None,
            width_in: None,
            width_edge: None,
            target_range: None,
            leverage_above: Some(0.1),
            bins: Vec::new(),
        };
        assert_eq!(flag_of(0.9, Some(0.05), &c), Flag::In);
        assert_eq!(flag_of(0.9, Some(0.5), &c), Flag::Out);
        assert_eq!(flag_of(0.3, None, &c), Flag::Edge);
        assert_eq!(flag_of(0.1, Some(0.0), &c), Flag::Out);
    }

    #[test]
    fn without_a_coverage_drop_the_edge_is_the_out_threshold() {
        let rows: Vec<HeldOut> = (0..20).map(|i| (i as f64 / 20.0, true, 1.0)).collect();
        let (edge, out) = thresholds(rows, Some(0.9));
        assert_eq!(edge, out);
        assert_eq!(thresholds(Vec::new(), Some(0.9)), (0.0, 0.0));
    }
}
