//! Chemical toxicity of a permeating CPA as a cost accumulated over time: the toxicity cost
//! function of Benson, Kearsley & Higgins (Cryobiology 64 (2012) 144–151), J = ∫ k dt with a
//! rate that grows as a power of the intracellular CPA concentration, k = k_ref·C^α (they
//! fitted α = 1.6 to published survival data), and the Arrhenius temperature dependence of
//! Davidson et al. (PLOS ONE 10 (2015) e0142828), k(T) = k(T_ref)·exp(−Eₐ/R·(1/T − 1/T_ref)).
//! C is the total intracellular permeant concentration in osmol/L of cell water. With α = 0
//! and k_ref = 1 the cost is the elapsed time, which is how the shortest protocol is designed.

use crate::transport::GAS_CONSTANT_J;
use crate::{PhysicsError, invalid};
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Toxicity {
    /// Rate at 1 osmol/L and the reference temperature, per minute (a scale: the designers'
    /// choices do not depend on it, only the cost's units do).
    pub k_ref_per_min: f64,
    /// Exponent of the concentration (Benson et al. 2012: 1.6).
    pub alpha: f64,
    /// Arrhenius activation energy of the rate, J/mol (0: no temperature dependence).
    pub activation_j_per_mol: f64,
    /// Temperature at which `k_ref_per_min` holds, K.
    pub reference_temperature_k: f64,
}

impl Default for Toxicity {
    fn default() -> Self {
        Toxicity {
            k_ref_per_min: 1.0,
            alpha: 1.6,
            activation_j_per_mol: 0.0,
            reference_temperature_k: 295.15,
        }
    }
}

impl Toxicity {
    /// The cost of time alone: k = 1 per minute whatever the concentration.
    pub fn elapsed_time() -> Toxicity {
        Toxicity {
            alpha: 0.0,
            ..Toxicity::default()
        }
    }

    pub(crate) fn check(&self) -> Result<(), PhysicsError> {
        if !(self.k_ref_per_min.is_finite() && self.k_ref_per_min > 0.0) {
            return Err(invalid("toxicity.k_ref_per_min", "must be > 0"));
        }
        if !(self.alpha.is_finite() && (0.0..=10.0).contains(&self.alpha)) {
            return Err(invalid("toxicity.alpha", "must be in 0..=10"));
        }
        if !(self.activation_j_per_mol.is_finite() && self.activation_j_per_mol.abs() <= 1e6) {
            return Err(invalid(
                "toxicity.activation_j_per_mol",
                "must be finite, at most 1e6 J/mol",
            ));
        }
        if !(self.reference_temperature_k.is_finite() && self.reference_temperature_k > 0.0) {
            return Err(invalid("toxicity.reference_temperature_k", "must be > 0 K"));
        }
        Ok(())
    }

    /// The cost rate at intracellular concentration `c` (osmol/L) and temperature `t_k`.
    pub fn rate(&self, c: f64, t_k: f64) -> f64 {
        let arrhenius = (-self.activation_j_per_mol / GAS_CONSTANT_J
            * (1.0 / t_k - 1.0 / self.reference_temperature_k))
            .exp();
        // 0^0 is 1: with α = 0 the cost is time even before any CPA has entered.
        self.k_ref_per_min * c.max(0.0).powf(self.alpha) * arrhenius
    }
}
