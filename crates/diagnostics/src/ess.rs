//! Effective sample size of importance / Fisher–Rao weights.
//!
//! ESS = (Σ_i w_i)² / Σ_i w_i² (Kish). It equals N for uniform weights and 1 when a
//! single particle carries all the mass; ESS / N ∈ [1/N, 1] measures weight degeneracy
//! (resampling is usually triggered when it falls below ~1/2).

use meanfield_measures::Ensemble;
use meanfield_measures::compensated::NeumaierSum;

use crate::error::Result;
use crate::validate;

/// Kish effective sample size ESS = (Σ_i w_i)² / Σ_i w_i² of non-negative, possibly
/// unnormalised weights with a positive finite total.
///
/// Computed on u_i = w_i / max_j w_j ∈ [0, 1] as (Σu)² / Σu² (the ratio is scale
/// invariant): huge or tiny raw weights neither overflow nor underflow, and uniform
/// weights give exactly N (u_i = 1, N² / N).
pub fn effective_sample_size(weights: &[f64]) -> Result<f64> {
    validate::weights("weights", weights)?;
    let max = weights.iter().copied().fold(0.0, f64::max);
    let (mut s, mut sq) = (NeumaierSum::new(), NeumaierSum::new());
    for &w in weights {
        let u = w / max;
        s.add(u);
        sq.add(u * u);
    }
    // Σu² ≥ 1 (the maximum contributes 1); clamp rounding into [1, N].
    let s = s.value();
    Ok((s * s / sq.value()).clamp(1.0, weights.len() as f64))
}

/// Relative effective sample size ESS / N ∈ [1/N, 1].
pub fn relative_ess(weights: &[f64]) -> Result<f64> {
    Ok(effective_sample_size(weights)? / weights.len() as f64)
}

/// ESS of an ensemble: 1 / Σ_i (W^i)² for a weighted one, N for an unweighted one.
pub fn ensemble_ess(ens: &Ensemble) -> f64 {
    ens.weights().map_or(ens.n() as f64, |w| w.ess())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DiagnosticsError;

    #[test]
    fn uniform_and_one_hot() {
        assert_eq!(effective_sample_size(&[2.0; 10]).unwrap(), 10.0);
        assert_eq!(relative_ess(&[0.1; 10]).unwrap(), 1.0);
        assert_eq!(effective_sample_size(&[0.0, 0.0, 5.0, 0.0]).unwrap(), 1.0);
        assert_eq!(relative_ess(&[0.0, 0.0, 5.0, 0.0]).unwrap(), 0.25);
    }

    #[test]
    fn hand_case_and_scale_invariance() {
        // w = (1, 1, 2): (4)² / 6 = 8/3.
        let e = effective_sample_size(&[1.0, 1.0, 2.0]).unwrap();
        assert!((e - 8.0 / 3.0).abs() < 1e-14);
        let big = effective_sample_size(&[1e300, 1e300, 2e300]).unwrap();
        assert!((big - 8.0 / 3.0).abs() < 1e-14);
    }

    #[test]
    fn ensemble_ess_uses_weights() {
        use meanfield_measures::{Domain, Weights};
        let mut ens = Ensemble::new(4, 1, vec![0.0, 1.0, 2.0, 3.0], Domain::Euclidean).unwrap();
        assert_eq!(ensemble_ess(&ens), 4.0);
        ens.set_weights(Weights::from_unnormalised(vec![1.0, 0.0, 0.0, 0.0]).unwrap())
            .unwrap();
        assert_eq!(ensemble_ess(&ens), 1.0);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            effective_sample_size(&[]),
            Err(DiagnosticsError::Empty { .. })
        ));
        assert!(matches!(
            effective_sample_size(&[1.0, f64::NAN]),
            Err(DiagnosticsError::NonFinite { .. })
        ));
        assert!(matches!(
            effective_sample_size(&[1.0, -1.0]),
            Err(DiagnosticsError::InvalidValue { .. })
        ));
        assert!(matches!(
            effective_sample_size(&[0.0, 0.0]),
            Err(DiagnosticsError::Degenerate { .. })
        ));
        assert!(relative_ess(&[]).is_err());
    }
}
