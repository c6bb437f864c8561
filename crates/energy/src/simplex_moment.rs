//! The simplex moment functional of the Mirror-MFLD paper:
//!
//! F(μ) = ‖E_μ x − q‖² + β Σ_i E_μ[−ln x_i],   μ ∈ P(Δ),
//!
//! δF/δμ(μ, x) = 2 (m_μ − q)·x − β Σ_i ln x_i and ∇_x δF/δμ = 2(m_μ − q) − β/x
//! (full simplex coordinates; the component along (1,…,1) is immaterial on Δ). With q the
//! centroid the minimiser of F + λ Ent is Dirichlet(1 + β/λ, …, 1 + β/λ) (uniform for
//! β = 0), because then m = q and μ* ∝ Π x_i^{β/λ}.

use meanfield_measures::Ensemble;
use serde::{Deserialize, Serialize};

use crate::error::{EnergyError, Result, check_param};
use crate::fingerprint::Fingerprint;
use crate::functional::{Functional, check_shapes};

/// F(μ) = ‖E_μ x − q‖² + β Σ_i E_μ[−ln x_i] on the simplex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimplexMoment {
    q: Vec<f64>,
    beta: f64,
}

impl SimplexMoment {
    /// Target moment q (a point of the simplex) and barrier weight β ≥ 0.
    pub fn new(q: Vec<f64>, beta: f64) -> Result<Self> {
        if q.len() < 2 {
            return Err(EnergyError::DimensionMismatch {
                what: "target moment q",
                expected: 2,
                got: q.len(),
            });
        }
        for &v in &q {
            check_param("q", v, false)?;
        }
        check_param("beta", beta, false)?;
        if beta < 0.0 {
            return Err(EnergyError::InvalidParameter {
                name: "beta",
                value: beta,
                reason: "must be ≥ 0",
            });
        }
        Ok(Self { q, beta })
    }

    /// q = centroid (1/d, …, 1/d).
    pub fn centroid(d: usize, beta: f64) -> Result<Self> {
        Self::new(vec![1.0 / d as f64; d], beta)
    }

    /// Target moment q.
    pub fn target(&self) -> &[f64] {
        &self.q
    }

    /// β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    fn check_barrier(&self, ens: &Ensemble) -> Result<()> {
        if self.beta == 0.0 {
            return Ok(());
        }
        match ens.rows().position(|x| x.iter().any(|v| *v <= 0.0)) {
            None => Ok(()),
            Some(i) => Err(EnergyError::OutsideDomain {
                particle: i,
                reason: "the barrier −β ln x_i needs every coordinate > 0".into(),
            }),
        }
    }
}

impl Functional for SimplexMoment {
    fn dim(&self) -> usize {
        self.q.len()
    }

    /// `simplex-moment(q=…,beta=…)`.
    fn fingerprint(&self) -> String {
        Fingerprint::new("simplex-moment")
            .values("q", &self.q)
            .param("beta", self.beta)
            .finish()
    }

    fn value(&self, ens: &Ensemble) -> Result<f64> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        self.check_barrier(ens)?;
        let gap: f64 = ens
            .try_mean()?
            .iter()
            .zip(&self.q)
            .map(|(m, q)| (m - q) * (m - q))
            .sum();
        let barrier = if self.beta > 0.0 {
            ens.expectation(1, |x, o| o[0] = -x.iter().map(|v| v.ln()).sum::<f64>())?[0]
        } else {
            0.0
        };
        Ok(gap + self.beta * barrier)
    }

    fn first_variation_grad(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), self.dim())?;
        self.check_barrier(ens)?;
        let g: Vec<f64> = ens
            .try_mean()?
            .iter()
            .zip(&self.q)
            .map(|(m, q)| 2.0 * (m - q))
            .collect();
        for (o, x) in out.chunks_exact_mut(self.dim()).zip(ens.rows()) {
            for ((o, x), g) in o.iter_mut().zip(x).zip(&g) {
                *o = if self.beta > 0.0 {
                    g - self.beta / x
                } else {
                    *g
                };
            }
        }
        Ok(())
    }

    /// δF/δμ(μ_N, x) = 2(m − q)·x − β Σ ln x_i (no additive constant).
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), 1)?;
        self.check_barrier(ens)?;
        let g: Vec<f64> = ens
            .try_mean()?
            .iter()
            .zip(&self.q)
            .map(|(m, q)| 2.0 * (m - q))
            .collect();
        for (o, x) in out.iter_mut().zip(ens.rows()) {
            let lin: f64 = x.iter().zip(&g).map(|(x, g)| g * x).sum();
            let bar: f64 = if self.beta > 0.0 {
                x.iter().map(|v| v.ln()).sum()
            } else {
                0.0
            };
            *o = lin - self.beta * bar;
        }
        Ok(())
    }
}
