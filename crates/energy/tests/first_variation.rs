//! The first-variation interface against finite differences of F itself:
//!
//! - moving particle i by εv changes F(μ_N) at rate W^i ∇_x δF/δμ(μ_N, X^i)·v;
//! - moving weight towards particle j, W(ε) = (1 − ε)W + ε e_j, changes F at rate
//!   δF/δμ(μ_N, X^j) − Σ_i W^i δF/δμ(μ_N, X^i) (the additive constant cancels).

use meanfield_energy::{EnergyError, Functional, QuadraticInteraction, SimplexMoment};
use meanfield_measures::{Domain, Ensemble, Weights};
use proptest::prelude::*;

/// Central difference with step h: error O(h²) for these smooth functionals.
fn central(f: impl Fn(f64) -> f64, h: f64) -> f64 {
    (f(h) - f(-h)) / (2.0 * h)
}

fn check_particle_derivative<F: Functional>(f: &F, ens: &Ensemble, i: usize, v: &[f64]) {
    let grad = f.first_variation_grad_vec(ens).unwrap();
    let d = ens.dim();
    let predicted: f64 = ens.weight(i) * (0..d).map(|k| grad[i * d + k] * v[k]).sum::<f64>();
    let fd = central(
        |eps| {
            let mut e = ens.clone();
            for (x, dv) in e.particle_mut(i).iter_mut().zip(v) {
                *x += eps * dv;
            }
            f.value(&e).unwrap()
        },
        1e-5,
    );
    assert!(
        (fd - predicted).abs() <= 1e-6 * (1.0 + predicted.abs()),
        "fd {fd} vs {predicted}"
    );
}

fn check_weight_derivative<F: Functional>(f: &F, ens: &Ensemble, j: usize) {
    let mut fv = vec![0.0; ens.n()];
    f.first_variation(ens, &mut fv).unwrap();
    let avg: f64 = (0..ens.n()).map(|i| ens.weight(i) * fv[i]).sum();
    let predicted = fv[j] - avg;
    let fd = central(
        |eps| {
            let w: Vec<f64> = (0..ens.n())
                .map(|i| (1.0 - eps) * ens.weight(i) + if i == j { eps } else { 0.0 })
                .collect();
            let mut e = ens.clone();
            e.set_weights(Weights::from_unnormalised(w).unwrap())
                .unwrap();
            f.value(&e).unwrap()
        },
        1e-5,
    );
    assert!(
        (fd - predicted).abs() <= 1e-6 * (1.0 + predicted.abs()),
        "fd {fd} vs {predicted}"
    );
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
