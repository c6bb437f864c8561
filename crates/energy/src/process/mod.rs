//! Laws of whole paths x ∈ R^T: the stochastic-process targets p (AR(p), CIR) and the
//! latent laws q0 (i.i.d. N(0, 1), Exp(1), truncated Gaussian) of microcanonical models.
//!
//! Both sides of the reverse KL of MGDM are [`PathLaw`]s:
//! KL_k = (1/N) [ Σ_i log q0(x_i⁰) − Σ_{steps ≤ k} log|det ∇g| − Σ_i log p(x_i^k) ].

use meanfield_measures::rng::ParticleRng;

use crate::error::{EnergyError, Result};

pub mod ar;
pub mod bessel;
pub mod cir;
pub mod latent;

pub use ar::ArProcess;
pub use bessel::{log_bessel_i, log_bessel_i_scaled};
pub use cir::CirProcess;
pub use latent::{Exponential, StandardGaussian, TruncatedGaussian};

/// A probability law on R^T with a log-density (w.r.t. Lebesgue measure on R^T) and an
/// exact sampler.
pub trait PathLaw: Send + Sync {
    /// Path length T.
    fn len(&self) -> usize;

    /// True when T = 0 (no law in this module is empty: their constructors reject T = 0).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// log p(x) in nats. Points outside the support give `f64::NEG_INFINITY` (a value,
    /// not an error); a path of the wrong length or with non-finite entries is an error.
    fn log_density(&self, x: &[f64]) -> Result<f64>;

    /// Draws one path into `out` (length T) from the generator `rng`.
    fn sample(&self, rng: &mut ParticleRng, out: &mut [f64]) -> Result<()>;

    /// log p of every row of `x` (row-major paths of length T) into `out` (one per row) in
    /// one call, for a law that evaluates many paths at once (a vectorised callback):
    /// `Some(outcome)`. The default `None` tells callers to call
    /// [`PathLaw::log_density`] per row (in parallel); the values must be those of
    /// `log_density` either way.
    fn log_densities(&self, _x: &[f64], _out: &mut [f64]) -> Option<Result<()>> {
        None
    }

    /// One path per generator of `rngs` into the rows of `out` (row-major, `rngs.len()`
    /// rows of length T) in one call, for a law that samples many paths at once: row j
    /// must be what [`PathLaw::sample`] draws from `rngs[j]`. The default `None` tells
    /// callers to call `sample` per path.
    fn sample_many(&self, _rngs: &mut [ParticleRng], _out: &mut [f64]) -> Option<Result<()>> {
        None
    }

    /// True when the law lives on [0, ∞)^T, so dynamics pushing towards it must keep
    /// coordinates non-negative (the MGDM positivity projection).
    fn non_negative(&self) -> bool {
        false
    }

    /// Checks that a path buffer has length T ([`EnergyError::DimensionMismatch`]
    /// otherwise).
    fn check_path_len(&self, got: usize) -> Result<()> {
        if got != self.len() {
            return Err(EnergyError::DimensionMismatch {
                what: "path length T",
                expected: self.len(),
                got,
            });
        }
        Ok(())
    }

    /// Checks that `x` is a path of length T with finite entries (the input contract of
    /// [`PathLaw::log_density`]): [`EnergyError::DimensionMismatch`] or
    /// [`EnergyError::InvalidParameter`] naming the first non-finite entry's value.
    fn check_path(&self, x: &[f64]) -> Result<()> {
        self.check_path_len(x.len())?;
        match x.iter().find(|v| !v.is_finite()) {
            Some(&value) => Err(EnergyError::InvalidParameter {
                name: "path entry x_t",
                value,
                reason: "must be finite",
            }),
            None => Ok(()),
        }
    }
}

/// The i.i.d. draws a law defined outside Rust turns into paths (its exact sampler is a
/// transform of them, e.g. an AR recursion of standard normals): every draw comes from
/// the path's own generator, so the paths are keyed by the Rust streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draws {
    /// N(0, 1) (`rand_distr::StandardNormal`, the draws of [`ArProcess`] and
    /// [`StandardGaussian`]).
    StandardNormal,
    /// U(0, 1) open at both ends (`rand_distr::Open01`).
    Uniform,
    /// Exp(1) (`rand_distr::Exp1`, the draws of [`Exponential`]).
    Exponential,
}

impl Draws {
    /// Fills `out` with consecutive draws from `rng`.
    pub fn fill(self, rng: &mut ParticleRng, out: &mut [f64]) {
        use rand_distr::{Distribution, Exp1, Open01, StandardNormal};
        match self {
            Self::StandardNormal => out.iter_mut().for_each(|v| *v = StandardNormal.sample(rng)),
            Self::Uniform => out.iter_mut().for_each(|v| *v = Open01.sample(rng)),
            Self::Exponential => out.iter_mut().for_each(|v| *v = Exp1.sample(rng)),
        }
    }
}
