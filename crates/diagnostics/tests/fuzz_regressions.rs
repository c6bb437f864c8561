//! Deterministic replays of the inputs the cargo-fuzz targets (`fuzz/`) found, each a
//! silent NaN (or a spurious ∞) before its fix.

use meanfield_diagnostics::{wp_1d, wp_1d_weighted};

/// `diagnostics`: atoms near ±f64::MAX made |a − b|^p overflow and the compensated sum
/// ∞ − ∞ = NaN; atoms at ±1e200 gave W₂ = ∞ although W₂ = 2e200. The sums are now
/// rescaled when the direct computation is not finite.
#[test]
fn wasserstein_of_huge_atoms_is_not_nan() {
    assert_eq!(wp_1d(&[1e200], &[-1e200], 2.0).unwrap(), 2e200);
    let w = wp_1d(&[1e200, 0.0], &[-1e200, 0.0], 3.0).unwrap();
    assert!((w / 1e200 - 1.0).abs() < 1e-15, "{w}");
    let w = wp_1d(&[1e308, 1.0], &[-1e308, 2.0], 1.5).unwrap();
    assert!((w / 1e308 - 1.0).abs() < 1e-15, "{w}");
    let w = wp_1d(&[f64::MAX], &[-f64::MAX], 1.0).unwrap();
    assert_eq!(w, f64::INFINITY, "the true distance exceeds f64::MAX");
    let w = wp_1d_weighted(&[1e200], &[1.0], &[-1e200], &[2.0], 2.0).unwrap();
    assert_eq!(w, 2e200);
    // Ordinary inputs keep their bits (no rescaling).
    assert_eq!(
        wp_1d(&[0.0, 1.0], &[0.5, 2.0], 2.0).unwrap(),
        0.625f64.sqrt()
    );
}
