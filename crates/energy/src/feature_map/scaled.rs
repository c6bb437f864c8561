//! Feature maps rescaled coordinate-wise, Φ'_k = s_k Φ_k (s_k > 0): J' = diag(s) J and
//! Σ_k c_k ∇²Φ'_k = Σ_k (c_k s_k) ∇²Φ_k, so the structure of the Hessian is kept.
//!
//! Used to balance features of very different scales in the microcanonical loss
//! ½‖Φ' − α'‖²/‖α'‖², e.g. s_k = 1/sd_k with sd_k the spread of Φ_k over data windows
//! (the S&P 500 study), so that the large fourth-moment features do not drown the variance.

use serde::{Deserialize, Serialize};

use super::{FeatureMap, check_len};
use crate::error::{EnergyError, Result};

/// Φ'(x) = diag(s) Φ(x) for an inner feature map Φ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaledFeatures<F> {
    inner: F,
    scale: Vec<f64>,
}

impl<F: FeatureMap> ScaledFeatures<F> {
    /// Wraps `inner` with positive finite scales `scale` (length K).
    ///
    /// # Errors
    /// [`EnergyError::DimensionMismatch`] for a wrong length,
    /// [`EnergyError::InvalidParameter`] for a scale that is not finite and > 0.
    pub fn new(inner: F, scale: Vec<f64>) -> Result<Self> {
        check_len("feature scales (K)", inner.n_features(), scale.len())?;
        if let Some(&bad) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(EnergyError::InvalidParameter {
                name: "feature scale s_k",
                value: bad,
                reason: "must be finite and > 0",
            });
        }
        Ok(Self { inner, scale })
    }

    /// The inner map.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// The scales s_k.
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }
}

impl<F: FeatureMap> FeatureMap for ScaledFeatures<F> {
    type Hessian = F::Hessian;

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn n_features(&self) -> usize {
        self.scale.len()
    }

    fn name(&self) -> String {
        format!("scaled({})", self.inner.name())
    }

    fn fingerprint(&self) -> String {
        crate::fingerprint::Fingerprint::new("scaled-features")
            .param("inner", self.inner.fingerprint())
            .values("scale", &self.scale)
            .finish()
    }

    fn eval(&self, x: &[f64], phi: &mut [f64]) -> Result<()> {
        self.inner.eval(x, phi)?;
        phi.iter_mut().zip(&self.scale).for_each(|(p, s)| *p *= s);
        Ok(())
    }

    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()> {
        self.inner.jacobian(x, jac)?;
        let t = self.len();
        for (row, s) in jac.chunks_exact_mut(t).zip(&self.scale) {
            row.iter_mut().for_each(|v| *v *= s);
        }
        Ok(())
    }

    fn new_hessian(&self) -> F::Hessian {
        self.inner.new_hessian()
    }

    fn weighted_hessian(&self, x: &[f64], c: &[f64], h: &mut F::Hessian) -> Result<()> {
        check_len("scaled Hessian weights", self.scale.len(), c.len())?;
        let cs: Vec<f64> = c.iter().zip(&self.scale).map(|(c, s)| c * s).collect();
        self.inner.weighted_hessian(x, &cs, h)
    }

    /// Scaling the weights keeps the inner map's (in)dependence on x.
    fn hessian_is_constant(&self) -> bool {
        self.inner.hessian_is_constant()
    }
}
