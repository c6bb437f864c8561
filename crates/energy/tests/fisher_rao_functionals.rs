//! The Fisher–Rao oracle functionals ([`LinearPotential`], [`MeanInteraction`]) against
//! finite differences of F on *weighted* ensembles: the first variation and its gradient
//! must respect the weights W^i (the Fisher–Rao flow changes nothing else).

use meanfield_energy::{Functional, LinearPotential, MeanInteraction, fd_check};
use meanfield_measures::{Domain, Ensemble, Weights};
use proptest::prelude::*;

fn weighted(coords: &[f64], w: &[f64], d: usize) -> Ensemble {
    let n = w.len();
    let mut e = Ensemble::new(n, d, coords[..n * d].to_vec(), Domain::Euclidean).unwrap();
    e.set_weights(Weights::from_unnormalised(w.to_vec()).unwrap())
        .unwrap();
    e
}

fn check<F: Functional>(f: &F, e: &Ensemble, i: usize, v: &[f64]) {
    let c = fd_check::particle_derivative(f, e, i, v, 1e-5).unwrap();
    assert!(c.agrees(1e-6), "{c:?}");
    let c = fd_check::weight_derivative(f, e, i, 1e-5).unwrap();
    assert!(c.agrees(1e-6), "{c:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn linear_potential_first_variation(
        coords in prop::collection::vec(-3.0f64..3.0, 16),
        w in prop::collection::vec(0.05f64..1.0, 8),
        v in prop::collection::vec(-1.0f64..1.0, 2),
        i in 0usize..8,
    ) {
        let f = LinearPotential::new(vec![1.5, -0.7]).unwrap();
        check(&f, &weighted(&coords, &w, 2), i, &v);
    }

    #[test]
    fn mean_interaction_first_variation(
        coords in prop::collection::vec(-3.0f64..3.0, 16),
        w in prop::collection::vec(0.05f64..1.0, 8),
        v in prop::collection::vec(-1.0f64..1.0, 2),
        kappa in 0.0f64..4.0,
        i in 0usize..8,
    ) {
        let f = MeanInteraction::new(kappa, vec![1.0, -2.0]).unwrap();
        check(&f, &weighted(&coords, &w, 2), i, &v);
    }
}

#[test]
fn mean_interaction_minimiser_is_the_fixed_point() {
    // m = −κ(m − b)/σ ⇔ m = κb/(σ + κ).
    let (kappa, sigma) = (2.0, 0.5);
    let f = MeanInteraction::new(kappa, vec![1.0, -3.0]).unwrap();
    for (m, b) in f.minimiser_mean(sigma).iter().zip(f.anchor()) {
        assert!((sigma * m + kappa * (m - b)).abs() < 1e-12);
    }
}

#[test]
fn bad_parameters_are_typed_errors() {
    assert!(LinearPotential::new(vec![]).is_err());
    assert!(LinearPotential::new(vec![f64::NAN]).is_err());
    assert!(MeanInteraction::new(-1.0, vec![0.0]).is_err());
    assert!(MeanInteraction::new(1.0, vec![]).is_err());
}
