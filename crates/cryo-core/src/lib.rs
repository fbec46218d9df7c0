//! Domain types and pure calculations of CryoProtect, parsed once at the edge. No I/O, no
//! database, no chemistry toolkit: everything here is plain Rust and deterministic.
//!
//! - [`units`]: concentrations and their units, and how they convert to a common molar basis.
//! - [`features`]: the 20-feature descriptor vector the scores and models are built on.
//! - [`deadline`]: when work started for a client gives up.
//! - [`measure`]: units of measured values and their exact conversions.
//! - [`quantile`]: normal and Student-t quantiles.
//! - [`solution`]: a cocktail's amounts on every basis, osmolality and glass transition.
//! - [`score`]: the molecule cryoprotection score, the mixture score, Tg and unified scores.
//! - [`toxicity`]: alert families, QED, and toxicity scores from assay data.

pub mod deadline;
pub mod features;
pub mod measure;
pub mod quantile;
pub mod score;
pub mod solution;
pub mod toxicity;
pub mod units;

/// Round half to even at integer precision, as Python's `round` does (68.5 → 68, 69.5 → 70).
pub fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

pub mod ident;
