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
//! | [`fisher_rao`] | kernelised Fisher–Rao weight flow (four kernelisations), Euler / exponentiated steps, resampling, WFR |
//! | [`runner`] | [`Runner`], [`Checkpoint`]: observers, budgets, resume |
//! | [`langevin`] | MFLD (Euler–Maruyama) |
//! | [`mgdm`] | MGDM and MF-MGDM (coupling groups, positivity projection) with exact log|det| by the determinant lemma |
//! | [`projected`] | projected MFLD on simplices and boxes |
//! | [`particle_em`] | particle EM for latent-variable models: PGD and Momentum Particle Descent (MPD) |
//! | [`mirror_langevin`] | mirror MFLD (paper's dual Euler scheme) and its Metropolis-adjusted version |

pub mod cbo;
pub mod dynamics;
pub mod error;
pub mod fisher_rao;
pub mod langevin;
pub mod mgdm;
pub mod mirror_langevin;
pub mod particle_em;
pub mod projected;
pub mod runner;

pub use cbo::{
    AlphaSchedule, Batch, Cbo, CboNoise, CboOutcome, CboParams, CboState, StoppingRule, run_many,
};
pub use dynamics::{Dynamics, DynamicsState, StepReport};
pub use error::{IntegratorError, Result};
pub use fisher_rao::{
    FisherRao, GaussianReference, Kernelisation, PositivityGuard, RESAMPLING_STREAM, WeightStep,
};
pub use langevin::{LangevinParams, Mfld};
pub use mgdm::{Coupling, Mgdm, MgdmParams, MgdmStepReport};
pub use mirror_langevin::{
    AdjustedMirrorMfld, FrozenFirstVariation, FrozenPotential, METROPOLIS_STREAM, MirrorMfld,
    MirrorProposal,
};
pub use particle_em::{LatentState, Momenta, Mpd, MpdNoise, MpdParams, Pgd, PgdParams};
pub use projected::ProjectedMfld;
pub use runner::{Checkpoint, Control, RunSummary, Runner, StopReason};
