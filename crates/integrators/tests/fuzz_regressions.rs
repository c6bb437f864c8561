//! Deterministic replays of the inputs the fuzz targets (`crates/fuzz-targets`, run by
//! cargo-fuzz in `fuzz/` and by the stable replay in CI) found, each a silent NaN or a
//! panic before its fix.

use meanfield_energy::{TestFunction, TestKind};
use meanfield_integrators::cbo::{consensus, effective_sample_size};
use meanfield_integrators::{Cbo, CboParams, CboState, Checkpoint, Dynamics};

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

/// `cbo_consensus` (stable mutation replay, `crates/fuzz-targets/tests/replay.rs`): finite
/// coordinates near ±f64::MAX made Σ w̃_i X^i overflow, so v_α was +∞ or NaN (∞ − ∞ in
/// the compensated block sum) although a weighted mean of finite points is finite. Now
/// such coordinates are recomputed as M · Σ w̃ (X / M) / Σ w̃ with M = max |X|.
#[test]
fn consensus_of_huge_finite_coordinates_is_finite_and_inside_their_hull() {
    let m = f64::MAX;
    // The fuzzer's case: one coordinate at f64::MAX, one at 2e293, equal weights.
    let xs = [1.7e-227, m, 2.0e293, -1.2e51];
    let (v, stats) = consensus(&xs, 1, &[0.0; 4], 1.0).unwrap();
    let expected = m / 4.0 + 2.0e293 / 4.0;
    assert!(
        (v[0] - expected).abs() <= 1e-15 * expected,
        "v = {v:?}, expected {expected:e}"
    );
    assert_eq!(stats.ess, 4.0);

    // Opposite signs, each partial sum overflowing: the mean is M/3, not NaN.
    let (v, _) = consensus(&[m, m, -m], 1, &[0.0; 3], 1.0).unwrap();
    assert!((v[0] - m / 3.0).abs() <= 1e-15 * m, "v = {v:?}");
    // All at f64::MAX: the mean is f64::MAX exactly (the clamp), in every coordinate
    // that overflowed; a coordinate that did not is untouched.
    let (v, _) = consensus(&[m, 1.0, m, 3.0], 2, &[0.0, 0.0], 0.5).unwrap();
    assert_eq!(v, [m, 2.0]);
    // A particle without weight does not set the scale.
    let (v, _) = consensus(&[m, m, -m, 5.0], 1, &[0.0, 0.0, 0.0, 1e300], 1.0).unwrap();
    assert!((v[0] - m / 3.0).abs() <= 1e-15 * m, "v = {v:?}");
}

/// `checkpoint` (stable mutation replay): a CBO checkpoint whose evaluation counter is
/// u64::MAX panicked on resume ("attempt to add with overflow" in the step's
/// `evaluations += N`). The counter now saturates.
#[test]
fn a_checkpointed_evaluation_count_at_u64_max_saturates_on_resume() {
    let json = r#"{"format": 1, "fingerprint": "fuzz", "seed": 42, "step": 0, "time": 0.0,
        "state": {"ensemble": {"n": 3, "d": 2, "data": [0.5, -1.0, 2.0, 0.25, 0.001, 3.0],
        "weights": null, "domain": "Euclidean"}, "alpha": 30.0, "consensus": [],
        "consensus_change": "inf", "best_x": [], "best_f": "inf", "f_min": "inf",
        "evaluations": 18446744073709551615}}"#;
    let mut cp: Checkpoint<CboState> = Checkpoint::from_json(json).unwrap();
    let f = TestFunction::new(TestKind::Rastrigin, 2).unwrap();
    let mut cbo = Cbo::new(f, CboParams::new(1.0, 0.5, 0.01).unwrap()).unwrap();
    cp.fingerprint = cbo.fingerprint();
    cbo.runner(2).run(&mut cbo, &mut cp).unwrap();
    assert_eq!(cp.step, 2);
    assert_eq!(cp.state.evaluations, u64::MAX);
}
