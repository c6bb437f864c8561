//! # meanfield
//!
//! Interacting particle systems that approximate mean-field gradient flows: mean-field
//! Langevin (plain, projected, mirror, Metropolis-adjusted mirror), kernelised
//! Fisher–Rao reweighting, microcanonical gradient descent (MGDM / MF-MGDM), particle EM
//! (PGD, MPD) and consensus-based optimisation (CBO), all on one [`Ensemble`] type and
//! one [`Dynamics`] contract driven by one [`Runner`].
//!
//! This facade re-exports the library crates; depend on it rather than on the parts.
//! The paper reproductions (`meanfield-experiments`, `cargo xtask reproduce`) are not
//! part of it.
//!
//! Every family is used the same way: build the dynamics from an energy and validated
//! parameters, start a [`Checkpoint`] from an ensemble and a seed, and run it:
//!
//! ```
//! use meanfield::prelude::*;
//!
//! // MFLD on F(μ) = ∫|x|²/2 dμ + (κ/2)|E x − b|², whose minimiser of F + λ Ent is
//! // N(κb/(1+κ), λI).
//! let f = QuadraticInteraction::new(1.0, vec![1.0, -1.0])?;
//! let mut dynamics = Mfld::new(f, LangevinParams::new(0.5, 0.05)?)?; // λ, η
//! let start = Ensemble::from_fn(2_000, 2, Domain::Euclidean, |_, x| x.fill(2.0))?;
//! let mut run = Checkpoint::start(&dynamics, start, 42)?;             // seed 42
//! dynamics.runner(400).run(&mut dynamics, &mut run)?;                 // 400 steps
//! let m = run.state.mean();
//! assert!((m[0] - 0.5).abs() < 0.1 && (m[1] + 0.5).abs() < 0.1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Runnable programs, one per family on a user-defined energy, are in `examples/`
//! (`cargo run -p meanfield --example mfld_double_well`).

pub use meanfield_diagnostics as diagnostics;
pub use meanfield_energy as energy;
pub use meanfield_integrators as integrators;
pub use meanfield_linalg as linalg;
pub use meanfield_measures as measures;

pub use meanfield_energy::Functional;
pub use meanfield_integrators::{Checkpoint, Dynamics, Runner};
pub use meanfield_measures::{Domain, Ensemble, MirrorMap, Weights};

/// The names most programs need: the contract, the runner, every family with its
/// parameters and step info, the energy traits and the measures.
pub mod prelude {
    pub use meanfield_diagnostics::ReverseKlTrace;
    pub use meanfield_energy::process::{ArProcess, CirProcess, StandardGaussian};
    pub use meanfield_energy::{
        Acf1, EnergyError, FeatureMap, Fingerprint, Functional, LatentModel, LinearPotential,
        MeanInteraction, MultiLagAcf, Objective, PathLaw, QuadraticInteraction, SimplexMoment,
        TestFunction, latent::HierarchicalGaussian,
    };
    pub use meanfield_integrators::{
        AdjustedMirrorMfld, AlphaSchedule, Batch, Cbo, CboInfo, CboNoise, CboOutcome, CboParams,
        CboState, Checkpoint, Control, Coupling, Dynamics, FisherRao, FisherRaoInfo,
        FisherRaoParams, FrozenFirstVariation, FrozenPotential, GaussianReference, IntegratorError,
        Kernelisation, LangevinInfo, LangevinParams, LatentState, Mfld, Mgdm, MgdmInfo, MgdmParams,
        MirrorMfld, Mpd, MpdParams, Observation, ObserverResult, ParticleEmInfo, Pgd, PgdParams,
        PositivityGuard, ProjectedMfld, RunSummary, Runner, StepInfo, StepKey, Stop, StopReason,
        StoppingRule, WeightStep, run_many,
    };
    pub use meanfield_measures::{
        BoxBounds, Domain, Ensemble, Entropic, Identity, InitialLaw, Kernel, LogBarrier, MirrorMap,
        NoiseStreams, Parallelism, Weights, replicate_seed, streams,
    };
}
