//! Tests of [`Ensemble`] construction and statistics, and of the keyed random streams
//! [`NoiseStreams`].

mod common;

use common::{config, simplex_point};
use meanfield_measures::{BoxBounds, Domain, Ensemble, MeasuresError, NoiseStreams, Weights};
use proptest::collection::vec;
use proptest::prelude::*;
use rand::RngExt;

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn non_finite_values_are_named(
        (n, d, at, bad) in (1usize..=20, 1usize..=8).prop_flat_map(|(n, d)| (
            Just(n), Just(d), 0..n * d,
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
        ))
    ) {
        let mut data = vec![0.5; n * d];
        data[at] = bad;
        let (i, j) = (at / d, at % d);
        for domain in [Domain::Euclidean, Domain::orthant(d).unwrap()] {
            let err = Ensemble::new(n, d, data.clone(), domain).unwrap_err();
            let named = matches!(&err, MeasuresError::NonFinite { particle, coordinate, .. } if *particle == i && *coordinate == j);
            prop_assert!(named, "{err:?}");
            let msg = err.to_string();
            prop_assert!(msg.contains(&format!("particle {i}")) && msg.contains(&format!("coordinate {j}")), "{msg}");
        }
    }

    #[test]
    fn wrong_buffer_length_is_an_error(n in 1usize..=20, d in 1usize..=8, extra in prop_oneof![Just(-1i64), 1i64..=5]) {
        let len = (n * d) as i64 + extra;
        let err = Ensemble::new(n, d, vec![0.0; len as usize], Domain::Euclidean).unwrap_err();
        let mismatch = matches!(err, MeasuresError::DimensionMismatch { expected, got, .. } if expected == n * d && got == len as usize);
        prop_assert!(mismatch, "{err:?}");
    }

    #[test]
    fn simplex_membership(
        (points, bad_particle, kind) in (2usize..=6).prop_flat_map(|d| (
            vec(simplex_point(d), 1..=10), any::<prop::sample::Index>(), 0u8..3,
        ))
    ) {
        let (n, d) = (points.len(), points[0].len());
        let data: Vec<f64> = points.concat();
        let ens = Ensemble::new(n, d, data.clone(), Domain::Simplex).unwrap();
        prop_assert_eq!(ens.as_slice(), &data[..]);
        // Vertices and faces (closed simplex) are accepted.
        let mut vertex = vec![0.0; d];
        vertex[0] = 1.0;
        prop_assert!(Ensemble::new(1, d, vertex, Domain::Simplex).is_ok());
        // Break one particle.
        let i = bad_particle.index(n);
        let mut bad = data;
        match kind {
            0 => bad[i * d] = -1e-6,             // negative coordinate
            1 => bad[i * d] += 1e-6,             // sums to 1 + 1e-6
            _ => bad[i * d + 1] -= 1e-6,         // sums to 1 − 1e-6 (maybe negative too)
        }
        let err = Ensemble::new(n, d, bad, Domain::Simplex).unwrap_err();
        let outside = matches!(&err, MeasuresError::OutsideDomain { particle, .. } if *particle == i);
        prop_assert!(outside, "{err:?}");
    }

    #[test]
    fn box_membership(
        (rows, bad_particle, coord, above) in (1usize..=6).prop_flat_map(|d| (
            vec(vec(-1.0..=1.0f64, d), 1..=10), any::<prop::sample::Index>(), 0..d, any::<bool>(),
        ))
    ) {
        let (n, d) = (rows.len(), rows[0].len());
        let domain = Domain::Box(BoxBounds::uniform(d, -1.0, 1.0).unwrap());
        let data = rows.concat();
        prop_assert!(Ensemble::new(n, d, data.clone(), domain.clone()).is_ok());
        let i = bad_particle.index(n);
        let mut bad = data;
        bad[i * d + coord] = if above { 1.0f64.next_up() } else { (-1.0f64).next_down() };
        let err = Ensemble::new(n, d, bad, domain).unwrap_err();
        let outside = matches!(&err, MeasuresError::OutsideDomain { particle, .. } if *particle == i);
        prop_assert!(outside, "{err:?}");
    }

    #[test]
    fn mean_is_the_weighted_average(
        (rows, w) in (1usize..=30, 1usize..=5).prop_flat_map(|(n, d)| (
            vec(vec(-1e3..=1e3f64, d), n), vec(0.0..=1.0f64, n),
        ))
    ) {
        let (n, d) = (rows.len(), rows[0].len());
        let mut ens = Ensemble::new(n, d, rows.concat(), Domain::Euclidean).unwrap();
        let m = ens.mean();
        for k in 0..d {
            let want = rows.iter().map(|r| r[k]).sum::<f64>() / n as f64;
            prop_assert!((m[k] - want).abs() <= 1e-12 * 1e3, "{} vs {want}", m[k]);
        }
        prop_assume!(w.iter().any(|v| *v > 0.0));
        let weights = Weights::from_unnormalised(w).unwrap();
        ens.set_weights(weights.clone()).unwrap();
        let m = ens.mean();
        let mut into = vec![f64::NAN; d];
        ens.mean_into(&mut into);
        prop_assert_eq!(&m, &into);
        for k in 0..d {
            let want: f64 = rows.iter().zip(weights.as_slice()).map(|(r, w)| w * r[k]).sum();
            prop_assert!((m[k] - want).abs() <= 1e-12 * 1e3, "{} vs {want}", m[k]);
        }
        for i in 0..n {
            prop_assert_eq!(ens.weight(i), weights.as_slice()[i]);
        }
        ens.clear_weights();
        prop_assert_eq!(ens.weight(0), 1.0 / n as f64);
    }
}

#[test]
fn empty_shapes_are_errors() {
    let err = Ensemble::new(0, 3, vec![], Domain::Euclidean).unwrap_err();
    assert!(
        matches!(
            err,
            MeasuresError::Empty {
                what: "number of particles"
            }
        ),
        "{err:?}"
    );
    let err = Ensemble::new(3, 0, vec![], Domain::Euclidean).unwrap_err();
    assert!(
        matches!(err, MeasuresError::Empty { what: "dimension" }),
        "{err:?}"
    );
    let err = Ensemble::new(usize::MAX, 2, vec![], Domain::Euclidean).unwrap_err();
    assert!(
        matches!(err, MeasuresError::DimensionMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn from_fn_rejects_bad_shapes_without_allocating() {
    for (n, d) in [
        (0, 2),
        (2, 0),
        (usize::MAX, 2),
        (usize::MAX / 4, 3),
        (1 << 61, 1),
    ] {
        let r = Ensemble::from_fn(n, d, Domain::Euclidean, |_, _| {
            unreachable!("no rows expected")
        });
        assert!(r.is_err(), "({n}, {d})");
    }
    let e = Ensemble::from_fn(3, 2, Domain::Euclidean, |i, row| row.fill(i as f64)).unwrap();
    assert_eq!(e.as_slice(), &[0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
    let err = Ensemble::from_fn(2, 2, Domain::Simplex, |_, row| row.fill(0.7)).unwrap_err();
    assert!(
        matches!(err, MeasuresError::OutsideDomain { particle: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn domain_shape_errors() {
    let err = Ensemble::new(2, 1, vec![1.0, 1.0], Domain::Simplex).unwrap_err();
    assert!(
        matches!(err, MeasuresError::InvalidDomain { .. }),
        "{err:?}"
    );
    let b = Domain::Box(BoxBounds::uniform(3, 0.0, 1.0).unwrap());
    let err = Ensemble::new(1, 2, vec![0.5, 0.5], b).unwrap_err();
    assert!(
        matches!(
            err,
            MeasuresError::DimensionMismatch {
                expected: 2,
                got: 3,
                ..
            }
        ),
        "{err:?}"
    );
    for (l, u) in [
        (1.0, 1.0),
        (2.0, 1.0),
        (f64::NAN, 1.0),
        (0.0, f64::NAN),
        (f64::INFINITY, f64::INFINITY),
    ] {
        assert!(BoxBounds::new(vec![l], vec![u]).is_err(), "[{l}, {u}]");
    }
    assert!(BoxBounds::new(vec![0.0], vec![1.0, 2.0]).is_err());
    assert!(BoxBounds::new(vec![], vec![]).is_err());
    let mut e = Ensemble::new(2, 1, vec![0.0, 1.0], Domain::Euclidean).unwrap();
    assert!(e.set_weights(Weights::uniform(3).unwrap()).is_err());
}

#[test]
fn accessors_agree_with_the_buffer() {
    let mut e = Ensemble::new(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], Domain::Euclidean).unwrap();
    assert_eq!((e.n(), e.dim()), (3, 2));
    assert_eq!(e.particle(1), &[3.0, 4.0]);
    e.particle_mut(2)[0] = -5.0;
    assert_eq!(e.rows().nth(2).unwrap(), &[-5.0, 6.0]);
    e.as_mut_slice()[0] = f64::NAN;
    let err = e.check_finite().unwrap_err();
    assert!(
        matches!(
            err,
            MeasuresError::NonFinite {
                particle: 0,
                coordinate: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(e.validate().is_err());
}

// ---------------------------------------------------------------- NoiseStreams

fn draws(s: &NoiseStreams, step: u64, index: u64) -> [u64; 4] {
    let mut rng = s.rng(step, index);
    [rng.random(), rng.random(), rng.random(), rng.random()]
}

#[test]
fn same_key_same_draws() {
    let s = NoiseStreams::new(42, 0);
    assert_eq!(draws(&s, 7, 3), draws(&s, 7, 3));
    assert_eq!(draws(&s, 7, 3), draws(&NoiseStreams::new(42, 0), 7, 3));
    let (mut a, mut b) = ([0.0; 16], [0.0; 16]);
    s.fill_standard_normal(5, 9, &mut a);
    s.fill_standard_normal(5, 9, &mut b);
    assert_eq!(a, b);
    assert_eq!(s.seed(), 42);
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn different_keys_different_draws(seed in any::<u64>(), purpose in 0u64..8, step in any::<u64>(), index in any::<u64>(), delta in 1u64..=1 << 40) {
        let s = NoiseStreams::new(seed, purpose);
        let base = draws(&s, step, index);
        prop_assert_ne!(base, draws(&s, step.wrapping_add(delta), index));
        prop_assert_ne!(base, draws(&s, step, index.wrapping_add(delta)));
        prop_assert_ne!(base, draws(&s, step.wrapping_add(delta), index.wrapping_add(delta)));
        // Swapping step and particle index is a different key.
        if step != index {
            prop_assert_ne!(base, draws(&s, index, step));
        }
        prop_assert_ne!(base, draws(&NoiseStreams::new(seed, purpose + 1), step, index));
        prop_assert_ne!(base, draws(&NoiseStreams::new(seed.wrapping_add(delta), purpose), step, index));
    }
}

#[test]
fn neighbouring_keys_are_pairwise_distinct() {
    let mut seen = std::collections::HashSet::new();
    for seed in 0..4 {
        for purpose in 0..3 {
            let s = NoiseStreams::new(seed, purpose);
            for step in 0..20 {
                for index in 0..20 {
                    assert!(
                        seen.insert(draws(&s, step, index)),
                        "collision at {seed} {purpose} {step} {index}"
                    );
                }
            }
        }
    }
}

/// Mean and variance of `x` are those of N(0, 1) within 5 standard errors.
fn assert_standard_normal(x: &[f64], what: &str) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(mean.abs() <= 5.0 / n.sqrt(), "{what}: mean {mean}");
    assert!(
        (var - 1.0).abs() <= 5.0 * (2.0 / n).sqrt(),
        "{what}: variance {var}"
    );
}

#[test]
fn normal_draws_have_unit_moments() {
    let s = NoiseStreams::new(2024, 0);
    // One long stream (1e5 draws of one particle at one step)…
    let mut long = vec![0.0; 100_000];
    s.fill_standard_normal(3, 11, &mut long);
    assert_standard_normal(&long, "one stream");
    // …and the first draw of 1e5 different particles (independence across keys).
    let across: Vec<f64> = (0..100_000u64)
        .map(|i| {
            let mut v = [0.0];
            s.fill_standard_normal(0, i, &mut v);
            v[0]
        })
        .collect();
    assert_standard_normal(&across, "across particles");
    // …and across steps.
    let steps: Vec<f64> = (0..100_000u64)
        .map(|k| {
            let mut v = [0.0];
            s.fill_standard_normal(k, 0, &mut v);
            v[0]
        })
        .collect();
    assert_standard_normal(&steps, "across steps");
}

/// A corrupted serialised ensemble is a typed error on load, never a later panic.
#[test]
fn deserialisation_validates() {
    let good = Ensemble::new(2, 2, vec![0.1, 0.2, 0.3, 0.4], Domain::Euclidean).unwrap();
    let json = serde_json::to_string(&good).unwrap();
    let back: Ensemble = serde_json::from_str(&json).unwrap();
    assert_eq!(back, good);
    for bad in [
        json.replace("\"d\":2", "\"d\":0"),
        json.replace("\"n\":2", "\"n\":3"),
        json.replace("0.4", "null"),
    ] {
        assert!(serde_json::from_str::<Ensemble>(&bad).is_err(), "{bad}");
    }
    let w = meanfield_measures::Weights::uniform(2).unwrap();
    let wj = serde_json::to_string(&w).unwrap();
    assert!(
        serde_json::from_str::<meanfield_measures::Weights>(&wj.replace("0.5,0.5", "0.5,0.7"))
            .is_err()
    );
    assert!(
        serde_json::from_str::<meanfield_measures::Weights>(&wj.replace("0.5,0.5", "-0.5,1.5"))
            .is_err()
    );
}
