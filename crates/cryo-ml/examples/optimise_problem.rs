//! The Rust side of `bench/optimise.sh`: reads a problem (a degree-2 ridge model of a property
//! over component amounts, bounds, Σ, a linear ceiling, starting points) as JSON on stdin,
//! maximises the model's prediction with [`cryo_ml::optimise`] from exactly those starts, and
//! prints the best value, the point and the time the optimisation took.

use cryo_ml::optimise::{Method, Options, Problem, minimise};
use serde::Deserialize;
use std::io::Read;
use std::time::Instant;

#[derive(Deserialize)]
struct Input {
    /// Coefficients over [x₀ … xₙ₋₁, then xᵢ·xⱼ for i ≤ j in row order].
    coef: Vec<f64>,
    intercept: f64,
    lower: Vec<f64>,
    upper: Vec<f64>,
    total: f64,
    ceiling_a: Vec<f64>,
    ceiling_b: f64,
    starts: Vec<Vec<f64>>,
    repeats: usize,
}

fn predict(coef: &[f64], intercept: f64, x: &[f64]) -> f64 {
    let n = x.len();
    let mut v = intercept;
    let mut k = 0;
    for xi in x {
        v += coef[k] * xi;
        k += 1;
    }
    for i in 0..n {
        for j in i..n {
            v += coef[k] * x[i] * x[j];
            k += 1;
        }
    }
    v
}

fn main() {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).unwrap();
    let input: Input = serde_json::from_str(&text).unwrap();
    let (coef, intercept) = (input.coef.clone(), input.intercept);
    let (a, b) = (input.ceiling_a.clone(), input.ceiling_b);
    let problem = Problem {
        lower: input.lower.clone(),
        upper: input.upper.clone(),
        total: Some(input.total),
        inequalities: vec![(
            "a·x ≤ b".into(),
            Box::new(move |x: &[f64]| x.iter().zip(&a).map(|(x, a)| x * a).sum::<f64>() - b),
        )],
        objective: Box::new(move |x: &[f64]| -predict(&coef, intercept, x)),
        max_nonzero: None,
    };
    let options = Options {
        method: Method::Gradient,
        starts: input.starts.len(),
        initial: input.starts.clone(),
        keep: 1,
        ..Options::default()
    };
    let mut best = None;
    let started = Instant::now();
    for _ in 0..input.repeats {
        best = Some(minimise(&problem, &options, |_, _| {}).unwrap());
    }
    let secs = started.elapsed().as_secs_f64() / input.repeats as f64;
    let out = best.unwrap();
    let o = &out.optima[0];
    println!(
        "{}",
        serde_json::json!({
            "best": -o.objective,
            "x": o.x,
            "feasible": o.feasible,
            "seconds": secs,
            "evaluations": out.evaluations,
        })
    );
}
