use super::*;
use rand::{Rng, SeedableRng};

fn problem<'a>(lower: Vec<f64>, upper: Vec<f64>, objective: Function<'a>) -> Problem<'a> {
    Problem {
        lower,
        upper,
        total: None,
        inequalities: Vec::new(),
        objective,
        max_nonzero: None,
    }
}

fn best(p: &Problem<'_>, options: &Options) -> Optimum {
    minimise(p, options, |_, _| {}).unwrap().optima.remove(0)
}

#[test]
fn finds_the_analytical_optimum_of_weighted_logs_on_the_simplex() {
    // max Σ wᵢ ln xᵢ with Σ x = 100: xᵢ = 100·wᵢ/Σw (Lagrange).
    let w = [1.0, 2.0, 3.0, 4.0];
    let mut p = problem(
        vec![0.01; 4],
        vec![100.0; 4],
        Box::new(move |x: &[f64]| -x.iter().zip(&w).map(|(x, w)| w * x.ln()).sum::<f64>()),
    );
    p.total = Some(100.0);
    let o = best(&p, &Options::default());
    for (x, w) in o.x.iter().zip(&w) {
        assert!((x - 10.0 * w).abs() < 1e-3, "{:?}", o.x);
    }
    assert!(o.feasible);
}

#[test]
fn a_nonlinear_inequality_binds_where_geometry_says() {
    // Nearest point of the unit disc to (2, 1): (2, 1)/√5.
    let mut p = problem(
        vec![-5.0; 2],
        vec![5.0; 2],
        Box::new(|x: &[f64]| (x[0] - 2.0).powi(2) + (x[1] - 1.0).powi(2)),
    );
    p.inequalities = vec![(
        "x² + y² ≤ 1".into(),
        Box::new(|x: &[f64]| x[0] * x[0] + x[1] * x[1] - 1.0),
    )];
    let o = best(&p, &Options::default());
    let r = 5f64.sqrt();
    assert!(
        (o.x[0] - 2.0 / r).abs() < 1e-4 && (o.x[1] - 1.0 / r).abs() < 1e-4,
        "{o:?}"
    );
    let disc = o
        .constraints
        .iter()
        .find(|c| c.name == "x² + y² ≤ 1")
        .unwrap();
    assert!(disc.active && disc.satisfied, "{disc:?}");
}

#[test]
fn the_pattern_search_climbs_a_staircase_the_gradient_cannot_see() {
    // −floor(20·x₀)/20 with x₀ + x₁ = 1 and x₀ ≤ 0.73: best −0.70, anywhere in [0.70, 0.73].
    let mut p = problem(
        vec![0.0; 2],
        vec![1.0; 2],
        Box::new(|x: &[f64]| -(20.0 * x[0]).floor() / 20.0),
    );
    p.total = Some(1.0);
    p.inequalities = vec![("x₀ ≤ 0.73".into(), Box::new(|x: &[f64]| x[0] - 0.73))];
    let start = Options {
        initial: vec![vec![0.1, 0.9]],
        starts: 1,
        ..Options::default()
    };
    let pattern = best(
        &p,
        &Options {
            method: Method::Pattern,
            ..start.clone()
        },
    );
    assert!((pattern.objective + 0.70).abs() < 1e-12, "{pattern:?}");
    assert!(pattern.feasible);
    let gradient = best(&p, &start);
    assert!(
        gradient.objective > pattern.objective,
        "a zero gradient stays put: {gradient:?}"
    );
}

#[test]
fn a_component_cap_is_met() {
    // Σ ln(xᵢ + 1) wants every component; at most 2 may be used.
    let mut p = problem(
        vec![0.0; 5],
        vec![60.0; 5],
        Box::new(|x: &[f64]| -x.iter().map(|v| (v + 1.0).ln()).sum::<f64>()),
    );
    p.total = Some(100.0);
    p.max_nonzero = Some(2);
    let o = best(&p, &Options::default());
    assert!(o.feasible, "{o:?}");
    assert_eq!(o.x.iter().filter(|v| **v > 1e-6).count(), 2, "{:?}", o.x);
    // Two components share 100 equally (each ≤ 60).
    let mut used: Vec<f64> = o.x.iter().copied().filter(|v| *v > 1e-6).collect();
    used.sort_by(f64::total_cmp);
    assert!((used[0] - 50.0).abs() < 1e-3, "{used:?}");
}

/// A random problem: bounds, a total, a linear ceiling a·x ≤ b that some feasible point meets,
/// and a quadratic objective (convex when `convex`).
fn random_problem(seed: u64, convex: bool) -> (Problem<'static>, Vec<Vec<f64>>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n: usize = rng.random_range(2..=8);
    let cap = seed.is_multiple_of(3).then_some(n.div_ceil(2));
    // Under a cap only the first component has a positive minimum, and the total is one any
    // component can make up, so the capped problem stays feasible.
    let lower: Vec<f64> = (0..n)
        .map(|i| {
            if cap.is_some() && i > 0 {
                0.0
            } else {
                rng.random_range(0.0..20.0)
            }
        })
        .collect();
    let upper: Vec<f64> = lower
        .iter()
        .map(|l| l + rng.random_range(5.0..50.0))
        .collect();
    let (lo, hi): (f64, f64) = (lower.iter().sum(), upper.iter().sum());
    let total = match cap {
        Some(_) => lower[0] + 4.0,
        None => rng.random_range(lo + 0.1 * (hi - lo)..hi - 0.1 * (hi - lo)),
    };
    // Samples (which set the ceiling b) respect the cap, so a feasible capped point exists.
    let sample_upper: Vec<f64> = (0..n)
        .map(|i| match cap {
            Some(k) if i >= k => 0.0,
            _ => upper[i],
        })
        .collect();
    let set = Feasible {
        lower: &lower,
        upper: &sample_upper,
        total: Some(total),
    };
    let samples: Vec<Vec<f64>> = (0..400)
        .map(|_| {
            let y: Vec<f64> = (0..n)
                .map(|i| rng.random_range(lower[i]..=sample_upper[i].max(lower[i])))
                .collect();
            set.project(&y)
        })
        .collect();
    let a: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..2.0)).collect();
    let dot = |x: &[f64], a: &[f64]| x.iter().zip(a).map(|(x, a)| x * a).sum::<f64>();
    // b: the median of a·x over the samples, so half of them meet the ceiling.
    let mut values: Vec<f64> = samples.iter().map(|s| dot(s, &a)).collect();
    values.sort_by(f64::total_cmp);
    let b = values[values.len() / 2];
    let m: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let q: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if convex {
                        (0..n).map(|k| m[k][i] * m[k][j]).sum()
                    } else {
                        (m[i][j] + m[j][i]) / 2.0
                    }
                })
                .collect()
        })
        .collect();
    let c: Vec<f64> = (0..n).map(|_| rng.random_range(-20.0..20.0)).collect();
    let a_ceiling = a.clone();
    let feasible_samples = samples
        .into_iter()
        .filter(|s| dot(s, &a) <= b)
        .filter(|s| cap.is_none_or(|k| s.iter().filter(|v| **v > 1e-6).count() <= k))
        .collect();
    let problem = Problem {
        lower: lower.clone(),
        upper: upper.clone(),
        total: Some(total),
        inequalities: vec![(
            "a·x ≤ b".into(),
            Box::new(move |x: &[f64]| dot(x, &a_ceiling) - b),
        )],
        objective: Box::new(move |x: &[f64]| {
            let mut v = 0.0;
            for i in 0..x.len() {
                v += c[i] * x[i];
                for j in 0..x.len() {
                    v += 0.5 * q[i][j] * x[i] * x[j];
                }
            }
            v
        }),
        max_nonzero: cap,
    };
    (problem, feasible_samples)
}

#[test]
fn twenty_random_problems_keep_every_constraint() {
    for seed in 0..20 {
        for convex in [true, false] {
            let (p, samples) = random_problem(seed, convex);
            let out = minimise(&p, &Options::default(), |_, _| {}).unwrap();
            let o = &out.optima[0];
            let n = p.lower.len();
            let tol = 1e-6;
            if let Some(k) = p.max_nonzero {
                let used = o.x.iter().filter(|v| **v > tol).count();
                assert!(used <= k, "seed {seed}: {used} components used, cap {k}");
            }
            for i in 0..n {
                assert!(
                    o.x[i] >= p.lower[i] - tol && o.x[i] <= p.upper[i] + tol,
                    "seed {seed}: x[{i}] = {} outside [{}, {}]",
                    o.x[i],
                    p.lower[i],
                    p.upper[i]
                );
            }
            let sum: f64 = o.x.iter().sum();
            assert!(
                (sum - p.total.unwrap()).abs() < 1e-6 * sum.max(1.0),
                "seed {seed}"
            );
            let g = (p.inequalities[0].1)(&o.x);
            assert!(g <= 1e-6, "seed {seed}: a·x − b = {g}");
            assert!(o.feasible, "seed {seed}: {o:?}");
            if convex && p.max_nonzero.is_none() {
                // The convex optimum is no worse than any feasible sample.
                let f = &p.objective;
                for s in &samples {
                    assert!(
                        o.objective <= f(s) + 1e-6 * f(s).abs().max(1.0),
                        "seed {seed}: sample {} beats optimum {}",
                        f(s),
                        o.objective
                    );
                }
            }
        }
    }
}

#[test]
fn impossible_problems_are_refused_before_any_work() {
    let f = || -> Function<'static> { Box::new(|x: &[f64]| x[0]) };
    let mut p = problem(vec![1.0, 0.0], vec![0.0, 1.0], f());
    assert!(matches!(
        minimise(&p, &Options::default(), |_, _| {}),
        Err(MlError::InvalidParameter { name: "bounds", .. })
    ));
    p = problem(vec![0.0, 0.0], vec![1.0, 1.0], f());
    p.total = Some(3.0);
    assert!(matches!(
        minimise(&p, &Options::default(), |_, _| {}),
        Err(MlError::InvalidParameter { name: "total", .. })
    ));
    p.total = None;
    let too_many = Options {
        starts: MAX_STARTS + 1,
        ..Options::default()
    };
    assert!(matches!(
        minimise(&p, &too_many, |_, _| {}),
        Err(MlError::InvalidParameter { name: "starts", .. })
    ));
    let mut seen = Vec::new();
    minimise(&p, &Options::default(), |done, total| {
        seen.push((done, total))
    })
    .unwrap();
    assert_eq!(seen.last(), Some(&(8, 8)), "progress after every start");
}
