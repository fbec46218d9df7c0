//! What a classifier is judged by, with scikit-learn's definitions (checked against it in
//! `bench/classify.py`): ROC-AUC and average precision (macro one-vs-rest over classes with
//! more than two), balanced accuracy, Brier score (two classes: the positive class's squared
//! error; more: summed over classes, Brier's own definition), log loss, and the expected
//! calibration error of the top class over ten equal-width bins.

use super::ClassPrediction;
use serde::{Deserialize, Serialize};

/// Probabilities are clipped to [ε, 1 − ε] in the log loss, as scikit-learn does.
const LOG_LOSS_EPS: f64 = f64::EPSILON;
/// Bins of the expected calibration error and the reliability diagram.
pub const RELIABILITY_BINS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub n: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub roc_auc: f64,
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub pr_auc: f64,
    pub brier: f64,
    pub log_loss: f64,
    pub ece: f64,
}

/// How the prediction sets did on rows they were not fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetCoverage {
    pub level: f64,
    /// Share of rows whose true class is in the set.
    pub coverage: f64,
    pub mean_size: f64,
    pub singletons: f64,
    pub empty: f64,
    /// Coverage within each class (true class = c), NaN for a class with no rows.
    #[serde(deserialize_with = "crate::f64_vec_or_nan")]
    pub per_class: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Upper edge of the confidence bin.
    pub upper: f64,
    pub count: usize,
    pub confidence: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub x: f64,
    pub y: f64,
}

impl ClassMetrics {
    pub fn compute(labels: &[usize], probs: &[Vec<f64>], classes: usize) -> ClassMetrics {
        let n = labels.len();
        let argmax = |p: &[f64]| {
            (0..p.len())
                .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)))
                .unwrap_or(0)
        };
        let predicted: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
        let correct = labels
            .iter()
            .zip(&predicted)
            .filter(|(a, b)| a == b)
            .count();
        let recalls: Vec<f64> = (0..classes)
            .filter_map(|c| {
                let rows: Vec<usize> = (0..n).filter(|&i| labels[i] == c).collect();
                (!rows.is_empty()).then(|| {
                    rows.iter().filter(|&&i| predicted[i] == c).count() as f64 / rows.len() as f64
                })
            })
            .collect();
        let one_vs_rest = |score: &dyn Fn(&[f64], &[bool]) -> f64| -> f64 {
            let per: Vec<f64> = (if classes == 2 { 1..2 } else { 0..classes })
                .map(|c| {
                    let s: Vec<f64> = probs.iter().map(|p| p[c]).collect();
                    let y: Vec<bool> = labels.iter().map(|&l| l == c).collect();
                    score(&s, &y)
                })
                .collect();
            per.iter().sum::<f64>() / per.len() as f64
        };
        let brier = if classes == 2 {
            probs
                .iter()
                .zip(labels)
                .map(|(p, &l)| (p[1] - f64::from(u8::from(l == 1))).powi(2))
                .sum::<f64>()
        } else {
            probs
                .iter()
                .zip(labels)
                .map(|(p, &l)| {
                    p.iter()
                        .enumerate()
                        .map(|(c, v)| (v - f64::from(u8::from(c == l))).powi(2))
                        .sum::<f64>()
                })
                .sum::<f64>()
        } / n as f64;
        let log_loss = probs
            .iter()
            .zip(labels)
            .map(|(p, &l)| -p[l].clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS).ln())
            .sum::<f64>()
            / n as f64;
        let ece = reliability(labels, probs)
            .iter()
            .map(|b| b.count as f64 / n as f64 * (b.accuracy - b.confidence).abs())
            .sum();
        ClassMetrics {
            n,
            accuracy: correct as f64 / n as f64,
            balanced_accuracy: recalls.iter().sum::<f64>() / recalls.len().max(1) as f64,
            roc_auc: one_vs_rest(&roc_auc),
            pr_auc: one_vs_rest(&average_precision),
            brier,
            log_loss,
            ece,
        }
    }
}

impl SetCoverage {
    pub fn compute(
        labels: &[usize],
        predictions: &[ClassPrediction],
        classes: usize,
        level: f64,
    ) -> SetCoverage {
        let n = labels.len().max(1) as f64;
        let hit = |i: usize| predictions[i].set.contains(&labels[i]);
        let share =
            |f: &dyn Fn(usize) -> bool| (0..labels.len()).filter(|&i| f(i)).count() as f64 / n;
        SetCoverage {
            level,
            coverage: share(&hit),
            mean_size: predictions.iter().map(|p| p.set.len()).sum::<usize>() as f64 / n,
            singletons: share(&|i| predictions[i].set.len() == 1),
            empty: share(&|i| predictions[i].set.is_empty()),
            per_class: (0..classes)
                .map(|c| {
                    let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
                    if rows.is_empty() {
                        f64::NAN
                    } else {
                        rows.iter().filter(|&&i| hit(i)).count() as f64 / rows.len() as f64
                    }
                })
                .collect(),
        }
    }
}

/// Average ranks (ties share the mean rank), 1-based.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut r = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            r[i] = mean_rank;
        }
        start = end;
    }
    r
}

/// Area under the ROC curve (Mann–Whitney U with tied scores counting half); NaN when one
/// side is absent.
pub(crate) fn roc_auc(scores: &[f64], positive: &[bool]) -> f64 {
    let np = positive.iter().filter(|v| **v).count() as f64;
    let nn = positive.len() as f64 - np;
    if np == 0.0 || nn == 0.0 {
        return f64::NAN;
    }
    let r = ranks(scores);
    let sum: f64 = r
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    (sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// (true positives, false positives) above each distinct score, highest threshold first: the
/// points where a ROC or precision–recall curve can turn.
fn counts_by_threshold(scores: &[f64], positive: &[bool]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut out = Vec::new();
    let mut k = 0;
    while k < order.len() {
        let s = scores[order[k]];
        while k < order.len() && scores[order[k]] == s {
            if positive[order[k]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            k += 1;
        }
        out.push((tp, fp));
    }
    out
}

/// Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct score thresholds, highest first
/// (scikit-learn's `average_precision_score`); NaN without positives.
pub(crate) fn average_precision(scores: &[f64], positive: &[bool]) -> f64 {
    let np = positive.iter().filter(|v| **v).count() as f64;
    if np == 0.0 {
        return f64::NAN;
    }
    let (mut recall, mut ap) = (0.0, 0.0);
    for (tp, fp) in counts_by_threshold(scores, positive) {
        let r = tp / np;
        ap += (r - recall) * tp / (tp + fp);
        recall = r;
    }
    ap
}

/// Reliability of the top class: per confidence bin (equal width over [0, 1]), the mean
/// confidence and the share correct. Empty bins are left out.
pub fn reliability(labels: &[usize], probs: &[Vec<f64>]) -> Vec<ReliabilityBin> {
    let mut bins = vec![(0usize, 0.0, 0.0); RELIABILITY_BINS];
    for (p, &l) in probs.iter().zip(labels) {
        let (top, conf) =
            p.iter().enumerate().fold(
                (0, f64::NEG_INFINITY),
                |b, (c, &v)| if v > b.1 { (c, v) } else { b },
            );
        // Bin b holds (b/B, (b+1)/B]; a confidence of exactly 0 joins the first.
        let b = ((conf * RELIABILITY_BINS as f64).ceil() as usize).clamp(1, RELIABILITY_BINS) - 1;
        bins[b].0 += 1;
        bins[b].1 += conf;
        bins[b].2 += f64::from(u8::from(top == l));
    }
    bins.into_iter()
        .enumerate()
        .filter(|(_, b)| b.0 > 0)
        .map(|(k, (count, conf, correct))| ReliabilityBin {
            upper: (k + 1) as f64 / RELIABILITY_BINS as f64,
            count,
            confidence: conf / count as f64,
            accuracy: correct / count as f64,
        })
        .collect()
}

/// The ROC curve of one class against the rest (false-positive rate, true-positive rate) at
/// every distinct threshold, from (0, 0) to (1, 1).
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Vec<CurvePoint> {
    let np = positive.iter().filter(|v| **v).count() as f64;
    let nn = positive.len() as f64 - np;
    if np == 0.0 || nn == 0.0 {
        return Vec::new();
    }
    let mut points = vec![CurvePoint { x: 0.0, y: 0.0 }];
    points.extend(
        counts_by_threshold(scores, positive)
            .into_iter()
            .map(|(tp, fp)| CurvePoint {
                x: fp / nn,
                y: tp / np,
            }),
    );
    points
}

/// The precision–recall curve of one class against the rest (recall, precision) at every
/// distinct threshold, as average precision steps through it (starting at recall 0 with the
/// first threshold's precision).
pub fn pr_curve(scores: &[f64], positive: &[bool]) -> Vec<CurvePoint> {
    let np = positive.iter().filter(|v| **v).count() as f64;
    if np == 0.0 || np == positive.len() as f64 {
        return Vec::new();
    }
    let counts = counts_by_threshold(scores, positive);
    let mut points: Vec<CurvePoint> = counts
        .iter()
        .map(|&(tp, fp)| CurvePoint {
            x: tp / np,
            y: tp / (tp + fp),
        })
        .collect();
    if let Some(first) = points.first().cloned() {
        points.insert(0, CurvePoint { x: 0.0, y: first.y });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pr_curve_ends_at_full_recall_and_its_steps_sum_to_average_precision() {
        let s = [0.9, 0.8, 0.7, 0.6, 0.4, 0.2];
        let y = [true, false, true, true, false, false];
        let curve = pr_curve(&s, &y);
        let last = curve.last().unwrap();
        assert_eq!((last.x, last.y), (1.0, 0.5));
        let area: f64 = curve.windows(2).map(|w| (w[1].x - w[0].x) * w[1].y).sum();
        assert!((area - average_precision(&s, &y)).abs() < 1e-12);
        assert!(pr_curve(&s, &[true; 6]).is_empty());
    }

    #[test]
    fn auc_counts_ties_as_half_and_matches_a_hand_count() {
        // Pairs (pos, neg): 0.8>0.3, 0.8>0.5, 0.5=0.5 (½), 0.5>0.3 → (1 + 1 + ½ + 1) / 4.
        let s = [0.8, 0.5, 0.5, 0.3];
        let y = [true, true, false, false];
        assert!((roc_auc(&s, &y) - 3.5 / 4.0).abs() < 1e-12);
        assert!(roc_auc(&s, &[true; 4]).is_nan());
    }

    #[test]
    fn the_area_under_the_roc_curve_is_the_auc() {
        let s = [0.9, 0.8, 0.8, 0.6, 0.5, 0.5, 0.3, 0.1];
        let y = [true, false, true, true, false, true, false, false];
        let curve = roc_curve(&s, &y);
        let trapezoid: f64 = curve
            .windows(2)
            .map(|w| (w[1].x - w[0].x) * (w[0].y + w[1].y) / 2.0)
            .sum();
        assert!((trapezoid - roc_auc(&s, &y)).abs() < 1e-12);
        assert_eq!(curve.last(), Some(&CurvePoint { x: 1.0, y: 1.0 }));
    }

    #[test]
    fn average_precision_of_a_known_ranking() {
        // Ranked: +, −, +: precision at the two recalls 1/2 and 1 is 1 and 2/3.
        let ap = average_precision(&[0.9, 0.8, 0.7], &[true, false, true]);
        assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn perfect_confident_predictions_score_perfectly() {
        let labels = [0, 1, 2, 1];
        let probs: Vec<Vec<f64>> = labels
            .iter()
            .map(|&l| (0..3).map(|c| f64::from(u8::from(c == l))).collect())
            .collect();
        let m = ClassMetrics::compute(&labels, &probs, 3);
        assert_eq!(
            (m.accuracy, m.balanced_accuracy, m.roc_auc, m.pr_auc),
            (1.0, 1.0, 1.0, 1.0)
        );
        assert_eq!((m.brier, m.ece), (0.0, 0.0));
        assert!(m.log_loss < 1e-12);
    }
}
