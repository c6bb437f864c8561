//! # meanfield-integrators
//!
//! Time-stepping schemes for interacting particle systems and the [`Runner`] that drives
//! them. One module per dynamics; all share the [`Dynamics`] trait, the ensemble type of
//! `meanfield-measures` and the [`Functional`](meanfield_energy::Functional) interface.
//!
//! | module | concept |
//! |---|---|
//! | [`dynamics`] | the [`Dynamics`] trait, step reports, divergence-checkable states |
//! | [`fisher_rao`] | kernelised Fisher–Rao weight flow (four kernelisations), Euler / exponentiated steps, resampling, WFR |
//! | [`runner`] | [`Runner`], [`Checkpoint`]: observers, budgets, resume |
//! | [`langevin`] | MFLD (Euler–Maruyama) |
//! | [`projected`] | projected MFLD on simplices and boxes |
//! | [`mirror_langevin`] | mirror MFLD (paper's dual Euler scheme) and its Metropolis-adjusted version |

pub mod dynamics;
pub mod error;
pub mod fisher_rao;
pub mod langevin;
pub mod mirror_langevin;
pub mod projected;
pub mod runner;

pub use dynamics::{Dynamics, DynamicsState, StepReport};
pub use error::{IntegratorError, Result};
pub use fisher_rao::{
    FisherRao, GaussianReference, Kernelisation, PositivityGuard, RESAMPLING_STREAM, WeightStep,
};
pub use langevin::{LangevinParams, Mfld};
pub use mirror_langevin::{
    AdjustedMirrorMfld, FrozenFirstVariation, FrozenPotential, METROPOLIS_STREAM, MirrorMfld,
    MirrorProposal,
};
pub use projected::ProjectedMfld;
pub use runner::{Checkpoint, Control, RunSummary, Runner, StopReason};
