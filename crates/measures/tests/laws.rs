//! Initial laws: moments within Monte-Carlo error, support, determinism, typed errors.

use meanfield_measures::{BoxBounds, Domain, InitialLaw, MeasuresError};

const N: usize = 40_000;

/// Column means and variances.
fn moments(ens: &meanfield_measures::Ensemble) -> (Vec<f64>, Vec<f64>) {
    let (n, d) = (ens.n() as f64, ens.dim());
    let m = ens.mean();
    let mut v = vec![0.0; d];
    for row in ens.rows() {
        for k in 0..d {
            v[k] += (row[k] - m[k]).powi(2) / (n - 1.0);
        }
    }
    (m, v)
}

#[test]
fn gaussian_moments_match_within_monte_carlo_error() {
    let law = InitialLaw::Gaussian {
        mean: vec![1.0, -2.0, 0.5],
        std: 0.7,
    };
    let ens = law.sample(N, 11, 3).unwrap();
    let (m, v) = moments(&ens);
    let var = 0.49;
    for k in 0..3 {
        // se(mean) = s/√N; se(var) = s²√(2/(N−1)); 5 standard errors.
        assert!((m[k] - [1.0, -2.0, 0.5][k]).abs() < 5.0 * 0.7 / (N as f64).sqrt());
        assert!((v[k] - var).abs() < 5.0 * var * (2.0 / (N as f64 - 1.0)).sqrt());
    }
    assert_eq!(*ens.domain(), Domain::Euclidean);
}

#[test]
fn uniform_box_has_uniform_moments_and_stays_inside() {
    let law = InitialLaw::UniformBox {
        lower: vec![-1.0, 2.0],
        upper: vec![3.0, 2.5],
    };
    let ens = law.sample(N, 5, 1).unwrap();
    let (m, v) = moments(&ens);
    for (k, (l, u)) in [(-1.0, 3.0), (2.0, 2.5)].into_iter().enumerate() {
        let w: f64 = u - l;
        // Uniform: mean (l+u)/2, variance w²/12, Var of the sample variance w⁴/180.
        assert!((m[k] - 0.5 * (l + u)).abs() < 5.0 * w / (12.0 * N as f64).sqrt());
        assert!((v[k] - w * w / 12.0).abs() < 5.0 * w * w / (180.0 * N as f64).sqrt());
        assert!(ens.rows().all(|x| x[k] >= l && x[k] <= u));
    }
    let boxed = law
        .sample_on(
            10,
            Domain::Box(BoxBounds::new(vec![-1.0, 2.0], vec![3.0, 2.5]).unwrap()),
            5,
            1,
        )
        .unwrap();
    assert_eq!(boxed.as_slice(), &ens.as_slice()[..20]);
}

#[test]
fn dirichlet_moments_and_simplex_support() {
    let alpha = [1.0, 2.5, 0.5];
    let a0: f64 = alpha.iter().sum();
    let ens = InitialLaw::Dirichlet {
        alpha: alpha.to_vec(),
    }
    .sample(N, 2, 9)
    .unwrap();
    assert_eq!(*ens.domain(), Domain::Simplex);
    let (m, v) = moments(&ens);
    for k in 0..3 {
        let mk = alpha[k] / a0;
        let vk = mk * (1.0 - mk) / (a0 + 1.0);
        assert!((m[k] - mk).abs() < 5.0 * (vk / N as f64).sqrt(), "{m:?}");
        assert!((v[k] - vk).abs() < 0.05 * vk, "{v:?}");
    }
    assert!(
        ens.rows()
            .all(|x| x.iter().all(|v| *v >= 0.0) && (x.iter().sum::<f64>() - 1.0).abs() < 1e-12)
    );
}

#[test]
fn draws_are_a_function_of_seed_and_purpose() {
    let law = InitialLaw::isotropic_gaussian(2, 0.0, 1.0);
    let a = law.sample(100, 7, 1).unwrap();
    assert_eq!(a, law.sample(100, 7, 1).unwrap());
    assert_ne!(a.as_slice(), law.sample(100, 8, 1).unwrap().as_slice());
    assert_ne!(a.as_slice(), law.sample(100, 7, 2).unwrap().as_slice());
    // Particle i does not depend on N.
    assert_eq!(
        &a.as_slice()[..20],
        law.sample(10, 7, 1).unwrap().as_slice()
    );
}

#[test]
fn bad_parameters_are_typed_errors_naming_the_value() {
    let bad = [
        InitialLaw::isotropic_gaussian(2, 0.0, 0.0),
        InitialLaw::isotropic_gaussian(2, f64::NAN, 1.0),
        InitialLaw::uniform_cube(2, 1.0, 1.0),
        InitialLaw::Dirichlet {
            alpha: vec![0.3, 1.0],
        },
        InitialLaw::Dirichlet { alpha: vec![] },
    ];
    for law in bad {
        let err = law.sample(5, 1, 1).unwrap_err();
        assert!(
            matches!(
                err,
                MeasuresError::InvalidLaw { .. } | MeasuresError::Empty { .. }
            ),
            "{err}"
        );
    }
    let e = InitialLaw::Dirichlet {
        alpha: vec![0.3, 1.0],
    }
    .validate()
    .unwrap_err();
    assert!(e.to_string().contains("0.3"), "{e}");
    assert!(
        InitialLaw::UniformBox {
            lower: vec![0.0],
            upper: vec![1.0, 2.0]
        }
        .validate()
        .is_err()
    );
}
