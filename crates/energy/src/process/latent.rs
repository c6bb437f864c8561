//! Latent laws q0 of microcanonical models: i.i.d. coordinates on R^T.
//!
//! * [`StandardGaussian`]: x_t ~ N(0, 1) (AR targets).
//! * [`Exponential`]: x_t ~ Exp(1), mean = std = 1 (CIR0, whose stationary law has
//!   mean = std); non-negative.
//! * [`TruncatedGaussian`]: x_t ~ N(μ, s²) conditioned on x_t ≥ 0, parametrised by the
//!   mean m and standard deviation d of the *truncated* law (CIR1, mean ≠ std);
//!   non-negative.
//!
//! **Truncated Gaussian moments.** With α = −μ/s (standardised truncation point),
//! Q(α) = P(Z ≥ α) (Laplace's continued fraction for the Mills ratio Q/φ when α ≥ 1.5,
//! Marsaglia's positive series otherwise) and the inverse Mills ratio λ(α) = φ(α)/Q(α):
//! m = μ + sλ = s(λ − α),  d² = s²(1 + αλ − λ²).
//! The coefficient of variation CV(α) = d/m = √(1 + αλ − λ²)/(λ − α) depends on α only
//! and increases strictly from 0 (α → −∞, an untruncated Gaussian far from 0) to 1
//! (α → ∞, the exponential limit). So a law exists iff 0 < d < m; we solve CV(α) = d/m by
//! bisection on α ∈ [−(2m/d + 10), 20] to full f64 resolution, then s = m/(λ − α) and
//! μ = −sα. (CV(20) ≈ 0.9976: requests closer to the exponential limit are rejected —
//! use [`Exponential`].)
//!
//! **Sampling** (exact): z from N(0, 1) truncated to [α, ∞), x = μ + s z. For α < 0 plain
//! rejection from N(0, 1) (acceptance ≥ 1/2); for α ≥ 0 Robert's (1995) exponential
//! proposal z = α + E/λ*, λ* = (α + √(α² + 4))/2, accepted with probability
//! exp(−(z − λ*)²/2) (acceptance ≥ 0.76).

use rand_distr::{Distribution, Exp1, Open01, StandardNormal};

use meanfield_measures::rng::ParticleRng;

use super::PathLaw;
use super::ar::HALF_LN_2PI;
use super::cir::CirProcess;
use crate::error::{EnergyError, Result, check_param};

/// i.i.d. N(0, 1) coordinates on R^T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardGaussian {
    len: usize,
}

impl StandardGaussian {
    /// N(0, I_T). Errors: `len` = 0.
    pub fn new(len: usize) -> Result<Self> {
        check_param("path length T", len as f64, true)?;
        Ok(Self { len })
    }
}

impl PathLaw for StandardGaussian {
    fn len(&self) -> usize {
        self.len
    }

    /// log p(x) = −½ Σ x_t² − (T/2) ln 2π.
    fn log_density(&self, x: &[f64]) -> Result<f64> {
        self.check_path(x)?;
        let ss: f64 = x.iter().map(|v| v * v).sum();
        Ok(-0.5 * ss - self.len as f64 * HALF_LN_2PI)
    }

    fn sample(&self, rng: &mut ParticleRng, out: &mut [f64]) -> Result<()> {
        self.check_path_len(out.len())?;
        for v in out {
            *v = StandardNormal.sample(rng);
        }
        Ok(())
    }
}

/// i.i.d. Exp(1) coordinates on [0, ∞)^T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exponential {
    len: usize,
}

impl Exponential {
    /// Exp(1)^{⊗T}. Errors: `len` = 0.
    pub fn new(len: usize) -> Result<Self> {
        check_param("path length T", len as f64, true)?;
        Ok(Self { len })
    }
}

impl PathLaw for Exponential {
    fn len(&self) -> usize {
        self.len
    }

    /// log p(x) = −Σ x_t on [0, ∞)^T, −∞ outside.
    fn log_density(&self, x: &[f64]) -> Result<f64> {
        self.check_path(x)?;
        if x.iter().any(|&v| v < 0.0) {
            return Ok(f64::NEG_INFINITY);
        }
        Ok(-x.iter().sum::<f64>())
    }

    fn sample(&self, rng: &mut ParticleRng, out: &mut [f64]) -> Result<()> {
        self.check_path_len(out.len())?;
        for v in out {
            *v = Exp1.sample(rng);
        }
        Ok(())
    }

    fn non_negative(&self) -> bool {
        true
    }
}

/// i.i.d. N(μ, s²) conditioned on [0, ∞), on [0, ∞)^T (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruncatedGaussian {
    len: usize,
    mu: f64,
    s: f64,
    /// α = −μ/s.
    alpha: f64,
    /// ln s + ½ ln 2π + ln Q(α): minus the log of the density's normaliser.
    log_norm: f64,
    mean: f64,
    std: f64,
}

/// Standard normal density φ(α).
fn std_normal_pdf(alpha: f64) -> f64 {
    (-0.5 * alpha * alpha - HALF_LN_2PI).exp()
}

/// Mills ratio R(α) = Q(α)/φ(α) for α ≥ 1.5 by Laplace's continued fraction
/// R = 1/(α + 1/(α + 2/(α + 3/(α + …)))) (modified Lentz, to full f64 precision).
fn mills_ratio_cf(alpha: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut f = alpha;
    let mut c = alpha;
    let mut d = 0.0;
    for n in 1..10_000 {
        let an = n as f64;
        d = alpha + an * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = alpha + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    1.0 / f
}

/// P(0 ≤ Z ≤ α) (signed for α < 0) = φ(α) Σ_n α^{2n+1}/(1·3···(2n+1)) (Marsaglia's
/// series: all terms of one sign, no cancellation), for |α| < 1.5.
fn central_mass(alpha: f64) -> f64 {
    let a2 = alpha * alpha;
    let mut term = alpha;
    let mut sum = alpha;
    let mut k = 1.0;
    while term.abs() > 1e-17 * sum.abs() {
        term *= a2 / (2.0 * k + 1.0);
        sum += term;
        k += 1.0;
    }
    std_normal_pdf(alpha) * sum
}

/// Q(α) = P(Z ≥ α) for Z ~ N(0, 1), to ~1e-15 relative for all α (statrs' erfc is only
/// ~1e-10 accurate, which the moment solve would amplify).
fn upper_tail(alpha: f64) -> f64 {
    if alpha >= 1.5 {
        std_normal_pdf(alpha) * mills_ratio_cf(alpha)
    } else if alpha > -1.5 {
        0.5 - central_mass(alpha)
    } else {
        1.0 - std_normal_pdf(alpha) * mills_ratio_cf(-alpha)
    }
}

/// Inverse Mills ratio λ(α) = φ(α)/Q(α) (directly 1/R(α) in the upper tail, so no
/// underflow for large α).
fn mills(alpha: f64) -> f64 {
    if alpha >= 1.5 {
        1.0 / mills_ratio_cf(alpha)
    } else {
        std_normal_pdf(alpha) / upper_tail(alpha)
    }
}

/// (λ − α, 1 + αλ − λ²): the truncated standard normal's mean and variance.
fn std_moments(alpha: f64) -> (f64, f64) {
    let l = mills(alpha);
    (l - alpha, 1.0 + alpha * l - l * l)
}

/// Coefficient of variation of the standard normal truncated to [α, ∞).
fn coeff_of_variation(alpha: f64) -> f64 {
    let (m, v) = std_moments(alpha);
    v.max(0.0).sqrt() / m
}

/// Largest standardised truncation point the moment solver considers.
const ALPHA_MAX: f64 = 20.0;

impl TruncatedGaussian {
    /// N(`mu`, `s`²) conditioned on [0, ∞), coordinates i.i.d. on paths of length `len`.
    ///
    /// Errors ([`EnergyError::InvalidParameter`]): non-finite μ, s ≤ 0 or non-finite,
    /// `len` = 0, or a truncation so deep (μ/s < −37) that P(N(μ, s²) ≥ 0) underflows.
    pub fn new(len: usize, mu: f64, s: f64) -> Result<Self> {
        check_param("path length T", len as f64, true)?;
        check_param("truncated Gaussian location μ", mu, false)?;
        check_param("truncated Gaussian scale s", s, true)?;
        let alpha = -mu / s;
        let tail = upper_tail(alpha);
        if tail.is_nan() || tail <= 0.0 || alpha > 37.0 {
            return Err(EnergyError::InvalidParameter {
                name: "truncated Gaussian μ/s",
                value: mu / s,
                reason: "mass on [0, ∞) underflows (μ/s < −37)",
            });
        }
        let (m, v) = std_moments(alpha);
        Ok(Self {
            len,
            mu,
            s,
            alpha,
            log_norm: s.ln() + HALF_LN_2PI + tail.ln(),
            mean: s * m,
            std: s * v.max(0.0).sqrt(),
        })
    }

    /// The truncated Gaussian whose truncated law has mean `mean` and standard deviation
    /// `std` (solved by bisection, see the module docs).
    ///
    /// Errors ([`EnergyError::InvalidParameter`]): non-finite or non-positive mean or std,
    /// std ≥ mean (no such law: CV < 1 always), or std/mean above CV(20) ≈ 0.9976.
    pub fn from_moments(len: usize, mean: f64, std: f64) -> Result<Self> {
        check_param("truncated Gaussian mean", mean, true)?;
        check_param("truncated Gaussian std", std, true)?;
        let cv = std / mean;
        if cv >= 1.0 {
            return Err(EnergyError::InvalidParameter {
                name: "truncated Gaussian std/mean",
                value: cv,
                reason: "a Gaussian truncated to [0, ∞) has std < mean",
            });
        }
        let (mut lo, mut hi) = (-(2.0 / cv + 10.0), ALPHA_MAX);
        if cv > coeff_of_variation(hi) {
            return Err(EnergyError::InvalidParameter {
                name: "truncated Gaussian std/mean",
                value: cv,
                reason: "too close to the exponential limit 1 (use Exp)",
            });
        }
        // CV is increasing in α: keep CV(lo) < cv ≤ CV(hi).
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if coeff_of_variation(mid) < cv {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let alpha = 0.5 * (lo + hi);
        let (m, _) = std_moments(alpha);
        let s = mean / m;
        Self::new(len, -s * alpha, s)
    }

    /// The truncated Gaussian with the stationary mean and standard deviation of `cir`
    /// (the MF-MGDM latent for CIR1), on paths of the same length.
    pub fn matching_stationary(cir: &CirProcess) -> Result<Self> {
        Self::from_moments(
            cir.len(),
            cir.stationary_mean(),
            cir.stationary_variance().sqrt(),
        )
    }

    /// Location μ of the untruncated Gaussian.
    pub fn mu(&self) -> f64 {
        self.mu
    }

    /// Scale s of the untruncated Gaussian.
    pub fn scale(&self) -> f64 {
        self.s
    }

    /// Mean of the truncated law, μ + sλ(α).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Standard deviation of the truncated law, s √(1 + αλ − λ²).
    pub fn std(&self) -> f64 {
        self.std
    }

    /// Draws z from N(0, 1) truncated to [α, ∞) (see the module docs).
    fn sample_standard(&self, rng: &mut ParticleRng) -> f64 {
        let a = self.alpha;
        if a < 0.0 {
            loop {
                let z: f64 = StandardNormal.sample(rng);
                if z >= a {
                    return z;
                }
            }
        }
        let lam = 0.5 * (a + (a * a + 4.0).sqrt());
        loop {
            let e: f64 = Exp1.sample(rng);
            let z = a + e / lam;
            let u: f64 = Open01.sample(rng);
            let d = z - lam;
            if u <= (-0.5 * d * d).exp() {
                return z;
            }
        }
    }
}

impl PathLaw for TruncatedGaussian {
    fn len(&self) -> usize {
        self.len
    }

    /// log p(x) = Σ_t [−½((x_t − μ)/s)² − ln s − ½ ln 2π − ln Q(α)] on [0, ∞)^T.
    fn log_density(&self, x: &[f64]) -> Result<f64> {
        self.check_path(x)?;
        if x.iter().any(|&v| v < 0.0) {
            return Ok(f64::NEG_INFINITY);
        }
        let ss: f64 = x
            .iter()
            .map(|&v| {
                let z = (v - self.mu) / self.s;
                z * z
            })
            .sum();
        Ok(-0.5 * ss - self.len as f64 * self.log_norm)
    }

    fn sample(&self, rng: &mut ParticleRng, out: &mut [f64]) -> Result<()> {
        self.check_path_len(out.len())?;
        for v in out.iter_mut() {
            // μ + sα = 0 up to rounding: clamp the rounding away.
            *v = (self.mu + self.s * self.sample_standard(rng)).max(0.0);
        }
        Ok(())
    }

    fn non_negative(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::excessive_precision)] // reference digits as printed by mpmath
    fn upper_tail_matches_mpmath() {
        // (α, Q(α)) from mpmath 1.3.0 (erfc(α/√2)/2 at 30 digits).
        for (a, want) in [
            (-5.0, 0.99999971334842812081),
            (-1.6, 0.94520070830044200604),
            (-1.4, 0.9192433407662289535),
            (0.0, 0.5),
            (0.7, 0.24196365222307301475),
            (1.4, 0.080756659233771046496),
            (1.6, 0.05479929169955799396),
            (3.0, 0.0013498980316300945267),
            (4.7156, 1.2049974500703302615e-6),
            (10.0, 7.619853024160526066e-24),
            (30.0, 4.9067139271481870595e-198),
        ] {
            let got = upper_tail(a);
            // exp(−α²/2) carries a relative rounding of ~ε α²/2 on its own.
            let tol = 1e-14 + 2.0 * f64::EPSILON * a * a;
            assert!(
                ((got - want) / want).abs() < tol,
                "Q({a}) = {got:e} vs {want:e}"
            );
        }
    }
}
