//! Constrained CBO on a hypersurface Γ (a sphere |x| = r or a hyperplane a·x = b), by two
//! schemes:
//!
//! - **drift-constrained** (Carrillo, Totzeck, Vaes et al. 2024 "An interacting particle
//!   consensus method for constrained global optimization"; CBXpy's `DriftConstrainedCBO`):
//!   CBO plus the penalty drift −(1/ε)∇(g²) of the constraint g(x) = 0, implicit in the
//!   penalty: with c = dt/ε, D = X − v_α and the noise s = σ√dt D ⊙ ξ (isotropic |D|₂ ξ),
//!   X ← X − (I + c ∇²(g²)(X))⁻¹ (λ dt D + c ∇(g²)(X) + s),
//!   g(x) = |x|² − r² (sphere) or (a·x − b)/|a| (hyperplane), both CBXpy's; the particles
//!   approach Γ as ε → 0 (they are not on it).
//! - **hypersurface** (Fornasier, Huang, Pareschi, Sünnen 2021; CBXpy's `HyperSurfaceCBO`):
//!   the dynamics projected on the tangent space P(X) = I − ∇φ∇φᵀ of the signed distance φ
//!   with its Itô correction, then projected back on Γ:
//!   X̃ = X + P(X)(−λ dt D + s) − dt σ²/2 · c(X, D),  X ← proj_Γ(X̃),
//!   isotropic c = Δφ(X) |D|² ∇φ(X) (sphere: ∇φ = X/|X|, Δφ = (d − 1)/|X|; plane: 0);
//!   anisotropic on the sphere of radius r c = (|D|² + D ⊙ D − 2 (D·X)²/r²) X/r² (CBXpy's
//!   unit-sphere correction for r = 1; for other r the unit-sphere scheme conjugated by the
//!   dilation x = r y, so the run on |x| = r is r times the unit-sphere run of f(r·) fed the
//!   same normals — every other term is 1-homogeneous in (x, v)), on the plane 0 (P is
//!   constant). The particles lie on Γ after every step.
//!
//! One step: f and v_α on every particle (the shared log-space consensus), best particle
//! before the move (CBO's), the move above, consensus bookkeeping and the α schedule.
//! ξ^i comes from the stream of (seed, CBO_NOISE, step, i): any thread count gives the
//! same bits. No mini-batches and no covariance noise (typed errors).

use meanfield_energy::Objective;
use meanfield_measures::parallel::for_each_chunk_mut;
use meanfield_measures::{Ensemble, Parallelism, streams};
use serde::{Deserialize, Serialize};

use super::{
    CboInfo, CboNoise, CboParams, CboState, ConsensusStep, MIN_ROWS_PER_TASK,
    check_consensus_state, check_per_particle_noise,
};
use crate::dynamics::{Dynamics, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one, check_positive};
use crate::projected::with_written_scratch;

/// The hypersurface Γ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hypersurface {
    /// |x|₂ = r (r > 0).
    Sphere {
        /// Radius r.
        radius: f64,
    },
    /// a·x = b (a ≠ 0).
    Hyperplane {
        /// Normal a.
        normal: Vec<f64>,
        /// Offset b.
        offset: f64,
    },
}

impl Hypersurface {
    /// The sphere of radius r > 0.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for r not finite and > 0.
    pub fn sphere(radius: f64) -> Result<Self> {
        Ok(Self::Sphere {
            radius: check_positive("radius", radius)?,
        })
    }

    /// The hyperplane a·x = b.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for a non-finite or zero normal or offset.
    pub fn hyperplane(normal: Vec<f64>, offset: f64) -> Result<Self> {
        check_at_least_one("hyperplane dimension", normal.len() as u64)?;
        if let Some(&v) = normal.iter().find(|v| !v.is_finite()) {
            return Err(IntegratorError::InvalidParameter {
                name: "normal",
                value: v,
                reason: "the hyperplane's normal must be finite",
            });
        }
        if normal.iter().all(|&v| v == 0.0) {
            return Err(IntegratorError::InvalidParameter {
                name: "normal",
                value: 0.0,
                reason: "the hyperplane's normal must not be zero",
            });
        }
        if !offset.is_finite() {
            return Err(IntegratorError::InvalidParameter {
                name: "offset",
                value: offset,
                reason: "the hyperplane's offset must be finite",
            });
        }
        Ok(Self::Hyperplane { normal, offset })
    }

    /// The closest point of Γ to x, in place (sphere: r x/|x|, x ≠ 0; plane:
    /// x − (a·x − b)/|a|² a).
    pub fn project(&self, x: &mut [f64]) {
        match self {
            Self::Sphere { radius } => {
                let n = norm(x);
                x.iter_mut().for_each(|v| *v = radius * *v / n);
            }
            Self::Hyperplane { normal, offset } => {
                let t = (dot(normal, x) - offset) / dot(normal, normal);
                x.iter_mut().zip(normal).for_each(|(v, a)| *v -= t * a);
            }
        }
    }

    /// x ← the closest point of Γ to y: [`Hypersurface::project`] of a copy of y, the
    /// same operations without the copy.
    fn project_into(&self, y: &[f64], x: &mut [f64]) {
        match self {
            Self::Sphere { radius } => {
                let n = norm(y);
                x.iter_mut().zip(y).for_each(|(v, y)| *v = radius * y / n);
            }
            Self::Hyperplane { normal, offset } => {
                let t = (dot(normal, y) - offset) / dot(normal, normal);
                x.iter_mut()
                    .zip(y)
                    .zip(normal)
                    .for_each(|((v, y), a)| *v = y - t * a);
            }
        }
    }

    /// The distance of x from Γ.
    pub fn distance(&self, x: &[f64]) -> f64 {
        match self {
            Self::Sphere { radius } => (norm(x) - radius).abs(),
            Self::Hyperplane { normal, offset } => {
                (dot(normal, x) - offset).abs() / dot(normal, normal).sqrt()
            }
        }
    }

    fn dim(&self) -> Option<usize> {
        match self {
            Self::Sphere { .. } => None,
            Self::Hyperplane { normal, .. } => Some(normal.len()),
        }
    }
}

/// How the constraint is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintScheme {
    /// The penalty drift −(1/ε)∇(g²), semi-implicit (CBXpy's `DriftConstrainedCBO`).
    Drift {
        /// Penalty parameter ε > 0 (CBXpy's default 0.01).
        epsilon: f64,
    },
    /// Tangent-space dynamics with the Itô correction, projected back on Γ (CBXpy's
    /// `HyperSurfaceCBO`).
    Hypersurface,
}

/// Parameters of constrained CBO: CBO's (no mini-batch, no covariance noise), the surface
/// and the scheme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstrainedCboParams {
    cbo: CboParams,
    surface: Hypersurface,
    scheme: ConstraintScheme,
}

impl ConstrainedCboParams {
    /// CBO `cbo` constrained to `surface` by `scheme`.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for a mini-batch, the covariance noise or ε not
    /// finite and > 0.
    pub fn new(cbo: CboParams, surface: Hypersurface, scheme: ConstraintScheme) -> Result<Self> {
        check_per_particle_noise(&cbo)?;
        if let Some(b) = cbo.batch() {
            return Err(IntegratorError::InvalidParameter {
                name: "batch size",
                value: b.size as f64,
                reason: "constrained CBO is implemented without mini-batches",
            });
        }
        if let ConstraintScheme::Drift { epsilon } = scheme {
            check_positive("epsilon", epsilon)?;
        }
        Ok(Self {
            cbo,
            surface,
            scheme,
        })
    }

    /// The CBO parameters.
    pub fn cbo(&self) -> &CboParams {
        &self.cbo
    }

    /// The surface.
    pub fn surface(&self) -> &Hypersurface {
        &self.surface
    }

    /// The scheme.
    pub fn scheme(&self) -> ConstraintScheme {
        self.scheme
    }
}

/// Constrained CBO on an [`Objective`].
pub struct ConstrainedCbo<O> {
    objective: O,
    params: ConstrainedCboParams,
    parallelism: Parallelism,
    ws: ConsensusStep,
}

#[derive(Clone, Copy)]
enum Noise<'a> {
    Given(&'a [f64]),
    Streams(StepKey),
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The three sums over a particle x and the consensus v that the moves need, in one pass:
/// ‖x − v‖², ‖x‖² and ⟨x − v, x⟩. Each is the sequential sum (`Iterator::sum`, from −0.0,
/// in index order) it was as three loops, so the same bits; in one loop the three chains
/// of dependent additions run side by side instead of one after another (at d = 20 the
/// add latency of these chains was most of the hypersurface move).
struct Sums {
    dnorm2: f64,
    xx: f64,
    dx: f64,
}

impl Sums {
    #[inline]
    fn of(x: &[f64], v: &[f64]) -> Self {
        let (mut dnorm2, mut xx, mut dx) = (-0.0, -0.0, -0.0);
        for (&x, &v) in x.iter().zip(v) {
            let diff = x - v;
            dnorm2 += diff * diff;
            xx += x * x;
            dx += diff * x;
        }
        Self { dnorm2, xx, dx }
    }
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

impl<O: Objective> ConstrainedCbo<O> {
    /// Constrained CBO for `objective` with validated `params`.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an objective of dimension 0;
    /// [`IntegratorError::IncompatibleState`] for a hyperplane of another dimension.
    pub fn new(objective: O, params: ConstrainedCboParams) -> Result<Self> {
        check_at_least_one("objective dimension", objective.dim() as u64)?;
        if let Some(k) = params.surface.dim()
            && k != objective.dim()
        {
            return Err(IntegratorError::IncompatibleState(format!(
                "the hyperplane's normal has {k} coordinates, the objective {}",
                objective.dim()
            )));
        }
        Ok(Self {
            objective,
            params,
            parallelism: Parallelism::Sequential,
            ws: ConsensusStep::default(),
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
    pub fn params(&self) -> &ConstrainedCboParams {
        &self.params
    }

    /// One step with caller-supplied standard normals (row-major N × d).
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut CboState,
        noise: &[f64],
    ) -> Result<CboInfo> {
        let nd = state.ensemble.n() * state.ensemble.dim();
        if noise.len() != nd {
            return Err(IntegratorError::IncompatibleState(format!(
                "noise has {} values, need N·d = {nd}",
                noise.len()
            )));
        }
        self.advance(state, key, Noise::Given(noise))
    }

    fn advance(
        &mut self,
        state: &mut CboState,
        key: StepKey,
        source: Noise<'_>,
    ) -> Result<CboInfo> {
        let step = key.step();
        let d = state.ensemble.dim();
        let alpha = state.alpha;
        let stats = self
            .ws
            .before_move(self.parallelism, &self.objective, state, step)?;

        let p = &self.params;
        let c = &p.cbo;
        let mv = Move {
            surface: &p.surface,
            scheme: p.scheme,
            kind: c.noise(),
            lambda: c.lambda(),
            sigma: c.sigma(),
            dt: c.dt(),
        };
        let v = &self.ws.consensus;
        // ξ^i is keyed by the global index (a shard's row i is particle first + i).
        let first = state.ensemble.first_index();
        let update = |i: usize, x: &mut [f64]| {
            // Every entry is written before it is read (noise here, w and g in the move).
            with_written_scratch(3 * d, |s| {
                let (noise, rest) = s.split_at_mut(d);
                let (w, g) = rest.split_at_mut(d);
                match source {
                    Noise::Given(z) => noise.copy_from_slice(&z[i * d..(i + 1) * d]),
                    Noise::Streams(key) => {
                        let r = key.streams(streams::CBO_NOISE).normals(first + i as u64);
                        noise.iter_mut().zip(r).for_each(|(z, r)| *z = r);
                    }
                }
                mv.apply(x, v, noise, w, g);
            })
        };
        for_each_chunk_mut(
            self.parallelism,
            state.ensemble.as_mut_slice(),
            d,
            MIN_ROWS_PER_TASK,
            update,
        );
        if let Some(i) = state
            .ensemble
            .rows()
            .position(|x| x.iter().any(|v| !v.is_finite()))
        {
            return Err(IntegratorError::Diverged {
                step: step + 1,
                reason: format!(
                    "particle {} left the finite numbers (a singular penalty system, or a \
                     sphere projection of the origin)",
                    first + i as u64
                ),
            });
        }
        self.ws
            .after_move(state, c.schedule(), c.dt(), alpha, stats)
    }
}

/// The move of one particle (module docs).
#[derive(Clone, Copy)]
struct Move<'a> {
    surface: &'a Hypersurface,
    scheme: ConstraintScheme,
    kind: CboNoise,
    lambda: f64,
    sigma: f64,
    dt: f64,
}

impl Move<'_> {
    /// x ← the constrained update with consensus v and normals `z` (overwritten with the
    /// noise term s), `w` and `g` scratch.
    fn apply(&self, x: &mut [f64], v: &[f64], z: &mut [f64], w: &mut [f64], g: &mut [f64]) {
        let d = x.len();
        let sq = self.dt.sqrt();
        let Sums { dnorm2, xx, dx } = Sums::of(x, v);
        // s = σ √dt D ⊙ ξ (anisotropic) or σ √dt |D| ξ (isotropic), CBXpy's order.
        for ((z, &x), &v) in z.iter_mut().zip(x.iter()).zip(v) {
            let scale = match self.kind {
                CboNoise::Isotropic => dnorm2.sqrt(),
                _ => x - v,
            };
            *z = self.sigma * (sq * (*z * scale));
        }
        match self.scheme {
            ConstraintScheme::Drift { epsilon } => {
                let c = self.dt / epsilon;
                // w = x̃ = λ dt D + c ∇(g²)(x) + s, then x −= (I + c ∇²(g²))⁻¹ x̃.
                match self.surface {
                    Hypersurface::Sphere { radius } => {
                        // g = |x|² − r², ∇(g²) = 4 g x, ∇²(g²) = 8 x xᵀ + 4 g I:
                        // (I + c∇²) = (1 + 4cg) I + 8c x xᵀ, solved by Sherman–Morrison.
                        let g = xx - radius * radius;
                        for k in 0..d {
                            w[k] = self.lambda * self.dt * (x[k] - v[k])
                                + c * (2.0 * g * (2.0 * x[k]))
                                + z[k];
                        }
                        let a = 1.0 + 4.0 * c * g;
                        let beta = 8.0 * c * dot(x, w) / (a * (a + 8.0 * c * xx));
                        for k in 0..d {
                            x[k] -= w[k] / a - beta * x[k];
                        }
                    }
                    Hypersurface::Hyperplane { normal, offset } => {
                        // g = (a·x − b)/|a|, ∇g = â, ∇²(g²) = 2 â âᵀ:
                        // (I + 2c â âᵀ)⁻¹ = I − 2c/(1 + 2c) â âᵀ.
                        let na = norm(normal);
                        let g = (dot(normal, x) - offset) / na;
                        for k in 0..d {
                            w[k] = self.lambda * self.dt * (x[k] - v[k])
                                + c * (2.0 * g * (normal[k] / na))
                                + z[k];
                        }
                        let t = 2.0 * c / (1.0 + 2.0 * c) * dot(normal, w) / na;
                        for k in 0..d {
                            x[k] -= w[k] - t * normal[k] / na;
                        }
                    }
                }
            }
            ConstraintScheme::Hypersurface => {
                // w = −λ dt D + s, projected on the tangent space; then the Itô correction.
                for k in 0..d {
                    w[k] = -self.lambda * self.dt * (x[k] - v[k]) + z[k];
                }
                let half = self.dt * self.sigma * self.sigma / 2.0;
                match self.surface {
                    Hypersurface::Sphere { radius } => {
                        let nx = xx.sqrt();
                        let r2 = radius * radius;
                        // The unit normal x/|x| once (a loop that vectorises), for ⟨g, w⟩
                        // and the correction.
                        for (g, &x) in g.iter_mut().zip(x.iter()) {
                            *g = x / nx;
                        }
                        let gw = dot(g, w);
                        for k in 0..d {
                            let g = g[k];
                            let corr = match self.kind {
                                CboNoise::Isotropic => half * ((d - 1) as f64 / nx) * dnorm2 * g,
                                // CBXpy's unit-sphere correction conjugated by the
                                // dilation x = r y (module docs); for r = 1 the same bits.
                                _ => {
                                    let dk = x[k] - v[k];
                                    half * (dnorm2 + dk * dk - 2.0 * dx * dx / r2) * x[k] / r2
                                }
                            };
                            w[k] = x[k] + (w[k] - g * gw) - corr;
                        }
                    }
                    Hypersurface::Hyperplane { normal, .. } => {
                        let na = norm(normal);
                        let gw = dot(normal, w) / na;
                        for k in 0..d {
                            w[k] = x[k] + (w[k] - normal[k] / na * gw);
                        }
                    }
                }
                self.surface.project_into(w, x);
            }
        }
    }
}

impl<O: Objective> Dynamics for ConstrainedCbo<O> {
    type State = CboState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        let p = &self.params;
        format!(
            "constrained-cbo(surface={:?}, scheme={:?}, {}, f={})",
            p.surface,
            p.scheme,
            p.cbo.fingerprint_fields(),
            self.objective.fingerprint()
        )
    }

    /// As CBO's; runs on a shard of a distributed ensemble (the consensus is
    /// [`super::consensus_with`]'s, the moves are per particle).
    fn check_state(&self, state: &CboState) -> Result<()> {
        check_consensus_state(state, self.objective.dim())
    }

    /// α = α₀, no consensus yet (the hypersurface scheme projects at its first step).
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<CboState> {
        Ok(CboState::new(ensemble, self.params.cbo.alpha()))
    }

    /// One step with ξ^i from the stream of (seed, [`streams::CBO_NOISE`], step, i).
    fn step(&mut self, key: StepKey, state: &mut CboState) -> Result<CboInfo> {
        self.advance(state, key, Noise::Streams(key))
    }
}
