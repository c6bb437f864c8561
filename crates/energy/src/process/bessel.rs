//! Logarithm of the modified Bessel function of the first kind, ln I_q(z), for real
//! order q ≥ 0 and z ≥ 0, without overflow for large z (the CIR transition density needs
//! ln I_q(2√(uv)) with arguments in the thousands during MGDM).
//!
//! Two evaluations, both of the exponentially scaled function I_q(z) e^{−z}:
//!
//! * **power series** (all z; used for z < [`ASYMPTOTIC_MIN_Z`] or when the asymptotic
//!   series does not converge to machine precision, i.e. q² ≳ 2z):
//!   I_q(z) = (z/2)^q / Γ(q+1) · Σ_k t_k, t_0 = 1, t_k = t_{k−1} (z²/4) / (k (k+q)).
//!   All terms are positive, so the sum has no cancellation; it is rescaled by 10^{−250}
//!   whenever it exceeds 10^{250} so no intermediate overflows.
//! * **large-z asymptotic expansion** (z ≥ [`ASYMPTOTIC_MIN_Z`]):
//!   I_q(z) e^{−z} = (2πz)^{−1/2} Σ_k (−1)^k a_k(q) / z^k,
//!   a_k(q) = Π_{j=1..k} (4q² − (2j−1)²) / (k! 8^k),
//!   summed until a term is below 10^{−17} of the sum; the neglected e^{−2z}-relative
//!   second exponential is below 10^{−17} for z ≥ 20.
//!
//! Accuracy (tested against 40-digit mpmath values in `tests/process_bessel.rs`):
//! |error of ln I_q(z)| ≤ 1e-13 + 4ε|ln I_q(z)| for q ≤ 8 and 0 < z ≤ 10⁴.

use statrs::function::gamma::ln_gamma;

use crate::error::{EnergyError, Result, check_param};

/// Smallest z at which the asymptotic expansion is tried (its truncation error there is
/// below 10^{−17} relative for moderate q).
pub const ASYMPTOTIC_MIN_Z: f64 = 20.0;

/// ln Γ(q + 1): exact product for integer q ≤ 170 (one rounding), statrs' Lanczos
/// approximation otherwise.
pub(crate) fn ln_gamma_q_plus_1(q: f64) -> f64 {
    if q.fract() == 0.0 && q <= 170.0 {
        let mut f = 1.0_f64;
        let mut k = 2.0;
        while k <= q {
            f *= k;
            k += 1.0;
        }
        f.ln()
    } else {
        ln_gamma(q + 1.0)
    }
}

fn check_args(q: f64, z: f64) -> Result<()> {
    check_param("Bessel order q", q, false)?;
    check_param("Bessel argument z", z, false)?;
    if q < 0.0 {
        return Err(EnergyError::InvalidParameter {
            name: "Bessel order q",
            value: q,
            reason: "must be ≥ 0",
        });
    }
    if z < 0.0 {
        return Err(EnergyError::InvalidParameter {
            name: "Bessel argument z",
            value: z,
            reason: "must be ≥ 0",
        });
    }
    Ok(())
}

/// ln I_q(z) for real order q ≥ 0 and z ≥ 0; ln I_0(0) = 0, ln I_q(0) = −∞ for q > 0.
///
/// Errors: non-finite or negative q or z ([`EnergyError::InvalidParameter`]).
pub fn log_bessel_i(q: f64, z: f64) -> Result<f64> {
    check_args(q, z)?;
    Ok(log_i_scaled_unchecked(q, z) + z)
}

/// ln(I_q(z) e^{−z}), the logarithm of the exponentially scaled Bessel function, for
/// real q ≥ 0 and z ≥ 0 (no overflow and no cancellation with z for large z).
///
/// Errors: non-finite or negative q or z ([`EnergyError::InvalidParameter`]).
pub fn log_bessel_i_scaled(q: f64, z: f64) -> Result<f64> {
    check_args(q, z)?;
    Ok(log_i_scaled_unchecked(q, z))
}

/// ln(I_q(z) e^{−z}) for already validated q ≥ 0, z ≥ 0.
pub(crate) fn log_i_scaled_unchecked(q: f64, z: f64) -> f64 {
    if z == 0.0 {
        return if q == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if z >= ASYMPTOTIC_MIN_Z
        && let Some(v) = log_i_scaled_asymptotic(q, z)
    {
        return v;
    }
    log_i_scaled_series(q, z)
}

/// Power series of ln(I_q(z) e^{−z}) (valid for every z > 0; cost grows like z/2 terms).
pub(crate) fn log_i_scaled_series(q: f64, z: f64) -> f64 {
    q * (0.5 * z).ln() - ln_gamma_q_plus_1(q) + ln_series_sum(q, 0.25 * z * z, &[]) - z
}

/// The reciprocals 1/(k(k+q)), k = 1..=n, of the series ratios (a table lets a caller
/// with a fixed order, e.g. a CIR process, sum the series without divisions).
pub(crate) fn series_reciprocals(q: f64, n: usize) -> Vec<f64> {
    (1..=n)
        .map(|k| {
            let k = k as f64;
            1.0 / (k * (k + q))
        })
        .collect()
}

/// ln Σ_k t_k, t_0 = 1, t_k = t_{k−1} y / (k(k+q)) — so that
/// I_q(z) = (z/2)^q / Γ(q+1) · Σ_k t_k with y = z²/4. `recip` optionally holds
/// 1/(k(k+q)) for the first terms ([`series_reciprocals`]); later ones are divided.
/// All terms are positive (no cancellation); the sum is rescaled by 10^{−250} whenever it
/// exceeds 10^{250}, so nothing overflows.
pub(crate) fn ln_series_sum(q: f64, y: f64, recip: &[f64]) -> f64 {
    const BIG: f64 = 1e250;
    if y == 0.0 {
        return 0.0;
    }
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    let mut log_scale = 0.0_f64;
    let mut k = 1usize;
    loop {
        let ratio = match recip.get(k - 1) {
            Some(r) => y * r,
            None => {
                let kf = k as f64;
                y / (kf * (kf + q))
            }
        };
        term *= ratio;
        sum += term;
        if sum > BIG {
            sum /= BIG;
            term /= BIG;
            log_scale += BIG.ln();
        }
        // Past the peak (ratio < 1/2) the remaining tail is below term·ratio/(1 − ratio)
        // ≤ term.
        if ratio < 0.5 && term < 1e-17 * sum {
            break;
        }
        k += 1;
    }
    sum.ln() + log_scale
}

/// Large-z asymptotic series of ln(I_q(z) e^{−z}); `None` when its terms stop decreasing
/// before reaching 10^{−17} of the sum (q too large for this z).
pub(crate) fn log_i_scaled_asymptotic(q: f64, z: f64) -> Option<f64> {
    let mu = 4.0 * q * q;
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    let mut k = 1.0_f64;
    loop {
        let odd = 2.0 * k - 1.0;
        let next = -term * (mu - odd * odd) / (8.0 * k * z);
        if next == 0.0 {
            break;
        }
        if next.abs() >= term.abs() {
            return None;
        }
        sum += next;
        term = next;
        if term.abs() < 1e-17 * sum.abs() {
            break;
        }
        k += 1.0;
        if k > 200.0 {
            return None;
        }
    }
    if sum <= 0.0 {
        return None;
    }
    Some(sum.ln() - 0.5 * (2.0 * std::f64::consts::PI * z).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_and_asymptotic_agree_where_both_apply() {
        for &q in &[0.0, 0.5, 1.0, 2.0, 3.7] {
            let mut z = 20.0;
            while z < 400.0 {
                let a = log_i_scaled_asymptotic(q, z).expect("converges for small q");
                let s = log_i_scaled_series(q, z);
                // The series' rounding grows with its ~z/2 terms: allow 2e-16 per unit z.
                assert!(
                    (a - s).abs() < 2e-14 + 2e-16 * z,
                    "q = {q}, z = {z}: asymptotic {a} vs series {s}"
                );
                z *= 1.37;
            }
        }
    }

    #[test]
    #[allow(clippy::excessive_precision)] // reference digits as printed by mpmath
    fn asymptotic_refuses_large_order() {
        assert!(log_i_scaled_asymptotic(30.0, 20.0).is_none());
        // The fallback series gives the value (reference: mpmath, 40 digits), also where
        // the series sum exceeds f64 range and must be rescaled (z = 10⁴).
        for (q, z, want) in [
            (30.0, 20.0, -2.49942193875822391),
            (100.0, 5000.0, 4993.8224232012542773),
            (1000.0, 1e4, 9944.5149581530769935),
        ] {
            let got = log_bessel_i(q, z).unwrap();
            assert!(
                (got - want).abs() < 1e-10 * want.abs().max(1.0),
                "q = {q}, z = {z}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(log_bessel_i(-0.5, 1.0).is_err());
        assert!(log_bessel_i(0.0, -1.0).is_err());
        assert!(log_bessel_i(f64::NAN, 1.0).is_err());
        assert!(log_bessel_i(0.0, f64::INFINITY).is_err());
        assert_eq!(log_bessel_i(0.0, 0.0).unwrap(), 0.0);
        assert_eq!(log_bessel_i(1.0, 0.0).unwrap(), f64::NEG_INFINITY);
    }
}
