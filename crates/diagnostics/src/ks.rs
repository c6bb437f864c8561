//! One-sample Kolmogorov–Smirnov test of a sample against a continuous CDF F.
//!
//! With the sample sorted, x_(0) ≤ … ≤ x_(n−1), the statistic
//!
//! D_n = sup_x |F_n(x) − F(x)| = max_i max( (i+1)/n − F(x_(i)), F(x_(i)) − i/n )
//!
//! (the supremum of a step function minus a continuous non-decreasing one is reached at
//! a jump, from one side or the other). Under H0, √n D_n → K, the Kolmogorov
//! distribution, with survival function
//!
//! Q_KS(λ) = P(K > λ) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²)
//!         = 1 − (√(2π)/λ) Σ_{k≥1} exp(−(2k−1)² π² / (8λ²)),
//!
//! the second (Jacobi theta) form being used for small λ, where the alternating series
//! converges slowly. The p-value is asymptotic: accurate for n ≳ 35, conservative-ish
//! for smaller n.
//!
//! Useful to test particle marginals against exact targets (e.g. a Gaussian stationary
//! law of a linear Fokker–Planck equation). Note that particles of an interacting system
//! are exchangeable, not independent: at finite N the p-value is only indicative.

use crate::error::{DiagnosticsError, Result};
use crate::validate;

/// Threshold between the two series of Q_KS (both converge in a handful of terms here).
const SERIES_SWITCH: f64 = 1.18;

/// Result of a one-sample KS test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsTest {
    /// D_n = sup |F_n − F|.
    pub statistic: f64,
    /// Asymptotic p-value Q_KS(√n D_n).
    pub p_value: f64,
    /// Sample size n.
    pub n: usize,
}

/// KS statistic D_n = max_i max((i+1)/n − F(x_(i)), F(x_(i)) − i/n) of `sample` against
/// the continuous CDF `cdf`. Every sample value must be finite, and every F(x_(i))
/// finite and in [0, 1].
pub fn ks_statistic(sample: &[f64], cdf: impl Fn(f64) -> f64) -> Result<f64> {
    validate::finite_nonempty("sample", sample)?;
    let sorted = validate::sorted(sample);
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let f = cdf(x);
        if !f.is_finite() {
            return Err(DiagnosticsError::NonFinite {
                what: "cdf value (index in sorted sample)",
                index: i,
                value: f,
            });
        }
        if !(0.0..=1.0).contains(&f) {
            return Err(DiagnosticsError::InvalidValue {
                what: "cdf value (index in sorted sample)",
                index: i,
                value: f,
                reason: "a CDF takes values in [0, 1]",
            });
        }
        d = d.max((i as f64 + 1.0) / n - f).max(f - i as f64 / n);
    }
    Ok(d.clamp(0.0, 1.0))
}

/// Kolmogorov survival function Q_KS(λ) = P(K > λ) (module docs), for λ ≥ 0.
pub fn kolmogorov_survival(lambda: f64) -> Result<f64> {
    if lambda.is_nan() || lambda < 0.0 {
        return Err(DiagnosticsError::InvalidParameter {
            name: "lambda",
            value: lambda,
            reason: "the Kolmogorov argument must be ≥ 0",
        });
    }
    if lambda == f64::INFINITY {
        return Ok(0.0);
    }
    // Below 0.2 the CDF is < 1e-26: the p-value is 1 to double precision.
    if lambda < 0.2 {
        return Ok(1.0);
    }
    let p = if lambda < SERIES_SWITCH {
        // Theta form: P(K ≤ λ) = (√(2π)/λ) Σ exp(−(2k−1)² π²/(8λ²)).
        let c = -std::f64::consts::PI.powi(2) / (8.0 * lambda * lambda);
        let cdf: f64 = (1..=20)
            .map(|k| ((2 * k - 1) as f64).powi(2))
            .map(|m| (c * m).exp())
            .sum();
        1.0 - (2.0 * std::f64::consts::PI).sqrt() / lambda * cdf
    } else {
        // Alternating form; at λ ≥ 1.18 the k-th term is ≤ exp(−2.78 k²).
        (1..=20)
            .map(|k: i32| {
                let sign = if k % 2 == 1 { 1.0 } else { -1.0 };
                sign * (-2.0 * f64::from(k * k) * lambda * lambda).exp()
            })
            .sum::<f64>()
            * 2.0
    };
    Ok(p.clamp(0.0, 1.0))
}

/// Asymptotic KS p-value P(D_n ≥ d) ≈ Q_KS(√n d) for a statistic d ∈ [0, 1] from a
/// sample of size n ≥ 1.
pub fn ks_p_value(d: f64, n: usize) -> Result<f64> {
    if !(0.0..=1.0).contains(&d) {
        return Err(DiagnosticsError::InvalidParameter {
            name: "d",
            value: d,
            reason: "the KS statistic lies in [0, 1]",
        });
    }
    validate::at_least("KS sample", 1, n)?;
    kolmogorov_survival((n as f64).sqrt() * d)
}

/// One-sample KS test: statistic [`ks_statistic`] and asymptotic p-value [`ks_p_value`].
pub fn ks_test(sample: &[f64], cdf: impl Fn(f64) -> f64) -> Result<KsTest> {
    let statistic = ks_statistic(sample, cdf)?;
    let p_value = ks_p_value(statistic, sample.len())?;
    Ok(KsTest {
        statistic,
        p_value,
        n: sample.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_midpoint_grid_has_statistic_half_over_n() {
        // x_i = (i + ½)/n: both one-sided gaps equal 1/(2n) at every point.
        for n in [1usize, 2, 7, 100] {
            let s: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
            let d = ks_statistic(&s, |x| x.clamp(0.0, 1.0)).unwrap();
            assert!((d - 0.5 / n as f64).abs() < 1e-15, "n = {n}: {d}");
        }
        // Left-endpoint grid i/n: D = 1/n.
        let s: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
        assert!((ks_statistic(&s, |x| x).unwrap() - 0.1).abs() < 1e-15);
    }

    #[test]
    fn single_point_and_far_sample() {
        // One point at F = 0.3: D = max(1 − 0.3, 0.3) = 0.7.
        assert!((ks_statistic(&[0.3], |x| x).unwrap() - 0.7).abs() < 1e-15);
        // Everything far to the right of U(0,1): D = 1.
        assert_eq!(
            ks_statistic(&[5.0, 6.0], |x: f64| x.clamp(0.0, 1.0)).unwrap(),
            1.0
        );
    }

    #[test]
    fn kolmogorov_known_values() {
        // Q_KS(1) = 0.26999967167735456; the 5 % critical value is λ = 1.3580986393225505.
        assert!((kolmogorov_survival(1.0).unwrap() - 0.269_999_671_677_354_6).abs() < 1e-12);
        assert!((kolmogorov_survival(1.358_098_639_322_550_5).unwrap() - 0.05).abs() < 1e-9);
        assert_eq!(kolmogorov_survival(0.0).unwrap(), 1.0);
        assert_eq!(kolmogorov_survival(f64::INFINITY).unwrap(), 0.0);
        // Both series agree at the switch.
        let below = kolmogorov_survival(SERIES_SWITCH - 1e-12).unwrap();
        let above = kolmogorov_survival(SERIES_SWITCH).unwrap();
        assert!((below - above).abs() < 1e-12);
        // Monotone decreasing.
        let mut prev = 1.0;
        for k in 0..400 {
            let p = kolmogorov_survival(k as f64 * 0.01).unwrap();
            assert!(p <= prev + 1e-15);
            prev = p;
        }
    }

    #[test]
    fn ks_test_combines() {
        let s: Vec<f64> = (0..100).map(|i| (i as f64 + 0.5) / 100.0).collect();
        let t = ks_test(&s, |x| x).unwrap();
        assert_eq!(t.n, 100);
        assert!(t.p_value > 0.999);
        assert!((ks_p_value(0.135_809_863_932_255, 100).unwrap() - 0.05).abs() < 1e-6);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            ks_statistic(&[], |x| x),
            Err(DiagnosticsError::Empty { .. })
        ));
        assert!(matches!(
            ks_statistic(&[f64::NAN], |x| x),
            Err(DiagnosticsError::NonFinite { .. })
        ));
        assert!(matches!(
            ks_statistic(&[0.5], |_| f64::NAN),
            Err(DiagnosticsError::NonFinite { .. })
        ));
        assert!(matches!(
            ks_statistic(&[0.5], |_| 1.5),
            Err(DiagnosticsError::InvalidValue { .. })
        ));
        assert!(matches!(
            ks_p_value(1.5, 10),
            Err(DiagnosticsError::InvalidParameter { .. })
        ));
        assert!(ks_p_value(f64::NAN, 10).is_err());
        assert!(matches!(
            ks_p_value(0.1, 0),
            Err(DiagnosticsError::TooFewPoints { .. })
        ));
        assert!(kolmogorov_survival(-0.1).is_err());
        assert!(kolmogorov_survival(f64::NAN).is_err());
        assert!(ks_test(&[], |x| x).is_err());
    }
}
