//! Shared pieces of the Fisher–Rao experiments: the exact Gaussian mean-field oracle of
//! every kernelisation, the particle run with its observed trajectory, and the kernel /
//! kernelisation choices of the configurations.
//!
//! # The Gaussian oracle (π = N(0, I), m_0 = π, Gaussian kernel of variance τ² = ε²)
//!
//! When F's first variation is linear in x, f(m, x) = c(m̄)·x (linear potential: c
//! constant; mean interaction: c = κ(m̄ − b)), every flow below keeps m_t Gaussian and
//! isotropic, log m_t(x) = −p_t|x|²/2 + q_t·x + const, mean μ = q/p, variance 1/p. The rate
//! is a quadratic a = (Â/2)|x|² + B̂·x + const and
//!
//! p' = Â, q' = −B̂ (continuous time); p_{k+1} = p_k + hÂ_k, q_{k+1} = q_k − hB̂_k for the
//! exponentiated step W ← W e^{−ha}/Σ, whose mean-field limit is log m_{k+1} = log m_k − h a_k
//! exactly (so forward Euler on (p, q) *is* the discrete-time oracle).
//!
//! With A₁ = σ(1 − p/(1 + τ²p)), B₁ = c + σq/(1 + τ²p) (variant 1),
//! A₂ = σ(1/(1 + τ²) − p/(1 + τ²p)), B₂ = c + σq/(1 + τ²p) (variant 2), and the
//! particle smoothing operator `S[h](x)` = ∫ K(x − y) ω(y) h(y) dy / ∫ K(x − y) ω(y) dy with
//! ω = m/(K * m) (the mean-field limit of the Lebesgue weights W^j/ρ_j), which maps a
//! quadratic (A/2)|y|² + B·y to (Aβ²/2)|x|² + (Aβ(1 − β)μ + Bβ)·x with
//! β = 1/(1 + ατ²), α = τ²p²/(1 + τ²p):
//!
//! | variant | Â | B̂ |
//! |---|---|---|
//! | density ratio | σ(1 − p) | c + σq |
//! | (1) | A₁ | B₁ |
//! | (2) | A₂ | B₂ |
//! | (3) | A₁β² | A₁β(1 − β)μ + B₁β |
//! | (4) | A₂β² | c + (A₂β(1 − β)μ + (B₂ − c)β) |
//!
//! Fixed points (linear F): density ratio N(−c/σ, I); (1), (3) N(−c/σ, (1 − τ²)I);
//! (2) N(−(1 + τ²)c/σ, I); (4) N(−(1 + τ² + τ⁴)c/σ, I) (p stays 1, β = (1 + τ²)/(1 + τ² + τ⁴)).

use meanfield_energy::Functional;
use meanfield_integrators::{
    Checkpoint, Control, Dynamics, FisherRao, FisherRaoParams, GaussianReference, Kernelisation,
    WeightStep,
};
use meanfield_measures::{Ensemble, Kernel, KernelShape, Parallelism, Weights};

use crate::ExperimentError;
use crate::langevin::gaussian_oracle::gaussian_ensemble;

/// Kernel-matrix cache bound of the experiments' runs: 2^24 non-zeros (200 MiB), enough
/// for N = 4096 with a kernel covering every pair.
pub const KERNEL_CACHE: usize = 1 << 24;

/// Standard deviation s of a proposal q = N(0, s² I) whose tails cover the kernel
/// smoothing: s² = `margin` · (1 + ε²)/ε². The self term of K_ε * m^N relative to the
/// rest, δ(x) ≈ K_ε(0) (m/q)(x) / (N (K_ε * m)(x)), is bounded in x, and the finite-N
/// bias therefore O(1/N), iff s² > v (v + ε²)/ε² for the variance v ≤ 1 of m, i.e. iff
/// `margin` > 1 (docs/fisher-rao.md §3). `margin` = 0 means q = π (s = 1).
pub fn tail_covering_sd(eps: f64, margin: f64) -> f64 {
    if margin == 0.0 {
        1.0
    } else {
        (margin * (1.0 + eps * eps) / (eps * eps)).sqrt().max(1.0)
    }
}

/// Richardson extrapolation N → ∞ of a replicate mean measured at N (`big`) and N/4
/// (`small`), assuming an O(1/N) finite-N bias (self term and Jensen bias of
/// log K_ε * m^N, self-normalisation; see [`tail_covering_sd`]):
/// x_∞ = (4 x_N − x_{N/4})/3, se_∞ = √(16 se_N² + se_{N/4}²)/3 (independent replicates).
pub fn richardson(big: f64, big_se: f64, small: f64, small_se: f64) -> (f64, f64) {
    (
        (4.0 * big - small) / 3.0,
        (16.0 * big_se * big_se + small_se * small_se).sqrt() / 3.0,
    )
}

/// The degrees of freedom of [`richardson`]'s se_∞ when se_N and se_{N/4} each come from
/// replicates with `dof` = R − 1 degrees of freedom: Welch–Satterthwaite
/// ([`crate::study::welch_dof`]) over the terms 4 se_N/3 and se_{N/4}/3, between R − 1 and
/// 2(R − 1). The extrapolated checks are Student-t at that ν ([`crate::report::Check::t_within`]).
pub fn richardson_dof(big_se: f64, small_se: f64, dof: f64) -> f64 {
    crate::study::welch_dof(&[(4.0 * big_se / 3.0, dof), (small_se / 3.0, dof)])
}

/// `proposal_margin` of an experiment's configuration must be finite and ≥ 0.
pub fn check_proposal_margin(margin: f64) -> Result<(), ExperimentError> {
    if margin >= 0.0 && margin.is_finite() {
        Ok(())
    } else {
        Err(ExperimentError::Config(format!(
            "proposal_margin = {margin} must be finite and ≥ 0 (0: sample π)"
        )))
    }
}

/// State (p, q) of the Gaussian oracle: m = N(q/p, I/p).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianState {
    /// Precision p.
    pub p: f64,
    /// Natural parameter q (mean = q/p).
    pub q: Vec<f64>,
}

impl GaussianState {
    /// π = N(0, I): p = 1, q = 0.
    pub fn reference(d: usize) -> Self {
        Self {
            p: 1.0,
            q: vec![0.0; d],
        }
    }

    /// Mean q/p.
    pub fn mean(&self) -> Vec<f64> {
        self.q.iter().map(|q| q / self.p).collect()
    }

    /// Per-coordinate variance 1/p.
    pub fn variance(&self) -> f64 {
        1.0 / self.p
    }
}

/// The quadratic rate (Â, B̂) of `kern` at state `s` (module docs); `drift(μ)` = c(μ).
pub fn gaussian_rate(
    kern: Kernelisation,
    tau2: f64,
    sigma: f64,
    s: &GaussianState,
    drift: &dyn Fn(&[f64]) -> Vec<f64>,
) -> (f64, Vec<f64>) {
    let mu = s.mean();
    let c = drift(&mu);
    let p = s.p;
    let lin = |extra: f64| -> Vec<f64> {
        c.iter()
            .zip(&s.q)
            .map(|(c, q)| c + sigma * q * extra)
            .collect()
    };
    let beta = 1.0 / (1.0 + tau2 * tau2 * p * p / (1.0 + tau2 * p));
    let a1 = sigma * (1.0 - p / (1.0 + tau2 * p));
    let a2 = sigma * (1.0 / (1.0 + tau2) - p / (1.0 + tau2 * p));
    let smooth_b = |a: f64, b: &[f64], keep: &[f64]| -> Vec<f64> {
        b.iter()
            .zip(keep)
            .zip(&mu)
            .map(|((b, k), m)| k + a * beta * (1.0 - beta) * m + (b - k) * beta)
            .collect()
    };
    match kern {
        Kernelisation::EvolvingMeasure => (a1, lin(1.0 / (1.0 + tau2 * p))),
        Kernelisation::BothMeasures => (a2, lin(1.0 / (1.0 + tau2 * p))),
        Kernelisation::Energy => {
            let zero = vec![0.0; c.len()];
            (
                a1 * beta * beta,
                smooth_b(a1, &lin(1.0 / (1.0 + tau2 * p)), &zero),
            )
        }
        Kernelisation::SmoothedKl => (
            a2 * beta * beta,
            smooth_b(a2, &lin(1.0 / (1.0 + tau2 * p)), &c),
        ),
        _ => (sigma * (1.0 - p), lin(1.0)),
    }
}

/// A mean-field drift c(μ) (the x-coefficient of δF/δm at mean μ).
pub type Drift<'a> = &'a (dyn Fn(&[f64]) -> Vec<f64> + Sync);

/// An owned [`Drift`].
pub type BoxedDrift<'a> = Box<dyn Fn(&[f64]) -> Vec<f64> + Sync + 'a>;

/// One Gaussian oracle: variant, kernel variance τ², σ, dimension d and drift c(μ).
#[derive(Clone, Copy)]
pub struct GaussianModel<'a> {
    /// Kernelisation.
    pub kernelisation: Kernelisation,
    /// Kernel variance τ² (ε² for the Gaussian kernel).
    pub tau2: f64,
    /// Entropy weight σ.
    pub sigma: f64,
    /// Dimension d.
    pub d: usize,
    /// c(μ).
    pub drift: Drift<'a>,
}

impl GaussianModel<'_> {
    /// The oracle path at steps 0..=steps of the exponentiated scheme with step `h`,
    /// each step split into `substeps` forward-Euler substeps (1: the exact discrete-time
    /// mean-field limit; many: the continuous-time flow to O(h/substeps)).
    pub fn path(&self, h: f64, steps: usize, substeps: usize) -> Vec<GaussianState> {
        let mut s = GaussianState::reference(self.d);
        let mut path = vec![s.clone()];
        let dt = h / substeps as f64;
        for _ in 0..steps {
            for _ in 0..substeps {
                let (a, b) =
                    gaussian_rate(self.kernelisation, self.tau2, self.sigma, &s, self.drift);
                s.p += dt * a;
                s.q.iter_mut().zip(&b).for_each(|(q, b)| *q -= dt * b);
            }
            path.push(s.clone());
        }
        path
    }

    /// The state after `steps` steps of size `h` (see [`GaussianModel::path`]).
    pub fn state_after(&self, h: f64, steps: usize) -> GaussianState {
        let mut p = self.path(h, steps, 1);
        p.pop().unwrap_or_else(|| GaussianState::reference(self.d))
    }
}

/// One observation of a particle run.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Time t.
    pub t: f64,
    /// Weighted mean.
    pub mean: Vec<f64>,
    /// Weighted variance averaged over coordinates (trace of the covariance / d).
    pub variance: f64,
    /// Effective sample size 1/Σ W².
    pub ess: f64,
    /// The weights (kept only when requested).
    pub weights: Option<Vec<f64>>,
}

fn observe(t: f64, ens: &Ensemble, keep_weights: bool) -> Observation {
    let d = ens.dim();
    let cov = meanfield_diagnostics::covariance(ens);
    Observation {
        t,
        mean: ens.mean(),
        variance: (0..d).map(|k| cov[k * d + k]).sum::<f64>() / d as f64,
        ess: meanfield_diagnostics::ensemble_ess(ens),
        weights: keep_weights.then(|| {
            ens.weights()
                .map(|w| w.as_slice().to_vec())
                .unwrap_or_else(|| vec![1.0 / ens.n() as f64; ens.n()])
        }),
    }
}

/// What a particle run needs besides F.
#[derive(Debug, Clone, Copy)]
pub struct RunSpec {
    /// Kernelisation.
    pub kernelisation: Kernelisation,
    /// Kernel shape.
    pub shape: KernelShape,
    /// Bandwidth ε.
    pub eps: f64,
    /// Entropy weight σ.
    pub sigma: f64,
    /// Step h.
    pub h: f64,
    /// Number of steps.
    pub steps: u64,
    /// Weight step rule.
    pub rule: WeightStep,
    /// Particles N.
    pub n: usize,
    /// Dimension d.
    pub d: usize,
    /// Observe every this many steps (0: only the end).
    pub observe_every: u64,
    /// Keep the weights of every observation.
    pub keep_weights: bool,
    /// Bound on the cached kernel matrix (non-zeros); [`KERNEL_CACHE`] by default.
    pub kernel_cache: usize,
    /// Standard deviation s of the proposal N(0, s² I) the positions are drawn from;
    /// the initial weights are the importance weights π/q, so m^N_0 still represents
    /// π. 1 samples π itself (uniform weights; the only choice DensityRatio accepts).
    pub proposal_sd: f64,
}

/// Runs the Fisher–Rao flow for `functional` from N i.i.d. N(0, s² I) particles
/// (s = `spec.proposal_sd`) with the streams of `seed`, weighted W^i ∝ π/q(X^i) so that
/// m^N_0 represents π = N(0, I) (uniform weights when s = 1); returns the observations
/// (always including t = 0 and the end) and the final ensemble.
pub fn run_flow<F: Functional>(
    functional: F,
    spec: &RunSpec,
    seed: u64,
    par: Parallelism,
) -> Result<(Vec<Observation>, Ensemble), ExperimentError> {
    let kernel = Kernel::new(spec.shape, spec.eps, spec.d)?;
    let params = FisherRaoParams::new(GaussianReference::standard(spec.d)?, spec.sigma, spec.h)?
        .with_kernelisation(spec.kernelisation, kernel)
        .with_step(spec.rule)
        .with_kernel_cache(spec.kernel_cache);
    let mut fr = FisherRao::new(functional, params)?.with_parallelism(par);
    let mut start = gaussian_ensemble(spec.n, spec.d, 0.0, spec.proposal_sd, seed)?;
    if spec.proposal_sd != 1.0 {
        // log(π/q)(x) = −|x|²(1 − 1/s²)/2 + const; the constant cancels on normalising.
        let c = 0.5 * (1.0 - spec.proposal_sd.powi(-2));
        let log_w: Vec<f64> = start
            .rows()
            .map(|x| -c * x.iter().map(|v| v * v).sum::<f64>())
            .collect();
        start.set_weights(Weights::from_log_weights(&log_w)?)?;
    }
    let mut ckpt = Checkpoint::start(&fr, start, seed)?;
    let mut obs = Vec::new();
    let every = if spec.observe_every == 0 {
        spec.steps.max(1)
    } else {
        spec.observe_every
    };
    fr.runner(spec.steps)
        .observe(every, |o| {
            obs.push(observe(o.time, o.state, spec.keep_weights));
            Ok(Control::Continue)
        })
        .run(&mut fr, &mut ckpt)?;
    Ok((obs, ckpt.state))
}

/// Σ_k (a_k − b_k)².
pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// Short machine name of a kernelisation (series keys).
pub fn short(kern: Kernelisation) -> &'static str {
    match kern {
        Kernelisation::DensityRatio => "ratio",
        Kernelisation::EvolvingMeasure => "(1)",
        Kernelisation::BothMeasures => "(2)",
        Kernelisation::Energy => "(3)",
        Kernelisation::SmoothedKl => "(4)",
        _ => "?",
    }
}
