//! Errors of the integrators crate.

/// Why a step or a run failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegratorError {
    /// The state became non-finite: the run diverged.
    #[error("diverged at step {step}: {reason}")]
    Diverged {
        /// Step index (1-based: the step that produced the bad state).
        step: u64,
        /// What became non-finite.
        reason: String,
    },
    /// A numerical parameter is invalid.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// Why.
        reason: &'static str,
    },
    /// The state does not fit the dynamics (dimension, domain).
    #[error("incompatible state: {0}")]
    IncompatibleState(String),
    /// A checkpoint belongs to a different dynamics or cannot be (de)serialised.
    #[error("checkpoint error: {0}")]
    Checkpoint(String),
    /// An observer failed the run with its own error.
    #[error("observer failed at step {step}: {source}")]
    Observer {
        /// Step at which the observer failed.
        step: u64,
        /// The observer's error ([`SharedError::downcast_ref`] recovers its type).
        source: SharedError,
    },
    /// A stop criterion needs a quantity that this dynamics' step info does not report.
    #[error(
        "the {criterion} stop criterion needs {quantity}, which this dynamics' step info does not report"
    )]
    UnsupportedStop {
        /// The criterion.
        criterion: &'static str,
        /// What it needs.
        quantity: &'static str,
    },
    /// The energy functional failed.
    #[error("energy error at step {step}: {source}")]
    Energy {
        /// Step being computed.
        step: u64,
        /// The underlying error.
        source: meanfield_energy::EnergyError,
    },
    /// A linear-algebra kernel failed (e.g. a singular step Jacobian block).
    #[error("linear algebra error at step {step}: {source}")]
    LinearAlgebra {
        /// Step being computed.
        step: u64,
        /// The underlying error.
        source: meanfield_linalg::LinalgError,
    },
    /// An Euler Fisher–Rao weight step would make a weight negative (h · max a ≥ 1).
    #[error(
        "step {step}: Euler weight step with h = {h} and max rate {max_rate} has h·max a ≥ 1 and would make a weight negative; lower h, use PositivityGuard::Shrink or the exponentiated step"
    )]
    PositivityLost {
        /// Step index (0-based, the step that was refused).
        step: u64,
        /// The step size h.
        h: f64,
        /// max_i a(m^N, X^i).
        max_rate: f64,
    },
    /// The weighted covariance C_β of consensus-based sampling is not numerically
    /// positive definite, so its Cholesky factor does not exist (fewer than d + 1
    /// particles carry weight, or the weights collapsed onto one particle).
    #[error(
        "step {step}: the weighted covariance C_β lost definiteness (Cholesky pivot {pivot} ≤ 0, trace {trace:e}); lower β, add particles or use CovarianceRoot::Symmetric"
    )]
    CovarianceNotPositiveDefinite {
        /// Step index (0-based, the step that was refused).
        step: u64,
        /// Index of the first non-positive Cholesky pivot.
        pivot: usize,
        /// tr C_β, the scale of the covariance.
        trace: f64,
    },
    /// A rank of a distributed run failed (a non-finite state, an energy error, an
    /// observer error, …): every rank of the run returns this same error.
    #[error("rank {rank} failed at step {step}: {reason}")]
    RankFailed {
        /// The 1-based number of the step that failed (0: before the first step).
        step: u64,
        /// The failing rank (the lowest, if several failed in the same step).
        rank: usize,
        /// The failing rank's error, as text.
        reason: String,
    },
    /// Error from the measures crate.
    #[error(transparent)]
    Measures(#[from] meanfield_measures::MeasuresError),
}

impl From<meanfield_measures::RankFailure> for IntegratorError {
    fn from(f: meanfield_measures::RankFailure) -> Self {
        IntegratorError::RankFailed {
            step: f.step,
            rank: f.rank,
            reason: f.reason,
        }
    }
}

/// Refuses one rank's shard of a distributed ensemble in a family whose mean-field
/// statistics are not distributed yet (its local rows alone would give a wrong path).
pub(crate) fn check_single_process(ens: &meanfield_measures::Ensemble, family: &str) -> Result<()> {
    if ens.shard().is_some() {
        return Err(IntegratorError::IncompatibleState(format!(
            "{family} does not run on distributed ensembles yet (docs/distributed.md)"
        )));
    }
    Ok(())
}

/// What an observer fails with: any error type of the caller's.
pub type ObserverError = Box<dyn std::error::Error + Send + Sync>;

/// An observer's error inside an [`IntegratorError`]: shared so that the error stays
/// `Clone`; two are equal when their messages are.
#[derive(Debug, Clone)]
pub struct SharedError(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl SharedError {
    /// The observer's error as its own type `E`, if it is one.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl From<ObserverError> for SharedError {
    fn from(e: ObserverError) -> Self {
        Self(std::sync::Arc::from(e))
    }
}

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedError {
    /// Transparent: the observer's error's own source (its message is this one's).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for SharedError {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

/// Result alias of the integrators crate.
pub type Result<T> = std::result::Result<T, IntegratorError>;

/// A positive, finite step size or temperature; anything else is a typed error.
pub fn check_positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(IntegratorError::InvalidParameter {
            name,
            value,
            reason: "must be finite and > 0",
        })
    }
}

/// A count ≥ 1 (sizes, dimensions, patience); 0 is a typed error naming `name`.
pub fn check_at_least_one<T: Copy + Into<u64>>(name: &'static str, value: T) -> Result<T> {
    if value.into() >= 1 {
        Ok(value)
    } else {
        Err(IntegratorError::InvalidParameter {
            name,
            value: 0.0,
            reason: "must be ≥ 1",
        })
    }
}

/// A finite value ≥ 0.
pub fn check_non_negative(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(IntegratorError::InvalidParameter {
            name,
            value,
            reason: "must be finite and ≥ 0",
        })
    }
}
