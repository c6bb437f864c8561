//! The mean-field two-layer network against finite differences of F (the pattern of
//! `tests/first_variation.rs`):
//!
//! - moving particle i by εv changes F(μ_N) at rate W^i ∇_θ δF/δμ(μ_N, θ^i)·v;
//! - moving weight towards particle j, W(ε) = (1 − ε)W + ε e_j, changes F at rate
//!   δF/δμ(μ_N, θ^j) − Σ_i W^i δF/δμ(μ_N, θ^i);
//!
//! plus the prediction/loss definitions, thread-count invariance, the frozen potential,
//! and typed errors for bad shapes and non-finite data.

use meanfield_energy::{
    EnergyError, FrozenFirstVariation, FrozenPotential, Functional, TwoLayerNet,
};
use meanfield_measures::{BoxBounds, Domain, Ensemble, Parallelism, Weights};
use proptest::prelude::*;

use meanfield_energy::fd_check;

fn check_particle_derivative<F: Functional>(f: &F, ens: &Ensemble, i: usize, v: &[f64]) {
    let c = fd_check::particle_derivative(f, ens, i, v, 1e-5).unwrap();
    assert!(c.agrees(1e-6), "{c:?}");
}

fn check_weight_derivative<F: Functional>(f: &F, ens: &Ensemble, j: usize) {
    let c = fd_check::weight_derivative(f, ens, j, 1e-5).unwrap();
    assert!(c.agrees(1e-6), "{c:?}");
}

fn weighted(n: usize, d: usize, coords: &[f64], w: &[f64]) -> Ensemble {
    let mut e = Ensemble::new(n, d, coords[..n * d].to_vec(), Domain::Euclidean).unwrap();
    e.set_weights(Weights::from_unnormalised(w[..n].to_vec()).unwrap())
        .unwrap();
    e
}

/// A deterministic pseudo-random sequence in [−1, 1] (no RNG needed for fixtures).
fn wobble(k: usize, salt: f64) -> f64 {
    ((k as f64 + 1.0) * 12.9898 + salt * 78.233).sin()
}

/// M data points in R^p (last coordinate a bias 1) with smooth targets.
fn data(m: usize, p: usize) -> (Vec<f64>, Vec<f64>) {
    let mut z = Vec::with_capacity(m * p);
    for j in 0..m {
        for k in 0..p {
            z.push(if k + 1 == p && p > 1 {
                1.0
            } else {
                wobble(j * p + k, 0.3)
            });
        }
    }
    let y = (0..m).map(|j| (2.0 * z[j * p]).sin() + 0.1).collect();
    (z, y)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn two_layer_first_variation(
        coords in prop::collection::vec(-2.0f64..2.0, 8 * 4),
        w in prop::collection::vec(0.1f64..1.0, 8),
        v in prop::collection::vec(-1.0f64..1.0, 4),
        zs in prop::collection::vec(-1.5f64..1.5, 6 * 3),
        ys in prop::collection::vec(-2.0f64..2.0, 6),
        l2 in prop_oneof![Just(0.0), 0.0f64..0.5],
        i in 0usize..8,
    ) {
        let f = TwoLayerNet::new(zs, 3, ys, l2).unwrap();
        let e = weighted(8, 4, &coords, &w);
        check_particle_derivative(&f, &e, i, &v);
        check_weight_derivative(&f, &e, i);
    }

    /// Unweighted ensembles (W = 1/N) take the same path.
    #[test]
    fn two_layer_first_variation_unweighted(
        coords in prop::collection::vec(-2.0f64..2.0, 5 * 3),
        v in prop::collection::vec(-1.0f64..1.0, 3),
        l2 in 0.0f64..0.5,
        i in 0usize..5,
    ) {
        let (z, y) = data(7, 2);
        let f = TwoLayerNet::new(z, 2, y, l2).unwrap();
        let e = Ensemble::new(5, 3, coords, Domain::Euclidean).unwrap();
        check_particle_derivative(&f, &e, i, &v);
        check_weight_derivative(&f, &e, i);
    }
}

#[test]
fn prediction_loss_and_value_follow_the_definitions() {
    let (z, y) = data(9, 3);
    let coords = vec![
        1.0, 0.5, -0.3, 0.2, //
        -2.0, 1.5, 0.7, -0.1, //
        0.3, -0.4, 2.0, 0.0,
    ];
    let mut ens = Ensemble::new(3, 4, coords.clone(), Domain::Euclidean).unwrap();
    ens.set_weights(Weights::from_unnormalised(vec![1.0, 2.0, 1.0]).unwrap())
        .unwrap();
    let w = [0.25, 0.5, 0.25];
    let f_manual = |zq: &[f64]| -> f64 {
        (0..3)
            .map(|i| {
                let t = &coords[i * 4..(i + 1) * 4];
                let u: f64 = (0..3).map(|k| t[1 + k] * zq[k]).sum();
                w[i] * t[0] * u.tanh()
            })
            .sum()
    };
    let net = TwoLayerNet::new(z.clone(), 3, y.clone(), 0.3).unwrap();
    let pred = net.predict(&ens, &z).unwrap();
    assert_eq!(pred.len(), 9);
    let mut loss = 0.0;
    for j in 0..9 {
        let fm = f_manual(&z[j * 3..(j + 1) * 3]);
        assert!((pred[j] - fm).abs() < 1e-14, "{} {fm}", pred[j]);
        loss += (fm - y[j]).powi(2) / 18.0;
    }
    assert!((net.loss(&ens).unwrap() - loss).abs() < 1e-14);
    assert_eq!(
        net.loss_on(&ens, &z, &y).unwrap(),
        net.loss(&ens).unwrap(),
        "loss_on the training data is the training loss"
    );
    let residuals = net.residuals(&ens).unwrap();
    for j in 0..9 {
        assert!((residuals[j] - (pred[j] - y[j])).abs() < 1e-15);
    }
    let second: f64 = (0..3)
        .map(|i| {
            w[i] * coords[i * 4..(i + 1) * 4]
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
        })
        .sum();
    assert!((net.value(&ens).unwrap() - (loss + 0.15 * second)).abs() < 1e-13);
    // Without L2, F is the loss.
    let plain = TwoLayerNet::new(z, 3, y, 0.0).unwrap();
    assert_eq!(plain.value(&ens).unwrap(), plain.loss(&ens).unwrap());
    // No query points: an empty prediction.
    assert!(net.predict(&ens, &[]).unwrap().is_empty());
}

#[test]
fn frozen_potential_matches_the_ensemble_calls_bit_for_bit() {
    let (z, y) = data(11, 3);
    let net = TwoLayerNet::new(z, 3, y, 0.05).unwrap();
    let ens = Ensemble::from_fn(6, 4, Domain::Euclidean, |i, row| {
        for (k, v) in row.iter_mut().enumerate() {
            *v = 1.5 * wobble(i * 4 + k, 0.9);
        }
    })
    .unwrap();
    let grad = net.first_variation_grad_vec(&ens).unwrap();
    let mut values = vec![0.0; 6];
    net.first_variation(&ens, &mut values).unwrap();
    let frozen = net.freeze(&ens).unwrap();
    assert_eq!(frozen.residuals(), net.residuals(&ens).unwrap().as_slice());
    for i in 0..6 {
        let mut g = [0.0; 4];
        let v = frozen.value_and_grad(ens.particle(i), &mut g);
        assert_eq!(v.to_bits(), values[i].to_bits());
        for k in 0..4 {
            assert_eq!(g[k].to_bits(), grad[i * 4 + k].to_bits());
        }
    }
    // Off the particles: ∇V by central differences of V.
    let theta = [0.7, -0.4, 1.1, 0.3];
    let mut g = [0.0; 4];
    frozen.value_and_grad(&theta, &mut g);
    for k in 0..4 {
        let at = |eps: f64| {
            let mut t = theta;
            t[k] += eps;
            frozen.value_and_grad(&t, &mut [0.0; 4])
        };
        let fd = (at(1e-6) - at(-1e-6)) / 2e-6;
        assert!((fd - g[k]).abs() < 1e-8, "{k}: {fd} vs {}", g[k]);
    }
}

#[test]
fn parallel_and_sequential_agree_bit_for_bit() {
    // Enough particles and data points that the rayon loops split into several tasks.
    let (n, m, p) = (1100, 600, 3);
    let (z, y) = data(m, p);
    let seq = TwoLayerNet::new(z, p, y, 0.01).unwrap();
    let par = seq.clone().with_parallelism(Parallelism::Rayon);
    assert_eq!(par.parallelism(), Parallelism::Rayon);
    let ens = Ensemble::from_fn(n, p + 1, Domain::Euclidean, |i, row| {
        for (k, v) in row.iter_mut().enumerate() {
            *v = 2.0 * wobble(i * (p + 1) + k, 0.17);
        }
    })
    .unwrap();
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    assert_eq!(
        bits(seq.first_variation_grad_vec(&ens).unwrap()),
        bits(par.first_variation_grad_vec(&ens).unwrap())
    );
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    seq.first_variation(&ens, &mut a).unwrap();
    par.first_variation(&ens, &mut b).unwrap();
    assert_eq!(bits(a), bits(b));
    assert_eq!(
        seq.value(&ens).unwrap().to_bits(),
        par.value(&ens).unwrap().to_bits()
    );
}

#[test]
fn the_functional_ignores_the_domain() {
    // A bounded-parameter network is the same functional on a box-domain ensemble.
    let (z, y) = data(8, 2);
    let net = TwoLayerNet::new(z, 2, y, 0.1).unwrap();
    let coords: Vec<f64> = (0..15).map(|k| 0.9 * wobble(k, 2.0)).collect();
    let free = Ensemble::new(5, 3, coords.clone(), Domain::Euclidean).unwrap();
    let boxed = Ensemble::new(
        5,
        3,
        coords,
        Domain::Box(BoxBounds::uniform(3, -1.0, 1.0).unwrap()),
    )
    .unwrap();
    assert_eq!(net.value(&free).unwrap(), net.value(&boxed).unwrap());
    assert_eq!(
        net.first_variation_grad_vec(&free).unwrap(),
        net.first_variation_grad_vec(&boxed).unwrap()
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let (z, y) = data(5, 3);
    let shape = |r: Result<TwoLayerNet, EnergyError>| {
        assert!(
            matches!(r, Err(EnergyError::DimensionMismatch { .. })),
            "{r:?}"
        );
    };
    let param = |r: Result<TwoLayerNet, EnergyError>, which: &str| match r {
        Err(EnergyError::InvalidParameter { name, .. }) => assert_eq!(name, which),
        other => panic!("expected InvalidParameter({which}), got {other:?}"),
    };
    // p = 0, M = 0, inputs not M × p, targets of the wrong length.
    shape(TwoLayerNet::new(z.clone(), 0, y.clone(), 0.0));
    shape(TwoLayerNet::new(vec![], 3, vec![], 0.0));
    shape(TwoLayerNet::new(z[..14].to_vec(), 3, y.clone(), 0.0));
    shape(TwoLayerNet::new(z.clone(), 3, y[..4].to_vec(), 0.0));
    // Non-finite data and bad ρ.
    let mut zn = z.clone();
    zn[7] = f64::NAN;
    param(TwoLayerNet::new(zn, 3, y.clone(), 0.0), "inputs");
    let mut yn = y.clone();
    yn[2] = f64::INFINITY;
    param(TwoLayerNet::new(z.clone(), 3, yn, 0.0), "targets");
    param(TwoLayerNet::new(z.clone(), 3, y.clone(), -0.1), "l2");
    param(TwoLayerNet::new(z.clone(), 3, y.clone(), f64::NAN), "l2");

    let net = TwoLayerNet::new(z.clone(), 3, y.clone(), 0.0).unwrap();
    assert_eq!(net.dim(), 4);
    assert_eq!(net.n_samples(), 5);
    // Wrong particle dimension, wrong output buffers.
    let e3 = Ensemble::new(2, 3, vec![0.0; 6], Domain::Euclidean).unwrap();
    assert!(matches!(
        net.value(&e3),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        net.first_variation_grad(&e3, &mut [0.0; 6]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        net.predict(&e3, &z),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    let e = Ensemble::new(2, 4, vec![0.1; 8], Domain::Euclidean).unwrap();
    assert!(matches!(
        net.first_variation_grad(&e, &mut [0.0; 7]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        net.first_variation(&e, &mut [0.0; 3]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    // Query points: length not a multiple of p, non-finite coordinates.
    assert!(matches!(
        net.predict(&e, &[0.0; 4]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        net.predict(&e, &[0.0, f64::NAN, 1.0]),
        Err(EnergyError::InvalidParameter { .. })
    ));
    // Held-out data: mismatched or empty targets, non-finite targets.
    assert!(matches!(
        net.loss_on(&e, &z, &y[..3]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        net.loss_on(&e, &[], &[]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        net.loss_on(&e, &z[..3], &[f64::NAN]),
        Err(EnergyError::InvalidParameter { .. })
    ));
}
