//! The physics a CPA loading or unloading protocol rests on, with no I/O: the two-parameter
//! membrane transport model (Jacobs–Stewart; Kleinhans, Cryobiology 37 (1998) 271–289) for
//! water and any number of permeating solutes, with non-permeating solutes outside, the
//! osmotically inactive volume (Boyle–van't Hoff) and Arrhenius temperature dependence, solved
//! by an L-stable Rosenbrock integrator with error control ([`ode`]); a toxicity cost
//! integrated along the way ([`toxicity`]); protocol designers that keep the cell within its
//! osmotic limits ([`design`]); and least-squares fits of the transport parameters to a
//! measured volume curve ([`fit`]).
//!
//! Units are fixed and carried in the field names: volumes in µm³, areas in µm², time in
//! minutes, concentrations and osmolalities in osmol/kg water (dilute: osmol/L), hydraulic
//! conductivity Lp in µm·min⁻¹·atm⁻¹, solute permeability Ps in µm·min⁻¹, temperatures in K,
//! activation energies in J/mol.

pub mod design;
pub mod fit;
pub mod ode;
pub mod toxicity;
pub mod transport;

pub use ode::{Solution, Tolerance};
pub use toxicity::Toxicity;
pub use transport::{
    Cell, Endpoint, Medium, Permeant, Protocol, Run, Start, Step, Trajectory, relative_volumes_at,
    simulate, simulate_with,
};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhysicsError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error(
        "the integrator could not meet the tolerance (step size fell to {step:e} min at t = {at} min)"
    )]
    StepTooSmall { step: f64, at: f64 },
    #[error("more than {0} integration steps; loosen the tolerance or shorten the protocol")]
    TooManySteps(usize),
    #[error(
        "the cell volume left the physical range (water volume {water_um3} µm³ at t = {at} min)"
    )]
    Unphysical { water_um3: f64, at: f64 },
    #[error(transparent)]
    Expired(#[from] cryo_core::deadline::Expired),
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> PhysicsError {
    PhysicsError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}
