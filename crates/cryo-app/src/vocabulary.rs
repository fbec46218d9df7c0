//! The choices a client offers people (units, algorithms, feature sets, validation splits,
//! interval methods, contexts), from the types that parse them, so no client keeps a copy.

use crate::registry::{IntervalMethod, Search, Split};
use cryo_chem::featurize::FeatureSet;
use cryo_core::score::Context;
use cryo_core::units::ConcentrationUnit;
use cryo_ml::Algorithm;
use cryo_ml::classify::{ClassAlgorithm, Recalibration, SetMethod};
use serde::Serialize;

/// One choice: the name the API takes and a label for people.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Choice {
    pub name: &'static str,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vocabulary {
    /// Concentration units of mixture components.
    pub concentration_units: Vec<Choice>,
    /// Training algorithms; the first is the default.
    pub algorithms: Vec<Choice>,
    /// Feature sets, with their column counts in the label; the first is the default.
    pub feature_sets: Vec<Choice>,
    pub splits: Vec<Choice>,
    pub searches: Vec<Choice>,
    pub interval_methods: Vec<Choice>,
    /// How intervals widen from one molecule to another; the first is the default.
    pub interval_scales: Vec<Choice>,
    /// Classifiers (for yes/no and categorical properties); the first is the default.
    pub classifiers: Vec<Choice>,
    /// How a classifier's probabilities are recalibrated; the first is the default.
    pub calibrations: Vec<Choice>,
    /// How a classifier's prediction sets cover; the first is the default.
    pub set_methods: Vec<Choice>,
    /// Contexts of the unified score.
    pub contexts: Vec<&'static str>,
}

fn choice(name: &'static str, label: impl Into<String>) -> Choice {
    Choice {
        name,
        label: label.into(),
    }
}

/// Defaults first, in the order a form offers them.
pub fn vocabulary() -> Vocabulary {
    let mut algorithms = Algorithm::ALL.to_vec();
    algorithms.sort_by_key(|a| *a != Algorithm::RandomForest);
    let mut classifiers = ClassAlgorithm::ALL.to_vec();
    classifiers.sort_by_key(|a| *a != ClassAlgorithm::RandomForest);
    let mut calibrations = Recalibration::ALL.to_vec();
    calibrations.sort_by_key(|r| *r != Recalibration::default());
    let mut set_methods = [SetMethod::ClassConditional, SetMethod::Marginal].to_vec();
    set_methods.sort_by_key(|m| *m != SetMethod::default());
    let mut sets = FeatureSet::ALL.to_vec();
    sets.sort_by_key(|f| *f != FeatureSet::Rdkit);
    Vocabulary {
        concentration_units: ConcentrationUnit::ALL
            .iter()
            .map(|u| choice(u.as_str(), u.label()))
            .collect(),
        algorithms: algorithms
            .iter()
            .map(|a| choice(a.name(), a.label()))
            .collect(),
        feature_sets: sets
            .iter()
            .map(|f| choice(f.name(), format!("{} ({})", f.label(), f.names().len())))
            .collect(),
        splits: Split::ALL
            .iter()
            .map(|s| choice(s.name(), s.label()))
            .collect(),
        searches: Search::ALL
            .iter()
            .map(|s| choice(s.name(), s.name()))
            .collect(),
        interval_methods: IntervalMethod::ALL
            .iter()
            .map(|m| choice(m.name(), m.label()))
            .collect(),
        interval_scales: cryo_ml::Scale::ALL
            .iter()
            .map(|s| choice(s.name(), s.label()))
            .collect(),
        classifiers: classifiers
            .iter()
            .map(|a| choice(a.name(), a.label()))
            .collect(),
        calibrations: calibrations
            .iter()
            .map(|r| {
                choice(
                    r.name(),
                    match r {
                        Recalibration::None => "none (the model's own)",
                        Recalibration::Platt => "Platt scaling",
                        Recalibration::Isotonic => "isotonic",
                    },
                )
            })
            .collect(),
        set_methods: set_methods
            .iter()
            .map(|m| {
                choice(
                    m.name(),
                    match m {
                        SetMethod::ClassConditional => "within every class",
                        SetMethod::Marginal => "overall (marginal)",
                    },
                )
            })
            .collect(),
        contexts: Context::ALL.iter().map(|c| c.as_str()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::TrainRequest;

    #[test]
    fn every_choice_offered_is_accepted_where_it_is_used() {
        let v = vocabulary();
        for u in &v.concentration_units {
            assert!(u.name.parse::<ConcentrationUnit>().is_ok(), "{}", u.name);
        }
        let train = |field: &str, name: &str| {
            serde_json::from_value::<TrainRequest>(serde_json::json!({ field: name }))
                .unwrap_or_else(|e| panic!("{field} = {name}: {e}"))
        };
        for a in &v.algorithms {
            assert_eq!(train("algorithm", a.name).algorithm.name(), a.name);
        }
        for f in &v.feature_sets {
            assert_eq!(train("features", f.name).features.name(), f.name);
        }
        for s in &v.splits {
            assert_eq!(train("split", s.name).split.name(), s.name);
        }
        for s in &v.searches {
            assert_eq!(
                train("search", s.name).search.map(Search::name),
                Some(s.name)
            );
        }
        for m in &v.interval_methods {
            assert_eq!(train("conformal", m.name).conformal.name(), m.name);
        }
        for s in &v.interval_scales {
            assert_eq!(
                train("interval_scale", s.name).interval_scale.name(),
                s.name
            );
        }
        for a in &v.classifiers {
            assert_eq!(train("algorithm", a.name).algorithm.name(), a.name);
            assert!(train("algorithm", a.name).algorithm.classifier().is_ok());
        }
        for c in &v.calibrations {
            assert_eq!(train("calibration", c.name).calibration.name(), c.name);
        }
        for m in &v.set_methods {
            assert_eq!(train("sets", m.name).sets.name(), m.name);
        }
        for c in &v.contexts {
            assert!(
                serde_json::from_value::<Context>(serde_json::json!(c)).is_ok(),
                "{c}"
            );
        }
        // Defaults first, as TrainRequest's defaults.
        let d: TrainRequest = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(v.algorithms[0].name, d.algorithm.name());
        assert_eq!(v.classifiers[0].name, d.algorithm.name());
        assert_eq!(v.calibrations[0].name, d.calibration.name());
        assert_eq!(v.set_methods[0].name, d.sets.name());
        assert_eq!(v.feature_sets[0].name, d.features.name());
        assert_eq!(v.splits[0].name, d.split.name());
        assert_eq!(v.interval_methods[0].name, d.conformal.name());
        assert_eq!(v.interval_scales[0].name, d.interval_scale.name());
        assert_eq!(v.concentration_units.len(), ConcentrationUnit::ALL.len());
    }
}
