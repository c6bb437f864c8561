//! # meanfield
//!
//! Interacting particle systems that approximate mean-field gradient flows: mean-field
//! Langevin (plain, projected, mirror), Fisher–Rao reweighting, microcanonical gradient
//! descent, particle EM and consensus-based optimisation, all on one [`Ensemble`] type,
//! one [`Functional`] interface, one [`Runner`] and one set of diagnostics.
//!
//! This facade re-exports the workspace crates; depend on it rather than on the parts.
//!
//! ```
//! use meanfield::prelude::*;
//!
//! // MFLD on F(μ) = ∫|x|²/2 dμ + (κ/2)|E x − b|², whose minimiser of F + λ Ent is
//! // N(κb/(1+κ), λI).
//! let f = QuadraticInteraction::new(1.0, vec![1.0, -1.0])?;
//! let params = LangevinParams::new(0.5, 0.05, 42)?;
//! let mut dynamics = Mfld::new(f, params);
//! let start = Ensemble::from_fn(2_000, 2, Domain::Euclidean, |_, x| x.fill(2.0))?;
//! let mut state = Checkpoint::start(&dynamics, start);
//! Runner::new(400).run(&mut dynamics, &mut state)?;
//! let m = state.state.mean();
//! assert!((m[0] - 0.5).abs() < 0.1 && (m[1] + 0.5).abs() < 0.1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use meanfield_diagnostics as diagnostics;
pub use meanfield_energy as energy;
pub use meanfield_experiments as experiments;
pub use meanfield_integrators as integrators;
pub use meanfield_linalg as linalg;
pub use meanfield_measures as measures;

pub use meanfield_energy::Functional;
pub use meanfield_integrators::{Checkpoint, Dynamics, Runner};
pub use meanfield_measures::{Domain, Ensemble, MirrorMap, Weights};

/// The names most programs need.
pub mod prelude {
    pub use meanfield_energy::{Functional, QuadraticInteraction, SimplexMoment};
    pub use meanfield_energy::{LatentModel, latent::HierarchicalGaussian};
    pub use meanfield_energy::{Objective, TestFunction};
    pub use meanfield_integrators::{Cbo, CboNoise, CboParams, StoppingRule};
    pub use meanfield_integrators::{
        Checkpoint, Control, Dynamics, LangevinParams, Mfld, Runner, StopReason,
    };
    pub use meanfield_integrators::{LatentState, Mpd, MpdParams, Pgd, PgdParams};
    pub use meanfield_measures::{
        BoxBounds, Domain, Ensemble, Entropic, Identity, LogBarrier, MirrorMap, NoiseStreams,
        Parallelism, Weights,
    };
}
