//! Errors of the energy crate.

/// Why a functional could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EnergyError {
    /// The ensemble's dimension does not match the functional's.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// Which quantity.
        what: &'static str,
        /// Expected size.
        expected: usize,
        /// Actual size.
        got: usize,
    },
    /// A parameter is invalid (NaN, negative where it must be positive, …).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// The functional is not defined at a particle (e.g. a log barrier at x_i ≤ 0).
    #[error("functional undefined at particle {particle}: {reason}")]
    OutsideDomain {
        /// Particle index.
        particle: usize,
        /// Why.
        reason: String,
    },
    /// The model does not provide a quantity an algorithm needs (e.g. ∇²_θ E for particle
    /// quasi-Newton, or the closed-form θ*(q) for particle marginal gradient descent).
    #[error("{model} does not provide {quantity}")]
    NotAvailable {
        /// What is missing.
        quantity: &'static str,
        /// The model (its type name).
        model: &'static str,
    },
    /// Error from the measures crate.
    #[error(transparent)]
    Measures(#[from] meanfield_measures::MeasuresError),
}

/// Result alias of the energy crate.
pub type Result<T> = std::result::Result<T, EnergyError>;

/// Rejects NaN, ±∞ and (when `positive`) values ≤ 0 for a named parameter.
pub fn check_param(name: &'static str, value: f64, positive: bool) -> Result<f64> {
    if !value.is_finite() {
        return Err(EnergyError::InvalidParameter {
            name,
            value,
            reason: "must be finite",
        });
    }
    if positive && value <= 0.0 {
        return Err(EnergyError::InvalidParameter {
            name,
            value,
            reason: "must be positive",
        });
    }
    Ok(value)
}
