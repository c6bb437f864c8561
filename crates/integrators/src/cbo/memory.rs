//! CBO with memory (personal bests; Riedl 2023 "Leveraging memory effects and gradient
//! information in consensus-based optimisation", Grassi–Pareschi 2021; CBXpy's
//! `CBOMemory`). Every particle keeps its best position so far Y^i with value
//! f(Y^i) = min over its past positions, and the consensus is taken over the memories:
//!
//! v_α = Σ_i e^{−α f(Y^i)} Y^i / Σ_i e^{−α f(Y^i)}   (the shared log-space consensus),
//!
//! 1. consensus move (CBO's, §1 of docs/cbo.md): D^i = X^i − v_α,
//!    X^i ← X^i − λ dt D^i + σ √dt D^i ⊙ ξ^i (anisotropic; isotropic with |D^i|₂);
//! 2. memory move with the new X^i: E^i = X^i − Y^i,
//!    X^i ← X^i − λ_m dt E^i + σ_m √dt E^i ⊙ ζ^i (same noise shape);
//! 3. f(X^i); Y^i ← X^i where f(X^i) < f(Y^i) (strictly), f(Y^i) ← min;
//! 4. best particle = the memory of smallest value; the α schedule on the memory values.
//!
//! ξ^i is drawn from (seed, [`streams::CBO_NOISE`], step, i), ζ^i from (seed,
//! [`streams::CBO_MEMORY_NOISE`], step, i): rows are independent, so any thread count gives
//! the same bits. `init_state` evaluates f at the start (Y = X₀), N evaluations; a step
//! costs N more (CBXpy's count).

use meanfield_energy::Objective;
use meanfield_measures::normal::Normals;
use meanfield_measures::parallel::for_each_chunk_mut;
use meanfield_measures::{Ensemble, Parallelism, Reducer, streams};
use serde::{Deserialize, Serialize};

use super::consensus::{consensus_with, gather_minimum};
use super::{
    CboInfo, CboParams, CboState, ConsensusStats, MIN_ROWS_PER_TASK, check_consensus_finite,
    check_consensus_state, eval_energies, move_particle,
};
use crate::dynamics::{DistributedState, Dynamics, DynamicsState, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one, check_non_negative};

/// Parameters of CBO with memory: CBO's ([`CboParams`]) plus the memory drift λ_m and
/// noise σ_m (default σ_m = λ_m σ, CBXpy's). Mini-batches are refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CboMemoryParams {
    cbo: CboParams,
    lambda_memory: f64,
    sigma_memory: f64,
}

impl CboMemoryParams {
    /// Memory drift λ_m ≥ 0 (CBXpy default 0.4), σ_m = λ_m σ.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for λ_m not finite and ≥ 0, a mini-batch, or
    /// the covariance noise.
    pub fn new(cbo: CboParams, lambda_memory: f64) -> Result<Self> {
        super::check_per_particle_noise(&cbo)?;
        if let Some(b) = cbo.batch() {
            return Err(IntegratorError::InvalidParameter {
                name: "batch size",
                value: b.size as f64,
                reason: "CBO with memory is implemented without mini-batches",
            });
        }
        let lambda_memory = check_non_negative("lambda_memory", lambda_memory)?;
        Ok(Self {
            cbo,
            lambda_memory,
            sigma_memory: lambda_memory * cbo.sigma(),
        })
    }

    /// Memory noise σ_m ≥ 0 instead of λ_m σ.
    pub fn with_sigma_memory(mut self, sigma_memory: f64) -> Result<Self> {
        self.sigma_memory = check_non_negative("sigma_memory", sigma_memory)?;
        Ok(self)
    }

    /// The CBO parameters.
    pub fn cbo(&self) -> &CboParams {
        &self.cbo
    }

    /// Memory drift λ_m.
    pub fn lambda_memory(&self) -> f64 {
        self.lambda_memory
    }

    /// Memory noise σ_m.
    pub fn sigma_memory(&self) -> f64 {
        self.sigma_memory
    }
}

/// The state of CBO with memory: CBO's state and the personal bests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CboMemoryState {
    /// Particles X, α, consensus, best memory, evaluations.
    pub cbo: CboState,
    /// Personal bests Y, row-major N × d.
    pub memory: Vec<f64>,
    /// f(Y^i).
    pub memory_values: Vec<f64>,
}

impl DynamicsState for CboMemoryState {
    fn non_finite(&self) -> Option<String> {
        self.cbo
            .non_finite()
            .or_else(|| super::non_finite_coordinate("memory", &self.memory))
    }

    fn collective(&self) -> Option<std::sync::Arc<dyn meanfield_measures::Collective>> {
        self.cbo.collective()
    }
}

/// The particles, their memories and memory values are split over the ranks (the same
/// rows); the rest is CBO's global state.
impl DistributedState for CboMemoryState {
    fn gathered(&self) -> Result<Self> {
        let ens = &self.cbo.ensemble;
        Ok(Self {
            cbo: self.cbo.gathered()?,
            memory: crate::dynamics::gather_rows(ens, &self.memory)?,
            memory_values: crate::dynamics::gather_rows(ens, &self.memory_values)?,
        })
    }

    fn scattered(
        &self,
        collective: std::sync::Arc<dyn meanfield_measures::Collective>,
    ) -> Result<Self> {
        let cbo = self.cbo.scattered(collective)?;
        let d = cbo.ensemble.dim();
        let memory = crate::dynamics::scatter_rows(&cbo.ensemble, &self.memory, d, "the memory")?;
        let memory_values = crate::dynamics::scatter_rows(
            &cbo.ensemble,
            &self.memory_values,
            1,
            "the memory values",
        )?;
        Ok(Self {
            cbo,
            memory,
            memory_values,
        })
    }
}

/// CBO with memory on an [`Objective`].
pub struct CboMemory<O> {
    objective: O,
    params: CboMemoryParams,
    parallelism: Parallelism,
    energies: Vec<f64>,
    weights: Vec<f64>,
    consensus: Vec<f64>,
}

impl<O: Objective> CboMemory<O> {
    /// CBO with memory for `objective` with validated `params` (sequential loops).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an objective of dimension 0.
    pub fn new(objective: O, params: CboMemoryParams) -> Result<Self> {
        check_at_least_one("objective dimension", objective.dim() as u64)?;
        Ok(Self {
            objective,
            params,
            parallelism: Parallelism::Sequential,
            energies: Vec::new(),
            weights: Vec::new(),
            consensus: Vec::new(),
        })
    }

    /// Spreads the energies and the moves over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The objective.
    pub fn objective(&self) -> &O {
        &self.objective
    }

    /// The parameters.
    pub fn params(&self) -> &CboMemoryParams {
        &self.params
    }

    /// One step with caller-supplied normals: `consensus_noise` ξ and `memory_noise` ζ
    /// (row-major N × d each).
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut CboMemoryState,
        consensus_noise: &[f64],
        memory_noise: &[f64],
    ) -> Result<CboInfo> {
        let nd = state.cbo.ensemble.n() * state.cbo.ensemble.dim();
        check_noise_lengths(nd, consensus_noise, memory_noise)?;
        self.advance(state, key, Noise::Given(consensus_noise, memory_noise))
    }

    fn advance(
        &mut self,
        state: &mut CboMemoryState,
        key: StepKey,
        source: Noise<'_>,
    ) -> Result<CboInfo> {
        let step = key.step();
        let d = state.cbo.ensemble.dim();
        let alpha = state.cbo.alpha;
        // 0: the consensus of the memories, weighted by their values.
        let ess = memory_consensus(
            self.parallelism,
            state,
            &mut self.weights,
            &mut self.consensus,
            step,
        )?;

        // 1–2: consensus move, then memory move (per particle, ξ then ζ).
        let p = &self.params;
        let c = &p.cbo;
        let kind = c.noise();
        let sq = c.dt().sqrt();
        let coef = (-c.lambda() * c.dt(), c.sigma(), sq);
        let coef_m = (-p.lambda_memory * c.dt(), p.sigma_memory, sq);
        let (v, y) = (&self.consensus, &state.memory);
        let first = state.cbo.ensemble.first_index();
        let update = |i: usize, x: &mut [f64]| {
            let yi = &y[i * d..(i + 1) * d];
            match source {
                Noise::Given(z, w) => {
                    move_particle(kind, x, v, coef, z[i * d..(i + 1) * d].iter().copied());
                    move_particle(kind, x, yi, coef_m, w[i * d..(i + 1) * d].iter().copied());
                }
                Noise::Streams(key) => {
                    let (r, s) = noise_normals(key, first + i as u64);
                    move_particle(kind, x, v, coef, r);
                    move_particle(kind, x, yi, coef_m, s);
                }
            }
        };
        for_each_chunk_mut(
            self.parallelism,
            state.cbo.ensemble.as_mut_slice(),
            d,
            MIN_ROWS_PER_TASK,
            update,
        );

        // 3–4: personal bests, best memory, α.
        record_memories(
            self.parallelism,
            &self.objective,
            state,
            &mut self.energies,
            &self.consensus,
            c,
            MemoryStep { alpha, ess, step },
        )
    }
}

/// Where the two normal arrays of a memory step (ξ for the consensus term, ζ for the
/// memory term) come from: the caller (row-major N × d each) or the run's streams.
#[derive(Clone, Copy)]
pub(super) enum Noise<'a> {
    Given(&'a [f64], &'a [f64]),
    Streams(StepKey),
}

/// The draws of ξ^i and ζ^i for global particle i: the streams of (seed,
/// [`streams::CBO_NOISE`], step, i) and (seed, [`streams::CBO_MEMORY_NOISE`], step, i).
pub(super) fn noise_normals(key: StepKey, i: u64) -> (Normals, Normals) {
    (
        key.streams(streams::CBO_NOISE).normals(i),
        key.streams(streams::CBO_MEMORY_NOISE).normals(i),
    )
}

/// Checks that the two caller-supplied normal arrays have N·d values each.
pub(super) fn check_noise_lengths(nd: usize, xi: &[f64], zeta: &[f64]) -> Result<()> {
    if xi.len() != nd || zeta.len() != nd {
        return Err(IntegratorError::IncompatibleState(format!(
            "noise has {} and {} values, need N·d = {nd} each",
            xi.len(),
            zeta.len()
        )));
    }
    Ok(())
}

/// Step 0 of every memory dynamics (CBO with memory, PSO): the log-space consensus
/// v_α = Σ e^{−α f(Y^i)} Y^i / Σ e^{−α f(Y^i)} of the memories into `consensus`; returns
/// the weights' ESS. The sums are block reductions over every particle of the run
/// ([`consensus_with`]: all ranks' memories for a shard).
pub(super) fn memory_consensus(
    par: Parallelism,
    state: &CboMemoryState,
    weights: &mut Vec<f64>,
    consensus: &mut Vec<f64>,
    step: u64,
) -> Result<f64> {
    let (n, d) = (state.cbo.ensemble.n(), state.cbo.ensemble.dim());
    weights.resize(n, 0.0);
    consensus.resize(d, 0.0);
    let mut best_row = vec![0.0; d];
    let stats = consensus_with(
        &Reducer::of(&state.cbo.ensemble).with_parallelism(par),
        &state.memory,
        d,
        &state.memory_values,
        state.cbo.alpha,
        weights,
        consensus,
        &mut best_row,
    )
    .map_err(super::diverged_at(step))?;
    check_consensus_finite(consensus, step)?;
    Ok(stats.ess)
}

/// What [`record_memories`] reports back about the step.
pub(super) struct MemoryStep {
    pub alpha: f64,
    pub ess: f64,
    pub step: u64,
}

/// Steps 3–4 of every memory dynamics, after the particles moved: f(X^i) (N evaluations);
/// Y^i ← X^i where f(X^i) < f(Y^i) (strictly); the best particle is the memory of smallest
/// value (over every rank of a distributed run, the first in global order); the
/// consensus bookkeeping and the α schedule on the memory values (global).
pub(super) fn record_memories<O: Objective>(
    par: Parallelism,
    objective: &O,
    state: &mut CboMemoryState,
    energies: &mut Vec<f64>,
    consensus: &[f64],
    params: &CboParams,
    at: MemoryStep,
) -> Result<CboInfo> {
    let cbo = &mut state.cbo;
    let (n, d) = (cbo.ensemble.n(), cbo.ensemble.dim());
    let reducer = Reducer::of(&cbo.ensemble);
    energies.resize(n, 0.0);
    let xs = cbo.ensemble.as_slice();
    eval_energies(par, objective, xs, d, energies);
    cbo.evaluations = cbo.evaluations.saturating_add(reducer.global_n(n) as u64);
    for (i, &f) in energies.iter().enumerate() {
        if f.is_nan() {
            return Err(IntegratorError::Diverged {
                step: at.step + 1,
                reason: format!(
                    "objective value NaN at particle {}",
                    reducer.global_index(i)
                ),
            });
        }
        if f < state.memory_values[i] {
            state.memory_values[i] = f;
            state.memory[i * d..(i + 1) * d].copy_from_slice(&xs[i * d..(i + 1) * d]);
        }
    }
    let (mut best, mut arg) = (f64::INFINITY, usize::MAX);
    for (i, &f) in state.memory_values.iter().enumerate() {
        if f < best {
            (best, arg) = (f, i);
        }
    }
    // The first minimiser over every rank, its row travelling with it; (+∞, 0) when no
    // memory value is below +∞ (the single-process scan's result).
    let mut row = vec![0.0; d];
    let (best, arg) = gather_minimum(&reducer, &state.memory, d, (best, arg), &mut row)?
        .unwrap_or((f64::INFINITY, 0));
    if best < cbo.best_f {
        cbo.best_f = best;
        cbo.best_x.clear();
        cbo.best_x.extend_from_slice(&row);
    }
    cbo.f_min = best;
    cbo.record_consensus(consensus);
    cbo.alpha = params
        .schedule()
        .next_with(&reducer, at.alpha, &state.memory_values)?;
    Ok(CboInfo {
        dt: params.dt(),
        alpha: at.alpha,
        stats: ConsensusStats {
            f_min: best,
            argmin: arg,
            ess: at.ess,
        },
        consensus_change: cbo.consensus_change,
    })
}

/// The state check of every memory dynamics: CBO's, and memories and their values with
/// N·d and N entries.
pub(super) fn check_memory_state(state: &CboMemoryState, dim: usize) -> Result<()> {
    // Runs on a shard: the memory consensus and the best memory are global.
    check_consensus_state(&state.cbo, dim)?;
    let (n, d) = (state.cbo.ensemble.n(), state.cbo.ensemble.dim());
    if state.memory.len() != n * d || state.memory_values.len() != n {
        return Err(IntegratorError::IncompatibleState(format!(
            "memory has {} coordinates and {} values, need N·d = {} and N = {n}",
            state.memory.len(),
            state.memory_values.len(),
            n * d
        )));
    }
    Ok(())
}

/// The initial state of every memory dynamics: Y = X₀ with f(Y) evaluated (N
/// evaluations), α = `alpha`, no consensus yet.
pub(super) fn init_memory_state<O: Objective>(
    par: Parallelism,
    objective: &O,
    ensemble: Ensemble,
    alpha: f64,
) -> Result<CboMemoryState> {
    let (n, d) = (ensemble.n(), ensemble.dim());
    if d != objective.dim() {
        return Err(IntegratorError::IncompatibleState(format!(
            "ensemble has dimension {d}, the objective expects {}",
            objective.dim()
        )));
    }
    let memory = ensemble.as_slice().to_vec();
    let mut memory_values = vec![0.0; n];
    eval_energies(par, objective, &memory, d, &mut memory_values);
    let first = ensemble.first_index();
    if let Some(i) = memory_values.iter().position(|f| f.is_nan()) {
        return Err(IntegratorError::IncompatibleState(format!(
            "objective value NaN at starting particle {}",
            first + i as u64
        )));
    }
    let global_n = ensemble.global_n() as u64;
    let mut cbo = CboState::new(ensemble, alpha);
    cbo.evaluations = global_n;
    Ok(CboMemoryState {
        cbo,
        memory,
        memory_values,
    })
}

impl<O: Objective> Dynamics for CboMemory<O> {
    type State = CboMemoryState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        let p = &self.params;
        format!(
            "cbo-memory(lambda_memory={:e}, sigma_memory={:e}, {}, f={})",
            p.lambda_memory,
            p.sigma_memory,
            p.cbo.fingerprint_fields(),
            self.objective.fingerprint()
        )
    }

    /// As CBO's; memories and their values have N·d and N entries.
    fn check_state(&self, state: &CboMemoryState) -> Result<()> {
        check_memory_state(state, self.objective.dim())
    }

    /// Y = X₀ with f(Y) evaluated (N evaluations), α = α₀, no consensus yet.
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<CboMemoryState> {
        init_memory_state(
            self.parallelism,
            &self.objective,
            ensemble,
            self.params.cbo.alpha(),
        )
    }

    /// One step with ξ^i from (seed, CBO_NOISE, step, i), ζ^i from (seed, CBO_MEMORY_NOISE, step, i).
    fn step(&mut self, key: StepKey, state: &mut CboMemoryState) -> Result<CboInfo> {
        self.advance(state, key, Noise::Streams(key))
    }
}
