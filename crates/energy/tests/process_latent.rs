//! Latent laws (process::latent): densities vs statrs, the truncated Gaussian's moment
//! solve (closed form and quadrature), typed errors.

use meanfield_energy::EnergyError;
use meanfield_energy::process::{
    CirProcess, Exponential, PathLaw, StandardGaussian, TruncatedGaussian,
};
use statrs::distribution::{Continuous, Exp, Normal};

#[test]
fn gaussian_and_exponential_densities_match_statrs() {
    let x = [0.3, 1.7, 0.0, 2.2];
    let n = Normal::new(0.0, 1.0).unwrap();
    let e = Exp::new(1.0).unwrap();
    let g = StandardGaussian::new(4).unwrap();
    let want: f64 = x.iter().map(|&v| n.ln_pdf(v)).sum();
    assert!((g.log_density(&x).unwrap() - want).abs() < 1e-14);
    assert!(
        (g.log_density(&[-0.3, 1.0, -2.0, 0.5]).unwrap()
            - [-0.3, 1.0, -2.0, 0.5]
                .iter()
                .map(|&v| n.ln_pdf(v))
                .sum::<f64>())
        .abs()
            < 1e-14
    );
    let ex = Exponential::new(4).unwrap();
    let want: f64 = x.iter().map(|&v| e.ln_pdf(v)).sum();
    assert!((ex.log_density(&x).unwrap() - want).abs() < 1e-14);
    assert_eq!(
        ex.log_density(&[0.3, -1e-12, 0.0, 2.2]).unwrap(),
        f64::NEG_INFINITY
    );
    assert!(ex.non_negative() && !g.non_negative());
}

/// ∫ x^m p(x) dx, m = 0, 1, 2, of a one-coordinate truncated Gaussian by composite
/// Simpson on [0, μ + 40 s].
fn quadrature_moments(tg: &TruncatedGaussian) -> [f64; 3] {
    let hi = tg.mu().max(0.0) + 40.0 * tg.scale();
    let n = 200_000;
    let h = hi / n as f64;
    let mut acc = [0.0; 3];
    for i in 0..=n {
        let x = i as f64 * h;
        let w = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let f = tg.log_density(&[x]).unwrap().exp();
        acc[0] += w * f;
        acc[1] += w * f * x;
        acc[2] += w * f * x * x;
    }
    acc.map(|a| a * h / 3.0)
}

#[test]
fn truncated_gaussian_has_the_requested_moments() {
    for &(m, d) in &[
        (2f64.sqrt(), 1.0),
        (1.0, 0.05),
        (1.0, 0.5),
        (3.0, 2.9),
        (1.0, 0.99),
    ] {
        let tg = TruncatedGaussian::from_moments(1, m, d).unwrap();
        assert!(
            (tg.mean() - m).abs() < 1e-12 * m,
            "({m}, {d}): mean {}",
            tg.mean()
        );
        assert!(
            (tg.std() - d).abs() < 1e-10 * d,
            "({m}, {d}): std {}",
            tg.std()
        );
        // Independent check of the normaliser and the moment formulas by quadrature.
        let [q0, q1, q2] = quadrature_moments(&tg);
        assert!((q0 - 1.0).abs() < 1e-9, "({m}, {d}): mass {q0}");
        assert!((q1 - m).abs() < 1e-9 * m, "({m}, {d}): mean {q1}");
        let sd = (q2 - q1 * q1).sqrt();
        assert!((sd - d).abs() < 1e-7 * d, "({m}, {d}): std {sd}");
    }
}

#[test]
fn cir1_latent_matches_its_stationary_law() {
    let cir = CirProcess::cir1(32).unwrap();
    let tg = TruncatedGaussian::matching_stationary(&cir).unwrap();
    assert_eq!(tg.len(), 32);
    assert!(tg.non_negative());
    assert!((tg.mean() - 2f64.sqrt()).abs() < 1e-12);
    assert!((tg.std() - 1.0).abs() < 1e-12);
}

#[test]
fn coefficient_of_variation_increases_with_truncation_point() {
    // The bisection relies on CV(α) = std/mean being strictly increasing in α = −μ/s.
    let mut last = 0.0;
    let mut alpha = -50.0;
    while alpha <= 20.0 {
        let tg = TruncatedGaussian::new(1, -alpha, 1.0).unwrap();
        let cv = tg.std() / tg.mean();
        assert!(cv > last && cv < 1.0, "α = {alpha}: CV {cv} after {last}");
        last = cv;
        alpha += 0.05;
    }
}

#[test]
fn bad_parameters_give_typed_errors() {
    let bad = [
        TruncatedGaussian::from_moments(4, 1.0, 1.0),
        TruncatedGaussian::from_moments(4, 1.0, 1.5),
        TruncatedGaussian::from_moments(4, 1.0, 0.9999),
        TruncatedGaussian::from_moments(4, -1.0, 0.5),
        TruncatedGaussian::from_moments(4, 1.0, 0.0),
        TruncatedGaussian::from_moments(4, f64::NAN, 0.5),
        TruncatedGaussian::from_moments(0, 1.0, 0.5),
        TruncatedGaussian::new(4, 1.0, -1.0),
        TruncatedGaussian::new(4, -100.0, 1.0),
    ];
    for (i, r) in bad.into_iter().enumerate() {
        assert!(
            matches!(r, Err(EnergyError::InvalidParameter { .. })),
            "case {i}: {r:?}"
        );
    }
    assert!(StandardGaussian::new(0).is_err());
    assert!(Exponential::new(0).is_err());
    let tg = TruncatedGaussian::from_moments(3, 1.0, 0.5).unwrap();
    assert!(matches!(
        tg.log_density(&[1.0; 2]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        tg.log_density(&[1.0, f64::NAN, 1.0]),
        Err(EnergyError::InvalidParameter { .. })
    ));
    assert_eq!(
        tg.log_density(&[1.0, -0.5, 1.0]).unwrap(),
        f64::NEG_INFINITY
    );
}
