//! Signed logarithm of a determinant.
//!
//! Determinants of even moderately large matrices overflow or underflow
//! `f64`, so they are carried as $\det A = \sigma \, e^{\ell}$ with
//! $\ell = \log|\det A|$ and $\sigma = \operatorname{sign}\det A \in \{-1, +1\}$.

use crate::error::{LinalgError, Result};

/// $\det A = \texttt{sign} \cdot \exp(\texttt{log\_abs})$, with
/// $\texttt{log\_abs} = \log|\det A|$ and $\texttt{sign} \in \{-1, +1\}$.
///
/// A zero determinant is never represented: routines report
/// [`LinalgError::Singular`] instead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogDet {
    /// $\log|\det A|$.
    pub log_abs: f64,
    /// $\operatorname{sign}(\det A) \in \{-1, +1\}$.
    pub sign: f64,
}

impl Default for LogDet {
    fn default() -> Self {
        Self::ONE
    }
}

impl LogDet {
    /// The determinant of the empty ($0\times 0$) or identity matrix:
    /// $\det I = 1$, i.e. $\ell = 0$, $\sigma = +1$.
    pub const ONE: LogDet = LogDet {
        log_abs: 0.0,
        sign: 1.0,
    };

    /// Builds $\sigma e^{\ell}$; the sign is normalised to
    /// $\sigma = +1$ if `sign >= 0` and $-1$ otherwise.
    #[inline]
    pub fn new(log_abs: f64, sign: f64) -> Self {
        Self {
            log_abs,
            sign: if sign < 0.0 { -1.0 } else { 1.0 },
        }
    }

    /// Signed log of a non-zero finite scalar: $x = \operatorname{sign}(x)\, e^{\log|x|}$.
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if $x = 0$, [`LinalgError::NonFinite`] if $x$ is NaN or infinite.
    pub fn from_value(x: f64) -> Result<Self> {
        let mut acc = LogDet::ONE;
        acc.push_pivot(x, "scalar", 0)?;
        Ok(acc)
    }

    /// $\log|\det|$ and sign of a product of pivots: $\det = \prod_k p_k$
    /// (e.g. the diagonal of $U$ in $A = P^\top L U$ or of $D$ in $A = L D L^\top$).
    ///
    /// # Errors
    /// [`LinalgError::Singular`] at the first $p_k = 0$,
    /// [`LinalgError::NonFinite`] at the first non-finite $p_k$.
    pub fn from_pivots(pivots: impl IntoIterator<Item = f64>, what: &'static str) -> Result<Self> {
        let mut acc = LogDet::ONE;
        for (k, p) in pivots.into_iter().enumerate() {
            acc.push_pivot(p, what, k)?;
        }
        Ok(acc)
    }

    /// Multiplies in one pivot: $\ell \mathrel{+}= \log|p|$, $\sigma \mathrel{*}= \operatorname{sign} p$.
    #[inline]
    pub(crate) fn push_pivot(&mut self, p: f64, what: &'static str, index: usize) -> Result<()> {
        if !p.is_finite() {
            return Err(LinalgError::NonFinite { what });
        }
        if p == 0.0 {
            return Err(LinalgError::Singular { what, index });
        }
        self.log_abs += p.abs().ln();
        if p < 0.0 {
            self.sign = -self.sign;
        }
        Ok(())
    }

    /// Product rule $\det(AB) = \det A \det B$:
    /// $\ell = \ell_A + \ell_B$, $\sigma = \sigma_A \sigma_B$.
    #[inline]
    #[must_use]
    pub fn combine(self, other: LogDet) -> LogDet {
        LogDet {
            log_abs: self.log_abs + other.log_abs,
            sign: self.sign * other.sign,
        }
    }

    /// $\det(A^{-1}) = 1/\det A$: $\ell \mapsto -\ell$, sign unchanged.
    #[inline]
    #[must_use]
    pub fn inverse(self) -> LogDet {
        LogDet {
            log_abs: -self.log_abs,
            sign: self.sign,
        }
    }

    /// Flips the sign, e.g. for an odd permutation: $\det(PA) = -\det A$.
    #[inline]
    #[must_use]
    pub fn negate(self) -> LogDet {
        LogDet {
            log_abs: self.log_abs,
            sign: -self.sign,
        }
    }

    /// $\det A = \sigma e^{\ell}$ as a plain number (may overflow to $\pm\infty$ or underflow to $0$).
    #[inline]
    pub fn value(self) -> f64 {
        self.sign * self.log_abs.exp()
    }

    /// `true` iff $\det A > 0$.
    #[inline]
    pub fn is_positive(self) -> bool {
        self.sign > 0.0
    }
}

impl core::ops::Mul for LogDet {
    type Output = LogDet;
    /// $\det(AB) = \det A \det B$, see [`LogDet::combine`].
    #[inline]
    fn mul(self, rhs: LogDet) -> LogDet {
        self.combine(rhs)
    }
}

impl core::iter::Product for LogDet {
    /// $\det(\prod_i A_i) = \prod_i \det A_i$ (e.g. for block-diagonal matrices).
    fn product<I: Iterator<Item = LogDet>>(iter: I) -> LogDet {
        iter.fold(LogDet::ONE, LogDet::combine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_of_pivots() {
        let ld = LogDet::from_pivots([2.0, -3.0, 0.5], "t").unwrap();
        assert!((ld.value() - (-3.0)).abs() < 1e-14);
        assert_eq!(ld.sign, -1.0);
        assert!((ld.log_abs - 3.0f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn combine_inverse_negate() {
        let a = LogDet::from_value(-2.0).unwrap();
        let b = LogDet::from_value(4.0).unwrap();
        assert!(((a * b).value() + 8.0).abs() < 1e-13);
        assert!((a.inverse().value() + 0.5).abs() < 1e-15);
        assert!(a.negate().is_positive());
        let p: LogDet = [a, a, b].into_iter().product();
        assert!((p.value() - 16.0).abs() < 1e-12);
        assert_eq!(LogDet::default(), LogDet::ONE);
        assert_eq!(LogDet::new(1.0, -0.3).sign, -1.0);
    }

    #[test]
    fn errors() {
        assert_eq!(
            LogDet::from_pivots([1.0, 0.0, f64::NAN], "t"),
            Err(LinalgError::Singular {
                what: "t",
                index: 1
            })
        );
        assert_eq!(
            LogDet::from_value(f64::INFINITY),
            Err(LinalgError::NonFinite { what: "scalar" })
        );
    }

    #[test]
    fn no_overflow() {
        // det = 1e300^4 overflows f64 but not its logarithm.
        let ld = LogDet::from_pivots([1e300; 4], "t").unwrap();
        assert!((ld.log_abs - 4.0 * 300.0 * 10f64.ln()).abs() < 1e-9);
    }
}
