//! CIR target (process::cir): stationary density vs statrs, transition density
//! normalised with the exact conditional mean and variance (quadrature), edge cases,
//! typed errors.

use meanfield_energy::EnergyError;
use meanfield_energy::process::{CirProcess, PathLaw, log_bessel_i};
use statrs::distribution::{Continuous, Gamma};

fn cases() -> Vec<CirProcess> {
    vec![
        CirProcess::cir0(16).unwrap(),
        CirProcess::cir1(16).unwrap(),
        // Non-integer order q = 2·1.3·0.7/0.81 − 1 ≈ 1.247 and Δ ≠ 1.
        CirProcess::new(1.3, 0.7, 0.9, 0.5, 16).unwrap(),
    ]
}

#[test]
fn presets_have_the_spec_orders() {
    let c0 = CirProcess::cir0(4).unwrap();
    let c1 = CirProcess::cir1(4).unwrap();
    assert_eq!(c0.order(), 0.0);
    assert_eq!(c1.order(), 1.0);
    assert!(c0.non_negative() && c1.non_negative());
    assert_eq!(c0.stationary_variance(), 1.0);
    assert!((c1.stationary_variance() - 1.0).abs() < 1e-15);
    assert!((c1.stationary_mean() - 2f64.sqrt()).abs() < 1e-15);
}

#[test]
fn stationary_density_matches_statrs_gamma() {
    for cir in cases() {
        let (k, th, s) = (cir.kappa(), cir.theta(), cir.sigma());
        let g = Gamma::new(2.0 * k * th / (s * s), 2.0 * k / (s * s)).unwrap();
        for &x in &[1e-3, 0.1, 0.7, 1.0, 2.5, 8.0, 30.0] {
            let want = g.ln_pdf(x);
            let got = cir.log_stationary(x).unwrap();
            assert!(
                (got - want).abs() < 1e-12 * want.abs().max(1.0),
                "x = {x}: {got} vs statrs {want}"
            );
        }
        assert_eq!(cir.log_stationary(-0.1).unwrap(), f64::NEG_INFINITY);
    }
}

/// ∫_0^∞ x^m p(x | prev) dx for m = 0, 1, 2 by composite Simpson after x = y² (which
/// smooths the x^q behaviour at 0), on y ∈ [0, √(mean + 60 sd)].
fn transition_moments(cir: &CirProcess, prev: f64) -> [f64; 3] {
    let (k, th, s, dt) = (cir.kappa(), cir.theta(), cir.sigma(), cir.dt());
    let e = (-k * dt).exp();
    let mean = th + (prev - th) * e;
    let var = prev * s * s / k * (e - e * e) + th * s * s / (2.0 * k) * (1.0 - e) * (1.0 - e);
    let ymax = (mean + 60.0 * var.sqrt()).sqrt();
    let n = 40_000;
    let h = ymax / n as f64;
    let mut acc = [0.0; 3];
    for i in 0..=n {
        let y = i as f64 * h;
        let x = y * y;
        let w = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let f = cir.log_transition(prev, x).unwrap().exp() * 2.0 * y;
        acc[0] += w * f;
        acc[1] += w * f * x;
        acc[2] += w * f * x * x;
    }
    acc.map(|a| a * h / 3.0)
}

#[test]
fn transition_density_integrates_to_one_with_exact_mean_and_variance() {
    for cir in cases() {
        let (k, th, s, dt) = (cir.kappa(), cir.theta(), cir.sigma(), cir.dt());
        let e = (-k * dt).exp();
        for &prev in &[0.0, 1e-3, 0.5, 1.0, 3.0, 10.0, 60.0] {
            let [m0, m1, m2] = transition_moments(&cir, prev);
            let mean = th + (prev - th) * e;
            let var =
                prev * s * s / k * (e - e * e) + th * s * s / (2.0 * k) * (1.0 - e) * (1.0 - e);
            assert!(
                (m0 - 1.0).abs() < 1e-9,
                "q = {}, prev = {prev}: mass {m0}",
                cir.order()
            );
            assert!(
                (m1 - mean).abs() < 1e-9 * mean.max(1.0),
                "prev = {prev}: mean {m1} vs {mean}"
            );
            let v = m2 - m1 * m1;
            assert!(
                (v - var).abs() < 1e-8 * var.max(1.0),
                "prev = {prev}: var {v} vs {var}"
            );
        }
    }
}

#[test]
fn transition_density_matches_unscaled_formula_and_limits() {
    for cir in cases() {
        let q = cir.order();
        let c = cir.transition_scale();
        let e = (-cir.kappa() * cir.dt()).exp();
        for &(prev, x) in &[
            (0.3, 0.2),
            (1.0, 1.5),
            (4.0, 2.0),
            (20.0, 25.0),
            (200.0, 190.0),
        ] {
            let (u, v) = (c * e * prev, c * x);
            let want = c.ln() - (u + v)
                + 0.5 * q * (v / u).ln()
                + log_bessel_i(q, 2.0 * (u * v).sqrt()).unwrap();
            let got = cir.log_transition(prev, x).unwrap();
            assert!(
                (got - want).abs() < 1e-12 * (u + v).max(1.0),
                "prev = {prev}, x = {x}: {got} vs {want}"
            );
        }
        // u → 0: Gamma(q + 1, rate c) density, continuous in x_{t−1}.
        for &x in &[0.1, 1.0, 3.0] {
            let g = Gamma::new(q + 1.0, c).unwrap().ln_pdf(x);
            assert!(
                (cir.log_transition(0.0, x).unwrap() - g).abs() < 1e-12,
                "u = 0, x = {x}"
            );
            assert!((cir.log_transition(1e-13, x).unwrap() - g).abs() < 1e-9);
        }
        assert_eq!(cir.log_transition(1.0, -1e-9).unwrap(), f64::NEG_INFINITY);
    }
    // v = 0: finite for q = 0 (ln c − u), −∞ for q > 0.
    let c0 = CirProcess::cir0(4).unwrap();
    let c = c0.transition_scale();
    assert!((c0.log_transition(1.0, 0.0).unwrap() - (c.ln() - c * (-0.5f64).exp())).abs() < 1e-15);
    assert!(
        (c0.log_transition(1.0, 1e-14).unwrap() - c0.log_transition(1.0, 0.0).unwrap()).abs()
            < 1e-12
    );
    assert_eq!(
        CirProcess::cir1(4)
            .unwrap()
            .log_transition(1.0, 0.0)
            .unwrap(),
        f64::NEG_INFINITY
    );
}

#[test]
fn path_density_is_stationary_plus_transitions() {
    let cir = CirProcess::cir1(5).unwrap();
    let x = [1.2, 0.4, 2.2, 1.9, 0.05];
    let want = cir.log_stationary(x[0]).unwrap()
        + x.windows(2)
            .map(|w| cir.log_transition(w[0], w[1]).unwrap())
            .sum::<f64>();
    assert_eq!(cir.log_density(&x).unwrap(), want);
    assert_eq!(
        cir.log_density(&[1.2, -0.4, 2.2, 1.9, 0.05]).unwrap(),
        f64::NEG_INFINITY
    );
}

/// `log_density` runs the Bessel series of four transitions side by side; it must equal
/// the sequential sum of scalar transitions bit for bit, whichever branch each
/// transition takes (series, large-z asymptotics, zeros, outside the support).
#[test]
fn blocked_path_density_equals_the_scalar_fold_bit_for_bit() {
    // A deterministic path mixing typical values, exact zeros, large states (z ≥ 20)
    // and lengths that leave a remainder after the blocks of four.
    let path = |len: usize, scale: f64| -> Vec<f64> {
        (0..len)
            .map(|t| match t % 37 {
                0 => 0.0,
                5 => 40.0 * scale,
                _ => scale * (1.0 + 0.9 * ((t as f64) * 0.7).sin()),
            })
            .collect()
    };
    for cir in cases() {
        for (len, scale) in [
            (1, 1.0),
            (2, 1.0),
            (5, 1.0),
            (103, 1.0),
            (1024, 1.0),
            (64, 30.0),
        ] {
            let x = path(len, scale);
            let law =
                CirProcess::new(cir.kappa(), cir.theta(), cir.sigma(), cir.dt(), len).unwrap();
            let mut want = law.log_stationary(x[0]).unwrap();
            for w in x.windows(2) {
                want += law.log_transition(w[0], w[1]).unwrap();
            }
            let got = law.log_density(&x).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "len {len}, scale {scale}");
        }
    }
}

#[test]
fn bad_parameters_give_typed_errors() {
    let bad = [
        CirProcess::new(0.0, 1.0, 1.0, 1.0, 4),
        CirProcess::new(0.5, -1.0, 1.0, 1.0, 4),
        CirProcess::new(0.5, 1.0, 0.0, 1.0, 4),
        CirProcess::new(0.5, 1.0, -1.0, 1.0, 4),
        CirProcess::new(0.5, 1.0, 1.0, 0.0, 4),
        CirProcess::new(f64::NAN, 1.0, 1.0, 1.0, 4),
        CirProcess::new(0.5, 1.0, 1.0, 1.0, 0),
        // Feller condition 2κθ ≥ σ² violated (q = −0.5).
        CirProcess::new(0.25, 1.0, 1.0, 1.0, 4),
    ];
    for (i, r) in bad.into_iter().enumerate() {
        assert!(
            matches!(r, Err(EnergyError::InvalidParameter { .. })),
            "case {i}: {r:?}"
        );
    }
    let cir = CirProcess::cir0(4).unwrap();
    assert!(matches!(
        cir.log_density(&[1.0; 3]),
        Err(EnergyError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        cir.log_density(&[1.0, f64::INFINITY, 1.0, 1.0]),
        Err(EnergyError::InvalidParameter { .. })
    ));
}
