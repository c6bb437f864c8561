//! Maximum mean discrepancy with the Gaussian kernel.
//!
//! k(x, y) = exp(−|x − y|² / (2h²)), a characteristic kernel, so MMD(μ, ν) = 0 iff μ = ν:
//!
//! MMD²(μ, ν) = E k(X, X') + E k(Y, Y') − 2 E k(X, Y) = ‖m_μ − m_ν‖²_H,
//!
//! the squared RKHS distance between kernel mean embeddings.
//!
//! - [`mmd2_biased`] is the V-statistic: the plug-in value MMD²(μ_N, ν_M) between the
//!   (weighted) empirical measures, Σ_ij α_i α_j k(x_i, x_j) + Σ_ij β_i β_j k(y_i, y_j)
//!   − 2 Σ_ij α_i β_j k(x_i, y_j). It is a squared norm, hence ≥ 0, and exactly 0 for
//!   identical ensembles; its bias is O(1/N + 1/M).
//! - [`mmd2_unbiased`] is the U-statistic of Gretton et al. (2012), dropping the diagonal
//!   terms i = j of the within-sample sums: with uniform weights
//!   (1/(N(N−1))) Σ_{i≠j} k(x_i, x_j) + (1/(M(M−1))) Σ_{i≠j} k(y_i, y_j)
//!   − (2/(NM)) Σ_ij k(x_i, y_j). It is unbiased but can be negative.
//!
//! Cost O((N + M)² d); particle rows are processed in parallel, each row sum is computed
//! sequentially and the row sums are added in index order, so the result does not depend
//! on the thread count.

use meanfield_measures::Ensemble;
use meanfield_measures::compensated::NeumaierSum;
use rayon::prelude::*;

use crate::error::{DiagnosticsError, Result};
use crate::validate;

/// Largest number of points used by [`median_bandwidth`]; larger pooled samples are
/// thinned deterministically to evenly spaced indices.
pub const MEDIAN_BANDWIDTH_MAX_POINTS: usize = 1000;

/// Squared Euclidean distance |a − b|².
#[inline]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Σ_{i,j} w_i v_j k(x_i, y_j), optionally skipping i = j (for x = y).
fn kernel_sum(x: &Ensemble, y: &Ensemble, inv_two_h2: f64, skip_diagonal: bool) -> f64 {
    let ys: Vec<&[f64]> = y.rows().collect();
    let rows: Vec<f64> = x
        .rows()
        .collect::<Vec<_>>()
        .into_par_iter()
        .enumerate()
        .map(|(i, xi)| {
            let mut acc = NeumaierSum::new();
            for (j, yj) in ys.iter().enumerate() {
                if !(skip_diagonal && i == j) {
                    acc.add(y.weight(j) * (-sq_dist(xi, yj) * inv_two_h2).exp());
                }
            }
            x.weight(i) * acc.value()
        })
        .collect();
    let mut total = NeumaierSum::new();
    rows.iter().for_each(|r| total.add(*r));
    total.value()
}

/// Checks matching dimensions and a finite positive bandwidth; returns 1/(2h²).
fn check(x: &Ensemble, y: &Ensemble, h: f64) -> Result<f64> {
    if x.dim() != y.dim() {
        return Err(DiagnosticsError::DimensionMismatch {
            what: "second ensemble dimension",
            expected: x.dim(),
            got: y.dim(),
        });
    }
    if !(h.is_finite() && h > 0.0) {
        return Err(DiagnosticsError::InvalidParameter {
            name: "h",
            value: h,
            reason: "the kernel bandwidth must be finite and positive",
        });
    }
    let inv = 1.0 / (2.0 * h * h);
    if !inv.is_finite() || inv == 0.0 {
        return Err(DiagnosticsError::InvalidParameter {
            name: "h",
            value: h,
            reason: "the bandwidth is so extreme that 1/(2h²) is not a positive finite number",
        });
    }
    Ok(inv)
}

/// Biased (V-statistic) estimate MMD²_b = Σ_ij α_iα_j k(x_i,x_j) + Σ_ij β_iβ_j k(y_i,y_j)
/// − 2 Σ_ij α_iβ_j k(x_i,y_j) with k(x,y) = exp(−|x−y|²/(2h²)) and α, β the ensemble
/// weights (1/N when unweighted). Clamped at 0: it is a squared RKHS norm, and only
/// rounding can make the computed value negative.
pub fn mmd2_biased(x: &Ensemble, y: &Ensemble, h: f64) -> Result<f64> {
    let inv = check(x, y, h)?;
    let kxx = kernel_sum(x, x, inv, false);
    let kyy = kernel_sum(y, y, inv, false);
    let kxy = kernel_sum(x, y, inv, false);
    Ok((kxx + kyy - 2.0 * kxy).max(0.0))
}

/// Unbiased (U-statistic) estimate
/// MMD²_u = Σ_{i≠j} α_iα_j k(x_i,x_j) / (1 − Σα_i²) + Σ_{i≠j} β_iβ_j k(y_i,y_j) / (1 − Σβ_i²)
/// − 2 Σ_ij α_iβ_j k(x_i,y_j).
///
/// With uniform weights α_i = 1/N this is exactly the classical U-statistic
/// (1/(N(N−1))) Σ_{i≠j} k(x_i,x_j) + … ; for weights fixed independently of the points
/// it stays unbiased (E Σ_{i≠j} α_iα_j k = (1 − Σα²) E k). Needs N, M ≥ 2 and weights
/// not concentrated on a single particle. May be negative.
pub fn mmd2_unbiased(x: &Ensemble, y: &Ensemble, h: f64) -> Result<f64> {
    let inv = check(x, y, h)?;
    validate::at_least("first ensemble", 2, x.n())?;
    validate::at_least("second ensemble", 2, y.n())?;
    let off_diag_norm = |e: &Ensemble, what: &'static str| -> Result<f64> {
        let mut s = NeumaierSum::new();
        (0..e.n()).for_each(|i| s.add(e.weight(i) * e.weight(i)));
        let norm = 1.0 - s.value();
        if norm > 1e-12 {
            Ok(norm)
        } else {
            Err(DiagnosticsError::Degenerate {
                what,
                reason: "weights concentrated on one particle leave no off-diagonal pairs",
            })
        }
    };
    let nx = off_diag_norm(x, "first ensemble weights")?;
    let ny = off_diag_norm(y, "second ensemble weights")?;
    let kxx = kernel_sum(x, x, inv, true) / nx;
    let kyy = kernel_sum(y, y, inv, true) / ny;
    let kxy = kernel_sum(x, y, inv, false);
    Ok(kxx + kyy - 2.0 * kxy)
}

/// Median heuristic bandwidth h = median{ |z_i − z_j| : i < j } over the pooled points
/// z = (x_1, …, x_N, y_1, …, y_M) (weights ignored). Pools larger than
/// [`MEDIAN_BANDWIDTH_MAX_POINTS`] are thinned to that many evenly spaced indices
/// (deterministic) to keep the cost O(1) in N. For an even number of pairs the lower
/// median is returned. Fails if the median distance is 0 (more than half the pairs
/// coincide).
pub fn median_bandwidth(x: &Ensemble, y: &Ensemble) -> Result<f64> {
    if x.dim() != y.dim() {
        return Err(DiagnosticsError::DimensionMismatch {
            what: "second ensemble dimension",
            expected: x.dim(),
            got: y.dim(),
        });
    }
    let pooled: Vec<&[f64]> = x.rows().chain(y.rows()).collect();
    validate::at_least("pooled ensembles", 2, pooled.len())?;
    let m = pooled.len().min(MEDIAN_BANDWIDTH_MAX_POINTS);
    // Evenly spaced indices ⌊k · len / m⌋, k = 0..m (all distinct since len ≥ m).
    let pts: Vec<&[f64]> = (0..m).map(|k| pooled[k * pooled.len() / m]).collect();
    let mut d2: Vec<f64> = Vec::with_capacity(m * (m - 1) / 2);
    for (i, a) in pts.iter().enumerate() {
        for b in &pts[i + 1..] {
            d2.push(sq_dist(a, b));
        }
    }
    let mid = (d2.len() - 1) / 2;
    let (_, med, _) = d2.select_nth_unstable_by(mid, f64::total_cmp);
    let h = med.sqrt();
    if h > 0.0 && h.is_finite() {
        Ok(h)
    } else {
        Err(DiagnosticsError::Degenerate {
            what: "median bandwidth",
            reason: "the median pairwise distance is zero or not finite",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::{Domain, Weights};

    fn ens(n: usize, d: usize, data: Vec<f64>) -> Ensemble {
        Ensemble::new(n, d, data, Domain::Euclidean).unwrap()
    }

    #[test]
    fn identical_is_zero_and_positive_otherwise() {
        let x = ens(4, 2, vec![0., 0., 1., 0., 0., 1., 1., 1.]);
        assert_eq!(mmd2_biased(&x, &x, 1.0).unwrap(), 0.0);
        let y = ens(2, 2, vec![3., 3., 4., 4.]);
        assert!(mmd2_biased(&x, &y, 1.0).unwrap() > 0.1);
    }

    #[test]
    fn hand_computed_two_diracs() {
        // δ_0 vs δ_1 in 1-D, h = 1: 1 + 1 − 2 e^{−1/2}.
        let x = ens(1, 1, vec![0.0]);
        let y = ens(1, 1, vec![1.0]);
        let expected = 2.0 - 2.0 * (-0.5f64).exp();
        assert!((mmd2_biased(&x, &y, 1.0).unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn unbiased_hand_case() {
        // x = {0, 1}, y = {0, 1}, h = 1, a = e^{−1/2}:
        // Kxx_u = a, Kyy_u = a, Kxy = (2 + 2a)/4, so MMD²_u = 2a − 1 − a = a − 1.
        let x = ens(2, 1, vec![0.0, 1.0]);
        let a = (-0.5f64).exp();
        assert!((mmd2_unbiased(&x, &x, 1.0).unwrap() - (a - 1.0)).abs() < 1e-15);
        // Uniform explicit weights give the same value as implicit 1/N.
        let mut xw = x.clone();
        xw.set_weights(Weights::uniform(2).unwrap()).unwrap();
        assert!((mmd2_unbiased(&xw, &x, 1.0).unwrap() - (a - 1.0)).abs() < 1e-15);
    }

    #[test]
    fn biased_respects_weights() {
        // Weight (1, 0) on {0, 5} is the Dirac at 0.
        let mut x = ens(2, 1, vec![0.0, 5.0]);
        x.set_weights(Weights::from_unnormalised(vec![1.0, 0.0]).unwrap())
            .unwrap();
        let y = ens(1, 1, vec![0.0]);
        assert!(mmd2_biased(&x, &y, 0.7).unwrap() < 1e-15);
        assert!(matches!(
            mmd2_unbiased(&x, &y, 0.7),
            Err(DiagnosticsError::TooFewPoints { .. })
        ));
        let y2 = ens(2, 1, vec![0.0, 1.0]);
        assert!(matches!(
            mmd2_unbiased(&x, &y2, 0.7),
            Err(DiagnosticsError::Degenerate { .. })
        ));
    }

    #[test]
    fn median_bandwidth_hand_case() {
        // Pooled {0, 1, 3}: distances 1, 3, 2 → median 2.
        let x = ens(2, 1, vec![0.0, 1.0]);
        let y = ens(1, 1, vec![3.0]);
        assert_eq!(median_bandwidth(&x, &y).unwrap(), 2.0);
        let z = ens(3, 1, vec![1.0, 1.0, 1.0]);
        assert!(matches!(
            median_bandwidth(&z, &z),
            Err(DiagnosticsError::Degenerate { .. })
        ));
        let one = ens(1, 1, vec![0.0]);
        let big = ens(1500, 1, (0..1500).map(|i| i as f64).collect());
        assert!(median_bandwidth(&big, &one).unwrap() > 100.0);
    }

    #[test]
    fn errors() {
        let x = ens(2, 1, vec![0.0, 1.0]);
        let y = ens(2, 2, vec![0.0; 4]);
        assert!(matches!(
            mmd2_biased(&x, &y, 1.0),
            Err(DiagnosticsError::DimensionMismatch { .. })
        ));
        assert!(mmd2_unbiased(&x, &y, 1.0).is_err());
        assert!(median_bandwidth(&x, &y).is_err());
        for h in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300] {
            assert!(
                matches!(
                    mmd2_biased(&x, &x, h),
                    Err(DiagnosticsError::InvalidParameter { .. })
                ),
                "{h}"
            );
            assert!(mmd2_unbiased(&x, &x, h).is_err());
        }
    }
}
