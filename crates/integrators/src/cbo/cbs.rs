//! Consensus-based sampling (CBS; Carrillo, Hoffmann, Stuart, Vaes 2022): the particles
//! relax towards the weighted mean with noise shaped by the weighted covariance,
//!
//! dX = −(X − M_β) dt + √(2 λ⁻¹ C_β) dW,
//! M_β = Σ ŵ_i X^i,  C_β = Σ ŵ_i (X^i − M_β)(X^i − M_β)ᵀ,  ŵ_i ∝ exp(−β f(X^i)),
//!
//! with λ = 1 in `optimization` mode (the law concentrates at the minimiser) and
//! λ = (1 + β)⁻¹ in `sampling` mode (for a Gaussian target the law N(m, A⁻¹) is a
//! stationary point of the mean-field dynamics for every β; docs/cbo.md §8).
//!
//! One step k, with β = α_k:
//! 1. f_i = f(X^i_k) on every particle; M_β and the weights in log space
//!    ([`consensus_into`]);
//! 2. C_β and a square root R with R Rᵀ = C_β ([`CovarianceRoot`]: Cholesky by default,
//!    a typed [`IntegratorError::CovarianceNotPositiveDefinite`] when C_β has lost
//!    definiteness; or CBXpy's symmetric eigen-root);
//! 3. every particle moves with its ξ^i ~ N(0, I_d) ([`CbsScheme`]):
//!    - exponential (the paper's scheme, exact in time for frozen M_β, C_β):
//!      X ← M_β + a (X − M_β) + √((1 − a²) λ⁻¹) R ξ, a = e^{−dt};
//!    - Euler–Maruyama (CBXpy 1.0.4's `CBS`): X ← X − dt (X − M_β) + √(2 dt / λ) R ξ;
//! 4. best particle, consensus bookkeeping and the α schedule exactly as CBO's
//!    ([`CboState`] is shared, so are the stop criteria of [`StoppingRule`]).
//!
//! ξ^i comes from the stream of (seed, [`streams::CBO_NOISE`], step, particle i), drawn
//! coordinate by coordinate inside the particle update; [`Cbs::step_with_noise`] runs the
//! same code on caller-supplied normals (the golden test feeds it CBXpy's). M_β and C_β
//! are deterministic block reductions over every particle (docs/distributed.md), so the
//! results depend neither on the thread count nor, on a distributed ensemble, on the
//! number of ranks (C_β: one reduction of 1 + d(d+1)/2 statistics per step).
//! Mini-batches are not offered (CBXpy's `CBS` refuses them as well): C_β of a batch
//! would not be the covariance the scheme is defined with.

use faer::{Mat, Side};
use meanfield_energy::Objective;
use meanfield_measures::parallel::for_each_chunk_mut;
use meanfield_measures::{Ensemble, Parallelism, Reducer, StepStreams, streams};
use serde::{Deserialize, Serialize};

use super::consensus;
use super::schedule::AlphaSchedule;
use super::{
    CboInfo, CboOutcome, CboState, ConsensusStep, MIN_ROWS_PER_TASK, StoppingRule,
    check_consensus_state,
};
use crate::dynamics::{Dynamics, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one, check_positive};
use crate::runner::Checkpoint;

/// What the invariant law of CBS is (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CbsMode {
    /// λ = 1: the ensemble collapses onto the minimiser.
    Optimization,
    /// λ = (1 + β)⁻¹: the ensemble samples e^{−f} (exactly so for Gaussian targets).
    Sampling,
}

impl CbsMode {
    /// λ⁻¹ at inverse temperature β: 1 (optimisation) or 1 + β (sampling).
    pub fn inverse_lambda(self, beta: f64) -> f64 {
        match self {
            CbsMode::Optimization => 1.0,
            CbsMode::Sampling => 1.0 + beta,
        }
    }

    /// The factor √(2 dt / λ) of C^{1/2} ξ in the Euler–Maruyama step (CBXpy's operation
    /// order: λ = 1/(1 + β) in sampling mode).
    pub(super) fn euler_noise_factor(self, dt: f64, beta: f64) -> f64 {
        (2.0 * dt / (1.0 / self.inverse_lambda(beta))).sqrt()
    }
}

/// The time discretisation of CBS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CbsScheme {
    /// X ← M + e^{−dt}(X − M) + √((1 − e^{−2dt}) λ⁻¹) R ξ: the exact Ornstein–Uhlenbeck
    /// transition for frozen M, C, so its fixed point does not depend on dt (the paper's).
    Exponential,
    /// X ← X − dt (X − M) + √(2 dt / λ) R ξ (CBXpy 1.0.4). Its Gaussian fixed point has
    /// the covariance scaled by 2/(2 − dt): an O(dt) bias.
    EulerMaruyama,
}

/// How the square root R of C_β is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CovarianceRoot {
    /// The Cholesky factor L (C_β = L Lᵀ); fails with a typed error when C_β is not
    /// numerically positive definite (N ≤ d, or the weights collapse onto one particle).
    Cholesky,
    /// The symmetric root U diag(√max(s, 0)) Uᵀ of C_β = U diag(s) Uᵀ (CBXpy's; defined for
    /// singular C_β). Same law of R ξ as Cholesky, other bits.
    Symmetric,
}

/// Parameters of CBS, validated: [`CbsParams::new`] with the mode and dt, then options.
/// Defaults: β = α₀ = 1 (CBXpy's default) held constant, exponential scheme, Cholesky root.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CbsParams {
    mode: CbsMode,
    dt: f64,
    alpha: f64,
    schedule: AlphaSchedule,
    scheme: CbsScheme,
    root: CovarianceRoot,
}

impl CbsParams {
    /// CBS in `mode` with time step dt > 0.
    pub fn new(mode: CbsMode, dt: f64) -> Result<Self> {
        Ok(Self {
            mode,
            dt: check_positive("dt", dt)?,
            alpha: 1.0,
            schedule: AlphaSchedule::Constant,
            scheme: CbsScheme::Exponential,
            root: CovarianceRoot::Cholesky,
        })
    }

    /// Initial inverse temperature β = α₀ ≥ 0.
    pub fn with_alpha(mut self, alpha: f64) -> Result<Self> {
        self.alpha = consensus::check_alpha(alpha)?;
        Ok(self)
    }

    /// How β evolves (e.g. [`AlphaSchedule::EffectiveSampleSize`], the paper's choice).
    pub fn with_schedule(mut self, schedule: AlphaSchedule) -> Result<Self> {
        schedule.validate()?;
        self.schedule = schedule;
        Ok(self)
    }

    /// The time discretisation.
    #[must_use]
    pub fn with_scheme(mut self, scheme: CbsScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The covariance square root.
    #[must_use]
    pub fn with_root(mut self, root: CovarianceRoot) -> Self {
        self.root = root;
        self
    }

    /// The mode.
    pub fn mode(&self) -> CbsMode {
        self.mode
    }

    /// Time step dt.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Initial β.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The β schedule.
    pub fn schedule(&self) -> AlphaSchedule {
        self.schedule
    }

    /// The scheme.
    pub fn scheme(&self) -> CbsScheme {
        self.scheme
    }

    /// The covariance root.
    pub fn root(&self) -> CovarianceRoot {
        self.root
    }

    /// λ⁻¹ at inverse temperature β: 1 (optimisation) or 1 + β (sampling).
    pub fn inverse_lambda(&self, beta: f64) -> f64 {
        self.mode.inverse_lambda(beta)
    }
}

/// Reused buffers of a step.
#[derive(Debug, Default, Clone)]
struct Workspace {
    /// Energies, weights, M_β and the shared before/after-move steps.
    step: ConsensusStep,
    /// C_β, row-major d × d.
    cov: Vec<f64>,
    /// R with R Rᵀ = C_β, row-major d × d (lower triangular for Cholesky).
    root: Vec<f64>,
}

/// CBS on an [`Objective`].
pub struct Cbs<O> {
    objective: O,
    params: CbsParams,
    parallelism: Parallelism,
    ws: Workspace,
}

/// Where the standard normals of a step come from.
#[derive(Clone, Copy)]
enum Noise<'a> {
    Given(&'a [f64]),
    Streams(StepStreams),
}

impl<O: Objective> Cbs<O> {
    /// CBS for `objective` with validated `params` (sequential particle loops).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an objective of dimension 0.
    pub fn new(objective: O, params: CbsParams) -> Result<Self> {
        check_at_least_one("objective dimension", objective.dim() as u64)?;
        Ok(Self {
            objective,
            params,
            parallelism: Parallelism::Sequential,
            ws: Workspace::default(),
        })
    }

    /// Spreads the energy evaluation and the particle moves over the rayon pool (results
    /// unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The objective.
    pub fn objective(&self) -> &O {
        &self.objective
    }

    /// The parameters.
    pub fn params(&self) -> &CbsParams {
        &self.params
    }

    /// C_β of the last step, row-major d × d (empty before the first step).
    pub fn last_covariance(&self) -> &[f64] {
        &self.ws.cov
    }

    /// One step with caller-supplied standard normals `noise` (row-major N × d, row i is
    /// ξ^i); [`Dynamics::step`] runs the same code with ξ from the noise streams.
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
        self.advance(state, key, Noise::Given(noise))
    }

    /// Runs `checkpoint` until `rule` fires and returns the outcome.
    pub fn run(
        &mut self,
        checkpoint: &mut Checkpoint<CboState>,
        rule: &StoppingRule,
    ) -> Result<CboOutcome> {
        let summary = rule.runner()?.run(self, checkpoint)?;
        Ok(CboOutcome::of(&self.objective, checkpoint, &summary))
    }

    /// Steps 1–4 of the module docs.
    fn advance(
        &mut self,
        state: &mut CboState,
        key: StepKey,
        source: Noise<'_>,
    ) -> Result<CboInfo> {
        let step = key.step();
        let d = state.ensemble.dim();
        let ws = &mut self.ws;
        let beta = state.alpha;

        // 1 and 4 (before the move): energies, weights, M_β, best particle.
        let stats = ws
            .step
            .before_move(self.parallelism, &self.objective, state, step)?;

        // 2: C_β = Σ ŵ_i D_i D_iᵀ (a block reduction, global on a shard) and its root
        // (the same on every rank).
        let reducer = Reducer::of(&state.ensemble).with_parallelism(self.parallelism);
        let xs = state.ensemble.as_slice();
        weighted_covariance(
            &reducer,
            xs,
            d,
            &ws.step.weights,
            &ws.step.consensus,
            &mut ws.cov,
        )?;
        square_root(self.params.root, &ws.cov, d, step, &mut ws.root)?;

        // 3: the move.
        let p = &self.params;
        let inv_lambda = p.inverse_lambda(beta);
        // (contraction e^{−dt} or the Euler drift factor dt, factor of R ξ)
        let (contraction, scale) = match p.scheme {
            CbsScheme::Exponential => {
                let a = (-p.dt).exp();
                // 1 − e^{−2dt} = −expm1(−2dt), accurate for small dt.
                (a, (-(-2.0 * p.dt).exp_m1() * inv_lambda).sqrt())
            }
            // CBXpy: factor = √((2 dt) / λ) with λ = 1/(1 + β).
            CbsScheme::EulerMaruyama => (p.dt, p.mode.euler_noise_factor(p.dt, beta)),
        };
        let dt = p.dt;
        let first = state.ensemble.first_index();
        let (m, r) = (&ws.step.consensus, &ws.root);
        let mv = Move {
            scheme: p.scheme,
            contraction,
            scale,
            lower: p.root == CovarianceRoot::Cholesky,
        };
        let update = |i: usize, x: &mut [f64]| match source {
            Noise::Given(z) => mv.apply(x, m, r, z[i * d..(i + 1) * d].iter().copied()),
            Noise::Streams(at) => {
                // Keyed by the global index: a rank draws the single-process noise.
                mv.apply(x, m, r, at.normals(first + i as u64))
            }
        };
        for_each_chunk_mut(
            self.parallelism,
            state.ensemble.as_mut_slice(),
            d,
            MIN_ROWS_PER_TASK,
            update,
        );

        // 4: bookkeeping and the β schedule.
        ws.step.after_move(state, p.schedule, dt, beta, stats)
    }
}

/// The per-particle move of step 3 (module docs); also CBO's covariance-noise move
/// (Euler with contraction λ dt).
#[derive(Clone, Copy)]
pub(super) struct Move {
    pub(super) scheme: CbsScheme,
    /// e^{−dt} (exponential) or the Euler drift factor (x ← x − c (x − M)).
    pub(super) contraction: f64,
    /// The factor of R ξ.
    pub(super) scale: f64,
    /// R is lower triangular (skip the zeros above the diagonal).
    pub(super) lower: bool,
}

impl Move {
    /// x ← deterministic part, then x_a += scale · R_ab ξ_b column by column as the ξ_b are
    /// drawn (so no per-particle noise buffer is needed).
    #[inline]
    pub(super) fn apply(&self, x: &mut [f64], m: &[f64], r: &[f64], z: impl Iterator<Item = f64>) {
        let d = x.len();
        match self.scheme {
            CbsScheme::Exponential => {
                for (x, &m) in x.iter_mut().zip(m) {
                    *x = m + self.contraction * (*x - m);
                }
            }
            CbsScheme::EulerMaruyama => {
                // CBXpy's order: x + (−dt) (x − M).
                for (x, &m) in x.iter_mut().zip(m) {
                    *x += -self.contraction * (*x - m);
                }
            }
        }
        for (b, zb) in z.take(d).enumerate() {
            let first = if self.lower { b } else { 0 };
            for a in first..d {
                x[a] += self.scale * (r[a * d + b] * zb);
            }
        }
    }
}

/// C = Σ_i ŵ_i (x_i − m)(x_i − m)ᵀ with ŵ_i = w_i / Σ w: one block reduction of
/// [w_i, w_i D_a D_b for a ≤ b] (k = 1 + d(d+1)/2 statistics, D = x_i − m) over every
/// particle of `reducer`'s run (all ranks' for a shard), then divided by Σ w (upper
/// triangle, mirrored).
///
/// # Errors
/// [`IntegratorError::RankFailed`] (via the measures error) if a rank failed.
pub(super) fn weighted_covariance(
    reducer: &Reducer,
    xs: &[f64],
    d: usize,
    weights: &[f64],
    m: &[f64],
    cov: &mut Vec<f64>,
) -> Result<()> {
    let k = 1 + d * (d + 1) / 2;
    let sums = reducer.sums(weights.len(), k, |i, out| {
        let (w, row) = (weights[i], &xs[i * d..(i + 1) * d]);
        out.fill(0.0);
        if w == 0.0 {
            return;
        }
        out[0] = w;
        let mut t = 1;
        for a in 0..d {
            let da = row[a] - m[a];
            for b in a..d {
                out[t] = w * (da * (row[b] - m[b]));
                t += 1;
            }
        }
    })?;
    cov.clear();
    cov.resize(d * d, 0.0);
    let total = sums[0];
    let mut t = 1;
    for a in 0..d {
        for b in a..d {
            cov[a * d + b] = sums[t] / total;
            cov[b * d + a] = cov[a * d + b];
            t += 1;
        }
    }
    Ok(())
}

/// R with R Rᵀ = `cov` into `out` (row-major d × d), as `root` asks.
pub(super) fn square_root(
    root: CovarianceRoot,
    cov: &[f64],
    d: usize,
    step: u64,
    out: &mut Vec<f64>,
) -> Result<()> {
    let c = Mat::from_fn(d, d, |i, j| cov[i * d + j]);
    out.clear();
    out.resize(d * d, 0.0);
    match root {
        CovarianceRoot::Cholesky => {
            let llt = c.llt(Side::Lower).map_err(|e| {
                let pivot = match e {
                    faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index } => {
                        index
                    }
                };
                IntegratorError::CovarianceNotPositiveDefinite {
                    step,
                    pivot,
                    trace: (0..d).map(|k| cov[k * d + k]).sum(),
                }
            })?;
            let l = llt.L();
            for a in 0..d {
                for b in 0..=a {
                    out[a * d + b] = l[(a, b)];
                }
            }
        }
        CovarianceRoot::Symmetric => {
            if let Some(k) = cov.iter().position(|v| !v.is_finite()) {
                return Err(IntegratorError::Diverged {
                    step: step + 1,
                    reason: format!("C_β entry {k} is {}", cov[k]),
                });
            }
            // A collapsing ensemble makes C_β tiny (subnormal entries), where the
            // eigensolver can fail to converge: decompose 4^{−k} C_β with its largest entry
            // near 1 and scale the root back by 2^k (exact powers of two).
            let m = cov.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            if m == 0.0 {
                return Ok(()); // C_β = 0: R = 0 (`out` is zeroed above).
            }
            let k = (m.log2() / 2.0).round() as i32;
            // 4^{−k} as two factors 2^{−k} (each finite: |k| ≤ 538 for m ≥ 5e−324).
            let (down, up) = (2.0_f64.powi(-k), 2.0_f64.powi(k));
            let c = Mat::from_fn(d, d, |i, j| cov[i * d + j] * down * down);
            let evd = c
                .self_adjoint_eigen(Side::Lower)
                .map_err(|_| IntegratorError::Diverged {
                    step: step + 1,
                    reason: format!(
                        "the eigendecomposition of C_β did not converge (largest entry {m:e}, \
                         trace {:e})",
                        (0..d).map(|k| cov[k * d + k]).sum::<f64>()
                    ),
                })?;
            let (u, s) = (evd.U(), evd.S());
            let sq: Vec<f64> = (0..d).map(|k| s[k].max(0.0).sqrt() * up).collect();
            for a in 0..d {
                for b in 0..d {
                    out[a * d + b] = (0..d).map(|k| u[(a, k)] * sq[k] * u[(b, k)]).sum();
                }
            }
        }
    }
    Ok(())
}

impl<O: Objective> Dynamics for Cbs<O> {
    type State = CboState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        let p = &self.params;
        format!(
            "cbs(mode={:?}, scheme={:?}, root={:?}, dt={:e}, alpha={:e}, schedule={:?}, f={})",
            p.mode,
            p.scheme,
            p.root,
            p.dt,
            p.alpha,
            p.schedule,
            self.objective.fingerprint()
        )
    }

    /// As CBO's, and with the Cholesky root N ≥ d + 1 particles (C_β has rank ≤ N − 1).
    fn check_state(&self, state: &CboState) -> Result<()> {
        let d = self.objective.dim();
        check_consensus_state(state, d)?;
        let n = state.ensemble.global_n();
        if self.params.root == CovarianceRoot::Cholesky && n <= d {
            return Err(IntegratorError::IncompatibleState(format!(
                "CBS with the Cholesky root needs N ≥ d + 1 = {} particles (C_β has rank ≤ N − 1), got {n}",
                d + 1
            )));
        }
        Ok(())
    }

    /// β = α₀ of the parameters, no consensus yet, best value +∞.
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<CboState> {
        Ok(CboState::new(ensemble, self.params.alpha))
    }

    /// One step with ξ^i from the stream of (seed, [`streams::CBO_NOISE`], step, i).
    fn step(&mut self, key: StepKey, state: &mut CboState) -> Result<CboInfo> {
        let at = key.streams(streams::CBO_NOISE);
        self.advance(state, key, Noise::Streams(at))
    }
}
