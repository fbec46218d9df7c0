//! A small multilayer perceptron (ReLU hidden layers, linear output) trained with Adam on
//! mini-batches, with scikit-learn's MLPRegressor defaults: L2 penalty α = 1e-4, learning rate
//! 1e-3, batches of min(200, n), stop when the training loss has not improved by 1e-4 for ten
//! epochs. Targets are standardised internally. Several networks that differ only in their
//! seed form an ensemble whose spread is the native uncertainty.

use crate::matrix::Matrix;
use crate::{MlError, derive_seed, rng};
use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

const BATCH: usize = 200;
const TOL: f64 = 1e-4;
const NO_CHANGE_EPOCHS: usize = 10;
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mlp {
    pub hidden: Vec<usize>,
    pub alpha: f64,
    pub learning_rate: f64,
    pub max_iter: usize,
    pub ensemble: usize,
    nets: Vec<Net>,
    y_mean: f64,
    y_std: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Layer {
    inputs: usize,
    outputs: usize,
    /// `inputs × outputs`, row-major.
    weights: Vec<f64>,
    bias: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Net {
    layers: Vec<Layer>,
}

impl Mlp {
    pub fn new(
        hidden: Vec<usize>,
        alpha: f64,
        learning_rate: f64,
        max_iter: usize,
        ensemble: usize,
    ) -> Mlp {
        Mlp {
            hidden,
            alpha,
            learning_rate,
            max_iter,
            ensemble,
            nets: Vec::new(),
            y_mean: 0.0,
            y_std: 1.0,
        }
    }

    pub fn fit(&mut self, x: &Matrix, y: &[f64], seed: u64) -> Result<(), MlError> {
        let n = y.len() as f64;
        self.y_mean = y.iter().sum::<f64>() / n;
        let var = y.iter().map(|v| (v - self.y_mean).powi(2)).sum::<f64>() / n;
        self.y_std = if var > 0.0 { var.sqrt() } else { 1.0 };
        let target: Vec<f64> = y.iter().map(|v| (v - self.y_mean) / self.y_std).collect();
        self.nets = (0..self.ensemble.max(1))
            .into_par_iter()
            .map(|member| self.train(x, &target, derive_seed(seed, member as u64)))
            .collect();
        if self.nets.iter().any(|net| {
            net.layers
                .iter()
                .any(|l| l.weights.iter().any(|w| !w.is_finite()))
        }) {
            return Err(MlError::Numerical(
                "the network diverged; lower the learning rate".into(),
            ));
        }
        Ok(())
    }

    fn train(&self, x: &Matrix, y: &[f64], seed: u64) -> Net {
        let mut rng = rng(seed);
        let mut sizes = vec![x.cols()];
        sizes.extend(&self.hidden);
        sizes.push(1);
        let mut net = Net {
            layers: sizes
                .windows(2)
                .map(|w| {
                    let bound = (6.0 / (w[0] + w[1]) as f64).sqrt();
                    let mut init = |k| {
                        (0..k)
                            .map(|_| rng.random_range(-bound..bound))
                            .collect::<Vec<f64>>()
                    };
                    Layer {
                        inputs: w[0],
                        outputs: w[1],
                        weights: init(w[0] * w[1]),
                        bias: init(w[1]),
                    }
                })
                .collect(),
        };
        let mut adam: Vec<AdamState> = net
            .layers
            .iter()
            .map(|l| {
                (
                    vec![0.0; l.weights.len()],
                    vec![0.0; l.weights.len()],
                    vec![0.0; l.outputs],
                    vec![0.0; l.outputs],
                )
            })
            .collect();
        let n = x.rows();
        let batch = BATCH.min(n);
        let mut order: Vec<usize> = (0..n).collect();
        let mut best_loss = f64::INFINITY;
        let mut stale = 0;
        let mut step = 0i32;
        for _ in 0..self.max_iter {
            crate::interrupt::checkpoint();
            order.shuffle(&mut rng);
            let mut epoch_loss = 0.0;
            for chunk in order.chunks(batch) {
                step += 1;
                let b = chunk.len();
                let input = x.select_rows(chunk);
                let acts = net.forward(input.as_slice().to_vec(), b);
                let out = acts.last().expect("output layer");
                let mut delta: Vec<f64> = chunk
                    .iter()
                    .zip(out)
                    .map(|(&i, o)| (o - y[i]) / b as f64)
                    .collect();
                let sq: f64 = chunk
                    .iter()
                    .zip(out)
                    .map(|(&i, o)| (o - y[i]).powi(2))
                    .sum();
                let penalty: f64 = net
                    .layers
                    .iter()
                    .map(|l| l.weights.iter().map(|w| w * w).sum::<f64>())
                    .sum();
                epoch_loss += sq / 2.0 + 0.5 * self.alpha * penalty;
                let lr =
                    self.learning_rate * (1.0 - BETA2.powi(step)).sqrt() / (1.0 - BETA1.powi(step));
                for l in (0..net.layers.len()).rev() {
                    let layer = &net.layers[l];
                    let a = &acts[l];
                    let (inp, outp) = (layer.inputs, layer.outputs);
                    let mut grad_w: Vec<f64> = layer
                        .weights
                        .iter()
                        .map(|w| self.alpha * w / b as f64)
                        .collect();
                    let mut grad_b = vec![0.0; outp];
                    for r in 0..b {
                        let d = &delta[r * outp..(r + 1) * outp];
                        for (gb, dv) in grad_b.iter_mut().zip(d) {
                            *gb += dv;
                        }
                        for k in 0..inp {
                            let av = a[r * inp + k];
                            if av != 0.0 {
                                for (g, dv) in grad_w[k * outp..(k + 1) * outp].iter_mut().zip(d) {
                                    *g += av * dv;
                                }
                            }
                        }
                    }
                    if l > 0 {
                        let mut prev = vec![0.0; b * inp];
                        for r in 0..b {
                            let d = &delta[r * outp..(r + 1) * outp];
                            for k in 0..inp {
                                if a[r * inp + k] > 0.0 {
                                    prev[r * inp + k] = layer.weights[k * outp..(k + 1) * outp]
                                        .iter()
                                        .zip(d)
                                        .map(|(w, dv)| w * dv)
                                        .sum();
                                }
                            }
                        }
                        delta = prev;
                    }
                    let (mw, vw, mb, vb) = &mut adam[l];
                    let layer = &mut net.layers[l];
                    adam_step(&mut layer.weights, &grad_w, mw, vw, lr);
                    adam_step(&mut layer.bias, &grad_b, mb, vb, lr);
                }
            }
            let loss = epoch_loss / n as f64;
            if !loss.is_finite() {
                break;
            }
            if loss > best_loss - TOL {
                stale += 1;
                if stale >= NO_CHANGE_EPOCHS {
                    break;
                }
            } else {
                stale = 0;
            }
            best_loss = best_loss.min(loss);
        }
        net
    }

    /// Ensemble mean and standard deviation for each row.
    pub fn predict_with_spread(&self, x: &Matrix) -> (Vec<f64>, Vec<f64>) {
        let b = x.rows();
        let outputs: Vec<Vec<f64>> = self
            .nets
            .iter()
            .map(|net| {
                net.forward(x.as_slice().to_vec(), b)
                    .pop()
                    .expect("output layer")
            })
            .collect();
        let k = outputs.len().max(1) as f64;
        (0..b)
            .map(|i| {
                let values = outputs.iter().map(|o| o[i] * self.y_std + self.y_mean);
                let (s, s2) = values.fold((0.0, 0.0), |(s, s2), v| (s + v, s2 + v * v));
                let mean = s / k;
                (mean, (s2 / k - mean * mean).max(0.0).sqrt())
            })
            .unzip()
    }
}

impl Net {
    /// Activations of every layer, input first; hidden layers are ReLU, the output linear.
    fn forward(&self, input: Vec<f64>, rows: usize) -> Vec<Vec<f64>> {
        let mut acts = vec![input];
        for (l, layer) in self.layers.iter().enumerate() {
            let a = acts.last().expect("input");
            let mut z = vec![0.0; rows * layer.outputs];
            for r in 0..rows {
                let zr = &mut z[r * layer.outputs..(r + 1) * layer.outputs];
                zr.copy_from_slice(&layer.bias);
                for k in 0..layer.inputs {
                    let av = a[r * layer.inputs + k];
                    if av != 0.0 {
                        for (zv, w) in zr
                            .iter_mut()
                            .zip(&layer.weights[k * layer.outputs..(k + 1) * layer.outputs])
                        {
                            *zv += av * w;
                        }
                    }
                }
            }
            if l + 1 < self.layers.len() {
                z.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            acts.push(z);
        }
        acts
    }
}

/// First and second moments for a layer's weights, then for its biases.
type AdamState = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

fn adam_step(params: &mut [f64], grad: &[f64], m: &mut [f64], v: &mut [f64], lr: f64) {
    for k in 0..params.len() {
        m[k] = BETA1 * m[k] + (1.0 - BETA1) * grad[k];
        v[k] = BETA2 * v[k] + (1.0 - BETA2) * grad[k] * grad[k];
        params[k] -= lr * m[k] / (v[k].sqrt() + EPS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_smooth_nonlinear_function() {
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                vec![
                    (i as f64 / 150.0) - 1.0,
                    ((i * 37) % 300) as f64 / 150.0 - 1.0,
                ]
            })
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| r[0] * r[0] + r[1].sin()).collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let mut mlp = Mlp::new(vec![32], 1e-4, 1e-2, 400, 2);
        mlp.fit(&x, &y, 1).unwrap();
        let (pred, spread) = mlp.predict_with_spread(&x);
        let rmse = crate::rmse(&y, &pred);
        let sd = (y
            .iter()
            .map(|v| (v - crate::matrix::mean(&y)).powi(2))
            .sum::<f64>()
            / 300.0)
            .sqrt();
        assert!(rmse < 0.15 * sd, "rmse {rmse} vs sd {sd}");
        assert!(
            spread.iter().any(|s| *s > 0.0),
            "two seeds must disagree somewhere"
        );
    }
}
