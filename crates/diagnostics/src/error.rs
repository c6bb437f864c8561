//! Errors of the diagnostics crate.
//!
//! Every function of the crate validates its input and reports a typed error naming the
//! offending argument instead of panicking: diagnostics run on the output of long
//! simulations, and a NaN that slipped through must be reported, not abort the run.

/// Everything that can go wrong when computing a diagnostic. Each variant names the
/// argument (`what` / `name`) so the caller can tell which input to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DiagnosticsError {
    /// An input slice or sample is empty.
    #[error("empty input: {what} has no elements")]
    Empty {
        /// Which argument is empty.
        what: &'static str,
    },
    /// Two inputs that must have matching sizes do not.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// Which argument is mis-sized.
        what: &'static str,
        /// Expected length or dimension.
        expected: usize,
        /// Actual length or dimension.
        got: usize,
    },
    /// An input element is NaN or infinite.
    #[error("non-finite value {value} in {what} at index {index}")]
    NonFinite {
        /// Which argument holds the value.
        what: &'static str,
        /// Position of the value in that argument.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// An input element is finite but outside the admissible range (e.g. a negative
    /// weight, a non-positive value passed to a log–log fit, a CDF value outside [0, 1]).
    #[error("invalid value {value} in {what} at index {index}: {reason}")]
    InvalidValue {
        /// Which argument holds the value.
        what: &'static str,
        /// Position of the value in that argument.
        index: usize,
        /// The offending value.
        value: f64,
        /// The constraint it violates.
        reason: &'static str,
    },
    /// A scalar parameter (bandwidth, confidence level, ε, …) is out of range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The value passed (integers are converted to `f64`).
        value: f64,
        /// The constraint it violates.
        reason: &'static str,
    },
    /// The estimator needs more data points than were given.
    #[error("too few points in {what}: need at least {needed}, got {got}")]
    TooFewPoints {
        /// Which argument is too short.
        what: &'static str,
        /// Minimum number of points.
        needed: usize,
        /// Number of points given.
        got: usize,
    },
    /// The input is valid element-wise but the quantity is undefined for it (zero
    /// variance, all-equal abscissae, zero total weight, …).
    #[error("degenerate input in {what}: {reason}")]
    Degenerate {
        /// Which argument or quantity.
        what: &'static str,
        /// Why the quantity is undefined.
        reason: &'static str,
    },
    /// The diagnostic does not know the given domain (the `Domain` enum is
    /// non-exhaustive and may grow).
    #[error("unsupported domain {domain} for {what}")]
    UnsupportedDomain {
        /// Which diagnostic.
        what: &'static str,
        /// Domain name as reported by `Domain::name`.
        domain: &'static str,
    },
}

/// Result alias of the diagnostics crate.
pub type Result<T> = std::result::Result<T, DiagnosticsError>;
