//! Input checks shared by the estimators (crate-private).

use crate::error::{DiagnosticsError, Result};

/// Non-empty and every element finite.
pub(crate) fn finite_nonempty(what: &'static str, xs: &[f64]) -> Result<()> {
    if xs.is_empty() {
        return Err(DiagnosticsError::Empty { what });
    }
    finite(what, xs)
}

/// Every element finite (the empty slice passes).
pub(crate) fn finite(what: &'static str, xs: &[f64]) -> Result<()> {
    match xs.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(DiagnosticsError::NonFinite {
            what,
            index,
            value: xs[index],
        }),
    }
}

/// At least `needed` elements.
pub(crate) fn at_least(what: &'static str, needed: usize, got: usize) -> Result<()> {
    if got < needed {
        Err(DiagnosticsError::TooFewPoints { what, needed, got })
    } else {
        Ok(())
    }
}

/// Equal lengths.
pub(crate) fn same_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(DiagnosticsError::DimensionMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Non-empty, finite, non-negative weights with a positive total; returns the
/// compensated total Σ w_i.
pub(crate) fn weights(what: &'static str, w: &[f64]) -> Result<f64> {
    finite_nonempty(what, w)?;
    if let Some(index) = w.iter().position(|v| *v < 0.0) {
        return Err(DiagnosticsError::InvalidValue {
            what,
            index,
            value: w[index],
            reason: "weights must be non-negative",
        });
    }
    let total = meanfield_measures::compensated::compensated_sum(w);
    if !(total > 0.0 && total.is_finite()) {
        return Err(DiagnosticsError::Degenerate {
            what,
            reason: "total weight must be positive and finite",
        });
    }
    Ok(total)
}

/// Sorted copy of a finite slice (total order, so the sort never panics).
pub(crate) fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}
