//! Typed errors of the crate.
//!
//! Every fallible routine returns [`Result<T>`]; no routine panics on user
//! input (wrong lengths, non-finite entries, exactly singular matrices).

/// Errors reported by the linear-algebra routines of this crate.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinalgError {
    /// A length or dimension does not match what the operation requires,
    /// e.g. $\mathrm{len}(b) \neq n$ in $A x = b$.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// Which quantity was checked.
        what: &'static str,
        /// The required value.
        expected: usize,
        /// The value that was supplied.
        got: usize,
    },
    /// A pivot of a factorization is exactly zero, so the matrix is
    /// (numerically exactly) singular, $\det A = 0$.
    #[error("singular matrix in {what}: zero pivot at index {index}")]
    Singular {
        /// Which matrix or factorization failed.
        what: &'static str,
        /// Index of the first zero pivot.
        index: usize,
    },
    /// An input (or an intermediate pivot) is NaN or $\pm\infty$.
    #[error("non-finite value in {what}")]
    NonFinite {
        /// Which input or quantity was not finite.
        what: &'static str,
    },
    /// An input that must be non-empty is empty (e.g. a list of blocks).
    #[error("empty input: {what}")]
    Empty {
        /// Which input was empty.
        what: &'static str,
    },
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, LinalgError>;

/// Returns [`LinalgError::DimensionMismatch`] unless `expected == got`.
#[inline]
pub(crate) fn check_dim(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(LinalgError::DimensionMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Returns [`LinalgError::NonFinite`] if some entry of `x` is NaN or infinite.
#[inline]
pub(crate) fn check_finite(what: &'static str, x: &[f64]) -> Result<()> {
    if x.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(LinalgError::NonFinite { what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_informative() {
        let e = LinalgError::DimensionMismatch {
            what: "rhs",
            expected: 3,
            got: 2,
        };
        assert_eq!(
            e.to_string(),
            "dimension mismatch in rhs: expected 3, got 2"
        );
        let e = LinalgError::Singular {
            what: "dense LU",
            index: 1,
        };
        assert!(e.to_string().contains("index 1"));
    }

    #[test]
    fn checks() {
        assert!(check_dim("x", 2, 2).is_ok());
        assert!(matches!(
            check_dim("x", 2, 3),
            Err(LinalgError::DimensionMismatch {
                expected: 2,
                got: 3,
                ..
            })
        ));
        assert!(check_finite("x", &[1.0, 2.0]).is_ok());
        assert!(check_finite("x", &[1.0, f64::NAN]).is_err());
        assert!(check_finite("x", &[f64::INFINITY]).is_err());
    }
}
