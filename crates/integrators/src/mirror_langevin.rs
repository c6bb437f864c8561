//! Mirror mean-field Langevin dynamics (MMFLD) on constrained domains, in two flavours:
//! the paper's Euler scheme in the dual ([`MirrorMfld`]) and a Metropolis-adjusted
//! version ([`AdjustedMirrorMfld`]) without the finite-η boundary bias of the former.
//!
//! # The paper's scheme
//!
//! With a Legendre-type mirror map ∇φ: int X → R^d ([`MirrorMap`]), each particle takes
//! an Euler–Maruyama step of the mirror Langevin diffusion in the dual coordinates:
//!
//! Y^i = ∇φ(X^i) − η ∇_x (δF/δμ)(μ_N, X^i) + √(2λη) [∇²φ(X^i)]^{1/2} ξ^i,
//! X^i ← ∇φ*(Y^i),   ξ^i ~ N(0, I_d).
//!
//! Because ∇φ* maps the whole dual space into the *open* domain, iterates never leave
//! int X (proptest in `tests/mirror_langevin.rs`). With the [`Identity`] map the step is
//! plain MFLD ([`crate::Mfld`]) bit for bit: the same noise stream, the same arithmetic
//! order x + (−η g + √(2λη) ξ).
//!
//! **Known bias.** For finite η the scheme is biased towards the boundary: near a face
//! the dual noise √(2λη/x_i) is huge, so particles jump deep into the boundary layer
//! and stay there. On Δ³ at λ = 0.1, η = 3e-3 it puts tens of percent of the particles
//! within 1e-3 of a face, where the exact uniform target has 0.6 % (measured in
//! `tests/mirror_langevin.rs`). Use [`AdjustedMirrorMfld`] or a much smaller η.
//!
//! # Metropolis-adjusted mirror Langevin (MAMLA) with a frozen mean field
//!
//! The drift depends on μ_N, so no single N-particle density is targeted by a per-
//! particle accept/reject. We use the standard *Metropolis-within-mean-field* step: at
//! the start of step k the measure is frozen, μ_N = μ_N(k), and every particle i makes
//! one Metropolis–Hastings move for its own target
//!
//! π(x) ∝ exp(−V(x)/λ),   V(x) = (δF/δμ)(μ_N(k), x)   (Lebesgue density on X),
//!
//! with the mirror-Langevin proposal y' ~ N(∇φ(x) − η ∇V(x), 2λη ∇²φ(x)) in the dual,
//! x' = ∇φ*(y'). All particles then move simultaneously and μ_N is updated. A fixed
//! point of this scheme satisfies μ = π_μ ∝ exp(−(δF/δμ)(μ, ·)/λ): the proximal Gibbs
//! measure of MFLD, *without* O(η) bias (only the O(1/N) mean-field error remains).
//!
//! The proposal density of x' in primal coordinates is the dual Gaussian times the
//! Jacobian of x' ↦ y' = ∇φ(x'):
//!
//! q(x'|x) = N(∇φ(x'); ∇φ(x) − η∇V(x), 2λη ∇²φ(x)) · |det ∇²φ(x')|,
//!
//! ln q(x'|x) = −(n/2) ln(4πλη) − ½ ln det ∇²φ(x) − rᵀ[∇²φ(x)]^{−1}r / (4λη)
//!              + ln det ∇²φ(x'),   r = ∇φ(x') − ∇φ(x) + η∇V(x),
//!
//! (n the dual dimension), and the move is accepted with probability
//! min(1, π(x') q(x|x') / (π(x) q(x'|x))), i.e. with ℓ = ln det ∇²φ, r_f as above and
//! r_b = ∇φ(x) − ∇φ(x') + η∇V(x'),
//!
//! ln α = −(V(x') − V(x))/λ + (3/2)(ℓ(x) − ℓ(x')) − (r_bᵀ[∇²φ(x')]^{−1}r_b − r_fᵀ[∇²φ(x)]^{−1}r_f)/(4λη).
//!
//! The map-specific pieces (ℓ, the inverse-Hessian quadratic form, the dual domain) are
//! the [`MirrorProposal`] trait, implemented here for [`Identity`] (plain MALA),
//! [`Entropic`] and [`LogBarrier`]. V at the proposals, under the frozen μ_N, comes from
//! the [`FrozenFirstVariation`] extension of [`Functional`], implemented for
//! [`QuadraticInteraction`](meanfield_energy::QuadraticInteraction) and
//! [`SimplexMoment`](meanfield_energy::SimplexMoment). V and ∇V at the current particles
//! come from the ensemble-level [`Functional::first_variation`] and
//! [`Functional::first_variation_grad`] (once per step). Proposals outside the dual domain
//! (e.g. y' ≥ 0 for the orthant barrier) or with a non-finite V are rejected.
//!
//! ## Entropic map: the density in the free coordinates
//!
//! On Δ^{d−1} ⊂ R^d (full coordinates) Lebesgue measure is taken on the free
//! coordinates u = (x_1, …, x_{d−1}), x_d = 1 − Σu. There φ(u) = Σ_{i<d} u_i ln u_i +
//! x_d ln x_d, the dual is y_i = ln x_i − ln x_d, and
//!
//! H = ∇²φ(u) = diag(1/u) + (1/x_d) 11ᵀ,
//! det H = Π_{i<d}(1/x_i) · (1 + Σ_{i<d} x_i / x_d) = Π_{i≤d}(1/x_i) · Σ_{i≤d} x_i
//!       = Π_{i≤d} 1/x_i   (matrix determinant lemma),
//! H^{−1} = diag(u) − u uᵀ / (x_d + Σu) = diag(u) − u uᵀ   (Sherman–Morrison).
//!
//! For a free-coordinate residual r (r_d := 0), rᵀH^{−1}r = Σ_i x_i r_i² − (Σ_i x_i r_i)²
//! = Σ_i x_i (r_i − r̄)², r̄ = Σ_i x_i r_i: the variance of r under the probability
//! vector x. That expression is invariant under r ↦ r + c1, so it can be evaluated on the
//! full-coordinate residual r = ln x' − ln x + η g (g the full-coordinate ∇V: the free
//! gradient g_i − g_d is its difference with the last entry) without forming free
//! coordinates. The full-coordinate proposal ln x − ηg + √(2λη) diag(x)^{−1/2} ξ,
//! x' = softmax, is exactly the free-coordinate Gaussian proposal (see
//! [`Entropic`]'s docs), so the sampler and the density agree.
//!
//! Randomness: proposal noise from the stream purpose [`LANGEVIN_NOISE`], the uniform of
//! the accept/reject from purpose [`METROPOLIS_STREAM`], both keyed by (step, particle):
//! results are the same for any thread count, and resume from checkpoints exactly.
//!
//! [`LANGEVIN_NOISE`]: meanfield_measures::streams::LANGEVIN_NOISE
//! [`METROPOLIS_STREAM`]: meanfield_measures::streams::METROPOLIS

use std::sync::atomic::{AtomicUsize, Ordering};

use meanfield_energy::Functional;
use meanfield_measures::{
    BoxBounds, Domain, Ensemble, Entropic, Identity, LogBarrier, MirrorMap, Parallelism, Reducer,
    streams,
};
use rand_distr::{Distribution, Open01};

use crate::dynamics::{Dynamics, StepKey};
use crate::error::{IntegratorError, Result};
use crate::langevin::{
    LangevinCore, LangevinInfo, LangevinParams, check_dim_positive, energy_error, langevin_noise,
};
use crate::projected::with_scratch;

/// Last path segment of a type name (`Entropic` for `meanfield_measures::mirror::Entropic`),
/// used in fingerprints.
pub(crate) fn short_type_name<M>() -> &'static str {
    let full = std::any::type_name::<M>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// The functional, if its dimension is the dimension of the map's domain.
fn check_map_dim<F: Functional, M: MirrorMap>(functional: F, map: &M) -> Result<F> {
    match map.domain() {
        Domain::Box(b) if b.dim() != functional.dim() => {
            Err(IntegratorError::IncompatibleState(format!(
                "the mirror map's box has dimension {}, the functional {}",
                b.dim(),
                functional.dim()
            )))
        }
        _ => Ok(functional),
    }
}

/// Checks that the ensemble lives on the mirror map's domain.
pub(crate) fn check_map_domain<M: MirrorMap>(map: &M, ens: &Ensemble) -> Result<()> {
    let domain = map.domain();
    if *ens.domain() == domain {
        Ok(())
    } else {
        Err(IntegratorError::IncompatibleState(format!(
            "the mirror map lives on {domain:?}, the ensemble on {:?}",
            ens.domain()
        )))
    }
}

/// Dimension, domain and strict interiority of every particle (mirror maps are infinite
/// on the boundary).
fn check_mirror_state<F: Functional, M: MirrorMap>(
    core: &LangevinCore<F>,
    map: &M,
    ens: &Ensemble,
) -> Result<()> {
    core.check_dim(ens)?;
    check_map_domain(map, ens)?;
    match ens.rows().position(|x| !ens.domain().contains_interior(x)) {
        None => Ok(()),
        Some(i) => Err(IntegratorError::IncompatibleState(format!(
            "particle {i} = {:?} is not in the interior of the {} domain (a mirror map is \
             infinite on the boundary)",
            ens.particle(i),
            ens.domain().name()
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// The paper's scheme
// ---------------------------------------------------------------------------------------

/// MMFLD, the paper's Euler scheme in the dual (module docs):
/// Y = ∇φ(X) − η∇δF/δμ(μ_N, X) + √(2λη)[∇²φ(X)]^{1/2}ξ, X ← ∇φ*(Y).
///
/// Iterates stay in the open domain for any η. Biased towards the boundary for finite
/// η; see [`AdjustedMirrorMfld`] for the exact-at-stationarity version.
pub struct MirrorMfld<F, M> {
    core: LangevinCore<F>,
    map: M,
}

impl<F: Functional, M: MirrorMap> MirrorMfld<F, M> {
    /// MMFLD for `functional` with mirror map `map` (sequential particle loop).
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] if the functional has dimension 0;
    /// [`IntegratorError::IncompatibleState`] if the map's domain has another dimension.
    pub fn new(functional: F, map: M, params: LangevinParams) -> Result<Self> {
        let functional = check_map_dim(check_dim_positive(functional)?, &map)?;
        Ok(Self {
            core: LangevinCore::new(functional, params),
            map,
        })
    }

    /// Spreads the particle loop over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.set_parallelism(parallelism);
        self
    }

    /// The functional F.
    pub fn functional(&self) -> &F {
        self.core.functional()
    }

    /// The mirror map.
    pub fn map(&self) -> &M {
        &self.map
    }

    /// The parameters.
    pub fn params(&self) -> &LangevinParams {
        self.core.params()
    }
}

impl<F: Functional, M: MirrorMap> Dynamics for MirrorMfld<F, M> {
    type State = Ensemble;
    type Info = LangevinInfo;

    fn fingerprint(&self) -> String {
        format!(
            "mirror-mfld(map={}, domain={:?}, {})",
            short_type_name::<M>(),
            self.map.domain(),
            self.core.params_fingerprint()
        )
    }

    /// The dimension must match the functional, the ensemble's domain must equal the
    /// map's domain, and every particle must lie in its (relative) interior.
    fn check_state(&self, ens: &Ensemble) -> Result<()> {
        check_mirror_state(&self.core, &self.map, ens)
    }

    /// The ensemble as given (it must lie in the interior of the map's domain).
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<Ensemble> {
        Ok(ensemble)
    }

    fn step(&mut self, key: StepKey, ens: &mut Ensemble) -> Result<LangevinInfo> {
        check_map_domain(&self.map, ens)?;
        let d = ens.dim();
        self.core.drift(ens, key.step())?;
        let params = self.core.params();
        let (eta, sigma, noise, map, first) = (
            params.eta(),
            params.noise_scale(),
            langevin_noise(key),
            &self.map,
            ens.first_index(),
        );
        self.core.for_each_particle(ens, |i, x, g| {
            with_scratch(3 * d, |s| {
                let (y, rest) = s.split_at_mut(d);
                let (xi, h) = rest.split_at_mut(d);
                noise.fill_standard_normal(first + i as u64, xi);
                map.grad_phi(x, y);
                map.hessian_sqrt_apply(x, xi, h);
                for ((y, g), h) in y.iter_mut().zip(g).zip(h.iter()) {
                    *y += -eta * g + sigma * h;
                }
                map.grad_phi_star(y, x);
            });
        });
        Ok(LangevinInfo {
            dt: eta,
            acceptance: None,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Proposal densities of mirror maps
// ---------------------------------------------------------------------------------------

/// What the Metropolis adjustment needs from a mirror map beyond [`MirrorMap`]: the
/// Gaussian proposal density of the dual step in primal coordinates (module docs).
///
/// Conventions: `x` is a point of the open domain (full coordinates), `r` a dual vector in
/// the coordinates [`MirrorMap::grad_phi`] produces. For [`Entropic`], ∇²φ is the Hessian
/// in the d − 1 free coordinates and dual vectors are taken modulo the all-ones direction.
pub trait MirrorProposal: MirrorMap {
    /// Data extracted once per step that the per-point methods read (the box bounds for
    /// [`LogBarrier`]; nothing for the others).
    type Geometry: Send + Sync;

    /// Builds the [`MirrorProposal::Geometry`].
    fn geometry(&self) -> Self::Geometry;

    /// Dimension n of the dual space for points of dimension `d` (d − 1 for the simplex).
    fn dual_dim(&self, d: usize) -> usize;

    /// ln det ∇²φ(x) (may be non-finite for points outside the open domain).
    fn log_det_hessian(&self, geometry: &Self::Geometry, x: &[f64]) -> f64;

    /// rᵀ [∇²φ(x)]^{−1} r.
    fn inverse_hessian_quad(&self, geometry: &Self::Geometry, x: &[f64], r: &[f64]) -> f64;

    /// Whether the dual point `y` lies in the domain of ∇φ*, where x = ∇φ*(y) inverts
    /// ∇φ. Proposals outside it are rejected (the proposal kernel is then
    /// sub-stochastic with the rest of its mass on "stay", which keeps detailed balance).
    fn in_dual_domain(&self, geometry: &Self::Geometry, y: &[f64]) -> bool;
}

/// Plain MALA: ∇²φ = I, ln det = 0, rᵀr.
impl MirrorProposal for Identity {
    type Geometry = ();

    fn geometry(&self) {}

    fn dual_dim(&self, d: usize) -> usize {
        d
    }

    fn log_det_hessian(&self, _: &(), _x: &[f64]) -> f64 {
        0.0
    }

    fn inverse_hessian_quad(&self, _: &(), _x: &[f64], r: &[f64]) -> f64 {
        r.iter().map(|r| r * r).sum()
    }

    fn in_dual_domain(&self, _: &(), y: &[f64]) -> bool {
        y.iter().all(|v| v.is_finite())
    }
}

/// Free coordinates (module docs): ln det ∇²φ(x) = −Σ_i ln x_i + ln Σ_i x_i (the last
/// term is 0 on the simplex; kept so that the formula is exact for Σx = 1 ± ulp), and
/// rᵀ[∇²φ(x)]^{−1}r = Σ_i x_i (r_i − r̄)² with r̄ = Σ_i x_i r_i / Σ_i x_i: the variance of
/// r under the probability vector x (= Σ x_i r_i² − (Σ x_i r_i)²/Σ x_i, evaluated in the
/// two-pass form that does not cancel).
impl MirrorProposal for Entropic {
    type Geometry = ();

    fn geometry(&self) {}

    fn dual_dim(&self, d: usize) -> usize {
        d.saturating_sub(1)
    }

    fn log_det_hessian(&self, _: &(), x: &[f64]) -> f64 {
        let s: f64 = x.iter().sum();
        s.ln() - x.iter().map(|v| v.ln()).sum::<f64>()
    }

    fn inverse_hessian_quad(&self, _: &(), x: &[f64], r: &[f64]) -> f64 {
        let s: f64 = x.iter().sum();
        let mean = x.iter().zip(r).map(|(x, r)| x * r).sum::<f64>() / s;
        x.iter()
            .zip(r)
            .map(|(x, r)| x * (r - mean) * (r - mean))
            .sum()
    }

    fn in_dual_domain(&self, _: &(), y: &[f64]) -> bool {
        y.iter().all(|v| v.is_finite())
    }
}

/// Diagonal Hessian h_i² with h_i = (1/(x_i − l_i)² + 1/(u_i − x_i)²)^{1/2} (infinite
/// bounds contribute 0): ln det = 2 Σ ln h_i, quadratic form Σ (r_i / h_i)² (computed
/// through h_i = hypot, so no square overflows next to a face). Dual domain per
/// coordinate: R for a finite interval, y < 0 for [l, ∞), y > 0 for (−∞, u].
impl MirrorProposal for LogBarrier {
    /// The box bounds (`None` only if the map's domain were not a box, which
    /// [`LogBarrier`] never produces; every proposal is then rejected).
    type Geometry = Option<BoxBounds>;

    fn geometry(&self) -> Option<BoxBounds> {
        match self.domain() {
            Domain::Box(b) => Some(b),
            _ => None,
        }
    }

    fn dual_dim(&self, d: usize) -> usize {
        d
    }

    fn log_det_hessian(&self, geometry: &Option<BoxBounds>, x: &[f64]) -> f64 {
        match geometry {
            Some(b) => x
                .iter()
                .zip(b.lower().iter().zip(b.upper()))
                .map(|(x, (l, u))| 2.0 * barrier_hessian_sqrt(*x, *l, *u).ln())
                .sum(),
            None => f64::NAN,
        }
    }

    fn inverse_hessian_quad(&self, geometry: &Option<BoxBounds>, x: &[f64], r: &[f64]) -> f64 {
        match geometry {
            Some(b) => x
                .iter()
                .zip(r)
                .zip(b.lower().iter().zip(b.upper()))
                .map(|((x, r), (l, u))| {
                    let t = r / barrier_hessian_sqrt(*x, *l, *u);
                    t * t
                })
                .sum(),
            None => f64::NAN,
        }
    }

    fn in_dual_domain(&self, geometry: &Option<BoxBounds>, y: &[f64]) -> bool {
        let Some(b) = geometry else { return false };
        y.len() == b.dim()
            && y.iter()
                .zip(b.lower().iter().zip(b.upper()))
                .all(|(y, (l, u))| {
                    y.is_finite()
                        && match (l.is_finite(), u.is_finite()) {
                            (true, true) => true,
                            (true, false) => *y < 0.0,
                            (false, true) => *y > 0.0,
                            (false, false) => false,
                        }
                })
    }
}

/// (1/(x − l)² + 1/(u − x)²)^{1/2}, infinite bounds contributing 0.
fn barrier_hessian_sqrt(x: f64, l: f64, u: f64) -> f64 {
    let a = if l.is_finite() { 1.0 / (x - l) } else { 0.0 };
    let b = if u.is_finite() { 1.0 / (u - x) } else { 0.0 };
    a.hypot(b)
}

/// ln q(x'|x): the exact log-density (w.r.t. Lebesgue measure on the dual-dimensional
/// coordinates, the d − 1 free coordinates for [`Entropic`]) of the mirror-Langevin
/// proposal x' = ∇φ*(y'), y' ~ N(∇φ(x) − η g, 2λη ∇²φ(x)), where g = ∇V(x):
///
/// ln q = −(n/2) ln(4πλη) − ½ ln det ∇²φ(x) − rᵀ[∇²φ(x)]^{−1}r/(4λη) + ln det ∇²φ(x'),
/// r = ∇φ(x') − ∇φ(x) + η g.
///
/// `x`, `g` and `x_new` must have the same length (the map's dimension); mismatched
/// lengths are truncated to the shortest, never a panic. Returns −∞ when ∇φ(x_new) lies
/// outside the dual domain.
pub fn log_proposal_density<M: MirrorProposal>(
    map: &M,
    x: &[f64],
    g: &[f64],
    x_new: &[f64],
    lambda: f64,
    eta: f64,
) -> f64 {
    let d = x.len().min(g.len()).min(x_new.len());
    let (x, g, x_new) = (&x[..d], &g[..d], &x_new[..d]);
    let geometry = map.geometry();
    with_scratch(3 * d, |s| {
        let (y, rest) = s.split_at_mut(d);
        let (y_new, r) = rest.split_at_mut(d);
        map.grad_phi(x, y);
        map.grad_phi(x_new, y_new);
        if !map.in_dual_domain(&geometry, y_new) {
            return f64::NEG_INFINITY;
        }
        for (((r, yn), y), g) in r.iter_mut().zip(y_new.iter()).zip(y.iter()).zip(g) {
            *r = yn - y + eta * g;
        }
        let n = map.dual_dim(d) as f64;
        -0.5 * n * (4.0 * std::f64::consts::PI * lambda * eta).ln()
            - 0.5 * map.log_det_hessian(&geometry, x)
            - map.inverse_hessian_quad(&geometry, x, r) / (4.0 * lambda * eta)
            + map.log_det_hessian(&geometry, x_new)
    })
}

pub use meanfield_energy::frozen::{
    FrozenFirstVariation, FrozenPotential, FrozenQuadratic, FrozenSimplexMoment,
};

// ---------------------------------------------------------------------------------------
// The adjusted scheme
// ---------------------------------------------------------------------------------------

/// Metropolis-adjusted MMFLD (MAMLA with the mean field frozen for the duration of a
/// step; module docs). Each step: V, ∇V at all particles (ensemble level), then per
/// particle a mirror-Langevin proposal and an accept/reject for π ∝ exp(−V/λ).
/// [`LangevinInfo::acceptance`] is the fraction of particles that moved.
pub struct AdjustedMirrorMfld<F, M> {
    core: LangevinCore<F>,
    map: M,
    /// V(X^i) = δF/δμ(μ_N, X^i) at the current particles (reused buffer).
    values: Vec<f64>,
}

impl<F: FrozenFirstVariation, M: MirrorProposal> AdjustedMirrorMfld<F, M> {
    /// Adjusted MMFLD for `functional` with mirror map `map` (sequential particle loop).
    ///
    /// # Errors
    /// As [`MirrorMfld::new`].
    pub fn new(functional: F, map: M, params: LangevinParams) -> Result<Self> {
        let functional = check_map_dim(check_dim_positive(functional)?, &map)?;
        Ok(Self {
            core: LangevinCore::new(functional, params),
            map,
            values: Vec::new(),
        })
    }

    /// Spreads the particle loop over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.set_parallelism(parallelism);
        self
    }

    /// The functional F.
    pub fn functional(&self) -> &F {
        self.core.functional()
    }

    /// The mirror map.
    pub fn map(&self) -> &M {
        &self.map
    }

    /// The parameters.
    pub fn params(&self) -> &LangevinParams {
        self.core.params()
    }
}

/// Everything a particle's Metropolis move reads, shared by all particles of a step.
struct MalaKernel<'a, M: MirrorProposal, P> {
    map: &'a M,
    geometry: &'a M::Geometry,
    potential: &'a P,
    eta: f64,
    sigma: f64,
    lambda: f64,
}

impl<M: MirrorProposal, P: FrozenPotential> MalaKernel<'_, M, P> {
    /// One MH move of the particle `x` with ∇V(x) = `g`, V(x) = `v`, standard normals
    /// written by `fill_normals`, and ln u of the accept uniform. `scratch` has length
    /// 6d. Returns whether the proposal was accepted (then `x` holds it).
    fn move_particle(
        &self,
        x: &mut [f64],
        g: &[f64],
        v: f64,
        fill_normals: impl FnOnce(&mut [f64]),
        log_u: f64,
        scratch: &mut [f64],
    ) -> bool {
        if !self.propose(x, g, fill_normals, scratch) {
            return false;
        }
        let d = x.len();
        let (xp, gp) = scratch[4 * d..].split_at_mut(d);
        let vp = self.potential.value_and_grad(xp, gp);
        self.accept(x, g, v, vp, log_u, scratch)
    }

    /// The proposal of the particle `x` (∇V(x) = `g`): writes ∇φ(x), ξ, H^{1/2}ξ, y' and
    /// x' into `scratch` (6d: y | a | b | y' | x' | ∇V(x')). False when y' leaves the dual
    /// domain or x' is not finite (the move is then rejected).
    fn propose(
        &self,
        x: &[f64],
        g: &[f64],
        fill_normals: impl FnOnce(&mut [f64]),
        scratch: &mut [f64],
    ) -> bool {
        let (map, geometry, eta, sigma) = (self.map, self.geometry, self.eta, self.sigma);
        let d = x.len();
        let (y, rest) = scratch.split_at_mut(d); // ∇φ(x)
        let (a, rest) = rest.split_at_mut(d); // ξ, then the forward residual
        let (b, rest) = rest.split_at_mut(d); // H^{1/2}ξ, then ∇φ(x')
        let (yp, rest) = rest.split_at_mut(d); // y', then the backward residual
        let (xp, _gp) = rest.split_at_mut(d); // x', ∇V(x')
        fill_normals(a);
        map.grad_phi(x, y);
        map.hessian_sqrt_apply(x, a, b);
        // Same arithmetic as `MirrorMfld`: an accepted proposal is the paper's iterate.
        for (((yp, y), g), b) in yp.iter_mut().zip(y.iter()).zip(g).zip(b.iter()) {
            *yp = y + (-eta * g + sigma * b);
        }
        if !map.in_dual_domain(geometry, yp) {
            return false;
        }
        map.grad_phi_star(yp, xp);
        xp.iter().all(|v| v.is_finite())
    }

    /// The accept/reject of a proposal made by [`MalaKernel::propose`] into `scratch`,
    /// with V(x') = `vp` and ∇V(x') in the last d entries of `scratch`. Returns whether
    /// it was accepted (then `x` holds x').
    fn accept(
        &self,
        x: &mut [f64],
        g: &[f64],
        v: f64,
        vp: f64,
        log_u: f64,
        scratch: &mut [f64],
    ) -> bool {
        let (map, geometry, eta, lambda) = (self.map, self.geometry, self.eta, self.lambda);
        let d = x.len();
        let (y, rest) = scratch.split_at_mut(d);
        let (a, rest) = rest.split_at_mut(d);
        let (b, rest) = rest.split_at_mut(d);
        let (yp, rest) = rest.split_at_mut(d);
        let (xp, gp) = rest.split_at_mut(d);
        if !vp.is_finite() || gp.iter().any(|v| !v.is_finite()) {
            return false;
        }
        // Residuals from the recomputed dual of x', so that the ratio is a function of
        // (x, x') only.
        map.grad_phi(xp, b);
        for (((r, yn), y), g) in a.iter_mut().zip(b.iter()).zip(y.iter()).zip(g) {
            *r = yn - y + eta * g;
        }
        for (((r, yn), y), g) in yp.iter_mut().zip(b.iter()).zip(y.iter()).zip(gp.iter()) {
            *r = y - yn + eta * g;
        }
        let q_fwd = map.inverse_hessian_quad(geometry, x, a);
        let q_bwd = map.inverse_hessian_quad(geometry, xp, yp);
        let (ld_x, ld_xp) = (
            map.log_det_hessian(geometry, x),
            map.log_det_hessian(geometry, xp),
        );
        let log_alpha =
            -(vp - v) / lambda + 1.5 * (ld_x - ld_xp) - (q_bwd - q_fwd) / (4.0 * lambda * eta);
        // A NaN ratio compares false: rejected.
        if log_u < log_alpha {
            x.copy_from_slice(xp);
            true
        } else {
            false
        }
    }
}

impl<F: FrozenFirstVariation, M: MirrorProposal> Dynamics for AdjustedMirrorMfld<F, M> {
    type State = Ensemble;
    type Info = LangevinInfo;

    fn fingerprint(&self) -> String {
        format!(
            "adjusted-mirror-mfld(map={}, domain={:?}, {})",
            short_type_name::<M>(),
            self.map.domain(),
            self.core.params_fingerprint()
        )
    }

    /// The dimension must match the functional, the ensemble's domain must equal the
    /// map's domain, and every particle must lie in its (relative) interior.
    fn check_state(&self, ens: &Ensemble) -> Result<()> {
        check_mirror_state(&self.core, &self.map, ens)
    }

    /// The ensemble as given (it must lie in the interior of the map's domain).
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<Ensemble> {
        Ok(ensemble)
    }

    fn step(&mut self, key: StepKey, ens: &mut Ensemble) -> Result<LangevinInfo> {
        let step = key.step();
        check_map_domain(&self.map, ens)?;
        let (n, d) = (ens.n(), ens.dim());
        self.core.drift(ens, step)?;
        let functional = self.core.functional();
        self.values.resize(n, 0.0);
        functional
            .first_variation(ens, &mut self.values)
            .map_err(energy_error(step))?;
        let potential = functional.freeze(ens).map_err(energy_error(step))?;
        let geometry = self.map.geometry();
        let params = self.core.params();
        let kernel = MalaKernel {
            map: &self.map,
            geometry: &geometry,
            potential: &potential,
            eta: params.eta(),
            sigma: params.noise_scale(),
            lambda: params.lambda(),
        };
        let (noise, accept, values) = (
            langevin_noise(key),
            key.streams(streams::METROPOLIS),
            &self.values,
        );
        let accepted = AtomicUsize::new(0);
        let first = ens.first_index();
        if potential.batched() {
            // One evaluation of V, ∇V at all N proposals (a potential with a per-call
            // cost): propose every particle, evaluate, then accept or reject each. The
            // same draws and arithmetic as the per-particle path below.
            let mut scratch = vec![0.0; n * 6 * d];
            let mut proposed = vec![false; n];
            let mut log_u = vec![0.0; n];
            let grads = self.core.gradients();
            for (i, ((x, g), s)) in ens
                .as_slice()
                .chunks_exact(d)
                .zip(grads.chunks_exact(d))
                .zip(scratch.chunks_exact_mut(6 * d))
                .enumerate()
            {
                let index = first + i as u64;
                let u: f64 = Open01.sample(&mut accept.rng(index));
                log_u[i] = u.ln();
                proposed[i] = kernel.propose(x, g, |xi| noise.fill_standard_normal(index, xi), s);
            }
            // The rejected proposals are evaluated at the particle itself (finite inputs).
            let mut points = ens.as_slice().to_vec();
            for ((p, s), &ok) in points
                .chunks_exact_mut(d)
                .zip(scratch.chunks_exact(6 * d))
                .zip(&proposed)
            {
                if ok {
                    p.copy_from_slice(&s[4 * d..5 * d]);
                }
            }
            let (mut vp, mut gp) = (vec![0.0; n], vec![0.0; n * d]);
            potential.values_and_grads(&points, &mut gp, &mut vp);
            let mut count = 0usize;
            for (i, ((x, g), s)) in ens
                .as_mut_slice()
                .chunks_exact_mut(d)
                .zip(grads.chunks_exact(d))
                .zip(scratch.chunks_exact_mut(6 * d))
                .enumerate()
            {
                if proposed[i] {
                    s[5 * d..].copy_from_slice(&gp[i * d..(i + 1) * d]);
                    if kernel.accept(x, g, values[i], vp[i], log_u[i], s) {
                        count += 1;
                    }
                }
            }
            let counts = Reducer::of(ens).gather(&[count as f64])?;
            let total: f64 = counts.iter().flatten().sum();
            return Ok(LangevinInfo {
                dt: params.eta(),
                acceptance: Some(total / ens.global_n() as f64),
            });
        }
        self.core.for_each_particle(ens, |i, x, g| {
            // The global index keys both streams (a rank draws the single-process draws).
            let index = first + i as u64;
            let u: f64 = Open01.sample(&mut accept.rng(index));
            let moved = with_scratch(6 * d, |s| {
                kernel.move_particle(
                    x,
                    g,
                    values[i],
                    |xi| noise.fill_standard_normal(index, xi),
                    u.ln(),
                    s,
                )
            });
            if moved {
                // An integer count: the total does not depend on the thread order.
                accepted.fetch_add(1, Ordering::Relaxed);
            }
        });
        // Σ of the ranks' integer counts (exact in f64 below 2⁵³) over the global N.
        let counts = Reducer::of(ens).gather(&[accepted.into_inner() as f64])?;
        let total: f64 = counts.iter().flatten().sum();
        Ok(LangevinInfo {
            dt: params.eta(),
            acceptance: Some(total / ens.global_n() as f64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Determinant and inverse of a small dense matrix by Gaussian elimination with
    /// partial pivoting: returns (ln |det A|, A^{−1} r).
    fn dense_logdet_solve(mut a: Vec<Vec<f64>>, mut r: Vec<f64>) -> (f64, Vec<f64>) {
        let n = r.len();
        let mut logdet = 0.0;
        for c in 0..n {
            let p = (c..n)
                .max_by(|i, j| a[*i][c].abs().total_cmp(&a[*j][c].abs()))
                .unwrap();
            a.swap(c, p);
            r.swap(c, p);
            logdet += a[c][c].abs().ln();
            for i in c + 1..n {
                let f = a[i][c] / a[c][c];
                let (top, bottom) = a.split_at_mut(i);
                for (aij, acj) in bottom[0][c..].iter_mut().zip(&top[c][c..]) {
                    *aij -= f * acj;
                }
                r[i] -= f * r[c];
            }
        }
        let mut s = vec![0.0; n];
        for i in (0..n).rev() {
            let t: f64 = (i + 1..n).map(|j| a[i][j] * s[j]).sum();
            s[i] = (r[i] - t) / a[i][i];
        }
        (logdet, s)
    }

    /// Free-coordinate Hessian of the entropic map by central differences of the free
    /// dual y_i = ln x_i − ln x_d.
    fn entropic_free_hessian_fd(x: &[f64]) -> Vec<Vec<f64>> {
        let d = x.len();
        let free_dual = |u: &[f64]| -> Vec<f64> {
            let xd = 1.0 - u.iter().sum::<f64>();
            u.iter().map(|v| v.ln() - xd.ln()).collect()
        };
        let u: Vec<f64> = x[..d - 1].to_vec();
        let h = 1e-6;
        (0..d - 1)
            .map(|i| {
                let (mut up, mut dn) = (u.clone(), u.clone());
                up[i] += h;
                dn[i] -= h;
                let (fp, fm) = (free_dual(&up), free_dual(&dn));
                (0..d - 1).map(|j| (fp[j] - fm[j]) / (2.0 * h)).collect()
            })
            .collect()
    }

    #[test]
    fn entropic_free_coordinate_density_pieces_match_dense_algebra() {
        let points: [&[f64]; 3] = [
            &[0.2, 0.3, 0.5],
            &[0.05, 0.15, 0.3, 0.5],
            &[0.7, 0.01, 0.09, 0.1, 0.1],
        ];
        for x in points {
            let d = x.len();
            let hess = entropic_free_hessian_fd(x);
            // Analytic H = diag(1/u) + 11ᵀ/x_d agrees with finite differences.
            let exact: Vec<Vec<f64>> = (0..d - 1)
                .map(|i| {
                    (0..d - 1)
                        .map(|j| if i == j { 1.0 / x[i] } else { 0.0 } + 1.0 / x[d - 1])
                        .collect()
                })
                .collect();
            for (fd_row, exact_row) in hess.iter().zip(&exact) {
                for (fd, ex) in fd_row.iter().zip(exact_row) {
                    assert!((fd - ex).abs() < 1e-5 * ex, "{fd} vs {ex}");
                }
            }
            // A full-coordinate residual and its free version r_i − r_d.
            let r: Vec<f64> = (0..d).map(|k| (k as f64 * 0.7).sin() + 0.3).collect();
            let free: Vec<f64> = (0..d - 1).map(|k| r[k] - r[d - 1]).collect();
            let (logdet, sol) = dense_logdet_solve(exact, free.clone());
            let quad: f64 = free.iter().zip(&sol).map(|(a, b)| a * b).sum();
            let ld = Entropic.log_det_hessian(&(), x);
            let q = Entropic.inverse_hessian_quad(&(), x, &r);
            assert!(
                (ld - logdet).abs() < 1e-12 * logdet.abs().max(1.0),
                "{ld} {logdet}"
            );
            assert!((q - quad).abs() < 1e-12 * quad.abs().max(1.0), "{q} {quad}");
            // Shift invariance of the full-coordinate form.
            let shifted: Vec<f64> = r.iter().map(|v| v + 3.5).collect();
            assert!((Entropic.inverse_hessian_quad(&(), x, &shifted) - q).abs() < 1e-12);
        }
    }

    #[test]
    fn log_barrier_density_pieces_match_finite_differences() {
        let b = BoxBounds::new(vec![0.0, -1.0, 2.0], vec![1.0, 3.0, f64::INFINITY]).unwrap();
        let map = LogBarrier::new(b).unwrap();
        let geom = map.geometry();
        let x = [0.3, 2.5, 2.2];
        let mut logdet = 0.0;
        let r = [0.4, -1.3, 2.0];
        let mut quad = 0.0;
        for k in 0..3 {
            let h = 1e-7;
            let (mut up, mut dn) = (x, x);
            up[k] += h;
            dn[k] -= h;
            let (mut yu, mut yd) = ([0.0; 3], [0.0; 3]);
            map.grad_phi(&up, &mut yu);
            map.grad_phi(&dn, &mut yd);
            let hkk = (yu[k] - yd[k]) / (2.0 * h);
            logdet += hkk.ln();
            quad += r[k] * r[k] / hkk;
        }
        assert!((map.log_det_hessian(&geom, &x) - logdet).abs() < 1e-6);
        assert!((map.inverse_hessian_quad(&geom, &x, &r) - quad).abs() < 1e-6 * quad);
        // Dual domain: the orthant coordinate needs y < 0.
        assert!(map.in_dual_domain(&geom, &[5.0, -5.0, -0.1]));
        assert!(!map.in_dual_domain(&geom, &[5.0, -5.0, 0.0]));
        assert!(!map.in_dual_domain(&geom, &[f64::NAN, -5.0, -1.0]));
    }

    /// The entropic proposal density integrates to 1 over Δ² (midpoint rule on a fine
    /// grid of the free coordinates; the proposal is concentrated away from the faces).
    #[test]
    fn entropic_proposal_density_integrates_to_one() {
        let x = [0.3, 0.45, 0.25];
        let g = [1.0, -2.0, 0.5];
        let (lambda, eta) = (0.1, 0.05);
        let m = 1200;
        let h = 1.0 / m as f64;
        let mut total = 0.0;
        for i in 0..m {
            for j in 0..m - i {
                let (u1, u2) = ((i as f64 + 0.5) * h, (j as f64 + 0.5) * h);
                let u3 = 1.0 - u1 - u2;
                if u3 <= 0.0 {
                    continue;
                }
                let lq = log_proposal_density(&Entropic, &x, &g, &[u1, u2, u3], lambda, eta);
                total += lq.exp() * h * h;
            }
        }
        assert!((total - 1.0).abs() < 2e-3, "{total}");
    }

    #[test]
    fn identity_proposal_density_is_the_gaussian() {
        let (x, g, xn) = ([0.5, -1.0], [2.0, 0.25], [0.1, 0.3]);
        let (lambda, eta) = (0.3, 0.2);
        let var = 2.0 * lambda * eta;
        let expect: f64 = (0..2)
            .map(|k| {
                let z = xn[k] - (x[k] - eta * g[k]);
                -0.5 * (2.0 * std::f64::consts::PI * var).ln() - z * z / (2.0 * var)
            })
            .sum();
        let got = log_proposal_density(&Identity, &x, &g, &xn, lambda, eta);
        assert!((got - expect).abs() < 1e-13, "{got} {expect}");
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name::<Entropic>(), "Entropic");
        assert_eq!(short_type_name::<Vec<Identity>>(), "Vec");
    }
}
