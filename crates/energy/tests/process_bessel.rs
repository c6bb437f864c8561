//! ln I_q(z) (process::bessel) against 40-digit mpmath values, a direct power series and
//! the large-z asymptote e^z/√(2πz).

use meanfield_energy::process::{log_bessel_i, log_bessel_i_scaled};

/// (q, z, ln I_q(z)) from mpmath 1.3.0 at 40 significant digits
/// (`mpmath.log(mpmath.besseli(q, z))`).
#[allow(clippy::excessive_precision)] // reference digits as printed by mpmath
const MPMATH: &[(f64, f64, f64)] = &[
    (0.0, 1e-3, 2.49999984375001736e-7),
    (0.0, 0.5, 0.0615497191854813039),
    (0.0, 1.0, 0.235914358507178649),
    (0.0, 5.0, 3.30468177582253343),
    (0.0, 19.9, 17.492149818621352),
    (0.0, 20.1, 17.6870838767889797),
    (0.0, 50.0, 47.1275755018718046),
    (0.0, 700.0, 695.805699998443449),
    (0.0, 1e4, 9994.4759037814323),
    (1.0, 1e-3, -7.60090233454208497),
    (1.0, 0.5, -1.35520544702533446),
    (1.0, 1.0, -0.570647987490831281),
    (1.0, 5.0, 3.19194203054567546),
    (1.0, 19.9, 17.4663616085876014),
    (1.0, 20.1, 17.6615591218523865),
    (1.0, 50.0, 47.1174736165871265),
    (1.0, 700.0, 695.804985201855652),
    (1.0, 1e4, 9994.47585377893207),
    (0.5, 1e-3, -3.67966882546913485),
    (0.5, 0.5, -0.531040088311781978),
    (0.5, 1.0, -0.0643519910735317988),
    (0.5, 5.0, 3.27629710961790658),
    (0.5, 19.9, 17.4857016009301039),
    (0.5, 20.1, 17.6807015592628122),
    (0.5, 50.0, 47.1250499640812542),
    (0.5, 700.0, 695.805521299273625),
    (0.5, 1e4, 9994.47589128080724),
    (2.5, 1e-3, -20.2032296797737093),
    (2.5, 0.5, -4.64888764056874379),
    (2.5, 1.0, -2.86297026577675364),
    (2.5, 5.0, 2.62226586289667493),
    (2.5, 19.9, 17.3311762812683566),
    (2.5, 20.1, 17.5277506247882117),
    (2.5, 50.0, 47.0644503419523246),
    (2.5, 700.0, 695.801232523772824),
    (2.5, 1e4, 9994.47559126580724),
    (7.3, 1e-3, -64.6223547957133138),
    (7.3, 0.5, -19.2481886324350644),
    (7.3, 1.0, -14.1656693946462908),
    (7.3, 5.0, -1.72167794749291587),
    (7.3, 19.9, 16.1344165237797947),
    (7.3, 20.1, 16.3428899915855046),
    (7.3, 50.0, 46.5902271522495962),
    (7.3, 700.0, 695.767608828225357),
    (7.3, 1e4, 9994.47323914831123),
];

/// Error budget of ln I: 1e-13 (relative accuracy of I) plus the rounding of |ln I|.
fn tol(v: f64) -> f64 {
    1e-13 + 4.0 * f64::EPSILON * v.abs()
}

#[test]
fn matches_mpmath_reference_values() {
    for &(q, z, want) in MPMATH {
        let got = log_bessel_i(q, z).unwrap();
        assert!(
            (got - want).abs() <= tol(want),
            "ln I_{q}({z}) = {got}, mpmath {want}, diff {:e}",
            got - want
        );
        let scaled = log_bessel_i_scaled(q, z).unwrap();
        assert!(
            (scaled + z - want).abs() <= tol(want),
            "scaled q = {q}, z = {z}"
        );
    }
}

#[test]
fn known_values_of_i0_and_i1_at_one() {
    let i0 = log_bessel_i(0.0, 1.0).unwrap().exp();
    let i1 = log_bessel_i(1.0, 1.0).unwrap().exp();
    assert!(
        (i0 - 1.2660658777520082).abs() < 2e-16 * 1.27 * 4.0,
        "I_0(1) = {i0}"
    );
    assert!(
        (i1 - 0.5651591039924851).abs() < 2e-16 * 4.0,
        "I_1(1) = {i1}"
    );
}

/// I_q(z) = Σ_k (z/2)^{2k+q} / (k! Γ(k+q+1)), summed term by term with powers and
/// factorials computed directly (integer q, z ≤ 30, no overflow in f64).
fn direct_series(q: u32, z: f64) -> f64 {
    let mut total = 0.0;
    // 80 terms: for z ≤ 30 the last is below 1e-45 of the sum, and nothing overflows.
    for k in 0..80u32 {
        let mut denom = 1.0;
        for j in 1..=k {
            denom *= j as f64;
        }
        for j in 1..=(k + q) {
            denom *= j as f64;
        }
        total += (z / 2.0).powi((2 * k + q) as i32) / denom;
    }
    total
}

#[test]
fn matches_direct_power_series_at_moderate_z() {
    for q in [0u32, 1, 2, 3] {
        for &z in &[0.01, 0.3, 1.0, 2.5, 7.0, 12.0, 19.0, 21.0, 25.0, 30.0] {
            let want = direct_series(q, z);
            let got = log_bessel_i(q as f64, z).unwrap().exp();
            assert!(
                ((got - want) / want).abs() < 1e-13,
                "I_{q}({z}): {got} vs direct {want}"
            );
        }
    }
}

#[test]
fn large_z_approaches_exp_over_sqrt_2piz() {
    // I_q(z) e^{−z} √(2πz) = 1 − (4q² − 1)/(8z) + O(z^{−2}).
    for &q in &[0.0, 1.0, 2.5] {
        for &z in &[1e3, 1e5, 1e8] {
            let r = (log_bessel_i_scaled(q, z).unwrap()
                + 0.5 * (2.0 * std::f64::consts::PI * z).ln())
            .exp();
            let first = 1.0 - (4.0 * q * q - 1.0) / (8.0 * z);
            assert!(
                (r - first).abs() < 2.0 * (4.0 * q * q + 9.0).powi(2) / (64.0 * z * z) + 1e-14,
                "q = {q}, z = {z}: {r} vs {first}"
            );
        }
    }
}

#[test]
fn continuous_across_method_switch() {
    for &q in &[0.0, 1.0, 2.5] {
        let below = log_bessel_i(q, 20.0 - 1e-9).unwrap();
        let above = log_bessel_i(q, 20.0).unwrap();
        // d/dz ln I_q ≈ 1 at z = 20: the difference is the step plus rounding.
        assert!(
            (above - below - 1e-9 * 0.975).abs() < 2e-14 + 1e-10,
            "q = {q}"
        );
    }
}
