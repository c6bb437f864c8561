//! Microcanonical gradient descent (MGDM) and its mean-field version (MF-MGDM) with exact
//! entropy tracking (spec `mf-mgdm.md`, arXiv 2403.08362).
//!
//! With s = γ/‖α‖², a feature map Φ: R^T → R^K and the target α ∈ R^K, one step maps
//! every path x_i ∈ R^T of the ensemble to
//!
//! x_i ← x_i − s P_i J(x_i)ᵀ (Φ̄_{G(i)} − α),
//!
//! where Φ̄_G = (1/n) Σ_{j∈G} Φ(x_j) is the mean over the coupling group G of x_i:
//! [`Coupling::Independent`] is MGDM (Φ̄ = Φ(x_i)), [`Coupling::Groups`]`(n)` is MF-MGDM
//! with the N paths split into consecutive groups of n (n = N: the paper's MF-MGDM).
//! P_i = diag(mask) is the positivity projection: coordinate t moves only if its proposed
//! value is > 0 (all ones without projection).
//!
//! # Log-determinant (entropy tracking)
//! The Jacobian of one group's map R^{nT} → R^{nT} is blockdiag(A_i) − (s/n) U Vᵀ with
//! A_i = I − s P_i Σ_k r_k ∇²Φ_k(x_i) (r = Φ̄_G − α), U_i = P_i J_iᵀ, V_j = J_jᵀ. By the
//! matrix determinant lemma
//!
//! log|det| = Σ_i log|det A_i| + log|det(I_K − (s/n) Σ_i J_i A_i⁻¹ P_i J_iᵀ)|,
//!
//! and A_i may be replaced by the symmetric B̃_i = P(I − sH_i)P + (I − P)
//! ([`StructuredHessian::factor_step`]): same determinant, same A⁻¹Pv. Per particle this
//! is one O(T w²) banded (w = 1: tridiagonal) factorisation, K solves and a K × K
//! product; per group one K × K LU. No dense T × T or NT × NT matrix is formed.
//! When the weighted Hessian does not depend on the path
//! ([`FeatureMap::hessian_is_constant`], e.g. ACF(1)), the paths of an MF-MGDM group
//! share H = Σ_k r_k ∇²Φ_k, so B̃ is factored once per group and reused by every path
//! without frozen coordinates (the same bits as factoring it per path).
//! The entropy of the pushed law changes by E log|det ∇g| per step, so the reverse KL
//! (`meanfield_diagnostics::reverse_kl`) follows exactly.
//!
//! # Determinism
//! Particles are processed in parallel (rayon, one task per particle) but each writes
//! only its own workspace; group means and log-determinant sums are reduced sequentially
//! in particle order, so results are bitwise identical for any thread count.
//!
//! Tests: `tests/mgdm.rs` (lemma vs dense log|det| of the full NT × NT Jacobian with and
//! without projection, that Jacobian vs finite differences of the step, groups of size 1
//! ≡ MGDM bit for bit, thread-count invariance, typed errors).

use meanfield_energy::{FeatureMap, StructuredHessian};
use meanfield_linalg::{BlockSolver, LinalgError, LogDet, dense_log_det, row_major};
use meanfield_measures::parallel::for_each_chunk_mut;
use meanfield_measures::{Ensemble, Parallelism};

use crate::dynamics::{Dynamics, StepInfo, StepKey};

pub mod paths;
use crate::error::{IntegratorError, Result, check_at_least_one, check_positive};
pub use paths::{
    KlRecorder, MgdmRun, feature_mean, log_density_sum, path_feature_mean, run_with_trace,
    sample_paths,
};

/// How the N paths are coupled through their mean features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Coupling {
    /// MGDM: every path descends its own loss ½‖Φ(x) − α‖²/‖α‖².
    Independent,
    /// MF-MGDM with consecutive groups of this size (must divide N): each path is pushed
    /// by the mean features of its group.
    Groups(usize),
}

/// Parameters of [`Mgdm`], validated: [`MgdmParams::new`] with the step size, then
/// options (defaults: [`Coupling::Independent`], no projection, log|det| tracked).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MgdmParams {
    gamma: f64,
    coupling: Coupling,
    project: bool,
    track_log_det: bool,
}

impl MgdmParams {
    /// Step size γ > 0 (the effective step is γ/‖α‖²).
    pub fn new(gamma: f64) -> Result<Self> {
        Ok(Self {
            gamma: check_positive("gamma", gamma)?,
            coupling: Coupling::Independent,
            project: false,
            track_log_det: true,
        })
    }

    /// MGDM ([`Coupling::Independent`]) or MF-MGDM ([`Coupling::Groups`], size ≥ 1).
    pub fn with_coupling(mut self, coupling: Coupling) -> Result<Self> {
        if let Coupling::Groups(g) = coupling {
            check_at_least_one("group size", g as u64)?;
        }
        self.coupling = coupling;
        Ok(self)
    }

    /// Coordinate-wise positivity projection (for non-negative targets such as CIR).
    #[must_use]
    pub fn with_projection(mut self, project: bool) -> Self {
        self.project = project;
        self
    }

    /// Whether to compute log|det| of the step Jacobian (entropy tracking).
    #[must_use]
    pub fn with_log_det(mut self, track: bool) -> Self {
        self.track_log_det = track;
        self
    }

    /// Step size γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// The coupling.
    pub fn coupling(&self) -> Coupling {
        self.coupling
    }

    /// Whether the positivity projection is on.
    pub fn project(&self) -> bool {
        self.project
    }

    /// Whether log|det| is tracked.
    pub fn track_log_det(&self) -> bool {
        self.track_log_det
    }
}

/// What one step computed besides the new state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MgdmInfo {
    /// Time advanced (γ).
    pub dt: f64,
    /// log|det ∇g| of the whole ensemble map R^{NT} → R^{NT} (sum over groups); 0 when not
    /// tracked.
    pub log_det: f64,
    /// Number of groups (or particles, for MGDM) whose Jacobian determinant was negative.
    pub negative_dets: usize,
    /// Number of frozen coordinates (positivity projection) over the ensemble.
    pub frozen: usize,
}

/// Per-particle buffers: features, Jacobian, Hessian, step factor and capacitance part.
#[derive(Debug, Clone)]
struct ParticleWork<H: StructuredHessian> {
    phi: Vec<f64>,
    resid: Vec<f64>,
    jac: Vec<f64>,
    hess: H,
    factor: H::Factor,
    mask: Vec<bool>,
    next: Vec<f64>,
    /// Row b = B̃⁻¹ P ∇Φ_b (K × T).
    w: Vec<f64>,
    /// cap[a·K + b] = ∇Φ_a · B̃⁻¹ P ∇Φ_b.
    cap: Vec<f64>,
    log_det: LogDet,
    frozen: usize,
    /// The path takes its block from its group's [`GroupBlock`]: its solve and its
    /// capacitance part follow in [`Mgdm::solve_batched`].
    batched: bool,
    /// The path's weighted Hessian is set and its own (masked) block waits to be factored
    /// with those of the other such paths of its batch ([`Mgdm::factor_own_blocks`]).
    own_block: bool,
    status: std::result::Result<(), Failure>,
}

/// Paths per task of the step's second phase: the batched solves of these paths share
/// one sweep over t (K columns each), so their dependent chains overlap.
const SOLVE_BATCH: usize = 8;

/// The step block B̃ of one coupling group, factored once per step when the feature
/// map's weighted Hessian does not depend on the path ([`FeatureMap::hessian_is_constant`]):
/// the paths of a group share c = Φ̄_G − α, so every path of the group with no frozen
/// coordinate (mask all ones) has exactly this block, bit for bit.
#[derive(Debug, Clone)]
struct GroupBlock<H: StructuredHessian> {
    hess: H,
    factor: H::Factor,
    log_det: LogDet,
    status: std::result::Result<(), Failure>,
}

/// A per-particle failure, turned into an [`IntegratorError`] with the step number.
#[derive(Debug, Clone)]
enum Failure {
    Energy(meanfield_energy::EnergyError),
    Linalg(LinalgError),
}

impl Failure {
    fn at(self, step: u64) -> IntegratorError {
        match self {
            Failure::Energy(source) => IntegratorError::Energy { step, source },
            // A non-finite entry of the step Jacobian (I − s P H) means the step size
            // overflowed it: the run diverged (1-based step number, as every Diverged).
            Failure::Linalg(LinalgError::NonFinite { what }) => IntegratorError::Diverged {
                step: step + 1,
                reason: format!("non-finite {what} in the step Jacobian (step size too large)"),
            },
            Failure::Linalg(source) => IntegratorError::LinearAlgebra { step, source },
        }
    }
}

/// The proposal y_j = x_j − s g_j with g_j = Σ_r c_r ∂_jΦ_r (from `grad(j)`) into
/// `next`, coordinate j frozen at x_j (mask false) when projecting and y_j ≤ 0; returns
/// the number of frozen coordinates.
fn propose(
    x: &[f64],
    next: &mut [f64],
    mask: &mut [bool],
    s: f64,
    project: bool,
    grad: impl Fn(usize) -> f64,
) -> usize {
    let mut frozen = 0;
    for (j, (&x, (next, mask))) in x.iter().zip(next.iter_mut().zip(mask)).enumerate() {
        let y = x - s * grad(j);
        let active = !project || y > 0.0;
        *mask = active;
        if active {
            *next = y;
        } else {
            *next = x;
            frozen += 1;
        }
    }
    frozen
}

/// g_j = Σ_r c_r J_r[j] for a fixed K, summed from +0 in r order (the general loop's
/// operations) with the K weights and Jacobian rows held outside the coordinate loop.
fn descent_k<'a, const K: usize>(
    c: &[f64],
    jac: &'a [f64],
    t: usize,
) -> impl Fn(usize) -> f64 + 'a {
    let c: [f64; K] = std::array::from_fn(|r| c[r]);
    let rows: [&[f64]; K] = std::array::from_fn(|r| &jac[r * t..(r + 1) * t]);
    move |j| {
        let mut g = 0.0;
        for r in 0..K {
            g += c[r] * rows[r][j];
        }
        g
    }
}

/// cap[a·K + b] = Σ_t J_a[t] W_b[t] with W_b[t] = `rhs(b, t)` (the solved columns, in
/// whatever layout). For K ≤ 4 all K² sums run in one pass over t, in registers, so the
/// K² dependent add chains overlap; each sum is taken in index order from −0 exactly as
/// `Iterator::sum`, which the general case uses, so both give the same bits.
fn capacitance_sums(
    jac: &[f64],
    t: usize,
    k: usize,
    cap: &mut [f64],
    rhs: impl Fn(usize, usize) -> f64,
) {
    // t indexes the K Jacobian rows and, through `rhs`, the solved columns together
    #[allow(clippy::needless_range_loop)]
    fn fixed<const K: usize>(
        jac: &[f64],
        t: usize,
        cap: &mut [f64],
        rhs: impl Fn(usize, usize) -> f64,
    ) {
        let mut acc = [[-0.0f64; K]; K];
        let jac: [&[f64]; K] = std::array::from_fn(|a| &jac[a * t..(a + 1) * t]);
        for j in 0..t {
            let q: [f64; K] = std::array::from_fn(|b| rhs(b, j));
            for a in 0..K {
                let p = jac[a][j];
                for b in 0..K {
                    acc[a][b] += p * q[b];
                }
            }
        }
        for (row, acc) in cap.chunks_exact_mut(K).zip(&acc) {
            row.copy_from_slice(acc);
        }
    }
    match k {
        1 => fixed::<1>(jac, t, cap, rhs),
        2 => fixed::<2>(jac, t, cap, rhs),
        3 => fixed::<3>(jac, t, cap, rhs),
        4 => fixed::<4>(jac, t, cap, rhs),
        _ => {
            for (ja, cap) in jac.chunks_exact(t).zip(cap.chunks_exact_mut(k)) {
                for (b, cab) in cap.iter_mut().enumerate() {
                    *cab = ja.iter().enumerate().map(|(j, p)| p * rhs(b, j)).sum();
                }
            }
        }
    }
}

/// Runs `f(i, work_i)` over all particles, in parallel if enabled (each call writes only
/// its own workspace, so the order of execution cannot change any result).
fn for_each_particle<W: Send, G>(par: Parallelism, work: &mut [W], f: G)
where
    G: Fn(usize, &mut W) + Send + Sync,
{
    for_each_chunk_mut(par, work, 1, 1, |i, w| f(i, &mut w[0]));
}

/// MGDM / MF-MGDM on an [`Ensemble`] of N paths of length T (see the module docs).
#[derive(Debug)]
pub struct Mgdm<F: FeatureMap> {
    map: F,
    alpha: Vec<f64>,
    alpha_norm2: f64,
    params: MgdmParams,
    parallelism: Parallelism,
    work: Vec<ParticleWork<F::Hessian>>,
    /// One factored block per coupling group (empty unless [`Mgdm::shares_blocks`]).
    blocks: Vec<GroupBlock<F::Hessian>>,
}

impl StepInfo for MgdmInfo {
    fn dt(&self) -> f64 {
        self.dt
    }
}

impl<F: FeatureMap> Mgdm<F>
where
    F::Hessian: std::fmt::Debug,
{
    /// MGDM/MF-MGDM for feature map `map`, target `alpha` (length K, ‖α‖ > 0) and `params`.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] for a non-finite or zero α or α of the wrong
    /// length (γ and the group size are validated by [`MgdmParams`]).
    pub fn new(map: F, alpha: Vec<f64>, params: MgdmParams) -> Result<Self> {
        if alpha.len() != map.n_features() {
            return Err(IntegratorError::InvalidParameter {
                name: "alpha length",
                value: alpha.len() as f64,
                reason: "must equal the number of features K",
            });
        }
        if let Some(bad) = alpha.iter().find(|a| !a.is_finite()) {
            return Err(IntegratorError::InvalidParameter {
                name: "alpha",
                value: *bad,
                reason: "must be finite",
            });
        }
        let alpha_norm2: f64 = alpha.iter().map(|a| a * a).sum();
        // ‖α‖² overflows for finite α with entries ≳ 1e154: the loss would be 0 and the
        // paths would never move.
        if !(alpha_norm2 > 0.0 && alpha_norm2.is_finite()) {
            return Err(IntegratorError::InvalidParameter {
                name: "‖alpha‖²",
                value: alpha_norm2,
                reason: "the target must be non-zero with a finite squared norm (it normalises the loss)",
            });
        }
        Ok(Self {
            map,
            alpha,
            alpha_norm2,
            params,
            parallelism: Parallelism::Sequential,
            work: Vec::new(),
            blocks: Vec::new(),
        })
    }

    /// Spreads the particle loops over the rayon pool (results unchanged, bit for bit).
    #[must_use]
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The feature map.
    pub fn map(&self) -> &F {
        &self.map
    }

    /// The target α.
    pub fn alpha(&self) -> &[f64] {
        &self.alpha
    }

    /// The parameters.
    pub fn params(&self) -> MgdmParams {
        self.params
    }

    /// Effective step s = γ/‖α‖².
    pub fn effective_step(&self) -> f64 {
        self.params.gamma / self.alpha_norm2
    }

    /// Group size n for `n_particles` paths (1 for MGDM).
    fn group_size(&self, n_particles: usize) -> usize {
        match self.params.coupling {
            Coupling::Independent => 1,
            Coupling::Groups(n) => n.min(n_particles.max(1)),
        }
    }

    fn check_shape(&self, ens: &Ensemble) -> Result<()> {
        if ens.dim() != self.map.len() {
            return Err(IntegratorError::IncompatibleState(format!(
                "paths have length {} but the feature map {} expects T = {}",
                ens.dim(),
                self.map.name(),
                self.map.len()
            )));
        }
        self.check_paths(ens.as_slice())
    }

    /// Row-major N × T paths: N ≥ 1, group size divides N, finite, non-negative when
    /// projecting.
    fn check_paths(&self, x: &[f64]) -> Result<()> {
        let t = self.map.len();
        if x.is_empty() || !x.len().is_multiple_of(t) {
            return Err(IntegratorError::IncompatibleState(format!(
                "a buffer of {} values is not N ≥ 1 paths of length T = {t}",
                x.len()
            )));
        }
        let n = x.len() / t;
        if let Coupling::Groups(g) = self.params.coupling
            && !n.is_multiple_of(g)
        {
            return Err(IntegratorError::IncompatibleState(format!(
                "group size {g} does not divide the number of paths N = {n}"
            )));
        }
        if let Some((k, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(IntegratorError::IncompatibleState(format!(
                "path {} has x[{}] = {v}",
                k / t,
                k % t
            )));
        }
        if self.params.project
            && let Some((k, v)) = x.iter().enumerate().find(|(_, v)| **v < 0.0)
        {
            return Err(IntegratorError::IncompatibleState(format!(
                "projected MGDM needs non-negative paths; path {} has x[{}] = {v}",
                k / t,
                k % t
            )));
        }
        Ok(())
    }

    fn ensure_work(&mut self, n: usize) {
        let (t, k) = (self.map.len(), self.map.n_features());
        if self.work.len() != n {
            let hess = self.map.new_hessian();
            let factor = hess.new_factor();
            let proto = ParticleWork {
                phi: vec![0.0; k],
                resid: vec![0.0; k],
                jac: vec![0.0; k * t],
                hess,
                factor,
                mask: vec![true; t],
                next: vec![0.0; t],
                w: vec![0.0; k * t],
                cap: vec![0.0; k * k],
                log_det: LogDet::ONE,
                frozen: 0,
                batched: false,
                own_block: false,
                status: Ok(()),
            };
            self.work = vec![proto; n];
        }
    }

    /// First error by particle index, if any.
    fn first_failure(&self, step: u64) -> Result<()> {
        for w in &self.work {
            if let Err(e) = &w.status {
                return Err(e.clone().at(step));
            }
        }
        Ok(())
    }

    /// Phase 1: features and Jacobians at the current positions; then the residuals
    /// r = Φ̄_G − α, reduced sequentially in particle order.
    fn features_and_residuals(&mut self, x: &[f64], step: u64) -> Result<()> {
        let t = self.map.len();
        let n = x.len() / t;
        self.ensure_work(n);
        let map = &self.map;
        for_each_particle(self.parallelism, &mut self.work, |i, w| {
            let xi = &x[i * t..(i + 1) * t];
            w.status = map
                .eval(xi, &mut w.phi)
                .and_then(|()| map.jacobian(xi, &mut w.jac))
                .map_err(Failure::Energy);
        });
        self.first_failure(step)?;
        let k = self.map.n_features();
        match self.params.coupling {
            Coupling::Independent => {
                for w in &mut self.work {
                    for ((r, p), a) in w.resid.iter_mut().zip(&w.phi).zip(&self.alpha) {
                        *r = p - a;
                    }
                }
            }
            Coupling::Groups(_) => {
                let g = self.group_size(n);
                let inv = 1.0 / g as f64;
                let mut mean = vec![0.0; k];
                for group in self.work.chunks_mut(g) {
                    mean.fill(0.0);
                    for w in group.iter() {
                        mean.iter_mut().zip(&w.phi).for_each(|(m, p)| *m += p);
                    }
                    for (m, a) in mean.iter_mut().zip(&self.alpha) {
                        *m = *m * inv - a;
                    }
                    for w in group.iter_mut() {
                        w.resid.copy_from_slice(&mean);
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether this step factors one block per group ([`GroupBlock`]) instead of one per
    /// path: log|det| tracked, groups of more than one path, and a weighted Hessian that
    /// does not read the path. Per path there remain the K solves and the K × K product.
    fn shares_blocks(&self, n_particles: usize) -> bool {
        self.params.track_log_det
            && self.group_size(n_particles) > 1
            && self.map.hessian_is_constant()
    }

    /// Factors B̃_G = I − s H(c_G) for every group G (after
    /// [`Mgdm::features_and_residuals`]); a failure is kept in the block and reported only
    /// by the paths that use it, so errors name the same first path as the per-path
    /// factorisation would.
    fn factor_group_blocks(&mut self, x: &[f64]) {
        let (t, g) = (self.map.len(), self.group_size(self.work.len()));
        let n_groups = self.work.len() / g;
        if self.blocks.len() != n_groups {
            let hess = self.map.new_hessian();
            let factor = hess.new_factor();
            let proto = GroupBlock {
                hess,
                factor,
                log_det: LogDet::ONE,
                status: Ok(()),
            };
            self.blocks = vec![proto; n_groups];
        }
        let (map, s, work) = (&self.map, self.effective_step(), &self.work);
        for_each_particle(self.parallelism, &mut self.blocks, |j, b| {
            let first = &work[j * g];
            b.status = map
                .weighted_hessian(&x[j * g * t..(j * g + 1) * t], &first.resid, &mut b.hess)
                .map_err(Failure::Energy)
                .and_then(|()| {
                    b.hess
                        .factor_step(s, None, &mut b.factor)
                        .map_err(Failure::Linalg)
                })
                .and_then(|()| b.factor.log_det().map_err(Failure::Linalg))
                .map(|ld| b.log_det = ld);
        });
    }

    /// Phase 2 for one particle: proposal, mask, and (optionally) log|det B̃_i| and the
    /// capacitance contribution J_i B̃_i⁻¹ P_i J_iᵀ. With `block` (the path's
    /// [`GroupBlock`]) a path without frozen coordinates takes B̃_i = B̃_G from it.
    fn particle_step(
        map: &F,
        s: f64,
        project: bool,
        track: bool,
        xi: &[f64],
        w: &mut ParticleWork<F::Hessian>,
        block: Option<&GroupBlock<F::Hessian>>,
    ) {
        let (t, k) = (xi.len(), w.phi.len());
        w.batched = false;
        w.own_block = false;
        let (next, mask, c, jac) = (&mut w.next[..], &mut w.mask[..], &w.resid[..], &w.jac[..]);
        w.frozen = match k {
            1 => propose(xi, next, mask, s, project, descent_k::<1>(c, jac, t)),
            2 => propose(xi, next, mask, s, project, descent_k::<2>(c, jac, t)),
            3 => propose(xi, next, mask, s, project, descent_k::<3>(c, jac, t)),
            4 => propose(xi, next, mask, s, project, descent_k::<4>(c, jac, t)),
            _ => propose(xi, next, mask, s, project, |j| {
                let mut g = 0.0;
                for (r, c) in c.iter().enumerate() {
                    g += c * jac[r * t + j];
                }
                g
            }),
        };
        if !track {
            w.status = Ok(());
            return;
        }
        let res = (|| -> std::result::Result<(), Failure> {
            if let Some(b) = block
                && w.frozen == 0
            {
                b.status.clone()?;
                w.log_det = b.log_det;
                w.batched = true;
                return Ok(());
            }
            map.weighted_hessian(xi, &w.resid, &mut w.hess)
                .map_err(Failure::Energy)?;
            w.own_block = true;
            Ok(())
        })();
        w.status = res;
    }

    /// Factors the own blocks B̃_i of the paths of `chunk` that need one, all at once
    /// ([`StructuredHessian::factor_steps`]: the same bits as one `factor_step` each),
    /// then per path log|det B̃_i|, the K solves and the capacitance part.
    fn factor_own_blocks(
        chunk: &mut [ParticleWork<F::Hessian>],
        s: f64,
        project: bool,
        t: usize,
        k: usize,
    ) {
        let mut items = Vec::with_capacity(chunk.len());
        let mut paths = Vec::with_capacity(chunk.len());
        for (j, w) in chunk.iter_mut().enumerate() {
            if w.own_block && w.status.is_ok() {
                let ParticleWork {
                    hess, mask, factor, ..
                } = w;
                items.push((&*hess, project.then_some(&mask[..]), factor));
                paths.push(j);
            }
        }
        if paths.is_empty() {
            return;
        }
        let mut factored = vec![Ok(()); paths.len()];
        F::Hessian::factor_steps(s, &mut items, &mut factored);
        drop(items);
        for (j, factored) in paths.into_iter().zip(factored) {
            let w = &mut chunk[j];
            w.status = (|| -> std::result::Result<(), Failure> {
                factored.map_err(Failure::Linalg)?;
                w.log_det = w.factor.log_det().map_err(Failure::Linalg)?;
                Self::fill_rhs(w, t);
                // the K rows of w are the K columns of a T × K column-major right-hand side
                let rhs = faer::MatMut::from_column_major_slice_mut(&mut w.w, t, k);
                w.factor.solve_mat_in_place(rhs).map_err(Failure::Linalg)?;
                Self::capacitance(w, t, k);
                Ok(())
            })();
        }
    }

    /// The right-hand side P_i ∇Φ_b (row b of `w.w`, b < K).
    fn fill_rhs(w: &mut ParticleWork<F::Hessian>, t: usize) {
        for (row, grad) in w.w.chunks_exact_mut(t).zip(w.jac.chunks_exact(t)) {
            for ((v, &g), &m) in row.iter_mut().zip(grad).zip(&w.mask) {
                *v = if m { g } else { 0.0 };
            }
        }
    }

    /// cap[a·K + b] = Σ_t J_a[t] W_b[t] after the solve into the rows b of `w.w`.
    fn capacitance(w: &mut ParticleWork<F::Hessian>, t: usize, k: usize) {
        let sol = &w.w;
        capacitance_sums(&w.jac, t, k, &mut w.cap, |b, j| sol[b * t + j]);
    }

    /// The solves of the batched paths of `chunk` (paths `first..`), one sweep per run of
    /// paths sharing a block: their K right-hand sides each, P_i ∇Φ_b, are written
    /// interleaved (row t holds entry t of every column) and solved together
    /// ([`BlockSolver::solve_interleaved_in_place`]: the same bits per column as one
    /// solve each), then each path's capacitance part is summed from its columns. If a
    /// sweep fails (overflow), its paths are solved one by one from their own right-hand
    /// sides, so each path's status is exactly that of its own solve.
    fn solve_batched(
        chunk: &mut [ParticleWork<F::Hessian>],
        first: usize,
        g: usize,
        blocks: &[GroupBlock<F::Hessian>],
        t: usize,
        k: usize,
    ) {
        thread_local! {
            static RHS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut start = 0;
        while start < chunk.len() {
            let group = (first + start) / g;
            let end = (start..chunk.len())
                .find(|&j| (first + j) / g != group)
                .unwrap_or(chunk.len());
            let run = &mut chunk[start..end];
            start = end;
            let Some(block) = blocks.get(group) else {
                continue;
            };
            let c = k * run.iter().filter(|w| w.batched).count();
            if c == 0 {
                continue;
            }
            RHS.with_borrow_mut(|x| {
                x.clear();
                x.resize(t * c, 0.0);
                let mut col = 0;
                for w in run.iter().filter(|w| w.batched) {
                    for grad in w.jac.chunks_exact(t) {
                        for ((row, &gj), &m) in x.chunks_exact_mut(c).zip(grad).zip(&w.mask) {
                            row[col] = if m { gj } else { 0.0 };
                        }
                        col += 1;
                    }
                }
                let swept = block.factor.solve_interleaved_in_place(x, c);
                let mut col = 0;
                for w in run.iter_mut().filter(|w| w.batched) {
                    if swept.is_ok() {
                        capacitance_sums(&w.jac, t, k, &mut w.cap, |b, j| x[j * c + col + b]);
                    } else {
                        Self::fill_rhs(w, t);
                        let rhs = faer::MatMut::from_column_major_slice_mut(&mut w.w, t, k);
                        w.status = block
                            .factor
                            .solve_mat_in_place(rhs)
                            .map_err(Failure::Linalg);
                        if w.status.is_ok() {
                            Self::capacitance(w, t, k);
                        }
                    }
                    col += k;
                }
            });
        }
    }

    /// log|det(I_K − (s/n) Σ_{i∈G} cap_i)| + Σ_{i∈G} log|det B̃_i| for one group.
    fn group_log_det(
        group: &[ParticleWork<F::Hessian>],
        s: f64,
        k: usize,
        cap: &mut [f64],
        step: u64,
    ) -> Result<LogDet> {
        let mut ld = LogDet::ONE;
        cap.fill(0.0);
        for w in group {
            ld = ld.combine(w.log_det);
            for (c, v) in cap.iter_mut().zip(&w.cap) {
                *c += v;
            }
        }
        let scale = s / group.len() as f64;
        for a in 0..k {
            for b in 0..k {
                let id = if a == b { 1.0 } else { 0.0 };
                cap[a * k + b] = id - scale * cap[a * k + b];
            }
        }
        let view = row_major(cap, k, k).map_err(|e| Failure::Linalg(e).at(step))?;
        let lc = dense_log_det(view).map_err(|e| Failure::Linalg(e).at(step))?;
        Ok(ld.combine(lc))
    }

    /// One step on the row-major paths `x` (N × T), returning the step info: the
    /// in-place, buffer-level form of [`Dynamics::step`] (no ensemble needed).
    ///
    /// On error `x` is unchanged.
    ///
    /// # Errors
    /// [`IntegratorError::IncompatibleState`] for a malformed buffer (see
    /// [`Dynamics::check_state`]); [`IntegratorError::Energy`] / [`IntegratorError::LinearAlgebra`] (naming the step)
    /// if a feature evaluation or a factorisation fails, [`IntegratorError::Diverged`] if
    /// the new state is not finite.
    pub fn step_paths(&mut self, x: &mut [f64], step: u64) -> Result<MgdmInfo> {
        self.check_paths(x)?;
        self.features_and_residuals(x, step)?;
        let s = self.effective_step();
        let (project, track) = (self.params.project, self.params.track_log_det);
        let t = self.map.len();
        let k = self.map.n_features();
        let n = x.len() / t;
        let share = self.shares_blocks(n);
        if share {
            self.factor_group_blocks(x);
        }
        {
            let (map, g) = (&self.map, self.group_size(n));
            let blocks = if share { &self.blocks[..] } else { &[] };
            let xr: &[f64] = x;
            let phase2 = |first: usize, chunk: &mut [ParticleWork<F::Hessian>]| {
                for (j, w) in chunk.iter_mut().enumerate() {
                    let i = first + j;
                    let xi = &xr[i * t..(i + 1) * t];
                    Self::particle_step(map, s, project, track, xi, w, blocks.get(i / g));
                }
                if track {
                    Self::factor_own_blocks(chunk, s, project, t, k);
                    Self::solve_batched(chunk, first, g, blocks, t, k);
                }
            };
            // whole batches on the pool, the remainder (< SOLVE_BATCH paths) after them
            let whole = n - n % SOLVE_BATCH;
            let (head, tail) = self.work.split_at_mut(whole);
            for_each_chunk_mut(self.parallelism, head, SOLVE_BATCH, 1, |c, chunk| {
                phase2(c * SOLVE_BATCH, chunk)
            });
            phase2(whole, tail);
        }
        self.first_failure(step)?;
        let mut report = MgdmInfo {
            dt: self.params.gamma,
            ..MgdmInfo::default()
        };
        if track {
            let g = self.group_size(self.work.len());
            let mut cap = vec![0.0; k * k];
            let mut total = LogDet::ONE;
            for group in self.work.chunks(g) {
                let ld = Self::group_log_det(group, s, k, &mut cap, step)?;
                if !ld.is_positive() {
                    report.negative_dets += 1;
                }
                total = total.combine(ld);
            }
            report.log_det = total.log_abs;
        }
        for (i, w) in self.work.iter().enumerate() {
            if let Some(j) = w.next.iter().position(|v| !v.is_finite()) {
                return Err(IntegratorError::Diverged {
                    step: step + 1,
                    reason: format!("path {i} coordinate {j} became {}", w.next[j]),
                });
            }
            report.frozen += w.frozen;
        }
        for (row, w) in x.chunks_exact_mut(t).zip(&self.work) {
            row.copy_from_slice(&w.next);
        }
        Ok(report)
    }

    /// The full Jacobian of one step at `x` (N × T paths) as a dense row-major
    /// NT × NT matrix, assembled from the same Hessians, Jacobians and masks:
    /// ∂y_i/∂x_j = δ_ij (I − s P_i H_i) − [G(i) = G(j)] (s/n) P_i J_iᵀ J_j.
    /// **For tests only / small sizes** (O(N²T²) memory).
    ///
    /// # Errors
    /// As [`Mgdm::step_paths`].
    pub fn dense_jacobian_reference(&mut self, x: &[f64]) -> Result<Vec<f64>> {
        self.check_paths(x)?;
        self.features_and_residuals(x, 0)?;
        let s = self.effective_step();
        let project = self.params.project;
        let t = self.map.len();
        let k = self.map.n_features();
        let n = x.len() / t;
        let nt = n * t;
        let g = self.group_size(n);
        let mut out = vec![0.0; nt * nt];
        for i in 0..n {
            let xi = &x[i * t..(i + 1) * t];
            let map = &self.map;
            let w = &mut self.work[i];
            Self::particle_step(map, s, project, false, xi, w, None);
            map.weighted_hessian(xi, &w.resid, &mut w.hess)
                .map_err(|source| IntegratorError::Energy { step: 0, source })?;
        }
        for i in 0..n {
            let wi = &self.work[i];
            let h = wi.hess.to_dense_row_major();
            for a in 0..t {
                let row = (i * t + a) * nt;
                out[row + i * t + a] += 1.0;
                if !wi.mask[a] {
                    continue;
                }
                for b in 0..t {
                    out[row + i * t + b] -= s * h[a * t + b];
                }
                let gi = i / g;
                for j in gi * g..(gi + 1) * g {
                    let wj = &self.work[j];
                    for b in 0..t {
                        let mut jj = 0.0;
                        for r in 0..k {
                            jj += wi.jac[r * t + a] * wj.jac[r * t + b];
                        }
                        out[row + j * t + b] -= s / g as f64 * jj;
                    }
                }
            }
        }
        Ok(out)
    }
}

impl<F: FeatureMap> Dynamics for Mgdm<F>
where
    F::Hessian: std::fmt::Debug,
{
    type State = Ensemble;
    type Info = MgdmInfo;

    fn fingerprint(&self) -> String {
        format!(
            "mgdm(map={}, K={}, T={}, gamma={:e}, coupling={:?}, project={}, alpha={:?})",
            self.map.fingerprint(),
            self.map.n_features(),
            self.map.len(),
            self.params.gamma,
            self.params.coupling,
            self.params.project,
            self.alpha
        )
    }

    fn check_state(&self, state: &Ensemble) -> Result<()> {
        crate::error::check_single_process(state, "MGDM")?;
        self.check_shape(state)
    }

    /// The paths as given (N × T, the latent sample).
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<Ensemble> {
        Ok(ensemble)
    }

    fn step(&mut self, key: StepKey, state: &mut Ensemble) -> Result<MgdmInfo> {
        if state.dim() != self.map.len() {
            self.check_shape(state)?;
        }
        self.step_paths(state.as_mut_slice(), key.step())
    }
}
