//! The first-variation interface against finite differences of F itself:
//!
//! - moving particle i by εv changes F(μ_N) at rate W^i ∇_x δF/δμ(μ_N, X^i)·v;
//! - moving weight towards particle j, W(ε) = (1 − ε)W + ε e_j, changes F at rate
//!   δF/δμ(μ_N, X^j) − Σ_i W^i δF/δμ(μ_N, X^i) (the additive constant cancels).

use meanfield_energy::{EnergyError, Functional, QuadraticInteraction, SimplexMoment};
use meanfield_measures::{Domain, Ensemble, Weights};
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

fn weighted(n: usize, d: usize, coords: &[f64], w: &[f64], domain: Domain) -> Ensemble {
    let mut e = Ensemble::new(n, d, coords[..n * d].to_vec(), domain).unwrap();
    e.set_weights(Weights::from_unnormalised(w[..n].to_vec()).unwrap())
        .unwrap();
    e
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn quadratic_interaction_first_variation(
        coords in prop::collection::vec(-3.0f64..3.0, 24),
        w in prop::collection::vec(0.1f64..1.0, 8),
        v in prop::collection::vec(-1.0f64..1.0, 3),
        kappa in 0.0f64..5.0,
        i in 0usize..8,
    ) {
        let f = QuadraticInteraction::new(kappa, vec![0.3, -1.0, 2.0]).unwrap();
        let e = weighted(8, 3, &coords, &w, Domain::Euclidean);
        check_particle_derivative(&f, &e, i, &v);
        check_weight_derivative(&f, &e, i);
    }

    #[test]
    fn simplex_moment_first_variation(
        raw in prop::collection::vec(0.05f64..1.0, 24),
        w in prop::collection::vec(0.1f64..1.0, 8),
        v in prop::collection::vec(-1.0f64..1.0, 3),
        beta in 0.0f64..2.0,
        i in 0usize..8,
    ) {
        let mut coords = raw.clone();
        for row in coords.chunks_exact_mut(3) {
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|x| *x /= s);
        }
        let f = SimplexMoment::new(vec![0.2, 0.3, 0.5], beta).unwrap();
        // Finite differences leave the simplex slightly; F is defined on the open
        // orthant, so evaluate the derivative as a Euclidean functional of the same form.
        let e = weighted(8, 3, &coords, &w, Domain::Euclidean);
        check_particle_derivative(&f, &e, i, &v);
        check_weight_derivative(&f, &e, i);
    }
}

#[test]
fn minimiser_mean_is_the_fixed_point() {
    // m* = −κ(m* − b) ⇔ m* = κb/(1+κ).
    let f = QuadraticInteraction::new(3.0, vec![2.0, -4.0]).unwrap();
    let m = f.minimiser_mean();
    for (m, b) in m.iter().zip(f.anchor()) {
        assert!((m + 3.0 * (m - b)).abs() < 1e-12);
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        QuadraticInteraction::new(f64::NAN, vec![0.0]),
        Err(EnergyError::InvalidParameter { .. })
    ));
    assert!(matches!(
        QuadraticInteraction::new(-1.0, vec![0.0]),
        Err(EnergyError::InvalidParameter { .. })
    ));
    assert!(matches!(
        QuadraticInteraction::new(1.0, vec![]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        SimplexMoment::new(vec![0.5], 0.0),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        SimplexMoment::new(vec![0.5, 0.5], -1.0),
        Err(EnergyError::InvalidParameter { .. })
    ));

    let f = QuadraticInteraction::new(1.0, vec![0.0, 0.0]).unwrap();
    let e = Ensemble::new(2, 3, vec![0.0; 6], Domain::Euclidean).unwrap();
    let mut out = vec![0.0; 6];
    assert!(matches!(
        f.first_variation_grad(&e, &mut out),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    let e = Ensemble::new(3, 2, vec![0.0; 6], Domain::Euclidean).unwrap();
    let mut short = vec![0.0; 5];
    assert!(matches!(
        f.first_variation_grad(&e, &mut short),
        Err(EnergyError::DimensionMismatch { .. })
    ));

    // The barrier is undefined on a face of the simplex.
    let g = SimplexMoment::centroid(3, 0.5).unwrap();
    let face = Ensemble::new(1, 3, vec![0.0, 0.5, 0.5], Domain::Simplex).unwrap();
    let mut out = vec![0.0; 3];
    assert!(matches!(
        g.first_variation_grad(&face, &mut out),
        Err(EnergyError::OutsideDomain { particle: 0, .. })
    ));
}
