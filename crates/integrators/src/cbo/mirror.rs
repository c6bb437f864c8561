//! Mirror CBO (Bungert, Hoffmann, Kim, Roith 2025 "MirrorCBO: a consensus-based
//! optimization method in the spirit of mirror descent"; CBXpy's `MirrorCBO`): CBO run in
//! the dual coordinates Y = ∇φ(X) of a mirror map φ, with the primal particles
//! X = ∇φ*(Y) always inside the map's domain,
//!
//! dY = −λ (X − v_α) dt + σ D(X − v_α) dB,   X = ∇φ*(Y),
//!
//! v_α the log-space consensus of the primal particles weighted by f(X^i). One step:
//! 1. f_i = f(X^i); v_α; the best particle (before the move, as CBO's);
//! 2. with D^i = X^i − v_α and ξ^i ~ N(0, I_d):
//!    Y^i ← Y^i − λ dt D^i + σ √dt D^i ⊙ ξ^i (anisotropic; isotropic with |D^i|₂),
//!    X^i ← ∇φ*(Y^i);
//! 3. consensus bookkeeping and the α schedule (CBO's).
//!
//! `init_state` sets Y = ∇φ(X₀) (X₀ in the interior of the map's domain). With the
//! identity map this is CBO, bit for bit (tested). The maps are [`CboMirrorMap`]s: every
//! Legendre [`MirrorMap`] of the project ([`meanfield_measures::mirror`]: entropic simplex,
//! log-barrier box, …) and the two maps of CBXpy that are not Legendre maps, whose ∇φ*
//! reaches the boundary of its image: [`BallProjection`] (φ = ½|x|² + ι_B, ∇φ* the
//! projection onto the ball B) and [`ElasticNet`] (φ = |x|²/(2δ) + λ|x|₁, ∇φ* the scaled
//! soft threshold, which sets coordinates exactly to 0).
//! ξ^i comes from the stream of (seed, [`streams::CBO_NOISE`], step, i), so any thread
//! count gives the same bits. No mini-batches, no covariance noise (typed errors).

use meanfield_energy::Objective;
use meanfield_measures::mirror::MirrorMap;
use meanfield_measures::{Domain, Ensemble, Parallelism, streams};
use serde::{Deserialize, Serialize};

use super::{
    CboInfo, CboNoise, CboParams, CboState, ConsensusStep, check_per_particle_noise,
    for_each_row_pair_mut,
};
use crate::dynamics::{Dynamics, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one};

/// A mirror map of mirror CBO: the dual map ∇φ (used once, at the start), its inverse
/// ∇φ* (every step) and the check of the initial primal particles.
///
/// Mirror CBO needs neither ∇²φ nor ∇φ* to land in an open set, so this is wider than the
/// Legendre [`MirrorMap`] of mirror Langevin: every [`MirrorMap`] is a `CboMirrorMap`
/// (blanket implementation), and so are [`BallProjection`] and [`ElasticNet`], whose φ is
/// not differentiable on the boundary (∂φ is set-valued there; ∇φ is the subgradient CBXpy
/// picks).
pub trait CboMirrorMap: Send + Sync {
    /// The domain the ensemble must be declared on.
    fn domain(&self) -> Domain;
    /// The dimension the map's parameters fix (a box's, a ball centre's), if any.
    fn dim(&self) -> Option<usize>;
    /// y = ∇φ(x) for an admissible initial x.
    fn grad_phi(&self, x: &[f64], y: &mut [f64]);
    /// x = ∇φ*(y).
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]);
    /// Checks the initial primal particles: the ensemble's domain, the dimension of the
    /// map's parameters, and that every particle is admissible (where ∇φ is defined).
    ///
    /// # Errors
    /// [`IntegratorError::IncompatibleState`] naming the first inadmissible particle.
    fn check_primal(&self, ens: &Ensemble) -> Result<()>;
    /// The map and its parameters, for the checkpoint fingerprint.
    fn fingerprint(&self) -> String;
}

impl<M: MirrorMap> CboMirrorMap for M {
    fn domain(&self) -> Domain {
        MirrorMap::domain(self)
    }
    fn dim(&self) -> Option<usize> {
        match MirrorMap::domain(self) {
            Domain::Box(b) => Some(b.dim()),
            _ => None,
        }
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        MirrorMap::grad_phi(self, x, y);
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        MirrorMap::grad_phi_star(self, y, x);
    }
    /// The map's domain, strictly inside it (∇φ is infinite on the boundary).
    fn check_primal(&self, ens: &Ensemble) -> Result<()> {
        crate::mirror_langevin::check_map_domain(self, ens)?;
        match ens.rows().position(|x| !ens.domain().contains_interior(x)) {
            None => Ok(()),
            Some(i) => Err(IntegratorError::IncompatibleState(format!(
                "particle {i} = {:?} is not in the interior of the {} domain (∇φ is infinite \
                 on the boundary)",
                ens.particle(i),
                ens.domain().name()
            ))),
        }
    }
    fn fingerprint(&self) -> String {
        format!(
            "map={}, domain={:?}",
            crate::mirror_langevin::short_type_name::<M>(),
            MirrorMap::domain(self)
        )
    }
}

/// The ball B = {x : |x − c|₂ ≤ r} by projection (CBXpy's `ProjectionBall`):
/// φ = ½|x|² + ι_B, so ∇φ(x) = x on B and ∇φ*(y) = c + (y − c)/max(1, |y − c|₂/r), the
/// Euclidean projection onto B (CBXpy's operation order).
#[derive(Debug, Clone, PartialEq)]
pub struct BallProjection {
    centre: Vec<f64>,
    radius: f64,
}

impl BallProjection {
    /// The ball of centre `centre` (its length is the dimension) and radius `radius`.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an empty or non-finite centre or a radius
    /// not finite and > 0.
    pub fn new(centre: Vec<f64>, radius: f64) -> Result<Self> {
        check_at_least_one("ball dimension", centre.len() as u64)?;
        if let Some(&v) = centre.iter().find(|v| !v.is_finite()) {
            return Err(IntegratorError::InvalidParameter {
                name: "centre",
                value: v,
                reason: "the ball's centre must be finite",
            });
        }
        let radius = crate::error::check_positive("radius", radius)?;
        Ok(Self { centre, radius })
    }

    /// The centre c.
    pub fn centre(&self) -> &[f64] {
        &self.centre
    }

    /// The radius r.
    pub fn radius(&self) -> f64 {
        self.radius
    }
}

impl CboMirrorMap for BallProjection {
    fn domain(&self) -> Domain {
        Domain::Euclidean
    }
    fn dim(&self) -> Option<usize> {
        Some(self.centre.len())
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        y.copy_from_slice(x);
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        let n = y
            .iter()
            .zip(&self.centre)
            .map(|(y, c)| (y - c) * (y - c))
            .sum::<f64>()
            .sqrt();
        let scale = f64::max(1.0, n / self.radius);
        for ((x, y), c) in x.iter_mut().zip(y).zip(&self.centre) {
            *x = c + (y - c) / scale;
        }
    }
    /// Euclidean ensemble of the centre's dimension, every particle in B (up to a relative
    /// 1e-12 of r: ∇φ(x) = x is the subgradient of φ only on B).
    fn check_primal(&self, ens: &Ensemble) -> Result<()> {
        check_euclidean(ens, self.centre.len(), "the ball's centre")?;
        for (i, x) in ens.rows().enumerate() {
            let n = x
                .iter()
                .zip(&self.centre)
                .map(|(x, c)| (x - c) * (x - c))
                .sum::<f64>()
                .sqrt();
            // A NaN distance (non-finite particle) is refused too.
            if n.is_nan() || n > self.radius * (1.0 + 1e-12) {
                return Err(IntegratorError::IncompatibleState(format!(
                    "particle {i} is at distance {n} from the ball's centre, outside the \
                     radius {}",
                    self.radius
                )));
            }
        }
        Ok(())
    }
    fn fingerprint(&self) -> String {
        format!(
            "map=BallProjection(centre={:?}, radius={}), domain=Euclidean",
            self.centre, self.radius
        )
    }
}

/// The elastic-net map (CBXpy's `ElasticNet`): φ(x) = |x|²/(2δ) + λ|x|₁, so
/// ∇φ(x) = x/δ + λ sign(x) (sign 0 = 0) and ∇φ*(y) = δ sign(y) max(|y| − λ, 0), the soft
/// threshold: mirror CBO with it finds sparse minimisers (coordinates exactly 0). λ = 0 is
/// the scaled identity; the pure ℓ¹ norm (δ = ∞) is not strongly convex and has no
/// single-valued ∇φ*, so it is the limit of large δ, not a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElasticNet {
    delta: f64,
    lambda: f64,
}

impl ElasticNet {
    /// φ = |x|²/(2δ) + λ|x|₁.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for δ not finite and > 0 or λ not finite and
    /// ≥ 0.
    pub fn new(delta: f64, lambda: f64) -> Result<Self> {
        let delta = crate::error::check_positive("delta", delta)?;
        if !(lambda >= 0.0 && lambda.is_finite()) {
            return Err(IntegratorError::InvalidParameter {
                name: "lambda (ℓ¹ weight)",
                value: lambda,
                reason: "the ℓ¹ weight must be finite and ≥ 0",
            });
        }
        Ok(Self { delta, lambda })
    }

    /// δ.
    pub fn delta(&self) -> f64 {
        self.delta
    }

    /// λ, the ℓ¹ weight.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
}

/// sign(v) with sign(0) = 0 (NumPy's `np.sign`; `f64::signum` gives ±1 at ±0).
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl CboMirrorMap for ElasticNet {
    fn domain(&self) -> Domain {
        Domain::Euclidean
    }
    fn dim(&self) -> Option<usize> {
        None
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = (1.0 / self.delta) * x + self.lambda * sign(x);
        }
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        for (x, &y) in x.iter_mut().zip(y) {
            *x = self.delta * sign(y) * f64::max(y.abs() - self.lambda, 0.0);
        }
    }
    /// A Euclidean ensemble (every finite point is admissible).
    fn check_primal(&self, ens: &Ensemble) -> Result<()> {
        check_euclidean(ens, ens.dim(), "the objective")
    }
    fn fingerprint(&self) -> String {
        format!(
            "map=ElasticNet(delta={}, lambda={}), domain=Euclidean",
            self.delta, self.lambda
        )
    }
}

/// A Euclidean ensemble of dimension `dim` (`what` has that dimension).
fn check_euclidean(ens: &Ensemble, dim: usize, what: &str) -> Result<()> {
    if *ens.domain() != Domain::Euclidean {
        return Err(IntegratorError::IncompatibleState(format!(
            "the mirror map lives on R^d, the ensemble on {:?}",
            ens.domain()
        )));
    }
    if ens.dim() != dim {
        return Err(IntegratorError::IncompatibleState(format!(
            "ensemble has dimension {}, {what} {dim}",
            ens.dim()
        )));
    }
    Ok(())
}

/// The state of mirror CBO: CBO's state (primal particles X in the map's domain) and the
/// dual particles Y = ∇φ(X) the scheme moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorCboState {
    /// Primal particles, α, consensus, best particle, evaluations.
    pub cbo: CboState,
    /// Dual particles Y, row-major N × d.
    pub dual: Vec<f64>,
}

// The primal and dual particles are split over the ranks (the same rows); the rest is
// CBO's global state.
super::cbo_state_with_rows!(MirrorCboState, dual, "dual", "the dual particles");

/// Mirror CBO on an [`Objective`] with the mirror map `M`.
pub struct MirrorCbo<O, M> {
    objective: O,
    map: M,
    params: CboParams,
    parallelism: Parallelism,
    ws: ConsensusStep,
}

#[derive(Clone, Copy)]
enum Noise<'a> {
    Given(&'a [f64]),
    Streams(StepKey),
}

/// Step 2 for one particle: y += (−λ dt) D + σ (√dt (ξ ⊙ D)), D = x − v (isotropic: |D|₂
/// in the noise), CBXpy's operation order.
#[inline]
fn move_dual(
    kind: CboNoise,
    y: &mut [f64],
    x: &[f64],
    v: &[f64],
    (ldt, sigma, sqdt): (f64, f64, f64),
    z: impl Iterator<Item = f64>,
) {
    let norm = match kind {
        CboNoise::Isotropic => Some(
            x.iter()
                .zip(v)
                .map(|(x, v)| (x - v) * (x - v))
                .sum::<f64>()
                .sqrt(),
        ),
        _ => None,
    };
    for (((y, &x), &v), z) in y.iter_mut().zip(x).zip(v).zip(z) {
        let drift = x - v;
        *y += ldt * drift + sigma * (sqdt * (z * norm.unwrap_or(drift)));
    }
}

impl<O: Objective, M: CboMirrorMap> MirrorCbo<O, M> {
    /// Mirror CBO for `objective` on the domain of `map` with validated `params`.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an objective of dimension 0, a mini-batch
    /// or the covariance noise; [`IntegratorError::IncompatibleState`] when the map's box
    /// does not have the objective's dimension.
    pub fn new(objective: O, map: M, params: CboParams) -> Result<Self> {
        check_at_least_one("objective dimension", objective.dim() as u64)?;
        check_per_particle_noise(&params)?;
        if let Some(b) = params.batch() {
            return Err(IntegratorError::InvalidParameter {
                name: "batch size",
                value: b.size as f64,
                reason: "mirror CBO is implemented without mini-batches",
            });
        }
        if let Some(dim) = map.dim()
            && dim != objective.dim()
        {
            return Err(IntegratorError::IncompatibleState(format!(
                "the mirror map has dimension {dim} (its box or ball), the objective {}",
                objective.dim()
            )));
        }
        Ok(Self {
            objective,
            map,
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
    pub fn params(&self) -> &CboParams {
        &self.params
    }

    /// The mirror map.
    pub fn map(&self) -> &M {
        &self.map
    }

    /// One step with caller-supplied standard normals (row-major N × d).
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut MirrorCboState,
        noise: &[f64],
    ) -> Result<CboInfo> {
        if noise.len() != state.dual.len() {
            return Err(IntegratorError::IncompatibleState(format!(
                "noise has {} values, need N·d = {}",
                noise.len(),
                state.dual.len()
            )));
        }
        self.advance(state, key, Noise::Given(noise))
    }

    fn advance(
        &mut self,
        state: &mut MirrorCboState,
        key: StepKey,
        source: Noise<'_>,
    ) -> Result<CboInfo> {
        let step = key.step();
        let cbo = &mut state.cbo;
        let d = cbo.ensemble.dim();
        let alpha = cbo.alpha;
        // 1: energies, consensus, best particle.
        let stats = self
            .ws
            .before_move(self.parallelism, &self.objective, cbo, step)?;

        // 2: the dual move and the primal particle ∇φ*(Y).
        let p = &self.params;
        let coef = (-p.lambda() * p.dt(), p.sigma(), p.dt().sqrt());
        let (kind, v, map) = (p.noise(), &self.ws.consensus, &self.map);
        // ξ^i is keyed by the global index (a shard's row i is particle first + i).
        let first = cbo.ensemble.first_index();
        let update = |i: usize, x: &mut [f64], y: &mut [f64]| {
            match source {
                Noise::Given(z) => {
                    move_dual(kind, y, x, v, coef, z[i * d..(i + 1) * d].iter().copied())
                }
                Noise::Streams(key) => {
                    let z = key.streams(streams::CBO_NOISE).normals(first + i as u64);
                    move_dual(kind, y, x, v, coef, z)
                }
            }
            map.grad_phi_star(y, x);
        };
        for_each_row_pair_mut(
            self.parallelism,
            cbo.ensemble.as_mut_slice(),
            &mut state.dual,
            d,
            update,
        );

        // 3: bookkeeping and α.
        self.ws.after_move(cbo, p.schedule(), p.dt(), alpha, stats)
    }
}

impl<O: Objective, M: CboMirrorMap> Dynamics for MirrorCbo<O, M> {
    type State = MirrorCboState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        format!(
            "mirror-cbo({}, {}, f={})",
            self.map.fingerprint(),
            self.params.fingerprint_fields(),
            self.objective.fingerprint()
        )
    }

    /// Dimension, the map's domain, primal particles in its interior, α ≥ 0, and N·d dual
    /// coordinates.
    /// Runs on a shard of a distributed ensemble (the consensus is
    /// [`super::consensus_with`]'s, the dual moves are per particle).
    fn check_state(&self, state: &MirrorCboState) -> Result<()> {
        check_primal(&self.map, &state.cbo.ensemble, self.objective.dim())?;
        super::consensus::check_alpha(state.cbo.alpha)?;
        let nd = state.cbo.ensemble.n() * state.cbo.ensemble.dim();
        if state.dual.len() != nd {
            return Err(IntegratorError::IncompatibleState(format!(
                "the dual particles have {} coordinates, need N·d = {nd}",
                state.dual.len()
            )));
        }
        Ok(())
    }

    /// Y = ∇φ(X₀) (X₀ in the interior of the map's domain), α = α₀, no consensus yet.
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<MirrorCboState> {
        check_primal(&self.map, &ensemble, self.objective.dim())?;
        let d = ensemble.dim();
        let mut dual = vec![0.0; ensemble.n() * d];
        for (y, x) in dual.chunks_exact_mut(d).zip(ensemble.rows()) {
            self.map.grad_phi(x, y);
        }
        Ok(MirrorCboState {
            cbo: CboState::new(ensemble, self.params.alpha()),
            dual,
        })
    }

    /// One step with ξ^i from the stream of (seed, [`streams::CBO_NOISE`], step, i).
    fn step(&mut self, key: StepKey, state: &mut MirrorCboState) -> Result<CboInfo> {
        self.advance(state, key, Noise::Streams(key))
    }
}

/// The primal particles: the objective's dimension, then the map's own check.
fn check_primal<M: CboMirrorMap>(map: &M, ens: &Ensemble, dim: usize) -> Result<()> {
    if ens.dim() != dim {
        return Err(IntegratorError::IncompatibleState(format!(
            "ensemble has dimension {}, the objective expects {dim}",
            ens.dim()
        )));
    }
    map.check_primal(ens)
}
