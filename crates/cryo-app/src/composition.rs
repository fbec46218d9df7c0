//! A mixture's composition as the unit arithmetic sees it: **the one conversion** from stored
//! components to concentrations, and the molar shares and score built on it (for scoring,
//! training and the Tg estimate alike).

use cryo_core::score::{MixtureScore, ScoredComponent, mixture_score};
use cryo_core::units::{CompoundProps, Concentration, UnitError, molar_shares};
use cryo_db::repo::science::ComponentRow;

/// The one conversion from stored components to amounts the unit arithmetic understands; on
/// failure, the index of the component at fault.
pub fn doses(
    components: &[ComponentRow],
) -> Result<Vec<(Concentration, CompoundProps)>, (usize, UnitError)> {
    components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let concentration =
                Concentration::new(c.concentration, c.concentration_unit).map_err(|e| (i, e))?;
            Ok((
                concentration,
                CompoundProps {
                    molar_mass: c.molecular_weight,
                    density: c.density_g_per_ml,
                },
            ))
        })
        .collect()
}

/// Each component's share of the mixture's molar amount, or why it has none.
pub fn shares(components: &[ComponentRow]) -> Result<Vec<f64>, UnitError> {
    molar_shares(&doses(components).map_err(|(_, e)| e)?)
}

/// The mixture score from its components' stored scores (0 for a component without one).
pub fn score(components: &[ComponentRow]) -> Result<MixtureScore, UnitError> {
    let scored: Vec<ScoredComponent> = doses(components)
        .map_err(|(_, e)| e)?
        .into_iter()
        .zip(components)
        .map(|((concentration, props), c)| ScoredComponent {
            score: c.score.unwrap_or(0.0),
            concentration,
            props,
        })
        .collect();
    mixture_score(&scored)
}
