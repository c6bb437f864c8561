//! Weight construction and updates with arbitrary f64s (NaN, ±∞, negative, mismatched
//! lengths included) never panic: each call either succeeds with W ≥ 0, |Σ W − 1| ≤
//! 1e-12 and ESS ∈ [1, N], or returns an error and leaves the weights unchanged.
//!
//! Layout: byte 0 = N − 1, then N f64s of initial unnormalised weights, then operations
//! (one control byte: kind and length offset, then the factors) until the input ends.

use crate::{Input, sum};
use meanfield::measures::Weights;

fn check(w: &Weights) {
    let s = w.as_slice();
    assert!(
        s.iter().all(|v| v.is_finite() && *v >= 0.0),
        "invalid weight: {s:?}"
    );
    assert!(
        (sum(s) - 1.0).abs() <= 1e-12,
        "Σ W − 1 = {:e}: {s:?}",
        sum(s) - 1.0
    );
    let ess = w.ess();
    assert!(
        (1.0..=s.len() as f64).contains(&ess),
        "ESS = {ess} for N = {}",
        s.len()
    );
}

fn run(input: &mut Input<'_>) -> Option<()> {
    let n = usize::from(input.byte()? % 64) + 1;
    let init: Vec<f64> = (0..n).map(|_| input.f64()).collect::<Option<_>>()?;
    let mut w = match Weights::from_unnormalised(init.clone()) {
        Ok(w) => w,
        Err(_) => {
            // Rejected: then some entry is negative / non-finite, or the total is not a
            // positive finite number.
            let bad = init.iter().any(|v| !(v.is_finite() && *v >= 0.0));
            let total: f64 = if bad { 0.0 } else { init.iter().sum() };
            assert!(
                bad || !(total > 0.0 && total < f64::MAX / 2.0),
                "rejected {init:?}"
            );
            Weights::uniform(n).expect("n ≥ 1")
        }
    };
    check(&w);
    if let Ok(l) = Weights::from_log_weights(&init) {
        check(&l);
    }
    loop {
        let op = input.byte()?;
        // Lengths n − 1, n, n + 1 (mostly n).
        let len = match op >> 4 {
            0 => n - 1,
            1 => n + 1,
            _ => n,
        };
        let f: Vec<f64> = (0..len).map(|_| input.f64()).collect::<Option<_>>()?;
        let before = w.clone();
        let r = if op & 1 == 0 {
            w.multiply_and_normalise(&f)
        } else {
            w.multiply_exp_and_normalise(&f)
        };
        match r {
            Ok(()) => assert_eq!(len, n, "accepted {len} factors for {n} weights"),
            Err(_) => assert_eq!(w, before, "a failed update changed the weights"),
        }
        check(&w);
    }
}

/// The `weights` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn weights(data: &[u8]) {
    let _ = run(&mut Input::new(data));
}
