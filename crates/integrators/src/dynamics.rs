//! The [`Dynamics`] trait: one time step of an interacting particle system.
//!
//! Randomness is not passed in: each dynamics owns its
//! [`NoiseStreams`](meanfield_measures::NoiseStreams) and draws particle i's noise at step
//! k from the stream keyed by (seed, k, i). That makes a step a pure function of
//! (state, k), which is what lets the [`Runner`](crate::Runner) resume from a checkpoint
//! on the identical path and lets particle loops run on any number of threads.

use meanfield_measures::Ensemble;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::Result;

/// A state that the runner can check for divergence and serialise into checkpoints.
pub trait DynamicsState: Clone + Serialize + DeserializeOwned + Send {
    /// Description of the first non-finite value, if any.
    fn non_finite(&self) -> Option<String>;
}

impl DynamicsState for Ensemble {
    fn non_finite(&self) -> Option<String> {
        self.check_finite().err().map(|e| e.to_string())
    }
}

/// What a step reports besides the new state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepReport {
    /// Physical time advanced by this step (η for a fixed-step scheme).
    pub dt: f64,
    /// Fraction of proposals accepted, for Metropolis-adjusted schemes.
    pub acceptance: Option<f64>,
}

/// One step of a particle dynamics.
pub trait Dynamics {
    /// The evolving state (an [`Ensemble`], or an ensemble plus extra variables).
    type State: DynamicsState;

    /// Identifies the dynamics and its parameters; stored in checkpoints so a checkpoint
    /// is never resumed under different dynamics.
    fn fingerprint(&self) -> String;

    /// Checks once, before a run, that the state fits (dimension, domain).
    fn check_state(&self, state: &Self::State) -> Result<()>;

    /// Advances `state` by step number `step` (0-based: the first step of a run is 0).
    fn step(&mut self, state: &mut Self::State, step: u64) -> Result<StepReport>;
}

/// A boxed dynamics is a dynamics, so a scheme chosen at run time
/// (`Box<dyn Dynamics<State = Ensemble>>`) drives the same [`Runner`](crate::Runner).
impl<D: Dynamics + ?Sized> Dynamics for Box<D> {
    type State = D::State;

    fn fingerprint(&self) -> String {
        (**self).fingerprint()
    }

    fn check_state(&self, state: &Self::State) -> Result<()> {
        (**self).check_state(state)
    }

    fn step(&mut self, state: &mut Self::State, step: u64) -> Result<StepReport> {
        (**self).step(state, step)
    }
}
