//! Particle swarm optimisation as a consensus dynamics (Grassi, Pareschi 2021 "From
//! particle swarm optimization to consensus based optimization"; Huang, Qiu, Riedl 2023;
//! CBXpy's `PSO`): CBO with memory (personal bests Y^i, [`super::memory`]) and inertia —
//! every particle carries a velocity V^i,
//!
//! dX = V dt,
//! m dV = −γ V dt + λ (v_α − X) dt + λ_m (Y − X) dt + σ D(X − v_α) dB + σ_m D(X − Y) dB̃,
//!
//! with the consensus v_α of the memories (weighted by f(Y^i)) and D(·) the noise shape
//! (anisotropic u ⊙ ξ, isotropic |u|₂ ξ). One step (the semi-implicit Euler scheme of
//! Grassi–Pareschi §4, implicit in the friction):
//!
//! 0. v_α of the memories (the shared log-space consensus);
//! 1. with D^i = X^i − v_α and E^i = X^i − Y^i (both at the old X^i),
//!    V^i ← (m V^i − λ dt D^i − λ_m dt E^i + σ √dt D(D^i) ξ^i + σ_m √dt D(E^i) ζ^i) / (m + γ dt),
//!    X^i ← X^i + dt V^i;
//! 2. f(X^i); Y^i ← X^i where f(X^i) < f(Y^i) (strictly); best particle, α schedule on
//!    the memory values — all shared with CBO with memory.
//!
//! m → 0 is the overdamped limit: with γ = 1 the position update is CBO with memory's
//! (both drifts and noises at the old X). CBXpy 1.0.4's `PSO` writes the velocity update as
//! (m dt V + λ dt D + λ_m dt E + noise)/(m + γ dt): the drift terms carry the sign that
//! pushes particles *away* from v_α and Y, and the inertia an extra dt; its particles
//! leave any bounded region (docs/cbo.md §12). We implement the paper's scheme; the golden
//! test compares with CBXpy's `PSO` with those two terms corrected (benches/peers/pso_golden.py).
//!
//! ξ^i and ζ^i come from the streams of (seed, [`CBO_NOISE`](meanfield_measures::streams::CBO_NOISE), step, i) and
//! (seed, [`CBO_MEMORY_NOISE`](meanfield_measures::streams::CBO_MEMORY_NOISE), step, i): rows are independent, so any thread
//! count gives the same bits. Mini-batches are refused (as for CBO with memory).

use meanfield_energy::Objective;
use meanfield_measures::{Ensemble, Parallelism};
use serde::{Deserialize, Serialize};

use super::memory::{
    MemoryStep, Noise, check_memory_state, check_noise_lengths, init_memory_state,
    memory_consensus, noise_normals, record_memories,
};
use super::{CboInfo, CboMemoryParams, CboMemoryState, CboNoise, for_each_row_pair_mut};
use crate::dynamics::{DistributedState, Dynamics, DynamicsState, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one, check_non_negative};

/// Parameters of PSO: CBO with memory's ([`CboMemoryParams`]: λ, σ, dt, α, schedule,
/// noise shape, λ_m, σ_m) plus the inertia m ≥ 0 and the friction γ ≥ 0 (m + γ dt > 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PsoParams {
    memory: CboMemoryParams,
    inertia: f64,
    friction: f64,
}

impl PsoParams {
    /// Inertia m ≥ 0 and friction γ ≥ 0 with m + γ dt > 0 (CBXpy's defaults: m = 0.001,
    /// γ = 1 − m).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for m or γ not finite and ≥ 0, or m + γ dt = 0
    /// (the velocity update divides by it).
    pub fn new(memory: CboMemoryParams, inertia: f64, friction: f64) -> Result<Self> {
        let inertia = check_non_negative("inertia", inertia)?;
        let friction = check_non_negative("friction", friction)?;
        if inertia + friction * memory.cbo().dt() <= 0.0 {
            return Err(IntegratorError::InvalidParameter {
                name: "inertia",
                value: inertia,
                reason: "m + γ dt must be > 0 (m = γ = 0 leaves the velocity undefined)",
            });
        }
        Ok(Self {
            memory,
            inertia,
            friction,
        })
    }

    /// CBO with memory's parameters.
    pub fn memory(&self) -> &CboMemoryParams {
        &self.memory
    }

    /// Inertia m.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Friction γ.
    pub fn friction(&self) -> f64 {
        self.friction
    }
}

/// The state of PSO: CBO with memory's state and the velocities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsoState {
    /// Particles, personal bests, α, consensus, best memory, evaluations.
    pub memory: CboMemoryState,
    /// Velocities V, row-major N × d (0 at the start, CBXpy's).
    pub velocity: Vec<f64>,
}

impl DynamicsState for PsoState {
    fn non_finite(&self) -> Option<String> {
        self.memory
            .non_finite()
            .or_else(|| super::non_finite_coordinate("velocity", &self.velocity))
    }

    fn collective(&self) -> Option<std::sync::Arc<dyn meanfield_measures::Collective>> {
        self.memory.collective()
    }
}

/// The velocities are split over the ranks like the particles; the rest is CBO with
/// memory's distributed state.
impl DistributedState for PsoState {
    fn gathered(&self) -> Result<Self> {
        Ok(Self {
            memory: self.memory.gathered()?,
            velocity: crate::dynamics::gather_rows(&self.memory.cbo.ensemble, &self.velocity)?,
        })
    }

    fn scattered(
        &self,
        collective: std::sync::Arc<dyn meanfield_measures::Collective>,
    ) -> Result<Self> {
        let memory = self.memory.scattered(collective)?;
        let ens = &memory.cbo.ensemble;
        let velocity =
            crate::dynamics::scatter_rows(ens, &self.velocity, ens.dim(), "the velocity")?;
        Ok(Self { memory, velocity })
    }
}

/// PSO on an [`Objective`].
pub struct Pso<O> {
    objective: O,
    params: PsoParams,
    parallelism: Parallelism,
    energies: Vec<f64>,
    weights: Vec<f64>,
    consensus: Vec<f64>,
}

/// The coefficients of step 1 (module docs).
#[derive(Clone, Copy)]
struct Velocity {
    kind: CboNoise,
    /// m, λ dt, λ_m dt, σ, σ_m, √dt, m + γ dt, dt.
    inertia: f64,
    ldt: f64,
    lmdt: f64,
    sigma: f64,
    sigma_memory: f64,
    sqdt: f64,
    denom: f64,
    dt: f64,
}

impl Velocity {
    /// Step 1 for one particle: x, its velocity u, consensus v, memory y, normals ξ, ζ, in
    /// the operation order of CBXpy's `PSO` (numerator summed left to right, then divided).
    #[inline]
    fn apply(
        &self,
        x: &mut [f64],
        u: &mut [f64],
        v: &[f64],
        y: &[f64],
        xi: impl Iterator<Item = f64>,
        zeta: impl Iterator<Item = f64>,
    ) {
        // The noise scale of each term: the coordinate (anisotropic) or the norm (isotropic).
        let norms = match self.kind {
            CboNoise::Isotropic => {
                let norm = |c: &[f64]| {
                    x.iter()
                        .zip(c)
                        .map(|(x, c)| (x - c) * (x - c))
                        .sum::<f64>()
                        .sqrt()
                };
                Some((norm(v), norm(y)))
            }
            _ => None,
        };
        for (((x, u), (&v, &y)), (xi, zeta)) in x
            .iter_mut()
            .zip(u.iter_mut())
            .zip(v.iter().zip(y))
            .zip(xi.zip(zeta))
        {
            let (dc, dm) = (*x - v, *x - y);
            let (sc, sm) = norms.unwrap_or((dc, dm));
            *u = (self.inertia * *u - self.ldt * dc - self.lmdt * dm
                + self.sigma * (self.sqdt * (xi * sc))
                + self.sigma_memory * (self.sqdt * (zeta * sm)))
                / self.denom;
            *x += self.dt * *u;
        }
    }
}

impl<O: Objective> Pso<O> {
    /// PSO for `objective` with validated `params` (sequential loops).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an objective of dimension 0.
    pub fn new(objective: O, params: PsoParams) -> Result<Self> {
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
    pub fn params(&self) -> &PsoParams {
        &self.params
    }

    /// One step with caller-supplied normals: `consensus_noise` ξ and `memory_noise` ζ
    /// (row-major N × d each).
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut PsoState,
        consensus_noise: &[f64],
        memory_noise: &[f64],
    ) -> Result<CboInfo> {
        let nd = state.velocity.len();
        check_noise_lengths(nd, consensus_noise, memory_noise)?;
        self.advance(state, key, Noise::Given(consensus_noise, memory_noise))
    }

    fn advance(
        &mut self,
        state: &mut PsoState,
        key: StepKey,
        source: Noise<'_>,
    ) -> Result<CboInfo> {
        let step = key.step();
        let mem = &mut state.memory;
        let d = mem.cbo.ensemble.dim();
        let alpha = mem.cbo.alpha;
        let ess = memory_consensus(
            self.parallelism,
            mem,
            &mut self.weights,
            &mut self.consensus,
            step,
        )?;

        let p = &self.params;
        let (c, m) = (p.memory.cbo(), &p.memory);
        let vel = Velocity {
            kind: c.noise(),
            inertia: p.inertia,
            ldt: c.lambda() * c.dt(),
            lmdt: m.lambda_memory() * c.dt(),
            sigma: c.sigma(),
            sigma_memory: m.sigma_memory(),
            sqdt: c.dt().sqrt(),
            denom: p.inertia + p.friction * c.dt(),
            dt: c.dt(),
        };
        let (v, y) = (&self.consensus, &mem.memory);
        let first = mem.cbo.ensemble.first_index();
        let update = |i: usize, x: &mut [f64], u: &mut [f64]| {
            let yi = &y[i * d..(i + 1) * d];
            match source {
                Noise::Given(z, w) => {
                    let r = i * d..(i + 1) * d;
                    vel.apply(
                        x,
                        u,
                        v,
                        yi,
                        z[r.clone()].iter().copied(),
                        w[r].iter().copied(),
                    )
                }
                Noise::Streams(key) => {
                    let (r, s) = noise_normals(key, first + i as u64);
                    vel.apply(x, u, v, yi, r, s)
                }
            }
        };
        for_each_row_pair_mut(
            self.parallelism,
            mem.cbo.ensemble.as_mut_slice(),
            &mut state.velocity,
            d,
            update,
        );

        record_memories(
            self.parallelism,
            &self.objective,
            mem,
            &mut self.energies,
            &self.consensus,
            c,
            MemoryStep { alpha, ess, step },
        )
    }
}

impl<O: Objective> Dynamics for Pso<O> {
    type State = PsoState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        let p = &self.params;
        format!(
            "pso(inertia={:e}, friction={:e}, lambda_memory={:e}, sigma_memory={:e}, {}, f={})",
            p.inertia,
            p.friction,
            p.memory.lambda_memory(),
            p.memory.sigma_memory(),
            p.memory.cbo().fingerprint_fields(),
            self.objective.fingerprint()
        )
    }

    /// As CBO with memory's; the velocities have N·d entries.
    fn check_state(&self, state: &PsoState) -> Result<()> {
        check_memory_state(&state.memory, self.objective.dim())?;
        let nd = state.memory.memory.len();
        if state.velocity.len() != nd {
            return Err(IntegratorError::IncompatibleState(format!(
                "velocity has {} coordinates, need N·d = {nd}",
                state.velocity.len()
            )));
        }
        Ok(())
    }

    /// Y = X₀ with f(Y) evaluated (N evaluations), V = 0, α = α₀, no consensus yet.
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<PsoState> {
        let nd = ensemble.n() * ensemble.dim();
        let memory = init_memory_state(
            self.parallelism,
            &self.objective,
            ensemble,
            self.params.memory.cbo().alpha(),
        )?;
        Ok(PsoState {
            memory,
            velocity: vec![0.0; nd],
        })
    }

    /// One step with ξ^i from (seed, CBO_NOISE, step, i), ζ^i from (seed, CBO_MEMORY_NOISE, step, i).
    fn step(&mut self, key: StepKey, state: &mut PsoState) -> Result<CboInfo> {
        self.advance(state, key, Noise::Streams(key))
    }
}
