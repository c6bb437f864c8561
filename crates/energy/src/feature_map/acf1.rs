//! ACF(1) features of the MF-MGDM spec (K = 2, 0-based, sums over t = 1..T−1):
//!
//! Φ₁(x) = (1/T) Σ_{t=1}^{T−1} x_t x_{t−1},   Φ₂(x) = (1/T) Σ_{t=1}^{T−1} x_t²
//! (x_0 is not in Φ₂).
//!
//! ∂Φ₁/∂x_t = (x_{t−1}[t ≥ 1] + x_{t+1}[t ≤ T−2]) / T, ∂Φ₂/∂x_t = 2x_t [t ≥ 1] / T;
//! ∇²Φ₁ has 1/T on both off-diagonals, ∇²Φ₂ = diag(0, 2/T, …, 2/T), so
//! c₁∇²Φ₁ + c₂∇²Φ₂ is symmetric tridiagonal with diagonal (0, 2c₂/T, …) and
//! off-diagonal c₁/T (independent of x: the features are quadratic).

use meanfield_linalg::SymTridiagonal;
use serde::{Deserialize, Serialize};

use super::{FeatureMap, check_len, check_path_len};
use crate::error::Result;

/// The ACF(1) feature map on paths of length T (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acf1 {
    t: usize,
}

impl Acf1 {
    /// ACF(1) on paths of length `t ≥ 2`.
    ///
    /// # Errors
    /// [`EnergyError::InvalidParameter`](crate::EnergyError::InvalidParameter) for T < 2.
    pub fn new(t: usize) -> Result<Self> {
        check_path_len(t)?;
        Ok(Self { t })
    }
}

impl FeatureMap for Acf1 {
    type Hessian = SymTridiagonal;

    fn len(&self) -> usize {
        self.t
    }

    fn n_features(&self) -> usize {
        2
    }

    fn name(&self) -> String {
        "acf1".into()
    }

    fn eval(&self, x: &[f64], phi: &mut [f64]) -> Result<()> {
        check_len("ACF(1) path length", self.t, x.len())?;
        check_len("ACF(1) feature vector length", 2, phi.len())?;
        let (mut s1, mut s2) = (0.0, 0.0);
        for w in x.windows(2) {
            s1 += w[1] * w[0];
            s2 += w[1] * w[1];
        }
        let inv_t = 1.0 / self.t as f64;
        phi[0] = s1 * inv_t;
        phi[1] = s2 * inv_t;
        Ok(())
    }

    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
        let t = self.t;
        check_len("ACF(1) path length", t, x.len())?;
        check_len("ACF(1) Jacobian length (2·T)", 2 * t, jac.len())?;
        let inv_t = 1.0 / t as f64;
        let (g1, g2) = jac.split_at_mut(t);
        // the end points (a missing neighbour counts as +0, kept in the sum for its
        // sign of zero), then the interior without branches
        g1[0] = (0.0 + x[1]) * inv_t;
        g1[t - 1] = (x[t - 2] + 0.0) * inv_t;
        g2[0] = 0.0;
        for (g, w) in g1[1..t - 1].iter_mut().zip(x.windows(3)) {
            *g = (w[0] + w[2]) * inv_t;
        }
        for (g, &xk) in g2[1..].iter_mut().zip(&x[1..]) {
            *g = 2.0 * xk * inv_t;
        }
        Ok(())
    }

    fn new_hessian(&self) -> SymTridiagonal {
        SymTridiagonal::new(vec![0.0; self.t], vec![0.0; self.t - 1])
            .expect("zero tridiagonal of dimension T ≥ 2 is valid")
    }

    fn weighted_hessian(&self, x: &[f64], c: &[f64], h: &mut SymTridiagonal) -> Result<()> {
        check_len("ACF(1) path length", self.t, x.len())?;
        check_len("ACF(1) Hessian weights", 2, c.len())?;
        check_len("ACF(1) Hessian dimension", self.t, h.dim())?;
        let inv_t = 1.0 / self.t as f64;
        let d = 2.0 * c[1] * inv_t;
        for (k, v) in h.diag_mut().iter_mut().enumerate() {
            *v = if k == 0 { 0.0 } else { d };
        }
        h.off_mut().fill(c[0] * inv_t);
        Ok(())
    }

    /// The features are quadratic: H = c₁∇²Φ₁ + c₂∇²Φ₂ does not read x.
    fn hessian_is_constant(&self) -> bool {
        true
    }
}
