//! Errors of the measures crate.

/// Everything that can go wrong when building or updating an ensemble, its weights or
/// its domain. Each variant names the offending value so the caller can fix the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MeasuresError {
    /// An ensemble needs at least one particle and one coordinate.
    #[error("empty ensemble: {what} must be positive")]
    Empty {
        /// Which size was zero (`"number of particles"`, `"dimension"`).
        what: &'static str,
    },
    /// A buffer has the wrong length for the declared shape.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// Which argument is mis-sized.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A coordinate or weight is NaN or infinite.
    #[error("non-finite value {value} in {what} at particle {particle}, coordinate {coordinate}")]
    NonFinite {
        /// Which buffer holds the value.
        what: &'static str,
        /// Particle (row) index.
        particle: usize,
        /// Coordinate (column) index.
        coordinate: usize,
        /// The offending value.
        value: f64,
    },
    /// A particle lies outside the domain the ensemble lives on.
    #[error("particle {particle} lies outside the {domain} domain: {reason}")]
    OutsideDomain {
        /// Particle index.
        particle: usize,
        /// Domain name.
        domain: &'static str,
        /// Which constraint fails, with the value.
        reason: String,
    },
    /// Weights must be non-negative with a positive, finite total.
    #[error("invalid weights: {reason}")]
    InvalidWeights {
        /// What is wrong with them.
        reason: String,
    },
    /// The parameters of an initial law are invalid (e.g. std ≤ 0, a Dirichlet shape that
    /// is not a multiple of ½).
    #[error("invalid initial law: {reason}")]
    InvalidLaw {
        /// What is wrong with it, with the value.
        reason: String,
    },
    /// A domain specification is inconsistent (e.g. lower bound ≥ upper bound).
    #[error("invalid domain: {reason}")]
    InvalidDomain {
        /// What is wrong with it.
        reason: String,
    },
    /// A buffer sized from user input is larger than the per-buffer limit (or its size
    /// overflows): see [`crate::alloc`].
    #[error(
        "{what} of {} elements needs {}, more than the limit of {} per buffer \
         (raise it with --max-memory or meanfield_measures::alloc::set_max_bytes)",
        .dims.iter().map(usize::to_string).collect::<Vec<_>>().join(" × "),
        crate::alloc::fmt_bytes(*.bytes),
        crate::alloc::fmt_bytes(*.limit as f64)
    )]
    TooLarge {
        /// Which buffer.
        what: &'static str,
        /// Its dimensions, whose product is the element count.
        dims: Vec<usize>,
        /// Bytes it would need (as f64: the exact product may not fit in an integer).
        bytes: f64,
        /// The limit in force.
        limit: u64,
    },
    /// The buffers a run declares need more bytes together than the limit (see
    /// [`crate::alloc::check_total`]), though each may fit on its own.
    #[error(
        "{what}: its {} declared buffers need {} together ({}), more than the limit of {} \
         per run (raise it with --max-memory or meanfield_measures::alloc::set_max_bytes)",
        .buffers.len(),
        crate::alloc::fmt_bytes(*.bytes),
        .buffers.iter()
            .map(|(w, b)| format!("{w}: {}", crate::alloc::fmt_bytes(*b)))
            .collect::<Vec<_>>()
            .join(", "),
        crate::alloc::fmt_bytes(*.limit as f64)
    )]
    TotalTooLarge {
        /// Whose buffers (an experiment's name).
        what: String,
        /// Each buffer's name and bytes.
        buffers: Vec<(&'static str, f64)>,
        /// Their total in bytes.
        bytes: f64,
        /// The limit in force.
        limit: u64,
    },
    /// A partition of particles over ranks is impossible (e.g. fewer blocks than ranks),
    /// or a distributed ensemble is used where only a single-process one can be.
    #[error("invalid partition: {reason}")]
    InvalidPartition {
        /// What is wrong, with the values.
        reason: String,
    },
    /// A rank of a distributed run failed; every rank reports the same failure.
    #[error(transparent)]
    RankFailed(#[from] crate::distributed::RankFailure),
}

/// Result alias of the measures crate.
pub type Result<T> = std::result::Result<T, MeasuresError>;
