//! # meanfield-integrators
//!
//! Time-stepping schemes for interacting particle systems and the [`Runner`] that drives
//! them. One module per dynamics; all share the [`Dynamics`] trait, the ensemble type of
//! `meanfield-measures` and the [`Functional`](meanfield_energy::Functional) interface.
//!
//! | module | concept |
//! |---|---|
//! | [`cbo`] | consensus-based optimisation (isotropic / anisotropic, α schedules, mini-batches, many runs) |
//! | [`dynamics`] | the [`Dynamics`] trait, step reports, divergence-checkable states |
//! | [`runner`] | [`Runner`], [`Checkpoint`]: observers, budgets, resume |
//! | [`langevin`] | MFLD (Euler–Maruyama) |
//! | [`projected`] | projected MFLD on simplices and boxes |
//! | [`mirror_langevin`] | mirror MFLD (paper's dual Euler scheme) and its Metropolis-adjusted version |

pub mod cbo;
pub mod dynamics;
pub mod error;
pub mod langevin;
pub mod mirror_langevin;
pub mod projected;
pub mod runner;

pub use cbo::{
    AlphaSchedule, Batch, Cbo, CboNoise, CboOutcome, CboParams, CboState, StoppingRule, run_many,
};
pub use dynamics::{Dynamics, DynamicsState, StepReport};
pub use error::{IntegratorError, Result};
pub use langevin::{LangevinParams, Mfld};
pub use mirror_langevin::{
    AdjustedMirrorMfld, FrozenFirstVariation, FrozenPotential, METROPOLIS_STREAM, MirrorMfld,
    MirrorProposal,
};
pub use projected::ProjectedMfld;
pub use runner::{Checkpoint, Control, RunSummary, Runner, StopReason};
