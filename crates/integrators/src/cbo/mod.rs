//! Consensus-based optimisation (CBO): N particles minimise f: R^d → R without gradients
//! by drifting towards the Gibbs-weighted consensus point and exploring around it.
//!
//! One step k (Euler–Maruyama, CBXpy's order):
//! 1. f_i = f(X^i_k) on the particles of the step's batch (all by default);
//! 2. v_α = Σ w_i X^i / Σ w_i, w_i = exp(−α_k f_i), in log space ([`consensus()`]);
//! 3. for every moving particle, with D^i = X^i − v_α and ξ^i ~ N(0, I_d):
//!    - anisotropic: X^i ← X^i − λ dt D^i + σ √dt D^i ⊙ ξ^i,
//!    - isotropic:   X^i ← X^i − λ dt D^i + σ √dt |D^i|₂ ξ^i;
//! 4. the best particle seen so far is updated from the f_i of step 1;
//! 5. α_{k+1} = schedule(α_k, f) ([`schedule`]).
//!
//! The noise ξ is an N × d array of standard normals. [`Dynamics::step`] draws it from
//! the run's streams (row i from the stream of (seed, [`streams::CBO_NOISE`], step,
//! particle i), so any thread count gives the same bits); [`Cbo::step_with_noise`] runs
//! the same code on externally supplied noise (the golden-value test feeds it CBXpy's
//! own random numbers).
//!
//! Mini-batched consensus (CBXpy's `batch_args`): the particle indices are shuffled
//! once per epoch (a permutation drawn from the stream of (seed, epoch)); step k uses
//! the ⌊N/B⌋-th part of it, so the batch is a pure function of (seed, k). Only the batch
//! is evaluated; with `partial` only the batch moves, otherwise every particle drifts
//! towards the batch consensus.
//!
//! Variants of the consensus family live beside it, one module each, sharing the
//! log-space consensus, the α schedules, [`CboState`] / [`CboInfo`] and the stopping
//! presets: [`cbs`] (consensus-based sampling), [`polar`] (polarised CBO: kernel-localised
//! consensus per particle, several minimisers per run), [`memory`] (CBO with personal bests),
//! [`pso`] (particle swarm optimisation: memory and inertia), [`mirror`] (mirror CBO: the
//! scheme in the dual coordinates of a mirror map), [`constrained`] (drift-constrained and
//! hypersurface CBO on a sphere or a hyperplane).
//!
//! Runs are driven by the crate's one [`Runner`](crate::Runner); [`StoppingRule`] is the
//! CBXpy-style preset of stop criteria (step cap, `energy_tol`, consensus stagnation),
//! [`Cbo::run`] runs one checkpoint to a [`CboOutcome`], and [`run_replicas`] runs many
//! independent ones through the generic [`run_many`](crate::run_many) (rayon across
//! runs, each run its own streams: results independent of the thread count).

pub mod cbs;
pub mod consensus;
pub mod constrained;
pub mod memory;
pub mod mirror;
pub mod polar;
pub mod pso;
pub mod schedule;

use meanfield_energy::Objective;
use meanfield_measures::parallel::for_each_chunk_mut;
use meanfield_measures::{
    Collective, Domain, Ensemble, NoiseStreams, Parallelism, Reducer, StepStreams, streams,
};
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::runner::{Checkpoint, RunSummary, Runner, Stop, StopReason};

pub use cbs::{Cbs, CbsMode, CbsParams, CbsScheme, CovarianceRoot};
pub use consensus::{
    ConsensusStats, consensus, consensus_into, consensus_with, effective_sample_size,
    effective_sample_size_with,
};
pub use constrained::{ConstrainedCbo, ConstrainedCboParams, ConstraintScheme, Hypersurface};
pub use memory::{CboMemory, CboMemoryParams, CboMemoryState};
pub use mirror::{BallProjection, CboMirrorMap, ElasticNet, MirrorCbo, MirrorCboState};
pub use polar::{Cluster, KernelScale, PolarCbo, PolarCboParams, PolarCboState, cluster_points};
pub use pso::{Pso, PsoParams, PsoState};
pub use schedule::AlphaSchedule;

use crate::dynamics::{Dynamics, DynamicsState, StepInfo, StepKey};
use crate::error::{
    IntegratorError, Result, check_at_least_one, check_non_negative, check_positive,
};

/// Minimum particles per rayon task in the energy evaluation.
const MIN_ROWS_PER_TASK: usize = 256;

/// Shape of the exploration noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CboNoise {
    /// σ √dt |X − v|₂ ξ: one scale for all coordinates.
    Isotropic,
    /// σ √dt (X − v) ⊙ ξ: coordinate-wise scale (dimension-robust, Carrillo et al. 2021).
    Anisotropic,
    /// σ √(2 dt / λ_mode) C_α^{1/2} ξ with the weighted covariance
    /// C_α = Σ_i ŵ_i (X^i − v)(X^i − v)ᵀ of the consensus weights ŵ (CBS's noise, CBXpy's
    /// `covariance` noise): λ_mode = 1 ([`CbsMode::Optimization`]) or 1/(1 + α)
    /// ([`CbsMode::Sampling`], CBXpy's default). C^{1/2} is the symmetric root
    /// ([`CovarianceRoot::Symmetric`]). Plain CBO only, without mini-batches.
    Covariance(CbsMode),
}

/// Mini-batched consensus (CBXpy `batch_args = {size, partial}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Particles per batch B (1 ≤ B ≤ N; B = N is unbatched).
    pub size: usize,
    /// Only the batch moves (true, CBXpy's default) or every particle does (false).
    pub partial: bool,
}

/// Parameters of CBO, validated: [`CboParams::new`] with λ, σ and dt, then options.
/// Defaults: α₀ = 1 held constant ([`AlphaSchedule::Constant`]), anisotropic noise, no
/// mini-batching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CboParams {
    lambda: f64,
    sigma: f64,
    dt: f64,
    alpha: f64,
    schedule: AlphaSchedule,
    noise: CboNoise,
    batch: Option<Batch>,
}

impl CboParams {
    /// The parameters every consensus variant's fingerprint names, in one order:
    /// `noise=…, lambda=…, sigma=…, dt=…, alpha=…, schedule=…` (the batch is CBO's own).
    pub(crate) fn fingerprint_fields(&self) -> String {
        format!(
            "noise={:?}, lambda={:e}, sigma={:e}, dt={:e}, alpha={:e}, schedule={:?}",
            self.noise, self.lambda, self.sigma, self.dt, self.alpha, self.schedule
        )
    }

    /// Drift strength λ ≥ 0, noise strength σ ≥ 0 and time step dt > 0.
    pub fn new(lambda: f64, sigma: f64, dt: f64) -> Result<Self> {
        Ok(Self {
            lambda: check_non_negative("lambda", lambda)?,
            sigma: check_non_negative("sigma", sigma)?,
            dt: check_positive("dt", dt)?,
            alpha: 1.0,
            schedule: AlphaSchedule::Constant,
            noise: CboNoise::Anisotropic,
            batch: None,
        })
    }

    /// The CBO benchmark protocol's anisotropic settings: λ = 1, σ = 10.1, dt = 0.01,
    /// α₀ = 30 with CBXpy's ×1.05 schedule capped at 1e5, no batching.
    pub fn anisotropic_benchmark() -> Self {
        Self {
            lambda: 1.0,
            sigma: 10.1,
            dt: 0.01,
            alpha: 30.0,
            schedule: AlphaSchedule::cbxpy_default(),
            noise: CboNoise::Anisotropic,
            batch: None,
        }
    }

    /// Initial inverse temperature α₀ ≥ 0.
    pub fn with_alpha(mut self, alpha: f64) -> Result<Self> {
        self.alpha = consensus::check_alpha(alpha)?;
        Ok(self)
    }

    /// How α evolves.
    pub fn with_schedule(mut self, schedule: AlphaSchedule) -> Result<Self> {
        schedule.validate()?;
        self.schedule = schedule;
        Ok(self)
    }

    /// Noise shape.
    #[must_use]
    pub fn with_noise(mut self, noise: CboNoise) -> Self {
        self.noise = noise;
        self
    }

    /// Mini-batched consensus (batch size ≥ 1; `None`: full consensus).
    pub fn with_batch(mut self, batch: Option<Batch>) -> Result<Self> {
        if let Some(b) = batch {
            check_at_least_one("batch size", b.size as u64)?;
        }
        self.batch = batch;
        Ok(self)
    }

    /// Drift strength λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Noise strength σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Time step dt.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Initial inverse temperature α₀.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The α schedule.
    pub fn schedule(&self) -> AlphaSchedule {
        self.schedule
    }

    /// The noise shape.
    pub fn noise(&self) -> CboNoise {
        self.noise
    }

    /// The mini-batching.
    pub fn batch(&self) -> Option<Batch> {
        self.batch
    }
}

/// The evolving state of a CBO run (shared by the consensus variants, e.g. [`Cbs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CboState {
    /// The particles.
    pub ensemble: Ensemble,
    /// α for the next step.
    pub alpha: f64,
    /// Consensus point of the last step (empty before the first step).
    pub consensus: Vec<f64>,
    /// ‖v_k − v_{k−1}‖_∞ (∞ until two steps are done).
    #[serde(with = "extended_f64")]
    pub consensus_change: f64,
    /// Best particle evaluated so far.
    pub best_x: Vec<f64>,
    /// Its objective value (+∞ before the first step).
    #[serde(with = "extended_f64")]
    pub best_f: f64,
    /// Smallest objective value of the last step's batch (+∞ before the first step).
    #[serde(with = "extended_f64")]
    pub f_min: f64,
    /// Objective evaluations so far; saturates at `u64::MAX` (a checkpoint may carry any
    /// count, and a counter must not overflow: fuzz target `checkpoint`).
    pub evaluations: u64,
}

impl CboState {
    /// A fresh state at `ensemble` with inverse temperature `alpha`.
    pub fn new(ensemble: Ensemble, alpha: f64) -> Self {
        Self {
            ensemble,
            alpha,
            consensus: Vec::new(),
            consensus_change: f64::INFINITY,
            best_x: Vec::new(),
            best_f: f64::INFINITY,
            f_min: f64::INFINITY,
            evaluations: 0,
        }
    }
}

impl CboState {
    /// Step 4 of the module docs: the step's smallest energy `stats.f_min` (of the
    /// positions before the move, ensemble row `argmin`) becomes `f_min`, and the best
    /// particle if it improves on it.
    pub(crate) fn record_best(&mut self, stats: &ConsensusStats, argmin: usize) {
        let row = self.ensemble.particle(argmin).to_vec();
        self.record_best_row(stats, &row);
    }

    /// [`CboState::record_best`] with the minimiser's row given (in a distributed run it
    /// may live on another rank: [`consensus_with`] returns it).
    pub(crate) fn record_best_row(&mut self, stats: &ConsensusStats, row: &[f64]) {
        self.f_min = stats.f_min;
        if stats.f_min < self.best_f {
            self.best_f = stats.f_min;
            self.best_x.clear();
            self.best_x.extend_from_slice(row);
        }
    }

    /// Step 5 of the module docs: stores the step's consensus point `v` and
    /// ‖v_k − v_{k−1}‖_∞ (∞ at the first step).
    pub(crate) fn record_consensus(&mut self, v: &[f64]) {
        self.consensus_change = if self.consensus.len() == v.len() {
            self.consensus
                .iter()
                .zip(v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        } else {
            f64::INFINITY
        };
        self.consensus.clear();
        self.consensus.extend_from_slice(v);
    }
}

/// The state check of every consensus dynamics: particles in R^d with d the objective's
/// dimension, α finite and ≥ 0.
pub(crate) fn check_consensus_state(state: &CboState, dim: usize) -> Result<()> {
    let ens = &state.ensemble;
    if ens.dim() != dim {
        return Err(IntegratorError::IncompatibleState(format!(
            "ensemble has dimension {}, the objective expects {dim}",
            ens.dim(),
        )));
    }
    if *ens.domain() != Domain::Euclidean {
        return Err(IntegratorError::IncompatibleState(format!(
            "consensus dynamics run on R^d; this ensemble lives on the {} domain",
            ens.domain().name()
        )));
    }
    consensus::check_alpha(state.alpha)?;
    Ok(())
}

/// Calls `f(i, a_i, b_i)` for row i of two row-major arrays with `d` columns (a particle
/// and its companion: velocity, dual point), on the rayon pool when asked. Each call writes
/// only its own rows, so the thread count cannot change a bit.
pub(crate) fn for_each_row_pair_mut<F>(
    par: Parallelism,
    a: &mut [f64],
    b: &mut [f64],
    d: usize,
    f: F,
) where
    F: Fn(usize, &mut [f64], &mut [f64]) + Send + Sync,
{
    match par {
        Parallelism::Sequential => a
            .chunks_exact_mut(d)
            .zip(b.chunks_exact_mut(d))
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y)),
        Parallelism::Rayon => a
            .par_chunks_exact_mut(d)
            .zip(b.par_chunks_exact_mut(d))
            .enumerate()
            .with_min_len(MIN_ROWS_PER_TASK)
            .for_each(|(i, (x, y))| f(i, x, y)),
    }
}

/// An `IncompatibleState` from the consensus of step `step` (all weights zero, …) is a
/// divergence at step `step + 1`.
pub(crate) fn diverged_at(step: u64) -> impl Fn(IntegratorError) -> IntegratorError + Copy {
    move |e| match e {
        IntegratorError::IncompatibleState(reason) => IntegratorError::Diverged {
            step: step + 1,
            reason,
        },
        e => e,
    }
}

/// The step skeleton of the variants that take one consensus over the whole ensemble and
/// then move each particle their own way (CBS, mirror CBO, constrained CBO): the buffers,
/// "evaluate, consensus, best particle" before the move and "consensus bookkeeping, α"
/// after it, so that only the move differs between them.
#[derive(Debug, Default, Clone)]
pub(crate) struct ConsensusStep {
    /// f at the particles (positions before the move).
    pub(crate) energies: Vec<f64>,
    /// The shifted consensus weights e^{−α(f_i − f_min)}.
    pub(crate) weights: Vec<f64>,
    /// v_α.
    pub(crate) consensus: Vec<f64>,
    /// The minimising particle's row (it may live on another rank).
    pub(crate) best_row: Vec<f64>,
}

impl ConsensusStep {
    /// Steps 1, 2 and 4 of the module docs on every particle: f_i (N evaluations), v_α in
    /// log space (a non-finite v_α or all weights zero → `Diverged { step + 1 }`), and the
    /// best particle from these f_i. The sums are block reductions over every particle
    /// of the run ([`consensus_with`]: all ranks' for a shard; the single-process bits
    /// are those of [`consensus_into`]).
    pub(crate) fn before_move<O: Objective>(
        &mut self,
        par: Parallelism,
        objective: &O,
        state: &mut CboState,
        step: u64,
    ) -> Result<ConsensusStats> {
        let (n, d) = (state.ensemble.n(), state.ensemble.dim());
        self.energies.resize(n, 0.0);
        self.weights.resize(n, 0.0);
        self.consensus.resize(d, 0.0);
        self.best_row.resize(d, 0.0);
        let reducer = Reducer::of(&state.ensemble).with_parallelism(par);
        let xs = state.ensemble.as_slice();
        eval_energies(par, objective, xs, d, &mut self.energies);
        let stats = consensus_with(
            &reducer,
            xs,
            d,
            &self.energies,
            state.alpha,
            &mut self.weights,
            &mut self.consensus,
            &mut self.best_row,
        )
        .map_err(diverged_at(step))?;
        state.evaluations = state.evaluations.saturating_add(reducer.global_n(n) as u64);
        check_consensus_finite(&self.consensus, step)?;
        state.record_best_row(&stats, &self.best_row);
        Ok(stats)
    }

    /// Step 5 after the move: the consensus bookkeeping and α_{k+1} = schedule(α_k, f), and
    /// the step's report (α_k = `alpha`).
    pub(crate) fn after_move(
        &self,
        state: &mut CboState,
        schedule: AlphaSchedule,
        dt: f64,
        alpha: f64,
        stats: ConsensusStats,
    ) -> Result<CboInfo> {
        state.record_consensus(&self.consensus);
        let reducer = Reducer::of(&state.ensemble);
        state.alpha = schedule.next_with(&reducer, alpha, &self.energies)?;
        Ok(CboInfo {
            dt,
            alpha,
            stats,
            consensus_change: state.consensus_change,
        })
    }
}

/// The variants with a per-particle move (memory, PSO, polarised) take the isotropic or
/// anisotropic noise only: the covariance noise is plain CBO's.
pub(crate) fn check_per_particle_noise(params: &CboParams) -> Result<()> {
    if let CboNoise::Covariance(_) = params.noise {
        return Err(IntegratorError::InvalidParameter {
            name: "noise",
            value: f64::NAN,
            reason: "the covariance noise is plain CBO's (its move needs the ensemble's C_α); \
                     this variant takes the isotropic or anisotropic noise",
        });
    }
    Ok(())
}

/// A non-finite consensus coordinate is a divergence at step `step + 1`.
pub(crate) fn check_consensus_finite(v: &[f64], step: u64) -> Result<()> {
    match v.iter().position(|v| !v.is_finite()) {
        Some(k) => Err(IntegratorError::Diverged {
            step: step + 1,
            reason: format!("consensus coordinate {k} is {}", v[k]),
        }),
        None => Ok(()),
    }
}

/// Serialises ±∞ (JSON has no infinities) as the strings `"inf"` / `"-inf"`, so that a
/// checkpoint taken before the first steps (best value +∞) round-trips; NaN is rejected
/// on load.
mod extended_f64 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else if *v < 0.0 {
            s.serialize_str("-inf")
        } else {
            s.serialize_str("nan")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(v),
            Repr::Text(t) if t == "inf" => Ok(f64::INFINITY),
            Repr::Text(t) if t == "-inf" => Ok(f64::NEG_INFINITY),
            Repr::Text(t) => Err(D::Error::custom(format!("not a number or ±inf: {t:?}"))),
        }
    }
}

/// [`DynamicsState`] and [`DistributedState`](crate::dynamics::DistributedState) for a
/// variant's state that is a [`CboState`] (`cbo`) plus one companion array with d values
/// per particle (`$rows`, split over the ranks like the particles): finiteness of both,
/// CBO's collective, the rows gathered and scattered with CBO's state.
macro_rules! cbo_state_with_rows {
    ($state:ty, $rows:ident, $label:literal, $what:literal) => {
        impl $crate::dynamics::DynamicsState for $state {
            fn non_finite(&self) -> Option<String> {
                self.cbo
                    .non_finite()
                    .or_else(|| $crate::cbo::non_finite_coordinate($label, &self.$rows))
            }

            fn collective(&self) -> Option<std::sync::Arc<dyn meanfield_measures::Collective>> {
                self.cbo.collective()
            }
        }

        impl $crate::dynamics::DistributedState for $state {
            fn gathered(&self) -> $crate::error::Result<Self> {
                Ok(Self {
                    cbo: self.cbo.gathered()?,
                    $rows: $crate::dynamics::gather_rows(&self.cbo.ensemble, &self.$rows)?,
                })
            }

            fn scattered(
                &self,
                collective: std::sync::Arc<dyn meanfield_measures::Collective>,
            ) -> $crate::error::Result<Self> {
                let cbo = self.cbo.scattered(collective)?;
                let d = cbo.ensemble.dim();
                let $rows = $crate::dynamics::scatter_rows(&cbo.ensemble, &self.$rows, d, $what)?;
                Ok(Self { cbo, $rows })
            }
        }
    };
}
pub(crate) use cbo_state_with_rows;

/// "`what` coordinate k is v" for the first non-finite entry of `values`: the part of a
/// consensus state's [`DynamicsState::non_finite`] beyond the ensemble's.
pub(crate) fn non_finite_coordinate(what: &str, values: &[f64]) -> Option<String> {
    let k = values.iter().position(|v| !v.is_finite())?;
    Some(format!("{what} coordinate {k} is {}", values[k]))
}

impl DynamicsState for CboState {
    fn non_finite(&self) -> Option<String> {
        self.ensemble
            .non_finite()
            .or_else(|| non_finite_coordinate("consensus", &self.consensus))
    }

    fn collective(&self) -> Option<std::sync::Arc<dyn Collective>> {
        self.ensemble.collective()
    }
}

/// The ensemble is split over the ranks; α, the consensus, the best particle and the
/// counters are global (identical on every rank).
impl crate::dynamics::DistributedState for CboState {
    fn gathered(&self) -> Result<Self> {
        Ok(Self {
            ensemble: self.ensemble.gather()?,
            ..self.clone()
        })
    }

    fn scattered(&self, collective: std::sync::Arc<dyn Collective>) -> Result<Self> {
        Ok(Self {
            ensemble: self.ensemble.scatter(collective)?,
            ..self.clone()
        })
    }
}

/// What one step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CboInfo {
    /// Time advanced (dt).
    pub dt: f64,
    /// α used in this step.
    pub alpha: f64,
    /// Consensus statistics (minimum energy, its index in the batch, ESS).
    pub stats: ConsensusStats,
    /// ‖v_k − v_{k−1}‖_∞ (∞ at the first step).
    pub consensus_change: f64,
}

impl StepInfo for CboInfo {
    fn dt(&self) -> f64 {
        self.dt
    }

    /// The smallest objective value of the step's batch (CBXpy's `energy_tol` test).
    fn energy(&self) -> Option<f64> {
        Some(self.stats.f_min)
    }

    /// The consensus weights' effective sample size.
    fn ess(&self) -> Option<f64> {
        Some(self.stats.ess)
    }

    /// ‖v_k − v_{k−1}‖_∞.
    fn change(&self) -> Option<f64> {
        Some(self.consensus_change)
    }
}

/// Reused buffers of a step (sized on first use; no allocation per step afterwards).
#[derive(Debug, Default, Clone)]
struct Workspace {
    energies: Vec<f64>,
    weights: Vec<f64>,
    consensus: Vec<f64>,
    /// Gathered batch rows (batched runs only).
    batch_x: Vec<f64>,
    /// The minimising particle of the step.
    best_row: Vec<f64>,
    /// C_α and its symmetric root, row-major d × d (covariance noise only).
    cov: Vec<f64>,
    root: Vec<f64>,
    /// Permutation of the current epoch, and the (seed, epoch) it was drawn for: the
    /// seed belongs to the run, so one `Cbo` may drive runs of several seeds.
    perm: Vec<usize>,
    perm_key: Option<(u64, u64)>,
}

/// CBO on an [`Objective`].
pub struct Cbo<O> {
    objective: O,
    params: CboParams,
    parallelism: Parallelism,
    ws: Workspace,
}

impl<O: Objective> Cbo<O> {
    /// CBO for `objective` with validated `params` (sequential particle loops).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an objective of dimension 0, or the
    /// covariance noise with a mini-batch.
    pub fn new(objective: O, params: CboParams) -> Result<Self> {
        check_at_least_one("objective dimension", objective.dim() as u64)?;
        if let (CboNoise::Covariance(_), Some(b)) = (params.noise, params.batch) {
            return Err(IntegratorError::InvalidParameter {
                name: "batch size",
                value: b.size as f64,
                reason: "the covariance noise takes C_α over the whole ensemble: no mini-batches",
            });
        }
        Ok(Self {
            objective,
            params,
            parallelism: Parallelism::Sequential,
            ws: Workspace::default(),
        })
    }

    /// Spreads particle loops over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The objective.
    pub fn objective(&self) -> &O {
        &self.objective
    }

    /// The parameters.
    pub fn params(&self) -> &CboParams {
        &self.params
    }

    /// The batch size B of this ensemble (N when unbatched or B ≥ N).
    fn batch_size(&self, n: usize) -> usize {
        self.params.batch.map_or(n, |b| b.size.min(n))
    }

    /// One step with caller-supplied standard normals `noise` (row-major N × d; row i is
    /// ξ^i, rows of particles that do not move are ignored). `key` only selects the
    /// mini-batch. [`Dynamics::step`] runs the same code with ξ drawn from the noise
    /// streams; this entry serves golden-value tests against other implementations.
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut CboState,
        noise: &[f64],
    ) -> Result<CboInfo> {
        let (n, d) = (state.ensemble.n(), state.ensemble.dim());
        if noise.len() != n * d {
            return Err(IntegratorError::IncompatibleState(format!(
                "noise has {} values, need N·d = {}",
                noise.len(),
                n * d
            )));
        }
        self.advance(state, key, Noise::Given(noise), None)
    }

    /// The points whose objective values step `key` needs, row-major: the B rows of the
    /// step's mini-batch (in batch order) when mini-batched, else all N rows of the
    /// ensemble. [`Cbo::step_with_energies`] takes their values.
    pub fn evaluation_points<'s>(&'s mut self, key: StepKey, state: &'s CboState) -> &'s [f64] {
        let (n, d) = (state.ensemble.n(), state.ensemble.dim());
        let b = self.batch_size(n);
        if b == n {
            return state.ensemble.as_slice();
        }
        let ws = &mut self.ws;
        batch_permutation(ws, key.family(streams::CBO_BATCH), key.step(), n, b);
        let pos = (key.step() % (n / b) as u64) as usize;
        ws.batch_x.resize(b * d, 0.0);
        for (dst, &i) in ws
            .batch_x
            .chunks_exact_mut(d)
            .zip(&ws.perm[pos * b..(pos + 1) * b])
        {
            dst.copy_from_slice(state.ensemble.particle(i));
        }
        &ws.batch_x
    }

    /// [`Dynamics::step`] with the objective values at [`Cbo::evaluation_points`] given
    /// (`energies`, one per point) instead of evaluated: the step of a lockstep run
    /// ([`run_replicas_lockstep`]), whose objective is called once for all runs.
    ///
    /// # Errors
    /// [`IntegratorError::IncompatibleState`] for a wrong number of values; as
    /// [`Dynamics::step`] otherwise.
    pub fn step_with_energies(
        &mut self,
        key: StepKey,
        state: &mut CboState,
        energies: &[f64],
    ) -> Result<CboInfo> {
        let b = self.batch_size(state.ensemble.n());
        if energies.len() != b {
            return Err(IntegratorError::IncompatibleState(format!(
                "{} objective values given, the step evaluates {b} points",
                energies.len()
            )));
        }
        let at = key.streams(streams::CBO_NOISE);
        self.advance(state, key, Noise::Streams(at), Some(energies))
    }

    /// Steps 1–5 of the module docs with the noise `source`; the objective values at the
    /// step's points are evaluated, or `given`.
    fn advance(
        &mut self,
        state: &mut CboState,
        key: StepKey,
        source: Noise<'_>,
        given: Option<&[f64]>,
    ) -> Result<CboInfo> {
        let step = key.step();
        let (n, d) = (state.ensemble.n(), state.ensemble.dim());
        let b = self.batch_size(n);
        let ws = &mut self.ws;
        ws.energies.resize(b, 0.0);
        ws.weights.resize(b, 0.0);
        ws.consensus.resize(d, 0.0);
        ws.best_row.resize(d, 0.0);
        let alpha = state.alpha;
        // The reductions over every particle of the run (all ranks of a distributed one).
        let reducer = Reducer::of(&state.ensemble).with_parallelism(self.parallelism);
        let first = state.ensemble.first_index();
        let batched = b < n;
        let err_at = diverged_at(step);

        // 1–2: energies on the batch and the consensus point.
        let stats = if batched {
            batch_permutation(ws, key.family(streams::CBO_BATCH), step, n, b);
            let pos = (step % (n / b) as u64) as usize;
            let idx = &ws.perm[pos * b..(pos + 1) * b];
            ws.batch_x.resize(b * d, 0.0);
            for (dst, &i) in ws.batch_x.chunks_exact_mut(d).zip(idx) {
                dst.copy_from_slice(state.ensemble.particle(i));
            }
            match given {
                Some(e) => ws.energies.copy_from_slice(e),
                None => eval_energies(
                    self.parallelism,
                    &self.objective,
                    &ws.batch_x,
                    d,
                    &mut ws.energies,
                ),
            }
            consensus_into(
                &ws.batch_x,
                d,
                &ws.energies,
                alpha,
                &mut ws.weights,
                &mut ws.consensus,
            )
            .map_err(err_at)?
        } else {
            let xs = state.ensemble.as_slice();
            match given {
                Some(e) => ws.energies.copy_from_slice(e),
                None => eval_energies(self.parallelism, &self.objective, xs, d, &mut ws.energies),
            }
            consensus_with(
                &reducer,
                xs,
                d,
                &ws.energies,
                alpha,
                &mut ws.weights,
                &mut ws.consensus,
                &mut ws.best_row,
            )
            .map_err(err_at)?
        };
        state.evaluations = state.evaluations.saturating_add(reducer.global_n(b) as u64);
        check_consensus_finite(&ws.consensus, step)?;

        // 4 (before the move, as the energies belong to the old positions): best particle.
        if batched {
            let best = ws.perm[(step % (n / b) as u64) as usize * b + stats.argmin];
            state.record_best(&stats, best);
        } else {
            state.record_best_row(&stats, &ws.best_row);
        }

        // 3: drift and explore.
        let p = &self.params;
        let coef = (-p.lambda * p.dt, p.sigma, p.dt.sqrt());
        let kind = p.noise;
        // Covariance noise: C_α of the (whole, unbatched) ensemble and its root; the move
        // is CBS's Euler move x ← x − λ dt (x − v) + σ √(2 dt / λ_mode) C^{1/2} ξ.
        let cov_move = if let CboNoise::Covariance(mode) = kind {
            let xs = state.ensemble.as_slice();
            cbs::weighted_covariance(&reducer, xs, d, &ws.weights, &ws.consensus, &mut ws.cov)?;
            cbs::square_root(CovarianceRoot::Symmetric, &ws.cov, d, step, &mut ws.root)?;
            Some(cbs::Move {
                scheme: CbsScheme::EulerMaruyama,
                contraction: p.lambda * p.dt,
                scale: p.sigma * mode.euler_noise_factor(p.dt, alpha),
                lower: false,
            })
        } else {
            None
        };
        let (v, r) = (&ws.consensus, &ws.root);
        let update = |i: usize, x: &mut [f64]| match source {
            Noise::Given(z) => {
                let z = z[i * d..(i + 1) * d].iter().copied();
                match cov_move {
                    Some(mv) => mv.apply(x, v, r, z),
                    None => move_particle(kind, x, v, coef, z),
                }
            }
            Noise::Streams(at) => {
                // Keyed by the global index: a rank draws the single-process noise.
                let z = at.normals(first + i as u64);
                match cov_move {
                    Some(mv) => mv.apply(x, v, r, z),
                    None => move_particle(kind, x, v, coef, z),
                }
            }
        };
        let data = state.ensemble.as_mut_slice();
        if batched && p.batch.is_some_and(|bt| bt.partial) {
            let pos = (step % (n / b) as u64) as usize;
            for &i in &ws.perm[pos * b..(pos + 1) * b] {
                update(i, &mut data[i * d..(i + 1) * d]);
            }
        } else {
            for_each_chunk_mut(self.parallelism, data, d, MIN_ROWS_PER_TASK, update);
        }

        // 5: consensus bookkeeping and the α schedule.
        state.record_consensus(v);
        state.alpha = p.schedule.next_with(&reducer, alpha, &ws.energies)?;
        Ok(CboInfo {
            dt: p.dt,
            alpha,
            stats,
            consensus_change: state.consensus_change,
        })
    }

    /// Runs `checkpoint` until the [`StoppingRule`] fires (the preset over the crate's
    /// [`Runner`]) and returns the outcome.
    pub fn run(
        &mut self,
        checkpoint: &mut Checkpoint<CboState>,
        rule: &StoppingRule,
    ) -> Result<CboOutcome> {
        let summary = rule.runner()?.run(self, checkpoint)?;
        Ok(self.outcome(checkpoint, &summary))
    }

    /// The outcome of a run that ended at `checkpoint` with `summary`.
    pub fn outcome(
        &self,
        checkpoint: &Checkpoint<CboState>,
        summary: &RunSummary<CboInfo>,
    ) -> CboOutcome {
        CboOutcome::of(&self.objective, checkpoint, summary)
    }
}

/// Where the standard normals ξ of a step come from.
#[derive(Clone, Copy)]
enum Noise<'a> {
    /// Row-major N × d, supplied by the caller.
    Given(&'a [f64]),
    /// Drawn from the run's streams: particle i from the stream of (seed, step, i).
    Streams(StepStreams),
}

/// The Euler–Maruyama move of one particle (module docs, step 3) with ξ = `z`, in
/// CBXpy's operation order so that golden values agree to round-off: anisotropic
/// x ← x + ((−λ dt) D + σ (√dt (ξ ⊙ D))); isotropic the same with |D|₂ for D in the noise.
/// The covariance noise needs the ensemble's C_α^{1/2}, which one row does not know: [`Cbo`]
/// moves those particles with CBS's Euler move, and the variants that keep a per-particle
/// move refuse that noise at construction; here it is the drift alone.
#[inline]
fn move_particle(
    kind: CboNoise,
    x: &mut [f64],
    v: &[f64],
    (ldt, sigma, sqdt): (f64, f64, f64),
    z: impl Iterator<Item = f64>,
) {
    match kind {
        CboNoise::Anisotropic => {
            for ((x, &v), z) in x.iter_mut().zip(v).zip(z) {
                let drift = *x - v;
                *x += ldt * drift + sigma * (sqdt * (z * drift));
            }
        }
        CboNoise::Covariance(_) => {
            for (x, &v) in x.iter_mut().zip(v) {
                *x += ldt * (*x - v);
            }
        }
        CboNoise::Isotropic => {
            let norm = x
                .iter()
                .zip(v)
                .map(|(x, v)| (x - v) * (x - v))
                .sum::<f64>()
                .sqrt();
            for ((x, &v), z) in x.iter_mut().zip(v).zip(z) {
                let drift = *x - v;
                *x += ldt * drift + sigma * (sqdt * (z * norm));
            }
        }
    }
}

/// f at every row of `xs` into `out`, in row chunks over the rayon pool when asked (each
/// value depends on its row only, so the split cannot change a bit).
fn eval_energies<O: Objective>(par: Parallelism, f: &O, xs: &[f64], d: usize, out: &mut [f64]) {
    match par {
        Parallelism::Rayon if out.len() >= 2 * MIN_ROWS_PER_TASK => xs
            .par_chunks(d * MIN_ROWS_PER_TASK)
            .zip(out.par_chunks_mut(MIN_ROWS_PER_TASK))
            .for_each(|(x, o)| f.values(x, o)),
        _ => f.values(xs, out),
    }
}

/// Makes `ws.perm` the permutation of the epoch of `step` (⌊N/B⌋ steps per epoch), a
/// Fisher–Yates shuffle driven by the stream of (seed, [`streams::CBO_BATCH`], epoch).
fn batch_permutation(ws: &mut Workspace, family: NoiseStreams, step: u64, n: usize, b: usize) {
    let epoch = step / (n / b) as u64;
    let key = (family.seed(), epoch);
    if ws.perm_key == Some(key) && ws.perm.len() == n {
        return;
    }
    ws.perm.clear();
    ws.perm.extend(0..n);
    let mut rng = family.rng(epoch, 0);
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        ws.perm.swap(i, j);
    }
    ws.perm_key = Some(key);
}

/// Stop when the consensus moved less than `tol` (sup norm) for `patience` steps in a row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stagnation {
    /// Threshold on ‖v_k − v_{k−1}‖_∞.
    pub tol: f64,
    /// Consecutive steps below it.
    pub patience: u64,
}

/// When a CBO run stops (whichever fires first): CBXpy's stopping options, as a preset
/// of the [`Runner`]'s criteria ([`StoppingRule::runner`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoppingRule {
    /// Hard cap on the number of steps.
    pub max_steps: u64,
    /// Stop once the smallest objective value of a step is below this (CBXpy `energy_tol`).
    pub energy_tol: Option<f64>,
    /// Stop on consensus stagnation.
    pub stagnation: Option<Stagnation>,
}

impl StoppingRule {
    /// Only a step cap.
    pub fn max_steps(max_steps: u64) -> Self {
        Self {
            max_steps,
            energy_tol: None,
            stagnation: None,
        }
    }

    /// The [`Runner`] of this rule: `max_steps` steps, [`Stop::energy_below`] and
    /// [`Stop::stagnation`] when set.
    ///
    /// # Errors
    /// A NaN tolerance or a stagnation rule with zero patience or a negative tolerance.
    pub fn runner<'a>(&self) -> Result<Runner<'a, CboState, CboInfo>> {
        self.runner_of()
    }

    /// [`StoppingRule::runner`] for any state and info, so that every consensus variant
    /// runs by the same rule.
    ///
    /// # Errors
    /// As [`StoppingRule::runner`].
    pub fn runner_of<'a, S: DynamicsState, I: StepInfo>(&self) -> Result<Runner<'a, S, I>> {
        let mut runner = Runner::new(self.max_steps);
        if let Some(tol) = self.energy_tol {
            runner = runner.stop_when(Stop::energy_below(tol)?);
        }
        if let Some(st) = self.stagnation {
            runner = runner.stop_when(Stop::stagnation(st.tol, st.patience)?);
        }
        Ok(runner)
    }
}

/// The result of one CBO run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CboOutcome {
    /// Final consensus point v_α (of the last step).
    pub consensus: Vec<f64>,
    /// f(v_α).
    pub consensus_value: f64,
    /// Best particle seen.
    pub best_x: Vec<f64>,
    /// Its value.
    pub best_f: f64,
    /// Steps done.
    pub steps: u64,
    /// α after the last step.
    pub alpha: f64,
    /// Objective evaluations.
    pub evaluations: u64,
    /// Why it stopped.
    pub reason: StopReason,
}

impl CboOutcome {
    /// The outcome of a consensus run (CBO or any variant sharing [`CboState`]) of
    /// `objective` that ended at `checkpoint` with `summary`.
    pub fn of<O: Objective>(
        objective: &O,
        checkpoint: &Checkpoint<CboState>,
        summary: &RunSummary<CboInfo>,
    ) -> Self {
        let state = &checkpoint.state;
        CboOutcome {
            consensus: state.consensus.clone(),
            consensus_value: if state.consensus.is_empty() {
                f64::NAN
            } else {
                objective.value(&state.consensus)
            },
            best_x: state.best_x.clone(),
            best_f: state.best_f,
            steps: checkpoint.step,
            alpha: state.alpha,
            evaluations: state.evaluations,
            reason: summary.reason,
        }
    }

    /// ‖v_α − x*‖_∞: the benchmark's success distance.
    ///
    /// # Errors
    /// [`IntegratorError::IncompatibleState`] when there is no consensus point (the run
    /// took no step) or `x_star` does not have its dimension — never a distance of 0
    /// that would count as a success.
    pub fn sup_distance(&self, x_star: &[f64]) -> Result<f64> {
        if self.consensus.is_empty() {
            return Err(IntegratorError::IncompatibleState(format!(
                "no consensus point to measure: the run stopped after {} steps ({:?})",
                self.steps, self.reason
            )));
        }
        if x_star.len() != self.consensus.len() {
            return Err(IntegratorError::IncompatibleState(format!(
                "x* has {} coordinates, the consensus point {}",
                x_star.len(),
                self.consensus.len()
            )));
        }
        Ok(self
            .consensus
            .iter()
            .zip(x_star)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max))
    }
}

/// N particles i.i.d. uniform on [lo, hi]^d from the stream of `seed` (purpose
/// [`streams::CBO_INIT`]), the protocol's initial law
/// ([`InitialLaw::uniform_cube`](meanfield_measures::InitialLaw::uniform_cube)).
pub fn uniform_ensemble(n: usize, d: usize, lo: f64, hi: f64, seed: u64) -> Result<Ensemble> {
    Ok(
        meanfield_measures::InitialLaw::uniform_cube(d, lo, hi).sample(
            n,
            seed,
            streams::CBO_INIT,
        )?,
    )
}

/// Runs `runs` independent CBO runs to their outcomes (the preset over
/// [`run_many`](crate::run_many)): run r starts from `init(r)` with seed
/// [`replicate_seed`](meanfield_measures::replicate_seed)`(seed, 0, r)` and stops by `rule`.
/// Runs are spread over the rayon pool when `parallelism` is [`Parallelism::Rayon`]; each
/// run is sequential inside, so outcomes do not depend on the thread count.
pub fn run_replicas<O, I>(
    objective: &O,
    params: &CboParams,
    runs: usize,
    seed: u64,
    init: I,
    rule: &StoppingRule,
    parallelism: Parallelism,
) -> Result<Vec<CboOutcome>>
where
    O: Objective,
    I: Fn(usize) -> Result<Ensemble> + Sync,
{
    rule.runner()?; // a bad rule fails before any replica is built, also for `runs = 0`
    crate::runner::run_many(
        runs,
        seed,
        parallelism,
        |r| Ok((Cbo::new(objective, *params)?, init(r)?)),
        |_, cbo, checkpoint| cbo.run(checkpoint, rule),
    )
}

/// [`run_replicas`] with the M runs advanced in lockstep: at every step the evaluation
/// points of all runs still going ([`Cbo::evaluation_points`], stacked run by run into one
/// M' × B × d buffer) go to **one** [`Objective::values_stacked`] call, then each run takes
/// its step with its values ([`Cbo::step_with_energies`]). For an objective whose stacked
/// values equal its per-run values (every built-in; a vectorised user objective) the
/// outcomes are bitwise those of [`run_replicas`] with the same arguments: run r has seed
/// `replicate_seed(seed, 0, r)` and stops by `rule` with the [`Runner`]'s semantics (after
/// a step: a non-finite state is [`IntegratorError::Diverged`], then the energy tolerance,
/// then stagnation; a stopped run leaves the stack). Runs are sequential inside.
///
/// # Errors
/// A bad rule, a failing `init`, the first run's step error (by run index).
pub fn run_replicas_lockstep<O, I>(
    objective: &O,
    params: &CboParams,
    runs: usize,
    seed: u64,
    init: I,
    rule: &StoppingRule,
) -> Result<Vec<CboOutcome>>
where
    O: Objective,
    I: Fn(usize) -> Result<Ensemble>,
{
    use crate::runner::{Observation, StopCriterion as _};
    use meanfield_measures::replicate_seed;
    rule.runner()?; // the same validation as run_replicas
    struct Lane<'o, O: Objective> {
        cbo: Cbo<&'o O>,
        cp: Checkpoint<CboState>,
        energy: Option<crate::runner::EnergyBelow>,
        stagnation: Option<crate::runner::Stagnation>,
        done: Option<StopReason>,
        last: Option<CboInfo>,
    }
    let mut lanes = Vec::with_capacity(runs);
    for r in 0..runs {
        let cbo = Cbo::new(objective, *params)?;
        let start = init(r)?;
        let cp = Checkpoint::start(&cbo, start, replicate_seed(seed, 0, r as u64))?;
        cbo.check_state(&cp.state)?;
        if let Some(reason) = cp.state.non_finite() {
            return Err(IntegratorError::Diverged { step: 0, reason });
        }
        lanes.push(Lane {
            cbo,
            cp,
            energy: rule.energy_tol.map(Stop::energy_below).transpose()?,
            stagnation: rule
                .stagnation
                .map(|st| Stop::stagnation(st.tol, st.patience))
                .transpose()?,
            done: (rule.max_steps == 0).then_some(StopReason::StepsDone),
            last: None,
        });
    }
    let (mut points, mut values) = (Vec::new(), Vec::new());
    loop {
        let active: Vec<usize> = (0..runs).filter(|&r| lanes[r].done.is_none()).collect();
        if active.is_empty() {
            break;
        }
        points.clear();
        let mut b = 0;
        for &r in &active {
            let lane = &mut lanes[r];
            let key = lane.cp.key();
            let pts = lane.cbo.evaluation_points(key, &lane.cp.state);
            b = pts.len() / objective.dim();
            points.extend_from_slice(pts);
        }
        values.clear();
        values.resize(active.len() * b, 0.0);
        objective.values_stacked(&points, active.len(), &mut values);
        for (slot, &r) in active.iter().enumerate() {
            let lane = &mut lanes[r];
            let key = lane.cp.key();
            let info = lane
                .cbo
                .step_with_energies(key, &mut lane.cp.state, &values[slot * b..(slot + 1) * b])
                .and_then(|info| match lane.cp.state.non_finite() {
                    Some(reason) => Err(IntegratorError::Diverged {
                        step: lane.cp.step + 1,
                        reason,
                    }),
                    None => Ok(info),
                })?;
            lane.cp.step += 1;
            lane.cp.time += info.dt();
            let obs = Observation {
                step: lane.cp.step,
                time: lane.cp.time,
                state: &lane.cp.state,
                info: Some(&info),
            };
            // Every criterion sees every step (stagnation keeps count), the first wins.
            let mut fired = None;
            if let Some(c) = lane.energy.as_mut()
                && c.should_stop(&obs)?
            {
                fired = Some(StopReason::EnergyTolerance);
            }
            if let Some(c) = lane.stagnation.as_mut()
                && c.should_stop(&obs)?
                && fired.is_none()
            {
                fired = Some(StopReason::Stagnation);
            }
            if fired.is_none() && lane.cp.step >= rule.max_steps {
                fired = Some(StopReason::StepsDone);
            }
            lane.done = fired;
            lane.last = Some(info);
        }
    }
    Ok(lanes
        .into_iter()
        .map(|lane| {
            let summary = RunSummary {
                reason: lane.done.unwrap_or(StopReason::StepsDone),
                steps_taken: lane.cp.step,
                mean_acceptance: None,
                last_info: lane.last,
            };
            CboOutcome::of(objective, &lane.cp, &summary)
        })
        .collect())
}

impl<O: Objective> Dynamics for Cbo<O> {
    type State = CboState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        format!(
            "cbo({}, batch={:?}, f={})",
            self.params.fingerprint_fields(),
            self.params.batch,
            self.objective.fingerprint()
        )
    }

    fn check_state(&self, state: &CboState) -> Result<()> {
        if state.ensemble.shard().is_some() && self.params.batch.is_some() {
            return Err(IntegratorError::IncompatibleState(
                "mini-batched CBO does not run on distributed ensembles yet (docs/distributed.md)"
                    .into(),
            ));
        }
        check_consensus_state(state, self.objective.dim())
    }

    /// α = α₀ of the parameters, no consensus yet, best value +∞.
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<CboState> {
        Ok(CboState::new(ensemble, self.params.alpha))
    }

    /// One step with ξ^i from the stream of (seed, [`streams::CBO_NOISE`], step, i), drawn
    /// coordinate by coordinate inside the particle update (no N × d noise buffer).
    fn step(&mut self, key: StepKey, state: &mut CboState) -> Result<CboInfo> {
        let at = key.streams(streams::CBO_NOISE);
        self.advance(state, key, Noise::Streams(at), None)
    }
}
