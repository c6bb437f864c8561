//! `simd::exp` and `simd::sigmoid_in_place` against the C library (`f64::exp`, glibc's
//! correctly rounded exp), in ulps,
//! over the whole double range, and the same bits vectorised and scalar.

use meanfield_measures::simd;

/// Distance in units in the last place between two finite doubles of one sign (or
/// zeros), via their ordered bit patterns.
fn ulps(a: f64, b: f64) -> u64 {
    let key = |x: f64| {
        let b = x.to_bits() as i64;
        if b < 0 { i64::MIN - b } else { b }
    };
    key(a).abs_diff(key(b))
}

/// A deterministic spread of points over [lo, hi] (a Weyl sequence: no two runs differ).
fn points(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let g = 0.618_033_988_749_894_9_f64;
    (0..n)
        .map(|i| lo + (hi - lo) * ((i as f64 * g).fract()))
        .collect()
}

#[test]
fn exp_is_within_one_ulp_of_the_c_library_over_the_double_range() {
    let mut worst = 0u64;
    for (lo, hi, n) in [
        (-1.0, 1.0, 200_000),
        (-40.0, 40.0, 200_000),
        (-708.0, 709.7, 200_000),
        // Subnormal results: e^x for x ∈ (−745, −708) has fewer than 53 bits; the
        // C library rounds once, so do we.
        (-745.1, -708.4, 50_000),
    ] {
        for x in points(lo, hi, n) {
            let (ours, libm) = (simd::exp(x), x.exp());
            let u = ulps(ours, libm);
            assert!(u <= 1, "exp({x:e}) = {ours:e}, libm {libm:e}: {u} ulp");
            worst = worst.max(u);
        }
    }
    // The test can fail: a polynomial one degree shorter is off by more than 1 ulp.
    assert!(worst >= 1, "suspiciously exact: {worst}");
    eprintln!("worst error {worst} ulp");
}

#[test]
fn exp_special_values() {
    assert_eq!(simd::exp(0.0), 1.0);
    assert_eq!(simd::exp(-0.0), 1.0);
    assert_eq!(simd::exp(f64::INFINITY), f64::INFINITY);
    assert_eq!(simd::exp(710.0), f64::INFINITY);
    assert_eq!(simd::exp(709.78), 709.78f64.exp());
    assert_eq!(simd::exp(f64::NEG_INFINITY), 0.0);
    assert_eq!(simd::exp(-746.0), 0.0);
    assert!(simd::exp(f64::NAN).is_nan());
    assert!(ulps(simd::exp(1.0), std::f64::consts::E) <= 1);
    // The smallest subnormal: e^x for x = ln(2^-1074).
    assert_eq!(simd::exp(-744.44), (-744.44f64).exp());
}

#[test]
fn vectorised_and_scalar_evaluations_give_the_same_bits() {
    let xs = points(-750.0, 720.0, 10_001);
    let mut v = xs.clone();
    simd::exp_in_place(&mut v);
    for (x, y) in xs.iter().zip(&v) {
        assert_eq!(simd::exp(*x).to_bits(), y.to_bits(), "x = {x:e}");
    }
    let mut s = xs.clone();
    simd::sigmoid_in_place(&mut s);
    for (x, y) in xs.iter().zip(&s) {
        let scalar = 1.0 / (1.0 + simd::exp(-x));
        assert_eq!(scalar.to_bits(), y.to_bits(), "x = {x:e}");
        let reference = 1.0 / (1.0 + (-x).exp());
        assert!(
            (y - reference).abs() <= 4.0 * f64::EPSILON * reference,
            "σ({x:e})"
        );
    }
}

#[test]
fn ln_is_within_one_ulp_of_the_c_library_for_every_positive_double() {
    let mut worst = 0u64;
    // Points spread over the exponent range (log-uniform), around 1 (the cancellation
    // region of the reduction), and subnormals.
    let exponents = points(-1074.0, 1023.99, 400_000);
    let near_one = points(0.5, 2.0, 200_000);
    let subnormal = points(5e-324, 2.2e-308, 50_000);
    for x in exponents
        .iter()
        .map(|e| e.exp2())
        .chain(near_one)
        .chain(subnormal)
        .chain([
            f64::MIN_POSITIVE,
            f64::MAX,
            1.0,
            std::f64::consts::SQRT_2,
            0.5f64.sqrt(),
        ])
    {
        let (ours, libm) = (simd::ln(x), x.ln());
        let u = ulps(ours, libm);
        assert!(u <= 1, "ln({x:e}) = {ours:e}, libm {libm:e}: {u} ulp");
        worst = worst.max(u);
    }
    assert!(worst >= 1, "suspiciously exact: {worst}");
    eprintln!("ln: worst error {worst} ulp");
}

#[test]
fn ln_special_values_and_vectorised_bits() {
    assert_eq!(simd::ln(1.0), 0.0);
    assert_eq!(simd::ln(0.0), f64::NEG_INFINITY);
    assert_eq!(simd::ln(-0.0), f64::NEG_INFINITY);
    assert_eq!(simd::ln(f64::INFINITY), f64::INFINITY);
    assert!(simd::ln(-1.0).is_nan());
    assert!(simd::ln(f64::NEG_INFINITY).is_nan());
    assert!(simd::ln(f64::NAN).is_nan());
    assert!(ulps(simd::ln(std::f64::consts::E), 1.0) <= 1);
    let xs: Vec<f64> = points(-1080.0, 1030.0, 10_001)
        .iter()
        .map(|e| e.exp2())
        .chain([0.0, -1.0, f64::NAN])
        .collect();
    let mut ys = vec![0.0; xs.len()];
    simd::ln_into(&xs, &mut ys);
    for (x, y) in xs.iter().zip(&ys) {
        assert_eq!(simd::ln(*x).to_bits(), y.to_bits(), "x = {x:e}");
    }
}
