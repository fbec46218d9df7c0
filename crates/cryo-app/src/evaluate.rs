//! Scoring a stored version on new data, or on the experiments of its property it was not
//! trained on: the same metrics as validation (RMSE, MAE, R², Spearman, interval coverage).

use crate::models::visible_version;
use crate::registry::{
    Gathered, Layout, PredictInput, checked_level, gather, predict_in_domain, visible_model,
};
use crate::{Actor, AppError, AppResult};
use cryo_chem::featurize::FeatureSet;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// New data: inputs with measured values. Without it, the version is evaluated on the
    /// experiments of its property the caller can read that were not in its training set.
    pub data: Option<Vec<LabelledInput>>,
    /// Interval level for coverage, default 0.9.
    pub level: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LabelledInput {
    pub smiles: Option<String>,
    pub molecule_id: Option<Uuid>,
    pub mixture_id: Option<Uuid>,
    pub value: f64,
}

/// What an evaluation was run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EvaluationSource {
    /// The data in the request.
    Provided,
    /// Visible experiments not used in training.
    HeldOut,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    pub version: i64,
    pub source: EvaluationSource,
    pub level: f64,
    /// n, RMSE, MAE, R², Spearman, interval coverage and mean width.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metrics: cryo_ml::Metrics,
    /// Rows that could not be evaluated, with the reason.
    pub skipped: Vec<String>,
}

/// What an evaluation scores, as read from the database.
enum Work {
    /// The caller's inputs and their measured values.
    Provided(Gathered, Vec<f64>),
    /// Every visible experiment of the property, to be featurised with the version's set.
    HeldOut(crate::training::Gathered, FeatureSet),
}

/// Score version `version` of model `id` on `e.data`, or on held-out experiments.
pub async fn evaluate(
    actor: &Actor<'_>,
    id: Uuid,
    version: i64,
    e: EvaluateRequest,
) -> AppResult<Evaluation> {
    actor.me()?;
    let level = checked_level(e.level)?;
    let app = actor.app;
    let max_batch = app.settings.models.max_batch;
    if e.data.as_ref().is_some_and(|d| d.len() > max_batch) {
        return Err(AppError::validation(
            "data",
            format!("at most {max_batch} rows"),
        ));
    }
    // What to score is read in one short transaction; featurising and predicting are one
    // hand-off to the compute pool, with no connection held.
    let (work, loaded) = actor
        .run(async |tx| {
            let model = visible_model(tx, id).await?;
            let v = visible_version(tx, id, version).await?;
            let loaded = app.registry.load(tx, &v.handle()).await?;
            loaded.model.regression()?;
            let work = match &e.data {
                Some(data) => {
                    let inputs: Vec<PredictInput> = data
                        .iter()
                        .map(|d| PredictInput {
                            smiles: d.smiles.clone(),
                            molecule_id: d.molecule_id,
                            mixture_id: d.mixture_id,
                        })
                        .collect();
                    let values = data.iter().map(|d| d.value).collect();
                    Work::Provided(gather(tx, &app.compute, loaded.layout, &inputs).await?, values)
                }
                None => {
                    let Layout::MixtureAware(set) = loaded.layout else {
                        return Err(AppError::validation(
                            "data",
                            "this version was trained outside the registry; give data to evaluate it on",
                        ));
                    };
                    Work::HeldOut(crate::training::gather(tx, &model.property).await?, set)
                }
            };
            Ok((work, loaded))
        })
        .await?;
    let source = match work {
        Work::Provided(..) => EvaluationSource::Provided,
        Work::HeldOut(..) => EvaluationSource::HeldOut,
    };
    let (observed, answers, skipped) = app
        .compute
        .run(move |deadline| {
            let mut skipped = Vec::new();
            let mut rows = Vec::new();
            let mut observed = Vec::new();
            // Each row's structure, so its interval is recalibrated for its domain bin as a
            // user's prediction is.
            let mut smiles = Vec::new();
            match work {
                Work::Provided(gathered, values) => {
                    let mut structure_of: Vec<Option<String>> = vec![None; values.len()];
                    for (i, s) in gathered.structures() {
                        structure_of[i] = Some(s);
                    }
                    let featurised = gathered.featurise(loaded.layout, &deadline);
                    for ((i, value), row) in values.into_iter().enumerate().zip(featurised) {
                        match row {
                            Ok(r) if value.is_finite() => {
                                rows.push(r);
                                observed.push(value);
                                smiles.push(structure_of[i].take());
                            }
                            Ok(_) => {
                                skipped.push(format!("data[{i}]: value is not a finite number"))
                            }
                            Err(why) => skipped.push(format!("data[{i}]: {why}")),
                        }
                    }
                }
                Work::HeldOut(gathered, set) => {
                    // Held-out rows obey the same rules as training rows (rejected ones never count).
                    let held = gathered.featurise(set, crate::training::Admit::default())?;
                    let trained: std::collections::HashSet<&str> = loaded
                        .model
                        .regression()?
                        .dataset
                        .ids
                        .iter()
                        .map(String::as_str)
                        .collect();
                    for (i, sample_id) in held.dataset.ids.iter().enumerate() {
                        if !trained.contains(sample_id.as_str()) {
                            rows.push(held.dataset.x.row(i).to_vec());
                            observed.push(held.dataset.y[i]);
                            smiles.push(
                                Some(sample_id.clone()).filter(|id| !id.starts_with("mixture:")),
                            );
                        }
                    }
                }
            }
            if rows.is_empty() {
                return Ok((observed, None, skipped));
            }
            let (answers, _) =
                predict_in_domain(&loaded, rows.into_iter().map(Ok).collect(), &smiles, level)?;
            Ok((observed, Some(answers), skipped))
        })
        .await?;
    let Some(answers) = answers else {
        return Err(AppError::validation(
            "data",
            match source {
                EvaluationSource::HeldOut => {
                    "every visible experiment of this property was used in training; give new data"
                }
                EvaluationSource::Provided => "no usable rows",
            },
        ));
    };
    let (predicted, intervals): (Vec<f64>, Vec<cryo_ml::Interval>) = answers
        .into_iter()
        .filter_map(Result::ok)
        .map(|p| (p.value, p.interval))
        .unzip();
    Ok(Evaluation {
        version,
        source,
        level,
        metrics: cryo_ml::Metrics::compute(&observed, &predicted, Some(&intervals)),
        skipped,
    })
}
