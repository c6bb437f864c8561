//! Sample autocorrelation of a scalar time series (e.g. an observable along a
//! trajectory), to judge mixing and decorrelation of time averages.
//!
//! Biased estimator: with x̄ the sample mean,
//!
//! γ̂(k) = (1/n) Σ_{t=0}^{n−k−1} (x_t − x̄)(x_{t+k} − x̄),   ρ̂(k) = γ̂(k) / γ̂(0).
//!
//! Dividing by n (not n − k) keeps the sequence γ̂ positive semi-definite, so |ρ̂(k)| ≤ 1,
//! at the price of a bias of order k/n toward 0. For an AR(1) process
//! x_{t+1} = φ x_t + ε_t, ρ(k) = φ^k.

use meanfield_measures::compensated::NeumaierSum;

use crate::error::{DiagnosticsError, Result};
use crate::validate;

/// Autocorrelations ρ̂(0), …, ρ̂(max_lag) (biased estimator, ρ̂(0) = 1), for a finite
/// series with n > max_lag points and non-zero variance.
pub fn acf(xs: &[f64], max_lag: usize) -> Result<Vec<f64>> {
    validate::finite_nonempty("series", xs)?;
    if max_lag >= xs.len() {
        return Err(DiagnosticsError::TooFewPoints {
            what: "series (need more points than max_lag)",
            needed: max_lag.saturating_add(1),
            got: xs.len(),
        });
    }
    let n = xs.len() as f64;
    let mean = meanfield_measures::compensated::compensated_sum(xs) / n;
    let c: Vec<f64> = xs.iter().map(|x| x - mean).collect();
    let gamma = |k: usize| {
        let mut acc = NeumaierSum::new();
        c.iter().zip(&c[k..]).for_each(|(a, b)| acc.add(a * b));
        acc.value()
    };
    let g0 = gamma(0);
    if !(g0 > 0.0 && g0.is_finite()) {
        return Err(DiagnosticsError::Degenerate {
            what: "series",
            reason: "a constant series has no autocorrelation (zero variance)",
        });
    }
    Ok((0..=max_lag)
        .map(|k| {
            if k == 0 {
                1.0
            } else {
                (gamma(k) / g0).clamp(-1.0, 1.0)
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::NoiseStreams;

    #[test]
    fn ar1_lags_are_powers_of_phi() {
        let phi = 0.7;
        let n = 20_000;
        let mut eps = vec![0.0; n];
        NoiseStreams::new(42, 0).fill_standard_normal(0, 0, &mut eps);
        let mut xs = Vec::with_capacity(n);
        let mut x = 0.0;
        for e in eps {
            x = phi * x + e;
            xs.push(x);
        }
        let r = acf(&xs, 3).unwrap();
        assert_eq!(r[0], 1.0);
        // Bartlett: sd(ρ̂(1)) ≈ sqrt((1 − φ²)/n) ≈ 0.005.
        assert!((r[1] - phi).abs() < 0.03, "{r:?}");
        assert!((r[2] - phi * phi).abs() < 0.04, "{r:?}");
    }

    #[test]
    fn hand_case_alternating() {
        // x = (1, −1, 1, −1): mean 0, γ(0) = 1, γ(1) = −3/4, γ(2) = 1/2.
        let r = acf(&[1.0, -1.0, 1.0, -1.0], 2).unwrap();
        assert_eq!(r, vec![1.0, -0.75, 0.5]);
    }

    #[test]
    fn errors() {
        assert!(matches!(acf(&[], 0), Err(DiagnosticsError::Empty { .. })));
        assert!(matches!(
            acf(&[1.0, 2.0], 2),
            Err(DiagnosticsError::TooFewPoints { .. })
        ));
        assert!(matches!(
            acf(&[1.0, f64::NAN], 0),
            Err(DiagnosticsError::NonFinite { .. })
        ));
        assert!(matches!(
            acf(&[3.0; 5], 1),
            Err(DiagnosticsError::Degenerate { .. })
        ));
        assert!(acf(&[1.0, 2.0], usize::MAX).is_err());
    }
}
