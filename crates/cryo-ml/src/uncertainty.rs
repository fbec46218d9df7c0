//! How good the uncertainty is, beyond coverage at one level. Each held-out interval made at
//! `level` is read as the central interval of a Gaussian around the point prediction, so
//! σ = half-width / z₍₁₊ₗₑᵥₑₗ₎/₂; the scores are then those of the Uncertainty Toolbox (Chung et
//! al. 2021) and ENCE (Levi et al. 2019), so a CryoProtect model can be compared with a
//! published one on the same numbers.

use crate::metrics::{Interval, spearman};
use cryo_core::quantile::normal_quantile;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Uncertainty {
    /// Held-out rows with a finite interval behind these scores.
    pub n: usize,
    /// Mean Gaussian negative log-likelihood of the observations (lower is better).
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub nll: f64,
    /// Area between the observed and the ideal calibration curve of central Gaussian intervals
    /// at 100 levels in 0…1 (0 = perfectly calibrated, 0.5 = worst).
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub miscalibration_area: f64,
    /// Expected normalised calibration error: rows in [`ENCE_BINS`] bins of increasing σ; per bin
    /// |RMS σ − RMSE| / RMS σ, averaged (0 = every bin's errors as large as promised).
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub ence: f64,
    /// Spearman correlation between σ and the absolute error (does a wider interval mean a
    /// larger error?).
    #[serde(deserialize_with = "crate::f64_or_nan")]
    pub spearman: f64,
}

/// Equal-count σ bins of [`Uncertainty::ence`].
pub const ENCE_BINS: usize = 10;

/// Levels of the calibration curve behind [`Uncertainty::miscalibration_area`] (the Uncertainty
/// Toolbox's default).
const CURVE_POINTS: usize = 100;

impl Uncertainty {
    /// Scores held-out predictions with intervals at `level`; `None` with fewer than
    /// [`ENCE_BINS`] finite intervals.
    pub fn of(
        observed: &[f64],
        predicted: &[f64],
        intervals: &[Interval],
        level: f64,
    ) -> Option<Uncertainty> {
        let z = normal_quantile(0.5 + level / 2.0);
        let rows: Vec<(f64, f64, f64)> = observed
            .iter()
            .zip(predicted)
            .zip(intervals)
            .filter_map(|((&y, &mu), iv)| {
                let sigma = (iv.upper - iv.lower) / 2.0 / z;
                (sigma.is_finite() && sigma > 0.0 && y.is_finite() && mu.is_finite())
                    .then_some((y, mu, sigma))
            })
            .collect();
        let n = rows.len();
        if n < ENCE_BINS {
            return None;
        }
        let nll = rows
            .iter()
            .map(|(y, mu, s)| {
                0.5 * (2.0 * std::f64::consts::PI).ln() + s.ln() + (y - mu).powi(2) / (2.0 * s * s)
            })
            .sum::<f64>()
            / n as f64;
        let standardised: Vec<f64> = rows.iter().map(|(y, mu, s)| ((y - mu) / s).abs()).collect();
        let gaps: Vec<f64> = (0..CURVE_POINTS)
            .map(|k| {
                let expected = k as f64 / (CURVE_POINTS - 1) as f64;
                let bound = normal_quantile(0.5 + expected / 2.0);
                let inside = standardised.iter().filter(|r| **r <= bound).count();
                (inside as f64 / n as f64 - expected).abs()
            })
            .collect();
        let step = 1.0 / (CURVE_POINTS - 1) as f64;
        let miscalibration_area = gaps.windows(2).map(|w| (w[0] + w[1]) / 2.0 * step).sum();
        let mut by_sigma = rows.clone();
        by_sigma.sort_by(|a, b| a.2.total_cmp(&b.2));
        let ence = (0..ENCE_BINS)
            .map(|b| {
                let bin = &by_sigma[b * n / ENCE_BINS..(b + 1) * n / ENCE_BINS];
                let k = bin.len() as f64;
                let rmv = (bin.iter().map(|r| r.2 * r.2).sum::<f64>() / k).sqrt();
                let rmse = (bin.iter().map(|r| (r.0 - r.1).powi(2)).sum::<f64>() / k).sqrt();
                (rmv - rmse).abs() / rmv
            })
            .sum::<f64>()
            / ENCE_BINS as f64;
        let sigmas: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let errors: Vec<f64> = rows.iter().map(|r| (r.0 - r.1).abs()).collect();
        Some(Uncertainty {
            n,
            nll,
            miscalibration_area,
            ence,
            spearman: spearman(&sigmas, &errors),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(mu: f64, sigma: f64, level: f64) -> Interval {
        let h = sigma * normal_quantile(0.5 + level / 2.0);
        Interval {
            lower: mu - h,
            upper: mu + h,
        }
    }

    #[test]
    fn scores_follow_their_definitions() {
        // Errors exactly as large as promised in every σ bin, at two σ levels.
        let n = 200;
        let sigma = |i: usize| if i < n / 2 { 0.5 } else { 2.0 };
        let observed: Vec<f64> = (0..n)
            .map(|i| if i % 2 == 0 { sigma(i) } else { -sigma(i) })
            .collect();
        let predicted = vec![0.0; n];
        let intervals: Vec<Interval> = (0..n).map(|i| iv(0.0, sigma(i), 0.9)).collect();
        let u = Uncertainty::of(&observed, &predicted, &intervals, 0.9).unwrap();
        assert_eq!(u.n, n);
        assert!(u.ence < 1e-9, "{}", u.ence);
        // |error| = σ exactly: a perfect rank correlation.
        assert!((u.spearman - 1.0).abs() < 1e-12);
        // NLL of a unit-standardised error: ½ln(2π) + ln σ + ½, averaged over both σ.
        let want =
            0.5 * (2.0 * std::f64::consts::PI).ln() + (0.5f64.ln() + 2.0f64.ln()) / 2.0 + 0.5;
        assert!((u.nll - want).abs() < 1e-9, "{} vs {want}", u.nll);
        // Every standardised error is 1: inside every interval beyond z = 1 (68.3 %), outside
        // below; the area is ∫|1[p ≥ 0.683] − p| dp ≈ 0.683²/2 + 0.317²/2 = 0.283.
        assert!(
            (u.miscalibration_area - 0.283).abs() < 0.01,
            "{}",
            u.miscalibration_area
        );
        // Intervals twice too narrow: ENCE near 1 (RMSE = 2·RMS σ gives |σ − 2σ|/σ = 1).
        let narrow: Vec<Interval> = (0..n).map(|i| iv(0.0, sigma(i) / 2.0, 0.9)).collect();
        let u = Uncertainty::of(&observed, &predicted, &narrow, 0.9).unwrap();
        assert!((u.ence - 1.0).abs() < 1e-9, "{}", u.ence);
        // Too few finite intervals: nothing to say.
        assert!(Uncertainty::of(&observed[..5], &predicted[..5], &intervals[..5], 0.9).is_none());
    }
}
