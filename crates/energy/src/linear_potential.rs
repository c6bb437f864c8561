//! The linear (potential-energy) functional F(μ) = ∫ c·x dμ(x) on R^d.
//!
//! δF/δμ(μ, x) = c·x (independent of μ), ∇_x δF/δμ = c. With the entropic term
//! σ KL(μ | π), π = N(0, I), the minimiser is μ* ∝ π exp(−c·x/σ) = N(−c/σ, I), and the
//! Fisher–Rao flow from μ_0 = π is μ_t ∝ π exp(−(1 − e^{−σt}) c·x/σ) (see
//! `docs/fisher-rao.md`). Weights of the ensemble are respected: F(μ_N) = Σ_i W^i c·X^i.

use meanfield_measures::Ensemble;
use serde::{Deserialize, Serialize};

use crate::error::{EnergyError, Result, check_param};
use crate::fingerprint::Fingerprint;
use crate::functional::{Functional, check_shapes};

/// F(μ) = ∫ c·x dμ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearPotential {
    c: Vec<f64>,
}

impl LinearPotential {
    /// Potential V(x) = c·x with finite, non-empty c.
    pub fn new(c: Vec<f64>) -> Result<Self> {
        if c.is_empty() {
            return Err(EnergyError::DimensionMismatch {
                what: "slope c",
                expected: 1,
                got: 0,
            });
        }
        for &v in &c {
            check_param("c", v, false)?;
        }
        Ok(Self { c })
    }

    /// The slope c.
    pub fn slope(&self) -> &[f64] {
        &self.c
    }

    /// V(x) = c·x.
    pub fn potential(&self, x: &[f64]) -> f64 {
        x.iter().zip(&self.c).map(|(x, c)| x * c).sum()
    }
}

impl Functional for LinearPotential {
    fn dim(&self) -> usize {
        self.c.len()
    }

    /// `linear-potential(c=…)`.
    fn fingerprint(&self) -> String {
        Fingerprint::new("linear-potential")
            .values("c", &self.c)
            .finish()
    }

    fn value(&self, ens: &Ensemble) -> Result<f64> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        Ok(ens.expectation(1, |x, o| o[0] = self.potential(x))?[0])
    }

    fn first_variation_grad(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), self.dim())?;
        for o in out.chunks_exact_mut(self.dim()) {
            o.copy_from_slice(&self.c);
        }
        Ok(())
    }

    /// δF/δμ(μ_N, x) = c·x (no additive constant).
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), 1)?;
        for (o, x) in out.iter_mut().zip(ens.rows()) {
            *o = self.potential(x);
        }
        Ok(())
    }
}
