//! Particle EM for latent-variable models: Particle Gradient Descent (PGD), particle
//! quasi-Newton (PQN) and particle marginal gradient descent (PMGD) (Kuntz, Lim &
//! Johansen 2023, "ParEM") and Momentum Particle Descent (MPD, Lim, Kuntz, Power & Johansen 2024,
//! the "proposed" discretisation of the authors' code). All minimise the free energy
//! F(θ, q) = ∫ E(θ, x) q(dx) + ∫ log q dq of a [`LatentModel`] E(θ, x) = −log p_θ(x, y)
//! jointly over θ and a particle approximation q ≈ (1/N) Σ_i δ_{X^i}. Write
//! g(θ) = (1/N) Σ_i ∇_θ E(θ, X^i).
//!
//! # PGD
//! θ ← θ − h_θ g(θ);  X^i ← X^i − h_x ∇_x E(θ, X^i) + √(2h_x) ξ^i (old θ, X throughout).
//!
//! # MPD
//! State (θ, m, X^i, U^i), m₀ = 0, U^i₀ ~ N(0, I/η_x) (its [`Dynamics::init_state`]). With
//! ω = e^{−γ_θ η_θ h_θ}:
//! 1. look-ahead θ̃ = θ + ((1 − ω)/γ_θ) m;
//! 2. g = g(θ̃) with the particles from before the step;
//! 3. θ ← θ̃ − (1/γ_θ)(h_θ − (1 − ω)/(γ_θ η_θ)) g;
//! 4. m ← ω m − ((1 − ω)/(γ_θ η_θ)) g.
//!
//! Particles (with the updated θ), s = e^{−G h_x}, G = γ_x η_x, S^i = −∇_x E(θ, X^i):
//! X^i ← X^i + (1/γ_x)[(1 − s) U^i + (h_x − (1 − s)/G) S^i] + n_X,
//! U^i ← s U^i + ((1 − s)/G) S^i + n_U,
//! the exact solution over one step of dX = η_x U dt, dU = (−G U + S) dt + √(2γ_x) dW with
//! S frozen. Per coordinate (n_X, n_U) is Gaussian with ([`MpdNoise`])
//! Var n_X = (1/γ_x)(2h_x − s²/G + 4s/G − 3/G), Var n_U = (1 − s²)/η_x,
//! Cov = (1 − s)²/G, sampled with the 2 × 2 Cholesky factor from two standard normals:
//! the first d normals of particle i's stream drive n_X (the same normals PGD uses).
//! With t = G h_x, G²·det = f(t)(1 − e^{−2t}) − (1 − e^{−t})⁴, f(t) = 2t − 3 + 4e^{−t} −
//! e^{−2t} = Σ_{k≥3} (4(−1)^k − (−2)^k) t^k/k!, evaluated by its series for t < 1 (no
//! cancellation); det > 0 for every t > 0 (Cauchy–Schwarz on the Itô integrals, strict
//! because the two integrands are not proportional), tested by a property test.
//!
//! Limits: as γ → ∞ with h = γ h' for both θ and x, MPD's updates tend to PGD's with step
//! h' (tested pathwise with shared noise in `tests/particle_em.rs`). The stationary
//! law of the particle step for a quadratic E is the posterior up to O(h) (the score is
//! frozen over a step); the tests compare it with the exact posterior within Monte-Carlo
//! error at steps where that bias is far below the error.
//!
//! # PQN (particle quasi-Newton, ParEM)
//! PGD with the θ-step preconditioned by the particle-averaged θ-Hessian of the energy
//! (ParEM's negative Hessian of the log-joint):
//! H̄ = (1/N) Σ_i ∇²_θ E(θ, X^i), θ ← θ − h_θ H̄^{-1} g(θ); particles as in PGD (old θ,
//! the same noise streams). Needs [`LatentModel::hess_theta`]; H̄ must be positive
//! definite along g (g·H̄^{-1}g > 0), else the step is refused.
//!
//! # PMGD (particle marginal gradient descent, ParEM)
//! θ is not a free variable: θ_k = θ*(q_k) = argmin_θ (1/N) Σ_i E(θ, X^i_k) in closed
//! form ([`LatentModel::optimal_theta`]), and the particles descend the marginal free
//! energy q ↦ F(θ*(q), q), whose Wasserstein gradient is ∇_x E(θ*(q), x) (envelope
//! theorem): X^i ← X^i − h_x ∇_x E(θ_k, X^i) + √(2h_x) ξ^i, then θ_{k+1} = θ*(X_{k+1}).
//! [`Dynamics::init_state`] sets θ₀ = θ*(X₀) (ParEM's toy notebook); a state with another
//! θ₀ uses it for the first particle step (ParEM's logistic notebook, θ₀ = 0).
//!
//! # Determinism and distributed runs
//! Gradients are evaluated in batches of [`LatentModel::batch_size`] particles (fixed by
//! the model, not by the thread count) that write only their own rows; g (and PQN's H̄)
//! is a deterministic block reduction over all particles ([`Reducer`], blocks of
//! [`BLOCK`] particles combined in block order); particle i's noise at step k comes from
//! the stream of its **global** index i. So results are bitwise identical for any thread
//! count, across checkpoint resumes, and for PGD, MPD and PQN on any number of ranks of a
//! distributed ensemble (docs/distributed.md): a rank reduces its blocks' partial sums,
//! the ranks all-gather them, and θ (and MPD's m) is then the same on every rank. A
//! shard needs a batch size that divides [`BLOCK`] (so the batches fall where they fall
//! in one process). PMGD runs on a shard too: its θ*(q) is the model's closed form over
//! all particles ([`LatentModel::optimal_theta`]), evaluated on every rank on the
//! all-gathered particles (N·d doubles per step).

use meanfield_energy::LatentModel;
use meanfield_energy::latent::check_dims;
use meanfield_measures::reduce::BLOCK;
use meanfield_measures::{
    Collective, Ensemble, NoiseStreams, Parallelism, Reducer, parallel::for_each_row_mut, streams,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dynamics::{Dynamics, DynamicsState, StepInfo, StepKey};
use crate::error::{IntegratorError, Result, check_positive};
#[cfg(test)]
use crate::langevin::LangevinParams;
use crate::langevin::energy_error;

/// Minimum particles per rayon task of the gradient loop (each particle's gradient costs
/// a pass over the model's data, so small tasks pay off).
const MIN_PARTICLES_PER_TASK: usize = 4;

/// Momentum variables of MPD: m for θ, U^i for the particles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Momenta {
    /// θ-momentum m (length p).
    pub theta: Vec<f64>,
    /// Particle momenta U^i (N × d).
    pub particles: Ensemble,
}

/// State of particle EM: parameters θ, particles X^i and, for MPD, the momenta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentState {
    /// Parameters θ (length p).
    pub theta: Vec<f64>,
    /// Particles X^i (N × d) approximating p_θ(x | y).
    pub particles: Ensemble,
    /// MPD's momenta (`None` for PGD).
    pub momenta: Option<Momenta>,
}

impl LatentState {
    /// A PGD state (no momenta). Runs usually start from [`Dynamics::init_state`]
    /// (θ from [`LatentModel::initial_theta`]) and set `theta` afterwards if needed.
    pub fn new(theta: Vec<f64>, particles: Ensemble) -> Self {
        Self {
            theta,
            particles,
            momenta: None,
        }
    }
}

/// What a PGD or MPD step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParticleEmInfo {
    /// Time advanced by the particles (h_x).
    pub dt: f64,
    /// max_j |θ_j after − θ_j before|.
    pub theta_change: f64,
}

impl StepInfo for ParticleEmInfo {
    fn dt(&self) -> f64 {
        self.dt
    }

    fn change(&self) -> Option<f64> {
        Some(self.theta_change)
    }
}

fn first_non_finite(name: &str, v: &[f64]) -> Option<String> {
    v.iter()
        .position(|x| !x.is_finite())
        .map(|k| format!("{name}[{k}] = {}", v[k]))
}

impl DynamicsState for LatentState {
    fn non_finite(&self) -> Option<String> {
        first_non_finite("theta", &self.theta)
            .or_else(|| {
                self.particles
                    .non_finite()
                    .map(|e| format!("particles: {e}"))
            })
            .or_else(|| {
                self.momenta.as_ref().and_then(|m| {
                    first_non_finite("theta momentum", &m.theta).or_else(|| {
                        m.particles
                            .non_finite()
                            .map(|e| format!("particle momenta: {e}"))
                    })
                })
            })
    }

    fn collective(&self) -> Option<std::sync::Arc<dyn Collective>> {
        self.particles.collective()
    }
}

/// The particles (and MPD's particle momenta) are split over the ranks; θ and MPD's
/// θ-momentum are global (identical on every rank: g is a block reduction).
impl crate::dynamics::DistributedState for LatentState {
    fn gathered(&self) -> Result<Self> {
        Ok(Self {
            theta: self.theta.clone(),
            particles: self.particles.gather()?,
            momenta: match &self.momenta {
                None => None,
                Some(m) => Some(Momenta {
                    theta: m.theta.clone(),
                    particles: m.particles.gather()?,
                }),
            },
        })
    }

    fn scattered(&self, collective: std::sync::Arc<dyn Collective>) -> Result<Self> {
        Ok(Self {
            theta: self.theta.clone(),
            particles: self.particles.scatter(collective.clone())?,
            momenta: match &self.momenta {
                None => None,
                Some(m) => Some(Momenta {
                    theta: m.theta.clone(),
                    particles: m.particles.scatter(collective)?,
                }),
            },
        })
    }
}

/// One batch of the gradient loop: (index, ((∇_θ rows, ∇_x rows), particle rows)).
type BatchRows<'a> = (usize, ((&'a mut [f64], &'a mut [f64]), &'a [f64]));

/// What PGD and MPD share: the model, the parallelism and the per-particle gradient
/// rows (the particle noise comes from the step key, purpose
/// [`streams::PARTICLE_EM_NOISE`]).
struct ParticleEmCore<M> {
    model: M,
    parallelism: Parallelism,
    /// ∇_θ E(θ, X^i), N × p.
    gt: Vec<f64>,
    /// ∇_x E(θ, X^i), N × d.
    gx: Vec<f64>,
    /// g = (1/N) Σ_i ∇_θ E(θ, X^i).
    grad_theta: Vec<f64>,
}

/// Rejects a [`Pqn`] or [`Pmgd`] built on a model that lacks the quantity it needs
/// (`probe` returns [`meanfield_energy::EnergyError::NotAvailable`]); other errors of the
/// probe point are left to the run.
fn require_available(probe: meanfield_energy::Result<()>) -> Result<()> {
    match probe {
        Err(e @ meanfield_energy::EnergyError::NotAvailable { .. }) => {
            Err(IntegratorError::Energy { step: 0, source: e })
        }
        _ => Ok(()),
    }
}

impl<M: LatentModel> ParticleEmCore<M> {
    fn new(model: M) -> Result<Self> {
        if model.theta_dim() == 0 || model.latent_dim() == 0 {
            return Err(IntegratorError::InvalidParameter {
                name: "model dimensions (theta, latent)",
                value: 0.0,
                reason: "particle EM needs p ≥ 1 parameters and d ≥ 1 latent coordinates",
            });
        }
        Ok(Self {
            model,
            parallelism: Parallelism::Sequential,
            gt: Vec::new(),
            gx: Vec::new(),
            grad_theta: Vec::new(),
        })
    }

    /// The Langevin move of PGD, PQN and PMGD with the gradients in `gx`:
    /// X^i ← X^i − h ∇_x E + √(2h) ξ^i, ξ^i from particle i's stream of `key` (purpose
    /// [`streams::PARTICLE_EM_NOISE`]), or from row i of `noise` (N × d) when given.
    fn langevin_move(&self, key: StepKey, particles: &mut Ensemble, h: f64, noise: Option<&[f64]>) {
        let d = particles.dim();
        let sigma = (2.0 * h).sqrt();
        let (streams, first) = (
            key.streams(streams::PARTICLE_EM_NOISE),
            particles.first_index(),
        );
        for_each_row_mut(
            self.parallelism,
            particles.as_mut_slice(),
            d,
            &self.gx,
            d,
            |i, x, g| match noise {
                Some(noise) => {
                    for ((x, g), xi) in x.iter_mut().zip(g).zip(&noise[i * d..(i + 1) * d]) {
                        *x += -h * g + sigma * xi;
                    }
                }
                None => {
                    // Keyed by the global index: a rank draws the single-process noise.
                    let xis = streams.normals(first + i as u64);
                    for ((x, g), xi) in x.iter_mut().zip(g).zip(xis) {
                        *x += -h * g + sigma * xi;
                    }
                }
            },
        );
    }

    /// The PGD state of a run from `particles`: θ = [`LatentModel::initial_theta`].
    fn pgd_state(&self, particles: Ensemble) -> LatentState {
        LatentState::new(self.model.initial_theta(), particles)
    }

    /// Checks the state's shapes, domain and momenta; `family` names the scheme for the
    /// distributed checks ([`ParticleEmCore::check_shard`]).
    fn check(&self, state: &LatentState, momenta: bool) -> Result<()> {
        let p = &state.particles;
        self.check_shard(p)?;
        let bad =
            |e: meanfield_energy::EnergyError| IntegratorError::IncompatibleState(e.to_string());
        check_dims(&self.model, &state.theta, &p.as_slice()[..p.dim()]).map_err(bad)?;
        if state.theta.is_empty() {
            return Err(IntegratorError::IncompatibleState(
                "particle EM needs at least one parameter θ".into(),
            ));
        }
        if *p.domain() != meanfield_measures::Domain::Euclidean || p.weights().is_some() {
            return Err(IntegratorError::IncompatibleState(
                "particle EM needs unweighted particles on R^d".into(),
            ));
        }
        match (&state.momenta, momenta) {
            (None, false) => Ok(()),
            (Some(_), false) => Err(IntegratorError::IncompatibleState(
                "PGD state carries momenta (an MPD state?)".into(),
            )),
            (None, true) => Err(IntegratorError::IncompatibleState(
                "MPD needs momenta: start the run from Dynamics::init_state (Checkpoint::start)"
                    .into(),
            )),
            (Some(m), true) => {
                if m.theta.len() != state.theta.len()
                    || m.particles.n() != p.n()
                    || m.particles.dim() != p.dim()
                {
                    Err(IntegratorError::IncompatibleState(format!(
                        "momenta have shapes ({}, {}×{}), expected ({}, {}×{})",
                        m.theta.len(),
                        m.particles.n(),
                        m.particles.dim(),
                        state.theta.len(),
                        p.n(),
                        p.dim()
                    )))
                } else if m.particles.shard() != p.shard() {
                    Err(IntegratorError::IncompatibleState(
                        "the particle momenta are not split over the ranks like the particles"
                            .into(),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A shard of a distributed ensemble runs only in the families whose statistics are
    /// block reductions, and only if the model's batches fall on the single-process
    /// batch boundaries (batch size dividing [`BLOCK`]: every rank's rows start at a
    /// multiple of [`BLOCK`]).
    fn check_shard(&self, particles: &Ensemble) -> Result<()> {
        if particles.shard().is_none() {
            return Ok(());
        }
        let b = self.model.batch_size().max(1);
        if !BLOCK.is_multiple_of(b) {
            return Err(IntegratorError::IncompatibleState(format!(
                "the model's gradient batches of {b} particles do not divide the blocks of \
                 {BLOCK} particles of a distributed ensemble (the ranks would batch \
                 differently from one process)"
            )));
        }
        Ok(())
    }

    /// Fills the gradient rows at (θ, X^i): `gt` if `want_theta`, `gx` if `want_x`, in
    /// batches of [`LatentModel::batch_size`] particles over the configured parallelism
    /// (the batches are fixed by N and the model, so the bits do not depend on the
    /// thread count); the error of the lowest failing batch is returned. With
    /// `want_theta`, g = (1/N) Σ_i ∇_θ E(θ, X^i) is then summed in particle order into
    /// `grad_theta`.
    fn gradients(
        &mut self,
        theta: &[f64],
        particles: &Ensemble,
        want_theta: bool,
        want_x: bool,
        step: u64,
    ) -> Result<()> {
        let (n, d, p) = (particles.n(), particles.dim(), theta.len());
        self.gt.resize(n * p, 0.0);
        self.gx.resize(n * d, 0.0);
        let b = self.model.batch_size().max(1);
        let model = &self.model;
        let work = |(j, ((gt, gx), xs)): BatchRows<'_>| {
            model
                .grads_batch(theta, xs, want_theta.then_some(gt), want_x.then_some(gx))
                .err()
                .map(|e| (j, e))
        };
        let xs = particles.as_slice();
        let err = match self.parallelism {
            Parallelism::Sequential => self
                .gt
                .chunks_mut(b * p)
                .zip(self.gx.chunks_mut(b * d))
                .zip(xs.chunks(b * d))
                .enumerate()
                .find_map(work),
            Parallelism::Rayon => self
                .gt
                .par_chunks_mut(b * p)
                .zip(self.gx.par_chunks_mut(b * d))
                .zip(xs.par_chunks(b * d))
                .enumerate()
                .with_min_len(MIN_PARTICLES_PER_TASK.div_ceil(b))
                .filter_map(work)
                .min_by_key(|(j, _)| *j),
        };
        if let Some((_, e)) = err {
            return Err(energy_error(step)(e));
        }
        if want_theta {
            self.grad_theta = self.particle_mean(particles, p, &self.gt)?;
        }
        Ok(())
    }

    /// (1/N) Σ_i r_i over every particle of the run (all ranks' for a shard), with r_i
    /// row i of `rows` (local rows × k): the block reduction of [`Reducer`].
    fn particle_mean(&self, particles: &Ensemble, k: usize, rows: &[f64]) -> Result<Vec<f64>> {
        let sums = Reducer::of(particles)
            .with_parallelism(self.parallelism)
            .sums(particles.n(), k, |i, out| {
                out.copy_from_slice(&rows[i * k..(i + 1) * k]);
            })?;
        let inv = 1.0 / particles.global_n() as f64;
        Ok(sums.into_iter().map(|s| s * inv).collect())
    }
}

/// Step sizes of PGD (validated: build with [`PgdParams::new`]; deserialising, e.g. from
/// a config file, runs the same checks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "raw::Pgd")]
pub struct PgdParams {
    h_theta: f64,
    h_x: f64,
}

impl PgdParams {
    /// θ step h_θ and particle step h_x, both finite and > 0. The θ-gradient
    /// g(θ) = (1/N) Σ_i ∇_θ E(θ, X^i) carries the model's whole data term (E sums over
    /// all M observations), so a stable h_θ scales like 1/M.
    pub fn new(h_theta: f64, h_x: f64) -> Result<Self> {
        Ok(Self {
            h_theta: check_positive("h_theta", h_theta)?,
            h_x: check_positive("h_x", h_x)?,
        })
    }

    /// θ step h_θ.
    pub fn h_theta(&self) -> f64 {
        self.h_theta
    }

    /// Particle step h_x.
    pub fn h_x(&self) -> f64 {
        self.h_x
    }
}

/// Particle Gradient Descent (module docs).
pub struct Pgd<M> {
    core: ParticleEmCore<M>,
    params: PgdParams,
}

impl<M: LatentModel> Pgd<M> {
    /// PGD for `model` (sequential particle loop).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for a model with no parameters or no latent
    /// coordinates.
    pub fn new(model: M, params: PgdParams) -> Result<Self> {
        Ok(Self {
            core: ParticleEmCore::new(model)?,
            params,
        })
    }

    /// Spreads the particle loops over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.parallelism = parallelism;
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.core.model
    }

    /// The parameters.
    pub fn params(&self) -> &PgdParams {
        &self.params
    }
}

impl<M: LatentModel> Dynamics for Pgd<M> {
    type State = LatentState;
    type Info = ParticleEmInfo;

    fn fingerprint(&self) -> String {
        format!(
            "pgd(h_theta={:e}, h_x={:e}, model={})",
            self.params.h_theta,
            self.params.h_x,
            self.core.model.fingerprint()
        )
    }

    fn check_state(&self, state: &LatentState) -> Result<()> {
        self.core.check(state, false)
    }

    /// θ = [`LatentModel::initial_theta`], the particles as given, no momenta.
    fn init_state(&self, particles: Ensemble, _seed: u64) -> Result<LatentState> {
        Ok(self.core.pgd_state(particles))
    }

    fn step(&mut self, key: StepKey, state: &mut LatentState) -> Result<ParticleEmInfo> {
        let step = key.step();
        // Both gradients at the old (θ, X).
        self.core
            .gradients(&state.theta, &state.particles, true, true, step)?;
        self.core
            .langevin_move(key, &mut state.particles, self.params.h_x, None);
        let mut theta_change = 0.0f64;
        for (t, g) in state.theta.iter_mut().zip(&self.core.grad_theta) {
            let old = *t;
            *t -= self.params.h_theta * g;
            theta_change = theta_change.max((*t - old).abs());
        }
        Ok(ParticleEmInfo {
            dt: self.params.h_x,
            theta_change,
        })
    }
}

/// Particle quasi-Newton (module docs): PGD's particles, θ ← θ − h_θ H̄^{-1} g with
/// H̄ = (1/N) Σ_i ∇²_θ E(θ, X^i). Takes PGD's step sizes ([`PgdParams`]: h_θ now
/// multiplies the preconditioned gradient, so h_θ ≈ 1 is a full Newton step in θ).
pub struct Pqn<M> {
    core: ParticleEmCore<M>,
    params: PgdParams,
    /// ∇²_θ E(θ, X^i) of every particle, N × p².
    hess_rows: Vec<f64>,
    /// H̄, p × p.
    hess: Vec<f64>,
    /// H̄^{-1} g.
    direction: Vec<f64>,
}

impl<M: LatentModel> Pqn<M> {
    /// PQN for `model` (sequential particle loop).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for a model with no parameters or no latent
    /// coordinates; [`IntegratorError::Energy`] (source
    /// [`meanfield_energy::EnergyError::NotAvailable`]) for a model without
    /// [`LatentModel::hess_theta`].
    pub fn new(model: M, params: PgdParams) -> Result<Self> {
        let core = ParticleEmCore::new(model)?;
        let (p, d) = (core.model.theta_dim(), core.model.latent_dim());
        let mut probe = vec![0.0; p * p];
        require_available(core.model.hess_theta(
            &core.model.initial_theta(),
            &vec![0.0; d],
            &mut probe,
        ))?;
        Ok(Self {
            core,
            params,
            hess_rows: Vec::new(),
            hess: Vec::new(),
            direction: Vec::new(),
        })
    }

    /// Spreads the particle loops over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.parallelism = parallelism;
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.core.model
    }

    /// The parameters.
    pub fn params(&self) -> &PgdParams {
        &self.params
    }

    /// One step with the particle normals given (row i of `noise`, N × d, is ξ^i) instead
    /// of drawn from the key's streams: for replaying a reference implementation's noise.
    ///
    /// # Errors
    /// As [`Dynamics::step`], plus [`IntegratorError::IncompatibleState`] if `noise` is
    /// not N × d.
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut LatentState,
        noise: &[f64],
    ) -> Result<ParticleEmInfo> {
        check_noise_len(state, noise)?;
        self.advance(key, state, Some(noise))
    }

    /// H̄ = (1/N) Σ_i ∇²_θ E(θ, X^i), a block reduction over all particles of the run
    /// (every rank's), then H̄^{-1} g into `direction` (p = 1: g/H̄; else a dense LU
    /// solve; the same on every rank).
    fn newton_direction(&mut self, theta: &[f64], particles: &Ensemble, step: u64) -> Result<()> {
        let (p, d) = (theta.len(), particles.dim());
        self.hess_rows.resize(particles.n() * p * p, 0.0);
        // Blocks of the model's batch size (one call per step for a batch of all).
        let b = self.core.model.batch_size().clamp(1, particles.n().max(1));
        for (xs, h) in particles
            .as_slice()
            .chunks(b * d)
            .zip(self.hess_rows.chunks_mut(b * p * p))
        {
            self.core
                .model
                .hess_theta_batch(theta, xs, h)
                .map_err(energy_error(step))?;
        }
        self.hess = self.core.particle_mean(particles, p * p, &self.hess_rows)?;
        let g = &self.core.grad_theta;
        self.direction.clear();
        if g.iter().all(|v| *v == 0.0) {
            // At a stationary point the step is zero whatever H̄ is (no 0/0).
            self.direction.resize(p, 0.0);
            return Ok(());
        }
        if p == 1 {
            self.direction.push(g[0] / self.hess[0]);
        } else {
            let lin = |source| IntegratorError::LinearAlgebra { step, source };
            let a = meanfield_linalg::row_major(&self.hess, p, p).map_err(lin)?;
            let b = meanfield_linalg::row_major(g, p, 1).map_err(lin)?;
            let x = meanfield_linalg::dense_solve(a, b).map_err(lin)?;
            self.direction.extend((0..p).map(|j| x[(j, 0)]));
        }
        let curvature: f64 = g.iter().zip(&self.direction).map(|(g, v)| g * v).sum();
        if !(curvature > 0.0 && curvature.is_finite()) {
            return Err(IntegratorError::Diverged {
                step: step + 1,
                reason: format!(
                    "PQN preconditioner is not positive definite along the gradient: g·H̄⁻¹g = {curvature:e} (H̄ = {:?})",
                    self.hess
                ),
            });
        }
        Ok(())
    }

    fn advance(
        &mut self,
        key: StepKey,
        state: &mut LatentState,
        noise: Option<&[f64]>,
    ) -> Result<ParticleEmInfo> {
        let step = key.step();
        // Both gradients and H̄ at the old (θ, X).
        self.core
            .gradients(&state.theta, &state.particles, true, true, step)?;
        self.newton_direction(&state.theta, &state.particles, step)?;
        self.core
            .langevin_move(key, &mut state.particles, self.params.h_x, noise);
        let mut theta_change = 0.0f64;
        for (t, v) in state.theta.iter_mut().zip(&self.direction) {
            let old = *t;
            *t -= self.params.h_theta * v;
            theta_change = theta_change.max((*t - old).abs());
        }
        Ok(ParticleEmInfo {
            dt: self.params.h_x,
            theta_change,
        })
    }
}

fn check_noise_len(state: &LatentState, noise: &[f64]) -> Result<()> {
    let want = state.particles.n() * state.particles.dim();
    if noise.len() != want {
        return Err(IntegratorError::IncompatibleState(format!(
            "{} particle normals given, expected N × d = {want}",
            noise.len()
        )));
    }
    Ok(())
}

impl<M: LatentModel> Dynamics for Pqn<M> {
    type State = LatentState;
    type Info = ParticleEmInfo;

    fn fingerprint(&self) -> String {
        format!(
            "pqn(h_theta={:e}, h_x={:e}, model={})",
            self.params.h_theta,
            self.params.h_x,
            self.core.model.fingerprint()
        )
    }

    fn check_state(&self, state: &LatentState) -> Result<()> {
        self.core.check(state, false)
    }

    /// θ = [`LatentModel::initial_theta`], the particles as given, no momenta.
    fn init_state(&self, particles: Ensemble, _seed: u64) -> Result<LatentState> {
        Ok(self.core.pgd_state(particles))
    }

    fn step(&mut self, key: StepKey, state: &mut LatentState) -> Result<ParticleEmInfo> {
        self.advance(key, state, None)
    }
}

/// The particle step of particle marginal gradient descent: h_x (validated, > 0; build
/// with [`PmgdParams::new`]; deserialising runs the same check). θ has no step: it is
/// θ*(q) at every step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "raw::Pmgd")]
pub struct PmgdParams {
    h_x: f64,
}

impl PmgdParams {
    /// Particle step h_x, finite and > 0.
    pub fn new(h_x: f64) -> Result<Self> {
        Ok(Self {
            h_x: check_positive("h_x", h_x)?,
        })
    }

    /// Particle step h_x.
    pub fn h_x(&self) -> f64 {
        self.h_x
    }
}

/// Particle marginal gradient descent (module docs): X^i ← X^i − h_x ∇_x E(θ, X^i) +
/// √(2h_x) ξ^i with θ = θ*(q) from [`LatentModel::optimal_theta`], then θ ← θ*(X).
pub struct Pmgd<M> {
    core: ParticleEmCore<M>,
    params: PmgdParams,
}

impl<M: LatentModel> Pmgd<M> {
    /// PMGD for `model` (sequential particle loop).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for a model with no parameters or no latent
    /// coordinates; [`IntegratorError::Energy`] (source
    /// [`meanfield_energy::EnergyError::NotAvailable`]) for a model without
    /// [`LatentModel::optimal_theta`].
    pub fn new(model: M, params: PmgdParams) -> Result<Self> {
        let core = ParticleEmCore::new(model)?;
        let (p, d) = (core.model.theta_dim(), core.model.latent_dim());
        let mut probe = vec![0.0; p];
        require_available(core.model.optimal_theta(&vec![0.0; d], &mut probe))?;
        Ok(Self { core, params })
    }

    /// Spreads the particle loops over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.parallelism = parallelism;
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.core.model
    }

    /// The parameters.
    pub fn params(&self) -> &PmgdParams {
        &self.params
    }

    /// One step with the particle normals given (row i of `noise`, N × d, is ξ^i) instead
    /// of drawn from the key's streams: for replaying a reference implementation's noise.
    ///
    /// # Errors
    /// As [`Dynamics::step`], plus [`IntegratorError::IncompatibleState`] if `noise` is
    /// not N × d.
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut LatentState,
        noise: &[f64],
    ) -> Result<ParticleEmInfo> {
        check_noise_len(state, noise)?;
        self.advance(key, state, Some(noise))
    }

    /// θ*(particles) into a new vector. On a shard every rank's particles are
    /// all-gathered first (N·d doubles per step) and θ* is the model's closed form on
    /// the global particles: the single-process bits on every rank, for any model (its
    /// own summation order is kept, so no sufficient statistics are needed).
    fn optimal_theta(&self, particles: &Ensemble, step: u64) -> Result<Vec<f64>> {
        let mut theta = vec![0.0; self.core.model.theta_dim()];
        let global;
        let xs = if particles.shard().is_some() {
            global = crate::dynamics::gather_rows(particles, particles.as_slice())?;
            &global[..]
        } else {
            particles.as_slice()
        };
        self.core
            .model
            .optimal_theta(xs, &mut theta)
            .map_err(energy_error(step))?;
        Ok(theta)
    }

    fn advance(
        &mut self,
        key: StepKey,
        state: &mut LatentState,
        noise: Option<&[f64]>,
    ) -> Result<ParticleEmInfo> {
        let step = key.step();
        self.core
            .gradients(&state.theta, &state.particles, false, true, step)?;
        self.core
            .langevin_move(key, &mut state.particles, self.params.h_x, noise);
        let theta = self.optimal_theta(&state.particles, step)?;
        let theta_change = state
            .theta
            .iter()
            .zip(&theta)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        state.theta = theta;
        Ok(ParticleEmInfo {
            dt: self.params.h_x,
            theta_change,
        })
    }
}

impl<M: LatentModel> Dynamics for Pmgd<M> {
    type State = LatentState;
    type Info = ParticleEmInfo;

    fn fingerprint(&self) -> String {
        format!(
            "pmgd(h_x={:e}, model={})",
            self.params.h_x,
            self.core.model.fingerprint()
        )
    }

    fn check_state(&self, state: &LatentState) -> Result<()> {
        self.core.check(state, false)
    }

    /// θ = θ*(X₀) ([`LatentModel::optimal_theta`]), the particles as given, no momenta.
    fn init_state(&self, particles: Ensemble, _seed: u64) -> Result<LatentState> {
        self.core
            .check(&self.core.pgd_state(particles.clone()), false)?;
        let theta = self.optimal_theta(&particles, 0)?;
        Ok(LatentState::new(theta, particles))
    }

    fn step(&mut self, key: StepKey, state: &mut LatentState) -> Result<ParticleEmInfo> {
        self.advance(key, state, None)
    }
}

/// −expm1(−t) = 1 − e^{−t}, accurate for small t.
fn one_minus_exp(t: f64) -> f64 {
    -(-t).exp_m1()
}

/// t − (1 − e^{−t}) = Σ_{k≥2} (−1)^k t^k/k!, by its series for t < 1 (no cancellation).
fn t_minus_one_minus_exp(t: f64) -> f64 {
    if t < 1.0 {
        // term_k = (−1)^k t^k/k!, starting from term_1 = −t.
        let (mut term, mut sum) = (-t, 0.0);
        for k in 2..30 {
            term *= -t / k as f64;
            sum += term;
        }
        sum
    } else {
        t - one_minus_exp(t)
    }
}

/// f(t) = 2t − 3 + 4e^{−t} − e^{−2t} = Σ_{k≥3} (4(−1)^k − (−2)^k) t^k/k!, by its series
/// for t < 1.
fn position_variance_factor(t: f64) -> f64 {
    if t < 1.0 {
        let (mut a, mut b, mut sum) = (1.0, 1.0, 0.0); // a = t^k/k!·(−1)^k, b = (−2t)^k/k!
        for k in 1..40 {
            a *= -t / k as f64;
            b *= -2.0 * t / k as f64;
            if k >= 3 {
                sum += 4.0 * a - b;
            }
        }
        sum
    } else {
        let s = (-t).exp();
        2.0 * t - 3.0 + 4.0 * s - s * s
    }
}

/// The per-coordinate noise of MPD's particle step and its Cholesky factor (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MpdNoise {
    /// Var n_X = (1/γ)(2h − s²/G + 4s/G − 3/G).
    pub var_x: f64,
    /// Cov(n_X, n_U) = (1 − s)²/G.
    pub cov: f64,
    /// Var n_U = (1 − s²)/η.
    pub var_u: f64,
    /// Cholesky factor L = [[l11, 0], [l21, l22]], LLᵀ = covariance.
    pub l11: f64,
    /// See `l11`.
    pub l21: f64,
    /// See `l11`.
    pub l22: f64,
}

impl MpdNoise {
    /// The noise of step h, damping γ and mass η (all > 0). Fails only if the covariance
    /// is not positive definite in floating point (t = γηh so small or large that a
    /// variance underflows).
    pub fn new(h: f64, gamma: f64, eta: f64) -> Result<Self> {
        let g = gamma * eta;
        let t = g * h;
        let var_x = position_variance_factor(t) / (gamma * g);
        let one_s = one_minus_exp(t);
        let var_u = one_minus_exp(2.0 * t) / eta;
        let cov = one_s * one_s / g;
        // det = [f(t)(1 − e^{−2t}) − (1 − e^{−t})⁴]/G².
        let det = (position_variance_factor(t) * one_minus_exp(2.0 * t) - one_s.powi(4)) / (g * g);
        if !(var_x > 0.0 && var_u > 0.0 && det > 0.0 && det.is_finite()) {
            return Err(IntegratorError::InvalidParameter {
                name: "gamma_x·eta_x·h_x",
                value: t,
                reason: "MPD noise covariance is not positive definite in floating point",
            });
        }
        let l11 = var_x.sqrt();
        let l21 = cov / l11;
        let l22 = (det / var_x).sqrt();
        Ok(Self {
            var_x,
            cov,
            var_u,
            l11,
            l21,
            l22,
        })
    }
}

/// Parameters of MPD (module docs), validated: steps from [`MpdParams::new`], masses and
/// dampings from [`MpdParams::with_theta_momentum`] and
/// [`MpdParams::with_particle_momentum`] (default η = γ = 1 for both); deserialising
/// runs the same checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "raw::Mpd")]
pub struct MpdParams {
    h_theta: f64,
    h_x: f64,
    eta_theta: f64,
    eta_x: f64,
    gamma_theta: f64,
    gamma_x: f64,
}

impl MpdParams {
    /// θ step h_θ and particle step h_x (finite, > 0), unit masses and dampings.
    pub fn new(h_theta: f64, h_x: f64) -> Result<Self> {
        Ok(Self {
            h_theta: check_positive("h_theta", h_theta)?,
            h_x: check_positive("h_x", h_x)?,
            eta_theta: 1.0,
            eta_x: 1.0,
            gamma_theta: 1.0,
            gamma_x: 1.0,
        })
    }

    /// θ momentum mass η_θ and damping γ_θ (finite, > 0).
    pub fn with_theta_momentum(mut self, eta_theta: f64, gamma_theta: f64) -> Result<Self> {
        self.eta_theta = check_positive("eta_theta", eta_theta)?;
        self.gamma_theta = check_positive("gamma_theta", gamma_theta)?;
        Ok(self)
    }

    /// Particle momentum mass η_x and damping γ_x (finite, > 0).
    pub fn with_particle_momentum(mut self, eta_x: f64, gamma_x: f64) -> Result<Self> {
        self.eta_x = check_positive("eta_x", eta_x)?;
        self.gamma_x = check_positive("gamma_x", gamma_x)?;
        Ok(self)
    }

    /// θ step h_θ.
    pub fn h_theta(&self) -> f64 {
        self.h_theta
    }

    /// Particle step h_x.
    pub fn h_x(&self) -> f64 {
        self.h_x
    }

    /// θ momentum mass η_θ.
    pub fn eta_theta(&self) -> f64 {
        self.eta_theta
    }

    /// Particle momentum mass η_x.
    pub fn eta_x(&self) -> f64 {
        self.eta_x
    }

    /// θ damping γ_θ.
    pub fn gamma_theta(&self) -> f64 {
        self.gamma_theta
    }

    /// Particle damping γ_x.
    pub fn gamma_x(&self) -> f64 {
        self.gamma_x
    }
}

/// The unvalidated forms that deserialisation goes through (`serde(try_from)`), so a
/// config file cannot skip the constructors' checks.
mod raw {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Pgd {
        h_theta: f64,
        h_x: f64,
    }

    impl TryFrom<Pgd> for super::PgdParams {
        type Error = crate::IntegratorError;
        fn try_from(r: Pgd) -> Result<Self, Self::Error> {
            Self::new(r.h_theta, r.h_x)
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Pmgd {
        h_x: f64,
    }

    impl TryFrom<Pmgd> for super::PmgdParams {
        type Error = crate::IntegratorError;
        fn try_from(r: Pmgd) -> Result<Self, Self::Error> {
            Self::new(r.h_x)
        }
    }

    fn one() -> f64 {
        1.0
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Mpd {
        h_theta: f64,
        h_x: f64,
        #[serde(default = "one")]
        eta_theta: f64,
        #[serde(default = "one")]
        eta_x: f64,
        #[serde(default = "one")]
        gamma_theta: f64,
        #[serde(default = "one")]
        gamma_x: f64,
    }

    impl TryFrom<Mpd> for super::MpdParams {
        type Error = crate::IntegratorError;
        fn try_from(r: Mpd) -> Result<Self, Self::Error> {
            Self::new(r.h_theta, r.h_x)?
                .with_theta_momentum(r.eta_theta, r.gamma_theta)?
                .with_particle_momentum(r.eta_x, r.gamma_x)
        }
    }
}

/// Step coefficients of MPD, computed once.
#[derive(Debug, Clone, Copy)]
struct MpdCoefficients {
    /// ω = e^{−γ_θ η_θ h_θ}.
    omega: f64,
    /// (1 − ω)/γ_θ: look-ahead.
    look_ahead: f64,
    /// (1/γ_θ)(h_θ − (1 − ω)/(γ_θ η_θ)): θ step on g.
    theta_step: f64,
    /// (1 − ω)/(γ_θ η_θ): momentum step on g.
    momentum_step: f64,
    /// s = e^{−γ_x η_x h_x}.
    s: f64,
    /// (1 − s)/γ_x: position step on U.
    x_from_u: f64,
    /// (1/γ_x)(h_x − (1 − s)/G): position step on S.
    x_from_score: f64,
    /// (1 − s)/G: momentum step on S.
    u_from_score: f64,
    noise: MpdNoise,
}

impl MpdCoefficients {
    fn new(p: &MpdParams) -> Result<Self> {
        let gt = p.gamma_theta * p.eta_theta;
        let tt = gt * p.h_theta;
        let gx = p.gamma_x * p.eta_x;
        let tx = gx * p.h_x;
        Ok(Self {
            omega: (-tt).exp(),
            look_ahead: one_minus_exp(tt) / p.gamma_theta,
            theta_step: t_minus_one_minus_exp(tt) / (gt * p.gamma_theta),
            momentum_step: one_minus_exp(tt) / gt,
            s: (-tx).exp(),
            x_from_u: one_minus_exp(tx) / p.gamma_x,
            x_from_score: t_minus_one_minus_exp(tx) / (gx * p.gamma_x),
            u_from_score: one_minus_exp(tx) / gx,
            noise: MpdNoise::new(p.h_x, p.gamma_x, p.eta_x)?,
        })
    }
}

/// Momentum Particle Descent (module docs).
pub struct Mpd<M> {
    core: ParticleEmCore<M>,
    params: MpdParams,
    coef: MpdCoefficients,
    look_ahead: Vec<f64>,
}

impl<M: LatentModel> Mpd<M> {
    /// MPD for `model` (sequential particle loop). Fails if the noise covariance is not
    /// positive definite in floating point ([`MpdNoise::new`]).
    pub fn new(model: M, params: MpdParams) -> Result<Self> {
        Ok(Self {
            core: ParticleEmCore::new(model)?,
            coef: MpdCoefficients::new(&params)?,
            params,
            look_ahead: Vec::new(),
        })
    }

    /// Spreads the particle loops over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.parallelism = parallelism;
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.core.model
    }

    /// The parameters.
    pub fn params(&self) -> &MpdParams {
        &self.params
    }

    /// The particle-step noise.
    pub fn noise(&self) -> MpdNoise {
        self.coef.noise
    }

    /// The starting state of a run with seed `seed`: θ = [`LatentModel::initial_theta`],
    /// the particles, m = 0 and U^i ~ N(0, I/η_x) drawn from the streams of (seed,
    /// [`streams::MOMENTUM_INIT`]).
    fn initial_state(&self, particles: Ensemble, seed: u64) -> Result<LatentState> {
        let theta = self.core.model.initial_theta();
        let init = NoiseStreams::new(seed, streams::MOMENTUM_INIT);
        let scale = 1.0 / self.params.eta_x.sqrt();
        // U^i from the stream of global particle i; a shard's momenta are split like its
        // particles.
        let draw = |i: usize, row: &mut [f64]| {
            init.fill_standard_normal(0, i as u64, row);
            row.iter_mut().for_each(|v| *v *= scale);
        };
        let (d, domain) = (particles.dim(), particles.domain().clone());
        let u = match particles.shard() {
            None => Ensemble::from_fn(particles.n(), d, domain, draw)?,
            Some(s) => {
                Ensemble::from_fn_shard(*s.partition(), s.collective().clone(), d, domain, draw)?
            }
        };
        Ok(LatentState {
            momenta: Some(Momenta {
                theta: vec![0.0; theta.len()],
                particles: u,
            }),
            theta,
            particles,
        })
    }
}

/// Calls `f(i, x_i, u_i, aux_i)` for every particle (rows of `x` and `u` of length d, of
/// `aux` of length `aux_d`), sequentially or over the rayon pool.
fn for_each_pair_mut<F>(
    par: Parallelism,
    x: &mut [f64],
    u: &mut [f64],
    d: usize,
    aux: &[f64],
    aux_d: usize,
    f: F,
) where
    F: Fn(usize, &mut [f64], &mut [f64], &[f64]) + Send + Sync,
{
    match par {
        Parallelism::Sequential => x
            .chunks_exact_mut(d)
            .zip(u.chunks_exact_mut(d))
            .zip(aux.chunks_exact(aux_d))
            .enumerate()
            .for_each(|(i, ((x, u), a))| f(i, x, u, a)),
        Parallelism::Rayon => x
            .par_chunks_exact_mut(d)
            .zip(u.par_chunks_exact_mut(d))
            .zip(aux.par_chunks_exact(aux_d))
            .enumerate()
            .with_min_len(64)
            .for_each(|(i, ((x, u), a))| f(i, x, u, a)),
    }
}

impl<M: LatentModel> Dynamics for Mpd<M> {
    type State = LatentState;
    type Info = ParticleEmInfo;

    fn fingerprint(&self) -> String {
        let p = &self.params;
        format!(
            "mpd(h_theta={:e}, h_x={:e}, eta_theta={:e}, eta_x={:e}, gamma_theta={:e}, gamma_x={:e}, model={})",
            p.h_theta,
            p.h_x,
            p.eta_theta,
            p.eta_x,
            p.gamma_theta,
            p.gamma_x,
            self.core.model.fingerprint()
        )
    }

    fn check_state(&self, state: &LatentState) -> Result<()> {
        self.core.check(state, true)
    }

    /// θ = [`LatentModel::initial_theta`], the particles as given, m = 0 and
    /// U^i ~ N(0, I/η_x) from the streams of (seed, [`streams::MOMENTUM_INIT`]).
    fn init_state(&self, particles: Ensemble, seed: u64) -> Result<LatentState> {
        self.initial_state(particles, seed)
    }

    fn step(&mut self, key: StepKey, state: &mut LatentState) -> Result<ParticleEmInfo> {
        let step = key.step();
        let c = self.coef;
        let d = state.particles.dim();
        let mom = state
            .momenta
            .as_mut()
            .ok_or_else(|| IntegratorError::IncompatibleState("MPD state has no momenta".into()))?;
        // θ-step with look-ahead θ̃ = θ + ((1 − ω)/γ_θ) m and g = g(θ̃) at the old particles.
        self.look_ahead.clear();
        self.look_ahead.extend(
            state
                .theta
                .iter()
                .zip(&mom.theta)
                .map(|(t, m)| t + c.look_ahead * m),
        );
        self.core
            .gradients(&self.look_ahead, &state.particles, true, false, step)?;
        let mut theta_change = 0.0f64;
        for (((t, m), la), g) in state
            .theta
            .iter_mut()
            .zip(mom.theta.iter_mut())
            .zip(&self.look_ahead)
            .zip(&self.core.grad_theta)
        {
            let old = *t;
            *t = la - c.theta_step * g;
            *m = c.omega * *m - c.momentum_step * g;
            theta_change = theta_change.max((*t - old).abs());
        }
        // Particle step with the updated θ: exact damped Langevin with frozen score.
        self.core
            .gradients(&state.theta, &state.particles, false, true, step)?;
        let noise = key.streams(streams::PARTICLE_EM_NOISE);
        let first = state.particles.first_index();
        let nz = c.noise;
        for_each_pair_mut(
            self.core.parallelism,
            state.particles.as_mut_slice(),
            mom.particles.as_mut_slice(),
            d,
            &self.core.gx,
            d,
            |i, x, u, grad| {
                // Keyed by the global index (a rank draws the single-process noise).
                let mut xis = noise.normals(first + i as u64);
                // First d normals drive n_X (as in PGD), the next d complete n_U.
                for ((x, (u, g)), xi) in x.iter_mut().zip(u.iter_mut().zip(grad)).zip(&mut xis) {
                    let score = -g;
                    *x += c.x_from_u * *u + c.x_from_score * score + nz.l11 * xi;
                    // Park ξ₁'s contribution to n_U in u until ξ₂ is drawn.
                    *u = c.s * *u + c.u_from_score * score + nz.l21 * xi;
                }
                for (u, xi2) in u.iter_mut().zip(xis) {
                    *u += nz.l22 * xi2;
                }
            },
        );
        Ok(ParticleEmInfo {
            dt: self.params.h_x,
            theta_change,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialising_params_runs_the_constructors_checks() {
        let p: PgdParams = serde_json::from_str(r#"{"h_theta": 0.1, "h_x": 0.01}"#).unwrap();
        assert_eq!(p, PgdParams::new(0.1, 0.01).unwrap());
        let e = serde_json::from_str::<PgdParams>(r#"{"h_theta": -1.0, "h_x": 0.01}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("h_theta"), "{e}");
        assert!(
            serde_json::from_str::<PgdParams>(r#"{"h_theta": 1, "h_x": 1, "seed": 3}"#).is_err()
        );
        let m: MpdParams =
            serde_json::from_str(r#"{"h_theta": 0.1, "h_x": 0.01, "gamma_x": 2.0}"#).unwrap();
        assert_eq!(
            m,
            MpdParams::new(0.1, 0.01)
                .unwrap()
                .with_particle_momentum(1.0, 2.0)
                .unwrap()
        );
        let e = serde_json::from_str::<MpdParams>(r#"{"h_theta": 0.1, "h_x": 0.01, "eta_x": 0.0}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("eta_x"), "{e}");
        // Round trip through the serialised form.
        assert_eq!(
            serde_json::from_str::<MpdParams>(&serde_json::to_string(&m).unwrap()).unwrap(),
            m
        );
        let l: LangevinParams = serde_json::from_str(r#"{"lambda": 0.5, "eta": 0.1}"#).unwrap();
        assert_eq!(l, LangevinParams::new(0.5, 0.1).unwrap());
        assert!(serde_json::from_str::<LangevinParams>(r#"{"lambda": 0.0, "eta": 0.1}"#).is_err());
    }

    #[test]
    fn series_match_closed_forms_where_both_are_accurate() {
        for t in [0.3f64, 0.7, 0.999] {
            let s = (-t).exp();
            let f = 2.0 * t - 3.0 + 4.0 * s - s * s;
            assert!((position_variance_factor(t) - f).abs() < 1e-12 * f.abs().max(1e-3));
            let g = t - (1.0 - s);
            assert!((t_minus_one_minus_exp(t) - g).abs() < 1e-14);
        }
        // Small t: leading terms (2/3)t³ and t²/2.
        let t = 1e-6;
        assert!((position_variance_factor(t) / (t * t * t) - 2.0 / 3.0).abs() < 1e-5);
        assert!((t_minus_one_minus_exp(t) / (t * t) - 0.5).abs() < 1e-5);
    }
}
