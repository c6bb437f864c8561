//! Deterministic replays of the inputs the cargo-fuzz targets (`fuzz/`) found, each a
//! silent NaN before its fix.

use meanfield_integrators::cbo::{consensus, effective_sample_size};

/// `cbo_consensus`: at α = 0 a particle with f = +∞ got weight exp(−0 · ∞) = NaN, so the
/// consensus and the ESS were NaN. Now +∞ has weight 0 and every finite value weight 1.
#[test]
fn alpha_zero_with_infinite_objective_values_gives_the_mean_of_the_finite_ones() {
    let xs = [1.0, 2.0, 3.0];
    let f = [f64::INFINITY, 1.0, f64::INFINITY];
    let (v, stats) = consensus(&xs, 1, &f, 0.0).unwrap();
    assert_eq!(v, [2.0]);
    assert_eq!((stats.f_min, stats.argmin, stats.ess), (1.0, 1, 1.0));
    assert_eq!(effective_sample_size(&f, 0.0).unwrap(), 1.0);

    // f − f_min overflowing to +∞ at α = 0: both particles keep weight 1.
    let (v, stats) = consensus(&[0.0, 4.0], 1, &[1e308, -1e308], 0.0).unwrap();
    assert_eq!(v, [2.0]);
    assert_eq!(stats.ess, 2.0);
    // … and at α > 0 the far particle has weight 0.
    let (v, stats) = consensus(&[0.0, 4.0], 1, &[1e308, -1e308], 1.0).unwrap();
    assert_eq!((v[0], stats.ess), (4.0, 1.0));
}
