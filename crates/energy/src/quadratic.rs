//! The Gaussian oracle functional on R^d:
//!
//! F(μ) = ∫ |x|²/2 dμ + (κ/2) |E_μ x − b|².
//!
//! δF/δμ(μ, x) = |x|²/2 + κ (m_μ − b)·x with m_μ = E_μ x, so
//! ∇_x δF/δμ(μ, x) = x + κ (m_μ − b). The minimiser of F + λ Ent is the Gaussian
//! μ* = N(κ b/(1 + κ), λ I): its mean solves m = −κ(m − b) (see `docs/mfld.md`).

use meanfield_measures::Ensemble;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::fingerprint::Fingerprint;
use crate::functional::{Functional, check_shapes};
use crate::mean_interaction::MeanInteraction;

/// F(μ) = ∫|x|²/2 dμ + (κ/2)|E_μ x − b|²: the confinement ∫|x|²/2 dμ plus a
/// [`MeanInteraction`] (serialised as the interaction's `{kappa, b}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuadraticInteraction {
    interaction: MeanInteraction,
}

impl QuadraticInteraction {
    /// Interaction strength κ ≥ 0 and anchor b ∈ R^d.
    pub fn new(kappa: f64, b: Vec<f64>) -> Result<Self> {
        Ok(Self {
            interaction: MeanInteraction::new(kappa, b)?,
        })
    }

    /// κ.
    pub fn kappa(&self) -> f64 {
        self.interaction.kappa()
    }

    /// b.
    pub fn anchor(&self) -> &[f64] {
        self.interaction.anchor()
    }

    /// Mean of the minimiser of F + λ Ent: κ b / (1 + κ) (independent of λ). The
    /// confinement plays the role of the reference N(0, I) with σ = 1 in
    /// [`MeanInteraction::minimiser_mean`].
    pub fn minimiser_mean(&self) -> Vec<f64> {
        self.interaction.minimiser_mean(1.0)
    }

    /// κ (m − b), the shift shared by every particle's gradient.
    pub(crate) fn shift(&self, ens: &Ensemble) -> Result<Vec<f64>> {
        self.interaction.shift(ens)
    }
}

impl Functional for QuadraticInteraction {
    fn dim(&self) -> usize {
        self.interaction.dim()
    }

    /// `quadratic-interaction(kappa=…,b=…)` (distinct from the bare [`MeanInteraction`]).
    fn fingerprint(&self) -> String {
        Fingerprint::new("quadratic-interaction")
            .param("kappa", self.kappa())
            .values("b", self.anchor())
            .finish()
    }

    fn value(&self, ens: &Ensemble) -> Result<f64> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        // E|x|²/2 by the block reduction (global for a distributed ensemble).
        let second =
            ens.expectation(1, |x, o| o[0] = 0.5 * x.iter().map(|v| v * v).sum::<f64>())?;
        Ok(second[0] + self.interaction.value(ens)?)
    }

    /// ∇_x δF/δμ = x + κ(m − b): the interaction's shift and x added in one pass (the
    /// same single addition per coordinate as copying the shift and adding x afterwards,
    /// so the same bits, without a copy call per row at small d).
    fn first_variation_grad(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), self.dim())?;
        let shift = self.shift(ens)?;
        for (o, x) in out.chunks_exact_mut(self.dim()).zip(ens.rows()) {
            for ((o, x), s) in o.iter_mut().zip(x).zip(&shift) {
                *o = s + x;
            }
        }
        Ok(())
    }

    /// δF/δμ(μ_N, x) = |x|²/2 + κ(m − b)·x (no additive constant).
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), 1)?;
        // One sum per particle, in the order `FrozenQuadratic` uses (bitwise equal).
        let shift = self.shift(ens)?;
        for (o, x) in out.iter_mut().zip(ens.rows()) {
            *o = x.iter().zip(&shift).map(|(x, s)| 0.5 * x * x + s * x).sum();
        }
        Ok(())
    }
}
