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
//! The noise ξ is an N × d array of standard normals. [`Cbo::step`] draws it from the
//! run's [`NoiseStreams`] (row i from the stream of (seed, step, particle i), so any
//! thread count gives the same bits) and hands it to [`Cbo::step_with_noise`], which is
//! also the public entry for externally supplied noise (the golden-value test feeds it
//! CBXpy's own random numbers).
//!
//! Mini-batched consensus (CBXpy's `batch_args`): the particle indices are shuffled
//! once per epoch (a permutation drawn from the stream of (seed, epoch)); step k uses
//! the ⌊N/B⌋-th part of it, so the batch is a pure function of (seed, k). Only the batch
//! is evaluated; with `partial` only the batch moves, otherwise every particle drifts
//! towards the batch consensus.
//!
//! Several independent runs go through [`run_many`] (rayon across runs, each run its
//! own streams: results independent of the thread count).

pub mod consensus;
pub mod schedule;

use meanfield_energy::Objective;
use meanfield_measures::parallel::for_each_chunk_mut;
use meanfield_measures::{Domain, Ensemble, NoiseStreams, Parallelism, StepStreams};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use consensus::{ConsensusStats, consensus, consensus_into, effective_sample_size};
pub use schedule::AlphaSchedule;

use crate::dynamics::{Dynamics, DynamicsState, StepReport};
use crate::error::{IntegratorError, Result, check_non_negative, check_positive};

/// Stream purpose of the CBO exploration noise ξ.
pub const CBO_NOISE: u64 = 20;
/// Stream purpose of the mini-batch permutations.
pub const CBO_BATCH: u64 = 21;
/// Stream purpose of initial positions drawn by [`uniform_ensemble`].
pub const CBO_INIT: u64 = 22;

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

/// Parameters of CBO.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CboParams {
    /// Drift strength λ ≥ 0.
    pub lambda: f64,
    /// Noise strength σ ≥ 0.
    pub sigma: f64,
    /// Time step dt > 0.
    pub dt: f64,
    /// Initial inverse temperature α₀ ≥ 0.
    pub alpha: f64,
    /// How α evolves.
    pub schedule: AlphaSchedule,
    /// Noise shape.
    pub noise: CboNoise,
    /// Mini-batching (None: full consensus).
    pub batch: Option<Batch>,
    /// Seed of the noise (and batch) streams.
    pub seed: u64,
}

impl CboParams {
    /// The CBO benchmark protocol's anisotropic settings: λ = 1, σ = 10.1, dt = 0.01,
    /// α₀ = 30 with CBXpy's ×1.05 schedule capped at 1e5, no batching.
    pub fn anisotropic_benchmark(seed: u64) -> Self {
        Self {
            lambda: 1.0,
            sigma: 10.1,
            dt: 0.01,
            alpha: 30.0,
            schedule: AlphaSchedule::cbxpy_default(),
            noise: CboNoise::Anisotropic,
            batch: None,
            seed,
        }
    }

    /// Validates every parameter (typed error naming the first bad one).
    pub fn validate(&self) -> Result<()> {
        check_non_negative("lambda", self.lambda)?;
        check_non_negative("sigma", self.sigma)?;
        check_positive("dt", self.dt)?;
        consensus::check_alpha(self.alpha)?;
        self.schedule.validate()?;
        if let Some(b) = self.batch
            && b.size == 0
        {
            return Err(IntegratorError::InvalidParameter {
                name: "batch size",
                value: 0.0,
                reason: "must be ≥ 1",
            });
        }
        Ok(())
    }
}

/// The evolving state of a CBO run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Objective evaluations so far.
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

impl DynamicsState for CboState {
    fn non_finite(&self) -> Option<String> {
        self.ensemble.non_finite().or_else(|| {
            self.consensus
                .iter()
                .position(|v| !v.is_finite())
                .map(|k| format!("consensus coordinate {k} is {}", self.consensus[k]))
        })
    }
}

/// What one step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CboStepInfo {
    /// α used in this step.
    pub alpha: f64,
    /// Consensus statistics (minimum energy, its index in the batch, ESS).
    pub stats: ConsensusStats,
}

/// Reused buffers of a step (sized on first use; no allocation per step afterwards).
#[derive(Debug, Default, Clone)]
struct Workspace {
    energies: Vec<f64>,
    weights: Vec<f64>,
    consensus: Vec<f64>,
    /// Gathered batch rows (batched runs only).
    batch_x: Vec<f64>,
    /// Permutation of the current epoch and its index.
    perm: Vec<usize>,
    perm_epoch: Option<u64>,
}

/// CBO on an [`Objective`].
pub struct Cbo<O> {
    objective: O,
    params: CboParams,
    streams: NoiseStreams,
    parallelism: Parallelism,
    ws: Workspace,
}

impl<O: Objective> Cbo<O> {
    /// CBO for `objective` with validated `params` (sequential particle loops).
    pub fn new(objective: O, params: CboParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            objective,
            streams: NoiseStreams::new(params.seed, CBO_NOISE),
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

    /// A fresh state at `ensemble` with the parameters' α₀, checked against the objective.
    pub fn init(&self, ensemble: Ensemble) -> Result<CboState> {
        let state = CboState::new(ensemble, self.params.alpha);
        self.check_state(&state)?;
        Ok(state)
    }

    fn check_dim(&self, ens: &Ensemble) -> Result<()> {
        if ens.dim() != self.objective.dim() {
            return Err(IntegratorError::IncompatibleState(format!(
                "ensemble has dimension {}, the objective expects {}",
                ens.dim(),
                self.objective.dim()
            )));
        }
        if *ens.domain() != Domain::Euclidean {
            return Err(IntegratorError::IncompatibleState(format!(
                "CBO runs on R^d; this ensemble lives on the {} domain",
                ens.domain().name()
            )));
        }
        Ok(())
    }

    /// The batch size B of this ensemble (N when unbatched or B ≥ N).
    fn batch_size(&self, n: usize) -> usize {
        self.params.batch.map_or(n, |b| b.size.min(n))
    }

    /// One step with the N × d standard normals drawn from the run's noise streams: ξ^i
    /// from the stream of (seed, step, particle i), drawn coordinate by coordinate inside
    /// the particle update (no N × d noise buffer).
    pub fn step(&mut self, state: &mut CboState, step: u64) -> Result<CboStepInfo> {
        let at = self.streams.at_step(step);
        self.advance(state, step, Noise::Streams(at))
    }

    /// One step with caller-supplied standard normals `noise` (row-major N × d; row i is
    /// ξ^i, rows of particles that do not move are ignored). `step` only selects the
    /// mini-batch. [`Cbo::step`] runs the same code with ξ drawn from the noise streams;
    /// this entry serves golden-value tests against other implementations.
    pub fn step_with_noise(
        &mut self,
        state: &mut CboState,
        step: u64,
        noise: &[f64],
    ) -> Result<CboStepInfo> {
        let (n, d) = (state.ensemble.n(), state.ensemble.dim());
        if noise.len() != n * d {
            return Err(IntegratorError::IncompatibleState(format!(
                "noise has {} values, need N·d = {}",
                noise.len(),
                n * d
            )));
        }
        self.advance(state, step, Noise::Given(noise))
    }

    /// Steps 1–5 of the module docs with the noise `source`.
    fn advance(
        &mut self,
        state: &mut CboState,
        step: u64,
        source: Noise<'_>,
    ) -> Result<CboStepInfo> {
        let (n, d) = (state.ensemble.n(), state.ensemble.dim());
        let b = self.batch_size(n);
        let ws = &mut self.ws;
        ws.energies.resize(b, 0.0);
        ws.weights.resize(b, 0.0);
        ws.consensus.resize(d, 0.0);
        let alpha = state.alpha;
        let batched = b < n;
        let err_at = |e: IntegratorError| match e {
            IntegratorError::IncompatibleState(reason) => IntegratorError::Diverged {
                step: step + 1,
                reason,
            },
            e => e,
        };

        // 1–2: energies on the batch and the consensus point.
        let stats = if batched {
            batch_permutation(ws, self.params.seed, step, n, b);
            let pos = (step % (n / b) as u64) as usize;
            let idx = &ws.perm[pos * b..(pos + 1) * b];
            ws.batch_x.resize(b * d, 0.0);
            for (dst, &i) in ws.batch_x.chunks_exact_mut(d).zip(idx) {
                dst.copy_from_slice(state.ensemble.particle(i));
            }
            eval_energies(
                self.parallelism,
                &self.objective,
                &ws.batch_x,
                d,
                &mut ws.energies,
            );
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
            eval_energies(self.parallelism, &self.objective, xs, d, &mut ws.energies);
            consensus_into(
                xs,
                d,
                &ws.energies,
                alpha,
                &mut ws.weights,
                &mut ws.consensus,
            )
            .map_err(err_at)?
        };
        state.evaluations += b as u64;
        if let Some(k) = ws.consensus.iter().position(|v| !v.is_finite()) {
            return Err(IntegratorError::Diverged {
                step: step + 1,
                reason: format!("consensus coordinate {k} is {}", ws.consensus[k]),
            });
        }

        // 4 (before the move, as the energies belong to the old positions): best particle.
        state.f_min = stats.f_min;
        if stats.f_min < state.best_f {
            state.best_f = stats.f_min;
            let i = if batched {
                ws.perm[(step % (n / b) as u64) as usize * b + stats.argmin]
            } else {
                stats.argmin
            };
            state.best_x.clear();
            state.best_x.extend_from_slice(state.ensemble.particle(i));
        }

        // 3: drift and explore.
        let p = &self.params;
        let coef = (-p.lambda * p.dt, p.sigma, p.dt.sqrt());
        let v = &ws.consensus;
        let kind = p.noise;
        let update = |i: usize, x: &mut [f64]| match source {
            Noise::Given(z) => {
                move_particle(kind, x, v, coef, z[i * d..(i + 1) * d].iter().copied())
            }
            Noise::Streams(at) => {
                let mut rng = at.rng(i as u64);
                let z = std::iter::repeat_with(|| StandardNormal.sample(&mut rng));
                move_particle(kind, x, v, coef, z)
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
        state.consensus_change = if state.consensus.len() == d {
            state
                .consensus
                .iter()
                .zip(v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        } else {
            f64::INFINITY
        };
        state.consensus.clear();
        state.consensus.extend_from_slice(v);
        state.alpha = p.schedule.next(alpha, &ws.energies)?;
        Ok(CboStepInfo { alpha, stats })
    }

    /// Runs from `state` (whose steps so far are `start`) until a [`StoppingRule`] fires.
    pub fn run(
        &mut self,
        state: &mut CboState,
        start: u64,
        stop: &StoppingRule,
    ) -> Result<CboOutcome> {
        stop.validate()?;
        let mut step = start;
        let mut stagnant = 0u64;
        let reason = loop {
            if step >= stop.max_steps {
                break StopReason::MaxSteps;
            }
            self.step(state, step)?;
            step += 1;
            if let Some(tol) = stop.energy_tol
                && state.f_min < tol
            {
                break StopReason::EnergyTolerance;
            }
            if let Some(st) = stop.stagnation {
                stagnant = if state.consensus_change < st.tol {
                    stagnant + 1
                } else {
                    0
                };
                if stagnant >= st.patience {
                    break StopReason::Stagnation;
                }
            }
        };
        if let Some(reason) = state.ensemble.non_finite() {
            return Err(IntegratorError::Diverged { step, reason });
        }
        Ok(CboOutcome {
            consensus: state.consensus.clone(),
            consensus_value: if state.consensus.is_empty() {
                f64::NAN
            } else {
                self.objective.value(&state.consensus)
            },
            best_x: state.best_x.clone(),
            best_f: state.best_f,
            steps: step,
            alpha: state.alpha,
            evaluations: state.evaluations,
            reason,
        })
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
/// Fisher–Yates shuffle driven by the stream of (seed, epoch).
fn batch_permutation(ws: &mut Workspace, seed: u64, step: u64, n: usize, b: usize) {
    let epoch = step / (n / b) as u64;
    if ws.perm_epoch == Some(epoch) && ws.perm.len() == n {
        return;
    }
    ws.perm.clear();
    ws.perm.extend(0..n);
    let mut rng = NoiseStreams::new(seed, CBO_BATCH).rng(epoch, 0);
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        ws.perm.swap(i, j);
    }
    ws.perm_epoch = Some(epoch);
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

/// When a CBO run stops (whichever fires first).
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

    /// Rejects NaN tolerances and a stagnation rule with zero patience.
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = self.energy_tol
            && t.is_nan()
        {
            return Err(IntegratorError::InvalidParameter {
                name: "energy_tol",
                value: t,
                reason: "must not be NaN",
            });
        }
        if let Some(s) = self.stagnation {
            check_non_negative("stagnation tol", s.tol)?;
            if s.patience == 0 {
                return Err(IntegratorError::InvalidParameter {
                    name: "stagnation patience",
                    value: 0.0,
                    reason: "must be ≥ 1",
                });
            }
        }
        Ok(())
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The step cap.
    MaxSteps,
    /// The energy tolerance.
    EnergyTolerance,
    /// Consensus stagnation.
    Stagnation,
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
    /// ‖v_α − x*‖_∞: the benchmark's success distance.
    pub fn sup_distance(&self, x_star: &[f64]) -> f64 {
        self.consensus
            .iter()
            .zip(x_star)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }
}

/// N particles i.i.d. uniform on [lo, hi]^d from the stream of `seed` (purpose
/// [`CBO_INIT`]), the protocol's initial law.
pub fn uniform_ensemble(n: usize, d: usize, lo: f64, hi: f64, seed: u64) -> Result<Ensemble> {
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(IntegratorError::InvalidParameter {
            name: "uniform init lower bound",
            value: lo,
            reason: "need finite lo < hi",
        });
    }
    let streams = NoiseStreams::new(seed, CBO_INIT);
    Ok(Ensemble::from_fn(n, d, Domain::Euclidean, |i, row| {
        let mut rng = streams.rng(0, i as u64);
        for v in row {
            *v = lo + (hi - lo) * rng.random::<f64>();
        }
    })?)
}

/// Runs `runs` independent CBO runs: run r uses the seed `params.seed + r` for its noise
/// and starts from `init(r)`. Runs are spread over the rayon pool when `parallelism` is
/// [`Parallelism::Rayon`]; each run is sequential inside, so outcomes do not depend on
/// the thread count.
pub fn run_many<O, I>(
    objective: &O,
    params: &CboParams,
    runs: usize,
    init: I,
    stop: &StoppingRule,
    parallelism: Parallelism,
) -> Result<Vec<CboOutcome>>
where
    O: Objective,
    I: Fn(usize) -> Result<Ensemble> + Sync,
{
    params.validate()?;
    stop.validate()?;
    let one = |r: usize| -> Result<CboOutcome> {
        let p = CboParams {
            seed: params.seed.wrapping_add(r as u64),
            ..*params
        };
        let mut cbo = Cbo::new(objective, p)?;
        let mut state = cbo.init(init(r)?)?;
        cbo.run(&mut state, 0, stop)
    };
    match parallelism {
        Parallelism::Sequential => (0..runs).map(one).collect(),
        Parallelism::Rayon => (0..runs).into_par_iter().map(one).collect(),
    }
}

impl<O: Objective> Dynamics for Cbo<O> {
    type State = CboState;

    fn fingerprint(&self) -> String {
        format!(
            "cbo(noise={:?}, lambda={:e}, sigma={:e}, dt={:e}, alpha={:e}, schedule={:?}, batch={:?}, seed={})",
            self.params.noise,
            self.params.lambda,
            self.params.sigma,
            self.params.dt,
            self.params.alpha,
            self.params.schedule,
            self.params.batch,
            self.params.seed
        )
    }

    fn check_state(&self, state: &CboState) -> Result<()> {
        self.check_dim(&state.ensemble)?;
        consensus::check_alpha(state.alpha)?;
        Ok(())
    }

    fn step(&mut self, state: &mut CboState, step: u64) -> Result<StepReport> {
        Cbo::step(self, state, step)?;
        Ok(StepReport {
            dt: self.params.dt,
            acceptance: None,
        })
    }
}
