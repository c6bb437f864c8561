//! Multi-lag features for volatility clustering (the S&P 500 study): with lags 0..L,
//!
//! - marginal moments (optional): m₁ = (1/T) Σ_t x_t, m₃ = (1/T) Σ_t x_t³;
//! - autocovariances of x: a_l = (1/T) Σ_{t=l}^{T−1} x_t x_{t−l};
//! - autocovariances of x²: b_l = (1/T) Σ_{t=l}^{T−1} x_t² x_{t−l}² (b₀ = (1/T) Σ x_t⁴).
//!
//! Unlike [`Acf1`](super::Acf1) the lag-0 sums include t = 0. Gradients:
//! ∂a_l/∂x_t = (x_{t−l}[t ≥ l] + x_{t+l}[t+l < T]) / T (a₀: 2x_t/T),
//! ∂b_l/∂x_t = 2x_t (x_{t−l}²[t ≥ l] + x_{t+l}²[t+l < T]) / T (b₀: 4x_t³/T),
//! ∂m₁/∂x_t = 1/T, ∂m₃/∂x_t = 3x_t²/T. Hessians: ∇²a_l has 1/T at (t, t−l) and
//! (t−l, t) (a₀: 2/T on the diagonal); for each pair s = t − l the term x_t² x_s² adds
//! 2x_s²/T at (t, t), 2x_t²/T at (s, s) and 4x_t x_s/T at (t, s), (s, t)
//! (b₀: 12x_t²/T on the diagonal); ∇²m₁ = 0, ∇²m₃ = diag(6x_t/T). All Hessians are
//! symmetric banded with half-width L.

use meanfield_linalg::SymBanded;
use serde::{Deserialize, Serialize};

use super::{FeatureMap, check_len, check_path_len};
use crate::error::{EnergyError, Result};

/// Moments and autocovariances of x and x² at lags 0..=L (see the module docs).
///
/// Feature order: [m₁, m₃] (if `moments`), a₀ … a_L, b₀ … b_L.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiLagAcf {
    t: usize,
    max_lag: usize,
    moments: bool,
}

impl MultiLagAcf {
    /// Features on paths of length `t ≥ 2` with lags `0..=max_lag` (`max_lag < t`), with
    /// or without the marginal moments m₁, m₃.
    ///
    /// # Errors
    /// [`EnergyError::InvalidParameter`] for T < 2 or `max_lag ≥ T`.
    pub fn new(t: usize, max_lag: usize, moments: bool) -> Result<Self> {
        check_path_len(t)?;
        if max_lag >= t {
            return Err(EnergyError::InvalidParameter {
                name: "max_lag",
                value: max_lag as f64,
                reason: "must be smaller than the path length T",
            });
        }
        Ok(Self {
            t,
            max_lag,
            moments,
        })
    }

    /// Largest lag L.
    pub fn max_lag(&self) -> usize {
        self.max_lag
    }

    /// Index of a₀ in the feature vector.
    pub fn acov_offset(&self) -> usize {
        if self.moments { 2 } else { 0 }
    }

    /// Index of b₀ (autocovariance of x² at lag 0) in the feature vector.
    pub fn sq_acov_offset(&self) -> usize {
        self.acov_offset() + self.max_lag + 1
    }
}

impl FeatureMap for MultiLagAcf {
    type Hessian = SymBanded;

    fn len(&self) -> usize {
        self.t
    }

    fn n_features(&self) -> usize {
        self.sq_acov_offset() + self.max_lag + 1
    }

    fn name(&self) -> String {
        format!(
            "multilag(L={}{})",
            self.max_lag,
            if self.moments { ", moments" } else { "" }
        )
    }

    fn eval(&self, x: &[f64], phi: &mut [f64]) -> Result<()> {
        let t = self.t;
        check_len("multi-lag path length", t, x.len())?;
        check_len(
            "multi-lag feature vector length",
            self.n_features(),
            phi.len(),
        )?;
        let inv_t = 1.0 / t as f64;
        if self.moments {
            phi[0] = x.iter().sum::<f64>() * inv_t;
            phi[1] = x.iter().map(|v| v * v * v).sum::<f64>() * inv_t;
        }
        let (a0, b0) = (self.acov_offset(), self.sq_acov_offset());
        for l in 0..=self.max_lag {
            let (mut a, mut b) = (0.0, 0.0);
            for k in l..t {
                let p = x[k] * x[k - l];
                a += p;
                b += p * p;
            }
            phi[a0 + l] = a * inv_t;
            phi[b0 + l] = b * inv_t;
        }
        Ok(())
    }

    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
        let t = self.t;
        check_len("multi-lag path length", t, x.len())?;
        check_len(
            "multi-lag Jacobian length (K·T)",
            self.n_features() * t,
            jac.len(),
        )?;
        let inv_t = 1.0 / t as f64;
        if self.moments {
            jac[..t].fill(inv_t);
            for (g, v) in jac[t..2 * t].iter_mut().zip(x) {
                *g = 3.0 * v * v * inv_t;
            }
        }
        let (a0, b0) = (self.acov_offset(), self.sq_acov_offset());
        for l in 0..=self.max_lag {
            for k in 0..t {
                let left = if k >= l { x[k - l] } else { 0.0 };
                let right = if k + l < t { x[k + l] } else { 0.0 };
                // for l = 0 both terms are x_k: 2x_k/T and 2x_k(x_k² + x_k²)/T = 4x_k³/T
                jac[(a0 + l) * t + k] = (left + right) * inv_t;
                jac[(b0 + l) * t + k] = 2.0 * x[k] * (left * left + right * right) * inv_t;
            }
        }
        Ok(())
    }

    fn new_hessian(&self) -> SymBanded {
        SymBanded::zeros(self.t, self.max_lag).expect("T ≥ 2 and L < T were checked")
    }

    fn weighted_hessian(&self, x: &[f64], c: &[f64], h: &mut SymBanded) -> Result<()> {
        let t = self.t;
        check_len("multi-lag path length", t, x.len())?;
        check_len("multi-lag Hessian weights", self.n_features(), c.len())?;
        check_len("multi-lag Hessian dimension", t, h.dim())?;
        check_len("multi-lag Hessian bandwidth", self.max_lag, h.bandwidth())?;
        let inv_t = 1.0 / t as f64;
        h.fill_zero();
        let (a0, b0) = (self.acov_offset(), self.sq_acov_offset());
        {
            let d = h.band_mut(0);
            if self.moments {
                for (dk, v) in d.iter_mut().zip(x) {
                    *dk += 6.0 * c[1] * v * inv_t;
                }
            }
            for (dk, v) in d.iter_mut().zip(x) {
                *dk += (2.0 * c[a0] + 12.0 * c[b0] * v * v) * inv_t;
            }
        }
        for l in 1..=self.max_lag {
            let (ca, cb) = (c[a0 + l] * inv_t, c[b0 + l] * inv_t);
            // pairs (s, s + l): off-diagonal l at index s, diagonal contributions
            for s in 0..t - l {
                let (xs, xt) = (x[s], x[s + l]);
                h.band_mut(l)[s] += ca + 4.0 * cb * xs * xt;
                let d = h.band_mut(0);
                d[s + l] += 2.0 * cb * xs * xs;
                d[s] += 2.0 * cb * xt * xt;
            }
        }
        Ok(())
    }
}
