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
//! identity map this is CBO, bit for bit (tested). The maps are the project's
//! [`MirrorMap`]s ([`meanfield_measures::mirror`]: entropic simplex, log-barrier box, …).
//! ξ^i comes from the stream of (seed, [`streams::CBO_NOISE`], step, i), so any thread
//! count gives the same bits. No mini-batches, no covariance noise (typed errors).

use meanfield_energy::Objective;
use meanfield_measures::mirror::MirrorMap;
use meanfield_measures::{Ensemble, Parallelism, streams};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{
    CboInfo, CboNoise, CboParams, CboState, ConsensusStep, check_per_particle_noise,
    for_each_row_pair_mut,
};
use crate::dynamics::{Dynamics, DynamicsState, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one};

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

impl DynamicsState for MirrorCboState {
    fn non_finite(&self) -> Option<String> {
        self.cbo.non_finite().or_else(|| {
            self.dual
                .iter()
                .position(|v| !v.is_finite())
                .map(|k| format!("dual coordinate {k} is {}", self.dual[k]))
        })
    }
}

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

impl<O: Objective, M: MirrorMap> MirrorCbo<O, M> {
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
        if let meanfield_measures::Domain::Box(b) = map.domain()
            && b.dim() != objective.dim()
        {
            return Err(IntegratorError::IncompatibleState(format!(
                "the mirror map's box has dimension {}, the objective {}",
                b.dim(),
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
        let update = |i: usize, x: &mut [f64], y: &mut [f64]| {
            match source {
                Noise::Given(z) => {
                    move_dual(kind, y, x, v, coef, z[i * d..(i + 1) * d].iter().copied())
                }
                Noise::Streams(key) => {
                    let mut r = key.streams(streams::CBO_NOISE).rng(i as u64);
                    let z = std::iter::repeat_with(|| StandardNormal.sample(&mut r));
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

impl<O: Objective, M: MirrorMap> Dynamics for MirrorCbo<O, M> {
    type State = MirrorCboState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        format!(
            "mirror-cbo(map={}, domain={:?}, {}, f={})",
            crate::mirror_langevin::short_type_name::<M>(),
            self.map.domain(),
            self.params.fingerprint_fields(),
            self.objective.fingerprint()
        )
    }

    /// Dimension, the map's domain, primal particles in its interior, α ≥ 0, and N·d dual
    /// coordinates.
    fn check_state(&self, state: &MirrorCboState) -> Result<()> {
        crate::error::check_single_process(&state.cbo.ensemble, "mirror CBO")?;
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

/// The primal particles: the objective's dimension, the map's domain, strictly inside it.
fn check_primal<M: MirrorMap>(map: &M, ens: &Ensemble, dim: usize) -> Result<()> {
    if ens.dim() != dim {
        return Err(IntegratorError::IncompatibleState(format!(
            "ensemble has dimension {}, the objective expects {dim}",
            ens.dim()
        )));
    }
    crate::mirror_langevin::check_map_domain(map, ens)?;
    match ens.rows().position(|x| !ens.domain().contains_interior(x)) {
        None => Ok(()),
        Some(i) => Err(IntegratorError::IncompatibleState(format!(
            "particle {i} = {:?} is not in the interior of the {} domain (∇φ is infinite on \
             the boundary)",
            ens.particle(i),
            ens.domain().name()
        ))),
    }
}
