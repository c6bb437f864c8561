//! The [`Dynamics`] contract shared by every family: fallible construction from an
//! energy and validated parameters, one way to create the initial state from an
//! ensemble ([`Dynamics::init_state`]), and a step that owns its update and returns a
//! typed per-step [`Dynamics::Info`] (BlackJAX's `step(key, state) -> (state, info)`).
//!
//! Randomness is not carried by the dynamics: the run's seed is given once, where the
//! run starts ([`Checkpoint::start`](crate::Checkpoint::start)), and every step receives
//! a [`StepKey`] (seed, step number). Particle i's noise at step k comes from the stream
//! keyed by (seed, purpose, k, i) ([`StepKey::streams`], purposes in
//! [`meanfield_measures::streams`]). That makes a step a pure function of (state, key),
//! which is what lets the [`Runner`](crate::Runner) resume a checkpoint on the identical
//! path and lets particle loops run on any number of threads.

use std::fmt::Debug;

use std::sync::Arc;

use meanfield_measures::{Collective, Ensemble, NoiseStreams, StepStreams};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::Result;

/// A state that the runner can check for divergence and serialise into checkpoints.
pub trait DynamicsState: Clone + Serialize + DeserializeOwned + Send {
    /// Description of the first non-finite value, if any.
    fn non_finite(&self) -> Option<String>;

    /// The ranks of a distributed run, when the state is one rank's shard
    /// (docs/distributed.md): the [`Runner`](crate::Runner) then agrees with the other
    /// ranks on failures and stops after every step. `None` (the default): single process.
    fn collective(&self) -> Option<Arc<dyn Collective>> {
        None
    }
}

/// A state that can be spread over the ranks of a distributed run and gathered back: the
/// ensemble is split by [`Ensemble::scatter`]; every other variable is global (identical
/// on every rank, because every statistic is a deterministic block reduction).
pub trait DistributedState: DynamicsState {
    /// The global state (every rank's rows in rank order), identical on every rank and to
    /// the single-process state at the same step.
    fn gathered(&self) -> Result<Self>;

    /// This rank's part of a global state.
    fn scattered(&self, collective: Arc<dyn Collective>) -> Result<Self>;
}

impl DynamicsState for Ensemble {
    fn non_finite(&self) -> Option<String> {
        self.check_finite().err().map(|e| e.to_string())
    }

    fn collective(&self) -> Option<Arc<dyn Collective>> {
        self.shard().map(|s| s.collective().clone())
    }
}

impl DistributedState for Ensemble {
    fn gathered(&self) -> Result<Self> {
        Ok(self.gather()?)
    }

    fn scattered(&self, collective: Arc<dyn Collective>) -> Result<Self> {
        Ok(self.scatter(collective)?)
    }
}

/// The global rows of a per-particle companion array of a distributed state (k values
/// per particle, laid out like the rows of `ens`: mirror CBO's dual points, the memories
/// and their values, PSO's velocities, polarised CBO's consensus points): every rank's
/// part in rank order, in one all-gather; `rows` itself in a single process. Memory:
/// k·N doubles per rank.
pub(crate) fn gather_rows(ens: &Ensemble, rows: &[f64]) -> Result<Vec<f64>> {
    Ok(meanfield_measures::Reducer::of(ens).gather(rows)?.concat())
}

/// This rank's rows of a global companion array with `k` values per particle, for the
/// shard `ens` (already scattered; [`gather_rows`] in reverse). An empty array stays
/// empty (a state before its first step).
///
/// # Errors
/// [`crate::IntegratorError::IncompatibleState`] when `rows` does not have k·N values.
pub(crate) fn scatter_rows(ens: &Ensemble, rows: &[f64], k: usize, what: &str) -> Result<Vec<f64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let n = ens.global_n();
    if rows.len() != n * k {
        return Err(crate::IntegratorError::IncompatibleState(format!(
            "{what} has {} values, need {k}·N = {}",
            rows.len(),
            n * k
        )));
    }
    let first = ens.first_index() as usize;
    Ok(rows[first * k..(first + ens.n()) * k].to_vec())
}

/// The randomness of one step: the run's seed and the step number (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepKey {
    seed: u64,
    step: u64,
}

impl StepKey {
    /// The key of step `step` of the run with seed `seed`.
    pub fn new(seed: u64, step: u64) -> Self {
        Self { seed, step }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The step number (0-based: the first step of a run is 0).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The streams of this step for `purpose`: particle i draws from
    /// `self.streams(purpose).rng(i)`.
    pub fn streams(&self, purpose: u64) -> StepStreams {
        NoiseStreams::new(self.seed, purpose).at_step(self.step)
    }

    /// The run's whole stream family for `purpose`, for draws keyed by something other
    /// than the step (e.g. CBO's per-epoch batch permutation).
    pub fn family(&self, purpose: u64) -> NoiseStreams {
        NoiseStreams::new(self.seed, purpose)
    }
}

/// What every step reports besides the new state; the quantities a family does not
/// compute are `None`. The generic stop criteria ([`crate::Stop`]) read these.
pub trait StepInfo: Clone + Debug + Send {
    /// Physical time advanced by this step (η for a fixed-step scheme).
    fn dt(&self) -> f64;

    /// Fraction of proposals accepted (Metropolis-adjusted schemes).
    fn acceptance(&self) -> Option<f64> {
        None
    }

    /// The energy the step evaluated (CBO: the smallest objective value of the batch).
    fn energy(&self) -> Option<f64> {
        None
    }

    /// Effective sample size 1/Σ W² of the weights after the step (weighted families).
    fn ess(&self) -> Option<f64> {
        None
    }

    /// How far the family's tracked iterate moved in this step, in the sup norm (CBO:
    /// the consensus point; particle EM: θ).
    fn change(&self) -> Option<f64> {
        None
    }
}

/// One family of interacting particle dynamics (module docs).
pub trait Dynamics {
    /// The evolving state (an [`Ensemble`], or an ensemble plus extra variables).
    type State: DynamicsState;
    /// What a step reports (acceptance, log|det|, ESS, consensus energy, …).
    type Info: StepInfo;

    /// Identifies the dynamics and every parameter that changes its path, the energy's
    /// included; stored in checkpoints so a checkpoint is never resumed under different
    /// dynamics.
    fn fingerprint(&self) -> String;

    /// Checks once, before a run, that the state fits (dimension, domain, extra
    /// variables).
    fn check_state(&self, state: &Self::State) -> Result<()>;

    /// The initial state of a run with seed `seed` from the particle ensemble; the
    /// family's extra variables (momenta, θ, α, weights) get the defaults its docs give.
    /// The result passes [`Dynamics::check_state`].
    fn init_state(&self, ensemble: Ensemble, seed: u64) -> Result<Self::State>;

    /// Advances `state` by the step `key.step()` of the run with seed `key.seed()`.
    fn step(&mut self, key: StepKey, state: &mut Self::State) -> Result<Self::Info>;

    /// A [`Runner`](crate::Runner) for this dynamics' state and info types, running
    /// until `total_steps` (saves spelling the types in observers' signatures).
    fn runner<'a>(&self, total_steps: u64) -> crate::Runner<'a, Self::State, Self::Info>
    where
        Self: Sized,
    {
        crate::Runner::new(total_steps)
    }
}

/// Forwards every method of [`Dynamics`] through a pointer type.
macro_rules! forward_dynamics {
    ($ptr:ty) => {
        impl<D: Dynamics + ?Sized> Dynamics for $ptr {
            type State = D::State;
            type Info = D::Info;

            fn fingerprint(&self) -> String {
                (**self).fingerprint()
            }

            fn check_state(&self, state: &Self::State) -> Result<()> {
                (**self).check_state(state)
            }

            fn init_state(&self, ensemble: Ensemble, seed: u64) -> Result<Self::State> {
                (**self).init_state(ensemble, seed)
            }

            fn step(&mut self, key: StepKey, state: &mut Self::State) -> Result<Self::Info> {
                (**self).step(key, state)
            }
        }
    };
}

// A boxed dynamics is a dynamics, so a scheme chosen at run time
// (`Box<dyn Dynamics<State = Ensemble, Info = LangevinInfo>>`) drives the same runner;
// `&mut D` lets helpers drive a borrowed dynamics.
forward_dynamics!(Box<D>);
forward_dynamics!(&mut D);
