//! 1-D W_2 between an unweighted sample and a continuous law given by its quantile
//! function Q = F^{-1}.
//!
//! With the sample sorted, a_(0) ≤ … ≤ a_(n−1), the empirical quantile function equals
//! a_(i) on the cell (i/n, (i+1)/n], so exactly
//!
//! W_2² = Σ_i ∫_{i/n}^{(i+1)/n} (a_(i) − Q(t))² dt.
//!
//! Each cell integral is approximated by the composite midpoint rule with k sub-cells,
//!
//! W_2² ≈ (1/(n k)) Σ_i Σ_{j<k} (a_(i) − Q((i + (j + ½)/k)/n))²,
//!
//! which never evaluates Q at 0 or 1 (where it is ±∞ for unbounded laws). With k = 1 the
//! law itself is replaced by its n-point midpoint quantisation, so the result is the
//! distance to that quantisation: e.g. the "perfect" sample a_(i) = Q((i+½)/n) gives 0,
//! whereas the exact W_2 is the quantisation error (O(1/n) for a law with bounded
//! density on a bounded support, slightly larger in Gaussian tails). Use a larger k
//! when that bias matters relative to the Monte-Carlo error O(n^{-1/2}).

use meanfield_measures::compensated::NeumaierSum;

use crate::error::{DiagnosticsError, Result};
use crate::validate;

/// W_2 between the sample `a` and the law with quantile function `quantile`, using the
/// one-point midpoint rule per cell: W_2² ≈ (1/n) Σ_i (a_(i) − Q((i + ½)/n))².
/// See the module docs for the discretisation error.
pub fn w2_1d_to_quantile(a: &[f64], quantile: impl Fn(f64) -> f64) -> Result<f64> {
    w2_1d_to_quantile_refined(a, quantile, 1)
}

/// W_2 between the sample `a` and the law with quantile function `quantile`, using the
/// composite midpoint rule with `subdivisions` = k ≥ 1 points per cell:
/// W_2² ≈ (1/(n k)) Σ_i Σ_{j<k} (a_(i) − Q((i + (j + ½)/k)/n))².
pub fn w2_1d_to_quantile_refined(
    a: &[f64],
    quantile: impl Fn(f64) -> f64,
    subdivisions: usize,
) -> Result<f64> {
    validate::finite_nonempty("sample", a)?;
    if subdivisions == 0 {
        return Err(DiagnosticsError::InvalidParameter {
            name: "subdivisions",
            value: 0.0,
            reason: "need at least one quadrature point per cell",
        });
    }
    let sorted = validate::sorted(a);
    let (n, k) = (sorted.len() as f64, subdivisions as f64);
    let mut acc = NeumaierSum::new();
    for (i, &x) in sorted.iter().enumerate() {
        for j in 0..subdivisions {
            let t = (i as f64 + (j as f64 + 0.5) / k) / n;
            let q = quantile(t);
            if !q.is_finite() {
                return Err(DiagnosticsError::NonFinite {
                    what: "quantile function value (index = quadrature node)",
                    index: i * subdivisions + j,
                    value: q,
                });
            }
            acc.add((x - q) * (x - q));
        }
    }
    Ok((acc.value() / (n * k)).max(0.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midpoint_sample_of_uniform_is_zero_and_shift_is_exact() {
        let n = 50;
        let grid: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        assert!(w2_1d_to_quantile(&grid, |t| t).unwrap() < 1e-15);
        let shifted: Vec<f64> = grid.iter().map(|x| x + 0.3).collect();
        assert!((w2_1d_to_quantile(&shifted, |t| t).unwrap() - 0.3).abs() < 1e-12);
    }

    #[test]
    fn refined_rule_converges_to_exact_distance() {
        // δ_0 vs U(0,1): W_2² = ∫ t² dt = 1/3; the midpoint rule with k points gives
        // 1/3 − 1/(12k²).
        let exact = (1.0f64 / 3.0).sqrt();
        let coarse = w2_1d_to_quantile(&[0.0], |t| t).unwrap();
        assert!((coarse - 0.5).abs() < 1e-15);
        let fine = w2_1d_to_quantile_refined(&[0.0], |t| t, 1000).unwrap();
        assert!((fine - exact).abs() < 1e-6);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            w2_1d_to_quantile(&[], |t| t),
            Err(DiagnosticsError::Empty { .. })
        ));
        assert!(w2_1d_to_quantile(&[f64::NAN], |t| t).is_err());
        assert!(matches!(
            w2_1d_to_quantile(&[0.0], |_| f64::NEG_INFINITY),
            Err(DiagnosticsError::NonFinite { .. })
        ));
        assert!(w2_1d_to_quantile_refined(&[0.0], |t| t, 0).is_err());
    }
}
