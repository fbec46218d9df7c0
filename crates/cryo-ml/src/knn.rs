//! k-nearest neighbours by Tanimoto similarity on binary features (fingerprint bits: a feature
//! is "on" when > 0.5). Prediction is the similarity-weighted mean of the k most similar
//! training molecules; the native spread is their weighted standard deviation.

use crate::MlError;
use crate::matrix::Matrix;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Knn {
    pub k: usize,
    words: usize,
    bits: Vec<u64>,
    counts: Vec<u32>,
    targets: Vec<f64>,
}

fn pack(row: &[f64], words: usize) -> Vec<u64> {
    let mut out = vec![0u64; words];
    for (j, v) in row.iter().enumerate() {
        if *v > 0.5 {
            out[j / 64] |= 1 << (j % 64);
        }
    }
    out
}

impl Knn {
    pub fn new(k: usize) -> Knn {
        Knn {
            k,
            words: 0,
            bits: Vec::new(),
            counts: Vec::new(),
            targets: Vec::new(),
        }
    }

    pub fn fit(&mut self, x: &Matrix, y: &[f64]) -> Result<(), MlError> {
        if x.as_slice().iter().any(|v| *v != 0.0 && *v != 1.0) {
            return Err(MlError::InvalidInput(
                "k-nearest neighbours uses Tanimoto similarity and needs binary features (a fingerprint)".into(),
            ));
        }
        self.words = x.cols().div_ceil(64);
        self.bits = Vec::with_capacity(x.rows() * self.words);
        self.counts.clear();
        for i in 0..x.rows() {
            let packed = pack(x.row(i), self.words);
            self.counts
                .push(packed.iter().map(|w| w.count_ones()).sum());
            self.bits.extend(packed);
        }
        self.targets = y.to_vec();
        Ok(())
    }

    pub fn predict_with_spread(&self, x: &Matrix) -> (Vec<f64>, Vec<f64>) {
        let n = self.targets.len();
        let k = self.k.clamp(1, n.max(1));
        (0..x.rows())
            .map(|r| {
                let query = pack(x.row(r), self.words);
                let qc: u32 = query.iter().map(|w| w.count_ones()).sum();
                let mut sims: Vec<(f64, usize)> = (0..n)
                    .map(|i| {
                        let words = &self.bits[i * self.words..(i + 1) * self.words];
                        let common: u32 = words
                            .iter()
                            .zip(&query)
                            .map(|(a, b)| (a & b).count_ones())
                            .sum();
                        let union = qc + self.counts[i] - common;
                        (
                            if union == 0 {
                                1.0
                            } else {
                                common as f64 / union as f64
                            },
                            i,
                        )
                    })
                    .collect();
                // Most similar first; ties by training order so results are deterministic.
                sims.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let nearest = &sims[..k];
                // A small floor keeps an all-dissimilar neighbourhood a plain mean.
                let weights: Vec<f64> = nearest.iter().map(|(s, _)| s.max(1e-3)).collect();
                let total: f64 = weights.iter().sum();
                let mean = nearest
                    .iter()
                    .zip(&weights)
                    .map(|((_, i), w)| w * self.targets[*i])
                    .sum::<f64>()
                    / total;
                let var = nearest
                    .iter()
                    .zip(&weights)
                    .map(|((_, i), w)| w * (self.targets[*i] - mean).powi(2))
                    .sum::<f64>()
                    / total;
                (mean, var.sqrt())
            })
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_by_tanimoto_wins() {
        let x = Matrix::from_rows(&[vec![1.0, 1.0, 0.0, 0.0], vec![0.0, 0.0, 1.0, 1.0]]).unwrap();
        let mut knn = Knn::new(1);
        knn.fit(&x, &[1.0, 9.0]).unwrap();
        let q = Matrix::from_rows(&[vec![1.0, 1.0, 1.0, 0.0], vec![0.0, 1.0, 1.0, 1.0]]).unwrap();
        assert_eq!(knn.predict_with_spread(&q).0, vec![1.0, 9.0]);
    }

    #[test]
    fn refuses_continuous_features() {
        let x = Matrix::from_rows(&[vec![0.3]]).unwrap();
        assert!(Knn::new(1).fit(&x, &[1.0]).is_err());
    }
}
