//! Stationary autoregressive process AR(p) with unit stationary variance:
//! x_t = Σ_{s=1}^p a_s x_{t−s} + σ ε_t, ε_t i.i.d. N(0, 1),
//! with σ² chosen so that Var x_t = γ_0 = 1.
//!
//! **Stationarity and σ².** The Durbin–Levinson step-down recursion maps (a_1, …, a_p)
//! to the partial autocorrelations κ_1, …, κ_p:
//! κ_k = φ_{k,k},  φ_{k−1,j} = (φ_{k,j} + κ_k φ_{k,k−j}) / (1 − κ_k²),  φ_{p,·} = a.
//! The process is stationary (all roots of 1 − Σ a_s z^s outside the unit disc) iff every
//! |κ_k| < 1 (Schur–Cohn); otherwise [`ArProcess::new`] returns a typed error. The
//! prediction-error variances satisfy v_k = v_{k−1}(1 − κ_k²), v_0 = γ_0, so the exact
//! solution of the Yule–Walker equations with γ_0 = 1 gives
//! σ² = v_p = Π_k (1 − κ_k²),
//! and the autocorrelations follow from the step-up recursion
//! ρ_k = Σ_{j<k} φ_{k−1,j} ρ_{k−j} + κ_k v_{k−1}  (k ≤ p),  ρ_k = Σ_s a_s ρ_{k−s}  (k > p).
//!
//! **Sampling** (as the MF-MGDM spec): start from x_{<0} = 0, discard a burn-in of ⌊T/10⌋
//! values, return the next T. (Exact stationarity is only approached, with error
//! O(max root modulus^{2⌊T/10⌋}) in the variance — negligible for the spec's cases.)
//!
//! **Log-likelihood** (the spec's approximation, exact for p ≤ 1):
//! log p(x) = log N(x_0; 0, 1) + Σ_{t=1}^{T−1} log N(r_t; 0, σ²),
//! r_t = x_t − Σ_s a_s x_{t−s} with x_{<0} = 0.

use rand_distr::{Distribution, StandardNormal};

use meanfield_measures::rng::ParticleRng;

use super::PathLaw;
use crate::error::{EnergyError, Result, check_param};

/// ½ ln(2π).
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// AR(p) with unit stationary variance on paths of length T (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ArProcess {
    coeffs: Vec<f64>,
    len: usize,
    sigma2: f64,
    sigma: f64,
    pacf: Vec<f64>,
    /// ρ_0 = 1, ρ_1, …, ρ_p.
    autocorr: Vec<f64>,
}

impl ArProcess {
    /// AR(p) with coefficients `coeffs` = (a_1, …, a_p) (p = 0 is white noise) on paths of
    /// length `len`.
    ///
    /// Errors ([`EnergyError::InvalidParameter`]): a non-finite coefficient, `len` = 0,
    /// or non-stationary coefficients (a partial autocorrelation with |κ_k| ≥ 1, named
    /// in the error).
    pub fn new(coeffs: &[f64], len: usize) -> Result<Self> {
        check_param("path length T", len as f64, true)?;
        for &a in coeffs {
            check_param("AR coefficient a_s", a, false)?;
        }
        let p = coeffs.len();
        // Step-down: phi[k] = (φ_{k,1}, …, φ_{k,k}) for k = p, p−1, …, 0.
        let mut phi: Vec<Vec<f64>> = vec![Vec::new(); p + 1];
        phi[p] = coeffs.to_vec();
        let mut pacf = vec![0.0; p];
        for k in (1..=p).rev() {
            let kappa = phi[k][k - 1];
            if !kappa.is_finite() || kappa.abs() >= 1.0 {
                return Err(EnergyError::InvalidParameter {
                    name: "AR partial autocorrelation κ_k",
                    value: kappa,
                    reason: "AR(p) not stationary: |κ_k| ≥ 1, a root of 1 − Σ a_s z^s lies on or inside the unit circle",
                });
            }
            pacf[k - 1] = kappa;
            let d = 1.0 - kappa * kappa;
            phi[k - 1] = (1..k)
                .map(|j| (phi[k][j - 1] + kappa * phi[k][k - j - 1]) / d)
                .collect();
        }
        // Step-up: autocorrelations ρ_1..ρ_p and prediction-error variances (γ_0 = 1).
        let mut autocorr = vec![1.0; p + 1];
        let mut v = 1.0;
        for k in 1..=p {
            let prev = &phi[k - 1];
            let pred: f64 = (1..k).map(|j| prev[j - 1] * autocorr[k - j]).sum();
            autocorr[k] = pred + pacf[k - 1] * v;
            v *= 1.0 - pacf[k - 1] * pacf[k - 1];
        }
        if !(v > 0.0 && v.is_finite()) {
            return Err(EnergyError::InvalidParameter {
                name: "AR innovation variance σ²",
                value: v,
                reason: "not positive: coefficients too close to the stationarity boundary",
            });
        }
        Ok(Self {
            coeffs: coeffs.to_vec(),
            len,
            sigma2: v,
            sigma: v.sqrt(),
            pacf,
            autocorr,
        })
    }

    /// The coefficients (a_1, …, a_p).
    pub fn coeffs(&self) -> &[f64] {
        &self.coeffs
    }

    /// The order p.
    pub fn order(&self) -> usize {
        self.coeffs.len()
    }

    /// Innovation variance σ² = Π_k (1 − κ_k²) that makes the stationary variance 1.
    pub fn innovation_variance(&self) -> f64 {
        self.sigma2
    }

    /// Partial autocorrelations κ_1, …, κ_p (all in (−1, 1)).
    pub fn partial_autocorrelations(&self) -> &[f64] {
        &self.pacf
    }

    /// Stationary autocorrelation ρ_lag = autocovariance γ_lag (the variance is 1).
    pub fn autocorrelation(&self, lag: usize) -> f64 {
        let p = self.order();
        if lag <= p {
            return self.autocorr[lag];
        }
        // ρ_k = Σ_s a_s ρ_{k−s} for k > p, extended from the last p values.
        let mut rho = self.autocorr.clone();
        for k in p + 1..=lag {
            let next = (1..=p).map(|s| self.coeffs[s - 1] * rho[k - s]).sum();
            rho.push(next);
        }
        rho[lag]
    }

    /// Burn-in length ⌊T/10⌋ discarded by the sampler.
    pub fn burn_in(&self) -> usize {
        self.len / 10
    }

    /// Residual r_t = x_t − Σ_s a_s x_{t−s} with x_{<0} = 0.
    #[inline]
    fn residual(&self, x: &[f64], t: usize) -> f64 {
        let pred: f64 = self
            .coeffs
            .iter()
            .enumerate()
            .take(t)
            .map(|(i, a)| a * x[t - 1 - i])
            .sum();
        x[t] - pred
    }

    /// log p(x) and its gradient ∇_x log p(x) (written into `grad`, length T):
    /// ∂/∂x_j = −x_0 δ_{j0} − (1/σ²)[r_j 1{j ≥ 1} − Σ_s a_s r_{j+s} 1{j+s ≤ T−1}].
    ///
    /// Errors: as [`PathLaw::log_density`], plus a wrong `grad` length.
    pub fn log_density_and_grad(&self, x: &[f64], grad: &mut [f64]) -> Result<f64> {
        self.check_path(x)?;
        self.check_path_len(grad.len())?;
        grad.fill(0.0);
        grad[0] = -x[0];
        let inv = 1.0 / self.sigma2;
        let mut ss = 0.0;
        for t in 1..x.len() {
            let r = self.residual(x, t);
            ss += r * r;
            grad[t] -= r * inv;
            for (i, a) in self.coeffs.iter().enumerate().take(t) {
                grad[t - 1 - i] += a * r * inv;
            }
        }
        Ok(self.assemble(x[0], ss))
    }

    /// log p from x_0 and the residual sum of squares.
    fn assemble(&self, x0: f64, ss: f64) -> f64 {
        let m = (self.len - 1) as f64;
        -0.5 * x0 * x0 - HALF_LN_2PI - 0.5 * ss / self.sigma2 - m * (HALF_LN_2PI + self.sigma.ln())
    }
}

impl PathLaw for ArProcess {
    fn len(&self) -> usize {
        self.len
    }

    fn log_density(&self, x: &[f64]) -> Result<f64> {
        self.check_path(x)?;
        let ss: f64 = (1..x.len())
            .map(|t| {
                let r = self.residual(x, t);
                r * r
            })
            .sum();
        Ok(self.assemble(x[0], ss))
    }

    fn sample(&self, rng: &mut ParticleRng, out: &mut [f64]) -> Result<()> {
        self.check_path_len(out.len())?;
        let p = self.order();
        // hist[j] = x_{−1−j} relative to the first returned value (most recent first).
        let mut hist = vec![0.0; p];
        for _ in 0..self.burn_in() {
            let pred: f64 = self.coeffs.iter().zip(&hist).map(|(a, h)| a * h).sum();
            let eps: f64 = StandardNormal.sample(rng);
            if p > 0 {
                hist.rotate_right(1);
                hist[0] = pred + self.sigma * eps;
            }
        }
        for t in 0..out.len() {
            let mut pred = 0.0;
            for (i, a) in self.coeffs.iter().enumerate() {
                let s = i + 1;
                pred += a * if t >= s { out[t - s] } else { hist[s - 1 - t] };
            }
            let eps: f64 = StandardNormal.sample(rng);
            out[t] = pred + self.sigma * eps;
        }
        Ok(())
    }
}
