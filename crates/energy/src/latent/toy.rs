//! The toy hierarchical Gaussian model of the MPD paper's first experiment:
//!
//! $$ x_j \mid \theta \sim N(\theta, 1), \qquad y_j \mid x_j \sim N(x_j, 1), \qquad j = 1..M, $$
//!
//! so, dropping the constant M log 2π,
//!
//! $$ E(\theta, x) = \sum_j \tfrac12 (y_j - x_j)^2 + \tfrac12 (x_j - \theta)^2, \quad
//!    \nabla_\theta E = \sum_j (\theta - x_j), \quad
//!    \partial_{x_j} E = (x_j - y_j) + (x_j - \theta). $$
//!
//! ∇²_θ E = M (constant) and θ*(q) = argmin_θ ∫ E(θ, x) q(dx) = the mean of all particle
//! coordinates (1/(NM)) Σ_i Σ_j X^i_j (ParEM's `theta_opt`).
//!
//! Exact facts used as oracles: the marginal is y_j ~ N(θ, 2), so the MLE is
//! θ̂ = mean(y); the posterior is p_θ(x | y) = Π_j N((y_j + θ)/2, 1/2).

use crate::error::{EnergyError, Result};
use crate::fingerprint::Fingerprint;
use crate::latent::{LatentModel, check_finite_data, mean_of_all};

/// The toy hierarchical Gaussian model for observations y ∈ R^M (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct HierarchicalGaussian {
    y: Vec<f64>,
}

impl HierarchicalGaussian {
    /// The model for observations `y` (non-empty, finite).
    pub fn new(y: Vec<f64>) -> Result<Self> {
        if y.is_empty() {
            return Err(EnergyError::DimensionMismatch {
                what: "observations y (need at least one)",
                expected: 1,
                got: 0,
            });
        }
        check_finite_data("y", &y)?;
        Ok(Self { y })
    }

    /// The observations.
    pub fn observations(&self) -> &[f64] {
        &self.y
    }

    /// The maximum-likelihood estimate θ̂ = mean(y).
    pub fn mle(&self) -> f64 {
        self.y.iter().sum::<f64>() / self.y.len() as f64
    }

    /// Posterior mean of x_j given θ: (y_j + θ)/2.
    pub fn posterior_mean(&self, theta: f64) -> Vec<f64> {
        self.y.iter().map(|y| 0.5 * (y + theta)).collect()
    }

    /// Posterior variance of each x_j (1/2, whatever θ).
    pub fn posterior_variance(&self) -> f64 {
        0.5
    }
}

impl LatentModel for HierarchicalGaussian {
    fn theta_dim(&self) -> usize {
        1
    }

    fn latent_dim(&self) -> usize {
        self.y.len()
    }

    /// `hierarchical-gaussian(y=…)`.
    fn fingerprint(&self) -> String {
        Fingerprint::new("hierarchical-gaussian")
            .values("y", &self.y)
            .finish()
    }

    fn energy(&self, theta: &[f64], x: &[f64]) -> Result<f64> {
        let t = theta[0];
        Ok(self
            .y
            .iter()
            .zip(x)
            .map(|(y, x)| 0.5 * ((y - x) * (y - x) + (x - t) * (x - t)))
            .sum())
    }

    fn grad_theta(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()> {
        let t = theta[0];
        out[0] = x.iter().map(|x| t - x).sum();
        Ok(())
    }

    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()> {
        let t = theta[0];
        for ((g, x), y) in out.iter_mut().zip(x).zip(&self.y) {
            *g = (x - y) + (x - t);
        }
        Ok(())
    }

    /// ∇²_θ E = M.
    fn hess_theta(&self, _theta: &[f64], _x: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = self.y.len() as f64;
        Ok(())
    }

    /// θ* = (1/(NM)) Σ_i Σ_j X^i_j, summed in particle order.
    fn optimal_theta(&self, xs: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = mean_of_all(xs)?;
        Ok(())
    }
}
