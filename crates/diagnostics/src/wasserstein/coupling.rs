//! Exact 1-D Wasserstein distances via the quantile (monotone) coupling.
//!
//! For μ = Σ_i α_i δ_{a_(i)} and ν = Σ_j β_j δ_{b_(j)} with sorted atoms, the quantile
//! functions are step functions with breakpoints at the cumulative masses
//! A_i = α_1 + … + α_i and B_j = β_1 + … + β_j. On each cell of the merged partition of
//! [0, 1] both are constant, so
//!
//! W_p^p = Σ_cells |t_{k+1} − t_k| · |a_(i(k)) − b_(j(k))|^p
//!
//! exactly. We walk the two sorted lists with two pointers ("north-west corner" rule),
//! moving the smaller remaining mass each time: O((n + m) log(n + m)) for the sorts and
//! O(n + m) for the walk.
//!
//! For unweighted samples of sizes n and m the masses 1/n and 1/m are represented
//! exactly as integers in units of 1/(n m) (each a-atom holds m units, each b-atom n
//! units), so the cell lengths carry no rounding error at all.

use meanfield_measures::compensated::NeumaierSum;

use crate::error::{DiagnosticsError, Result};
use crate::validate;

/// |x|^p with the common exponents special-cased (exact and fast).
#[inline]
pub(crate) fn abs_pow(x: f64, p: f64) -> f64 {
    if p == 1.0 {
        x.abs()
    } else if p == 2.0 {
        x * x
    } else {
        x.abs().powf(p)
    }
}

/// Checks the exponent p ∈ [1, ∞).
pub(crate) fn check_p(p: f64) -> Result<()> {
    if p.is_finite() && p >= 1.0 {
        Ok(())
    } else {
        Err(DiagnosticsError::InvalidParameter {
            name: "p",
            value: p,
            reason: "the Wasserstein exponent must be finite and ≥ 1",
        })
    }
}

/// W_p^p between two uniform empirical measures given their *sorted*, finite, non-empty
/// atoms, with exact integer cell lengths (units of 1/(n m)).
pub(crate) fn wpp_sorted_uniform(a: &[f64], b: &[f64], p: f64) -> f64 {
    let (n, m) = (a.len(), b.len());
    // Remaining units of the current a-atom (out of m) and b-atom (out of n).
    let (mut i, mut j) = (0usize, 0usize);
    let (mut ra, mut rb) = (m, n);
    let mut acc = NeumaierSum::new();
    while i < n && j < m {
        let take = ra.min(rb);
        acc.add(take as f64 * abs_pow(a[i] - b[j], p));
        ra -= take;
        rb -= take;
        if ra == 0 {
            i += 1;
            ra = m;
        }
        if rb == 0 {
            j += 1;
            rb = n;
        }
    }
    acc.value() / (n as f64 * m as f64)
}

/// W_p^p between two weighted empirical measures given atoms sorted by position with
/// their *normalised* masses.
pub(crate) fn wpp_sorted_weighted(a: &[(f64, f64)], b: &[(f64, f64)], p: f64) -> f64 {
    let (mut i, mut j) = (0usize, 0usize);
    let (mut ra, mut rb) = (a[0].1, b[0].1);
    let mut acc = NeumaierSum::new();
    while i < a.len() && j < b.len() {
        // `take` equals one of the two remainders, so that one becomes exactly 0.
        let take = ra.min(rb);
        acc.add(take * abs_pow(a[i].0 - b[j].0, p));
        ra -= take;
        rb -= take;
        if ra <= 0.0 {
            i += 1;
            ra = a.get(i).map_or(0.0, |x| x.1);
        }
        if rb <= 0.0 {
            j += 1;
            rb = b.get(j).map_or(0.0, |x| x.1);
        }
    }
    acc.value()
}

/// Atoms sorted by position with masses normalised to sum to 1.
pub(crate) fn sorted_atoms(xs: &[f64], w: &[f64], total: f64) -> Vec<(f64, f64)> {
    let mut atoms: Vec<(f64, f64)> = xs.iter().zip(w).map(|(&x, &wi)| (x, wi / total)).collect();
    atoms.sort_by(|u, v| u.0.total_cmp(&v.0));
    atoms
}

/// Exact W_p(μ_a, ν_b) = (∫_0^1 |F_a^{-1}(t) − F_b^{-1}(t)|^p dt)^{1/p} between the
/// uniform empirical measures of two 1-D samples of possibly different sizes, p ≥ 1.
pub fn wp_1d(a: &[f64], b: &[f64], p: f64) -> Result<f64> {
    check_p(p)?;
    validate::finite_nonempty("first sample", a)?;
    validate::finite_nonempty("second sample", b)?;
    let (sa, sb) = (validate::sorted(a), validate::sorted(b));
    let w = wpp_sorted_uniform(&sa, &sb, p).powf(1.0 / p);
    if w.is_finite() {
        return Ok(w);
    }
    let s = max_abs(&sa, &sb);
    let (ra, rb) = (rescaled(&sa, s), rescaled(&sb, s));
    Ok(unscale(wpp_sorted_uniform(&ra, &rb, p).powf(1.0 / p), s))
}

/// max |x| over both samples.
fn max_abs(a: &[f64], b: &[f64]) -> f64 {
    a.iter().chain(b).fold(0.0f64, |m, x| m.max(x.abs()))
}

/// `xs` / (2 s): every difference of two rescaled atoms is at most 1 in magnitude, so
/// |Δ|^p neither overflows nor turns the compensated sum into ∞ − ∞ = NaN. Used only
/// when the direct computation is not finite (atoms near ±f64::MAX or a large p; found
/// by the fuzz target `diagnostics`), so ordinary results keep their bits.
fn rescaled(xs: &[f64], s: f64) -> Vec<f64> {
    xs.iter().map(|x| x / 2.0 / s).collect()
}

/// W of the rescaled atoms back in the original units: 2 s · w (+∞ only when the true
/// distance exceeds f64::MAX).
fn unscale(w: f64, s: f64) -> f64 {
    2.0 * (w * s)
}

/// Exact W_1(μ_a, ν_b) = ∫_0^1 |F_a^{-1}(t) − F_b^{-1}(t)| dt between two unweighted
/// 1-D samples (sizes may differ).
pub fn w1_1d(a: &[f64], b: &[f64]) -> Result<f64> {
    wp_1d(a, b, 1.0)
}

/// Exact W_2(μ_a, ν_b) = (∫_0^1 |F_a^{-1}(t) − F_b^{-1}(t)|² dt)^{1/2} (the distance, not
/// its square) between two unweighted 1-D samples (sizes may differ).
pub fn w2_1d(a: &[f64], b: &[f64]) -> Result<f64> {
    wp_1d(a, b, 2.0)
}

/// Exact W_p between the weighted 1-D empirical measures Σ_i α_i δ_{a_i} / Σ α and
/// Σ_j β_j δ_{b_j} / Σ β. Weights must be finite, non-negative, with a positive total
/// (they need not be normalised).
pub fn wp_1d_weighted(a: &[f64], wa: &[f64], b: &[f64], wb: &[f64], p: f64) -> Result<f64> {
    check_p(p)?;
    validate::finite_nonempty("first sample", a)?;
    validate::finite_nonempty("second sample", b)?;
    validate::same_len("first weights", a.len(), wa.len())?;
    validate::same_len("second weights", b.len(), wb.len())?;
    let ta = validate::weights("first weights", wa)?;
    let tb = validate::weights("second weights", wb)?;
    let (sa, sb) = (sorted_atoms(a, wa, ta), sorted_atoms(b, wb, tb));
    let w = wpp_sorted_weighted(&sa, &sb, p).powf(1.0 / p);
    if w.is_finite() {
        return Ok(w);
    }
    // As in `wp_1d`: rescale the positions when the direct sum overflowed.
    let s = max_abs(a, b);
    let scale = |atoms: &[(f64, f64)]| -> Vec<(f64, f64)> {
        atoms.iter().map(|&(x, m)| (x / 2.0 / s, m)).collect()
    };
    Ok(unscale(
        wpp_sorted_weighted(&scale(&sa), &scale(&sb), p).powf(1.0 / p),
        s,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn shift_gives_abs_shift() {
        let a = [0.3, -1.2, 4.0, 2.5, 0.0];
        let b: Vec<f64> = a.iter().map(|x| x - 1.75).collect();
        assert!(close(w1_1d(&a, &b).unwrap(), 1.75));
        assert!(close(w2_1d(&a, &b).unwrap(), 1.75));
        assert!(close(wp_1d(&a, &b, 3.0).unwrap(), 1.75));
    }

    #[test]
    fn identical_up_to_order_is_zero() {
        assert_eq!(w2_1d(&[3.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).unwrap(), 0.0);
    }

    #[test]
    fn two_point_distributions() {
        // μ = ½δ_0 + ½δ_1, ν = δ_0: W1 = ½, W2 = sqrt(½).
        assert!(close(w1_1d(&[0.0, 1.0], &[0.0]).unwrap(), 0.5));
        assert!(close(w2_1d(&[0.0, 1.0], &[0.0]).unwrap(), 0.5f64.sqrt()));
        // μ = ½δ_0 + ½δ_2, ν = δ_1: every unit of mass moves by 1.
        assert!(close(w1_1d(&[0.0, 2.0], &[1.0]).unwrap(), 1.0));
        assert!(close(w2_1d(&[0.0, 2.0], &[1.0]).unwrap(), 1.0));
    }

    #[test]
    fn different_sizes_merged_breakpoints() {
        // a = {0, 1, 2} (cells of 1/3), b = {0, 2} (cells of 1/2).
        // Merged cells: [0,1/3]: 0↔0; [1/3,1/2]: 1↔0; [1/2,2/3]: 1↔2; [2/3,1]: 2↔2.
        // W1 = 1/6 + 1/6 = 1/3, W2² = 1/6 + 1/6 = 1/3.
        assert!(close(
            w1_1d(&[0.0, 1.0, 2.0], &[0.0, 2.0]).unwrap(),
            1.0 / 3.0
        ));
        assert!(close(
            w2_1d(&[2.0, 0.0, 1.0], &[2.0, 0.0]).unwrap(),
            (1.0f64 / 3.0).sqrt()
        ));
    }

    #[test]
    fn weighted_matches_unweighted_and_hand_case() {
        let a = [0.5, -1.0, 2.0, 7.0];
        let b = [1.0, 3.0, -2.0];
        let u = w2_1d(&a, &b).unwrap();
        let w = wp_1d_weighted(&a, &[2.0; 4], &b, &[0.1; 3], 2.0).unwrap();
        assert!(close(u, w));
        // ¼δ_0 + ¾δ_1 vs δ_0: W1 = ¾.
        assert!(close(
            wp_1d_weighted(&[0.0, 1.0], &[1.0, 3.0], &[0.0], &[1.0], 1.0).unwrap(),
            0.75
        ));
        // Zero-weight atoms are ignored.
        let z = wp_1d_weighted(&[0.0, 100.0], &[1.0, 0.0], &[0.0], &[1.0], 2.0).unwrap();
        assert_eq!(z, 0.0);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            w2_1d(&[], &[1.0]),
            Err(DiagnosticsError::Empty { .. })
        ));
        assert!(matches!(
            w1_1d(&[1.0], &[]),
            Err(DiagnosticsError::Empty { .. })
        ));
        assert!(matches!(
            w2_1d(&[f64::NAN], &[1.0]),
            Err(DiagnosticsError::NonFinite { .. })
        ));
        assert!(matches!(
            wp_1d(&[1.0], &[1.0], 0.5),
            Err(DiagnosticsError::InvalidParameter { .. })
        ));
        assert!(wp_1d(&[1.0], &[1.0], f64::NAN).is_err());
        assert!(matches!(
            wp_1d_weighted(&[1.0], &[1.0, 2.0], &[1.0], &[1.0], 2.0),
            Err(DiagnosticsError::DimensionMismatch { .. })
        ));
        assert!(wp_1d_weighted(&[1.0], &[-1.0], &[1.0], &[1.0], 2.0).is_err());
        assert!(wp_1d_weighted(&[1.0], &[0.0], &[1.0], &[1.0], 2.0).is_err());
        assert!(wp_1d_weighted(&[1.0], &[1.0], &[1.0], &[f64::INFINITY], 2.0).is_err());
    }
}
