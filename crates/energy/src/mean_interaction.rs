//! The pure mean interaction F(μ) = (κ/2) |E_μ x − b|² on R^d (no confinement; use it
//! with a reference measure, e.g. the entropic term σ KL(μ | π)).
//!
//! δF/δμ(μ, x) = κ (m_μ − b)·x with m_μ = E_μ x (weighted mean of the ensemble), and
//! ∇_x δF/δμ = κ (m_μ − b). With π = N(0, I) the minimiser of F + σ KL(· | π) is
//! N(κb/(σ + κ), I): the first-order condition m = −κ(m − b)/σ gives m(σ + κ) = κb.

use meanfield_measures::Ensemble;
use serde::{Deserialize, Serialize};

use crate::error::{EnergyError, Result, check_param};
use crate::fingerprint::Fingerprint;
use crate::functional::{Functional, check_shapes};

/// F(μ) = (κ/2)|E_μ x − b|².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanInteraction {
    kappa: f64,
    b: Vec<f64>,
}

impl MeanInteraction {
    /// Interaction strength κ ≥ 0 and anchor b ∈ R^d.
    pub fn new(kappa: f64, b: Vec<f64>) -> Result<Self> {
        check_param("kappa", kappa, false)?;
        if kappa < 0.0 {
            return Err(EnergyError::InvalidParameter {
                name: "kappa",
                value: kappa,
                reason: "must be ≥ 0",
            });
        }
        if b.is_empty() {
            return Err(EnergyError::DimensionMismatch {
                what: "anchor b",
                expected: 1,
                got: 0,
            });
        }
        for &v in &b {
            check_param("b", v, false)?;
        }
        Ok(Self { kappa, b })
    }

    /// κ.
    pub fn kappa(&self) -> f64 {
        self.kappa
    }

    /// b.
    pub fn anchor(&self) -> &[f64] {
        &self.b
    }

    /// Mean κb/(σ + κ) of the minimiser of F + σ KL(· | N(0, I)).
    pub fn minimiser_mean(&self, sigma: f64) -> Vec<f64> {
        self.b
            .iter()
            .map(|b| self.kappa * b / (sigma + self.kappa))
            .collect()
    }

    /// κ (m − b), with m the weighted ensemble mean (global for a distributed ensemble).
    pub(crate) fn shift(&self, ens: &Ensemble) -> Result<Vec<f64>> {
        Ok(ens
            .try_mean()?
            .iter()
            .zip(&self.b)
            .map(|(m, b)| self.kappa * (m - b))
            .collect())
    }
}

impl Functional for MeanInteraction {
    fn dim(&self) -> usize {
        self.b.len()
    }

    /// `mean-interaction(kappa=…,b=…)`.
    fn fingerprint(&self) -> String {
        Fingerprint::new("mean-interaction")
            .param("kappa", self.kappa)
            .values("b", &self.b)
            .finish()
    }

    fn value(&self, ens: &Ensemble) -> Result<f64> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        let gap: f64 = ens
            .try_mean()?
            .iter()
            .zip(&self.b)
            .map(|(m, b)| (m - b) * (m - b))
            .sum();
        Ok(0.5 * self.kappa * gap)
    }

    fn first_variation_grad(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), self.dim())?;
        let shift = self.shift(ens)?;
        for o in out.chunks_exact_mut(self.dim()) {
            o.copy_from_slice(&shift);
        }
        Ok(())
    }

    /// δF/δμ(μ_N, x) = κ(m − b)·x (no additive constant).
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), 1)?;
        let shift = self.shift(ens)?;
        for (o, x) in out.iter_mut().zip(ens.rows()) {
            *o = x.iter().zip(&shift).map(|(x, s)| s * x).sum();
        }
        Ok(())
    }
}
