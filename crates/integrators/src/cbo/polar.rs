//! Polarised CBO (Bungert, Roith, Wacker 2023, "Polarized consensus-based dynamics for
//! optimization and sampling", Math. Program.): every particle drifts towards its own,
//! kernel-localised consensus point, so one run can settle on several minimisers.
//!
//! With the Gaussian kernel k(x, y) = exp(−|x − y|² / (2κ²)) the consensus seen by
//! particle i is
//!
//! c_i = Σ_j k(X^i, X^j)^s e^{−α f_j} X^j / Σ_j k(X^i, X^j)^s e^{−α f_j},
//!
//! with kernel exponent s = 1 (the paper's kernel, [`KernelScale::Constant`]) or s = α
//! (CBXpy's default `kernel_factor_mode = 'alpha'`, [`KernelScale::Alpha`]: the kernel
//! sharpens with the temperature). κ → ∞ is plain CBO. In log space this is the shared
//! consensus of §2 with the per-row energies
//!
//! e_ij = α f_j + s |X^i − X^j|² / (2κ²),   c_i = consensus(X, e_i·, 1),
//!
//! so the shift by min_j e_ij keeps every weight in [0, 1] and the normaliser in [1, N] for
//! any α, κ ([`consensus_into`]); f_j = +∞ gives weight 0. The cost is O(N² d) per step.
//!
//! One step k: f_j = f(X^j) for all j; the global Gibbs statistics (f_min, argmin, ESS of
//! e^{−α f}) and the best particle as CBO's; c_i for every i; then CBO's move with
//! D^i = X^i − c_i (anisotropic X^i ← X^i − λ dt D^i + σ √dt D^i ⊙ ξ^i, or isotropic with
//! |D^i|₂); then the α schedule. ξ^i comes from the stream of (seed, [`streams::CBO_NOISE`],
//! step, i), and c_i depends only on the (old) positions and energies, so the rows can be
//! computed and moved in parallel without changing a bit.
//!
//! [`cluster_points`] groups the final consensus points into distinct minimisers (greedy,
//! by ascending objective value within a radius), [`PolarCbo::minimisers`] applies it.

use std::cell::RefCell;

use meanfield_energy::Objective;
use meanfield_measures::parallel::for_each_chunk_mut;
use meanfield_measures::{Ensemble, Parallelism, StepStreams, streams};
use serde::{Deserialize, Serialize};

use super::consensus::{consensus_into, log_weights_into};
use super::{
    CboInfo, CboParams, CboState, MIN_ROWS_PER_TASK, check_consensus_finite, check_consensus_state,
    diverged_at, eval_energies, move_particle,
};
use crate::dynamics::{Dynamics, StepKey};
use crate::error::{IntegratorError, Result, check_at_least_one, check_positive};
use crate::runner::{Checkpoint, Runner};

/// The exponent s of the Gaussian kernel in the localised weights (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelScale {
    /// s = 1: k(x, y) = exp(−|x − y|² / (2κ²)) as in the paper (CBXpy `'const'`).
    Constant,
    /// s = α: the kernel sharpens as α grows (CBXpy's default `'alpha'`).
    Alpha,
}

/// Parameters of polarised CBO: CBO's ([`CboParams`]: λ, σ, dt, α₀, schedule, noise) plus
/// the kernel width κ and its scaling. Mini-batches are refused (every particle's
/// consensus uses the whole ensemble).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PolarCboParams {
    cbo: CboParams,
    kappa: f64,
    scale: KernelScale,
}

impl PolarCboParams {
    /// Polarised CBO with CBO parameters `cbo` and kernel width κ > 0 (finite; κ → ∞ is
    /// plain CBO), kernel exponent s = 1 ([`KernelScale::Constant`]).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for κ not finite and > 0, or a mini-batch.
    pub fn new(cbo: CboParams, kappa: f64) -> Result<Self> {
        super::check_per_particle_noise(&cbo)?;
        if let Some(b) = cbo.batch() {
            return Err(IntegratorError::InvalidParameter {
                name: "batch size",
                value: b.size as f64,
                reason: "polarised CBO localises the consensus over the whole ensemble: no mini-batches",
            });
        }
        Ok(Self {
            cbo,
            kappa: check_positive("kappa", kappa)?,
            scale: KernelScale::Constant,
        })
    }

    /// The kernel exponent s.
    #[must_use]
    pub fn with_kernel_scale(mut self, scale: KernelScale) -> Self {
        self.scale = scale;
        self
    }

    /// The CBO parameters.
    pub fn cbo(&self) -> &CboParams {
        &self.cbo
    }

    /// Kernel width κ.
    pub fn kappa(&self) -> f64 {
        self.kappa
    }

    /// Kernel exponent s.
    pub fn kernel_scale(&self) -> KernelScale {
        self.scale
    }
}

/// The state of a polarised CBO run: CBO's state (particles, α, best particle; its
/// `consensus` is the consensus point of the step's best particle) and every particle's
/// consensus point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolarCboState {
    /// Particles, α, best particle, evaluations; `cbo.consensus` = c_argmin of the last step.
    pub cbo: CboState,
    /// c_i of the last step, row-major N × d (empty before the first step).
    pub points: Vec<f64>,
}

// The particles and their consensus points are split over the ranks (the same rows); the
// rest is CBO's global state.
super::cbo_state_with_rows!(
    PolarCboState,
    points,
    "consensus point",
    "the consensus points"
);

/// One distinct minimiser found by [`cluster_points`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Mean of the member points.
    pub centre: Vec<f64>,
    /// f(centre).
    pub value: f64,
    /// Number of member points.
    pub size: usize,
}

/// Groups `points` (row-major, rows of length d, objective values `values`) into clusters:
/// repeatedly take the unassigned point of smallest value and assign to it every unassigned
/// point within Euclidean distance `radius`; the cluster's centre is its members' mean.
/// Clusters with fewer than `min_size` members are dropped; the rest come sorted by size
/// (largest first; ties by value). Deterministic: the order is fixed by the values and the
/// point indices (stable sort).
///
/// # Errors
/// [`IntegratorError::InvalidParameter`] for a radius that is not finite and > 0;
/// [`IntegratorError::IncompatibleState`] for mismatched lengths.
pub fn cluster_points<O: Objective>(
    objective: &O,
    points: &[f64],
    d: usize,
    radius: f64,
    min_size: usize,
) -> Result<Vec<Cluster>> {
    check_positive("cluster radius", radius)?;
    if d == 0 || !points.len().is_multiple_of(d) || objective.dim() != d {
        return Err(IntegratorError::IncompatibleState(format!(
            "{} coordinates are not rows of the objective's dimension {} (d = {d})",
            points.len(),
            objective.dim()
        )));
    }
    let n = points.len() / d;
    let mut values = vec![0.0; n];
    objective.values(points, &mut values);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let r2 = radius * radius;
    let mut assigned = vec![false; n];
    let mut clusters = Vec::new();
    for &seed in &order {
        if assigned[seed] {
            continue;
        }
        let s = &points[seed * d..(seed + 1) * d];
        let mut centre = vec![0.0; d];
        let mut size = 0;
        for j in 0..n {
            if assigned[j] {
                continue;
            }
            let p = &points[j * d..(j + 1) * d];
            if squared_distance(s, p) <= r2 {
                assigned[j] = true;
                size += 1;
                for (c, x) in centre.iter_mut().zip(p) {
                    *c += x;
                }
            }
        }
        for c in &mut centre {
            *c /= size as f64;
        }
        if size >= min_size {
            let value = objective.value(&centre);
            clusters.push(Cluster {
                centre,
                value,
                size,
            });
        }
    }
    clusters.sort_by(|a, b| b.size.cmp(&a.size).then(a.value.total_cmp(&b.value)));
    Ok(clusters)
}

#[inline]
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Reused buffers of a step.
#[derive(Debug, Default, Clone)]
struct Workspace {
    energies: Vec<f64>,
    weights: Vec<f64>,
    /// Positions before the move (the consensus points are computed from these).
    old: Vec<f64>,
    /// The new consensus points (swapped with the state's after the step).
    points: Vec<f64>,
}

thread_local! {
    /// Per-thread rows (e_i·, w_i·) of the O(N²) consensus: each call overwrites them.
    static ROW: RefCell<(Vec<f64>, Vec<f64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Polarised CBO on an [`Objective`].
pub struct PolarCbo<O> {
    objective: O,
    params: PolarCboParams,
    parallelism: Parallelism,
    ws: Workspace,
}

/// Where the standard normals of a step come from.
#[derive(Clone, Copy)]
enum Noise<'a> {
    Given(&'a [f64]),
    Streams(StepStreams),
}

impl<O: Objective> PolarCbo<O> {
    /// Polarised CBO for `objective` with validated `params` (sequential loops).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for an objective of dimension 0.
    pub fn new(objective: O, params: PolarCboParams) -> Result<Self> {
        check_at_least_one("objective dimension", objective.dim() as u64)?;
        Ok(Self {
            objective,
            params,
            parallelism: Parallelism::Sequential,
            ws: Workspace::default(),
        })
    }

    /// Spreads the energies and the per-particle consensus and move over the rayon pool
    /// (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The objective.
    pub fn objective(&self) -> &O {
        &self.objective
    }

    /// The parameters.
    pub fn params(&self) -> &PolarCboParams {
        &self.params
    }

    /// One step with caller-supplied standard normals `noise` (row-major N × d);
    /// [`Dynamics::step`] runs the same code with ξ from the noise streams.
    pub fn step_with_noise(
        &mut self,
        key: StepKey,
        state: &mut PolarCboState,
        noise: &[f64],
    ) -> Result<CboInfo> {
        let (n, d) = (state.cbo.ensemble.n(), state.cbo.ensemble.dim());
        if noise.len() != n * d {
            return Err(IntegratorError::IncompatibleState(format!(
                "noise has {} values, need N·d = {}",
                noise.len(),
                n * d
            )));
        }
        self.advance(state, key, Noise::Given(noise))
    }

    /// The distinct minimisers among the consensus points of the last step
    /// ([`cluster_points`] with `radius` and clusters of at least `min_fraction` · N
    /// points). On a shard of a distributed run the points of every rank are gathered
    /// first (a collective: every rank calls it) and the result is global.
    ///
    /// # Errors
    /// As [`cluster_points`]; [`IntegratorError::IncompatibleState`] before the first step.
    pub fn minimisers(
        &self,
        state: &PolarCboState,
        radius: f64,
        min_fraction: f64,
    ) -> Result<Vec<Cluster>> {
        if state.points.is_empty() {
            return Err(IntegratorError::IncompatibleState(
                "no consensus points yet: the run has taken no step".into(),
            ));
        }
        if !(0.0..=1.0).contains(&min_fraction) {
            return Err(IntegratorError::InvalidParameter {
                name: "min_fraction",
                value: min_fraction,
                reason: "must lie in [0, 1]",
            });
        }
        let n = state.cbo.ensemble.global_n();
        let min_size = ((min_fraction * n as f64).ceil() as usize).max(1);
        let points = crate::dynamics::gather_rows(&state.cbo.ensemble, &state.points)?;
        cluster_points(
            &self.objective,
            &points,
            state.cbo.ensemble.dim(),
            radius,
            min_size,
        )
    }

    /// Runs `checkpoint` for `steps` (absolute) steps with the crate's [`Runner`].
    pub fn run_to(&mut self, checkpoint: &mut Checkpoint<PolarCboState>, steps: u64) -> Result<()> {
        Runner::new(steps).run(self, checkpoint)?;
        Ok(())
    }

    /// The step of the module docs with the noise `source`.
    fn advance(
        &mut self,
        state: &mut PolarCboState,
        key: StepKey,
        source: Noise<'_>,
    ) -> Result<CboInfo> {
        let step = key.step();
        let cbo = &mut state.cbo;
        let (n, d) = (cbo.ensemble.n(), cbo.ensemble.dim());
        let ws = &mut self.ws;
        ws.energies.resize(n, 0.0);
        ws.weights.resize(n, 0.0);
        let alpha = cbo.alpha;
        let err_at = diverged_at(step);

        // Energies and the global Gibbs statistics (NaN / all-+∞ are divergences). On a
        // shard, every rank's positions and energies are all-gathered first
        // ((d + 1)·N doubles per step): c_i needs every particle, and the statistics of
        // the global arrays are the single-process ones on every rank.
        let first = cbo.ensemble.first_index() as usize;
        let xs = cbo.ensemble.as_slice();
        eval_energies(self.parallelism, &self.objective, xs, d, &mut ws.energies);
        if cbo.ensemble.shard().is_some() {
            ws.old = crate::dynamics::gather_rows(&cbo.ensemble, xs)?;
            ws.energies = crate::dynamics::gather_rows(&cbo.ensemble, &ws.energies)?;
        } else {
            ws.old.clear();
            ws.old.extend_from_slice(xs);
        }
        let global_n = ws.energies.len();
        ws.weights.resize(global_n, 0.0);
        let stats = log_weights_into(&ws.energies, alpha, &mut ws.weights).map_err(err_at)?;
        cbo.evaluations = cbo.evaluations.saturating_add(global_n as u64);
        // c_i for every (local) particle, from the old positions.
        cbo.record_best_row(&stats, &ws.old[stats.argmin * d..(stats.argmin + 1) * d]);
        let s = match self.params.scale {
            KernelScale::Constant => 1.0,
            KernelScale::Alpha => alpha,
        };
        let inv2k2 = 1.0 / (2.0 * self.params.kappa * self.params.kappa);
        let (old, energies) = (&ws.old, &ws.energies);
        let mut points = std::mem::take(&mut ws.points);
        points.resize(n * d, 0.0);
        let failure = std::sync::Mutex::new(None);
        for_each_chunk_mut(self.parallelism, &mut points, d, 1, |i, c| {
            if let Err(e) = local_consensus(old, d, energies, alpha, s, inv2k2, first + i, c) {
                let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
                // Keep the error of the smallest particle index: thread-count invariant.
                if slot.as_ref().is_none_or(|(j, _)| i < *j) {
                    *slot = Some((i, e));
                }
            }
        });
        let failure = failure.into_inner().unwrap_or_else(|p| p.into_inner());
        let checked = match failure {
            Some((_, e)) => Err(err_at(e)),
            None => check_consensus_finite(&points, step),
        };
        if let Err(e) = checked {
            ws.points = points;
            return Err(e);
        }

        // The move with D^i = X^i − c_i.
        let p = &self.params.cbo;
        let coef = (-p.lambda() * p.dt(), p.sigma(), p.dt().sqrt());
        let kind = p.noise();
        let pts = &points;
        let update = |i: usize, x: &mut [f64]| {
            let v = &pts[i * d..(i + 1) * d];
            match source {
                Noise::Given(z) => {
                    move_particle(kind, x, v, coef, z[i * d..(i + 1) * d].iter().copied())
                }
                Noise::Streams(at) => {
                    let z = at.normals((first + i) as u64);
                    move_particle(kind, x, v, coef, z)
                }
            }
        };
        for_each_chunk_mut(
            self.parallelism,
            cbo.ensemble.as_mut_slice(),
            d,
            MIN_ROWS_PER_TASK,
            update,
        );

        // Bookkeeping: consensus of the best particle, change over all points, α.
        let reducer = meanfield_measures::Reducer::of(&cbo.ensemble);
        let change = if state.points.len() == points.len() {
            let local = state
                .points
                .iter()
                .zip(&points)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            reducer.max(local)?
        } else {
            f64::INFINITY
        };
        // c_argmin: this rank's point when it owns the best particle, else the same
        // function of the same global arrays (identical bits).
        cbo.consensus.resize(d, 0.0);
        if (first..first + n).contains(&stats.argmin) {
            let i = stats.argmin - first;
            cbo.consensus.copy_from_slice(&points[i * d..(i + 1) * d]);
        } else {
            local_consensus(
                old,
                d,
                energies,
                alpha,
                s,
                inv2k2,
                stats.argmin,
                &mut cbo.consensus,
            )
            .map_err(err_at)?;
        }
        cbo.consensus_change = change;
        ws.points = std::mem::replace(&mut state.points, points);
        cbo.alpha = p.schedule().next(alpha, &ws.energies)?;
        Ok(CboInfo {
            dt: p.dt(),
            alpha,
            stats,
            consensus_change: change,
        })
    }
}

/// c_i (module docs) into `out`: the shared log-space consensus of the rows of `xs` with
/// energies e_ij = α f_j + s |x_i − x_j|² / (2κ²) at inverse temperature 1.
#[allow(clippy::too_many_arguments)]
fn local_consensus(
    xs: &[f64],
    d: usize,
    energies: &[f64],
    alpha: f64,
    s: f64,
    inv2k2: f64,
    i: usize,
    out: &mut [f64],
) -> Result<()> {
    let n = energies.len();
    let xi = &xs[i * d..(i + 1) * d];
    ROW.with(|row| {
        let (e, w) = &mut *row.borrow_mut();
        e.clear();
        e.extend(xs.chunks_exact(d).zip(energies).map(|(xj, &f)| {
            // CBXpy's order: α f + s (|x_i − x_j|² / (2κ²)); f = +∞ stays +∞ (weight 0).
            alpha * f + s * (inv2k2 * squared_distance(xi, xj))
        }));
        w.resize(n, 0.0);
        consensus_into(xs, d, e, 1.0, w, out).map(|_| ())
    })
}

impl<O: Objective> Dynamics for PolarCbo<O> {
    type State = PolarCboState;
    type Info = CboInfo;

    fn fingerprint(&self) -> String {
        let p = &self.params;
        format!(
            "polar-cbo(kappa={:e}, kernel_scale={:?}, {}, f={})",
            p.kappa,
            p.scale,
            p.cbo.fingerprint_fields(),
            self.objective.fingerprint()
        )
    }

    /// As CBO's; the consensus points are empty or N × d.
    fn check_state(&self, state: &PolarCboState) -> Result<()> {
        // Runs on a shard: positions and energies are all-gathered every step.
        check_consensus_state(&state.cbo, self.objective.dim())?;
        let nd = state.cbo.ensemble.n() * state.cbo.ensemble.dim();
        if !state.points.is_empty() && state.points.len() != nd {
            return Err(IntegratorError::IncompatibleState(format!(
                "{} consensus point coordinates, need 0 or N·d = {nd}",
                state.points.len()
            )));
        }
        Ok(())
    }

    /// α = α₀ of the parameters, no consensus points yet, best value +∞.
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<PolarCboState> {
        Ok(PolarCboState {
            cbo: CboState::new(ensemble, self.params.cbo.alpha()),
            points: Vec::new(),
        })
    }

    /// One step with ξ^i from the stream of (seed, [`streams::CBO_NOISE`], step, i).
    fn step(&mut self, key: StepKey, state: &mut PolarCboState) -> Result<CboInfo> {
        let at = key.streams(streams::CBO_NOISE);
        self.advance(state, key, Noise::Streams(at))
    }
}
