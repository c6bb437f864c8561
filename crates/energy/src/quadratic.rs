//! The Gaussian oracle functional on R^d:
//!
//! F(μ) = ∫ |x|²/2 dμ + (κ/2) |E_μ x − b|².
//!
//! δF/δμ(μ, x) = |x|²/2 + κ (m_μ − b)·x with m_μ = E_μ x, so
//! ∇_x δF/δμ(μ, x) = x + κ (m_μ − b). The minimiser of F + λ Ent is the Gaussian
//! μ* = N(κ b/(1 + κ), λ I): its mean solves m = −κ(m − b) (see `docs/mfld.md`).

use meanfield_measures::Ensemble;
use serde::{Deserialize, Serialize};

use crate::error::{EnergyError, Result, check_param};
use crate::functional::{Functional, check_shapes};

/// F(μ) = ∫|x|²/2 dμ + (κ/2)|E_μ x − b|².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadraticInteraction {
    kappa: f64,
    b: Vec<f64>,
}

impl QuadraticInteraction {
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

    /// Mean of the minimiser of F + λ Ent: κ b / (1 + κ) (independent of λ).
    pub fn minimiser_mean(&self) -> Vec<f64> {
        self.b
            .iter()
            .map(|b| self.kappa * b / (1.0 + self.kappa))
            .collect()
    }

    /// κ (m − b), the shift shared by every particle's gradient.
    fn shift(&self, ens: &Ensemble) -> Vec<f64> {
        ens.mean()
            .iter()
            .zip(&self.b)
            .map(|(m, b)| self.kappa * (m - b))
            .collect()
    }
}

impl Functional for QuadraticInteraction {
    fn dim(&self) -> usize {
        self.b.len()
    }

    fn value(&self, ens: &Ensemble) -> Result<f64> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        let mut second = meanfield_measures::compensated::NeumaierSum::new();
        for (i, x) in ens.rows().enumerate() {
            second.add(ens.weight(i) * 0.5 * x.iter().map(|v| v * v).sum::<f64>());
        }
        let gap: f64 = ens
            .mean()
            .iter()
            .zip(&self.b)
            .map(|(m, b)| (m - b) * (m - b))
            .sum();
        Ok(second.value() + 0.5 * self.kappa * gap)
    }

    fn first_variation_grad(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), self.dim())?;
        let shift = self.shift(ens);
        for (o, x) in out.chunks_exact_mut(self.dim()).zip(ens.rows()) {
            for ((o, x), s) in o.iter_mut().zip(x).zip(&shift) {
                *o = x + s;
            }
        }
        Ok(())
    }

    /// δF/δμ(μ_N, x) = |x|²/2 + κ(m − b)·x (no additive constant).
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), 1)?;
        let shift = self.shift(ens);
        for (o, x) in out.iter_mut().zip(ens.rows()) {
            *o = x.iter().zip(&shift).map(|(x, s)| 0.5 * x * x + s * x).sum();
        }
        Ok(())
    }
}
