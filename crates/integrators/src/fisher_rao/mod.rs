//! Kernelised Fisher–Rao (birth–death) gradient flow of V^σ(m) = F(m) + σ KL(m | π) on
//! the weights of a particle ensemble, and its Wasserstein–Fisher–Rao variant.
//!
//! Particles X^i carry weights W^i ≥ 0, Σ W^i = 1, m^N = Σ W^i δ_{X^i}. The flow
//!
//! dW^i/dt = −W^i a(m^N, X^i),   a = g − Σ_j W^j g(X^j)
//!
//! changes mass, not positions; g is the (kernelised) flat derivative of V^σ. With
//! f = δF/δm ([`Functional::first_variation`]), ρ_i = (K_ε * m^N)(X^i) the kernel density
//! at the particles and c_j = W^j/ρ_j (Lebesgue weights: Σ_j c_j K_ε(x − X^j) h_j is a
//! Monte-Carlo estimate of ∫ K_ε(x − y) h(y) dy with the particles as nodes), the
//! [`Kernelisation`]s are
//!
//! | variant | g(X^i) |
//! |---|---|
//! | [`Kernelisation::DensityRatio`] | f + σ log(N W^i) (unkernelised; positions must be an i.i.d. sample of π) |
//! | [`Kernelisation::EvolvingMeasure`] (1) | f + σ (log ρ_i − log π(X^i)) |
//! | [`Kernelisation::BothMeasures`] (2) | f + σ (log ρ_i − log (K_ε * π)(X^i)) |
//! | [`Kernelisation::Energy`] (3) | Σ_j c_j K_ij g₁_j / Σ_j c_j K_ij with g₁ the variant-1 g (K_ε * g₁) |
//! | [`Kernelisation::SmoothedKl`] (4) | f + σ Σ_j c_j K_ij ℓ_j / Σ_j c_j K_ij, ℓ_j = log(ρ_j/(K_ε*π)(X^j)) |
//!
//! with K_ij = K_ε(X^i − X^j). (3) and (4) use the self-normalised form of the Lebesgue
//! convolution (exact for constant functions); each is one extra kernel pass.
//!
//! **Which variant is exact for which oracle** (π = N(0, I), m_0 = π, Gaussian kernel,
//! derivation in `docs/fisher-rao.md`). For linear F and for the mean interaction the
//! mean-field flows stay Gaussian, m_t = N(q_t/p_t, I/p_t):
//! - DensityRatio: the exact unkernelised flow (p ≡ 1); with positions sampled from π,
//!   W^i(t) are the self-normalised importance weights of m_t, exact in law.
//! - (2) and (4): p ≡ 1, q' = −∇f − σ q/(1 + ε²); stationary mean −(1 + ε²) c/σ (linear
//!   F): an ε² bias in the mean, none in the variance.
//! - (1) and (3): p' = σ(1 − p/(1 + ε² p)), q' = −∇f − σ q/(1 + ε² p); stationary law
//!   N(−c/σ, (1 − ε²) I): exact mean, ε² bias in the variance.
//!
//! **Weight steps** ([`WeightStep`]):
//! - Euler: W^i ← W^i (1 − h a_i), renormalised by the compensated sum (Σ W a = 0 makes
//!   the total 1 in exact arithmetic). Positivity needs h · max_i a_i < 1; the
//!   [`PositivityGuard`] makes a violating step a typed error
//!   ([`IntegratorError::PositivityLost`]) or shrinks it to h' = s / max_i a_i with a
//!   safety factor s ∈ (0, 1) (the step then reports dt = h').
//! - Exponentiated (mirror descent): W^i ← W^i e^{−h a_i} / Σ_j W^j e^{−h a_j}, positive
//!   for every h, computed in log space.
//!
//! **Invariants** (tests/fisher_rao.rs): Σ W = 1 to 1e-12 after any number of steps,
//! W ≥ 0, |Σ W^i a_i| ≤ 1e-12 (a is centred with compensated sums and re-centred once),
//! permuting the particles permutes the rates and the new weights, and bit-identical
//! results for any thread count.
//!
//! **Resampling** (optional): when ESS = 1/Σ W² falls below a fraction of N, systematic
//! resampling with one uniform from the stream (seed, [`streams::RESAMPLING`], step) copies
//! particles and resets W to 1/N. **Transport** (optional, Wasserstein–Fisher–Rao): after
//! the weight step the positions move by one MFLD step for V^σ,
//! X ← X − h (∇f(m^N, X) − σ ∇ log π(X)) + √(2σh) ξ. DensityRatio needs positions that are
//! an i.i.d. π-sample, so it refuses both options.

mod reference;

pub use reference::{BUMP_QUADRATURE_MAX_DIM, BUMP_QUADRATURE_NODES, GaussianReference};

use meanfield_energy::Functional;
use meanfield_measures::compensated::NeumaierSum;
use meanfield_measures::{
    Domain, Ensemble, Kernel, KernelMatrix, KernelSums, Parallelism, Reducer, Weights, streams,
};
use rand_distr::{Distribution, Open01};
use serde::{Deserialize, Serialize};

use crate::dynamics::{Dynamics, StepInfo, StepKey};
use crate::error::{IntegratorError, Result, check_positive};
use crate::langevin::{energy_error, langevin_noise};

/// How the flat derivative of KL is made finite for an atomic m^N (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kernelisation {
    /// Unkernelised: log(m/π)(X^i) = log(N W^i), for positions sampled i.i.d. from π.
    DensityRatio,
    /// (1) Kernel on the evolving measure: log (K_ε * m) − log π.
    EvolvingMeasure,
    /// (2) Kernel on both measures: log (K_ε * m) − log (K_ε * π).
    BothMeasures,
    /// (3) Kernel on the energy: K_ε * [f + σ (log (K_ε * m) − log π)].
    Energy,
    /// (4) KL between smoothed measures: f + σ K_ε * log((K_ε * m)/(K_ε * π)).
    SmoothedKl,
}

impl Kernelisation {
    /// The four kernelised variants of the spec, in its order.
    pub const KERNELISED: [Kernelisation; 4] = [
        Kernelisation::EvolvingMeasure,
        Kernelisation::BothMeasures,
        Kernelisation::Energy,
        Kernelisation::SmoothedKl,
    ];

    /// All five, the unkernelised reference first.
    pub const ALL: [Kernelisation; 5] = [
        Kernelisation::DensityRatio,
        Kernelisation::EvolvingMeasure,
        Kernelisation::BothMeasures,
        Kernelisation::Energy,
        Kernelisation::SmoothedKl,
    ];

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Kernelisation::DensityRatio => "density ratio (unkernelised)",
            Kernelisation::EvolvingMeasure => "(1) kernel on m",
            Kernelisation::BothMeasures => "(2) kernel on m and π",
            Kernelisation::Energy => "(3) kernel on the energy",
            Kernelisation::SmoothedKl => "(4) KL(K*m | K*π)",
        }
    }

    /// Whether the variant uses the kernel.
    pub fn uses_kernel(self) -> bool {
        self != Kernelisation::DensityRatio
    }

    /// Whether the variant needs log (K_ε * π).
    fn smooths_reference(self) -> bool {
        matches!(
            self,
            Kernelisation::BothMeasures | Kernelisation::SmoothedKl
        )
    }
}

/// The weight update rule (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightStep {
    /// W ← W (1 − h a), positivity guarded.
    Euler,
    /// W ← W e^{−h a} / Σ W e^{−h a}.
    Exponentiated,
}

/// What the Euler step does when h · max a ≥ 1 would make a weight negative.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum PositivityGuard {
    /// Fail with [`IntegratorError::PositivityLost`].
    Error,
    /// When h · max a ≥ 1, take the shorter step h' = safety / max a, safety ∈ (0, 1)
    /// (the step reports dt = h'); otherwise h.
    Shrink {
        /// Safety factor s: the smallest factor 1 − h' a_i is ≥ 1 − s.
        safety: f64,
    },
}

/// Parameters of [`FisherRao`], validated: [`FisherRaoParams::new`] with the reference,
/// σ and h, then options. Defaults: [`Kernelisation::DensityRatio`] (no kernel),
/// exponentiated step, [`PositivityGuard::Error`], no resampling, no transport, kernel
/// cache [`DEFAULT_KERNEL_CACHE`].
#[derive(Debug, Clone, PartialEq)]
pub struct FisherRaoParams {
    reference: GaussianReference,
    sigma: f64,
    h: f64,
    kernelisation: Kernelisation,
    kernel: Option<Kernel>,
    step_rule: WeightStep,
    guard: PositivityGuard,
    resample_below: Option<f64>,
    transport: bool,
    cache_limit: usize,
}

impl FisherRaoParams {
    /// The flow towards V^σ = F + σ KL(· | π) for the reference π = `reference`, with
    /// entropy weight σ = `sigma` > 0 and step h > 0.
    pub fn new(reference: GaussianReference, sigma: f64, h: f64) -> Result<Self> {
        Ok(Self {
            reference,
            sigma: check_positive("sigma", sigma)?,
            h: check_positive("h", h)?,
            kernelisation: Kernelisation::DensityRatio,
            kernel: None,
            step_rule: WeightStep::Exponentiated,
            guard: PositivityGuard::Error,
            resample_below: None,
            transport: false,
            cache_limit: DEFAULT_KERNEL_CACHE,
        })
    }

    /// A kernelised variant with its kernel K_ε (for [`Kernelisation::DensityRatio`] the
    /// kernel is ignored).
    #[must_use]
    pub fn with_kernelisation(mut self, kernelisation: Kernelisation, kernel: Kernel) -> Self {
        self.kernelisation = kernelisation;
        self.kernel = Some(kernel);
        self
    }

    /// Chooses the weight step rule.
    #[must_use]
    pub fn with_step(mut self, rule: WeightStep) -> Self {
        self.step_rule = rule;
        self
    }

    /// Chooses the positivity guard of the Euler step; a shrink safety factor outside
    /// (0, 1) is an error.
    pub fn with_guard(mut self, guard: PositivityGuard) -> Result<Self> {
        if let PositivityGuard::Shrink { safety } = guard
            && !(safety > 0.0 && safety < 1.0)
        {
            return Err(IntegratorError::InvalidParameter {
                name: "safety",
                value: safety,
                reason: "the shrink safety factor must lie in (0, 1)",
            });
        }
        self.guard = guard;
        Ok(self)
    }

    /// Resamples (systematic, uniforms from the run's stream [`streams::RESAMPLING`])
    /// when ESS < `fraction` · N, `fraction` ∈ (0, 1].
    pub fn with_resampling(mut self, fraction: f64) -> Result<Self> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(IntegratorError::InvalidParameter {
                name: "resampling fraction",
                value: fraction,
                reason: "must lie in (0, 1]",
            });
        }
        self.resample_below = Some(fraction);
        Ok(self)
    }

    /// Wasserstein–Fisher–Rao: positions also move by an MFLD step (noise from the run's
    /// stream [`streams::LANGEVIN_NOISE`]).
    #[must_use]
    pub fn with_transport(mut self) -> Self {
        self.transport = true;
        self
    }

    /// Keeps the kernel matrix K_ε(X^i − X^j) between steps while the positions do not
    /// move and it has at most `max_entries` non-zeros (0 disables the cache). The
    /// results are the same bits either way; only the cost changes (one kernel
    /// evaluation per pair once, then a multiply–add per pair and step).
    #[must_use]
    pub fn with_kernel_cache(mut self, max_entries: usize) -> Self {
        self.cache_limit = max_entries;
        self
    }
}

/// What a Fisher–Rao step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FisherRaoInfo {
    /// Time advanced (h, or the shrunk h' of [`PositivityGuard::Shrink`]).
    pub dt: f64,
    /// Effective sample size 1/Σ W² after the step (N after a resampling).
    pub ess: f64,
    /// Whether the step resampled.
    pub resampled: bool,
    /// max_i a(m^N, X^i) of the step's rate.
    pub max_rate: f64,
}

impl StepInfo for FisherRaoInfo {
    fn dt(&self) -> f64 {
        self.dt
    }

    fn ess(&self) -> Option<f64> {
        Some(self.ess)
    }
}

/// The kernelised Fisher–Rao flow as a [`Dynamics`] on a weighted [`Ensemble`].
pub struct FisherRao<F> {
    functional: F,
    reference: GaussianReference,
    sigma: f64,
    h: f64,
    kernelisation: Kernelisation,
    kernel: Kernel,
    step_rule: WeightStep,
    guard: PositivityGuard,
    resample_below: Option<f64>,
    transport: bool,
    parallelism: Parallelism,
    rate: Vec<f64>,
    /// Cached log (K_ε * π) at the positions it was computed for.
    log_ref_smoothed: Option<(Vec<f64>, Vec<f64>)>,
    /// Largest kernel matrix (non-zeros) kept between steps.
    cache_limit: usize,
    /// Kernel matrix at the positions it was built for (`None` inside: too large).
    kernel_cache: Option<(Vec<f64>, Option<KernelMatrix>)>,
    /// On a shard: this rank's positions when the sources were gathered, and every
    /// particle's position (the sources of the kernel sums).
    gathered_sources: Option<(Vec<f64>, Vec<f64>)>,
}

/// Default bound on the cached kernel matrix: 2^22 non-zeros (48 MiB).
pub const DEFAULT_KERNEL_CACHE: usize = 1 << 22;

impl<F: Functional> FisherRao<F> {
    /// The flow for F = `functional` with `params` (sequential kernel sums).
    ///
    /// # Errors
    /// [`IntegratorError::IncompatibleState`] if the functional, reference and kernel
    /// dimensions differ, if a kernelised variant has no kernel, or if resampling or
    /// transport is asked of the density-ratio variant (it needs positions that are an
    /// i.i.d. sample of π); the reference's smoothing check for variants (2) and (4).
    pub fn new(functional: F, params: FisherRaoParams) -> Result<Self> {
        let d = functional.dim();
        let kernelisation = params.kernelisation;
        let kernel = match params.kernel {
            // The density ratio uses no kernel: a given one is ignored, also by the
            // fingerprint, so flows with identical paths accept each other's checkpoints.
            _ if kernelisation == Kernelisation::DensityRatio => Kernel::gaussian(1.0, d.max(1))?,
            Some(k) => k,
            None => {
                return Err(IntegratorError::IncompatibleState(format!(
                    "the {} variant needs a kernel (FisherRaoParams::with_kernelisation)",
                    kernelisation.label()
                )));
            }
        };
        let reference = params.reference;
        if reference.dim() != d || kernel.dim() != d {
            return Err(IntegratorError::IncompatibleState(format!(
                "functional dimension {d}, reference dimension {}, kernel dimension {} must agree",
                reference.dim(),
                kernel.dim()
            )));
        }
        if kernelisation.smooths_reference() {
            reference.check_smoothing(&kernel)?;
        }
        if kernelisation == Kernelisation::DensityRatio {
            for (asked, what) in [
                (params.resample_below.is_some(), "resampling"),
                (params.transport, "transport"),
            ] {
                if asked {
                    return Err(IntegratorError::IncompatibleState(format!(
                        "the density-ratio variant needs positions that are an i.i.d. sample of π; {what} breaks that (use a kernelised variant)"
                    )));
                }
            }
        }
        Ok(Self {
            functional,
            reference,
            sigma: params.sigma,
            h: params.h,
            kernelisation,
            kernel,
            step_rule: params.step_rule,
            guard: params.guard,
            resample_below: params.resample_below,
            transport: params.transport,
            parallelism: Parallelism::Sequential,
            rate: Vec::new(),
            log_ref_smoothed: None,
            cache_limit: params.cache_limit,
            kernel_cache: None,
            gathered_sources: None,
        })
    }

    /// Spreads the kernel sums over the rayon pool (results unchanged).
    #[must_use]
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The functional F.
    pub fn functional(&self) -> &F {
        &self.functional
    }

    /// The kernelisation.
    pub fn kernelisation(&self) -> Kernelisation {
        self.kernelisation
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The reference measure π.
    pub fn reference(&self) -> &GaussianReference {
        &self.reference
    }

    /// Entropy weight σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The centred rate a(m^N, X^i) at every particle (module docs), into `out`
    /// (length N). An unweighted ensemble counts as uniformly weighted.
    pub fn rate_into(&mut self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        self.compute_rate(ens, 0)?;
        if out.len() != ens.n() {
            return Err(IntegratorError::IncompatibleState(format!(
                "rate buffer has length {}, expected {}",
                out.len(),
                ens.n()
            )));
        }
        out.copy_from_slice(&self.rate);
        Ok(())
    }

    /// log (K_ε * π) at the current positions, recomputed only when they changed.
    fn smoothed_reference(&mut self, ens: &Ensemble) -> &[f64] {
        let fresh = matches!(&self.log_ref_smoothed, Some((pos, _)) if pos == ens.as_slice());
        if !fresh {
            let vals: Vec<f64> = ens
                .rows()
                .map(|x| self.reference.log_smoothed(&self.kernel, x))
                .collect();
            self.log_ref_smoothed = Some((ens.as_slice().to_vec(), vals));
        }
        &self
            .log_ref_smoothed
            .as_ref()
            .map(|(_, v)| v)
            .expect("just set")[..]
    }

    /// The reductions over the ensemble's particles (over every rank for a shard).
    fn reducer(&self, ens: &Ensemble) -> Reducer {
        Reducer::of(ens).with_parallelism(self.parallelism)
    }

    /// Every particle's position, the sources of the kernel sums: on a shard the
    /// all-gathered positions (N·d doubles), gathered again only when some rank's
    /// positions moved (one agreement of a value per rank decides; the pure flow never
    /// moves them). `None` in a single process (the ensemble's own positions).
    fn refresh_sources(
        cache: &mut Option<(Vec<f64>, Vec<f64>)>,
        ens: &Ensemble,
        reducer: &Reducer,
    ) -> Result<()> {
        if reducer.shard().is_none() {
            return Ok(());
        }
        let moved = !matches!(cache, Some((local, _)) if local == ens.as_slice());
        if reducer.max(f64::from(u8::from(moved)))? > 0.0 {
            let all = reducer.gather(ens.as_slice())?.concat();
            *cache = Some((ens.as_slice().to_vec(), all));
        }
        Ok(())
    }

    /// Fills `self.rate` with the centred rate at step `step`.
    fn compute_rate(&mut self, ens: &Ensemble, step: u64) -> Result<()> {
        self.check_dim(ens)?;
        let n = ens.n();
        let reducer = self.reducer(ens);
        let global_n = ens.global_n() as f64;
        let uniform;
        let w: &[f64] = match ens.weights() {
            Some(w) => w.as_slice(),
            None => {
                uniform = vec![1.0 / global_n; n];
                &uniform
            }
        };
        let mut g = vec![0.0; n];
        self.functional
            .first_variation(ens, &mut g)
            .map_err(energy_error(step))?;
        let sigma = self.sigma;
        let kern = self.kernelisation;
        if kern == Kernelisation::DensityRatio {
            for (g, w) in g.iter_mut().zip(w) {
                if *w > 0.0 {
                    *g += sigma * (global_n * w).ln();
                }
            }
        } else {
            // log(K*m) − log(K*π) or − log π at every particle.
            let log_ref: Vec<f64> = if kern.smooths_reference() {
                self.smoothed_reference(ens).to_vec()
            } else {
                ens.rows().map(|x| self.reference.log_density(x)).collect()
            };
            // Sources: every particle of the run (gathered on a shard); targets: this
            // rank's particles. Each target's sum runs over the sources' cell list in a
            // fixed order, so a rank's rows are the single-process rows bit for bit.
            Self::refresh_sources(&mut self.gathered_sources, ens, &reducer)?;
            let sources: &[f64] = match &self.gathered_sources {
                Some((_, all)) if reducer.shard().is_some() => all,
                _ => ens.as_slice(),
            };
            // A coefficient column over every particle (gathered on a shard).
            let global = |local: &[f64]| -> Result<Vec<f64>> {
                Ok(match reducer.shard() {
                    None => local.to_vec(),
                    Some(_) => reducer.gather(local)?.concat(),
                })
            };
            let sums = KernelSums::new(self.kernel, sources)?;
            if self.cache_limit > 0
                && !matches!(&self.kernel_cache, Some((pos, _)) if pos == sources)
            {
                let mat =
                    KernelMatrix::build(&sums, ens.as_slice(), self.cache_limit, self.parallelism)?;
                self.kernel_cache = Some((sources.to_vec(), mat));
            }
            let cached = match &self.kernel_cache {
                Some((pos, Some(m))) if pos == sources => Some(m),
                _ => None,
            };
            let par = self.parallelism;
            let apply = |cols: &[&[f64]], out: &mut [f64]| match cached {
                Some(m) => m.apply(cols, out, par),
                None => sums.apply(ens.as_slice(), cols, out, par),
            };
            let mut rho = vec![0.0; n];
            apply(&[&global(w)?], &mut rho)?;
            let log_ratio: Vec<f64> = rho
                .iter()
                .zip(&log_ref)
                .zip(w)
                .map(|((r, l), w)| if *w > 0.0 { r.ln() - l } else { 0.0 })
                .collect();
            match kern {
                Kernelisation::EvolvingMeasure | Kernelisation::BothMeasures => {
                    for (g, l) in g.iter_mut().zip(&log_ratio) {
                        *g += sigma * l;
                    }
                }
                Kernelisation::Energy | Kernelisation::SmoothedKl => {
                    let smoothed: Vec<f64> = if kern == Kernelisation::Energy {
                        g.iter()
                            .zip(&log_ratio)
                            .map(|(g, l)| g + sigma * l)
                            .collect()
                    } else {
                        log_ratio
                    };
                    // Lebesgue weights c_j = W^j/ρ_j (ρ_j ≥ W^j K(0) > 0 when W^j > 0).
                    let c: Vec<f64> = w
                        .iter()
                        .zip(&rho)
                        .map(|(w, r)| if *w > 0.0 { w / r } else { 0.0 })
                        .collect();
                    let ch: Vec<f64> = c.iter().zip(&smoothed).map(|(c, h)| c * h).collect();
                    let mut nd = vec![0.0; 2 * n];
                    apply(&[&global(&ch)?, &global(&c)?], &mut nd)?;
                    for (i, g) in g.iter_mut().enumerate() {
                        let (num, den) = (nd[2 * i], nd[2 * i + 1]);
                        let s = if den > 0.0 { num / den } else { 0.0 };
                        if kern == Kernelisation::Energy {
                            *g = s;
                        } else {
                            *g += sigma * s;
                        }
                    }
                }
                Kernelisation::DensityRatio => unreachable!("handled above"),
            }
        }
        if let Some(i) = (0..n).find(|&i| w[i] > 0.0 && !g[i].is_finite()) {
            return Err(IntegratorError::Diverged {
                step: step + 1,
                reason: format!(
                    "first variation at particle {} is {}",
                    ens.first_index() + i as u64,
                    g[i]
                ),
            });
        }
        // Particles with W = 0 keep W = 0 under every rule; give them a = 0.
        for (g, w) in g.iter_mut().zip(w) {
            if *w == 0.0 {
                *g = 0.0;
            }
        }
        centre(&reducer, &mut g, w)?;
        self.rate = g;
        Ok(())
    }

    fn check_dim(&self, ens: &Ensemble) -> Result<()> {
        if ens.dim() != self.functional.dim() {
            return Err(IntegratorError::IncompatibleState(format!(
                "ensemble has dimension {}, the functional expects {}",
                ens.dim(),
                self.functional.dim()
            )));
        }
        Ok(())
    }

    /// Systematic resampling when ESS < fraction · N; returns whether it resampled.
    fn maybe_resample(&mut self, ens: &mut Ensemble, key: StepKey) -> Result<bool> {
        let Some(fraction) = self.resample_below else {
            return Ok(false);
        };
        let n = ens.n();
        let w = ens.weights().map(|w| w.as_slice().to_vec());
        let Some(w) = w else { return Ok(false) };
        let ess = Weights::from_unnormalised(w.clone())?.ess();
        if ess >= fraction * n as f64 {
            return Ok(false);
        }
        let u: f64 = Open01.sample(&mut key.streams(streams::RESAMPLING).rng(0));
        let d = ens.dim();
        let old = ens.as_slice().to_vec();
        let mut cum = NeumaierSum::new();
        let mut j = 0usize;
        cum.add(w[0]);
        for i in 0..n {
            let target = (i as f64 + u) / n as f64;
            while cum.value() < target && j + 1 < n {
                j += 1;
                cum.add(w[j]);
            }
            ens.particle_mut(i)
                .copy_from_slice(&old[j * d..(j + 1) * d]);
        }
        ens.set_weights(Weights::uniform(n)?)?;
        Ok(true)
    }

    /// One MFLD step of length `h` of the positions for V^σ (Wasserstein part of WFR).
    fn transport(&mut self, ens: &mut Ensemble, key: StepKey, h: f64) -> Result<()> {
        let d = ens.dim();
        let mut grad = vec![0.0; ens.n() * d];
        self.functional
            .first_variation_grad(ens, &mut grad)
            .map_err(energy_error(key.step()))?;
        let sigma = self.sigma;
        let (noise, first) = (langevin_noise(key), ens.first_index());
        let reference = &self.reference;
        meanfield_measures::parallel::for_each_row_mut(
            self.parallelism,
            ens.as_mut_slice(),
            d,
            &grad,
            d,
            |i, x, g| {
                let mut score = [0.0; 8];
                let mut heap;
                let s: &mut [f64] = if d <= 8 {
                    &mut score[..d]
                } else {
                    heap = vec![0.0; d];
                    &mut heap
                };
                reference.grad_log_density(x, s);
                let mut xi = [0.0; 8];
                let mut heap_xi;
                let z: &mut [f64] = if d <= 8 {
                    &mut xi[..d]
                } else {
                    heap_xi = vec![0.0; d];
                    &mut heap_xi
                };
                // Keyed by the global index (a rank draws the single-process noise).
                noise.fill_standard_normal(first + i as u64, z);
                for k in 0..d {
                    x[k] += -h * (g[k] - sigma * s[k]) + (2.0 * sigma * h).sqrt() * z[k];
                }
            },
        );
        Ok(())
    }
}

/// a ← a − Σ W a (compensated block reduction over every particle of the run, all
/// ranks' on a shard), applied twice: the second pass removes the rounding left by the
/// first, so |Σ W a| is at the level of one rounding of the largest term.
fn centre(reducer: &Reducer, a: &mut [f64], w: &[f64]) -> Result<()> {
    for _ in 0..2 {
        let mean = reducer.sums(a.len(), 1, |i, out| out[0] = w[i] * a[i])?[0];
        a.iter_mut()
            .zip(w)
            .filter(|(_, w)| **w > 0.0)
            .for_each(|(a, _)| *a -= mean);
    }
    Ok(())
}

/// Gives an unweighted ensemble the uniform weights 1/N (the flow's default start; N
/// global on a shard).
fn weigh_uniformly_if_unweighted(ens: &mut Ensemble) -> Result<()> {
    if ens.weights().is_none() {
        ens.set_uniform_weights()?;
    }
    Ok(())
}

impl<F: Functional> Dynamics for FisherRao<F> {
    type State = Ensemble;
    type Info = FisherRaoInfo;

    fn fingerprint(&self) -> String {
        format!(
            "fisher-rao(kernelisation={:?}, kernel={:?}, eps={:e}, sigma={:e}, h={:e}, step={:?}, guard={:?}, resample={:?}, transport={:?}, reference={:?}/{:e}, F={})",
            self.kernelisation,
            self.kernel.shape(),
            self.kernel.bandwidth(),
            self.sigma,
            self.h,
            self.step_rule,
            self.guard,
            self.resample_below,
            self.transport,
            self.reference.mean(),
            self.reference.std(),
            self.functional.fingerprint()
        )
    }

    fn check_state(&self, ens: &Ensemble) -> Result<()> {
        if self.resample_below.is_some() {
            // Systematic resampling copies particles across the whole run: not on a shard.
            crate::error::check_single_process(ens, "Fisher–Rao with resampling")?;
        }
        self.check_dim(ens)?;
        if *ens.domain() != Domain::Euclidean {
            return Err(IntegratorError::IncompatibleState(format!(
                "the Gaussian reference lives on R^d; this ensemble lives on the {} domain",
                ens.domain().name()
            )));
        }
        Ok(())
    }

    /// The ensemble with its weights; an unweighted ensemble gets uniform weights 1/N.
    fn init_state(&self, mut ensemble: Ensemble, _seed: u64) -> Result<Ensemble> {
        weigh_uniformly_if_unweighted(&mut ensemble)?;
        Ok(ensemble)
    }

    fn step(&mut self, key: StepKey, ens: &mut Ensemble) -> Result<FisherRaoInfo> {
        let step = key.step();
        // A hand-built state may come without weights: the same default as `init_state`.
        weigh_uniformly_if_unweighted(ens)?;
        self.compute_rate(ens, step)?;
        let reducer = self.reducer(ens);
        let local_max = self.rate.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let max_rate = reducer.max(local_max)?;
        let mut dt = self.h;
        let weights = ens.weights_mut().expect("weights set above");
        match self.step_rule {
            WeightStep::Exponentiated => {
                let g: Vec<f64> = self.rate.iter().map(|a| -self.h * a).collect();
                weights.multiply_exp_and_normalise_with(&reducer, &g)?;
            }
            WeightStep::Euler => {
                if self.h * max_rate >= 1.0 {
                    match self.guard {
                        PositivityGuard::Error => {
                            return Err(IntegratorError::PositivityLost {
                                step,
                                h: self.h,
                                max_rate,
                            });
                        }
                        PositivityGuard::Shrink { safety } => dt = safety / max_rate,
                    }
                }
                let factors: Vec<f64> = self.rate.iter().map(|a| 1.0 - dt * a).collect();
                weights.multiply_and_normalise_with(&reducer, &factors)?;
            }
        }
        let resampled = self.maybe_resample(ens, key)?;
        if self.transport {
            self.transport(ens, key, dt)?;
        }
        let ess = match ens.weights() {
            Some(w) => w.ess_with(&reducer)?,
            None => ens.global_n() as f64,
        };
        Ok(FisherRaoInfo {
            dt,
            ess,
            resampled,
            max_rate,
        })
    }
}
