//! Property tests of [`Weights`]: W ≥ 0 and Σ W = 1 to 1e-12 after any sequence of
//! multiplicative and exponentiated updates, ESS ∈ [1, N], and typed errors (never
//! panics) for invalid factors.

mod common;

use common::{config, sum};
use meanfield_measures::{MeasuresError, Weights};
use proptest::collection::vec;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Update {
    /// `multiply_and_normalise` with factors in [0, 10] (some exactly 0).
    Multiply(Vec<f64>),
    /// `multiply_exp_and_normalise` with log-factors in [−50, 50].
    MultiplyExp(Vec<f64>),
}

fn update(n: usize) -> impl Strategy<Value = Update> {
    prop_oneof![
        vec(
            prop_oneof![1 => Just(0.0), 4 => 0.0..=10.0, 1 => 1e-300..=1e-3],
            n
        )
        .prop_map(Update::Multiply),
        vec(-50.0..=50.0, n).prop_map(Update::MultiplyExp),
    ]
}

fn assert_normalised(w: &Weights) -> Result<(), TestCaseError> {
    let s = w.as_slice();
    prop_assert!(
        s.iter().all(|v| v.is_finite() && *v >= 0.0),
        "negative or non-finite weight: {s:?}"
    );
    prop_assert!(
        (sum(s) - 1.0).abs() <= 1e-12,
        "Σ W − 1 = {:e}",
        sum(s) - 1.0
    );
    let ess = w.ess();
    prop_assert!(
        (1.0..=s.len() as f64).contains(&ess),
        "ESS = {ess} ∉ [1, {}]",
        s.len()
    );
    Ok(())
}

fn invalid(r: Result<(), MeasuresError>) -> bool {
    matches!(r, Err(MeasuresError::InvalidWeights { .. }))
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn updates_keep_weights_normalised(
        (start, updates) in (1usize..=50).prop_flat_map(|n| (
            prop_oneof![
                Just(None),
                vec(0.0..=1.0, n).prop_map(Some),
            ],
            vec(update(n), 1..=200),
        ))
    ) {
        let n = updates.iter().map(|u| match u { Update::Multiply(f) | Update::MultiplyExp(f) => f.len() }).next().unwrap();
        let mut w = match start {
            Some(v) if v.iter().any(|x| *x > 0.0) => Weights::from_unnormalised(v).unwrap(),
            _ => Weights::uniform(n).unwrap(),
        };
        assert_normalised(&w)?;
        for u in &updates {
            let before = w.clone();
            match u {
                Update::Multiply(f) => {
                    // The update is well defined iff some W^i f_i is positive (as floats):
                    // the factors may be non-zero only where the weights already vanished.
                    let defined = before.as_slice().iter().zip(f).any(|(w, f)| w * f > 0.0);
                    let r = w.multiply_and_normalise(f);
                    if defined {
                        prop_assert!(r.is_ok(), "{r:?} for factors {f:?}");
                    } else {
                        prop_assert!(invalid(r), "zero total accepted");
                        prop_assert_eq!(&w, &before, "weights changed by a failed update");
                    }
                }
                Update::MultiplyExp(g) => {
                    let r = w.multiply_exp_and_normalise(g);
                    prop_assert!(r.is_ok(), "{r:?} for log-factors {g:?}");
                }
            }
            assert_normalised(&w)?;
        }
    }

    #[test]
    fn constructors_normalise(v in vec(0.0..=1e3f64, 1..=100), l in vec(-700.0..=700.0f64, 1..=100)) {
        if v.iter().any(|x| *x > 0.0) {
            assert_normalised(&Weights::from_unnormalised(v).unwrap())?;
        } else {
            prop_assert!(Weights::from_unnormalised(v).is_err());
        }
        assert_normalised(&Weights::from_log_weights(&l).unwrap())?;
    }

    #[test]
    fn ess_is_n_for_uniform_and_1_for_a_point_mass(n in 1usize..=10_000, k in 0usize..10_000) {
        let u = Weights::uniform(n).unwrap();
        prop_assert!((1.0..=n as f64).contains(&u.ess()), "ESS = {} for N = {n}", u.ess());
        prop_assert!((u.ess() - n as f64).abs() <= 1e-9 * n as f64);
        let mut v = vec![0.0; n];
        v[k % n] = 3.0;
        prop_assert_eq!(Weights::from_unnormalised(v).unwrap().ess(), 1.0);
    }

    #[test]
    fn invalid_factors_are_errors_and_leave_weights_alone(
        (w0, bad_at, bad) in (1usize..=20).prop_flat_map(|n| (
            vec(0.01..=1.0f64, n),
            0..n,
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), -1e300..-1e-300],
        ))
    ) {
        let n = w0.len();
        let mut w = Weights::from_unnormalised(w0).unwrap();
        let before = w.clone();
        let mut f = vec![1.0; n];
        f[bad_at] = bad;
        prop_assert!(invalid(w.multiply_and_normalise(&f)));
        if !bad.is_finite() {
            prop_assert!(invalid(w.multiply_exp_and_normalise(&f)));
        }
        prop_assert!(invalid(w.multiply_and_normalise(&vec![0.0; n])));
        for len in [0, n - 1, n + 1] {
            if len != n {
                let r = w.multiply_and_normalise(&vec![1.0; len]);
                let is_mismatch = matches!(r, Err(MeasuresError::DimensionMismatch { expected, got, .. }) if expected == n && got == len);
                prop_assert!(is_mismatch, "{r:?}");
                let r = w.multiply_exp_and_normalise(&vec![0.0; len]);
                let is_mismatch = matches!(r, Err(MeasuresError::DimensionMismatch { expected, got, .. }) if expected == n && got == len);
                prop_assert!(is_mismatch, "{r:?}");
            }
        }
        prop_assert_eq!(&w, &before);
    }
}

#[test]
fn constructor_errors() {
    assert!(matches!(
        Weights::uniform(0),
        Err(MeasuresError::Empty { .. })
    ));
    assert!(matches!(
        Weights::from_unnormalised(vec![]),
        Err(MeasuresError::Empty { .. })
    ));
    assert!(Weights::from_log_weights(&[]).is_err());
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        let r = Weights::from_unnormalised(vec![1.0, bad]);
        assert!(
            matches!(r, Err(MeasuresError::InvalidWeights { .. })),
            "{bad}: {r:?}"
        );
    }
    assert!(matches!(
        Weights::from_unnormalised(vec![0.0, 0.0]),
        Err(MeasuresError::InvalidWeights { .. })
    ));
    // A finite total that overflows: the entries are fine, their sum is not.
    assert!(Weights::from_unnormalised(vec![f64::MAX, f64::MAX]).is_err());
    for bad in [f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Weights::from_log_weights(&[0.0, bad]),
            Err(MeasuresError::InvalidWeights { .. })
        ));
    }
    let all_zero = Weights::from_log_weights(&[f64::NEG_INFINITY; 3]);
    assert!(
        matches!(all_zero, Err(MeasuresError::InvalidWeights { .. })),
        "{all_zero:?}"
    );
    // −∞ log-weights are zero weights, fine as long as one is finite.
    let w = Weights::from_log_weights(&[f64::NEG_INFINITY, 0.0]).unwrap();
    assert_eq!(w.as_slice(), &[0.0, 1.0]);
}

#[test]
fn error_messages_name_the_offender() {
    let mut w = Weights::uniform(3).unwrap();
    let msg = w
        .multiply_and_normalise(&[1.0, -2.0, 1.0])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("factor 1") && msg.contains("-2"), "{msg}");
    let msg = w
        .multiply_exp_and_normalise(&[0.0, 0.0, f64::NAN])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("log-factor 2") && msg.contains("NaN"), "{msg}");
}

#[test]
fn exp_update_survives_huge_log_factors() {
    // Log space: exp(±700) alone would overflow / underflow the total.
    let mut w = Weights::uniform(4).unwrap();
    w.multiply_exp_and_normalise(&[800.0, 799.0, -800.0, 0.0])
        .unwrap();
    let s = w.as_slice();
    assert!((s[0] - 1.0 / (1.0 + (-1f64).exp())).abs() < 1e-15, "{s:?}");
    assert!((sum(s) - 1.0).abs() <= 1e-15);
    w.multiply_exp_and_normalise(&[-f64::MAX, f64::MAX, 0.0, 0.0])
        .unwrap();
    assert_eq!(w.as_slice(), &[0.0, 1.0, 0.0, 0.0]);
}

/// Weighted shards (ranks as threads): scatter keeps each rank's part of the weights, the
/// `*_with` updates (totals by block reductions, maxima over the ranks) and the ESS are
/// the single-process ones bit for bit on 1–4 ranks, and gather returns the global
/// weights; a gather where one rank dropped its weights is a typed error on every rank.
#[test]
fn distributed_weight_updates_are_the_single_process_ones() {
    use meanfield_measures::{Collective, Domain, Ensemble, Reducer, ThreadCollective};
    use std::sync::Arc;
    let n = 3 * 1024 + 77;
    let mut ens = Ensemble::from_fn(n, 1, Domain::Euclidean, |i, x| x[0] = i as f64).unwrap();
    let raw: Vec<f64> = (0..n).map(|i| 1.0 + (i as f64 * 0.7).sin()).collect();
    ens.set_weights(Weights::from_unnormalised(raw).unwrap())
        .unwrap();
    let log_f: Vec<f64> = (0..n).map(|i| 30.0 * (i as f64 * 0.013).cos()).collect();
    let f: Vec<f64> = (0..n).map(|i| (i % 7) as f64 * 0.25).collect();
    let mut single = ens.weights().unwrap().clone();
    single.multiply_exp_and_normalise(&log_f).unwrap();
    single.multiply_and_normalise(&f).unwrap();
    let single_ess = single.ess();
    let bits = |w: &[f64]| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for ranks in 1..=4 {
        std::thread::scope(|scope| {
            for c in ThreadCollective::group(ranks).unwrap() {
                let (ens, log_f, f, single) = (&ens, &log_f, &f, &single);
                scope.spawn(move || {
                    let c: Arc<dyn Collective> = Arc::new(c);
                    let mut shard = ens.scatter(c).unwrap();
                    let range =
                        shard.first_index() as usize..shard.first_index() as usize + shard.n();
                    let reducer = Reducer::of(&shard);
                    let w = shard.weights_mut().unwrap();
                    w.multiply_exp_and_normalise_with(&reducer, &log_f[range.clone()])
                        .unwrap();
                    w.multiply_and_normalise_with(&reducer, &f[range]).unwrap();
                    let ess = w.ess_with(&reducer).unwrap();
                    assert_eq!(ess.to_bits(), single_ess.to_bits(), "{ranks} ranks: ESS");
                    let global = shard.gather().unwrap();
                    assert_eq!(
                        bits(global.weights().unwrap().as_slice()),
                        bits(single.as_slice()),
                        "{ranks} ranks: weights"
                    );
                });
            }
        });
    }
    std::thread::scope(|scope| {
        for c in ThreadCollective::group(2).unwrap() {
            let ens = &ens;
            scope.spawn(move || {
                let rank = c.rank();
                let mut shard = ens.scatter(Arc::new(c)).unwrap();
                if rank == 1 {
                    shard.clear_weights();
                }
                assert!(matches!(
                    shard.gather(),
                    Err(MeasuresError::InvalidPartition { .. })
                ));
            });
        }
    });
}
