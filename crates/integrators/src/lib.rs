//! # meanfield-integrators
//!
//! Time-stepping schemes for interacting particle systems and the [`Runner`] that drives
//! them. One module per dynamics; all share the [`Dynamics`] trait, the ensemble type of
//! `meanfield-measures` and the [`Functional`](meanfield_energy::Functional) interface.
//!
//! | module | concept |
//! |---|---|
//! | [`cbo`] | consensus-based optimisation (isotropic / anisotropic, α schedules, mini-batches, many runs) and consensus-based sampling ([`cbo::cbs`]) |
//! | [`dynamics`] | the [`Dynamics`] contract: construction, [`Dynamics::init_state`], `step(key, state) -> Info`, [`StepInfo`], [`StepKey`] |
//! | [`fisher_rao`] | kernelised Fisher–Rao weight flow (four kernelisations), Euler / exponentiated steps, resampling, WFR |
//! | [`runner`] | the one [`Runner`] (stop criteria, observers, budgets), [`Checkpoint`] (resume), [`run_many`] (replicas) |
//! | [`langevin`] | MFLD (Euler–Maruyama) |
//! | [`mgdm`] | MGDM and MF-MGDM (coupling groups, positivity projection) with exact log|det| by the determinant lemma |
//! | [`projected`] | projected MFLD on simplices and boxes |
//! | [`particle_em`] | particle EM for latent-variable models: PGD, PQN, PMGD (ParEM) and Momentum Particle Descent (MPD) |
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
    AlphaSchedule, BallProjection, Batch, Cbo, CboInfo, CboMemory, CboMemoryParams, CboMemoryState,
    CboMirrorMap, CboNoise, CboOutcome, CboParams, CboState, Cbs, CbsMode, CbsParams, CbsScheme,
    ConstrainedCbo, ConstrainedCboParams, ConstraintScheme, CovarianceRoot, ElasticNet,
    Hypersurface, KernelScale, MirrorCbo, MirrorCboState, PolarCbo, PolarCboParams, PolarCboState,
    Pso, PsoParams, PsoState, StoppingRule,
};
pub use dynamics::{DistributedState, Dynamics, DynamicsState, StepInfo, StepKey};
pub use error::{IntegratorError, ObserverError, Result, SharedError};
pub use fisher_rao::{
    FisherRao, FisherRaoInfo, FisherRaoParams, GaussianReference, Kernelisation, PositivityGuard,
    WeightStep,
};
pub use langevin::{LangevinInfo, LangevinParams, Mfld};
pub use mgdm::{
    Coupling, KlRecorder, Mgdm, MgdmInfo, MgdmParams, MgdmRun, feature_mean, log_density_sum,
    path_feature_mean, run_with_trace, sample_paths,
};
pub use mirror_langevin::{
    AdjustedMirrorMfld, FrozenFirstVariation, FrozenPotential, MirrorMfld, MirrorProposal,
};
pub use particle_em::{
    LatentState, Momenta, Mpd, MpdNoise, MpdParams, ParticleEmInfo, Pgd, PgdParams, Pmgd,
    PmgdParams, Pqn,
};
pub use projected::ProjectedMfld;
pub use runner::{
    CHECKPOINT_FORMAT, Checkpoint, Control, EnergyBelow, EssBelow, MAX_CHECKPOINT_STEP,
    Observation, ObserverResult, Predicate, RunSummary, Runner, Stagnation, Stop, StopCriterion,
    StopReason, run_many,
};
