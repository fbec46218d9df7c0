//! The public entry points a request's numbers reach (interval levels, hyperparameters, the
//! training data itself): any input gives a result or an error, never a panic. Run by
//! `cargo test` (so in CI) with a bounded number of cases.

use cryo_ml::{
    Algorithm, ConformalMethod, ConformalModel, Dataset, Sample, Scale, Splitter, check_level,
};
use proptest::prelude::*;

/// Numbers a careless or hostile client sends: the specials, the edges, and ordinary values.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(1e-300),
        Just(1e308),
        Just(-1.0),
        Just(0.0),
        (0u32..40).prop_map(f64::from),
        -2.0..2.0f64,
    ]
}

fn dataset(values: &[f64], cols: usize) -> Option<Dataset> {
    let samples: Vec<Sample> = values
        .chunks_exact(cols + 1)
        .enumerate()
        .map(|(i, row)| Sample {
            id: format!("m{i}"),
            features: row[..cols].to_vec(),
            target: row[cols],
            group: None,
            time: None,
        })
        .collect();
    Dataset::from_samples((0..cols).map(|j| format!("f{j}")).collect(), samples).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn interval_levels_are_checked_never_trusted(level in prop_oneof![number(), any::<f64>()]) {
        match check_level(level) {
            Ok(l) => prop_assert!((0.0..1.0).contains(&l) && l > 0.0),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn any_hyperparameter_trains_predicts_or_is_refused(
        algorithm in 0..Algorithm::ALL.len(),
        which in 0usize..8,
        value in number(),
        level in number(),
        cols in 1usize..4,
        values in prop::collection::vec(-1e6..1e6f64, 60..120),
    ) {
        let base = Algorithm::ALL[algorithm].default_spec();
        let names: Vec<String> = base.params().keys().cloned().collect();
        let spec = if names.is_empty() {
            Ok(base)
        } else {
            let json = serde_json::Number::from_f64(value)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null);
            base.with_param(&names[which % names.len()], json)
        };
        let Ok(spec) = spec else { return Ok(()); };
        if spec.validate().is_err() {
            return Ok(());
        }
        let Some(data) = dataset(&values, cols) else { return Ok(()); };
        // Bounded but possibly large (5,000 trees): this test is about panics, not patience.
        if spec.estimated_bytes(data.y.len(), cols) > 64 << 20 {
            return Ok(());
        }
        let method = ConformalMethod::Split { calibration_fraction: 0.3 };
        if let Ok(model) = ConformalModel::fit(&spec, &data, &method, Scale::ALL[values.len() % 3], &Splitter::KFold { k: 5 }, 7) {
            let _ = model.predict(&data.x, level);
        }
    }
}
