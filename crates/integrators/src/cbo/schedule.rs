//! Schedules of the inverse temperature α of CBO, applied after every step (CBXpy's
//! `scheduler.update` order).
//!
//! - constant α;
//! - multiplicative: α ← min(r α, α_max) (CBXpy's default `multiply(factor = 1.05)`,
//!   α_max = 1e5);
//! - effective sample size (Carrillo, Hoffmann, Stuart, Vaes 2022): α is the root of
//!   J(α) = (Σ w_i)² / Σ w_i² = η N for the energies of the step, found by bisection in
//!   log α on [α_min, α_max]. J is non-increasing in α (from N at α = 0 to the number of
//!   minimisers as α → ∞), so bisection is safe. CBXpy bisects linearly with 15
//!   iterations; we bisect log α to a relative width of 1e-6, which differs from CBXpy's
//!   α by at most its bisection tolerance.

use serde::{Deserialize, Serialize};

use meanfield_measures::Reducer;

use super::consensus::{ess_given_minimum, minimum_value};
use crate::error::{IntegratorError, Result, check_positive};

/// How α evolves between steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlphaSchedule {
    /// α fixed.
    Constant,
    /// α ← min(factor · α, max) after each step.
    Multiplicative {
        /// Factor r > 0 (CBXpy default 1.05).
        factor: f64,
        /// Cap α_max (CBXpy default 1e5).
        max: f64,
    },
    /// α solves J(α) = η N on the step's energies (bisection in log α on [min, max]).
    EffectiveSampleSize {
        /// Target fraction η ∈ (0, 1].
        eta: f64,
        /// Lower end of the bracket (CBXpy 1e-5).
        min: f64,
        /// Upper end of the bracket (CBXpy 1e5).
        max: f64,
    },
}

impl AlphaSchedule {
    /// CBXpy's default schedule: ×1.05 per step up to 1e5.
    pub fn cbxpy_default() -> Self {
        AlphaSchedule::Multiplicative {
            factor: 1.05,
            max: 1e5,
        }
    }

    /// Validates the schedule's parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            AlphaSchedule::Constant => Ok(()),
            AlphaSchedule::Multiplicative { factor, max } => {
                check_positive("alpha schedule factor", factor)?;
                check_positive("alpha schedule max", max)?;
                Ok(())
            }
            AlphaSchedule::EffectiveSampleSize { eta, min, max } => {
                if !(eta > 0.0 && eta <= 1.0) {
                    return Err(IntegratorError::InvalidParameter {
                        name: "ess eta",
                        value: eta,
                        reason: "must lie in (0, 1]",
                    });
                }
                check_positive("alpha schedule min", min)?;
                check_positive("alpha schedule max", max)?;
                if min >= max {
                    return Err(IntegratorError::InvalidParameter {
                        name: "alpha schedule min",
                        value: min,
                        reason: "must be below max",
                    });
                }
                Ok(())
            }
        }
    }

    /// α for the next step, given the current α and the energies of this step.
    pub fn next(&self, alpha: f64, energies: &[f64]) -> Result<f64> {
        self.next_with(&Reducer::local(), alpha, energies)
    }

    /// [`AlphaSchedule::next`] with the energies of this rank of a distributed run
    /// (`reducer`): J(α) and N are global, every bisection step is one block reduction.
    pub fn next_with(&self, reducer: &Reducer, alpha: f64, energies: &[f64]) -> Result<f64> {
        match *self {
            AlphaSchedule::Constant => Ok(alpha),
            AlphaSchedule::Multiplicative { factor, max } => Ok((factor * alpha).min(max)),
            AlphaSchedule::EffectiveSampleSize { eta, min, max } => {
                let target = eta * reducer.global_n(energies.len()) as f64;
                let f_min = minimum_value(reducer, energies)?;
                let ess = |a: f64| ess_given_minimum(reducer, energies, a, f_min);
                let (mut lo, mut hi) = (min.ln(), max.ln());
                if ess(min)? <= target {
                    return Ok(min);
                }
                if ess(max)? >= target {
                    return Ok(max);
                }
                while hi - lo > 1e-6 {
                    let mid = 0.5 * (lo + hi);
                    if ess(mid.exp())? > target {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                Ok((0.5 * (lo + hi)).exp())
            }
        }
    }
}
