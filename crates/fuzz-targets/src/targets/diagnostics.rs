//! The diagnostics on arbitrary samples (NaN, ±∞, huge, empty, mismatched lengths):
//! every function returns `Ok` or a typed `DiagnosticsError`, never panics, and `Ok`
//! satisfies its documented range: ESS ∈ [1, N] and relative ESS ∈ (0, 1]; acf(0) = 1
//! and |acf| ≤ 1 + 1e-12; KS statistic ∈ [0, 1], p-values and the Kolmogorov survival
//! function ∈ [0, 1]; W_p ≥ 0, W_p(a, a) = 0, W_p(a, b) = W_p(b, a) (to 1e-12
//! relative); mean/var: var ≥ 0; a fit of an exact line recovers its slope (tame input);
//! R² ≤ 1 + 1e-12; boundary mass ∈ [0, 1]; MMD² (biased) ≥ −1e-12 and (unbiased) finite;
//! sliced W₂ ≥ 0. On tame input (|x| ≤ 1e3) every `Ok` value is finite.
//!
//! Layout: byte 0 = diagnostic, byte 1 = tame flag, byte 2 = n, byte 3 = m / lag, then
//! the samples.

use crate::Input;
use meanfield::diagnostics as diag;
use meanfield::measures::{Domain, Ensemble};

/// The `diagnostics` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn diagnostics(data: &[u8]) {
    let mut input = Input::new(data);
    let which = input.below(12);
    let tame = input.below(2) == 0;
    let n = input.below(40);
    let m = input.below(40);
    let sample = |input: &mut Input<'_>, len: usize| -> Vec<f64> {
        if tame {
            input.tame_vec(len, 1e3)
        } else {
            input.f64_vec(len)
        }
    };
    let a = sample(&mut input, n);
    let b = sample(&mut input, m);
    let finite_if_tame = |v: f64, what: &str| {
        assert!(!v.is_nan(), "{what} = NaN");
        if tame {
            assert!(v.is_finite(), "{what} = {v} on tame input");
        }
    };
    match which {
        0 => {
            if let Ok(e) = diag::effective_sample_size(&a) {
                assert!(
                    e >= 1.0 - 1e-12 && e <= n as f64 * (1.0 + 1e-12),
                    "ESS {e}, N = {n}"
                );
            }
            if let Ok(r) = diag::relative_ess(&a) {
                assert!(r > 0.0 && r <= 1.0 + 1e-12, "relative ESS {r}");
            }
        }
        1 => {
            if let Ok(rho) = diag::acf(&a, m) {
                assert_eq!(rho.len(), m + 1);
                assert_eq!(rho[0], 1.0, "acf(0)");
                assert!(rho.iter().all(|r| r.abs() <= 1.0 + 1e-12), "acf {rho:?}");
            }
        }
        2 => {
            let cdf = |x: f64| 1.0 / (1.0 + (-x).exp());
            if let Ok(d) = diag::ks_statistic(&a, cdf) {
                assert!((0.0..=1.0).contains(&d), "KS statistic {d}");
            }
            if let Ok(t) = diag::ks_test(&a, cdf) {
                assert!((0.0..=1.0).contains(&t.statistic) && (0.0..=1.0).contains(&t.p_value));
            }
            let x = input.f64().unwrap_or(0.5);
            if let Ok(p) = diag::ks_p_value(x, n) {
                assert!((0.0..=1.0).contains(&p), "p-value {p}");
            }
            if let Ok(q) = diag::kolmogorov_survival(x) {
                assert!((0.0..=1.0).contains(&q), "Q_KS({x}) = {q}");
            }
        }
        3 | 4 => {
            let p = if which == 3 {
                1.0
            } else {
                1.0 + input.tame(4.0).abs()
            };
            if let Ok(w) = diag::wp_1d(&a, &b, p) {
                finite_if_tame(w, "W_p");
                assert!(w >= 0.0, "W_p = {w}");
                let back = diag::wp_1d(&b, &a, p).expect("symmetric inputs");
                assert!(
                    (w - back).abs() <= 1e-12 * w.max(1e-300),
                    "W_p not symmetric: {w} vs {back}"
                );
            }
            if let Ok(w) = diag::wp_1d(&a, &a, p) {
                assert_eq!(w, 0.0, "W_p(a, a)");
            }
            let wa = input.f64_vec(n);
            let wb = input.f64_vec(m);
            if let Ok(w) = diag::wp_1d_weighted(&a, &wa, &b, &wb, p) {
                assert!(w >= 0.0 && !w.is_nan(), "weighted W_p = {w}");
            }
        }
        5 => {
            if let Ok((mean, var)) = diag::sample_mean_var(&a) {
                finite_if_tame(mean, "mean");
                finite_if_tame(var, "variance");
                assert!(var >= 0.0, "variance {var}");
            }
            if let Ok(se) = diag::standard_error(&a) {
                assert!(se >= 0.0, "standard error {se}");
            }
        }
        6 => {
            // An exact line y = c + s x through tame, distinct abscissae.
            let (c, s) = (input.tame(10.0), input.tame(10.0));
            let y: Vec<f64> = a.iter().map(|x| c + s * x).collect();
            if let Ok(fit) = diag::linear_fit(&a, &y) {
                assert!(fit.r_squared <= 1.0 + 1e-12, "R² = {}", fit.r_squared);
                if tame {
                    let spread = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                    let sxx: f64 = {
                        let mean = a.iter().sum::<f64>() / a.len() as f64;
                        a.iter().map(|x| (x - mean) * (x - mean)).sum()
                    };
                    if sxx > 1e-6 * spread * spread * a.len() as f64 {
                        assert!(
                            (fit.slope - s).abs() <= 1e-6 * (1.0 + s.abs()),
                            "slope {} of an exact line of slope {s}",
                            fit.slope
                        );
                    }
                }
            }
            let _ = diag::linear_fit(&a, &b);
            if let Ok(fit) = diag::loglog_slope(&a, &b) {
                assert!(!fit.slope.is_nan() && fit.r_squared <= 1.0 + 1e-12);
            }
            let se = input.f64_vec(n);
            if let Ok(fit) = diag::weighted_loglog_slope(&a, &b, &se) {
                assert!(!fit.slope.is_nan() && fit.slope_se >= 0.0 && fit.chi2 >= -1e-12);
            }
        }
        7 => {
            let q = |u: f64| (u / (1.0 - u)).ln();
            if let Ok(w) = diag::w2_1d_to_quantile(&a, q) {
                assert!(w >= 0.0, "W_2 to a quantile {w}");
            }
        }
        _ => {
            // Ensembles: d from the lag byte, N rows each.
            let d = m % 3 + 1;
            let rows = |v: &[f64]| v.len() / d;
            let (na, nb) = (rows(&a), rows(&b));
            let ex = Ensemble::new(na, d, a[..na * d].to_vec(), Domain::Euclidean);
            let ey = Ensemble::new(nb, d, b[..nb * d].to_vec(), Domain::Euclidean);
            let (Ok(x), Ok(y)) = (ex, ey) else {
                return;
            };
            match which {
                8 => {
                    let mean = diag::mean(&x);
                    let cov = diag::covariance(&x);
                    assert_eq!((mean.len(), cov.len()), (d, d * d));
                    for k in 0..d {
                        assert!(cov[k * d + k] >= 0.0 || cov[k * d + k].is_nan() && !tame);
                        assert!(diag::marginal(&x, k).is_ok());
                    }
                    assert!(diag::marginal(&x, d).is_err(), "marginal beyond d");
                    let eps = input.f64().unwrap_or(0.1);
                    if let Ok(v) = diag::boundary_mass(&x, eps) {
                        assert!((0.0..=1.0).contains(&v), "boundary mass {v}");
                    }
                }
                9 | 10 => {
                    let h = input.f64().unwrap_or(1.0);
                    if let Ok(v) = diag::mmd2_biased(&x, &y, h) {
                        assert!(v >= -1e-12 && !v.is_nan(), "biased MMD² {v}");
                    }
                    if let Ok(v) = diag::mmd2_unbiased(&x, &y, h) {
                        assert!(!v.is_nan(), "unbiased MMD² {v}");
                    }
                    if let Ok(h) = diag::median_bandwidth(&x, &y) {
                        assert!(h > 0.0 && h.is_finite(), "median bandwidth {h}");
                    }
                }
                _ => {
                    let k = input.below(8);
                    if let Ok(w) = diag::sliced_w2(&x, &y, k, 7) {
                        assert!(w >= 0.0, "sliced W₂ {w}");
                        finite_if_tame(w, "sliced W₂");
                    }
                }
            }
        }
    }
}
