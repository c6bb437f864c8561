//! The Gaussian target f(x) = ½ (x − m)ᵀ A (x − m): the negative log density (up to a
//! constant) of N(m, A⁻¹), with A symmetric positive definite. It is the exact oracle of
//! consensus-based sampling (docs/cbo.md §8: the target N(m, A⁻¹) is a stationary point
//! of the mean-field CBS dynamics for every β), and a convex objective with the known
//! minimiser m for the optimisers.

use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};

use crate::error::{EnergyError, Result};
use crate::fingerprint::Fingerprint;
use crate::objectives::Objective;

/// f(x) = ½ (x − m)ᵀ A (x − m) with A symmetric positive definite (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianTarget {
    mean: Vec<f64>,
    /// A, row-major d × d.
    precision: Vec<f64>,
    /// A⁻¹, row-major d × d (the target's covariance).
    covariance: Vec<f64>,
}

impl GaussianTarget {
    /// The target N(`mean`, A⁻¹) for the row-major precision matrix A = `precision`
    /// (d × d, d = `mean.len()` ≥ 1).
    ///
    /// # Errors
    /// [`EnergyError::DimensionMismatch`] if A is not d × d; [`EnergyError::InvalidParameter`]
    /// for a non-finite entry, an asymmetric A (|A_ij − A_ji| > 1e-12 (|A_ij| + |A_ji|))
    /// or one that is not positive definite (its Cholesky factorisation fails).
    pub fn new(mean: Vec<f64>, precision: Vec<f64>) -> Result<Self> {
        let d = mean.len();
        if d == 0 {
            return Err(EnergyError::InvalidParameter {
                name: "gaussian target dimension",
                value: 0.0,
                reason: "must be ≥ 1",
            });
        }
        if precision.len() != d * d {
            return Err(EnergyError::DimensionMismatch {
                what: "gaussian target precision (d × d entries)",
                expected: d * d,
                got: precision.len(),
            });
        }
        if let Some(&v) = mean.iter().chain(&precision).find(|v| !v.is_finite()) {
            return Err(EnergyError::InvalidParameter {
                name: "gaussian target entry",
                value: v,
                reason: "must be finite",
            });
        }
        for i in 0..d {
            for j in 0..i {
                let (a, b) = (precision[i * d + j], precision[j * d + i]);
                if (a - b).abs() > 1e-12 * (a.abs() + b.abs()) {
                    return Err(EnergyError::InvalidParameter {
                        name: "gaussian target precision",
                        value: a - b,
                        reason: "must be symmetric (A_ij − A_ji shown)",
                    });
                }
            }
        }
        let a = Mat::from_fn(d, d, |i, j| precision[i * d + j]);
        let llt = a
            .llt(Side::Lower)
            .map_err(|_| EnergyError::InvalidParameter {
                name: "gaussian target precision",
                value: f64::NAN,
                reason: "must be positive definite (Cholesky factorisation failed)",
            })?;
        let inv = llt.inverse();
        let covariance = (0..d * d).map(|k| inv[(k / d, k % d)]).collect();
        Ok(Self {
            mean,
            precision,
            covariance,
        })
    }

    /// The isotropic target N(`mean`, s² I): A = I / s² (s > 0).
    ///
    /// # Errors
    /// As [`GaussianTarget::new`], and a non-positive or non-finite `std`.
    pub fn isotropic(mean: Vec<f64>, std: f64) -> Result<Self> {
        if !(std.is_finite() && std > 0.0) {
            return Err(EnergyError::InvalidParameter {
                name: "gaussian target std",
                value: std,
                reason: "must be finite and > 0",
            });
        }
        let d = mean.len();
        let p = 1.0 / (std * std);
        let precision = (0..d * d)
            .map(|k| if k / d == k % d { p } else { 0.0 })
            .collect();
        Self::new(mean, precision)
    }

    /// The mean m (the minimiser of f).
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The precision A, row-major d × d.
    pub fn precision(&self) -> &[f64] {
        &self.precision
    }

    /// The covariance A⁻¹ of the target, row-major d × d.
    pub fn covariance(&self) -> &[f64] {
        &self.covariance
    }
}

impl Objective for GaussianTarget {
    fn dim(&self) -> usize {
        self.mean.len()
    }

    /// `gaussian-target(d=…,mean=…,precision=…)`.
    fn fingerprint(&self) -> String {
        Fingerprint::new("gaussian-target")
            .param("d", self.mean.len())
            .values("mean", &self.mean)
            .values("precision", &self.precision)
            .finish()
    }

    /// ½ Σ_ij y_i A_ij y_j with y = x − m.
    fn value(&self, x: &[f64]) -> f64 {
        let d = self.mean.len();
        let mut q = 0.0;
        for (i, row) in self.precision.chunks_exact(d).enumerate() {
            let yi = x[i] - self.mean[i];
            let ay: f64 = row
                .iter()
                .zip(x.iter().zip(&self.mean))
                .map(|(a, (x, m))| a * (x - m))
                .sum();
            q += yi * ay;
        }
        0.5 * q
    }

    fn minimiser(&self) -> Option<Vec<f64>> {
        Some(self.mean.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_covariance_and_minimiser() {
        let t = GaussianTarget::new(vec![1.0, -2.0], vec![2.0, 0.5, 0.5, 1.0]).unwrap();
        // y = (1, 1): ½ (2 + 0.5 + 0.5 + 1) = 2.
        assert!((t.value(&[2.0, -1.0]) - 2.0).abs() < 1e-15);
        assert_eq!(t.value(&[1.0, -2.0]), 0.0);
        // A⁻¹ = [[1, −0.5], [−0.5, 2]] / 1.75.
        let want = [1.0 / 1.75, -0.5 / 1.75, -0.5 / 1.75, 2.0 / 1.75];
        for (a, b) in t.covariance().iter().zip(want) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
        assert_eq!(t.minimiser().unwrap(), vec![1.0, -2.0]);
        let iso = GaussianTarget::isotropic(vec![0.0; 3], 2.0).unwrap();
        assert!((iso.covariance()[0] - 4.0).abs() < 1e-15 && iso.covariance()[1] == 0.0);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            GaussianTarget::new(vec![0.0; 2], vec![1.0; 3]),
            Err(EnergyError::DimensionMismatch { .. })
        ));
        assert!(GaussianTarget::new(vec![], vec![]).is_err());
        assert!(GaussianTarget::new(vec![0.0; 2], vec![1.0, 0.3, 0.2, 1.0]).is_err());
        // Symmetric but indefinite.
        assert!(GaussianTarget::new(vec![0.0; 2], vec![1.0, 2.0, 2.0, 1.0]).is_err());
        assert!(GaussianTarget::new(vec![f64::NAN, 0.0], vec![1.0, 0.0, 0.0, 1.0]).is_err());
        assert!(GaussianTarget::isotropic(vec![0.0], 0.0).is_err());
    }
}
