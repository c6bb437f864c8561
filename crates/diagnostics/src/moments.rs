//! Moments of the empirical measure μ_N = Σ_i W^i δ_{X^i} and of scalar samples.
//!
//! Ensemble moments are those of the (possibly weighted) empirical measure itself, i.e.
//! population moments normalised by Σ_i W^i = 1 (no Bessel correction): they are the
//! quantities a mean-field limit converges to. Scalar-sample helpers use the unbiased
//! (n − 1) variance, as appropriate for i.i.d. replicate estimates.
//!
//! All sums are compensated (Neumaier) and centred (two-pass), so the result does not
//! lose digits when |mean| ≫ standard deviation.

use meanfield_measures::Ensemble;
use meanfield_measures::compensated::NeumaierSum;

use crate::error::{DiagnosticsError, Result};
use crate::validate;

/// Mean m = E_{μ_N}\[x\] = Σ_i W^i X^i (length d). An `Ensemble` is never empty and its
/// coordinates are finite, so this cannot fail.
pub fn mean(ens: &Ensemble) -> Vec<f64> {
    ens.mean()
}

/// Covariance C = Σ_i W^i (X^i − m)(X^i − m)^T of the empirical measure, d × d
/// row-major, normalised by Σ_i W^i = 1 (population covariance, no n − 1 correction).
pub fn covariance(ens: &Ensemble) -> Vec<f64> {
    let d = ens.dim();
    let m = ens.mean();
    let mut acc = vec![NeumaierSum::new(); d * d];
    let mut centred = vec![0.0; d];
    for (i, row) in ens.rows().enumerate() {
        let w = ens.weight(i);
        for ((c, x), mk) in centred.iter_mut().zip(row).zip(&m) {
            *c = x - mk;
        }
        // Upper triangle only; the lower one is filled by symmetry below so that C is
        // exactly symmetric.
        for a in 0..d {
            for b in a..d {
                acc[a * d + b].add(w * centred[a] * centred[b]);
            }
        }
    }
    let mut out = vec![0.0; d * d];
    for a in 0..d {
        for b in a..d {
            let v = acc[a * d + b].value();
            out[a * d + b] = v;
            out[b * d + a] = v;
        }
    }
    out
}

/// The `coord`-th marginal sample (X^1_coord, …, X^N_coord). The matching weights, if
/// any, are `ens.weights()`.
pub fn marginal(ens: &Ensemble, coord: usize) -> Result<Vec<f64>> {
    if coord >= ens.dim() {
        return Err(DiagnosticsError::InvalidParameter {
            name: "coord",
            value: coord as f64,
            reason: "coordinate index must be < dimension",
        });
    }
    Ok(ens.rows().map(|row| row[coord]).collect())
}

/// Sample mean x̄ = (1/n) Σ x_i and unbiased variance s² = Σ (x_i − x̄)² / (n − 1) of a
/// scalar sample (n ≥ 2). Uses the corrected two-pass formula
/// s² = [Σ (x_i − x̄)² − (Σ (x_i − x̄))² / n] / (n − 1).
pub fn sample_mean_var(xs: &[f64]) -> Result<(f64, f64)> {
    validate::finite_nonempty("sample", xs)?;
    validate::at_least("sample", 2, xs.len())?;
    let n = xs.len() as f64;
    let mean = meanfield_measures::compensated::compensated_sum(xs) / n;
    let mut sq = NeumaierSum::new();
    let mut lin = NeumaierSum::new();
    for &x in xs {
        let c = x - mean;
        sq.add(c * c);
        lin.add(c);
    }
    let l = lin.value();
    let var = ((sq.value() - l * l / n) / (n - 1.0)).max(0.0);
    Ok((mean, var))
}

/// Standard error of the sample mean, se = sqrt(s² / n) with the unbiased s² of
/// [`sample_mean_var`] (n ≥ 2).
pub fn standard_error(xs: &[f64]) -> Result<f64> {
    let (_, var) = sample_mean_var(xs)?;
    Ok((var / xs.len() as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::{Domain, Weights};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn unweighted_covariance_is_population_covariance() {
        // Points (0,0), (2,0), (0,2), (2,2): mean (1,1), var 1 per axis, cov 0.
        let ens = Ensemble::new(
            4,
            2,
            vec![0., 0., 2., 0., 0., 2., 2., 2.],
            Domain::Euclidean,
        )
        .unwrap();
        assert_eq!(mean(&ens), vec![1.0, 1.0]);
        let c = covariance(&ens);
        assert!(close(c[0], 1.0) && close(c[3], 1.0) && close(c[1], 0.0) && c[1] == c[2]);
    }

    #[test]
    fn weighted_covariance_matches_hand_computation() {
        // 1-D points 0 and 1 with weights 1/4, 3/4: mean 3/4, var = pq = 3/16.
        let mut ens = Ensemble::new(2, 1, vec![0.0, 1.0], Domain::Euclidean).unwrap();
        ens.set_weights(Weights::from_unnormalised(vec![1.0, 3.0]).unwrap())
            .unwrap();
        assert!(close(mean(&ens)[0], 0.75));
        assert!(close(covariance(&ens)[0], 3.0 / 16.0));
    }

    #[test]
    fn correlated_covariance() {
        // (t, 2t) for t = -1, 0, 1: var x = 2/3, cov = 4/3, var y = 8/3.
        let ens = Ensemble::new(3, 2, vec![-1., -2., 0., 0., 1., 2.], Domain::Euclidean).unwrap();
        let c = covariance(&ens);
        assert!(close(c[0], 2.0 / 3.0) && close(c[1], 4.0 / 3.0) && close(c[3], 8.0 / 3.0));
    }

    #[test]
    fn marginal_extracts_column_and_rejects_bad_coord() {
        let ens = Ensemble::new(2, 2, vec![1., 2., 3., 4.], Domain::Euclidean).unwrap();
        assert_eq!(marginal(&ens, 1).unwrap(), vec![2.0, 4.0]);
        assert!(matches!(
            marginal(&ens, 2),
            Err(DiagnosticsError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn sample_mean_var_hand_case() {
        let (m, v) = sample_mean_var(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!(close(m, 2.5) && close(v, 5.0 / 3.0));
        assert!(close(
            standard_error(&[1.0, 2.0, 3.0, 4.0]).unwrap(),
            (5.0 / 12.0f64).sqrt()
        ));
        // Large offset: the centred two-pass formula keeps the variance exact.
        let (_, v) = sample_mean_var(&[1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0]).unwrap();
        assert!(close(v, 1.0));
    }

    #[test]
    fn sample_errors() {
        assert!(matches!(
            sample_mean_var(&[]),
            Err(DiagnosticsError::Empty { .. })
        ));
        assert!(matches!(
            sample_mean_var(&[1.0]),
            Err(DiagnosticsError::TooFewPoints { .. })
        ));
        assert!(matches!(
            sample_mean_var(&[1.0, f64::NAN]),
            Err(DiagnosticsError::NonFinite { index: 1, .. })
        ));
        assert!(standard_error(&[f64::INFINITY, 1.0]).is_err());
    }
}
