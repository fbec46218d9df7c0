//! Up to [`MAX_COMPARED`] mixtures side by side: composition, score, physical properties, the
//! latest prediction of each property and the measured values.

use crate::mixture_physics::{self, MixturePhysics};
use crate::mixtures::{MixtureDetail, detail_in};
use crate::{Actor, AppError, AppResult};
use cryo_db::repo::Page;
use cryo_db::repo::science::{self as repo, Experiment, Prediction, Subject};
use serde::Serialize;
use uuid::Uuid;

/// Most mixtures one comparison shows.
pub const MAX_COMPARED: usize = 6;

/// Predictions and experiments read per mixture.
const PER_MIXTURE: i64 = 50;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compared {
    #[serde(flatten)]
    pub detail: MixtureDetail,
    pub physics: Option<MixturePhysics>,
    /// Why there are no physical properties (a component without a density, …).
    pub physics_error: Option<String>,
    /// The latest prediction of each property and method.
    pub predictions: Vec<Prediction>,
    /// Measured values, newest first.
    pub experiments: Vec<Experiment>,
}

pub async fn compare(actor: &Actor<'_>, ids: &[Uuid]) -> AppResult<Vec<Compared>> {
    if ids.len() < 2 || ids.len() > MAX_COMPARED {
        return Err(AppError::validation(
            "ids",
            format!("compare 2 to {MAX_COMPARED} mixtures"),
        ));
    }
    if ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id)) {
        return Err(AppError::validation("ids", "a mixture is listed twice"));
    }
    let page = Page::new(Some(PER_MIXTURE), None);
    let gathered = actor
        .run(async |tx| {
            let mut out = Vec::with_capacity(ids.len());
            for &id in ids {
                let detail = detail_in(tx, id).await?;
                let mut predictions =
                    repo::list_predictions(tx, Subject::Mixture(id), page).await?;
                // Newest first: keep the first of each (property, method).
                let mut seen = Vec::new();
                predictions.retain(|p| {
                    let key = (p.property.clone(), p.method.clone());
                    let new = !seen.contains(&key);
                    seen.push(key);
                    new
                });
                let experiments = repo::list_experiments(tx, None, Some(id), None, page).await?;
                out.push((detail, predictions, experiments));
            }
            Ok::<_, AppError>(out)
        })
        .await?;
    Ok(gathered
        .into_iter()
        .map(|(detail, predictions, experiments)| {
            let (physics, physics_error) = match mixture_physics::physics(
                &detail.components,
                &[],
                Some(detail.mixture.version),
            ) {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(e.to_string())),
            };
            Compared {
                detail,
                physics,
                physics_error,
                predictions,
                experiments,
            }
        })
        .collect())
}
