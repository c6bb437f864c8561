//! Property tests of metric and estimator invariants on bounded random inputs.

use meanfield_diagnostics::{
    DiagnosticsError, acf, covariance, effective_sample_size, ks_statistic, linear_fit,
    mmd2_biased, relative_ess, sliced_w2, w1_1d, w2_1d, wp_1d_weighted,
};
use meanfield_measures::{Domain, Ensemble, Weights};
use proptest::prelude::*;

const TOL: f64 = 1e-9;

fn sample(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-100.0f64..100.0, 1..max_len)
}

fn ensemble(max_n: usize, d: usize) -> impl Strategy<Value = Ensemble> {
    (1..max_n).prop_flat_map(move |n| {
        prop::collection::vec(-10.0f64..10.0, n * d)
            .prop_map(move |data| Ensemble::new(n, d, data, Domain::Euclidean).unwrap())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn w2_is_symmetric_and_zero_on_permutations(a in sample(40), b in sample(40)) {
        let ab = w2_1d(&a, &b).unwrap();
        let ba = w2_1d(&b, &a).unwrap();
        prop_assert!((ab - ba).abs() <= TOL * (1.0 + ab));
        let mut rev = a.clone();
        rev.reverse();
        prop_assert_eq!(w2_1d(&a, &rev).unwrap(), 0.0);
    }

    #[test]
    fn w2_triangle_inequality(a in sample(30), b in sample(30), c in sample(30)) {
        let ab = w2_1d(&a, &b).unwrap();
        let bc = w2_1d(&b, &c).unwrap();
        let ac = w2_1d(&a, &c).unwrap();
        prop_assert!(ac <= ab + bc + TOL * (1.0 + ac), "{ac} > {ab} + {bc}");
    }

    #[test]
    fn w1_le_w2_and_shift(a in sample(40), b in sample(40), shift in -50.0f64..50.0) {
        // Jensen: W1 ≤ W2.
        prop_assert!(w1_1d(&a, &b).unwrap() <= w2_1d(&a, &b).unwrap() + TOL);
        let s: Vec<f64> = a.iter().map(|x| x + shift).collect();
        prop_assert!((w2_1d(&a, &s).unwrap() - shift.abs()).abs() <= 1e-9 * (1.0 + shift.abs()));
        prop_assert!((w1_1d(&a, &s).unwrap() - shift.abs()).abs() <= 1e-9 * (1.0 + shift.abs()));
    }

    #[test]
    fn weighted_w2_with_uniform_weights_equals_unweighted(a in sample(30), b in sample(30)) {
        let wa = vec![1.0; a.len()];
        let wb = vec![3.0; b.len()];
        let u = w2_1d(&a, &b).unwrap();
        let w = wp_1d_weighted(&a, &wa, &b, &wb, 2.0).unwrap();
        prop_assert!((u - w).abs() <= 1e-9 * (1.0 + u));
    }

    #[test]
    fn sliced_w2_symmetric_and_zero_on_self(x in ensemble(12, 3), y in ensemble(12, 3), seed in 0u64..1000) {
        prop_assert_eq!(sliced_w2(&x, &x, 8, seed).unwrap(), 0.0);
        let xy = sliced_w2(&x, &y, 8, seed).unwrap();
        let yx = sliced_w2(&y, &x, 8, seed).unwrap();
        prop_assert!((xy - yx).abs() <= TOL * (1.0 + xy));
    }

    #[test]
    fn mmd_biased_nonnegative_and_zero_on_self(x in ensemble(12, 2), y in ensemble(12, 2), h in 0.1f64..10.0) {
        prop_assert!(mmd2_biased(&x, &y, h).unwrap() >= 0.0);
        prop_assert_eq!(mmd2_biased(&x, &x, h).unwrap(), 0.0);
    }

    #[test]
    fn ess_between_one_and_n(w in prop::collection::vec(0.0f64..1e3, 1..50)) {
        match effective_sample_size(&w) {
            Ok(e) => {
                prop_assert!((1.0..=w.len() as f64).contains(&e));
                let r = relative_ess(&w).unwrap();
                prop_assert!(r > 0.0 && r <= 1.0);
            }
            // Only an all-zero weight vector may be rejected.
            Err(err) => {
                prop_assert!(w.iter().all(|v| *v == 0.0));
                let is_degenerate = matches!(err, DiagnosticsError::Degenerate { .. });
                prop_assert!(is_degenerate);
            }
        }
    }

    #[test]
    fn covariance_is_symmetric_psd_diagonal(x in ensemble(20, 3), raw in prop::collection::vec(0.01f64..1.0, 20)) {
        let mut x = x;
        x.set_weights(Weights::from_unnormalised(raw[..x.n()].to_vec()).unwrap()).unwrap();
        let c = covariance(&x);
        for a in 0..3 {
            prop_assert!(c[a * 3 + a] >= 0.0);
            for b in 0..3 {
                prop_assert_eq!(c[a * 3 + b], c[b * 3 + a]);
                // Cauchy–Schwarz.
                prop_assert!(c[a * 3 + b].powi(2) <= c[a * 3 + a] * c[b * 3 + b] * (1.0 + 1e-9) + 1e-12);
            }
        }
    }

    #[test]
    fn linear_fit_recovers_noiseless_lines(
        x in prop::collection::vec(-50.0f64..50.0, 3..30),
        slope in -10.0f64..10.0,
        intercept in -10.0f64..10.0,
    ) {
        let spread = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - x.iter().cloned().fold(f64::INFINITY, f64::min);
        prop_assume!(spread > 1e-3);
        let y: Vec<f64> = x.iter().map(|v| intercept + slope * v).collect();
        let f = linear_fit(&x, &y).unwrap();
        prop_assert!((f.slope - slope).abs() <= 1e-8 * (1.0 + slope.abs()));
        prop_assert!((f.intercept - intercept).abs() <= 1e-7 * (1.0 + intercept.abs()));
    }

    #[test]
    fn ks_statistic_bounds(s in prop::collection::vec(0.0f64..1.0, 1..60)) {
        let d = ks_statistic(&s, |x| x).unwrap();
        prop_assert!(d >= 0.5 / s.len() as f64 - 1e-15 && d <= 1.0);
    }

    #[test]
    fn acf_is_bounded_with_unit_lag_zero(xs in prop::collection::vec(-10.0f64..10.0, 3..80)) {
        let spread = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - xs.iter().cloned().fold(f64::INFINITY, f64::min);
        prop_assume!(spread > 1e-6);
        let r = acf(&xs, xs.len() - 1).unwrap();
        prop_assert_eq!(r[0], 1.0);
        prop_assert!(r.iter().all(|v| v.abs() <= 1.0));
    }

    #[test]
    fn nan_anywhere_is_an_error_not_a_panic(a in sample(20), pos in 0usize..20) {
        let mut bad = a.clone();
        let i = pos % bad.len();
        bad[i] = f64::NAN;
        prop_assert!(w2_1d(&bad, &a).is_err());
        prop_assert!(w1_1d(&a, &bad).is_err());
        prop_assert!(ks_statistic(&bad, |x| x.clamp(0.0, 1.0)).is_err());
        prop_assert!(effective_sample_size(&bad).is_err());
        prop_assert!(acf(&bad, 0).is_err());
        let x: Vec<f64> = (0..bad.len()).map(|k| k as f64).collect();
        prop_assert!(linear_fit(&x, &bad).is_err());
    }
}
