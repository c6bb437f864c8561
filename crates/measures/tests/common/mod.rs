//! Helpers shared by the integration tests of `meanfield-measures`.

#![allow(dead_code)] // each test binary uses a different subset

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

/// Proptest configuration: `cases` cases, failures persisted next to the test source
/// (`tests/<name>.regressions`) so that a shrunk counter-example can be committed.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

/// Positive numbers spread over `10^lo ..= 10^hi` (log-uniform).
pub fn log_uniform(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    (lo..=hi).prop_map(|e| 10f64.powf(e))
}

/// Signed values of magnitude up to `max`: a mix of uniform and log-uniform draws (so
/// that tiny, moderate and extreme magnitudes all occur), plus exact zero.
pub fn signed_up_to(max: f64) -> impl Strategy<Value = f64> {
    let top = max.log10();
    prop_oneof![
        4 => -max..=max,
        4 => (any::<bool>(), log_uniform(top - 12.0, top)).prop_map(|(neg, v)| if neg { -v } else { v }),
        1 => Just(0.0),
        1 => Just(max),
        1 => Just(-max),
    ]
}

/// A point of the open simplex of dimension `d` with every coordinate ≥ 1e-6: positive
/// numbers in [1e-5, 1] (log-uniform), normalised by their sum (≤ d ≤ 10).
pub fn simplex_point(d: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(log_uniform(-5.0, 0.0), d).prop_map(|v| {
        let s: f64 = v.iter().sum();
        v.into_iter().map(|x| x / s).collect()
    })
}

/// Fraction t ∈ [1e-9, 1 − 1e-9] of a box width: uniform, or log-close to either face.
pub fn interior_fraction() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => 1e-9..=1.0 - 1e-9,
        1 => log_uniform(-9.0, -1.0),
        1 => log_uniform(-9.0, -1.0).prop_map(|e| 1.0 - e),
    ]
}

/// Box coordinates `(lower, width)` with lower ∈ [−5, 5], width ∈ [1e-2, 10].
pub fn box_side() -> impl Strategy<Value = (f64, f64)> {
    (-5.0..=5.0, log_uniform(-2.0, 1.0))
}

/// Compensation-free sum (what a user would check).
pub fn sum(x: &[f64]) -> f64 {
    x.iter().sum()
}
